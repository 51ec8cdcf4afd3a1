//! Variance-based (Sobol) sensitivity indices from the A/B/AB_g design, in streaming
//! sums: memory depends on the number of outputs, groups and batches, never on the
//! number of base draws.
//!
//! For base draw `j` the design evaluates every output at three kinds of points: row
//! `A_j`, row `B_j` (independent of `A_j`) and, for each group `g` of inputs, `AB_g,j`:
//! `A_j` with the inputs of group `g` taken from `B_j`. With `f` an output, the
//! estimators are (N base draws, sums over `j`, `V` the variance of `f` over the 2N
//! rows of A and B):
//!
//! - first order, Saltelli et al. (2010): `S1_g = (1/N) Σ f(B) (f(AB_g) − f(A)) / V`;
//! - first order, Janon et al. (2014), on the pair `y = f(B)`, `y' = f(AB_g)`, which
//!   share the inputs of `g` only: `S1_g = (⟨y y'⟩ − m²) / (⟨(y² + y'²)/2⟩ − m²)`
//!   with `m = ⟨(y + y')/2⟩`;
//! - total order, Jansen (1999): `ST_g = (1/2N) Σ (f(A) − f(AB_g))² / V`.
//!
//! Every value enters the sums less a per-output shift (the output at the inputs'
//! medians), which leaves the estimators' expectations unchanged and keeps the
//! sums of squares from cancelling.
//!
//! The base draws are dealt into a fixed number of batches; each batch keeps its own
//! sums. Intervals come from the delete-one-batch jackknife of each index (a ratio
//! of sums), with Student's t on `batches − 1` degrees of freedom: no output value is
//! ever stored.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The first-order estimator reported as `s1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FirstOrderEstimator {
    /// Saltelli et al. (2010), `f(B)(f(AB_g) − f(A))`.
    Saltelli,
    /// Janon et al. (2014), asymptotically efficient; costs three more sums per
    /// output and group.
    Janon,
}

impl FirstOrderEstimator {
    /// The name used on the command line and in the output files.
    pub fn name(self) -> &'static str {
        match self {
            FirstOrderEstimator::Saltelli => "saltelli2010",
            FirstOrderEstimator::Janon => "janon2014",
        }
    }

    /// Sums kept per output and group: the first-order and total numerators, plus
    /// for Janon `Σ y y'`, `Σ y'` and `Σ y'²`.
    fn group_sums(self) -> usize {
        match self {
            FirstOrderEstimator::Saltelli => 2,
            FirstOrderEstimator::Janon => 5,
        }
    }
}

/// Per output: `Σ a`, `Σ a²`, `Σ b`, `Σ b²` (shifted values of A and B).
const OUTPUT_SUMS: usize = 4;

/// The sums of one batch of base draws.
///
/// Layout: `OUTPUT_SUMS` runs of `outputs` values, then for each group its
/// `group_sums` runs of `outputs` values, so that the loops over outputs read and
/// write contiguous memory.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndexBatch {
    outputs: usize,
    groups: usize,
    estimator: FirstOrderEstimator,
    /// Base draws added.
    base_draws: u64,
    sums: Vec<f64>,
}

impl IndexBatch {
    /// Empty sums for `outputs` outputs and `groups` groups.
    pub fn new(outputs: usize, groups: usize, estimator: FirstOrderEstimator) -> IndexBatch {
        let len = outputs * (OUTPUT_SUMS + groups * estimator.group_sums());
        IndexBatch {
            outputs,
            groups,
            estimator,
            base_draws: 0,
            sums: vec![0.0; len],
        }
    }

    /// Base draws added so far.
    pub fn base_draws(&self) -> u64 {
        self.base_draws
    }

    fn run(&self, k: usize) -> &[f64] {
        &self.sums[k * self.outputs..(k + 1) * self.outputs]
    }

