//! The check, after a run, that every reported quantile meets the stated accuracy:
//! within 0.01 sd and 0.1 % of the exact empirical quantile of the same draws.
//!
//! It reads the rows the output tables are written from: each row's
//! `sketch_error` is the largest error bound among its median and bounds, so
//! `sketch_error / sd` is the row's worst quantile in standard deviations. The
//! headline quantile grid is checked point by point from its sketch.

use evcarbon_engine::stats::{
    ABSOLUTE_ACCURACY_SD, RELATIVE_ACCURACY, SketchCounts, Summary, quantile_error_bound,
};

use crate::output::QuantileAccuracy;

/// Examples of quantiles that miss the bound, kept for the manifest.
const EXAMPLES: usize = 10;

/// The guarantee as the manifest states it.
const GUARANTEE: &str = "every reported quantile (medians, interval bounds, the headline quantile grid) \
     lies within 0.01 sd of its series and within 0.1 % of its magnitude of the exact empirical \
     quantile of the same draws; each series' sketch resolution is chosen from the first 256 draws \
     and the bound of every quantile is checked here against the run's sd";

/// The guarantee of an `--exact` run.
const EXACT: &str = "exact order statistics of every draw (--exact)";

/// The running record of the check.
pub(super) struct AccuracyCheck {
    /// Quantiles per table row: the median and two bounds per level.
    per_row: u64,
    /// The relative bound of a quantile that is not exact: that of the coarsest
    /// sketch (`α/(1 − α)` with rounding), the largest any series has.
    relative_bound: f64,
    record: QuantileAccuracy,
}

impl AccuracyCheck {
    /// A check of rows with `levels` intervals, for sketches of accuracies
    /// `alphas` (one per series).
    pub(super) fn new(levels: usize, alphas: &[f64]) -> AccuracyCheck {
        let fold = |f: fn(f64, f64) -> f64, start| alphas.iter().copied().fold(start, f);
        let coarsest = fold(f64::max, 0.0);
        AccuracyCheck {
            per_row: 1 + 2 * levels as u64,
            relative_bound: quantile_error_bound(coarsest, 1.0),
            record: QuantileAccuracy {
                absolute_sd: ABSOLUTE_ACCURACY_SD,
                relative: RELATIVE_ACCURACY,
                finest_alpha: fold(f64::min, f64::INFINITY),
                coarsest_alpha: coarsest,
                ..QuantileAccuracy::default()
            },
        }
    }

    /// Checks a table row's median and bounds through its `sketch_error` (NaN or
    /// infinite, as after a collapsed sketch, counts as missed).
    pub(super) fn row(&mut self, summary: &Summary, label: impl Fn() -> String) {
        self.record.quantiles_checked += self.per_row - 1;
        self.quantile(summary.sketch_error, summary.sd, None, label);
    }

    /// Checks the inner points of a headline's quantile grid (its ends are the
    /// exact min and max), `steps` steps, from the sketch's `counts`; `sd` is the
    /// headline's.
    pub(super) fn grid(
        &mut self,
        counts: &SketchCounts<'_>,
        steps: u32,
        sd: f64,
        label: impl Fn() -> String,
    ) {
        for k in 1..steps {
            let p = f64::from(k) / f64::from(steps);
            let value = counts.quantile(p);
            let at = || format!("{} at p = {p}", label());
            self.quantile(counts.quantile_error(p), sd, Some(value), at);
        }
    }

    /// One quantile (or a row's worst) with error bound `error`; `value` when the
    /// quantile is known, for its relative error (a row's is the coarsest
    /// sketch's bound).
    fn quantile(&mut self, error: f64, sd: f64, value: Option<f64>, label: impl Fn() -> String) {
        let in_sd = if error == 0.0 { 0.0 } else { error / sd };
        let relative = match value {
            _ if error == 0.0 => 0.0,
            Some(v) => error / v.abs(),
            None => self.relative_bound,
        };
        let r = &mut self.record;
        r.quantiles_checked += 1;
        r.largest_error_sd = nan_max(r.largest_error_sd, in_sd);
        r.largest_error_relative = nan_max(r.largest_error_relative, relative);
        // Written so that NaN and ∞ (no bound) count as missed.
        let met = in_sd <= ABSOLUTE_ACCURACY_SD && relative <= RELATIVE_ACCURACY;
        if !met {
            r.not_met += 1;
            if r.not_met_examples.len() < EXAMPLES {
                r.not_met_examples
                    .push(format!("{}: error bound {in_sd:.3} sd", label()));
            }
        }
    }

