//! `sensitivity.json`: the setup, groups, provenance and throughput of a Sobol
//! analysis; written last, so its presence marks a completed analysis.

use std::path::Path;

use serde::Serialize;

use super::drivers_rows::GroupInfo;
use super::error::OutputError;
use super::format::OutputFile;
use super::manifest::{check_telemetry, to_json_bytes};
use super::names::{SENSITIVITY_CONVERGENCE_FILE, SENSITIVITY_FILE, SENSITIVITY_MANIFEST_FILE};
use super::parquet_common::check_provenance;
use super::sensitivity_rows::SensitivityResults;

/// Writer of `sensitivity.json`.
pub(super) struct SensitivityManifest;

/// JSON layout; field order is the key order in the file.
#[derive(Serialize)]
struct SensitivityJson<'a> {
    tool: &'static str,
    tool_version: &'a str,
    analysis: &'static str,
    config_path: &'a str,
    config_sha256: &'a str,
    seed: u64,
    sampler: &'a str,
    rng: &'a str,
    base_draws: u64,
    evaluations: u64,
    groups_by: &'a str,
    first_order_estimator: &'a str,
    total_estimator: &'static str,
    intervals: String,
    groups: Vec<GroupJson<'a>>,
    threads: usize,
    wall_seconds: f64,
    evaluations_per_second: f64,
    files: [&'static str; 2],
    notes: &'a [String],
}

#[derive(Serialize)]
struct GroupJson<'a> {
    name: &'a str,
    variates: u64,
    params: &'a [&'static str],
}

impl OutputFile<SensitivityResults> for SensitivityManifest {
    fn file_name(&self) -> &'static str {
        SENSITIVITY_MANIFEST_FILE
    }

    fn render(&self, results: &SensitivityResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let (p, t, s) = (&results.provenance, &results.telemetry, &results.settings);
        check_provenance(p, path)?;
        check_telemetry(t, path)?;
        let json = SensitivityJson {
            tool: "evcarbon",
            tool_version: &p.tool_version,
            analysis: "Sobol indices from the A/B/AB_g design over input groups",
            config_path: &p.config_path,
            config_sha256: &p.config_sha256,
            seed: p.seed,
            sampler: &p.sampler,
            rng: &p.rng,
            base_draws: s.base_draws,
            evaluations: s.evaluations,
            groups_by: s.groups_by,
            first_order_estimator: s.estimator,
            total_estimator: "jansen1999",
            intervals: format!(
                "95 %: estimate ± t(0.975, {0} − 1) × delete-one-batch jackknife standard error over {0} batches of base draws",
                s.batches
            ),
            groups: results.groups.iter().map(group_json).collect(),
            threads: t.threads,
            wall_seconds: t.wall_seconds,
            evaluations_per_second: t.draws_per_second,
            files: [SENSITIVITY_FILE, SENSITIVITY_CONVERGENCE_FILE],
            notes: &p.notes,
        };
        to_json_bytes(&json, path)
    }
}

fn group_json(g: &GroupInfo) -> GroupJson<'_> {
    GroupJson {
        name: &g.name,
        variates: g.variates,
        params: &g.params,
    }
}
