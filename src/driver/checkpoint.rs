//! Checkpoint files: the complete aggregator state of an unfinished run (and, with
//! a shard number, of one shard of a run).
//!
//! A file is binary, versioned and checksummed:
//!
//! ```text
//! magic        8 bytes   "EVCSTATE"
//! version      u32 LE    FORMAT_VERSION
//! payload      CBOR      { format, format_version, identity, draws_done, done_chunks,
//!                          convergence, accumulator, shard }
//! payload_len  u64 LE    length of the payload in bytes
//! sha256       32 bytes  SHA-256 of the payload
//! ```
//!
//! The payload is streamed to the file through the hash, so writing a state does
//! not hold a second copy of it in memory; a file whose length or checksum does not
//! match (truncated, damaged) is refused.
//!
//! The accumulator holds exactly the chunks listed in `done_chunks`; because
//! aggregation is exact and order-independent, a run resumed from it (load the
//! accumulator, run the missing chunks, merge) gives the same bits as an
//! uninterrupted run. Two states of one run over disjoint chunk sets can be merged
//! the same way, which is how shards computed on different machines are combined
//! (see [`super::shard`]).
//!
//! A checkpoint is only resumed by a run with the same [`RunIdentity`]; the tool
//! version is part of it, because a different version may compute different draws.
//! Files are written atomically (temporary name, fsync, rename).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use evcarbon_engine::sampling::{CHUNK_SIZE, ChunkPlan, ChunkSet};
use evcarbon_engine::stats::Accumulator;

use super::convergence::ConvergenceBlock;
use super::shard_id::Shard;
use super::stop::StopRule;
use crate::config::Config;
use crate::output::{CHECKPOINT_FILE, OutputError, write_file_atomically_with};
/// Value of the `format` key.
pub const FORMAT: &str = "evcarbon-checkpoint";
/// Version of the checkpoint layout; bumped on any incompatible change (1 was
/// one JSON document; 2 had one sketch accuracy for every series and no counts
/// of the values at each sketch's extremes).
pub const FORMAT_VERSION: u32 = 3;

/// First bytes of every checkpoint and shard state file.
pub const MAGIC: &[u8; 8] = b"EVCSTATE";

/// Bytes after the payload: its length (u64) and SHA-256.
const TRAILER_LEN: usize = 8 + 32;

/// A writer that hashes and counts what passes through it.
struct Hashing<'w> {
    inner: &'w mut dyn std::io::Write,
    hasher: Sha256,
    len: u64,
}

impl std::io::Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

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
    #[error("cannot {action} checkpoint {} (the cause follows)", path.display())]
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
    write_framed(path, &state)
}

/// Writes `payload` atomically to `path` in the checkpoint framing (magic,
/// version, CBOR payload, its length and SHA-256), streamed through the hash.
pub(super) fn write_framed(path: &Path, payload: &impl Serialize) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(CHECKPOINT_FILE);
    // Streamed: the state of the 285-city default is tens of MB, which would
    // otherwise add to the run's peak memory.
    write_file_atomically_with(dir, name, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&FORMAT_VERSION.to_le_bytes())?;
        let mut hashed = Hashing {
            inner: w,
            hasher: Sha256::new(),
            len: 0,
        };
        ciborium::into_writer(payload, &mut hashed).map_err(std::io::Error::other)?;
        let (len, digest) = (hashed.len, hashed.hasher.finalize());
        w.write_all(&len.to_le_bytes())?;
        w.write_all(&digest)
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
    let corrupt = |reason: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let checkpoint: Checkpoint = read_framed(path)?;
    if checkpoint.format != FORMAT || checkpoint.format_version != FORMAT_VERSION {
        return Err(corrupt("its header and contents disagree".into()));
    }
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

/// Reads a file in the checkpoint framing and decodes its payload, checking the
/// magic, the version, the length and the checksum.
pub(super) fn read_framed<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<T, CheckpointError> {
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
    if bytes.first() == Some(&b'{') {
        // Format 1 was one JSON document.
        return Err(CheckpointError::Version {
            path: path.to_path_buf(),
            found: 1,
        });
    }
    let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        return Err(corrupt("it does not start like one".into()));
    };
    let Some((version, rest)) = rest.split_first_chunk::<4>() else {
        return Err(corrupt("it is truncated".into()));
    };
    let found = u32::from_le_bytes(*version);
    if found != FORMAT_VERSION {
        return Err(CheckpointError::Version {
            path: path.to_path_buf(),
            found,
        });
    }
    if rest.len() < TRAILER_LEN {
        return Err(corrupt("it is truncated".into()));
    }
    let (payload, trailer) = rest.split_at(rest.len() - TRAILER_LEN);
    let (len, digest) = trailer.split_at(8);
    if u64::from_le_bytes(len.try_into().expect("8 bytes")) != payload.len() as u64 {
        return Err(corrupt(
            "its length does not match its trailer (truncated or damaged)".into(),
        ));
    }
    if Sha256::digest(payload).as_slice() != digest {
        return Err(corrupt(
            "its SHA-256 checksum does not match (damaged)".into(),
        ));
    }
    ciborium::from_reader(payload).map_err(|e| corrupt(format!("unreadable ({e})")))
}
