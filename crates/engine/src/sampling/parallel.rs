//! The parallel sampler: runs the chunks of a run on a rayon pool and aggregates.
//!
//! Workers pull chunk indices from a shared counter and keep their own accumulator.
//! A run can be done in one go ([`SamplerRun::run`]) or in segments
//! ([`SamplerRun::prepare`], then [`PreparedRun::run_chunks`] on any set of chunks),
//! which is how long runs stop at a target precision, pause for checkpoints and
//! resume (the application's run driver does this).
//! Because every chunk has its own stream (see [`super::stream`]) and every
//! accumulator merges exactly (integer sketch counts, exact sums), the result is
//! bit-identical for any number of threads and any scheduling.

use super::chunk_set::ChunkSet;
use super::design::{Design, DesignError, SamplerKind};
use super::evaluator::{DRAWS_PER_GROUP, DrawError, Evaluator};
use super::plan::{SamplingPlan, Scenario};
use super::stream::CHUNK_SIZE;
use crate::stats::{Accumulator, ExactDraws, SeriesGuess};
use evcarbon_model::Model;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// Locks `mutex` (no code panics while holding one of these locks).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().expect("no panics while holding the lock")
}

/// What a worker hands back at the end of a segment.
struct WorkerResult {
    /// The aggregate of the chunks it ran (plus the run so far, for the worker
    /// that started from the run's accumulator).
    acc: Accumulator,
    /// The chunks it completed.
    chunks: Vec<u64>,
    /// Its pool thread, whose malloc arena holds the accumulator's memory.
    thread: usize,
}

/// Draws evaluated before a run to guess which series take only the values −1, 0
/// and 1 (those that do in all of them).
const PROBE_DRAWS: u64 = 256;

/// How many draws and how they are cut into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Total draws.
    pub draws: u64,
}

impl ChunkPlan {
    /// Number of chunks (the last one may be short).
    pub fn n_chunks(&self) -> u64 {
        self.draws.div_ceil(CHUNK_SIZE)
    }

    /// Global index of the first draw of chunk `k` and the chunk's length.
    pub fn chunk(&self, k: u64) -> (u64, u64) {
        let first = k * CHUNK_SIZE;
        (first, CHUNK_SIZE.min(self.draws - first))
    }
}

/// Inputs of a sampling run.
pub struct SamplerRun<'m> {
    /// The model.
    pub model: &'m Model,
    /// Distributions and variate numbering.
    pub plan: &'m SamplingPlan,
    /// Scenarios evaluated on the same draws.
    pub scenarios: &'m [Scenario],
    /// Run seed.
    pub seed: u64,
    /// Sampling design.
    pub sampler: SamplerKind,
    /// Draws and chunking.
    pub chunks: ChunkPlan,
    /// Worker threads (≥ 1).
    pub threads: usize,
    /// `(series index, threshold)` pairs whose exceedance is counted exactly.
    pub thresholds: Vec<(usize, f64)>,
    /// Called from worker threads after each chunk with the number of draws it held.
    pub progress: Option<&'m (dyn Fn(u64) + Sync)>,
}

/// Why a sampling run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    /// A draw failed (the lowest-numbered failing draw is reported).
    #[error(transparent)]
    Draw(#[from] DrawError),
    /// The sampling design cannot be used.
    #[error(transparent)]
    Design(#[from] DesignError),
    /// The thread pool could not be built.
    #[error("cannot start {threads} worker threads: {reason}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// The pool builder's message.
        reason: String,
    },
}

impl SamplerRun<'_> {
    /// Runs every chunk and returns the merged accumulator.
    ///
    /// Draw 0 is evaluated first: its values are the shifts of the moment sums
    /// (a run constant, independent of scheduling).
    pub fn run(&self) -> Result<Accumulator, SamplerError> {
        let prepared = self.prepare()?;
        let all: Vec<u64> = (0..self.chunks.n_chunks()).collect();
        let never = AtomicBool::new(false);
        Ok(prepared.run_chunks(&all, &never, None, None)?.acc)
    }

    /// Builds the design and the thread pool and evaluates draw 0 (the moment
    /// shifts), ready to run chunks in segments with [`PreparedRun::run_chunks`].
    pub fn prepare(&self) -> Result<PreparedRun<'_>, SamplerError> {
        let design = Design::new(self.sampler, self.seed, self.plan.n_variates())?;
        let mut first = Evaluator::new(self.model, self.plan, self.scenarios);
        let (first_draw, len) = self.chunks.chunk(0);
        let mut variates = design.chunk(0, first_draw, len);
        let shifts = first
            .next_draw(&mut variates)
            .map_err(|kind| DrawError { draw: 0, kind })?
            .to_vec();
        // Series that take only −1, 0 and 1 in the first draws are counted by value,
        // and series equal to an earlier one in all of them are counted from its
        // codes (see `Accumulator::guided`): a guess that changes the speed, never
        // the result. These draws are evaluated again in their chunk.
        let mut guess = SeriesGuess::new(shifts.len());
        guess.observe(&shifts);
        for draw in first_draw + 1..first_draw + len.min(PROBE_DRAWS) {
            let values = first
                .next_draw(&mut variates)
                .map_err(|kind| DrawError { draw, kind })?;
            guess.observe(values);
        }
        let template = Accumulator::guided(shifts, self.thresholds.clone(), &guess);
        let pool = worker_pool(self.threads)?;
        Ok(PreparedRun {
            run: self,
            design,
            template,
            pool,
            spares: Mutex::new(Vec::new()),
        })
    }
}

