//! Sensitivity bars: first-order (S1) and total (ST) indices of each input group
//! for each headline metric, with their 95 % intervals, from `sensitivity.parquet`.

use super::figure::Figure;
use super::forest::{Entry, Forest, Mark, stacked};
use super::read::SensitivityRow;
use super::svg::colour;

/// Groups whose S1 and ST are both below this are left out of the panels.
const NEGLIGIBLE_INDEX: f64 = 0.005;

fn negligible(r: &SensitivityRow) -> bool {
    r.s1.0.abs() < NEGLIGIBLE_INDEX && r.st.0 < NEGLIGIBLE_INDEX
}

/// One panel per headline metric, one row per group that matters (S1 above ST).
pub(super) fn sensitivity(rows: &[SensitivityRow]) -> Option<Figure> {
    let mut metrics: Vec<&str> = Vec::new();
    for r in rows {
        if !metrics.contains(&r.metric.as_str()) {
            metrics.push(&r.metric);
        }
    }
    let panels: Vec<Forest> = metrics
        .iter()
        .map(|&metric| {
            let mut group: Vec<&SensitivityRow> = (rows.iter())
                .filter(|r| r.metric == metric && !negligible(r))
                .collect();
            group.sort_by(|a, b| b.st.0.total_cmp(&a.st.0));
            let mark = |(mid, lo, hi): (f64, f64, f64), c| Mark {
                mid,
                lo,
                hi,
                colour: c,
            };
            Forest {
                title: format!("Sensitivity of {metric}"),
                entries: group
                    .iter()
                    .map(|r| Entry::Row {
                        label: r.group.clone(),
                        marks: vec![mark(r.s1, colour::BLUE), mark(r.st, colour::VERMILLION)],
                        note: format!("S1 {:.2}, ST {:.2}", r.s1.0, r.st.0),
                    })
                    .collect(),
                x_label: "Sobol index (share of the metric's variance, dimensionless)".into(),
                references: vec![(0.0, String::new())],
                legend: vec![
                    (colour::BLUE, "S1 first order".into()),
                    (colour::VERMILLION, "ST total".into()),
                ],
                label_width: 190.0,
            }
        })
        .collect();
    if panels.is_empty() {
        return None;
    }
    Some(Figure {
        file: "sensitivity.svg".into(),
        title: "Sensitivity indices of the headline metrics".into(),
        caption: "For each headline metric and input group: the first-order index S1 (blue) and the total index ST (vermillion), each with its 95 % interval, sorted by ST. Groups with both indices below 0.005 are left out (sensitivity.parquet has them all).".into(),
        svg: stacked("Sensitivity indices", &panels),
    })
}
