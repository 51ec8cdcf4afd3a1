//! The headline panel: each headline metric's distribution, with the reported
//! figure and P(≥ reported).
//!
//! From `headline_quantiles.parquet` (the run's quantiles at every hundredth), each
//! panel is a histogram of 40 equal-width bins between the 1 % and 99 % quantiles,
//! drawn as the share of draws per bin:
//! a bin's mass is read off the distribution function interpolated linearly between
//! the quantile points (exact at every hundredth, to the sketch's accuracy). Without
//! that file (results of an older version) the panel plots the reported quantiles as
//! points of the distribution function, joined by straight lines, rather than
//! inventing a density from five points.

use super::figure::Figure;
use super::forest::WIDTH;
use super::read::{QuantileGrid, Row};
use super::svg::{Anchor, Scale, Svg, axis_label, colour, x_axis, y_axis};

const PANEL_W: f64 = 450.0;
const PANEL_H: f64 = 250.0;

/// The CDF points `(value, probability)` a headline row gives, sorted by value.
pub(super) fn cdf_points(row: &Row) -> Vec<(f64, f64)> {
    let mut pts = vec![(row.summary.median, 0.5)];
    for &(level, lo, hi) in &row.summary.intervals {
        pts.push((lo, (1.0 - level) / 2.0));
        pts.push((hi, (1.0 + level) / 2.0));
    }
    pts.sort_by(|a, b| a.1.total_cmp(&b.1));
    pts
}

/// Bins of a histogram panel.
const BINS: usize = 40;

/// The distribution function at `x`, interpolated linearly between the quantile
/// points `(p, q)` (sorted by p); a run of equal quantiles is a jump.
pub(super) fn cdf_at(points: &[(f64, f64)], x: f64) -> f64 {
    let Some(k) = points.iter().rposition(|&(_, q)| q <= x) else {
        return 0.0;
    };
    match points.get(k + 1) {
        Some(&(p1, q1)) if q1 > points[k].1 => {
            let (p0, q0) = points[k];
            p0 + (p1 - p0) * (x - q0) / (q1 - q0)
        }
        _ => points[k].0,
    }
}

/// The quantile at `p` on the grid (the nearest grid point).
fn grid_quantile(points: &[(f64, f64)], p: f64) -> Option<f64> {
    (points.iter())
        .min_by(|a, b| (a.0 - p).abs().total_cmp(&(b.0 - p).abs()))
        .map(|q| q.1)
}

/// A histogram between the 1 % and 99 % quantiles: `(lo, hi, density)` per bin.
pub(super) fn histogram(points: &[(f64, f64)]) -> Option<Vec<(f64, f64, f64)>> {
    let lo = grid_quantile(points, 0.01)?;
    let hi = grid_quantile(points, 0.99)?;
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let width = (hi - lo) / BINS as f64;
    Some(
        (0..BINS)
            .map(|b| {
                let (a, z) = (lo + b as f64 * width, lo + (b + 1) as f64 * width);
                // The first bin also takes a point mass at its left edge: it starts
                // from the distribution function just below `a`, which is the
                // smallest probability whose quantile reaches `a`.
                let left = if b == 0 {
                    points.iter().find(|p| p.1 >= a).map_or(0.0, |p| p.0)
                } else {
                    cdf_at(points, a)
                };
                (a, z, (cdf_at(points, z) - left) / width)
            })
            .collect(),
    )
}

/// One panel per headline metric, two per line; `quantiles` holds each metric's
/// quantile grid (empty for results without `headline_quantiles.parquet`).
pub(super) fn headline_panel(headlines: &[Row], quantiles: &[QuantileGrid]) -> Option<Figure> {
    if headlines.is_empty() {
        return None;
    }
    let lines = headlines.len().div_ceil(2);
    let mut svg = Svg::new(WIDTH, lines as f64 * PANEL_H + 10.0);
    let mut histograms = 0;
    for (k, row) in headlines.iter().enumerate() {
        let x0 = (k % 2) as f64 * (WIDTH / 2.0);
        let y0 = (k / 2) as f64 * PANEL_H;
        let grid = quantiles.iter().find(|(m, _)| *m == row.metric);
        match grid.and_then(|(_, g)| Some((g, histogram(g)?))) {
            Some((_, bins)) => {
                histogram_panel(&mut svg, row, &bins, x0, y0);
                histograms += 1;
            }
            None => cdf_panel(&mut svg, row, x0, y0),
        }
    }
    let caption = if histograms == headlines.len() {
        "Distribution of each headline metric over the run's draws: the share of draws in each of 40 equal-width bins between its 1 % and 99 % quantiles (the outer 1 % on each side is not drawn), from the quantiles at every hundredth in headline_quantiles.parquet. Metrics that move in steps of one city (the city shares) show those steps. Blue band: the 95 % interval. Dashed: the reported figure, with the exact share of draws at or above it."
    } else {
        "Distribution of each headline metric: a histogram between its 1 % and 99 % quantiles where they differ; otherwise (a metric that hardly varies, or results without headline_quantiles.parquet) its cumulative distribution through the quantiles the run reports, dots joined by straight lines. Blue band: the 95 % interval. Dashed: the reported figure, with the exact share of draws at or above it."
    };
    Some(Figure {
        file: "headlines.svg".into(),
        title: "Headline metrics: distributions and reported figures".into(),
        caption: caption.into(),
        svg: svg.finish("Headline metrics"),
    })
}

