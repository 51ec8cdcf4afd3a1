//! The quantile sketch's resolution, chosen per series from a pilot of draws.
//!
//! A sketch of relative accuracy α reports each quantile within `α·|x|` of the
//! exact order statistic `x`. That is loose for a narrow series: with a
//! coefficient of variation of 1 %, α = 0.0009 allows an error of 0.09 sd, more
//! than the Monte Carlo error of a median at 10⁴ draws. The guarantee the run
//! states is therefore two-sided: every reported quantile within
//! [`ABSOLUTE_ACCURACY_SD`] standard deviations *and* [`RELATIVE_ACCURACY`]
//! relative of the exact one. The relative half holds for any α ≤
//! [`DEFAULT_RELATIVE_ACCURACY`]; the absolute half needs `α·|x| ≤ 0.01 sd` over
//! the values a quantile can take, so each series gets its own α from the
//! location and spread of the run's first draws (the *pilot*, a run constant like
//! the moment shifts).
//!
//! α is taken from a ladder, `DEFAULT_RELATIVE_ACCURACY · 2^−j`, `j ≤`
//! [`MAX_HALVINGS`], the coarsest step with `α·max|x| ≤ 0.0075 sd` in the pilot.
//! Reported quantiles (up to the 99th percentile) lie well inside the largest of
//! 256 draws, and the margin lets the run's sd be a quarter below the pilot's. Near
//! zero the relative accuracy is already fine enough (`0.0009·|x| ≤ 0.01 sd` for
//! `|x| ≤ 11 sd`), so only series far from zero against their spread get a finer
//! α: their range is narrow too, so they take about 1,000–2,000 buckets whatever
//! their coefficient of variation. Whether the bound held is not assumed: every
//! summary carries its error bound
//! ([`Summary::sketch_error`](super::Summary::sketch_error)) and the run checks it
//! against the final sd.

use super::sketch::{DEFAULT_MAX_BUCKETS, DEFAULT_RELATIVE_ACCURACY, QuantileSketch};

/// The stated absolute accuracy of a reported quantile, in standard deviations
/// of its series.
pub const ABSOLUTE_ACCURACY_SD: f64 = 0.01;

/// The stated relative accuracy of a reported quantile (of its magnitude).
pub const RELATIVE_ACCURACY: f64 = 0.001;

/// The pilot aims at this share of a standard deviation: three quarters of
/// [`ABSOLUTE_ACCURACY_SD`], so a pilot sd up to a third above the run's still
/// meets the bound.
const PILOT_TARGET_SD: f64 = 0.0075;

/// The finest step of the ladder: α = 0.0009 / 2^10 ≈ 8.8e-7, enough for a
/// coefficient of variation of 0.02 % (finer series are left at this α, and
/// their summaries say so through their error bound).
pub const MAX_HALVINGS: u32 = 10;

/// How a series' sketch is set up: its relative accuracy α (a step of the
/// ladder) and whether it counts the values equal to its extremes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resolution {
    /// Relative accuracy α.
    pub alpha: f64,
    /// Whether the draws equal to the exact min and max are counted, so that
    /// the ranks they hold are reported exactly.
    pub counts_extremes: bool,
}

impl Resolution {
    /// [`DEFAULT_RELATIVE_ACCURACY`], counting the extremes.
    pub const DEFAULT: Resolution = Resolution {
        alpha: DEFAULT_RELATIVE_ACCURACY,
        counts_extremes: true,
    };

    /// Whether `alpha` is `DEFAULT_RELATIVE_ACCURACY · 2^−j` for some
    /// `j ≤ MAX_HALVINGS` (halving is exact in binary).
    pub fn is_ladder_step(alpha: f64) -> bool {
        (0..=MAX_HALVINGS).any(|j| {
            alpha.to_bits() == (DEFAULT_RELATIVE_ACCURACY / f64::from(1u32 << j)).to_bits()
        })
    }

    /// An empty sketch with this resolution.
    ///
    /// # Panics
    /// If `alpha` is not a step of the ladder.
    pub fn sketch(&self) -> QuantileSketch {
        assert!(
            Self::is_ladder_step(self.alpha),
            "α {} is not a step of the resolution ladder",
            self.alpha
        );
        let sketch = QuantileSketch::with_params(self.alpha, DEFAULT_MAX_BUCKETS)
            .expect("ladder steps are valid accuracies");
        if self.counts_extremes {
            sketch
        } else {
            sketch.without_extreme_counts()
        }
    }
}

/// Running location, spread, largest magnitude and extremes of one series over
/// the pilot draws (Welford's recurrence, in draw order, so the result is a run
/// constant).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PilotMoments {
    count: u64,
    mean: f64,
    /// Sum of squared deviations from the running mean.
    m2: f64,
    max_abs: f64,
    min: f64,
    max: f64,
    /// Pilot draws equal to `min` and to `max`.
    at_min: u64,
    at_max: u64,
}

