//! Evaluates draws: uniforms → parameter values → metrics, for the baseline and
//! every scenario on the same uniforms. Owns its buffers, so the per-draw path
//! allocates nothing.

use super::design::ChunkVariates;
use super::plan::{RangeError, SamplingPlan, Scenario};
use crate::simd::avx2_dispatch;
use evcarbon_model::{Model, ModelError, Param, ParamValues, Scratch};

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
    /// An output of the draw is NaN or infinite (finite inputs whose products
    /// overflow f64, say): the statistics would be meaningless.
    #[error(
        "output value {index} of the draw is {value} (not finite); the inputs are too large \
         or too small for floating point: check the units and magnitudes of the parameters"
    )]
    NonFinite {
        /// Position in the draw's output (see [`DrawSeries`]).
        index: usize,
        /// The value.
        value: f64,
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
/// The output of a draw is laid out by [`DrawSeries`]: the baseline's metrics,
/// each scenario's deltas on the same uniforms (common random numbers), then each
/// scenario's own headline values.
pub struct Evaluator<'m> {
    model: &'m Model,
    plan: &'m SamplingPlan,
    scenarios: &'m [Scenario],
    series: DrawSeries,
    uniforms: Vec<f64>,
    values: ParamValues,
    scratch: Scratch,
    out: Vec<f64>,
    /// Outputs of up to [`DRAWS_PER_GROUP`] draws, one after the other (see
    /// [`Evaluator::next_draws`]).
    group: Vec<f64>,
    scenario_values: ParamValues,
    /// Per scenario: whether it changes only intensities, so that it is
    /// evaluated on the baseline's flows ([`Model::evaluate_variant`]).
    on_base: Vec<bool>,
    /// Scratch of the scenarios evaluated in full, which would overwrite the
    /// baseline's flows in `scratch`.
    full_scratch: Scratch,
}

/// Draws evaluated before they are aggregated together: the aggregator adds the
/// moments of a group in one pass (`ChunkMomentsBank::add_draws` in `stats`).
pub const DRAWS_PER_GROUP: usize = crate::stats::MOMENTS_GROUP;

/// Where each value of one draw's output sits: the baseline's metrics (the
/// model's [`evcarbon_model::OutputLayout`]), then for each scenario in order the
/// same layout holding scenario − baseline, then for each scenario its own values
/// of the headlines (so that a scenario's headline has an interval, and a
/// probability of reaching a reported figure, of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrawSeries {
    per_model: usize,
    headline_start: usize,
    headlines: usize,
    scenarios: usize,
}

impl DrawSeries {
    /// The series of `model` with `scenarios` scenarios.
    pub fn new(model: &Model, scenarios: usize) -> DrawSeries {
        let layout = model.layout();
        DrawSeries {
            per_model: layout.len(),
            headline_start: layout.headline_start(),
            headlines: layout.headlines().len(),
            scenarios,
        }
    }

    /// Number of values per draw.
    pub fn len(&self) -> usize {
        self.per_model * (1 + self.scenarios) + self.headlines * self.scenarios
    }

    /// Always false: the baseline has at least one value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of the first delta of scenario `s` (its deltas follow in the model's
    /// layout).
    pub fn delta(&self, s: usize) -> usize {
        self.per_model * (1 + s)
    }

    /// Index of scenario `s`'s own value of its `k`-th headline.
    pub fn scenario_headline(&self, s: usize, k: usize) -> usize {
        self.per_model * (1 + self.scenarios) + self.headlines * s + k
    }
}

