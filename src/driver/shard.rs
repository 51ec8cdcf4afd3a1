//! Sharded runs: `run --shard K/M` computes the K-th of M contiguous ranges of a
//! run's chunks and saves its aggregator state; `merge` checks that a set of such
//! states belongs to one run and covers every chunk exactly once, and merges them.
//!
//! Aggregation is exact and order-independent (see [`super::checkpoint`]), so the
//! merged state, and every table written from it, is bit-identical to the state of
//! a single process that ran every chunk, whatever the number of shards.

use std::path::{Path, PathBuf};

use evcarbon_engine::sampling::{ChunkPlan, ChunkSet};

use super::checkpoint::{self, Checkpoint, CheckpointError, RunIdentity};
use super::shard_id::{SHARD_EXTENSION, Shard};
use crate::config::Config;

/// Why a set of shard states cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No files.
    #[error(
        "merge needs at least one shard file (the {SHARD_EXTENSION} files that `run --shard K/M` writes)"
    )]
    NoShards,
    /// A file could not be read as a shard state.
    #[error(transparent)]
    Read(#[from] CheckpointError),
    /// A file is a checkpoint of an unfinished run, not a shard.
    #[error("{} is not a shard state (it has no shard number); merge the files that `run --shard K/M` writes", path.display())]
    NotAShard {
        /// The file.
        path: PathBuf,
    },
    /// A file belongs to another run (or the config given is not the shards').
    #[error("{} comes from a different run than {}: {}; merge only the shards of one `evcarbon slurm` or `run --shard` setup{}", path.display(), reference.display(), differences.join("; "), hint)]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What it is compared with (the first shard, or the config).
        reference: PathBuf,
        /// What differs.
        differences: Vec<String>,
        /// How to fix it, where known.
        hint: &'static str,
    },
    /// Two files hold the same chunks (or batches).
    #[error("{} and {} both hold {unit} {}–{} (shards {a_shard} and {b_shard}): each must be merged exactly once; leave one of them out", a.display(), b.display(), first, last)]
    Duplicate {
        /// `chunks` (of a run) or `batches` (of a Sobol design).
        unit: &'static str,
        /// One file.
        a: PathBuf,
        /// Its shard.
        a_shard: Shard,
        /// The other.
        b: PathBuf,
        /// Its shard.
        b_shard: Shard,
        /// First shared chunk.
        first: u64,
        /// Last shared chunk.
        last: u64,
    },
    /// Chunks (or batches) that no file holds.
    #[error(
        "the shards do not cover the run: {} of {n_chunks} {unit} are missing ({}){}; run the missing shards and merge again",
        missing_chunks,
        ranges,
        missing_shards
    )]
    Missing {
        /// `chunks` (of a run) or `batches` (of a Sobol design).
        unit: &'static str,
        /// Chunks of the run.
        n_chunks: u64,
        /// Chunks missing.
        missing_chunks: u64,
        /// The missing chunk ranges, as text.
        ranges: String,
        /// The missing shard numbers, as text (may be empty).
        missing_shards: String,
    },
}

impl MergeError {
    /// True when the user can fix it (exit status 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            MergeError::Read(e) => e.is_user_error(),
            _ => true,
        }
    }
}

/// Shard states merged, with the config they were computed from.
pub struct Merged {
    /// The merged state: every chunk of the run.
    pub state: Checkpoint,
    /// The shard files, in shard order.
    pub files: Vec<PathBuf>,
}

/// Applies a shard's run settings (seed, sampler, draws) to `config`, as the
/// shard's command line did.
pub fn apply_identity(config: &mut Config, identity: &RunIdentity) -> Result<(), String> {
    config.run.seed = identity.seed;
    config.run.sampler = evcarbon_engine::sampling::SamplerKind::from_name(&identity.sampler)
        .ok_or_else(|| format!("unknown sampler `{}`", identity.sampler))?;
    config.run.draws = identity.stop_rule.max_draws();
    Ok(())
}

