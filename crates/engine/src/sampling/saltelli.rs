//! The A/B/AB_g design of variance-based sensitivity, run in parallel rounds whose
//! result does not depend on the number of threads.
//!
//! Base draw `j` takes `2d` uniforms from the run's design (plain Monte Carlo or
//! scrambled Sobol over `2d` dimensions): the first `d` are row `A_j`, the last `d`
//! row `B_j`. Each row gets the config's rank correlations separately; `AB_g,j` is
//! then `A_j` with group `g`'s variates taken from `B_j`, which keeps a correlated
//! block intact only when it lies inside one group (the caller checks this, see
//! [`VariateGroups::split_blocks`]).
//!
//! Base draws are cut into chunks of a fixed length (a function of the number of
//! base draws only), and chunk `k` goes to batch `k mod batches`. A round runs one
//! chunk per batch in parallel, each added draw by draw into its own batch's sums;
//! rounds follow each other. So every batch receives the same values in the same
//! order whatever the threads, and so does every sum.

use super::design::{Design, DesignError, SamplerKind};
use super::evaluator::{DrawErrorKind, Evaluator};
use super::plan::SamplingPlan;
use crate::stats::{FirstOrderEstimator, IndexSums};
use evcarbon_model::Model;
use rayon::prelude::*;

/// Batches the base draws are dealt into (the jackknife's replicates).
pub const SENSITIVITY_BATCHES: usize = 32;

/// Longest chunk of base draws.
const MAX_CHUNK: u64 = 128;

/// A partition of a plan's variates into named groups.
#[derive(Clone, Debug, PartialEq)]
pub struct VariateGroups {
    names: Vec<String>,
    members: Vec<Vec<u32>>,
}

/// Why groups or a sensitivity run cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SensitivityError {
    /// The design cannot be built.
    #[error(transparent)]
    Design(#[from] DesignError),
    /// Latin hypercubes do not give the independent A and B rows the estimators need.
    #[error(
        "sampler `lhs` cannot be used for Sobol indices (the A/B design needs rows of independent draws); \
         use `--sampler sobol` or `--sampler mc`"
    )]
    Lhs,
    /// A draw failed.
    #[error("base draw {base_draw}, row {row}: {kind}")]
    Draw {
        /// Base draw index (0-based).
        base_draw: u64,
        /// `A`, `B` or `AB(group)`.
        row: String,
        /// What went wrong.
        kind: DrawErrorKind,
    },
    /// The thread pool could not be built.
    #[error("cannot start {threads} worker threads: {reason}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// The pool builder's message.
        reason: String,
    },
}

impl VariateGroups {
    /// Groups from `(name, variates)` pairs. Groups without variates are dropped;
    /// every variate `0..n_variates` must be in exactly one group.
    pub fn new(groups: Vec<(String, Vec<u32>)>, n_variates: usize) -> VariateGroups {
        let mut seen = vec![false; n_variates];
        let (mut names, mut members) = (Vec::new(), Vec::new());
        for (name, vars) in groups.into_iter().filter(|(_, v)| !v.is_empty()) {
            for &v in &vars {
                assert!(!seen[v as usize], "variate {v} in two groups");
                seen[v as usize] = true;
            }
            names.push(name);
            members.push(vars);
        }
        assert!(seen.iter().all(|&s| s), "every variate in a group");
        VariateGroups { names, members }
    }

    /// The group names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The variates of each group.
    pub fn members(&self) -> &[Vec<u32>] {
        &self.members
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True without groups.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Pairs of groups that a block of correlated variates spans (each pair once),
    /// for `blocks` the variates of each correlated block.
    pub fn split_blocks(&self, blocks: &[Vec<u32>]) -> Vec<(usize, usize)> {
        let n = self
            .members
            .iter()
            .flatten()
            .map(|&v| v as usize + 1)
            .max()
            .unwrap_or(0);
        let mut group_of = vec![usize::MAX; n];
        for (g, vars) in self.members.iter().enumerate() {
            for &v in vars {
                group_of[v as usize] = g;
            }
        }
        let mut pairs = Vec::new();
        for block in blocks {
            let first = group_of[block[0] as usize];
            for &v in &block[1..] {
                let g = group_of[v as usize];
                let pair = (first.min(g), first.max(g));
                if g != first && !pairs.contains(&pair) {
                    pairs.push(pair);
                }
            }
        }
        pairs
    }
}

/// The layout of a sensitivity run: base draws, chunks and batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaseDrawPlan {
    /// Base draws N (each costs `groups + 2` evaluations).
    pub base_draws: u64,
}

