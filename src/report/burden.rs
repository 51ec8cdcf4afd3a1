//! The burden by province: CO2 that the province's cities' EVs export to other
//! generation (left) against the EV burden landing on the province's generation
//! (right), as a diverging bar chart of means, sorted by their difference.
//!
//! Means add up, so the exported bar (the sum of the cities' `burden_exported_t`
//! means) is the exact mean of the province's total; a sum's interval cannot be
//! formed from the cities' intervals, so only the landed bar carries one (its 95 %
//! interval from `province_intervals.parquet`).

use super::figure::Figure;
use super::forest::WIDTH;
use super::read::Row;
use super::svg::{Anchor, Scale, Svg, axis_label, colour, x_axis};

const ROW: f64 = 16.0;

/// The diverging chart, or `None` without the burden rows.
pub(super) fn burden_by_province(cities: &[Row], provinces: &[Row]) -> Option<Figure> {
    let landed: Vec<&Row> = provinces
        .iter()
        .filter(|r| r.metric == "burden_landed_t")
        .collect();
    let unit = landed.first()?.unit.clone();
    let mut bars: Vec<(String, f64, &Row)> = landed
        .iter()
        .map(|p| {
            let exported: f64 = cities
                .iter()
                .filter(|c| c.metric == "burden_exported_t" && c.province == p.province)
                .map(|c| c.summary.mean)
                .sum();
            (p.province.clone().unwrap_or_default(), exported, *p)
        })
        .collect();
    bars.sort_by(|a, b| (b.2.summary.mean - b.1).total_cmp(&(a.2.summary.mean - a.1)));
    let top = 60.0;
    let bottom = top + ROW * bars.len() as f64 + 6.0;
    let mut svg = Svg::new(WIDTH, bottom + 50.0);
    let max = bars
        .iter()
        .map(|b| b.1.max(b.2.summary.band(0.95).2))
        .fold(1.0, f64::max);
    let xs = Scale::nice(-max, max, 150.0, WIDTH - 30.0);
    svg.bold(
        (12.0, 20.0),
        15.0,
        Anchor::Start,
        "EV burden by province: exported by its cities' EVs vs landing on its generation",
    );
    svg.rect(12.0, 31.0, 10.0, 10.0, colour::BLUE, 1.0);
    svg.text(
        (26.0, 40.0),
        11.0,
        Anchor::Start,
        colour::BLACK,
        "exported by the province's EVs (mean; drawn to the left)",
    );
    svg.rect(380.0, 31.0, 10.0, 10.0, colour::VERMILLION, 1.0);
    svg.text(
        (394.0, 40.0),
        11.0,
        Anchor::Start,
        colour::BLACK,
        "landing on the province's generation (mean, 95 % interval)",
    );
    x_axis(
        &mut svg,
        &xs,
        bottom,
        top,
        &axis_label("CO2 per year; exported shown as negative", &unit),
    );
    let zero = xs.px(0.0);
    for (k, (province, exported, row)) in bars.iter().enumerate() {
        let y = top + 4.0 + ROW * k as f64;
        svg.text(
            (144.0, y + 10.0),
            10.0,
            Anchor::End,
            colour::BLACK,
            province,
        );
        svg.rect(
            zero,
            y + 1.0,
            xs.px(-exported) - zero,
            ROW - 4.0,
            colour::BLUE,
            0.85,
        );
        svg.rect(
            zero,
            y + 1.0,
            xs.px(row.summary.mean) - zero,
            ROW - 4.0,
            colour::VERMILLION,
            0.85,
        );
        let (_, lo, hi) = row.summary.band(0.95);
        svg.line(
            (xs.px(lo), y + ROW / 2.0 - 1.0),
            (xs.px(hi), y + ROW / 2.0 - 1.0),
            colour::BLACK,
            1.0,
            None,
        );
    }
    svg.line((zero, top), (zero, bottom), colour::BLACK, 1.0, None);
    Some(Figure {
        file: "burden_by_province.svg".into(),
        title: "EV burden by province".into(),
        caption: "Left (blue): mean CO2 that the EVs of the province's cities export to generation elsewhere (sum of the cities' burden_exported_t means). Right (vermillion): mean burden_landed_t, EV burden of cities anywhere landing on the province's generation, with its 95 % interval (black). Sorted by landed minus exported.".into(),
        svg: svg.finish("EV burden by province"),
    })
}
