//! Sharded Sobol analyses: `sensitivity --shard K/M` computes the K-th of M
//! contiguous ranges of the design's batches (base draw chunk `k` belongs to batch
//! `k mod 32`), and `merge` puts the batches of every shard together.
//!
//! A batch's sums are added in the same order whichever process computes it, so the
//! merged indices and intervals are bit-identical to one process's. The convergence
//! record of a merged analysis holds the final rows only (the shards do not keep the
//! sums of every round).

use std::path::{Path, PathBuf};
use std::time::Instant;

use evcarbon_engine::sampling::{ChunkSet, SENSITIVITY_BATCHES};
use evcarbon_engine::stats::{FirstOrderEstimator, IndexSums};
use serde::{Deserialize, Serialize};

use super::checkpoint::{CheckpointError, read_framed, write_framed};
use super::sensitivity::{
    GroupBy, SensitivityJob, SensitivityJobError, index_rows, variate_groups,
};
use super::shard::{MergeError, check_cover, same_run};
use super::shard_id::Shard;
use crate::config::Config;
use crate::output::SensitivityResults;

/// `format` of a sensitivity shard state.
pub const SENSITIVITY_SHARD_FORMAT: &str = "evcarbon-sensitivity-shard";

/// Everything that must match for shards of a Sobol analysis to be merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensitivityIdentity {
    /// Version of evcarbon.
    pub tool_version: String,
    /// SHA-256 of the config file.
    pub config_sha256: String,
    /// SHA-256 of each data table.
    pub data_sha256: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Base design (`sobol` or `mc`).
    pub sampler: String,
    /// Base draws N.
    pub base_draws: u64,
    /// `param`, `province` or `config`.
    pub groups_by: String,
    /// First-order estimator.
    pub estimator: String,
}

impl SensitivityIdentity {
    /// The identity of `job`.
    pub fn of(job: &SensitivityJob<'_>) -> SensitivityIdentity {
        let config = job.config;
        SensitivityIdentity {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            config_sha256: config.file.sha256.clone(),
            data_sha256: config.tables.iter().map(|t| t.sha256.clone()).collect(),
            seed: config.run.seed,
            sampler: config.run.sampler.name().to_string(),
            base_draws: job.base_draws,
            groups_by: job.groups_by.name().to_string(),
            estimator: job.estimator.name().to_string(),
        }
    }

    /// What differs from `other`, field by field.
    pub fn differences(&self, other: &SensitivityIdentity) -> Vec<String> {
        let a = serde_json::to_value(self).unwrap_or_default();
        let b = serde_json::to_value(other).unwrap_or_default();
        let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
            return Vec::new();
        };
        a.iter()
            .filter(|(k, v)| b.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: {v} against {}", b.get(k).cloned().unwrap_or_default()))
            .collect()
    }
}

/// The state of one shard of a Sobol analysis.
#[derive(Debug, Serialize, Deserialize)]
pub struct SensitivityShardState {
    /// Always [`SENSITIVITY_SHARD_FORMAT`].
    pub format: String,
    /// The analysis.
    pub identity: SensitivityIdentity,
    /// Which shard.
    pub shard: Shard,
    /// The batches computed, `[lo, hi)`.
    pub batches: (usize, usize),
    /// The design's sums: batches `lo..hi` complete, the others empty.
    pub sums: IndexSums,
}

impl SensitivityJob<'_> {
    /// Computes shard `shard` of the design: its range of batches.
    pub fn run_shard(
        &self,
        shard: Shard,
        on_round: &dyn Fn(u64),
    ) -> Result<SensitivityShardState, SensitivityJobError> {
        let (groups, _) = variate_groups(self.config, self.groups_by)?;
        let (lo, hi) = shard.chunks(self.plan().batches() as u64);
        let batches = (lo as usize, hi as usize);
        let mut done = 0;
        let sums = self.design(&groups, Some(batches), &mut |sums| {
            let n = sums.base_draws();
            on_round(n - done);
            done = n;
        })?;
        Ok(SensitivityShardState {
            format: SENSITIVITY_SHARD_FORMAT.to_string(),
            identity: SensitivityIdentity::of(self),
            shard,
            batches,
            sums,
        })
    }
}