impl<'m> Evaluator<'m> {
    /// Buffers sized for `model`, `plan` and the scenarios.
    pub fn new(
        model: &'m Model,
        plan: &'m SamplingPlan,
        scenarios: &'m [Scenario],
    ) -> Evaluator<'m> {
        let series = DrawSeries::new(model, scenarios.len());
        Evaluator {
            model,
            plan,
            scenarios,
            series,
            // The design's variates, then those only scenarios read.
            uniforms: vec![
                0.5;
                (scenarios.iter().map(|s| s.plan.variates_end()))
                    .fold(plan.variates_end(), usize::max)
            ],
            values: ParamValues::new(model.network()),
            scratch: model.scratch(),
            out: vec![0.0; series.len()],
            group: vec![0.0; DRAWS_PER_GROUP * series.len()],
            scenario_values: ParamValues::new(model.network()),
            on_base: scenarios
                .iter()
                .map(|s| s.model.is_none() && s.plan.changed_params().all(Param::is_intensity))
                .collect(),
            full_scratch: model.scratch(),
        }
    }

    /// Number of values per draw (see [`DrawSeries`]).
    pub fn series(&self) -> usize {
        self.out.len()
    }

    /// Evaluates the next draw of a chunk.
    #[inline]
    pub fn next_draw(&mut self, variates: &mut ChunkVariates) -> Result<&[f64], DrawErrorKind> {
        variates.next_draw(&mut self.uniforms);
        self.plan.correlate_uniforms(&mut self.uniforms);
        self.evaluate_uniforms()
    }

    /// Evaluates the next `n` draws of a chunk (`1 ≤ n ≤ DRAWS_PER_GROUP`): their
    /// outputs one after the other, each as [`Self::next_draw`] gives it. A failed
    /// draw stops the group; the error says which draw of it failed.
    #[inline]
    pub fn next_draws(
        &mut self,
        variates: &mut ChunkVariates,
        n: usize,
    ) -> Result<&[f64], (usize, DrawErrorKind)> {
        debug_assert!(n <= DRAWS_PER_GROUP, "at most a group of draws");
        let series = self.series();
        let mut group = std::mem::take(&mut self.group);
        let mut evaluated = Ok(());
        for (r, out) in group.chunks_exact_mut(series).take(n).enumerate() {
            variates.next_draw(&mut self.uniforms);
            self.plan.correlate_uniforms(&mut self.uniforms);
            if let Err(e) = self.evaluate_into(out) {
                evaluated = Err((r, e));
                break;
            }
        }
        self.group = group;
        evaluated.map(|()| &self.group[..n * series])
    }

    /// Evaluates the model (and the scenarios) at `uniforms`, already correlated
    /// (the rows of a sensitivity design, say).
    #[inline]
    pub fn evaluate_at(&mut self, uniforms: &[f64]) -> Result<&[f64], DrawErrorKind> {
        self.uniforms[..uniforms.len()].copy_from_slice(uniforms);
        self.evaluate_uniforms()
    }

    /// Evaluates the model (and the scenarios) at the current uniforms.
    #[inline]
    fn evaluate_uniforms(&mut self) -> Result<&[f64], DrawErrorKind> {
        let mut out = std::mem::take(&mut self.out);
        let evaluated = self.evaluate_into(&mut out);
        self.out = out;
        evaluated.map(|()| &self.out[..])
    }

    /// [`Self::evaluate_uniforms`] into `out` (one draw's outputs).
    #[inline]
    fn evaluate_into(&mut self, out: &mut [f64]) -> Result<(), DrawErrorKind> {
        let per_model = self.model.layout().len();
        let (base, rest) = out.split_at_mut(per_model);
        let (deltas, own_headlines) = rest.split_at_mut(per_model * self.scenarios.len());
        let (headline_start, n_headlines) = (self.series.headline_start, self.series.headlines);
        self.plan
            .apply(self.model.network(), &self.uniforms, &mut self.values)?;
        evaluate_model(self.model, &self.values, &mut self.scratch, base)?;
        for (((scenario, delta), own), &on_base) in self
            .scenarios
            .iter()
            .zip(deltas.chunks_exact_mut(per_model))
            .zip(own_headlines.chunks_exact_mut(n_headlines.max(1)))
            .zip(&self.on_base)
        {
            let in_scenario = |error: DrawErrorKind| DrawErrorKind::Scenario {
                scenario: scenario.name.clone(),
                error: Box::new(error),
            };
            // A scenario on the baseline's flows reads only the intensities.
            if on_base {
                for p in Param::ALL.into_iter().filter(|p| p.is_intensity()) {
                    self.scenario_values.copy_param_from(&self.values, p);
                }
            } else {
                self.scenario_values.copy_from(&self.values);
            }
            scenario
                .plan
                .apply_changes(
                    self.model.network(),
                    &self.uniforms,
                    &mut self.scenario_values,
                )
                .map_err(|e| in_scenario(e.into()))?;
            // The scenario's outputs go straight into the delta slots, which then
            // take the baseline off in place: no separate buffer to write and read.
            let values = &self.scenario_values;
            if on_base {
                evaluate_variant(self.model, values, &mut self.scratch, base, delta)
            } else {
                let model = scenario.model.as_ref().unwrap_or(self.model);
                evaluate_model(model, values, &mut self.full_scratch, delta)
            }
            .map_err(|e| in_scenario(e.into()))?;
            own.copy_from_slice(&delta[headline_start..headline_start + n_headlines]);
            subtract_in_place(delta, base);
        }
        // No NaN or infinity may reach the statistics (or an output file).
        if out.iter().fold(false, |bad, x| bad | !x.is_finite()) {
            let index = out.iter().position(|x| !x.is_finite()).unwrap_or(0);
            return Err(DrawErrorKind::NonFinite {
                index,
                value: out[index],
            });
        }
        Ok(())
    }

    /// Evaluates the baseline model with every parameter at its median.
    pub fn central(&mut self) -> Result<&[f64], ModelError> {
        let per_model = self.model.layout().len();
        self.plan.apply_medians(&mut self.values);
        evaluate_model(
            self.model,
            &self.values,
            &mut self.scratch,
            &mut self.out[..per_model],
        )?;
        Ok(&self.out[..per_model])
    }
}

