//! Checkpoint files: the complete aggregator state of an unfinished run.
//!
//! A checkpoint is one JSON document (`checkpoint.json` in the output folder):
//!
//! ```text
//! {
//!   "format": "evcarbon-checkpoint",
//!   "format_version": 1,
//!   "identity": { tool_version, config_sha256, data_sha256, seed, sampler,
//!                 chunk_size, levels, stop_rule },
//!   "draws_done": 196608,
//!   "done_chunks": [[0, 192]],
//!   "convergence": [ ... one record per finished --until block ... ],
//!   "accumulator": { moments, sketches, thresholds, at_or_above }
//! }
//! ```
//!
//! The accumulator holds exactly the chunks listed in `done_chunks`; because
//! aggregation is exact and order-independent, a run resumed from it (load the
//! accumulator, run the missing chunks, merge) gives the same bits as an
//! uninterrupted run. Two states of one run over disjoint chunk sets can be merged
//! the same way, which is how shards computed on different machines can be combined.
//!
//! A checkpoint is only resumed by a run with the same [`RunIdentity`]; the tool
//! version is part of it, because a different version may compute different draws.
//! Files are written atomically (temporary name, fsync, rename).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use evcarbon_engine::sampling::{CHUNK_SIZE, ChunkPlan, ChunkSet};
use evcarbon_engine::stats::Accumulator;

use super::convergence::ConvergenceBlock;
use super::shard_id::Shard;
use super::stop::StopRule;
use crate::config::Config;
use crate::output::{CHECKPOINT_FILE, OutputError, write_file_atomically_with};
/// Value of the `format` key.
pub const FORMAT: &str = "evcarbon-checkpoint";
/// Version of the checkpoint layout; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// Everything that must match for a checkpoint to be resumed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// Version of evcarbon that wrote it.
    pub tool_version: String,
    /// SHA-256 of the config file.
    pub config_sha256: String,
    /// SHA-256 of each data table, in config order.
    pub data_sha256: Vec<String>,
    /// Master seed.
    pub seed: u64,
    /// Sampler name.
    pub sampler: String,
    /// Draws per chunk.
    pub chunk_size: u64,
    /// Interval levels.
    pub levels: Vec<f64>,
    /// When the run stops.
    pub stop_rule: StopRule,
}

impl RunIdentity {
    /// The identity of a run of `config` (with its command-line overrides applied).
    pub fn new(config: &Config, stop_rule: StopRule) -> RunIdentity {
        RunIdentity {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            config_sha256: config.file.sha256.clone(),
            data_sha256: config.tables.iter().map(|t| t.sha256.clone()).collect(),
            seed: config.run.seed,
            sampler: config.run.sampler.name().to_string(),
            chunk_size: CHUNK_SIZE,
            levels: config.run.levels.clone(),
            stop_rule,
        }
    }

    /// Human-readable differences between a checkpoint's identity and this run's.
    pub fn differences(&self, this_run: &RunIdentity) -> Vec<String> {
        let mut out = Vec::new();
        let mut cmp = |what: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{what}: checkpoint {a}, this run {b}"));
            }
        };
        cmp(
            "evcarbon version",
            self.tool_version.clone(),
            this_run.tool_version.clone(),
        );
        cmp(
            "config file sha256",
            self.config_sha256.clone(),
            this_run.config_sha256.clone(),
        );
        cmp(
            "data table sha256",
            self.data_sha256.join(","),
            this_run.data_sha256.join(","),
        );
        cmp("seed", self.seed.to_string(), this_run.seed.to_string());
        cmp("sampler", self.sampler.clone(), this_run.sampler.clone());
        cmp(
            "chunk size",
            self.chunk_size.to_string(),
            this_run.chunk_size.to_string(),
        );
        cmp(
            "interval levels",
            format!("{:?}", self.levels),
            format!("{:?}", this_run.levels),
        );
        cmp(
            "stopping rule",
            self.stop_rule.describe(),
            this_run.stop_rule.describe(),
        );
        out
    }
}

/// A loaded checkpoint.
#[derive(Debug, Deserialize)]
pub struct Checkpoint {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The run it belongs to.
    pub identity: RunIdentity,
    /// Draws aggregated (= draws of the chunks in `done_chunks`).
    pub draws_done: u64,
    /// Chunks aggregated.
    pub done_chunks: ChunkSet,
    /// Convergence records of the finished `--until` blocks.
    pub convergence: Vec<ConvergenceBlock>,
    /// Aggregate of exactly the chunks in `done_chunks`.
    pub accumulator: Accumulator,
    /// The shard of the run this state holds (`run --shard K/M`; None for the
    /// checkpoint of a whole run).
    #[serde(default)]
    pub shard: Option<Shard>,
}

impl Checkpoint {
    /// Merges the state of another part of the same run (e.g. a shard computed on
    /// another machine) into this one: the chunk sets must be disjoint; the
    /// accumulators merge exactly, so the result does not depend on how the run was
    /// split or in which order parts are merged. Only fixed-draws runs (no `--until`
    /// convergence records) can be merged.
    pub fn absorb(&mut self, other: Checkpoint) -> Result<(), String> {
        let differences = self.identity.differences(&other.identity);
        if !differences.is_empty() {
            return Err(format!("different runs: {}", differences.join("; ")));
        }
        if !matches!(self.identity.stop_rule, StopRule::Draws { .. }) {
            return Err("states of --until runs cannot be merged".into());
        }
        if !self.done_chunks.is_disjoint(&other.done_chunks) {
            return Err("the two states share chunks".into());
        }
        if !self.accumulator.is_compatible(&other.accumulator) {
            return Err("the accumulators aggregate different series".into());
        }
        self.accumulator.merge(&other.accumulator);
        self.done_chunks.union(&other.done_chunks);
        self.draws_done += other.draws_done;
        Ok(())
    }
}

