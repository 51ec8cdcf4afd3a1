//! Per-series summary: moments, median, central intervals and their
//! Monte Carlo error.

use serde::{Deserialize, Serialize};

use super::sketch::{QuantileSketch, SketchCounts};

/// A central interval: the `(1 − level)/2` and `(1 + level)/2` quantiles.
///
/// `level` is a probability in (0, 1); `lo ≤ hi` in the series' units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Coverage probability, e.g. 0.95.
    pub level: f64,
    /// Lower bound (series units).
    pub lo: f64,
    /// Upper bound (series units).
    pub hi: f64,
}

/// Summary statistics of one output series over all draws.
///
/// All values are in the series' units except `draws`. `bounds_mcse` is the
/// largest Monte Carlo standard error among the interval bounds (see
/// [`quantile_mcse`]); it is 0 when there are no intervals and NaN when the
/// sketch is empty. `sketch_error` bounds how far the median and bounds can lie
/// from the exact order statistics of the same draws (0 when they are exact).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of draws summarized.
    pub draws: u64,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 denominator).
    pub sd: f64,
    /// Monte Carlo standard error of the mean, `sd/√n`.
    pub mcse: f64,
    /// Inverted-CDF median from the sketch.
    pub median: f64,
    /// One central interval per requested level, in the order given.
    pub intervals: Vec<Interval>,
    /// Largest Monte Carlo standard error among all `lo` and `hi` bounds.
    pub bounds_mcse: f64,
    /// Largest distance of the median or any bound from the exact empirical
    /// quantile of the same draws that the sketch's resolution allows (see
    /// [`SketchCounts::quantile_error`]); 0 for exact quantiles.
    pub sketch_error: f64,
}

impl Summary {
    /// Builds a summary from moments (e.g. from
    /// `RunMoments`) and the series' sketch.
    ///
    /// For each level `L`: `lo = Q((1 − L)/2)`, `hi = Q((1 + L)/2)`, with `Q`
    /// the sketch's inverted-CDF quantile. `bounds_mcse` is the maximum of
    /// [`quantile_mcse`] over all bounds; the median is not a bound.
    #[must_use]
    pub fn from_parts(
        draws: u64,
        mean: f64,
        sd: f64,
        mcse: f64,
        sketch: &QuantileSketch,
        levels: &[f64],
    ) -> Summary {
        let counts = sketch.counts();
        let intervals: Vec<Interval> = levels
            .iter()
            .map(|&level| Interval {
                level,
                lo: counts.quantile((1.0 - level) / 2.0),
                hi: counts.quantile((1.0 + level) / 2.0),
            })
            .collect();
        let bounds_mcse = levels
            .iter()
            .flat_map(|&l| [(1.0 - l) / 2.0, (1.0 + l) / 2.0])
            .map(|p| quantile_mcse_of(&counts, sketch.count(), p))
            .fold(0.0, nan_max);
        let sketch_error = levels
            .iter()
            .flat_map(|&l| [(1.0 - l) / 2.0, (1.0 + l) / 2.0])
            .chain([0.5])
            .map(|p| counts.quantile_error(p))
            .fold(0.0, nan_max);
        Summary {
            draws,
            mean,
            sd,
            mcse,
            median: counts.quantile(0.5),
            intervals,
            bounds_mcse,
            sketch_error,
        }
    }
}

