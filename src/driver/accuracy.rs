//! The check, after a run, that every reported quantile meets the stated accuracy:
//! within 0.01 sd and 0.1 % of the exact empirical quantile of the same draws.

use evcarbon_engine::sampling::DrawSeries;
use evcarbon_engine::stats::{ABSOLUTE_ACCURACY_SD, Accumulator, RELATIVE_ACCURACY};
use evcarbon_model::{CityMetric, ProvinceMetric};

use crate::config::Config;
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

/// The accuracy record of a run's reported quantiles, the headline grids in
/// `grid_steps` steps. With `exact`, the quantiles are order statistics and only
/// the count is filled in.
pub(super) fn quantile_accuracy(
    config: &Config,
    acc: &Accumulator,
    exact: bool,
    grid_steps: u32,
) -> QuantileAccuracy {
    let mut check = Check::new(acc, &config.run.levels, grid_steps);
    let layout = config.model.layout();
    let net = config.model.network();
    let series = DrawSeries::new(&config.model, config.scenarios.len());
    let blocks = std::iter::once((String::new(), 0)).chain(
        (config.scenarios.iter().enumerate()).map(|(s, scenario)| {
            (
                format!("scenario {} delta ", scenario.name),
                series.delta(s),
            )
        }),
    );
    for (prefix, offset) in blocks {
        for (c, city) in net.cities().iter().enumerate() {
            for m in CityMetric::ALL {
                let label = || format!("{prefix}city {} {}", city.id, m.name());
                check.row(offset + layout.city(m, c), label);
            }
        }
        for (p, province) in net.provinces().iter().enumerate() {
            for m in ProvinceMetric::ALL {
                let label = || format!("{prefix}province {} {}", province.id, m.name());
                check.row(offset + layout.province(m, p), label);
            }
        }
        for (k, h) in layout.headlines().iter().enumerate() {
            let label = || format!("{prefix}headline {}", h.name());
            check.row(offset + layout.headline(k), label);
        }
    }
    for (s, scenario) in config.scenarios.iter().enumerate() {
        for (k, h) in layout.headlines().iter().enumerate() {
            let label = || format!("scenario {} headline {}", scenario.name, h.name());
            check.row(series.scenario_headline(s, k), label);
        }
    }
    for (k, h) in layout.headlines().iter().enumerate() {
        let label = || format!("headline {} quantile grid", h.name());
        check.grid(layout.headline(k), label);
    }
    check.finish(exact)
}

/// The running maxima of the check.
struct Check<'a> {
    acc: &'a Accumulator,
    /// The probabilities of a row's median and bounds.
    row_probabilities: Vec<f64>,
    /// The inner points of the headline quantile grid (its ends are the exact
    /// min and max).
    grid_probabilities: Vec<f64>,
    record: QuantileAccuracy,
}

impl<'a> Check<'a> {
    fn new(acc: &'a Accumulator, levels: &[f64], grid_steps: u32) -> Check<'a> {
        let bounds = levels
            .iter()
            .flat_map(|&l| [(1.0 - l) / 2.0, (1.0 + l) / 2.0]);
        let alphas: Vec<f64> = acc.resolutions().iter().map(|r| r.alpha).collect();
        let fold = |f: fn(f64, f64) -> f64, start| alphas.iter().copied().fold(start, f);
        Check {
            acc,
            row_probabilities: std::iter::once(0.5).chain(bounds).collect(),
            grid_probabilities: (1..grid_steps)
                .map(|k| f64::from(k) / f64::from(grid_steps))
                .collect(),
            record: QuantileAccuracy {
                absolute_sd: ABSOLUTE_ACCURACY_SD,
                relative: RELATIVE_ACCURACY,
                finest_alpha: fold(f64::min, f64::INFINITY),
                coarsest_alpha: fold(f64::max, 0.0),
                ..QuantileAccuracy::default()
            },
        }
    }

    /// Checks the median and bounds of the row of series `i`.
    fn row(&mut self, i: usize, label: impl Fn() -> String) {
        let probabilities = std::mem::take(&mut self.row_probabilities);
        self.quantiles(i, &probabilities, label);
        self.row_probabilities = probabilities;
    }

    /// Checks the inner points of the headline quantile grid of series `i`.
    fn grid(&mut self, i: usize, label: impl Fn() -> String) {
        let probabilities = std::mem::take(&mut self.grid_probabilities);
        self.quantiles(i, &probabilities, label);
        self.grid_probabilities = probabilities;
    }

    fn quantiles(&mut self, i: usize, probabilities: &[f64], label: impl Fn() -> String) {
        let sketch = self.acc.sketch(i);
        let counts = sketch.counts();
        let sd = self.acc.moments(i).1;
        for &p in probabilities {
            let (error, value) = (counts.quantile_error(p), counts.quantile(p));
            let in_sd = if error == 0.0 { 0.0 } else { error / sd };
            let relative = if error == 0.0 {
                0.0
            } else {
                error / value.abs()
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
                        .push(format!("{} at p = {p}: error bound {in_sd:.3} sd", label()));
                }
            }
        }
    }

    fn finish(mut self, exact: bool) -> QuantileAccuracy {
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
