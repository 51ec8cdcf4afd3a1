//! Sensitivity from an ordinary run's own draws ("given data"), in streaming sums:
//! first-order indices by the binned correlation ratio, and Monte Carlo filtering
//! (Kolmogorov–Smirnov distance between the draws at or above a reported figure and
//! those below).
//!
//! Each input group is seen through one scalar per draw, its *score*: for a group of
//! one variate the variate itself (a uniform), for a group of `k` variates
//! `Φ(Σ Φ⁻¹(u_v) / √k)`, which is uniform too. Conditioning on the score of a group
//! of several variates is conditioning on less than the group, so its first-order
//! index is a lower bound of the group's.
//!
//! First order (the correlation ratio, bias-corrected as an ANOVA): with the draws cut
//! into `M` equiprobable bins of the score, `SSB` the between-bin and `SSW` the
//! within-bin sum of squares of the output,
//! `S1 = (SSB − (M−1) SSW / (N−M)) / (SSB + SSW)`; under "no effect" the
//! `F = (SSB/(M−1)) / (SSW/(N−M))` statistic gives the p-value reported with it.
//! Unlike the A/B design, this holds for correlated inputs too (the index of a
//! group then includes what it carries of the inputs correlated with it).

use statrs::distribution::{ContinuousCDF, FisherSnedecor};

/// Bins of a score for the first-order estimator.
pub const FIRST_ORDER_BINS: usize = 32;

/// Bins of a score for the Kolmogorov–Smirnov distance: the distance is read at
/// the bins' edges, so it is exact to within the mass of one bin (about 1/1024).
pub const FILTER_BINS: usize = 1024;

/// Streaming sums of the given-data sensitivity of `outputs` outputs to `groups`
/// scores, and of the filtering of some outputs at a threshold each.
#[derive(Clone, Debug, PartialEq)]
pub struct GivenDataSums {
    outputs: usize,
    groups: usize,
    /// Per output: draws, `Σ y`, `Σ y²` (shifted).
    totals: Vec<(u64, f64, f64)>,
    /// Per (output, group, bin): draws, `Σ y`, `Σ y²` (shifted).
    bins: Vec<(u64, f64, f64)>,
    /// Output values are shifted by these before they are summed.
    shift: Vec<f64>,
    /// `(output, threshold)` of each filtered output.
    filters: Vec<(usize, f64)>,
    /// Per (filter, group, set (0: ≥ threshold, 1: below), bin): draws.
    filter_counts: Vec<u64>,
    /// Per (filter, group, set): `Σ Φ⁻¹(score)`.
    filter_scores: Vec<f64>,
}

/// The first-order index of one output and group from given data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GivenFirstOrder {
    /// Bias-corrected correlation ratio.
    pub s1: f64,
    /// p-value of "the output's mean does not depend on the score" (F test).
    pub p_no_effect: f64,
}

/// Monte Carlo filtering of one output at its threshold, for one group.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FilterResult {
    /// Draws at or above the threshold.
    pub draws_ge: u64,
    /// Draws below it.
    pub draws_lt: u64,
    /// Largest distance between the two sets' distribution functions of the score.
    pub ks_distance: f64,
    /// Asymptotic p-value of the distance (Kolmogorov, with Stephens' correction).
    pub p_value: f64,
    /// Mean normal score `Φ⁻¹(score)` of the draws at or above the threshold.
    pub mean_score_ge: f64,
    /// Mean normal score of the draws below.
    pub mean_score_lt: f64,
}

impl GivenDataSums {
    /// Empty sums. `shift` holds one value per output (e.g. its value at the inputs'
    /// medians); `filters` the outputs filtered and their thresholds.
    pub fn new(groups: usize, shift: Vec<f64>, filters: Vec<(usize, f64)>) -> GivenDataSums {
        let outputs = shift.len();
        GivenDataSums {
            outputs,
            groups,
            totals: vec![(0, 0.0, 0.0); outputs],
            bins: vec![(0, 0.0, 0.0); outputs * groups * FIRST_ORDER_BINS],
            shift,
            filter_counts: vec![0; filters.len() * groups * 2 * FILTER_BINS],
            filter_scores: vec![0.0; filters.len() * groups * 2],
            filters,
        }
    }

