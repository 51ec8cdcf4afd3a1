//! The parallel sampler: runs the chunks of a run on a rayon pool and aggregates.
//!
//! Workers pull chunk indices from a shared counter and keep their own accumulator.
//! Because every chunk has its own stream (see [`super::stream`]) and every
//! accumulator merges exactly (integer sketch counts, exact sums), the result is
//! bit-identical for any number of threads and any scheduling.

use super::SamplerKind;
use super::design::{ChunkVariates, Design, DesignError};
use super::plan::{RangeError, SamplingPlan, Scenario};
use super::stream::CHUNK_SIZE;
use crate::model::{Model, ModelError, ParamValues, Scratch};
use crate::stats::Accumulator;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a draw failed: a parameter left its range, or the model is undefined.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DrawErrorKind {
    /// A sampled value left the parameter's physical range.
    #[error(transparent)]
    Range(#[from] RangeError),
    /// The attribution is undefined for these values.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A scenario's draw failed.
    #[error("scenario `{scenario}`: {error}")]
    Scenario {
        /// Scenario name.
        scenario: String,
        /// What went wrong in the scenario.
        error: Box<DrawErrorKind>,
    },
}

/// A failed draw, with its global index (0-based).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("draw {draw}: {kind}")]
pub struct DrawError {
    /// Index of the draw in the run.
    pub draw: u64,
    /// What went wrong.
    pub kind: DrawErrorKind,
}

/// Evaluates draws: uniforms → parameter values → metrics. Owns its buffers, so the
/// per-draw path allocates nothing.
///
/// The output of a draw is the model's layout for the baseline, followed, for each
/// scenario in order, by the same layout holding scenario − baseline, computed from
/// the same uniforms (common random numbers).
pub struct Evaluator<'m> {
    model: &'m Model,
    plan: &'m SamplingPlan,
    scenarios: &'m [Scenario],
    uniforms: Vec<f64>,
    values: ParamValues,
    scratch: Scratch,
    out: Vec<f64>,
    scenario_out: Vec<f64>,
    scenario_values: ParamValues,
}

