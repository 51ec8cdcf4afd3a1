//! The precision stopping rule of `--until` and the per-block convergence records.
//!
//! After each block the run records, for every headline metric, its mean (with the
//! Monte Carlo standard error of the mean), its sd and every central-interval bound
//! with the bound's Monte Carlo standard error ([`quantile_mcse`], the same estimate
//! as `bounds_mcse` in the output tables).
//!
//! **Stopping rule.** A bound `b` of a metric with standard deviation `sd` is precise
//! enough when `mcse(b) ≤ REL × max(|b|, sd)`. The first term is the relative
//! target; the second is the absolute floor for bounds near zero, where a relative
//! target cannot be met: it asks that the bound be known to within `REL` of the
//! metric's spread. The run stops after the first block at which every bound of
//! every headline metric is precise enough (and the minimum draws are reached).

use serde::{Deserialize, Serialize};

use evcarbon_engine::stats::{Accumulator, level_label, quantile_mcse};
use evcarbon_model::OutputLayout;

use crate::output::ConvergenceRow;

/// The state of every headline metric after one block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceBlock {
    /// Block index (0-based).
    pub block: u64,
    /// Draws aggregated after this block.
    pub draws: u64,
    /// One entry per headline metric, in output order.
    pub metrics: Vec<MetricConvergence>,
    /// Whether every bound of every headline metric met the stopping rule.
    pub precision_met: bool,
}

/// One headline metric after one block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricConvergence {
    /// Metric name.
    pub metric: String,
    /// Unit of the metric.
    pub unit: String,
    /// Mean so far.
    pub mean: f64,
    /// Monte Carlo standard error of the mean.
    pub mean_mcse: f64,
    /// Standard deviation so far.
    pub sd: f64,
    /// Every central-interval bound, `lo` then `hi` for each level in order.
    pub bounds: Vec<BoundConvergence>,
}

/// One interval bound after one block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoundConvergence {
    /// Column name of the bound in the interval tables, e.g. `lo95`.
    pub name: String,
    /// Probability level of the quantile, e.g. 0.025.
    pub probability: f64,
    /// The bound (inverted-CDF quantile from the sketch).
    pub value: f64,
    /// Its Monte Carlo standard error.
    pub mcse: f64,
    /// The largest standard error the stopping rule accepts: `REL × max(|value|, sd)`.
    pub tolerance: f64,
}

impl BoundConvergence {
    /// Whether the bound meets the stopping rule.
    pub fn within_tolerance(&self) -> bool {
        self.mcse <= self.tolerance
    }
}

/// The tolerance of the stopping rule for a bound.
pub fn tolerance(rel: f64, bound: f64, sd: f64) -> f64 {
    rel * bound.abs().max(sd)
}

/// Measures every headline metric of `acc` after block `block`.
pub fn measure(
    block: u64,
    acc: &Accumulator,
    layout: &OutputLayout,
    levels: &[f64],
    rel: f64,
) -> ConvergenceBlock {
    let metrics: Vec<MetricConvergence> = layout
        .headlines()
        .iter()
        .enumerate()
        .map(|(k, h)| {
            let i = layout.headline(k);
            let (mean, sd, mean_mcse) = acc.moments(i);
            let sketch = acc.sketch(i);
            let bounds = levels
                .iter()
                .flat_map(|&l| {
                    let label = level_label(l);
                    [
                        (format!("lo{label}"), (1.0 - l) / 2.0),
                        (format!("hi{label}"), (1.0 + l) / 2.0),
                    ]
                })
                .map(|(name, p)| {
                    let value = sketch.quantile(p);
                    BoundConvergence {
                        name,
                        probability: p,
                        value,
                        mcse: quantile_mcse(sketch, p),
                        tolerance: tolerance(rel, value, sd),
                    }
                })
                .collect();
            MetricConvergence {
                metric: h.name().to_string(),
                unit: h.unit().to_string(),
                mean,
                mean_mcse,
                sd,
                bounds,
            }
        })
        .collect();
    let precision_met = metrics
        .iter()
        .all(|m| m.bounds.iter().all(BoundConvergence::within_tolerance));
    ConvergenceBlock {
        block,
        draws: acc.draws(),
        metrics,
        precision_met,
    }
}

impl ConvergenceBlock {
    /// The block in the long form of `convergence.parquet`: per metric, a row for
    /// its mean, one for its sd and one per interval bound.
    pub fn rows(&self) -> Vec<ConvergenceRow> {
        let mut rows = Vec::new();
        for m in &self.metrics {
            let row = |statistic: &str, value, mcse, tolerance| ConvergenceRow {
                block: self.block,
                draws: self.draws,
                metric: m.metric.clone(),
                unit: m.unit.clone(),
                statistic: statistic.to_string(),
                value,
                mcse,
                tolerance,
                precision_met: self.precision_met,
            };
            rows.push(row("mean", m.mean, Some(m.mean_mcse), None));
            rows.push(row("sd", m.sd, None, None));
            for bound in &m.bounds {
                rows.push(row(
                    &bound.name,
                    bound.value,
                    Some(bound.mcse),
                    Some(bound.tolerance),
                ));
            }
        }
        rows
    }

    /// The largest ratio `mcse / tolerance` over all bounds (≤ 1 when the rule holds).
    pub fn worst_ratio(&self) -> f64 {
        self.metrics
            .iter()
            .flat_map(|m| &m.bounds)
            .map(|b| {
                if b.mcse == 0.0 {
                    0.0
                } else {
                    b.mcse / b.tolerance
                }
            })
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_uses_the_sd_floor_near_zero() {
        assert_eq!(tolerance(0.01, 200.0, 5.0), 2.0);
        assert_eq!(tolerance(0.01, -0.001, 5.0), 0.05);
        assert_eq!(tolerance(0.01, 0.0, 0.0), 0.0);
        let b = BoundConvergence {
            name: "lo90".into(),
            probability: 0.05,
            value: 0.0,
            mcse: 0.0,
            tolerance: 0.0,
        };
        assert!(b.within_tolerance(), "a point mass is precise");
    }
}
