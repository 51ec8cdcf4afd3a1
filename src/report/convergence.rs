//! The convergence panel (runs with `--until`): each headline's mean and widest
//! interval bounds after every block of draws, with ±2 Monte Carlo standard errors,
//! and the block at which every bound first met the precision target.
//!
//! Each statistic is drawn as its distance from its final value, in units of the
//! metric's final standard deviation: the bounds lie several sd from the mean, and on
//! a common axis their settling would be invisible.

use super::figure::Figure;
use super::forest::WIDTH;
use super::svg::{Anchor, Scale, Svg, colour, x_axis, y_axis};
use crate::output::ConvergenceRow;

const PANEL_W: f64 = 450.0;
const PANEL_H: f64 = 250.0;

/// One statistic's path: `(draws, value, mcse)` per block.
type Path = Vec<(f64, f64, Option<f64>)>;

/// The statistics drawn for one metric: the mean and the widest level's bounds.
struct Series {
    metric: String,
    unit: String,
    /// Label of the bounds' level (`95` for `lo95`/`hi95`).
    level: Option<String>,
    mean: Path,
    lo: Path,
    hi: Path,
    /// The final standard deviation (the unit of the panel's axis).
    sd: f64,
}

/// The widest level among `lo<L>` statistics (`97_5` reads as 97.5).
fn widest_level(rows: &[&ConvergenceRow]) -> Option<String> {
    let level = |s: &str| s.replace('_', ".").parse::<f64>().ok();
    let mut labels: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.statistic.strip_prefix("lo"))
        .filter(|l| level(l).is_some())
        .collect();
    labels.sort_by(|a, b| level(a).unwrap_or(0.0).total_cmp(&level(b).unwrap_or(0.0)));
    labels.last().map(|l| l.to_string())
}

fn series(rows: &[ConvergenceRow]) -> Vec<Series> {
    let mut metrics: Vec<&str> = Vec::new();
    for r in rows {
        if !metrics.contains(&r.metric.as_str()) {
            metrics.push(&r.metric);
        }
    }
    metrics
        .into_iter()
        .map(|metric| {
            let own: Vec<&ConvergenceRow> = rows.iter().filter(|r| r.metric == metric).collect();
            let level = widest_level(&own);
            let path = |statistic: &str| -> Path {
                (own.iter())
                    .filter(|r| r.statistic == statistic)
                    .map(|r| (r.draws as f64, r.value, r.mcse))
                    .collect()
            };
            let bound = |side: &str| {
                level
                    .as_ref()
                    .map_or_else(Vec::new, |l| path(&format!("{side}{l}")))
            };
            let sd = path("sd").last().map_or(0.0, |q| q.1);
            Series {
                metric: metric.to_string(),
                unit: own[0].unit.clone(),
                sd,
                mean: path("mean"),
                lo: bound("lo"),
                hi: bound("hi"),
                level,
            }
        })
        .collect()
}

/// One panel per headline, two per line; `None` without rows.
pub(super) fn convergence(rows: &[ConvergenceRow]) -> Option<Figure> {
    let all = series(rows);
    if all.is_empty() {
        return None;
    }
    let met_at = rows
        .iter()
        .filter(|r| r.precision_met)
        .map(|r| r.draws)
        .min();
    let lines = all.len().div_ceil(2);
    let mut svg = Svg::new(WIDTH, lines as f64 * PANEL_H + 10.0);
    for (k, s) in all.iter().enumerate() {
        let x0 = (k % 2) as f64 * (WIDTH / 2.0);
        let y0 = (k / 2) as f64 * PANEL_H;
        panel(&mut svg, s, met_at, x0, y0);
    }
    let level = all.iter().find_map(|s| s.level.clone()).unwrap_or_default();
    Some(Figure {
        file: "convergence.svg".into(),
        title: "Convergence of the headline metrics".into(),
        caption: format!(
            "After each block of draws: how far the mean (black) and the lower (blue) and upper (vermillion) bounds of the {}% interval are from their final values, in units of the metric's final standard deviation, each with ±2 Monte Carlo standard errors (dashed). Green: the block at which every bound first met the precision target (--until).",
            level.replace('_', ".")
        ),
        svg: svg.finish("Convergence"),
    })
}