    /// The record; with `exact`, the quantiles are order statistics and only the
    /// count is kept.
    pub(super) fn finish(mut self, exact: bool) -> QuantileAccuracy {
        if exact {
            return QuantileAccuracy {
                guarantee: EXACT.to_string(),
                quantiles_checked: self.record.quantiles_checked,
                ..QuantileAccuracy::default()
            };
        }
        self.record.guarantee = GUARANTEE.to_string();
        self.record
    }
}

/// `max` that keeps NaN (an undefined bound must not be hidden).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use evcarbon_engine::stats::{Interval, QuantileSketch};

    fn summary(sd: f64, sketch_error: f64) -> Summary {
        Summary {
            draws: 1000,
            mean: 10.0,
            sd,
            mcse: sd / 31.6,
            median: 10.0,
            intervals: vec![Interval {
                level: 0.9,
                lo: 9.0,
                hi: 11.0,
            }],
            bounds_mcse: 0.01,
            sketch_error,
        }
    }

    /// Rows within the bound pass; one above it, one without a bound (a collapsed
    /// sketch) and one with no spread but an error are counted and named.
    #[test]
    fn counts_and_names_the_quantiles_that_miss() {
        let mut check = AccuracyCheck::new(1, &[0.0009, 0.0009 / 8.0]);
        check.row(&summary(1.0, 0.009), || "a".to_string());
        check.row(&summary(1.0, 0.0), || "exact".to_string());
        check.row(&summary(1.0, 0.02), || "wide".to_string());
        check.row(&summary(1.0, f64::INFINITY), || "collapsed".to_string());
        check.row(&summary(0.0, 1e-6), || "no spread".to_string());
        let r = check.finish(false);
        assert_eq!(r.quantiles_checked, 5 * 3);
        assert_eq!(r.not_met, 3);
        assert_eq!(
            r.not_met_examples,
            [
                "wide: error bound 0.020 sd",
                "collapsed: error bound inf sd",
                "no spread: error bound inf sd"
            ]
        );
        assert_eq!(r.largest_error_sd, f64::INFINITY);
        assert!((r.largest_error_relative - 0.0009 / 0.9991).abs() < 1e-9);
        assert_eq!((r.finest_alpha, r.coarsest_alpha), (0.0009 / 8.0, 0.0009));
        assert!(r.guarantee.contains("0.01 sd"));
    }

    /// The grid is checked point by point from the sketch: a sketch of a narrow
    /// series at the default accuracy misses, one at a fine enough accuracy
    /// meets the bound; an exact run keeps only the count.
    #[test]
    fn checks_the_grid_from_the_sketch() {
        let values: Vec<f64> = (0..10_000)
            .map(|i| 100.0 + (i as f64 * 0.37).sin())
            .collect();
        let sd = (values.iter().map(|x| (x - 100.0).powi(2)).sum::<f64>() / 9_999.0).sqrt();
        let grid = |alpha: f64| {
            let mut sketch = QuantileSketch::with_params(alpha, 1 << 16).unwrap();
            values.iter().for_each(|&x| sketch.insert(x));
            let mut check = AccuracyCheck::new(1, &[alpha]);
            check.grid(&sketch.counts(), 100, sd, || "h".to_string());
            check
        };
        let coarse = grid(0.0009).finish(false);
        assert_eq!(coarse.quantiles_checked, 99);
        assert!(
            coarse.not_met > 0 && coarse.largest_error_sd > 0.01,
            "{coarse:?}"
        );
        assert!(coarse.not_met_examples[0].starts_with("h at p = "));
        let fine = grid(0.0009 / 64.0).finish(false);
        assert_eq!(fine.not_met, 0, "{fine:?}");
        assert!(fine.largest_error_sd <= 0.01 && fine.largest_error_relative <= 0.001);
        let exact = grid(0.0009).finish(true);
        assert_eq!((exact.quantiles_checked, exact.not_met), (99, 0));
        assert_eq!(exact.largest_error_sd, 0.0);
    }
}