impl Default for PilotMoments {
    fn default() -> Self {
        PilotMoments {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            max_abs: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            at_min: 0,
            at_max: 0,
        }
    }
}

impl PilotMoments {
    /// Adds one finite value.
    #[inline]
    pub fn observe(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        self.max_abs = self.max_abs.max(x.abs());
        let x = x + 0.0;
        if x < self.min {
            (self.min, self.at_min) = (x, 1);
        } else if x == self.min {
            self.at_min += 1;
        }
        if x > self.max {
            (self.max, self.at_max) = (x, 1);
        } else if x == self.max {
            self.at_max += 1;
        }
    }

    /// The sketch setup for this series: [`Self::relative_accuracy`], and the
    /// extremes counted where the pilot saw a value other than 0 at its min or
    /// max twice (a point mass there; a continuous series has each once, and a
    /// point mass at 0 is exact anyway, in the sketch's zero count).
    pub fn resolution(&self) -> Resolution {
        let mass_at = |at: u64, x: f64| at >= 2 && x != 0.0;
        Resolution {
            alpha: self.relative_accuracy(),
            counts_extremes: mass_at(self.at_min, self.min) || mass_at(self.at_max, self.max),
        }
    }

    /// The sample standard deviation (0 for fewer than two values).
    pub fn sd(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2 / (self.count - 1) as f64).sqrt()
        }
    }

    /// The relative accuracy for this series' sketch: the coarsest step of the
    /// ladder with `α·max|x| ≤ 0.0075 sd` over the pilot, [`DEFAULT_RELATIVE_ACCURACY`] for a series without spread or
    /// without a finite one.
    pub fn relative_accuracy(&self) -> f64 {
        let sd = self.sd();
        let reach = self.max_abs;
        if !(sd > 0.0 && reach.is_finite()) {
            return DEFAULT_RELATIVE_ACCURACY;
        }
        let wanted = PILOT_TARGET_SD * sd / reach;
        let mut alpha = DEFAULT_RELATIVE_ACCURACY;
        for _ in 0..MAX_HALVINGS {
            if alpha <= wanted {
                break;
            }
            alpha *= 0.5;
        }
        alpha
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pilot(values: impl IntoIterator<Item = f64>) -> PilotMoments {
        let mut p = PilotMoments::default();
        values.into_iter().for_each(|x| p.observe(x));
        p
    }

    #[test]
    fn welford_equals_the_two_pass_moments() {
        let xs: Vec<f64> = (0..256).map(|i| 1e6 + (i as f64 * 0.37).sin()).collect();
        let p = pilot(xs.iter().copied());
        let mean = xs.iter().sum::<f64>() / 256.0;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 255.0).sqrt();
        assert!((p.mean - mean).abs() < 1e-9);
        assert!((p.sd() / sd - 1.0).abs() < 1e-9);
        assert_eq!(p.max_abs, xs.iter().fold(0.0f64, |m, x| m.max(x.abs())));
    }

    /// The chosen α resolves 0.0075 pilot sd at the pilot's largest value, and is the
    /// coarsest step that does.
    #[test]
    fn the_ladder_step_is_the_coarsest_that_resolves_the_spread() {
        for cv in [1.0, 0.1, 0.01, 0.001, 3e-4] {
            let p = pilot((0..256).map(|i| 100.0 * (1.0 + cv * (i as f64 * 0.91).sin())));
            let alpha = p.relative_accuracy();
            let reach = p.max_abs;
            assert!(
                alpha * reach <= PILOT_TARGET_SD * p.sd(),
                "cv {cv}: α {alpha}"
            );
            if alpha < DEFAULT_RELATIVE_ACCURACY {
                assert!(
                    2.0 * alpha * reach > PILOT_TARGET_SD * p.sd(),
                    "cv {cv}: α {alpha}"
                );
            }
        }
    }

    #[test]
    fn wide_constant_and_too_narrow_series() {
        assert_eq!(
            pilot((0..256).map(|i| i as f64)).relative_accuracy(),
            DEFAULT_RELATIVE_ACCURACY
        );
        assert_eq!(
            pilot([5.0; 256]).relative_accuracy(),
            DEFAULT_RELATIVE_ACCURACY
        );
        let finest = DEFAULT_RELATIVE_ACCURACY / f64::from(1u32 << MAX_HALVINGS);
        let narrow = pilot((0..256).map(|i| 1.0 + 1e-9 * i as f64));
        assert_eq!(narrow.relative_accuracy(), finest);
    }
}