impl BaseDrawPlan {
    /// Base draws per chunk: N / batches, at most 128, at least 1.
    pub fn chunk_len(&self) -> u64 {
        self.base_draws
            .div_ceil(SENSITIVITY_BATCHES as u64)
            .clamp(1, MAX_CHUNK)
    }

    /// Number of chunks.
    pub fn n_chunks(&self) -> u64 {
        self.base_draws.div_ceil(self.chunk_len())
    }

    /// Number of batches (fewer than [`SENSITIVITY_BATCHES`] only when there are
    /// fewer chunks).
    pub fn batches(&self) -> usize {
        (self.n_chunks() as usize).min(SENSITIVITY_BATCHES)
    }
}

/// Runs the A/B/AB_g design of `dims` variates: `correlate` is applied to each A and
/// B row, `make_eval` gives each task a function that evaluates a row of uniforms
/// into `outputs` values. With `only_batches = Some((lo, hi))` only batches
/// `lo..hi` are computed (a shard: each batch's sums are those of the whole design,
/// and the others stay empty). After every round `after_round` sees the sums so far.
///
/// Generic over the function so that the estimators can be checked on test
/// functions with known indices (Ishigami) by the very code the model runs through.
#[allow(clippy::too_many_arguments)]
pub fn run_design<E, F>(
    sampler: SamplerKind,
    seed: u64,
    dims: usize,
    plan: BaseDrawPlan,
    groups: &VariateGroups,
    estimator: FirstOrderEstimator,
    shift: &[f64],
    threads: usize,
    correlate: &(dyn Fn(&mut [f64]) + Sync),
    make_eval: &(dyn Fn() -> F + Sync),
    only_batches: Option<(usize, usize)>,
    after_round: &mut dyn FnMut(&IndexSums),
) -> Result<IndexSums, SensitivityError>
where
    F: FnMut(&[f64], &mut [f64]) -> Result<(), E>,
    E: Into<DrawErrorKind>,
{
    if sampler == SamplerKind::Lhs {
        return Err(SensitivityError::Lhs);
    }
    let design = Design::new(sampler, seed, 2 * dims)?;
    let outputs = shift.len();
    let mut sums = IndexSums::new(plan.batches(), outputs, groups.len(), estimator);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| SensitivityError::Threads {
            threads,
            reason: e.to_string(),
        })?;
    let batches = plan.batches() as u64;
    let chunk_len = plan.chunk_len();
    for round in 0..plan.n_chunks().div_ceil(batches) {
        let first_chunk = round * batches;
        let results: Vec<Result<(), SensitivityError>> = pool.install(|| {
            sums.batches_mut()
                .par_iter_mut()
                .enumerate()
                .map(|(b, batch)| {
                    let k = first_chunk + b as u64;
                    let skipped = only_batches.is_some_and(|(lo, hi)| b < lo || b >= hi);
                    if k >= plan.n_chunks() || skipped {
                        return Ok(());
                    }
                    let first = k * chunk_len;
                    let len = chunk_len.min(plan.base_draws - first);
                    let mut eval = make_eval();
                    let mut rows = Rows::new(dims, outputs, groups.len());
                    let mut variates = design.chunk(k, first, len);
                    for j in first..first + len {
                        variates.next_draw(&mut rows.uniforms);
                        rows.evaluate(groups, correlate, &mut eval)
                            .map_err(|(row, kind)| SensitivityError::Draw {
                                base_draw: j,
                                row: row.map_or_else(
                                    || "A".to_string(),
                                    |g| match g {
                                        RowKind::B => "B".to_string(),
                                        RowKind::Ab(g) => format!("AB(`{}`)", groups.names()[g]),
                                    },
                                ),
                                kind,
                            })?;
                        batch.add(shift, &rows.fa, &rows.fb, &rows.fab);
                    }
                    Ok(())
                })
                .collect()
        });
        // The lowest chunk's error, whatever the scheduling.
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        after_round(&sums);
    }
    Ok(sums)
}

/// Which row of a base draw failed (A is `None`).
enum RowKind {
    B,
    Ab(usize),
}

/// The rows of one base draw and their outputs.
struct Rows {
    dims: usize,
    /// `A` then `B`.
    uniforms: Vec<f64>,
    ab: Vec<f64>,
    fa: Vec<f64>,
    fb: Vec<f64>,
    fab: Vec<f64>,
}

impl Rows {
    fn new(dims: usize, outputs: usize, groups: usize) -> Rows {
        Rows {
            dims,
            uniforms: vec![0.5; 2 * dims],
            ab: vec![0.5; dims],
            fa: vec![0.0; outputs],
            fb: vec![0.0; outputs],
            fab: vec![0.0; outputs * groups],
        }
    }