    /// Adds one base draw: the outputs at `A`, at `B`, and at each `AB_g` (group after
    /// group, `groups × outputs` values), each less `shift`. Allocates nothing.
    pub fn add(&mut self, shift: &[f64], fa: &[f64], fb: &[f64], fab: &[f64]) {
        let n = self.outputs;
        assert!(shift.len() == n && fa.len() == n && fb.len() == n);
        assert_eq!(fab.len(), n * self.groups);
        let (base, per_group) = self.sums.split_at_mut(OUTPUT_SUMS * n);
        let (sa, rest) = base.split_at_mut(n);
        let (saa, rest) = rest.split_at_mut(n);
        let (sb, sbb) = rest.split_at_mut(n);
        for o in 0..n {
            let (a, b) = (fa[o] - shift[o], fb[o] - shift[o]);
            sa[o] += a;
            saa[o] += a * a;
            sb[o] += b;
            sbb[o] += b * b;
        }
        let width = self.estimator.group_sums() * n;
        for (sums, fab) in per_group.chunks_exact_mut(width).zip(fab.chunks_exact(n)) {
            let (first, rest) = sums.split_at_mut(n);
            let (total, janon) = rest.split_at_mut(n);
            for o in 0..n {
                let (a, b, x) = (fa[o] - shift[o], fb[o] - shift[o], fab[o] - shift[o]);
                first[o] += b * (x - a);
                total[o] += (a - x) * (a - x);
            }
            if self.estimator == FirstOrderEstimator::Janon {
                let (sbx, rest) = janon.split_at_mut(n);
                let (sx, sxx) = rest.split_at_mut(n);
                for o in 0..n {
                    let (b, x) = (fb[o] - shift[o], fab[o] - shift[o]);
                    sbx[o] += b * x;
                    sx[o] += x;
                    sxx[o] += x * x;
                }
            }
        }
        self.base_draws += 1;
    }

    /// Adds `other`'s sums to these (same outputs, groups and estimator).
    pub fn merge(&mut self, other: &IndexBatch) {
        assert_eq!(self.sums.len(), other.sums.len());
        for (s, o) in self.sums.iter_mut().zip(&other.sums) {
            *s += o;
        }
        self.base_draws += other.base_draws;
    }

    /// Takes `other`'s sums off these (the jackknife's leave-one-out sums).
    fn subtract(&mut self, other: &IndexBatch) {
        for (s, o) in self.sums.iter_mut().zip(&other.sums) {
            *s -= o;
        }
        self.base_draws -= other.base_draws;
    }

    /// The point estimates `(S1, ST)` of output `o` and group `g`; `None` where the
    /// output does not vary (or no draw was added).
    fn estimate(&self, o: usize, g: usize) -> Option<(f64, f64)> {
        let n = self.base_draws as f64;
        if self.base_draws == 0 {
            return None;
        }
        let (sa, saa, sb, sbb) = (
            self.run(0)[o],
            self.run(1)[o],
            self.run(2)[o],
            self.run(3)[o],
        );
        let mean = (sa + sb) / (2.0 * n);
        let second = (saa + sbb) / (2.0 * n);
        let variance = second - mean * mean;
        // A constant output (or one varying only by rounding) has no indices.
        if variance.is_nan() || variance <= 1e-24 * second {
            return None;
        }
        let k = OUTPUT_SUMS + g * self.estimator.group_sums();
        let total = self.run(k + 1)[o] / (2.0 * n) / variance;
        let first = match self.estimator {
            FirstOrderEstimator::Saltelli => self.run(k)[o] / n / variance,
            FirstOrderEstimator::Janon => {
                let (sbx, sx, sxx) = (self.run(k + 2)[o], self.run(k + 3)[o], self.run(k + 4)[o]);
                let m = (sb + sx) / (2.0 * n);
                let denominator = (sbb + sxx) / (2.0 * n) - m * m;
                (sbx / n - m * m) / denominator
            }
        };
        Some((first, total))
    }
}

/// One index with its interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndexEstimate {
    /// Point estimate from all base draws.
    pub value: f64,
    /// Jackknife standard error over the batches (`None` with fewer than 2 batches).
    pub se: Option<f64>,
    /// The 95 % interval `value ± t(0.975, batches − 1) · se`.
    pub lo95: Option<f64>,
    /// Upper end of the 95 % interval.
    pub hi95: Option<f64>,
}

/// First-order and total index of one output and group.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupIndices {
    /// First-order index `S1`.
    pub first: IndexEstimate,
    /// Total index `ST`.
    pub total: IndexEstimate,
}

/// The batches of a sensitivity run: the state that is merged, checkpointed and
/// read out.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndexSums {
    batches: Vec<IndexBatch>,
}

