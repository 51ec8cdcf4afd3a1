//! Long runs: stop at a target precision (`--until`), checkpoint, resume, interrupt.
//!
//! The run is cut into segments of chunks, each run by
//! [`crate::sampling::PreparedRun::run_chunks_into`], which keeps aggregating into
//! the run's accumulator (exactly, so the bits do not depend on the cut); the set
//! of finished chunks is tracked exactly ([`ChunkSet`]). Between segments the driver
//!
//! - records a [`ConvergenceBlock`] and checks the stopping rule when a `--until`
//!   block of [`Until::block_draws`] draws is complete (blocks are fixed ranges of
//!   chunks, so the stopping point does not depend on threads or timing);
//! - writes a checkpoint when `checkpoint_every` has passed (workers pause at
//!   that time: they finish their chunk and return, so the checkpoint holds whole
//!   chunks only);
//! - stops with [`LongRunError::Interrupted`] after writing a checkpoint when the
//!   interrupt flag is set (workers finish the chunks in flight).
//!
//! Because aggregation is exact and order-independent, none of this changes the
//! results: a run stopped at `N` draws by `--until`, a run resumed from a
//! checkpoint and an uninterrupted run of `N` draws give the same bits.

pub mod checkpoint;
pub mod convergence;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use checkpoint::{Checkpoint, CheckpointError, RunIdentity, StopRule, Until};
pub use convergence::{BoundConvergence, ConvergenceBlock, MetricConvergence};

use crate::config::Config;
use crate::sampling::{CHUNK_SIZE, ChunkSet, SamplerError};
use crate::stats::{Accumulator, ExactDraws};

/// Default draws per `--until` block: 64 chunks.
pub const DEFAULT_BLOCK_DRAWS: u64 = 64 * CHUNK_SIZE;

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// All draws of a fixed-size run are done.
    DrawsReached,
    /// `--until`: every headline bound met the precision target.
    PrecisionReached,
    /// `--until`: the maximum number of draws was reached first.
    MaxDrawsReached,
}

impl StopReason {
    /// Text for the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::DrawsReached => "draws reached",
            StopReason::PrecisionReached => "precision reached",
            StopReason::MaxDrawsReached => "max draws reached",
        }
    }
}

/// What a finished long run hands back.
pub struct Outcome {
    /// Aggregate of every draw.
    pub acc: Accumulator,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// One record per finished `--until` block (empty without `--until`).
    pub convergence: Vec<ConvergenceBlock>,
    /// Draws loaded from a checkpoint (0 for a fresh run).
    pub resumed_draws: u64,
}

/// Why a long run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum LongRunError {
    /// Sampling failed.
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    /// A checkpoint could not be read, written or used.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The interrupt flag was set; the state is in `checkpoint` (if any).
    #[error("interrupted after {draws_done} draws")]
    Interrupted {
        /// Draws aggregated when the run stopped.
        draws_done: u64,
        /// Where the state was saved (None when checkpoints are off).
        checkpoint: Option<PathBuf>,
    },
}

/// Where and how often to checkpoint.
#[derive(Clone, Debug)]
pub struct CheckpointPolicy {
    /// Checkpoint file.
    pub path: PathBuf,
    /// Interval between periodic checkpoints (None: only on interrupt).
    pub every: Option<Duration>,
    /// Identity written into the file.
    pub identity: RunIdentity,
}

/// A long run of a config.
pub struct LongRun<'a> {
    /// The validated config (overrides applied).
    pub config: &'a Config,
    /// Worker threads.
    pub threads: usize,
    /// When to stop.
    pub rule: StopRule,
    /// Periodic and interrupt checkpoints (None: never write one).
    pub checkpoint: Option<CheckpointPolicy>,
    /// State to continue from.
    pub resume_from: Option<Checkpoint>,
    /// Keep every draw here (for `--exact`).
    pub exact: Option<&'a ExactDraws>,
    /// Set (e.g. by a signal handler) to stop after the chunks in flight.
    pub interrupt: &'a AtomicBool,
    /// Called from workers with the draws of each finished chunk.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Called after each `--until` block.
    pub on_block: Option<&'a dyn Fn(&ConvergenceBlock)>,
    /// Called after each checkpoint with the draws it holds.
    pub on_checkpoint: Option<&'a dyn Fn(u64)>,
}

/// The `(series, threshold)` pairs counted for `p_ge_reported`.
pub fn thresholds(config: &Config) -> Vec<(usize, f64)> {
    let layout = config.model.layout();
    layout
        .headlines()
        .iter()
        .enumerate()
        .filter_map(|(k, h)| h.reported().map(|r| (layout.headline(k), r)))
        .collect()
}

