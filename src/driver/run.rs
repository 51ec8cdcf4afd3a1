//! The run driver: one loop for every kind of run.
//!
//! A run is cut into segments of chunks, each run by
//! [`PreparedRun::run_chunks_into`](evcarbon_engine::sampling::PreparedRun::run_chunks_into),
//! which keeps aggregating into the run's
//! accumulator (exactly, so the bits do not depend on the cut); the set of finished
//! chunks is tracked exactly ([`ChunkSet`]). Between segments the driver
//!
//! - checks the [`StopRule`]: all draws done (a fixed-size run), or, for `--until`,
//!   records a [`ConvergenceBlock`] when a block of [`Until::block_draws`] draws is
//!   complete and stops once it is precise enough (blocks are fixed ranges of
//!   chunks, so the stopping point does not depend on threads or timing);
//! - writes a checkpoint when the [`CheckpointPolicy`] interval has passed
//!   (workers pause at that time: they finish their chunk and return, so the
//!   checkpoint holds whole chunks only);
//! - stops with [`RunError::Interrupted`] after writing a checkpoint when the
//!   interrupt flag is set (workers finish the chunks in flight).
//!
//! Because aggregation is exact and order-independent, none of this changes the
//! results: a run stopped at `N` draws by `--until`, a run resumed from a
//! checkpoint and an uninterrupted run of `N` draws give the same bits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use evcarbon_engine::sampling::{CHUNK_SIZE, ChunkPlan, ChunkSet, SamplerError, SamplerRun};
use evcarbon_engine::stats::{Accumulator, ExactDraws};

use super::checkpoint::{self, Checkpoint, CheckpointError, RunIdentity};
use super::convergence::{self, ConvergenceBlock};
use super::shard_id::Shard;
use super::stop::{StopReason, StopRule, Until};
use super::tables;
use crate::config::Config;
use crate::output::{RunInfo, RunResults, Telemetry, UntilSettings};

/// What a finished run hands back.
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

/// Why a run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
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

/// A run of a config: what to sample, when to stop, and what to do on the way.
pub struct Run<'a> {
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
    /// Run only this shard's chunks (a fixed number of draws only).
    pub shard: Option<Shard>,
}

/// The sampler of `config` over `draws` draws (the config's model, plan, scenarios,
/// seed, design and headline thresholds).
pub fn sampler_run<'c>(
    config: &'c Config,
    draws: u64,
    threads: usize,
    progress: Option<&'c (dyn Fn(u64) + Sync)>,
) -> SamplerRun<'c> {
    SamplerRun {
        model: &config.model,
        plan: &config.plan,
        scenarios: &config.scenarios,
        seed: config.run.seed,
        sampler: config.run.sampler,
        chunks: ChunkPlan { draws },
        threads,
        thresholds: tables::thresholds(config),
        progress,
    }
}

/// Set by nobody: the interrupt flag of runs that cannot be interrupted.
static NEVER: AtomicBool = AtomicBool::new(false);

impl<'a> Run<'a> {
    /// A run of `config.run.draws` draws on `threads` workers, with nothing on the
    /// way: no checkpoints, interrupts, `--exact` or progress reports.
    pub fn of_draws(config: &'a Config, threads: usize) -> Run<'a> {
        Run {
            config,
            threads,
            rule: StopRule::Draws {
                draws: config.run.draws,
            },
            checkpoint: None,
            resume_from: None,
            exact: None,
            interrupt: &NEVER,
            progress: None,
            on_block: None,
            on_checkpoint: None,
            shard: None,
        }
    }

    /// Runs (see [`Run::run`]) and assembles the result tables, timing the run.
    /// `exact` must have been built for `config` when given; its quantiles then
    /// replace the sketch's.
    pub fn execute(self) -> Result<RunResults, RunError> {
        let started = Instant::now();
        let (config, threads, exact, rule) =
            (self.config, self.threads, self.exact, self.rule.clone());
        let Outcome {
            acc,
            stop_reason,
            convergence,
            resumed_draws,
        } = self.run()?;
        let summaries = exact.map(|e| e.summaries(&acc, &config.run.levels, threads));
        let wall_seconds = started.elapsed().as_secs_f64();
        let telemetry = Telemetry {
            threads,
            wall_seconds,
            draws_per_second: (acc.draws() - resumed_draws) as f64 / wall_seconds.max(1e-9),
        };
        let run_info = RunInfo {
            stop_reason: stop_reason.as_str().to_string(),
            until: match rule {
                StopRule::Until(u) => Some(UntilSettings {
                    rel: u.rel,
                    min_draws: u.min_draws,
                    max_draws: u.max_draws,
                    check_every_draws: u.block_draws,
                }),
                StopRule::Draws { .. } => None,
            },
            exact: exact.is_some(),
            resumed_from_draws: (resumed_draws > 0).then_some(resumed_draws),
        };
        let convergence = convergence
            .iter()
            .flat_map(ConvergenceBlock::rows)
            .collect();
        Ok(tables::results(
            config,
            &acc,
            summaries.as_deref(),
            telemetry,
            run_info,
            convergence,
        ))
    }

    /// Runs until the stopping rule, the end of the draws or an interrupt.
    pub fn run(mut self) -> Result<Outcome, RunError> {
        let config = self.config;
        let sampler_run = sampler_run(config, self.rule.max_draws(), self.threads, self.progress);
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
        let (first_chunk, end_chunk) = self.shard.map_or((0, n_chunks), |s| s.chunks(n_chunks));
        let mut driver = Driver {
            run: &self,
            n_chunks,
            first_chunk,
            end_chunk,
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
                return Err(RunError::Interrupted {
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

/// The loop's state between segments.
struct Driver<'r, 'a> {
    run: &'r Run<'a>,
    n_chunks: u64,
    /// The chunks this process runs, `[first_chunk, end_chunk)` (all but in a shard).
    first_chunk: u64,
    end_chunk: u64,
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
                .contains_range(self.first_chunk, self.end_chunk)
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
            StopRule::Draws { .. } => (None, done.missing(self.first_chunk, self.end_chunk)),
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
        checkpoint::write(
            &policy.path,
            &policy.identity,
            done,
            convergence,
            acc,
            self.run.shard,
        )?;
        self.last_checkpoint = Instant::now();
        if let Some(f) = self.run.on_checkpoint {
            f(acc.draws());
        }
        Ok(Some(policy.path.clone()))
    }
}