/// Reads every shard file, checks that they come from one run of `config` (whose
/// seed, sampler and draws are set from the shards) and cover every chunk exactly
/// once, and merges them. `config_path` names the config in messages.
pub fn merge(
    paths: &[PathBuf],
    config: &mut Config,
    config_path: &Path,
) -> Result<Merged, MergeError> {
    let mut shards: Vec<(PathBuf, Shard, Checkpoint)> = Vec::new();
    for path in paths {
        let state = checkpoint::read(path)?;
        let shard = state
            .shard
            .ok_or_else(|| MergeError::NotAShard { path: path.clone() })?;
        shards.push((path.clone(), shard, state));
    }
    let Some((first_path, _, first)) = shards.first() else {
        return Err(MergeError::NoShards);
    };
    let identities: Vec<(&Path, &RunIdentity)> = (shards.iter())
        .map(|(p, _, s)| (p.as_path(), &s.identity))
        .collect();
    same_run(&identities, RunIdentity::differences)?;
    let identity = first.identity.clone();
    apply_identity(config, &identity).map_err(|reason| {
        MergeError::Read(CheckpointError::Corrupt {
            path: first_path.clone(),
            reason,
        })
    })?;
    let differences = identity.differences(&RunIdentity::new(config, identity.stop_rule.clone()));
    if !differences.is_empty() {
        return Err(MergeError::Foreign {
            path: first_path.clone(),
            reference: config_path.to_path_buf(),
            differences,
            hint: "; pass the config and data the shards were computed from with --config",
        });
    }
    let n_chunks = ChunkPlan {
        draws: identity.stop_rule.max_draws(),
    }
    .n_chunks();
    let parts: Vec<(PathBuf, Shard, ChunkSet)> = (shards.iter())
        .map(|(p, s, state)| (p.clone(), *s, state.done_chunks.clone()))
        .collect();
    check_cover(&parts, n_chunks, "chunks")?;
    shards.sort_by_key(|(_, shard, _)| shard.index);
    let mut files = Vec::new();
    let mut merged: Option<Checkpoint> = None;
    for (path, _, state) in shards {
        files.push(path.clone());
        match &mut merged {
            None => merged = Some(state),
            Some(m) => m
                .absorb(state)
                .map_err(|reason| MergeError::Read(CheckpointError::Corrupt { path, reason }))?,
        }
    }
    let mut state = merged.expect("at least one shard");
    state.shard = None;
    Ok(Merged { state, files })
}

/// Every file's identity equal to the first's (`differences` lists what differs).
pub(super) fn same_run<I>(
    files: &[(&Path, &I)],
    differences: impl Fn(&I, &I) -> Vec<String>,
) -> Result<(), MergeError> {
    let Some(&(first_path, first)) = files.first() else {
        return Err(MergeError::NoShards);
    };
    for &(path, identity) in &files[1..] {
        let differences = differences(first, identity);
        if !differences.is_empty() {
            return Err(MergeError::Foreign {
                path: path.to_path_buf(),
                reference: first_path.to_path_buf(),
                differences,
                hint: "",
            });
        }
    }
    Ok(())
}

/// Every one of `n` units (chunks of a run, batches of a design) in exactly one
/// shard.
pub(super) fn check_cover(
    shards: &[(PathBuf, Shard, ChunkSet)],
    n: u64,
    unit: &'static str,
) -> Result<(), MergeError> {
    for (i, (a, a_shard, sa)) in shards.iter().enumerate() {
        for (b, b_shard, sb) in &shards[i + 1..] {
            if let Some((first, last)) = overlap(sa, sb) {
                return Err(MergeError::Duplicate {
                    unit,
                    a: a.clone(),
                    a_shard: *a_shard,
                    b: b.clone(),
                    b_shard: *b_shard,
                    first,
                    last,
                });
            }
        }
    }
    let mut all = ChunkSet::new();
    for (_, _, s) in shards {
        all.union(s);
    }
    let missing = all.missing(0, n);
    if missing.is_empty() {
        return Ok(());
    }
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for &k in &missing {
        match ranges.last_mut() {
            Some(r) if r.1 + 1 == k => r.1 = k,
            _ => ranges.push((k, k)),
        }
    }
    let text: Vec<String> = ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                format!("{a}")
            } else {
                format!("{a}–{b}")
            }
        })
        .collect();
    // Which shard numbers are absent, when the files agree on M.
    let counts: Vec<u64> = shards.iter().map(|s| s.1.count).collect();
    let missing_shards = if counts.iter().all(|&m| m == counts[0]) {
        let have: Vec<u64> = shards.iter().map(|s| s.1.index).collect();
        let absent: Vec<String> = (1..=counts[0])
            .filter(|k| !have.contains(k))
            .map(|k| format!("{k}/{}", counts[0]))
            .collect();
        if absent.is_empty() {
            String::new()
        } else {
            format!("; no file holds shard {}", absent.join(", "))
        }
    } else {
        String::new()
    };
    Err(MergeError::Missing {
        unit,
        n_chunks: n,
        missing_chunks: missing.len() as u64,
        ranges: text.join(", "),
        missing_shards,
    })
}

/// The first and last chunk two sets share, if any.
fn overlap(a: &ChunkSet, b: &ChunkSet) -> Option<(u64, u64)> {
    let mut shared: Option<(u64, u64)> = None;
    for &(s1, e1) in a.ranges() {
        for &(s2, e2) in b.ranges() {
            let (s, e) = (s1.max(s2), e1.min(e2));
            if s < e {
                shared = Some(shared.map_or((s, e - 1), |(f, l)| (f.min(s), l.max(e - 1))));
            }
        }
    }
    shared
}