impl<'m> Evaluator<'m> {
    /// Buffers sized for `model`, `plan` and the scenarios.
    pub fn new(
        model: &'m Model,
        plan: &'m SamplingPlan,
        scenarios: &'m [Scenario],
    ) -> Evaluator<'m> {
        let per_model = model.layout().len();
        Evaluator {
            model,
            plan,
            scenarios,
            uniforms: vec![0.5; plan.n_variates()],
            values: ParamValues::new(model.network()),
            scratch: model.scratch(),
            out: vec![0.0; per_model * (1 + scenarios.len())],
            scenario_out: vec![0.0; if scenarios.is_empty() { 0 } else { per_model }],
            scenario_values: ParamValues::new(model.network()),
        }
    }

    /// Number of values per draw: the model's layout times (1 + scenarios).
    pub fn series(&self) -> usize {
        self.out.len()
    }

    /// Evaluates the next draw of a chunk.
    #[inline]
    pub fn next_draw(&mut self, variates: &mut ChunkVariates) -> Result<&[f64], DrawErrorKind> {
        variates.next_draw(&mut self.uniforms);
        self.plan.correlate(&mut self.uniforms);
        self.evaluate_uniforms()
    }

    /// Evaluates the model (and the scenarios) at the current uniforms.
    #[inline]
    fn evaluate_uniforms(&mut self) -> Result<&[f64], DrawErrorKind> {
        let per_model = self.model.layout().len();
        let (base, deltas) = self.out.split_at_mut(per_model);
        self.plan
            .apply(self.model.network(), &self.uniforms, &mut self.values)?;
        self.model.evaluate(&self.values, &mut self.scratch, base)?;
        for (scenario, delta) in self
            .scenarios
            .iter()
            .zip(deltas.chunks_exact_mut(per_model))
        {
            let in_scenario = |error: DrawErrorKind| DrawErrorKind::Scenario {
                scenario: scenario.name.clone(),
                error: Box::new(error),
            };
            self.scenario_values.copy_from(&self.values);
            scenario
                .plan
                .apply_changes(
                    self.model.network(),
                    &self.uniforms,
                    &mut self.scenario_values,
                )
                .map_err(|e| in_scenario(e.into()))?;
            self.model
                .evaluate(
                    &self.scenario_values,
                    &mut self.scratch,
                    &mut self.scenario_out,
                )
                .map_err(|e| in_scenario(e.into()))?;
            for ((d, &with), &without) in delta.iter_mut().zip(&self.scenario_out).zip(base.iter())
            {
                *d = with - without;
            }
        }
        Ok(&self.out)
    }

    /// Evaluates the baseline model with every parameter at its median.
    pub fn central(&mut self) -> Result<&[f64], ModelError> {
        let per_model = self.model.layout().len();
        self.plan.apply_medians(&mut self.values);
        self.model
            .evaluate(&self.values, &mut self.scratch, &mut self.out[..per_model])?;
        Ok(&self.out[..per_model])
    }
}

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
    /// Called with the number of draws completed so far, from worker threads.
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
        let design = Design::new(self.sampler, self.seed, self.plan.n_variates())?;
        let mut first = Evaluator::new(self.model, self.plan, self.scenarios);
        let (first_draw, len) = self.chunks.chunk(0);
        let shifts = first
            .next_draw(&mut design.chunk(0, first_draw, len))
            .map_err(|kind| DrawError { draw: 0, kind })?
            .to_vec();
        let template = Accumulator::new(shifts, self.thresholds.clone());

        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .map_err(|e| SamplerError::Threads {
                threads: self.threads,
                reason: e.to_string(),
            })?;
        let next_chunk = AtomicU64::new(0);
        let stop_after = AtomicU64::new(u64::MAX);
        let done_draws = AtomicU64::new(0);
        let failures: Mutex<Vec<DrawError>> = Mutex::new(Vec::new());
        let results: Mutex<Vec<Accumulator>> = Mutex::new(Vec::new());
        pool.scope(|scope| {
            for _ in 0..self.threads {
                scope.spawn(|_| {
                    let mut acc = template.clone();
                    let mut eval = Evaluator::new(self.model, self.plan, self.scenarios);
                    loop {
                        let k = next_chunk.fetch_add(1, Ordering::Relaxed);
                        if k >= self.chunks.n_chunks() || k > stop_after.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Err(e) = self.run_chunk(&design, k, &mut eval, &mut acc) {
                            stop_after.fetch_min(k, Ordering::Relaxed);
                            failures
                                .lock()
                                .expect("no panics while holding the lock")
                                .push(e);
                            break;
                        }
                        let n = self.chunks.chunk(k).1;
                        let total = done_draws.fetch_add(n, Ordering::Relaxed) + n;
                        if let Some(progress) = self.progress {
                            progress(total);
                        }
                    }
                    results
                        .lock()
                        .expect("no panics while holding the lock")
                        .push(acc);
                });
            }
        });
        let failures = failures.into_inner().expect("workers finished");
        if let Some(first_failure) = failures.into_iter().min_by_key(|e| e.draw) {
            return Err(first_failure.into());
        }
        let mut merged = template;
        for acc in results.into_inner().expect("workers finished") {
            merged.merge(&acc);
        }
        Ok(merged)
    }

    fn run_chunk(
        &self,
        design: &Design,
        k: u64,
        eval: &mut Evaluator<'_>,
        acc: &mut Accumulator,
    ) -> Result<(), DrawError> {
        let (first, len) = self.chunks.chunk(k);
        let mut variates = design.chunk(k, first, len);
        for i in 0..len {
            let values = eval.next_draw(&mut variates).map_err(|kind| DrawError {
                draw: first + i,
                kind,
            })?;
            acc.add_draw(values);
        }
        acc.end_chunk();
        Ok(())
    }
}