/// A pool of `threads` workers.
pub(super) fn worker_pool(threads: usize) -> Result<rayon::ThreadPool, SamplerError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| SamplerError::Threads {
            threads,
            reason: e.to_string(),
        })
}

/// A run ready to sample: design, thread pool and an empty accumulator with the
/// run's shifts and thresholds.
pub struct PreparedRun<'r> {
    run: &'r SamplerRun<'r>,
    design: Design,
    template: Accumulator,
    pool: rayon::ThreadPool,
    /// Worker accumulators of earlier segments (already merged into the run's),
    /// with the pool thread that used them, emptied and reused by later segments.
    spares: Mutex<Vec<(usize, Accumulator)>>,
}

/// The outcome of [`PreparedRun::run_chunks`]: the chunks that were completed and
/// their aggregate.
pub struct Segment {
    /// Aggregate of exactly the chunks in `done` (plus, with
    /// [`PreparedRun::run_chunks_into`], what the accumulator passed in held).
    pub acc: Accumulator,
    /// Chunks completed.
    pub done: ChunkSet,
    /// True when workers stopped before running every chunk asked for (interrupt
    /// or pause).
    pub stopped_early: bool,
}

impl PreparedRun<'_> {
    /// An empty accumulator of this run (shifts and thresholds set).
    pub fn template(&self) -> &Accumulator {
        &self.template
    }

    /// Runs the chunks `chunks` (ascending) on the pool and returns their aggregate.
    ///
    /// Workers pull chunks in order. Before pulling the next chunk a worker stops
    /// when `stop` is set or, once it has finished at least one chunk, when
    /// `pause_at` has passed; chunks in flight are always finished, so the result
    /// holds whole chunks only. With `exact`, every draw's values are also stored
    /// there. On a failed draw the lowest-numbered failing draw is reported.
    pub fn run_chunks(
        &self,
        chunks: &[u64],
        stop: &AtomicBool,
        pause_at: Option<Instant>,
        exact: Option<&ExactDraws>,
    ) -> Result<Segment, SamplerError> {
        self.run_chunks_into(self.template.clone(), chunks, stop, pause_at, exact)
    }

    /// [`Self::run_chunks`], aggregating into `acc` (an accumulator of this run,
    /// flushed, holding none of `chunks`): the segment's `acc` is then `acc` plus
    /// the chunks completed. One worker keeps drawing into `acc` itself, so a run
    /// cut into many segments holds no more accumulators at once than a run of one
    /// segment. Aggregation is exact and order-independent, so the bits are those
    /// of merging a separate segment into `acc`.
    pub fn run_chunks_into(
        &self,
        acc: Accumulator,
        chunks: &[u64],
        stop: &AtomicBool,
        pause_at: Option<Instant>,
        exact: Option<&ExactDraws>,
    ) -> Result<Segment, SamplerError> {
        let run = self.run;
        let base = Mutex::new(Some(acc));
        let next = AtomicUsize::new(0);
        let stop_after = AtomicUsize::new(usize::MAX);
        let stopped_early = AtomicBool::new(false);
        let failures: Mutex<Vec<DrawError>> = Mutex::new(Vec::new());
        let results: Mutex<Vec<WorkerResult>> = Mutex::new(Vec::new());
        let workers = run.threads.min(chunks.len()).max(1);
        self.pool.scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|_| {
                    // Each pool thread keeps its own accumulator from segment to
                    // segment, the run's on thread 0: a sketch's windows then grow
                    // in the malloc arena of the thread that allocated them, instead
                    // of being scattered over several arenas whose freed memory the
                    // others cannot reuse (+20 MB at 1M default draws with a
                    // checkpoint every 20 s).
                    let thread = rayon::current_thread_index().unwrap_or(0);
                    let taken = if thread == 0 {
                        lock(&base).take()
                    } else {
                        None
                    };
                    let mut acc = match taken {
                        Some(mut acc) => {
                            acc.count_like(&self.template);
                            acc
                        }
                        None => self
                            .spare_of(thread)
                            .unwrap_or_else(|| self.template.clone()),
                    };
                    let mut eval = Evaluator::new(run.model, run.plan, run.scenarios);
                    let mut mine = Vec::new();
                    loop {
                        let paused =
                            !mine.is_empty() && pause_at.is_some_and(|t| Instant::now() >= t);
                        if stop.load(Ordering::Relaxed) || paused {
                            stopped_early.store(true, Ordering::Relaxed);
                            break;
                        }
                        let j = next.fetch_add(1, Ordering::Relaxed);
                        if j >= chunks.len() || j > stop_after.load(Ordering::Relaxed) {
                            break;
                        }
                        let k = chunks[j];
                        if let Err(e) = self.run_chunk(k, &mut eval, &mut acc, exact) {
                            stop_after.fetch_min(j, Ordering::Relaxed);
                            lock(&failures).push(e);
                            break;
                        }
                        mine.push(k);
                        if let Some(progress) = run.progress {
                            progress(run.chunks.chunk(k).1);
                        }
                    }
                    acc.flush();
                    lock(&results).push(WorkerResult {
                        acc,
                        chunks: mine,
                        thread,
                    });
                });
            }
        });
        let failures = failures.into_inner().expect("workers finished");
        if let Some(first_failure) = failures.into_iter().min_by_key(|e| e.draw) {
            return Err(first_failure.into());
        }
        let mut results = results.into_inner().expect("workers finished");
        // Thread 0 ran no worker (all were run by others): its accumulator still
        // holds the run so far.
        if let Some(acc) = base.into_inner().expect("workers finished") {
            results.push(WorkerResult {
                acc,
                chunks: Vec::new(),
                thread: 0,
            });
        }
        // Merged from thread 0, whose arena holds the run's accumulator; the
        // sketches are then shared out over the pool (`Accumulator::merge`), so a
        // window that must widen to take the other's range may be regrown in
        // another thread's arena (the 4M/1M peak stayed at 1.06).
        let results = Mutex::new(Some(results));
        let (acc, done) = self
            .pool
            .broadcast(|ctx| {
                let results = (ctx.index() == 0).then(|| lock(&results).take())??;
                Some(self.merge_results(results))
            })
            .into_iter()
            .flatten()
            .next()
            .expect("the pool has a thread 0");
        let done: ChunkSet = done.into_iter().collect();
        Ok(Segment {
            stopped_early: stopped_early.into_inner() && done.len() < chunks.len() as u64,
            acc,
            done,
        })
    }

    /// The accumulator that pool thread `thread` used in an earlier segment, if
    /// any (else another thread's), emptied. It is emptied here, by the worker
    /// that reuses it, rather than after the merge: there it was the serial tail
    /// of every segment (about 6 ms on the default), and a run of one segment
    /// never reuses it.
    fn spare_of(&self, thread: usize) -> Option<Accumulator> {
        let mut spare = {
            let mut spares = lock(&self.spares);
            let at = spares
                .iter()
                .position(|(t, _)| *t == thread)
                .or_else(|| spares.len().checked_sub(1))?;
            spares.swap_remove(at).1
        };
        spare.clear();
        Some(spare)
    }

    /// Merges the workers' accumulators into the fullest (the one that started
    /// from the run's, so that its bucket windows need not be copied) and keeps
    /// the others for the next segment (emptied when reused: `spare_of`).
    fn merge_results(&self, mut results: Vec<WorkerResult>) -> (Accumulator, Vec<u64>) {
        let fullest = (0..results.len())
            .max_by_key(|&i| results[i].acc.draws())
            .expect("at least one worker");
        let WorkerResult {
            mut acc,
            chunks: mut done,
            ..
        } = results.swap_remove(fullest);
        for other in results {
            acc.merge(&other.acc);
            done.extend(other.chunks);
            lock(&self.spares).push((other.thread, other.acc));
        }
        (acc, done)
    }

    fn run_chunk(
        &self,
        k: u64,
        eval: &mut Evaluator<'_>,
        acc: &mut Accumulator,
        exact: Option<&ExactDraws>,
    ) -> Result<(), DrawError> {
        let (first, len) = self.run.chunks.chunk(k);
        let mut variates = self.design.chunk(k, first, len);
        let mut kept = match exact {
            Some(e) => Vec::with_capacity(len as usize * e.series()),
            None => Vec::new(),
        };
        let mut done = 0;
        while done < len {
            let n = (len - done).min(DRAWS_PER_GROUP as u64);
            let rows = eval
                .next_draws(&mut variates, n as usize)
                .map_err(|(r, kind)| DrawError {
                    draw: first + done + r as u64,
                    kind,
                })?;
            acc.add_draws(rows);
            if exact.is_some() {
                // Capacity was reserved for the whole chunk: no allocation here.
                kept.extend_from_slice(rows);
            }
            done += n;
        }
        acc.end_chunk();
        if let Some(e) = exact {
            e.store_chunk(k, kept);
        }
        Ok(())
    }
}