    /// Correlates A and B, then evaluates A, B and every AB_g.
    fn evaluate<E: Into<DrawErrorKind>>(
        &mut self,
        groups: &VariateGroups,
        correlate: &(dyn Fn(&mut [f64]) + Sync),
        eval: &mut impl FnMut(&[f64], &mut [f64]) -> Result<(), E>,
    ) -> Result<(), (Option<RowKind>, DrawErrorKind)> {
        let (a, b) = self.uniforms.split_at_mut(self.dims);
        correlate(a);
        correlate(b);
        eval(a, &mut self.fa).map_err(|e| (None, e.into()))?;
        eval(b, &mut self.fb).map_err(|e| (Some(RowKind::B), e.into()))?;
        let outputs = self.fa.len();
        for (g, vars) in groups.members().iter().enumerate() {
            self.ab.copy_from_slice(a);
            for &v in vars {
                self.ab[v as usize] = b[v as usize];
            }
            eval(&self.ab, &mut self.fab[g * outputs..(g + 1) * outputs])
                .map_err(|e| (Some(RowKind::Ab(g)), e.into()))?;
        }
        Ok(())
    }
}

/// A model's Sobol indices: the A/B/AB_g design over `plan`'s variates, every
/// output of the model (cities, provinces, headlines) at once.
pub struct ModelSensitivity<'m> {
    /// The model.
    pub model: &'m Model,
    /// Its sampling plan (correlations included).
    pub plan: &'m SamplingPlan,
    /// The groups of variates.
    pub groups: &'m VariateGroups,
    /// Seed of the design.
    pub seed: u64,
    /// `mc` or `sobol`.
    pub sampler: SamplerKind,
    /// Base draws.
    pub base: BaseDrawPlan,
    /// First-order estimator.
    pub estimator: FirstOrderEstimator,
    /// Worker threads.
    pub threads: usize,
    /// Compute only these batches (a shard; None: all).
    pub batches: Option<(usize, usize)>,
}