/// A panel's plot area and x scale.
struct Frame {
    xs: Scale,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

/// Draws a panel's title and 95 % band, with an x axis over `values` and the
/// reported figure.
fn frame(svg: &mut Svg, row: &Row, mut values: Vec<f64>, x0: f64, y0: f64) -> Frame {
    let (left, right) = (x0 + 70.0, x0 + PANEL_W - 20.0);
    let (top, bottom) = (y0 + 40.0, y0 + PANEL_H - 55.0);
    values.extend(row.reported);
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let xs = Scale::nice(lo, hi, left, right);
    svg.bold((x0 + 12.0, y0 + 20.0), 13.0, Anchor::Start, &row.metric);
    let (_, lo95, hi95) = row.summary.band(0.95);
    svg.rect(
        xs.px(lo95),
        top,
        xs.px(hi95) - xs.px(lo95),
        bottom - top,
        colour::SKY,
        0.25,
    );
    x_axis(svg, &xs, bottom, top, &axis_label(&row.metric, &row.unit));
    Frame {
        xs,
        left,
        right,
        top,
        bottom,
    }
}

fn histogram_panel(svg: &mut Svg, row: &Row, bins: &[(f64, f64, f64)], x0: f64, y0: f64) {
    let f = frame(svg, row, vec![bins[0].0, bins[bins.len() - 1].1], x0, y0);
    // Bins are of equal width: the share of draws per bin reads more easily than a
    // density in the metric's unit (per tCO2/yr, say).
    let percent = |b: &(f64, f64, f64)| 100.0 * b.2 * (b.1 - b.0);
    let peak = bins.iter().map(percent).fold(0.0, f64::max);
    let ys = Scale::nice(0.0, peak, f.bottom, f.top);
    y_axis(svg, &ys, f.left, f.right, "% of draws per bin");
    for bin in bins {
        let (xa, xz, y) = (f.xs.px(bin.0), f.xs.px(bin.1), ys.px(percent(bin)));
        svg.rect(xa, y, (xz - xa).max(0.5), f.bottom - y, colour::BLUE, 0.8);
    }
    reported_mark(svg, row, &f.xs, f.top, f.bottom, None);
}

fn cdf_panel(svg: &mut Svg, row: &Row, x0: f64, y0: f64) {
    let pts = cdf_points(row);
    let f = frame(svg, row, pts.iter().map(|p| p.0).collect(), x0, y0);
    let ys = Scale {
        d0: 0.0,
        d1: 1.0,
        r0: f.bottom,
        r1: f.top,
    };
    y_axis(svg, &ys, f.left, f.right, "cumulative probability");
    let px: Vec<(f64, f64)> = pts.iter().map(|&(v, p)| (f.xs.px(v), ys.px(p))).collect();
    svg.polyline(&px, colour::BLUE, 1.5, None);
    for &(x, y) in &px {
        svg.circle(x, y, 3.0, colour::BLUE);
    }
    reported_mark(svg, row, &f.xs, f.top, f.bottom, Some(&ys));
}

/// The reported figure as a dashed line with P(≥ reported); on a distribution
/// function panel (`cdf` its probability scale) also the point (reported, 1 − P).
fn reported_mark(svg: &mut Svg, row: &Row, xs: &Scale, top: f64, bottom: f64, cdf: Option<&Scale>) {
    let (Some(reported), Some(p)) = (row.reported, row.p_ge_reported) else {
        return;
    };
    let x = xs.px(reported);
    svg.line((x, top), (x, bottom), colour::VERMILLION, 1.5, Some("5 3"));
    if let Some(ys) = cdf {
        svg.circle(x, ys.px(1.0 - p), 3.5, colour::VERMILLION);
    }
    let anchor = if x > (xs.r0 + xs.r1) / 2.0 {
        Anchor::End
    } else {
        Anchor::Start
    };
    let dx = if matches!(anchor, Anchor::End) {
        -4.0
    } else {
        4.0
    };
    svg.text(
        (x + dx, top + 12.0),
        11.0,
        anchor,
        colour::VERMILLION,
        &format!("reported {reported}"),
    );
    svg.text(
        (x + dx, top + 25.0),
        11.0,
        anchor,
        colour::VERMILLION,
        &format!("P(≥ reported) = {}", probability(p)),
    );
}

/// A probability with four decimals, or two significant figures when smaller.
pub(super) fn probability(p: f64) -> String {
    if p > 0.0 && p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::read::Summary;
    use super::*;

    #[test]
    fn the_cdf_goes_through_every_reported_quantile() {
        let row = Row {
            scenario: None,
            kind: None,
            city: None,
            city_en: None,
            province: None,
            tier: None,
            metric: "m".into(),
            unit: "fraction".into(),
            summary: Summary {
                mean: 0.5,
                median: 0.5,
                intervals: vec![(0.9, 0.2, 0.8), (0.95, 0.1, 0.9)],
            },
            reported: Some(0.42),
            p_ge_reported: Some(0.8),
        };
        let pts = cdf_points(&row);
        let expect = [
            (0.1, 0.025),
            (0.2, 0.05),
            (0.5, 0.5),
            (0.8, 0.95),
            (0.9, 0.975),
        ];
        assert_eq!(pts.len(), expect.len());
        for (p, e) in pts.iter().zip(expect) {
            assert!(
                (p.0 - e.0).abs() < 1e-12 && (p.1 - e.1).abs() < 1e-12,
                "{pts:?}"
            );
        }
        let fig = headline_panel(std::slice::from_ref(&row), &[]).unwrap();
        assert!(fig.svg.contains("P(≥ reported) = 0.8000"));
        assert_eq!(probability(2e-5), "2.0e-5");
        // With a quantile grid the panel is a histogram.
        let grid: Vec<(f64, f64)> = (0..=100)
            .map(|k| (k as f64 / 100.0, k as f64 / 100.0))
            .collect();
        let fig = headline_panel(&[row], &[("m".into(), grid)]).unwrap();
        assert_eq!(
            fig.svg.matches("<rect").count(),
            1 + 1 + BINS,
            "background, band, bars"
        );
        assert!(
            fig.caption
                .starts_with("Distribution of each headline metric over")
        );
    }

    #[test]
    fn histograms_from_quantile_grids() {
        // The uniform distribution on [0, 1]: density 1 in every bin.
        let uniform: Vec<(f64, f64)> = (0..=100)
            .map(|k| (k as f64 / 100.0, k as f64 / 100.0))
            .collect();
        assert!((cdf_at(&uniform, 0.255) - 0.255).abs() < 1e-12);
        assert_eq!(cdf_at(&uniform, -1.0), 0.0);
        let bins = histogram(&uniform).unwrap();
        assert_eq!(bins.len(), BINS);
        assert!((bins[0].0 - 0.01).abs() < 1e-12 && (bins[BINS - 1].1 - 0.99).abs() < 1e-12);
        for b in &bins {
            assert!((b.2 - 1.0).abs() < 1e-9, "{bins:?}");
        }
        // Half the mass at 0, the rest uniform on [0, 1]: the first bin holds the
        // point mass, the others density 0.5; the bins' masses add up to 0.99.
        let mixed: Vec<(f64, f64)> = (0..=100)
            .map(|k| {
                let p = k as f64 / 100.0;
                (p, if p <= 0.5 { 0.0 } else { 2.0 * p - 1.0 })
            })
            .collect();
        let bins = histogram(&mixed).unwrap();
        let mass: Vec<f64> = bins.iter().map(|b| b.2 * (b.1 - b.0)).collect();
        assert!((mass.iter().sum::<f64>() - 0.99).abs() < 1e-9, "{mass:?}");
        assert!(mass[0] > 0.5, "{mass:?}");
        assert!((bins[5].2 - 0.5).abs() < 1e-9, "{bins:?}");
        // No spread between the 1 % and 99 % quantiles: no histogram.
        assert!(histogram(&[(0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]).is_none());
    }
}