avx2_dispatch! {
    /// [`Model::evaluate`], in the AVX2 build where the CPU has it: the model's
    /// passes over cities then handle four cities per instruction. The same bits
    /// as [`Model::evaluate`] on any CPU (the model crate's test
    /// `avx2_evaluation_equals_portable_evaluation` compiles it both ways).
    #[inline]
    pub fn evaluate_model(
        model: &Model,
        values: &ParamValues,
        scratch: &mut Scratch,
        out: &mut [f64],
    ) -> Result<(), ModelError> = evaluate_model_portable, avx2 evaluate_model_avx2;
}

#[inline(always)]
fn evaluate_model_portable(
    model: &Model,
    values: &ParamValues,
    scratch: &mut Scratch,
    out: &mut [f64],
) -> Result<(), ModelError> {
    model.evaluate(values, scratch, out)
}

avx2_dispatch! {
    /// [`Model::evaluate_variant`], in the AVX2 build where the CPU has it.
    #[inline]
    fn evaluate_variant(
        model: &Model,
        values: &ParamValues,
        scratch: &mut Scratch,
        base: &[f64],
        out: &mut [f64],
    ) -> Result<(), ModelError> = evaluate_variant_portable, avx2 evaluate_variant_avx2;
}

#[inline(always)]
fn evaluate_variant_portable(
    model: &Model,
    values: &ParamValues,
    scratch: &mut Scratch,
    base: &[f64],
    out: &mut [f64],
) -> Result<(), ModelError> {
    model.evaluate_variant(values, scratch, base, out)
}

avx2_dispatch! {
    /// `delta[k] -= base[k]` (slices of one length): a scenario's outputs become
    /// its deltas (four values per instruction with AVX2).
    #[inline]
    fn subtract_in_place(delta: &mut [f64], base: &[f64])
        = subtract_in_place_portable, avx2 subtract_in_place_avx2;
}

#[inline(always)]
fn subtract_in_place_portable(delta: &mut [f64], base: &[f64]) {
    for (d, &without) in delta.iter_mut().zip(base) {
        *d -= without;
    }
}