/// What is written: borrows the live state.
#[derive(Serialize)]
struct CheckpointRef<'a> {
    format: &'static str,
    format_version: u32,
    identity: &'a RunIdentity,
    draws_done: u64,
    done_chunks: &'a ChunkSet,
    convergence: &'a [ConvergenceBlock],
    accumulator: &'a Accumulator,
    shard: Option<Shard>,
}

/// Just enough to recognize a checkpoint and its version before the full parse.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    format_version: Option<u32>,
}

/// Problems with a checkpoint file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// `--resume` but no checkpoint.
    #[error(
        "nothing to resume: {} does not exist (a run deletes its checkpoint when it completes); run without --resume to start a new run",
        path.display()
    )]
    Missing {
        /// Expected checkpoint path.
        path: PathBuf,
    },
    /// The file is not a readable checkpoint of this format.
    #[error("{} is not a usable evcarbon checkpoint: {reason}; start over with --force instead of --resume", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Written in another checkpoint format version.
    #[error(
        "{} has checkpoint format version {found}, this evcarbon ({}) reads version {FORMAT_VERSION} only; finish it with the evcarbon version that wrote it, or start over with --force",
        path.display(), env!("CARGO_PKG_VERSION")
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Version found.
        found: u32,
    },
    /// Belongs to another run.
    #[error(
        "checkpoint {} belongs to a different run, so resuming would mix results: {}; resume with the same config, data, evcarbon version and options (--draws, --seed, --sampler, --until, --max-draws, --check-every), or start over with --force",
        path.display(), differences.join("; ")
    )]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// One entry per differing field.
        differences: Vec<String>,
    },
    /// Reading or writing failed.
    #[error("cannot {action} checkpoint {}: {source}", path.display())]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl CheckpointError {
    /// True when the user can fix it (exit status 2).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, CheckpointError::Io { .. })
    }
}

/// Writes the state atomically to `path` (temporary name in the same folder,
/// fsync, rename, folder fsync).
pub fn write(
    path: &Path,
    identity: &RunIdentity,
    done_chunks: &ChunkSet,
    convergence: &[ConvergenceBlock],
    accumulator: &Accumulator,
    shard: Option<Shard>,
) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let state = CheckpointRef {
        format: FORMAT,
        format_version: FORMAT_VERSION,
        identity,
        draws_done: accumulator.draws(),
        done_chunks,
        convergence,
        accumulator,
        shard,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(CHECKPOINT_FILE);
    // Streamed to the file: the state of the 285-city default is tens of MB of
    // JSON, which would otherwise add to the run's peak memory at every checkpoint.
    write_file_atomically_with(dir, name, |w| {
        serde_json::to_writer(w, &state).map_err(std::io::Error::other)
    })
    .map_err(|e| match e {
        OutputError::Io { source, .. } => io(source),
        other => io(std::io::Error::other(other.to_string())),
    })?;
    Ok(())
}

/// Reads the checkpoint at `path` and checks that it belongs to `this_run`.
pub fn load(path: &Path, this_run: &RunIdentity) -> Result<Checkpoint, CheckpointError> {
    let checkpoint = read(path)?;
    let differences = checkpoint.identity.differences(this_run);
    if !differences.is_empty() {
        return Err(CheckpointError::Mismatch {
            path: path.to_path_buf(),
            differences,
        });
    }
    Ok(checkpoint)
}

/// Reads a checkpoint or shard state and checks it against itself: format,
/// version, and chunks that lie inside its run and hold the draws it records.
pub fn read(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CheckpointError::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(CheckpointError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let corrupt = |reason: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let header: Header =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not valid JSON ({e})")))?;
    if header.format.as_deref() != Some(FORMAT) {
        return Err(corrupt(format!("its `format` is not \"{FORMAT}\"")));
    }
    match header.format_version {
        Some(FORMAT_VERSION) => {}
        Some(found) => {
            return Err(CheckpointError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
        None => return Err(corrupt("it has no `format_version`".into())),
    }
    let checkpoint: Checkpoint =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let plan = ChunkPlan {
        draws: checkpoint.identity.stop_rule.max_draws(),
    };
    if checkpoint.done_chunks.end() > plan.n_chunks() {
        return Err(corrupt("it lists chunks beyond the end of the run".into()));
    }
    let chunk_draws: u64 = checkpoint
        .done_chunks
        .ranges()
        .iter()
        .flat_map(|&(s, e)| s..e)
        .map(|k| plan.chunk(k).1)
        .sum();
    if chunk_draws != checkpoint.draws_done || checkpoint.accumulator.draws() != chunk_draws {
        return Err(corrupt(format!(
            "its chunks hold {chunk_draws} draws but it records {} (accumulator: {})",
            checkpoint.draws_done,
            checkpoint.accumulator.draws()
        )));
    }
    Ok(checkpoint)
}