    /// Adds one draw: its `outputs` values, and each group's score (in (0, 1)) with
    /// its normal score `Φ⁻¹(score)`.
    pub fn add(&mut self, values: &[f64], scores: &[f64], normal_scores: &[f64]) {
        assert_eq!(values.len(), self.outputs);
        assert!(scores.len() == self.groups && normal_scores.len() == self.groups);
        let bin_of = |s: f64, bins: usize| ((s * bins as f64) as usize).min(bins - 1);
        for (o, (&v, total)) in values.iter().zip(&mut self.totals).enumerate() {
            let y = v - self.shift[o];
            *total = (total.0 + 1, total.1 + y, total.2 + y * y);
            let row = &mut self.bins[o * self.groups * FIRST_ORDER_BINS..];
            for (g, &s) in scores.iter().enumerate() {
                let cell = &mut row[g * FIRST_ORDER_BINS + bin_of(s, FIRST_ORDER_BINS)];
                *cell = (cell.0 + 1, cell.1 + y, cell.2 + y * y);
            }
        }
        for (f, &(o, threshold)) in self.filters.iter().enumerate() {
            let set = usize::from(values[o] < threshold);
            for (g, (&s, &z)) in scores.iter().zip(normal_scores).enumerate() {
                let at = (f * self.groups + g) * 2 + set;
                self.filter_counts[at * FILTER_BINS + bin_of(s, FILTER_BINS)] += 1;
                self.filter_scores[at] += z;
            }
        }
    }

    /// Adds `other`'s sums (same outputs, groups and filters).
    pub fn merge(&mut self, other: &GivenDataSums) {
        let add3 = |a: &mut (u64, f64, f64), b: &(u64, f64, f64)| {
            *a = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
        };
        self.totals
            .iter_mut()
            .zip(&other.totals)
            .for_each(|(a, b)| add3(a, b));
        self.bins
            .iter_mut()
            .zip(&other.bins)
            .for_each(|(a, b)| add3(a, b));
        for (a, b) in self.filter_counts.iter_mut().zip(&other.filter_counts) {
            *a += b;
        }
        for (a, b) in self.filter_scores.iter_mut().zip(&other.filter_scores) {
            *a += b;
        }
    }

    /// The first-order index of output `o` and group `g`; `None` where the output
    /// does not vary or the draws are too few for the bins.
    pub fn first_order(&self, o: usize, g: usize) -> Option<GivenFirstOrder> {
        let (n, sum, sum_sq) = self.totals[o];
        let cells = &self.bins[(o * self.groups + g) * FIRST_ORDER_BINS..][..FIRST_ORDER_BINS];
        let filled: Vec<&(u64, f64, f64)> = cells.iter().filter(|c| c.0 > 0).collect();
        let m = filled.len();
        if m < 2 || (n as usize) <= m {
            return None;
        }
        let nf = n as f64;
        let total_ss = sum_sq - sum * sum / nf;
        if total_ss.is_nan() || total_ss <= 1e-24 * sum_sq.max(f64::MIN_POSITIVE) {
            return None;
        }
        let between: f64 =
            filled.iter().map(|c| c.1 * c.1 / c.0 as f64).sum::<f64>() - sum * sum / nf;
        let between = between.clamp(0.0, total_ss);
        let within = total_ss - between;
        let (df1, df2) = ((m - 1) as f64, (n as usize - m) as f64);
        let s1 = (between - df1 * within / df2) / total_ss;
        let p_no_effect = if within > 0.0 {
            let f = (between / df1) / (within / df2);
            FisherSnedecor::new(df1, df2).map_or(f64::NAN, |d| d.sf(f))
        } else {
            0.0
        };
        Some(GivenFirstOrder { s1, p_no_effect })
    }

    /// The filtering of filter `f` (in the order given to [`Self::new`]) for group `g`.
    pub fn filter(&self, f: usize, g: usize) -> FilterResult {
        let at = (f * self.groups + g) * 2;
        let counts = |set: usize| &self.filter_counts[(at + set) * FILTER_BINS..][..FILTER_BINS];
        let (ge, lt) = (counts(0), counts(1));
        let (n_ge, n_lt) = (ge.iter().sum::<u64>(), lt.iter().sum::<u64>());
        let (mut c_ge, mut c_lt, mut distance) = (0u64, 0u64, 0.0f64);
        if n_ge > 0 && n_lt > 0 {
            for (a, b) in ge.iter().zip(lt) {
                c_ge += a;
                c_lt += b;
                distance =
                    distance.max((c_ge as f64 / n_ge as f64 - c_lt as f64 / n_lt as f64).abs());
            }
        }
        let mean = |set: usize, n: u64| {
            if n > 0 {
                self.filter_scores[at + set] / n as f64
            } else {
                f64::NAN
            }
        };
        FilterResult {
            draws_ge: n_ge,
            draws_lt: n_lt,
            ks_distance: distance,
            p_value: ks_p_value(distance, n_ge, n_lt),
            mean_score_ge: mean(0, n_ge),
            mean_score_lt: mean(1, n_lt),
        }
    }

    /// Draws added and the mean of output `o` over them (NaN before any draw).
    pub fn mean(&self, o: usize) -> (u64, f64) {
        let (n, sum, _) = self.totals[o];
        (n, self.shift[o] + sum / n as f64)
    }

    /// Number of filters.
    pub fn filters(&self) -> usize {
        self.filters.len()
    }
}

