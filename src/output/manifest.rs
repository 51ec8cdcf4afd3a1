//! `manifest.json`: provenance, telemetry and the list of files; written last.

use std::path::Path;

use serde::Serialize;

use super::error::OutputError;
use super::format::OutputFile;
use super::names::{
    CITY_FILE, CONVERGENCE_FILE, DRIVERS_FILE, HEADLINE_FILE, HEADLINE_QUANTILES_FILE,
    MANIFEST_FILE, PROVINCE_FILE, SCENARIO_FILE, SCENARIO_HEADLINE_FILE,
};
use super::parquet_common::check_provenance;
use super::rows::{RunResults, Telemetry};

/// Writer of `manifest.json`.
pub(super) struct Manifest;

/// JSON layout of the manifest; field order is the key order in the file.
#[derive(Serialize)]
struct ManifestJson<'a> {
    tool: &'static str,
    tool_version: &'a str,
    config_path: &'a str,
    config_sha256: &'a str,
    seed: u64,
    draws: u64,
    sampler: &'a str,
    levels: &'a [f64],
    quantile_method: &'a str,
    quantile_relative_accuracy: f64,
    quantile_accuracy: AccuracyJson<'a>,
    rng: &'a str,
    chunk_size: u64,
    threads: usize,
    wall_seconds: f64,
    draws_per_second: f64,
    stop_reason: &'a str,
    until: Option<UntilJson>,
    quantiles: &'static str,
    resumed_from_draws: Option<u64>,
    files: Vec<&'static str>,
    headlines_excluded: Vec<Excluded<'a>>,
    notes: &'a [String],
}

/// The quantile accuracy checked after the run (see `QuantileAccuracy`).
#[derive(Serialize)]
struct AccuracyJson<'a> {
    guarantee: &'a str,
    absolute_sd: f64,
    relative: f64,
    quantiles_checked: u64,
    largest_error_sd: f64,
    largest_error_relative: f64,
    finest_alpha: f64,
    coarsest_alpha: f64,
    not_met: u64,
    not_met_examples: &'a [String],
}

/// The `--until` settings and the rule that was applied.
#[derive(Serialize)]
struct UntilJson {
    rel: f64,
    min_draws: u64,
    max_draws: u64,
    check_every_draws: u64,
    rule: &'static str,
}

/// One headline metric left out of the headline table, and why.
#[derive(Serialize)]
struct Excluded<'a> {
    metric: &'a str,
    reason: &'a str,
}

impl OutputFile for Manifest {
    fn file_name(&self) -> &'static str {
        MANIFEST_FILE
    }

    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let p = &results.provenance;
        let t = &results.telemetry;
        check_provenance(p, path)?;
        check_telemetry(t, path)?;
        let manifest = ManifestJson {
            tool: "evcarbon",
            tool_version: &p.tool_version,
            config_path: &p.config_path,
            config_sha256: &p.config_sha256,
            seed: p.seed,
            draws: p.draws,
            sampler: &p.sampler,
            levels: &p.levels,
            quantile_method: &p.quantile_method,
            quantile_relative_accuracy: p.quantile_relative_accuracy,
            quantile_accuracy: {
                let a = &results.quantile_accuracy;
                AccuracyJson {
                    guarantee: &a.guarantee,
                    absolute_sd: a.absolute_sd,
                    relative: a.relative,
                    quantiles_checked: a.quantiles_checked,
                    largest_error_sd: a.largest_error_sd,
                    largest_error_relative: a.largest_error_relative,
                    finest_alpha: a.finest_alpha,
                    coarsest_alpha: a.coarsest_alpha,
                    not_met: a.not_met,
                    not_met_examples: &a.not_met_examples,
                }
            },
            rng: &p.rng,
            chunk_size: p.chunk_size,
            threads: t.threads,
            wall_seconds: t.wall_seconds,
            draws_per_second: t.draws_per_second,
            stop_reason: &results.run_info.stop_reason,
            until: results.run_info.until.map(|u| UntilJson {
                rel: u.rel,
                min_draws: u.min_draws,
                max_draws: u.max_draws,
                check_every_draws: u.check_every_draws,
                rule: "after each block (once draws >= min_draws): stop when mcse(bound) <= rel * max(|bound|, sd) \
                       for every interval bound of every headline metric",
            }),
            quantiles: if results.run_info.exact {
                "exact"
            } else {
                "sketch"
            },
            resumed_from_draws: results.run_info.resumed_from_draws,
            files: {
                let mut files = vec![CITY_FILE, PROVINCE_FILE, HEADLINE_FILE, HEADLINE_QUANTILES_FILE];
                if !results.scenario_deltas.is_empty() {
                    files.push(SCENARIO_FILE);
                    files.push(SCENARIO_HEADLINE_FILE);
                }
                if !results.convergence.is_empty() {
                    files.push(CONVERGENCE_FILE);
                }
                if results.drivers.is_some() {
                    files.push(DRIVERS_FILE);
                }
                files
            },
            headlines_excluded: results
                .excluded_headlines
                .iter()
                .map(|(metric, reason)| Excluded { metric, reason })
                .collect(),
            notes: &p.notes,
        };
        to_json_bytes(&manifest, path)
    }
}

/// Fails on a non-finite timing (which JSON cannot hold).
pub(super) fn check_telemetry(t: &Telemetry, path: &Path) -> Result<(), OutputError> {
    for (column, value) in [
        ("wall_seconds", t.wall_seconds),
        ("draws_per_second", t.draws_per_second),
    ] {
        if !value.is_finite() {
            return Err(OutputError::NonFinite {
                path: path.to_path_buf(),
                row: "telemetry".to_string(),
                column: column.to_string(),
                value,
            });
        }
    }
    Ok(())
}

/// Pretty JSON with a final newline.
pub(super) fn to_json_bytes(value: &impl Serialize, path: &Path) -> Result<Vec<u8>, OutputError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| OutputError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}