/// `max` that propagates NaN (an undefined error must not be hidden).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Monte Carlo standard error of the sample `p`-quantile, for iid draws.
///
/// Order-statistic (binomial) method: the rank of the true `p`-quantile
/// among `n` iid draws is Binomial(n, p), with standard deviation
/// `√(n p (1 − p))` ranks, i.e. `s = √(p(1 − p)/n)` in probability. The
/// standard error is estimated as half the width of the ±1-sd rank
/// interval, `(Q(p + s) − Q(p − s)) / 2`, with `p ± s` clamped to [0, 1].
/// `Q` is [`QuantileSketch::quantile_interpolated`]: the representatives
/// used for reported quantiles are spaced one bucket (≈ 2α relative) apart,
/// which would quantize the difference to multiples of about `α·|Q(p)|`
/// (±20 % of the estimate for a 95 % bound of N(0, 1) at n = 100,000).
/// This is the distribution-free interval behind the quantile MCSE of
/// Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization,
/// folding, and localization: An improved R-hat for assessing convergence
/// of MCMC", Bayesian Analysis 16(2), §4 (there with an effective sample
/// size; here draws are independent, so n is the draw count); see also
/// Maritz & Jarrett (1978), JASA 73(361).
///
/// Resolution: estimates much smaller than the bucket width `2α·|Q(p)|` rest
/// on the assumption that values are spread evenly inside a bucket, so
/// treat them as "below sketch resolution". Asymptotically the estimate tends to
/// `√(p(1 − p)/n) / f(Q(p))` for a density `f`. Returns NaN for an empty
/// sketch or NaN `p`.
#[must_use]
pub fn quantile_mcse(sketch: &QuantileSketch, p: f64) -> f64 {
    quantile_mcse_of(&sketch.counts(), sketch.count(), p)
}

/// [`quantile_mcse`] on counts already unpacked (`n` values).
fn quantile_mcse_of(counts: &SketchCounts<'_>, n: u64, p: f64) -> f64 {
    if n == 0 || p.is_nan() {
        return f64::NAN;
    }
    let p = p.clamp(0.0, 1.0);
    let s = (p * (1.0 - p) / n as f64).sqrt();
    let upper = counts.quantile_interpolated((p + s).min(1.0));
    let lower = counts.quantile_interpolated((p - s).max(0.0));
    (upper - lower) / 2.0
}

