//! Scenario figures: each headline's scenario − baseline delta, and
//! `max_ev_penalty` under the baseline and each scenario (the accounting variants
//! of `configs/china-285-accounting.toml`), with the reported figure marked.

use super::figure::Figure;
use super::forest::{Entry, Forest, Mark, stacked};
use super::headlines::probability;
use super::read::Row;
use super::svg::{axis_label, colour};

fn mark(row: &Row, c: &'static str) -> Mark {
    let (_, lo, hi) = row.summary.band(0.95);
    Mark {
        mid: row.summary.median,
        lo,
        hi,
        colour: c,
    }
}

fn interval_note(row: &Row) -> String {
    let (_, lo, hi) = row.summary.band(0.95);
    format!("{:.3} ({:.3} – {:.3})", row.summary.median, lo, hi)
}

/// One panel per headline metric, one row per scenario: the delta's median and
/// 95 % interval, with the zero line.
pub(super) fn headline_deltas(deltas: &[Row]) -> Option<Figure> {
    let rows: Vec<&Row> = deltas
        .iter()
        .filter(|r| r.kind.as_deref() == Some("headline"))
        .collect();
    let mut metrics: Vec<(&str, &str)> = Vec::new();
    for r in &rows {
        if !metrics.iter().any(|m| m.0 == r.metric) {
            metrics.push((&r.metric, &r.unit));
        }
    }
    let panels: Vec<Forest> = metrics
        .iter()
        .map(|&(metric, unit)| Forest {
            title: format!("Δ {metric}"),
            entries: rows
                .iter()
                .filter(|r| r.metric == metric)
                .map(|r| Entry::Row {
                    label: r.scenario.clone().unwrap_or_default(),
                    marks: vec![mark(r, colour::BLUE)],
                    note: interval_note(r),
                })
                .collect(),
            x_label: axis_label(&format!("scenario − baseline, {metric}"), unit),
            references: vec![(0.0, "no change".into())],
            legend: vec![],
            label_width: 190.0,
        })
        .collect();
    if panels.is_empty() {
        return None;
    }
    Some(Figure {
        file: "scenario_deltas.svg".into(),
        title: "Scenario deltas of the headline metrics".into(),
        caption: "Per headline metric, each scenario's change from the baseline, computed draw by draw on the same draws: median (dot) and 95 % interval (bar).".into(),
        svg: stacked("Scenario deltas of the headline metrics", &panels),
    })
}

/// `max_ev_penalty` of the baseline and of each scenario, with the reported
/// figure and each variant's exact P(≥ reported).
pub(super) fn accounting_variants(baseline: &[Row], scenario_headlines: &[Row]) -> Option<Figure> {
    const METRIC: &str = "max_ev_penalty";
    let base = baseline.iter().find(|r| r.metric == METRIC)?;
    let row = |label: String, r: &Row, c| Entry::Row {
        label,
        marks: vec![mark(r, c)],
        note: r.p_ge_reported.map_or(interval_note(r), |p| {
            format!("P(≥ rep.) = {}", probability(p))
        }),
    };
    let mut entries = vec![row("baseline".into(), base, colour::BLACK)];
    entries.extend(
        scenario_headlines
            .iter()
            .filter(|r| r.metric == METRIC)
            .map(|r| row(r.scenario.clone().unwrap_or_default(), r, colour::BLUE)),
    );
    let references = base
        .reported
        .map(|v| (v, format!("reported {:+.0} %", v * 100.0)))
        .into_iter()
        .collect();
    let forest = Forest {
        title: "max_ev_penalty by accounting variant".into(),
        entries,
        x_label: axis_label(
            "worst city's EV CO2 per km over the gasoline car's, minus 1, max_ev_penalty",
            &base.unit,
        ),
        references,
        legend: vec![
            (colour::BLACK, "baseline".into()),
            (colour::BLUE, "scenario (same draws)".into()),
        ],
        label_width: 190.0,
    };
    Some(Figure {
        file: "accounting_variants.svg".into(),
        title: "max_ev_penalty under each accounting variant".into(),
        caption: "The worst city's EV penalty per km under the baseline and under each scenario's own accounting: median (dot) and 95 % interval (bar). The dashed line is the reported figure; the note gives the exact share of draws at or above it.".into(),
        svg: forest.svg(),
    })
}