impl ModelSensitivity<'_> {
    /// Runs the design; `after_round` sees the sums after every round. The outputs are
    /// shifted by the model at the inputs' medians.
    pub fn run(
        &self,
        after_round: &mut dyn FnMut(&IndexSums),
    ) -> Result<IndexSums, SensitivityError> {
        let mut central = Evaluator::new(self.model, self.plan, &[]);
        let shift = central
            .central()
            .map(<[f64]>::to_vec)
            .unwrap_or_else(|_| vec![0.0; self.model.layout().len()]);
        let plan = self.plan;
        let make_eval = || {
            let mut evaluator = Evaluator::new(self.model, plan, &[]);
            move |u: &[f64], out: &mut [f64]| -> Result<(), DrawErrorKind> {
                out.copy_from_slice(evaluator.evaluate_at(u)?);
                Ok(())
            }
        };
        run_design(
            self.sampler,
            self.seed,
            plan.n_variates(),
            self.base,
            self.groups,
            self.estimator,
            &shift,
            self.threads,
            &|u: &mut [f64]| plan.correlate_uniforms(u),
            &make_eval,
            self.batches,
            after_round,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// The Ishigami function on inputs uniform on (−π, π), a = 7, b = 0.1.
    fn ishigami(u: &[f64], out: &mut [f64]) -> Result<(), DrawErrorKind> {
        let x: Vec<f64> = u.iter().map(|&u| PI * (2.0 * u - 1.0)).collect();
        out[0] = x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin();
        Ok(())
    }

    #[allow(clippy::type_complexity)]
    fn ishigami_indices(
        sampler: SamplerKind,
        estimator: FirstOrderEstimator,
    ) -> Vec<(f64, f64, f64, f64, f64, f64)> {
        let groups = VariateGroups::new(
            (0..3).map(|v| (format!("x{}", v + 1), vec![v])).collect(),
            3,
        );
        let mut rounds = 0;
        let sums = run_design(
            sampler,
            2026,
            3,
            BaseDrawPlan {
                base_draws: 1 << 14,
            },
            &groups,
            estimator,
            &[3.5],
            2,
            &|_: &mut [f64]| {},
            &|| ishigami,
            None,
            &mut |_| rounds += 1,
        )
        .unwrap();
        assert_eq!(
            rounds, 4,
            "16384 base draws: 128 chunks of 128, 32 per round"
        );
        sums.indices()
            .into_iter()
            .map(|i| {
                let i = i.unwrap();
                (
                    i.first.value,
                    i.total.value,
                    i.first.lo95.unwrap(),
                    i.first.hi95.unwrap(),
                    i.total.lo95.unwrap(),
                    i.total.hi95.unwrap(),
                )
            })
            .collect()
    }

    /// Analytic indices: V = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2, V1 = (1 + bπ⁴/5)²/2,
    /// V2 = a²/8, V13 = b²π⁸ (1/18 − 1/50) (Ishigami & Homma 1990).
    fn ishigami_exact() -> [(f64, f64); 3] {
        let (a, b, p4) = (7.0f64, 0.1f64, PI.powi(4));
        let v1 = 0.5 * (1.0 + b * p4 / 5.0).powi(2);
        let v2 = a * a / 8.0;
        let v13 = b * b * p4 * p4 * (1.0 / 18.0 - 1.0 / 50.0);
        let v = v1 + v2 + v13;
        [(v1 / v, (v1 + v13) / v), (v2 / v, v2 / v), (0.0, v13 / v)]
    }

    #[test]
    fn ishigami_indices_with_mc_and_sobol_designs() {
        let exact = ishigami_exact();
        assert!((exact[0].0 - 0.3139).abs() < 1e-3 && (exact[2].1 - 0.2437).abs() < 1e-3);
        for sampler in [SamplerKind::Mc, SamplerKind::Sobol] {
            for estimator in [FirstOrderEstimator::Saltelli, FirstOrderEstimator::Janon] {
                let got = ishigami_indices(sampler, estimator);
                for (i, (&(s1, st, lo1, hi1, lot, hit), &(e1, et))) in
                    got.iter().zip(&exact).enumerate()
                {
                    eprintln!(
                        "{sampler:?} {estimator:?} x{}: S1 {s1:.4} [{lo1:.4}, {hi1:.4}] ST {st:.4} [{lot:.4}, {hit:.4}]",
                        i + 1
                    );
                    // The 95 % intervals are wide enough to hold the exact value (for
                    // Sobol they are conservative: batches of a net are not independent).
                    assert!(
                        lo1 - 0.005 <= e1 && e1 <= hi1 + 0.005,
                        "S1 x{} interval",
                        i + 1
                    );
                    assert!(
                        lot - 0.005 <= et && et <= hit + 0.005,
                        "ST x{} interval",
                        i + 1
                    );
                    assert!(
                        (s1 - e1).abs() < 0.02,
                        "{sampler:?} {estimator:?} S1 x{}: {s1} vs {e1}",
                        i + 1
                    );
                    assert!(
                        (st - et).abs() < 0.02,
                        "{sampler:?} {estimator:?} ST x{}: {st} vs {et}",
                        i + 1
                    );
                }
            }
        }
    }

    /// Same seed, same bits, for 1 and 3 threads.
    #[test]
    fn indices_do_not_depend_on_threads() {
        let groups = VariateGroups::new(vec![("a".into(), vec![0, 2]), ("b".into(), vec![1])], 3);
        let run = |threads| {
            run_design(
                SamplerKind::Mc,
                7,
                3,
                BaseDrawPlan { base_draws: 5_000 },
                &groups,
                FirstOrderEstimator::Janon,
                &[0.0],
                threads,
                &|_: &mut [f64]| {},
                &|| ishigami,
                None,
                &mut |_| {},
            )
            .unwrap()
        };
        assert_eq!(run(1), run(3));
    }

    /// Batches computed in shards and put together are the whole design's sums.
    #[test]
    fn shards_of_batches_reassemble_the_design() {
        let groups = VariateGroups::new(vec![("a".into(), vec![0, 2]), ("b".into(), vec![1])], 3);
        let run = |only| {
            run_design(
                SamplerKind::Sobol,
                7,
                3,
                BaseDrawPlan { base_draws: 9_000 },
                &groups,
                FirstOrderEstimator::Saltelli,
                &[0.0],
                2,
                &|_: &mut [f64]| {},
                &|| ishigami,
                only,
                &mut |_| {},
            )
            .unwrap()
        };
        let whole = run(None);
        let mut parts = run(Some((0, 5)));
        for range in [(5, 20), (20, 32)] {
            parts.take_batches(&run(Some(range)), range).unwrap();
        }
        assert_eq!(parts, whole);
        assert!(run(Some((0, 5))).take_batches(&whole, (30, 40)).is_err());
    }

    #[test]
    fn lhs_is_refused_and_split_blocks_are_found() {
        let groups = VariateGroups::new(vec![("a".into(), vec![0, 2]), ("b".into(), vec![1])], 3);
        let err = run_design(
            SamplerKind::Lhs,
            1,
            3,
            BaseDrawPlan { base_draws: 10 },
            &groups,
            FirstOrderEstimator::Saltelli,
            &[0.0],
            1,
            &|_: &mut [f64]| {},
            &|| ishigami,
            None,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("--sampler sobol"), "{err}");
        assert_eq!(groups.split_blocks(&[vec![0, 2]]), vec![]);
        assert_eq!(groups.split_blocks(&[vec![0, 1], vec![2, 1]]), vec![(0, 1)]);
    }
}
