//! Given-data sensitivity of an ordinary run: its draws generated again, chunk by
//! chunk exactly as the run generated them, with each input group's score beside the
//! outputs, into [`GivenDataSums`].
//!
//! A second pass costs a second evaluation of every draw, but keeps the run's hot loop
//! free of the scores and bins that only `run --sensitivity` needs. Every chunk fills
//! sums of its own, merged in chunk order, so the result does not depend on the
//! threads.

use rayon::prelude::*;

use super::SamplerKind;
use super::design::Design;
use super::dist::std_normal_cdf;
use super::evaluator::{DrawError, Evaluator};
use super::normal::std_normal_quantile;
use super::parallel::{ChunkPlan, SamplerError, worker_pool};
use super::plan::SamplingPlan;
use super::saltelli::VariateGroups;
use crate::stats::GivenDataSums;
use evcarbon_model::Model;

/// Chunks evaluated in parallel before their sums are merged (in order); bounds the
/// sums alive at once.
const CHUNKS_PER_ROUND: usize = 16;

/// The inputs of a given-data pass over a run's draws.
pub struct GivenDataPass<'m> {
    /// The run's model (its baseline: scenarios do not enter).
    pub model: &'m Model,
    /// The run's sampling plan (correlations included).
    pub plan: &'m SamplingPlan,
    /// The run's seed.
    pub seed: u64,
    /// The run's design.
    pub sampler: SamplerKind,
    /// The run's draws and chunks.
    pub chunks: ChunkPlan,
    /// Input groups whose scores are binned.
    pub groups: &'m VariateGroups,
    /// Layout indices of the outputs analysed (a subset keeps the sums small).
    pub outputs: &'m [usize],
    /// `(position in outputs, threshold)` of each output filtered.
    pub filters: &'m [(usize, f64)],
    /// Worker threads (≥ 1).
    pub threads: usize,
    /// Called after each chunk with the number of draws it held.
    pub progress: Option<&'m (dyn Fn(u64) + Sync)>,
}

/// One worker's buffers: an evaluator and one draw's uniforms, outputs and scores.
struct Worker<'m> {
    eval: Evaluator<'m>,
    uniforms: Vec<f64>,
    values: Vec<f64>,
    scores: Vec<f64>,
    normal_scores: Vec<f64>,
}

impl GivenDataPass<'_> {
    /// Runs the pass. The outputs are shifted by the model at the inputs' medians.
    pub fn run(&self) -> Result<GivenDataSums, SamplerError> {
        let design = Design::new(self.sampler, self.seed, self.plan.n_variates())?;
        let mut central = Evaluator::new(self.model, self.plan, &[]);
        let shift: Vec<f64> = match central.central() {
            Ok(values) => self.outputs.iter().map(|&o| values[o]).collect(),
            Err(_) => vec![0.0; self.outputs.len()],
        };
        let empty = GivenDataSums::new(self.groups.len(), shift, self.filters.to_vec());
        let pool = worker_pool(self.threads)?;
        let mut total = empty.clone();
        let chunk_ids: Vec<u64> = (0..self.chunks.n_chunks()).collect();
        for round in chunk_ids.chunks(CHUNKS_PER_ROUND) {
            let sums: Vec<Result<GivenDataSums, DrawError>> = pool.install(|| {
                round
                    .par_iter()
                    .map_init(
                        || self.worker(),
                        |worker, &k| {
                            let mut sums = empty.clone();
                            self.run_chunk(&design, k, worker, &mut sums)?;
                            Ok(sums)
                        },
                    )
                    .collect()
            });
            // In chunk order, and the lowest chunk's error, whatever the scheduling.
            for chunk_sums in sums {
                total.merge(&chunk_sums?);
            }
        }
        Ok(total)
    }

    fn worker(&self) -> Worker<'_> {
        Worker {
            eval: Evaluator::new(self.model, self.plan, &[]),
            uniforms: vec![0.5; self.plan.variates_end()],
            values: vec![0.0; self.outputs.len()],
            scores: vec![0.0; self.groups.len()],
            normal_scores: vec![0.0; self.groups.len()],
        }
    }

    /// Adds chunk `k`'s draws (as the run drew them) to `sums`.
    fn run_chunk(
        &self,
        design: &Design,
        k: u64,
        w: &mut Worker<'_>,
        sums: &mut GivenDataSums,
    ) -> Result<(), DrawError> {
        let (first, len) = self.chunks.chunk(k);
        let mut variates = design.chunk(k, first, len);
        for draw in first..first + len {
            variates.next_draw(&mut w.uniforms);
            self.plan.correlate_uniforms(&mut w.uniforms);
            let out = (w.eval)
                .evaluate_at(&w.uniforms)
                .map_err(|kind| DrawError { draw, kind })?;
            for (v, &o) in w.values.iter_mut().zip(self.outputs) {
                *v = out[o];
            }
            group_scores(
                self.groups,
                &w.uniforms,
                &mut w.scores,
                &mut w.normal_scores,
            );
            sums.add(&w.values, &w.scores, &w.normal_scores);
        }
        if let Some(progress) = self.progress {
            progress(len);
        }
        Ok(())
    }
}

/// Each group's score of one draw and its normal score: a one-variate group's
/// uniform itself, a `k`-variate group's `Φ(Σ Φ⁻¹(u_v) / √k)` (uniform too, since the
/// variates are independent standard normals once mapped by `Φ⁻¹`).
fn group_scores(
    groups: &VariateGroups,
    uniforms: &[f64],
    scores: &mut [f64],
    normal_scores: &mut [f64],
) {
    for ((members, score), normal) in groups.members().iter().zip(scores).zip(normal_scores) {
        if let [v] = members[..] {
            *score = uniforms[v as usize];
            *normal = std_normal_quantile(*score);
        } else {
            let sum: f64 = (members.iter())
                .map(|&v| std_normal_quantile(uniforms[v as usize]))
                .sum();
            *normal = sum / (members.len() as f64).sqrt();
            *score = std_normal_cdf(*normal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_of_one_and_of_several_variates() {
        let groups = VariateGroups::new(vec![("a".into(), vec![0]), ("bc".into(), vec![1, 2])], 3);
        let (mut s, mut z) = ([0.0; 2], [0.0; 2]);
        group_scores(&groups, &[0.25, 0.5, 0.5], &mut s, &mut z);
        assert_eq!(s[0], 0.25);
        assert!((z[0] + 0.674_489_750_196_081_7).abs() < 1e-12);
        assert!(z[1].abs() < 1e-15 && (s[1] - 0.5).abs() < 1e-15);
        // Φ⁻¹(0.975) twice: Σ/√2 = 1.959964 × √2.
        group_scores(&groups, &[0.5, 0.975, 0.975], &mut s, &mut z);
        let expected = 1.959_963_984_540_054 * std::f64::consts::SQRT_2;
        assert!((z[1] - expected).abs() < 1e-9, "{}", z[1]);
        assert!((s[1] - std_normal_cdf(expected)).abs() < 1e-15);
    }
}