/// Column-name label of an interval level: 0.9 → `"90"`, 0.995 → `"99_5"`.
///
/// The level is multiplied by 100 and rounded to 10 significant digits, so
/// float noise (`0.95 * 100 = 95.00000000000001`) disappears; trailing zeros
/// are dropped and the decimal point becomes `_`.
pub fn level_label(level: f64) -> String {
    let percent = level * 100.0;
    // `{:.9e}` keeps 10 significant digits; parsing it back and printing with
    // `Display` gives the shortest decimal form without trailing zeros.
    let rounded: f64 = format!("{percent:.9e}").parse().unwrap_or(percent);
    format!("{rounded}").replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};

    fn uniform(rng: &mut ChaCha8Rng) -> f64 {
        ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    fn normal_sketch(n: usize, seed: u64) -> QuantileSketch {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut sk = QuantileSketch::new();
        for _ in 0..n {
            let (u1, u2) = (uniform(&mut rng), uniform(&mut rng));
            sk.insert((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos());
        }
        sk
    }

    /// Asymptotic sd of the sample p-quantile of N(0, 1) at z_p = ±1.96.
    fn asymptotic_95(n: usize) -> f64 {
        let (p, z) = (0.025f64, 1.959_963_984_540_054f64);
        let phi = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        (p * (1.0 - p) / n as f64).sqrt() / phi
    }

    #[test]
    fn intervals_and_median_come_from_the_sketch() {
        let sk = normal_sketch(20_000, 3);
        let s = Summary::from_parts(20_000, 0.01, 1.0, 0.007, &sk, &[0.5, 0.9, 0.95]);
        assert_eq!(s.draws, 20_000);
        assert_eq!(s.median, sk.quantile(0.5));
        assert_eq!(s.intervals.len(), 3);
        for (iv, l) in s.intervals.iter().zip([0.5, 0.9, 0.95]) {
            assert_eq!(iv.level, l);
            assert_eq!(iv.lo, sk.quantile((1.0 - l) / 2.0));
            assert_eq!(iv.hi, sk.quantile((1.0 + l) / 2.0));
            assert!(iv.lo < s.median && s.median < iv.hi);
        }
        let widest = [0.5, 0.9, 0.95]
            .into_iter()
            .flat_map(|l: f64| [(1.0 - l) / 2.0, (1.0 + l) / 2.0])
            .map(|p| quantile_mcse(&sk, p))
            .fold(0.0, f64::max);
        assert_eq!(s.bounds_mcse, widest);
        assert_eq!(
            Summary::from_parts(20_000, 0.0, 1.0, 0.0, &sk, &[]).bounds_mcse,
            0.0
        );
        assert!(
            Summary::from_parts(0, 0.0, 0.0, 0.0, &QuantileSketch::new(), &[0.9])
                .bounds_mcse
                .is_nan()
        );
    }

    #[test]
    fn bounds_mcse_matches_asymptotic_normal() {
        let n = 100_000;
        let sk = normal_sketch(n, 17);
        let s = Summary::from_parts(n as u64, 0.0, 1.0, 0.0, &sk, &[0.95]);
        let expected = asymptotic_95(n);
        for p in [0.025, 0.975] {
            let se = quantile_mcse(&sk, p);
            assert!(
                (se / expected - 1.0).abs() < 0.2,
                "p={p}: {se} vs {expected}"
            );
        }
        assert!(
            (s.bounds_mcse / expected - 1.0).abs() < 0.2,
            "{} vs {expected}",
            s.bounds_mcse
        );
    }

    #[test]
    fn bounds_mcse_shrinks_like_inverse_sqrt_n() {
        let small = Summary::from_parts(10_000, 0.0, 1.0, 0.0, &normal_sketch(10_000, 5), &[0.95]);
        let large =
            Summary::from_parts(100_000, 0.0, 1.0, 0.0, &normal_sketch(100_000, 6), &[0.95]);
        let ratio = small.bounds_mcse / large.bounds_mcse;
        // √10 ≈ 3.16; the estimate itself has ~10 % noise at these sizes.
        assert!((2.4..4.2).contains(&ratio), "ratio {ratio}");
        assert!((small.bounds_mcse / asymptotic_95(10_000) - 1.0).abs() < 0.25);
    }

    #[test]
    fn serde_roundtrip() {
        let s = Summary {
            draws: 3,
            mean: 1.5,
            sd: 0.5,
            mcse: 0.25,
            median: 1.5,
            intervals: vec![Interval {
                level: 0.9,
                lo: 1.0,
                hi: 2.0,
            }],
            bounds_mcse: 0.5,
            sketch_error: 0.001,
        };
        let json = serde_json::to_string(&s).expect("ser");
        assert_eq!(serde_json::from_str::<Summary>(&json).expect("de"), s);
    }

    #[test]
    fn level_labels() {
        assert_eq!(level_label(0.9), "90");
        assert_eq!(level_label(0.95), "95");
        assert_eq!(level_label(0.995), "99_5");
        assert_eq!(level_label(0.999), "99_9");
        assert_eq!(level_label(0.5), "50");
        assert_eq!(level_label(0.8), "80");
        assert_eq!(level_label(0.68), "68");
        assert_eq!(level_label(0.9999), "99_99");
        assert_eq!(level_label(0.1 + 0.2), "30");
        assert_eq!(level_label(0.95 + 1e-14), "95");
        assert_eq!(level_label(0.025), "2_5");
    }

    proptest::proptest! {
        /// Whatever the values (two-signed, repeated, spanning magnitudes), the
        /// intervals are ordered around the median and nested by level.
        #[test]
        fn intervals_are_ordered_and_nested(
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    -1e6f64..1e6,
                    -1.0f64..1.0,
                    proptest::sample::select(vec![0.0, 1.0, -1.0, 42.5]),
                ],
                1..400,
            )
        ) {
            let mut sk = QuantileSketch::new();
            for &v in &values {
                sk.insert(v);
            }
            let levels = [0.5, 0.9, 0.95, 0.99];
            let s = Summary::from_parts(values.len() as u64, 0.0, 1.0, 0.0, &sk, &levels);
            let (min, max) = (sk.min(), sk.max());
            let mut outer = (s.median, s.median);
            for iv in &s.intervals {
                proptest::prop_assert!(min <= iv.lo && iv.lo <= s.median && s.median <= iv.hi && iv.hi <= max,
                    "{iv:?} around median {}", s.median);
                proptest::prop_assert!(iv.lo <= outer.0 && outer.1 <= iv.hi, "nested: {iv:?} in {outer:?}");
                outer = (iv.lo, iv.hi);
            }
        }
    }
}