/// Asymptotic p-value of a two-sample Kolmogorov–Smirnov distance `d` between
/// samples of `n1` and `n2` draws: `Q_KS((√n_e + 0.12 + 0.11/√n_e) d)` with
/// `n_e = n1 n2 / (n1 + n2)` (Stephens 1970), `Q_KS(λ) = 2 Σ (−1)^{k−1} e^{−2k²λ²}`.
/// 1 when either sample is empty.
pub fn ks_p_value(d: f64, n1: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let ne = (n1 as f64 * n2 as f64) / (n1 + n2) as f64;
    let lambda = (ne.sqrt() + 0.12 + 0.11 / ne.sqrt()) * d;
    if lambda < 0.2 {
        return 1.0;
    }
    let mut q = 0.0;
    for k in 1..=100 {
        let k = k as f64;
        let term = 2.0 * (-2.0 * k * k * lambda * lambda).exp();
        q += if k as u64 % 2 == 1 { term } else { -term };
        if term < 1e-16 {
            break;
        }
    }
    q.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simple deterministic uniform sequence for the tests (a Weyl sequence per
    /// coordinate, irrational steps).
    fn weyl(i: u64, step: f64) -> f64 {
        ((i as f64 + 0.5) * step).fract()
    }

    /// Monte Carlo filtering of an output that only the first input moves across the
    /// threshold: that input's distance is large and significant, the others' small
    /// and not.
    #[test]
    fn filtering_names_the_one_input_that_crosses_the_threshold() {
        let steps = [
            0.618_033_988_749_895,
            0.414_213_562_373_095,
            0.732_050_807_568_877,
        ];
        let mut sums = GivenDataSums::new(3, vec![0.0], vec![(0, 1.0)]);
        let normal = statrs::distribution::Normal::standard();
        let n = 20_000u64;
        for i in 0..n {
            let u: Vec<f64> = steps.iter().map(|&s| weyl(i, s)).collect();
            // y ≥ 1 exactly when u0 > 0.8; u1 and u2 add noise that never crosses.
            let y = if u[0] > 0.8 { 1.5 } else { 0.5 } + 0.1 * (u[1] - 0.5) + 0.1 * (u[2] - 0.5);
            let z: Vec<f64> = u.iter().map(|&x| normal.inverse_cdf(x)).collect();
            sums.add(&[y], &u, &z);
        }
        let crossing = sums.filter(0, 0);
        assert!(
            crossing.draws_ge > 3_900 && crossing.draws_ge < 4_100,
            "{crossing:?}"
        );
        // The draws ≥ 1 have u0 in (0.8, 1): their CDF is 0 at 0.8, the others' is 1.
        assert!(crossing.ks_distance > 0.99, "{crossing:?}");
        assert!(crossing.p_value < 1e-10);
        assert!(crossing.mean_score_ge > crossing.mean_score_lt);
        for g in [1, 2] {
            let other = sums.filter(0, g);
            assert!(other.ks_distance < 0.03, "group {g}: {other:?}");
            assert!(other.p_value > 0.01, "group {g}: {other:?}");
        }
    }

    /// The binned correlation ratio of y = u0 + u1 (independent uniforms) is about
    /// 1/2 for each, and about 0 for an input that does not enter.
    #[test]
    fn first_order_of_an_additive_function() {
        let steps = [
            0.618_033_988_749_895,
            0.414_213_562_373_095,
            0.732_050_807_568_877,
        ];
        let mut sums = GivenDataSums::new(3, vec![1.0], vec![]);
        for i in 0..50_000u64 {
            let u: Vec<f64> = steps.iter().map(|&s| weyl(i, s)).collect();
            sums.add(&[u[0] + u[1]], &u, &[0.0; 3]);
        }
        let s = |g| sums.first_order(0, g).unwrap();
        // Binning u0 into 32 bins keeps 1 − 1/32² of its variance.
        assert!((s(0).s1 - 0.5).abs() < 0.01, "{:?}", s(0));
        assert!((s(1).s1 - 0.5).abs() < 0.01, "{:?}", s(1));
        assert!(s(2).s1.abs() < 0.01, "{:?}", s(2));
        assert!(s(0).p_no_effect < 1e-10);
    }

    /// The KS p-value: the known 5 % point λ = 1.358 of the Kolmogorov distribution.
    #[test]
    fn ks_p_value_at_the_five_percent_point() {
        // Large equal samples: n_e = n/2, λ ≈ √n_e d.
        let n = 2_000_000u64;
        let ne = n as f64 / 2.0;
        let d = 1.358 / (ne.sqrt() + 0.12 + 0.11 / ne.sqrt());
        assert!((ks_p_value(d, n, n) - 0.05).abs() < 1e-3);
        assert_eq!(ks_p_value(0.5, 0, 10), 1.0);
    }
}