impl IndexSums {
    /// `batches` empty batches.
    pub fn new(
        batches: usize,
        outputs: usize,
        groups: usize,
        estimator: FirstOrderEstimator,
    ) -> IndexSums {
        IndexSums {
            batches: vec![IndexBatch::new(outputs, groups, estimator); batches],
        }
    }

    /// The batches, in order.
    pub fn batches_mut(&mut self) -> &mut [IndexBatch] {
        &mut self.batches
    }

    /// Number of batches.
    pub fn len(&self) -> usize {
        self.batches.len()
    }

    /// True without batches.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Replaces batches `lo..hi` by `other`'s (the batches a shard computed); fails
    /// when the range or the sums' shapes do not match.
    pub fn take_batches(
        &mut self,
        other: &IndexSums,
        (lo, hi): (usize, usize),
    ) -> Result<(), String> {
        if lo > hi || hi > self.batches.len() || other.batches.len() != self.batches.len() {
            return Err(format!(
                "batches {lo}..{hi} do not fit sums of {} and {} batches",
                self.batches.len(),
                other.batches.len()
            ));
        }
        let shape = |b: &IndexBatch| (b.outputs, b.groups, b.estimator, b.sums.len());
        if (self.batches.iter().zip(&other.batches)).any(|(a, b)| shape(a) != shape(b)) {
            return Err("the sums are of different outputs, groups or estimators".into());
        }
        self.batches[lo..hi].clone_from_slice(&other.batches[lo..hi]);
        Ok(())
    }

    /// Base draws added over every batch.
    pub fn base_draws(&self) -> u64 {
        self.batches.iter().map(IndexBatch::base_draws).sum()
    }

    /// The indices of every output and group (output-major: `indices[o * groups + g]`),
    /// `None` where the output does not vary. Batches that hold no draw are left
    /// out of the jackknife.
    pub fn indices(&self) -> Vec<Option<GroupIndices>> {
        let Some(first) = self.batches.first() else {
            return Vec::new();
        };
        let (outputs, groups) = (first.outputs, first.groups);
        let used: Vec<&IndexBatch> = self.batches.iter().filter(|b| b.base_draws > 0).collect();
        let mut all = IndexBatch::new(outputs, groups, first.estimator);
        for b in &used {
            all.merge(b);
        }
        let leave_outs: Vec<IndexBatch> = if used.len() >= 2 {
            used.iter()
                .map(|b| {
                    let mut rest = all.clone();
                    rest.subtract(b);
                    rest
                })
                .collect()
        } else {
            Vec::new()
        };
        let t = (leave_outs.len() >= 2).then(|| {
            StudentsT::new(0.0, 1.0, (leave_outs.len() - 1) as f64)
                .expect("degrees of freedom ≥ 1")
                .inverse_cdf(0.975)
        });
        let mut out = Vec::with_capacity(outputs * groups);
        let mut first_parts = Vec::with_capacity(leave_outs.len());
        let mut total_parts = Vec::with_capacity(leave_outs.len());
        for o in 0..outputs {
            for g in 0..groups {
                out.push(all.estimate(o, g).map(|(s1, st)| {
                    first_parts.clear();
                    total_parts.clear();
                    for rest in &leave_outs {
                        if let Some((a, b)) = rest.estimate(o, g) {
                            first_parts.push(a);
                            total_parts.push(b);
                        }
                    }
                    let complete = first_parts.len() == leave_outs.len();
                    GroupIndices {
                        first: with_interval(s1, complete.then_some(&first_parts[..]), t),
                        total: with_interval(st, complete.then_some(&total_parts[..]), t),
                    }
                }));
            }
        }
        out
    }
}

/// `value` with the jackknife interval of its leave-one-batch-out estimates.
fn with_interval(value: f64, leave_outs: Option<&[f64]>, t: Option<f64>) -> IndexEstimate {
    let se = leave_outs.filter(|p| p.len() >= 2).map(jackknife_se);
    let half = se.zip(t).map(|(se, t)| se * t);
    IndexEstimate {
        value,
        se,
        lo95: half.map(|h| value - h),
        hi95: half.map(|h| value + h),
    }
}