/// The file name of a sensitivity shard, `sensitivity-shard-0003-of-0008.evshard`.
pub fn sensitivity_shard_file(shard: Shard) -> String {
    format!("sensitivity-{}", shard.file_name())
}

/// Writes a sensitivity shard state atomically.
pub fn write_sensitivity_shard(
    path: &Path,
    state: &SensitivityShardState,
) -> Result<(), CheckpointError> {
    write_framed(path, state)
}

/// Just the `format` of a state file.
#[derive(Deserialize)]
struct FormatOnly {
    format: String,
}

/// True when `path` holds the state of a shard of a Sobol analysis (rather than of
/// a run).
pub fn is_sensitivity_shard(path: &Path) -> Result<bool, CheckpointError> {
    Ok(read_framed::<FormatOnly>(path)?.format == SENSITIVITY_SHARD_FORMAT)
}

/// Reads the shards of one Sobol analysis of `config` (whose seed and sampler are
/// set from them), checks that they come from one analysis and hold every batch
/// exactly once, and merges them into the analysis' results.
pub fn merge_sensitivity(
    paths: &[PathBuf],
    config: &mut Config,
    config_path: &Path,
    threads: usize,
) -> Result<SensitivityResults, MergeError> {
    let started = Instant::now();
    let mut shards: Vec<(PathBuf, SensitivityShardState)> = Vec::new();
    for path in paths {
        let state: SensitivityShardState = read_framed(path)?;
        if state.format != SENSITIVITY_SHARD_FORMAT {
            return Err(MergeError::NotAShard { path: path.clone() });
        }
        shards.push((path.clone(), state));
    }
    let Some((first_path, first)) = shards.first() else {
        return Err(MergeError::NoShards);
    };
    let identities: Vec<(&Path, &SensitivityIdentity)> = (shards.iter())
        .map(|(p, s)| (p.as_path(), &s.identity))
        .collect();
    same_run(&identities, SensitivityIdentity::differences)?;
    let identity = first.identity.clone();
    let corrupt = |reason: &str| {
        MergeError::Read(CheckpointError::Corrupt {
            path: first_path.clone(),
            reason: reason.to_string(),
        })
    };
    config.run.seed = identity.seed;
    config.run.sampler = evcarbon_engine::sampling::SamplerKind::from_name(&identity.sampler)
        .ok_or_else(|| corrupt("unknown sampler"))?;
    let job = SensitivityJob {
        config,
        groups_by: GroupBy::from_name(&identity.groups_by)
            .ok_or_else(|| corrupt("unknown grouping"))?,
        base_draws: identity.base_draws,
        estimator: match identity.estimator.as_str() {
            "janon2014" => FirstOrderEstimator::Janon,
            _ => FirstOrderEstimator::Saltelli,
        },
        threads,
    };
    let differences = identity.differences(&SensitivityIdentity::of(&job));
    if !differences.is_empty() {
        return Err(MergeError::Foreign {
            path: first_path.clone(),
            reference: config_path.to_path_buf(),
            differences,
            hint: "; pass the config and data the shards were computed from with --config",
        });
    }
    let n_batches = job.plan().batches().min(SENSITIVITY_BATCHES) as u64;
    let parts: Vec<(PathBuf, Shard, ChunkSet)> = (shards.iter())
        .map(|(p, s)| {
            (
                p.clone(),
                s.shard,
                ChunkSet::range(s.batches.0 as u64, s.batches.1 as u64),
            )
        })
        .collect();
    check_cover(&parts, n_batches, "batches")?;
    let mut sums = first.sums.clone();
    for (path, state) in &shards[1..] {
        sums.take_batches(&state.sums, state.batches)
            .map_err(|reason| {
                MergeError::Read(CheckpointError::Corrupt {
                    path: path.clone(),
                    reason,
                })
            })?;
    }
    let (groups, infos) =
        variate_groups(job.config, job.groups_by).map_err(|e| corrupt(&e.to_string()))?;
    let indices = index_rows(&sums, groups.len());
    let convergence = indices.clone();
    Ok(job.results(indices, convergence, infos, started.elapsed().as_secs_f64()))
}
