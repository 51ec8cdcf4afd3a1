//! The headline panel: each headline metric's distribution, drawn as its
//! cumulative distribution through the quantiles the run reports, with the
//! reported figure and P(≥ reported).
//!
//! A run keeps no histogram, only the median and the `lo`/`hi` bounds of each
//! level (the sketch is not written out). The panel therefore plots those
//! quantiles as points of the CDF, joined by straight lines, and adds the point
//! (reported, 1 − P(≥ reported)) where a figure was reported. Between the points
//! the shape is not known, and the panel says so rather than inventing a density.

use super::figure::Figure;
use super::forest::WIDTH;
use super::read::Row;
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

/// One panel per headline metric, two per line.
pub(super) fn headline_panel(headlines: &[Row]) -> Option<Figure> {
    if headlines.is_empty() {
        return None;
    }
    let lines = headlines.len().div_ceil(2);
    let mut svg = Svg::new(WIDTH, lines as f64 * PANEL_H + 10.0);
    for (k, row) in headlines.iter().enumerate() {
        let x0 = (k % 2) as f64 * (WIDTH / 2.0);
        let y0 = (k / 2) as f64 * PANEL_H;
        panel(&mut svg, row, x0, y0);
    }
    Some(Figure {
        file: "headlines.svg".into(),
        title: "Headline metrics: distributions and reported figures".into(),
        caption: "Cumulative distribution of each headline metric through the quantiles the run reports (dots: the median and each interval's bounds, joined by straight lines; the run keeps no finer histogram, so the shape between dots is not drawn from data). Blue band: the 95 % interval. Dashed: the reported figure, with the exact share of draws at or above it.".into(),
        svg: svg.finish("Headline metrics"),
    })
}

fn panel(svg: &mut Svg, row: &Row, x0: f64, y0: f64) {
    let left = x0 + 70.0;
    let right = x0 + PANEL_W - 20.0;
    let top = y0 + 40.0;
    let bottom = y0 + PANEL_H - 55.0;
    let pts = cdf_points(row);
    let mut values: Vec<f64> = pts.iter().map(|p| p.0).collect();
    values.extend(row.reported);
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let xs = Scale::nice(lo, hi, left, right);
    let ys = Scale {
        d0: 0.0,
        d1: 1.0,
        r0: bottom,
        r1: top,
    };
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
    y_axis(svg, &ys, left, right, "cumulative probability");
    x_axis(svg, &xs, bottom, top, &axis_label(&row.metric, &row.unit));
    let px: Vec<(f64, f64)> = pts.iter().map(|&(v, p)| (xs.px(v), ys.px(p))).collect();
    svg.polyline(&px, colour::BLUE, 1.5, None);
    for &(x, y) in &px {
        svg.circle(x, y, 3.0, colour::BLUE);
    }
    if let (Some(reported), Some(p)) = (row.reported, row.p_ge_reported) {
        let x = xs.px(reported);
        svg.line((x, top), (x, bottom), colour::VERMILLION, 1.5, Some("5 3"));
        svg.circle(x, ys.px(1.0 - p), 3.5, colour::VERMILLION);
        let anchor = if x > (left + right) / 2.0 {
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
        let fig = headline_panel(&[row]).unwrap();
        assert!(fig.svg.contains("P(≥ reported) = 0.8000"));
        assert_eq!(probability(2e-5), "2.0e-5");
    }
}