/// The jackknife standard error `√((k−1)/k Σ (θ_(i) − θ̄)²)` of leave-one-out estimates.
pub fn jackknife_se(leave_outs: &[f64]) -> f64 {
    let k = leave_outs.len() as f64;
    let mean = leave_outs.iter().sum::<f64>() / k;
    let ss: f64 = leave_outs.iter().map(|x| (x - mean) * (x - mean)).sum();
    ((k - 1.0) / k * ss).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-computed case: one output, one group, two base draws.
    #[test]
    fn sums_give_the_hand_computed_indices() {
        // f(A) = 1, 3; f(B) = 2, 6; f(AB) = 2, 5; shift 0.
        let mut sums = IndexSums::new(1, 1, 1, FirstOrderEstimator::Saltelli);
        sums.batches_mut()[0].add(&[0.0], &[1.0], &[2.0], &[2.0]);
        sums.batches_mut()[0].add(&[0.0], &[3.0], &[6.0], &[5.0]);
        // mean = 12/4 = 3; second = (1+9+4+36)/4 = 12.5; V = 3.5.
        // S1 = (2·1 + 6·2)/2 / 3.5 = 2; ST = (1 + 4)/4 / 3.5 = 5/14.
        let got = sums.indices()[0].unwrap();
        assert!((got.first.value - 2.0).abs() < 1e-14);
        assert!((got.total.value - 5.0 / 14.0).abs() < 1e-14);
        assert_eq!(got.first.se, None, "one batch has no interval");
    }

    /// The shift leaves ST and Janon's S1 unchanged (up to rounding; Saltelli's S1
    /// only in expectation, by `c Σ (f(AB) − f(A))`), and constant outputs have none.
    #[test]
    fn the_shift_changes_nothing_and_constants_have_no_index() {
        let rows = [(1.0, 2.0, 2.5), (3.0, 6.0, 5.0), (-1.0, 0.5, 0.0)];
        for estimator in [FirstOrderEstimator::Saltelli, FirstOrderEstimator::Janon] {
            let run = |shift: f64| {
                let mut s = IndexSums::new(1, 2, 1, estimator);
                for &(a, b, x) in &rows {
                    s.batches_mut()[0].add(&[shift, shift], &[a, 7.0], &[b, 7.0], &[x, 7.0]);
                }
                s.indices()
            };
            let (plain, shifted) = (run(0.0), run(4.0));
            let (p, q) = (plain[0].unwrap(), shifted[0].unwrap());
            if estimator == FirstOrderEstimator::Janon {
                assert!((p.first.value - q.first.value).abs() < 1e-12);
            }
            assert!((p.total.value - q.total.value).abs() < 1e-12);
            assert_eq!(plain[1], None);
        }
    }

    /// The jackknife of a mean is the usual standard error of the mean.
    #[test]
    fn jackknife_of_a_mean_is_the_standard_error() {
        let x = [1.0, 4.0, 2.0, 8.0, 5.0];
        let n = x.len() as f64;
        let total: f64 = x.iter().sum();
        let leave: Vec<f64> = x.iter().map(|v| (total - v) / (n - 1.0)).collect();
        let mean = total / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
        assert!((jackknife_se(&leave) - (var / n).sqrt()).abs() < 1e-12);
    }

    /// Batches merge into the same estimate as one batch holding every draw.
    #[test]
    fn batches_split_the_sums_not_the_estimate() {
        let rows: Vec<(f64, f64, f64)> = (0..40)
            .map(|i| {
                let t = i as f64;
                (
                    (t * 0.37).sin(),
                    (t * 0.91).cos(),
                    (t * 0.37).sin() * 0.5 + (t * 0.91).cos(),
                )
            })
            .collect();
        let mut one = IndexSums::new(1, 1, 1, FirstOrderEstimator::Janon);
        let mut four = IndexSums::new(4, 1, 1, FirstOrderEstimator::Janon);
        for (i, &(a, b, x)) in rows.iter().enumerate() {
            one.batches_mut()[0].add(&[0.0], &[a], &[b], &[x]);
            four.batches_mut()[i % 4].add(&[0.0], &[a], &[b], &[x]);
        }
        let (p, q) = (one.indices()[0].unwrap(), four.indices()[0].unwrap());
        assert!((p.first.value - q.first.value).abs() < 1e-12);
        assert!((p.total.value - q.total.value).abs() < 1e-12);
        let (lo, hi) = (q.first.lo95.unwrap(), q.first.hi95.unwrap());
        assert!(lo < q.first.value && q.first.value < hi);
        assert_eq!(four.base_draws(), 40);
    }
}