/// `path` as `(draws, distance from the final value, mcse)`, both in units of `sd`.
fn relative(path: &Path, sd: f64) -> Path {
    let last = path.last().map_or(0.0, |q| q.1);
    path.iter()
        .map(|&(d, v, m)| (d, (v - last) / sd, m.map(|m| m / sd)))
        .collect()
}

fn panel(svg: &mut Svg, s: &Series, met_at: Option<u64>, x0: f64, y0: f64) {
    let left = x0 + 70.0;
    let right = x0 + PANEL_W - 20.0;
    let top = y0 + 40.0;
    let bottom = y0 + PANEL_H - 55.0;
    // A metric that does not vary is drawn in its own unit.
    let (sd, unit) = if s.sd > 0.0 {
        (s.sd, "sd of the metric".to_string())
    } else {
        (1.0, s.unit.clone())
    };
    let paths = [
        (relative(&s.mean, sd), colour::BLACK),
        (relative(&s.lo, sd), colour::BLUE),
        (relative(&s.hi, sd), colour::VERMILLION),
    ];
    let values: Vec<f64> = (paths.iter())
        .flat_map(|(p, _)| p.iter())
        .flat_map(|&(_, v, m)| [v - 2.0 * m.unwrap_or(0.0), v + 2.0 * m.unwrap_or(0.0)])
        .collect();
    let max_draws = (paths.iter())
        .flat_map(|(p, _)| p.iter().map(|q| q.0))
        .fold(1.0, f64::max);
    let lo = values.iter().copied().fold(0.0, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let xs = Scale::nice(0.0, max_draws, left, right);
    let ys = Scale::nice(lo, hi, bottom, top);
    svg.bold((x0 + 12.0, y0 + 20.0), 13.0, Anchor::Start, &s.metric);
    y_axis(svg, &ys, left, right, &format!("from final ({unit})"));
    x_axis(svg, &xs, bottom, top, "draws");
    if let Some(d) = met_at {
        let x = xs.px(d as f64);
        svg.line((x, top), (x, bottom), colour::GREEN, 1.5, Some("2 2"));
    }
    for (path, stroke) in &paths {
        let at = |offset: f64| -> Vec<(f64, f64)> {
            path.iter()
                .map(|&(d, v, m)| (xs.px(d), ys.px(v + offset * m.unwrap_or(0.0))))
                .collect()
        };
        svg.polyline(&at(0.0), stroke, 1.5, None);
        if path.iter().any(|q| q.2.is_some()) {
            svg.polyline(&at(2.0), stroke, 0.8, Some("4 3"));
            svg.polyline(&at(-2.0), stroke, 0.8, Some("4 3"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(draws: u64, statistic: &str, value: f64, met: bool) -> ConvergenceRow {
        ConvergenceRow {
            block: draws / 1000,
            draws,
            metric: "m".into(),
            unit: "fraction".into(),
            statistic: statistic.into(),
            value,
            mcse: (statistic != "sd").then_some(0.01),
            tolerance: None,
            precision_met: met,
        }
    }

    #[test]
    fn the_widest_level_is_drawn_and_the_target_block_marked() {
        let mut rows = Vec::new();
        for (b, draws) in [1000u64, 2000].into_iter().enumerate() {
            let met = b == 1;
            rows.push(row(draws, "mean", 0.5, met));
            rows.push(row(draws, "sd", 0.1, met));
            rows.push(row(draws, "lo90", 0.35, met));
            rows.push(row(draws, "hi90", 0.65, met));
            rows.push(row(draws, "lo97_5", 0.3, met));
            rows.push(row(draws, "hi97_5", 0.7, met));
        }
        let s = series(&rows);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].level.as_deref(), Some("97_5"));
        assert_eq!(
            s[0].lo,
            vec![(1000.0, 0.3, Some(0.01)), (2000.0, 0.3, Some(0.01))]
        );
        let fig = convergence(&rows).unwrap();
        assert!(fig.caption.contains("97.5% interval"));
        assert!(
            fig.svg.contains(colour::GREEN),
            "the block that met the target"
        );
        // Mean and two bounds, each with two ±2 mcse lines.
        assert_eq!(fig.svg.matches("<polyline").count(), 9);
        assert!(convergence(&[]).is_none());
    }
}