impl LongRun<'_> {
    /// Runs until the stopping rule, the end of the draws or an interrupt.
    pub fn run(mut self) -> Result<Outcome, LongRunError> {
        let config = self.config;
        let sampler_run = crate::pipeline::sampler_run(
            config,
            self.rule.max_draws(),
            self.threads,
            self.progress,
        );
        let prepared = sampler_run.prepare()?;
        let n_chunks = sampler_run.chunks.n_chunks();
        let (mut acc, mut done, mut convergence, resumed_draws) = match self.resume_from.take() {
            Some(cp) => {
                if !cp.accumulator.is_compatible(prepared.template()) {
                    return Err(CheckpointError::Corrupt {
                        path: self
                            .checkpoint
                            .as_ref()
                            .map(|c| c.path.clone())
                            .unwrap_or_default(),
                        reason: "its accumulator does not match this run's series".into(),
                    }
                    .into());
                }
                let draws = cp.accumulator.draws();
                (cp.accumulator, cp.done_chunks, cp.convergence, draws)
            }
            None => (prepared.template().clone(), ChunkSet::new(), Vec::new(), 0),
        };
        let mut driver = Driver {
            run: &self,
            n_chunks,
            last_checkpoint: Instant::now(),
        };
        loop {
            if let Some(stop_reason) = driver.finished(&acc, &done, &convergence) {
                return Ok(Outcome {
                    acc,
                    stop_reason,
                    convergence,
                    resumed_draws,
                });
            }
            if self.interrupt.load(Ordering::SeqCst) {
                let path = driver.checkpoint(&done, &convergence, &acc)?;
                return Err(LongRunError::Interrupted {
                    draws_done: acc.draws(),
                    checkpoint: path,
                });
            }
            if driver.checkpoint_due() {
                driver.checkpoint(&done, &convergence, &acc)?;
            }
            let (block, todo) = driver.next_segment(&done);
            let segment = prepared.run_chunks_into(
                acc,
                &todo,
                self.interrupt,
                driver.pause_at(),
                self.exact,
            )?;
            acc = segment.acc;
            done.union(&segment.done);
            if let (StopRule::Until(until), Some(b)) = (&self.rule, block) {
                let (start, end) = driver.block_range(until, b);
                if done.contains_range(start, end) {
                    let row = convergence::measure(
                        b,
                        &acc,
                        config.model.layout(),
                        &config.run.levels,
                        until.rel,
                    );
                    if let Some(f) = self.on_block {
                        f(&row);
                    }
                    convergence.push(row);
                }
            }
        }
    }
}

struct Driver<'r, 'a> {
    run: &'r LongRun<'a>,
    n_chunks: u64,
    last_checkpoint: Instant,
}

impl Driver<'_, '_> {
    fn finished(
        &self,
        acc: &Accumulator,
        done: &ChunkSet,
        convergence: &[ConvergenceBlock],
    ) -> Option<StopReason> {
        match &self.run.rule {
            StopRule::Draws { .. } => done
                .contains_range(0, self.n_chunks)
                .then_some(StopReason::DrawsReached),
            StopRule::Until(until) => {
                let precise = convergence.last().is_some_and(|last| {
                    last.draws == acc.draws() && last.draws >= until.min_draws && last.precision_met
                });
                if precise {
                    Some(StopReason::PrecisionReached)
                } else if done.contains_range(0, self.n_chunks) {
                    Some(StopReason::MaxDrawsReached)
                } else {
                    None
                }
            }
        }
    }

    fn block_range(&self, until: &Until, b: u64) -> (u64, u64) {
        let per_block = until.block_draws / CHUNK_SIZE;
        (b * per_block, ((b + 1) * per_block).min(self.n_chunks))
    }

    /// The chunks to run next: every missing chunk, or those of the first
    /// unfinished `--until` block (with its index).
    fn next_segment(&self, done: &ChunkSet) -> (Option<u64>, Vec<u64>) {
        match &self.run.rule {
            StopRule::Draws { .. } => (None, done.missing(0, self.n_chunks)),
            StopRule::Until(until) => {
                let per_block = until.block_draws / CHUNK_SIZE;
                let first_missing = match done.ranges().first() {
                    Some(&(0, end)) => end,
                    _ => 0,
                };
                let b = first_missing / per_block;
                let (start, end) = self.block_range(until, b);
                (Some(b), done.missing(start, end))
            }
        }
    }

    fn pause_at(&self) -> Option<Instant> {
        let policy = self.run.checkpoint.as_ref()?;
        Some(self.last_checkpoint + policy.every?)
    }

    fn checkpoint_due(&self) -> bool {
        self.pause_at().is_some_and(|t| Instant::now() >= t)
    }

    fn checkpoint(
        &mut self,
        done: &ChunkSet,
        convergence: &[ConvergenceBlock],
        acc: &Accumulator,
    ) -> Result<Option<PathBuf>, CheckpointError> {
        let Some(policy) = &self.run.checkpoint else {
            return Ok(None);
        };
        checkpoint::write(&policy.path, &policy.identity, done, convergence, acc)?;
        self.last_checkpoint = Instant::now();
        if let Some(f) = self.run.on_checkpoint {
            f(acc.draws());
        }
        Ok(Some(policy.path.clone()))
    }
}
