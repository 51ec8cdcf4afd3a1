//! Caterpillar plots of city metrics: `ev_ice_ratio` sorted, with the parity
//! line at 1, and `import_share` sorted within each tier, with the 42 % line.

use super::figure::Figure;
use super::forest::{Entry, Forest, Mark};
use super::read::Row;
use super::svg::{axis_label, colour};

/// The import share the study reported for advanced cities (fraction).
const REPORTED_IMPORT_SHARE: f64 = 0.42;

fn mark(row: &Row, c: &'static str) -> Mark {
    let (_, lo, hi) = row.summary.band(0.95);
    Mark {
        mid: row.summary.median,
        lo,
        hi,
        colour: c,
    }
}

fn note(row: &Row) -> String {
    let (level, lo, hi) = row.summary.band(0.95);
    format!(
        "{:.2} ({:.2}–{:.2}, {:.0} %)",
        row.summary.median,
        lo,
        hi,
        level * 100.0
    )
}

fn sorted<'a>(rows: impl Iterator<Item = &'a Row>) -> Vec<&'a Row> {
    let mut v: Vec<&Row> = rows.collect();
    v.sort_by(|a, b| a.summary.median.total_cmp(&b.summary.median));
    v
}

/// Every city's EV/gasoline CO2 ratio per km, sorted by median, coloured by
/// whether the interval lies below 1, straddles it, or lies above.
pub(super) fn ev_ice_ratio(cities: &[Row]) -> Option<Figure> {
    let rows = sorted(cities.iter().filter(|r| r.metric == "ev_ice_ratio"));
    let unit = rows.first()?.unit.clone();
    let entries = rows
        .iter()
        .map(|r| {
            let (_, lo, hi) = r.summary.band(0.95);
            let c = if hi < 1.0 {
                colour::BLUE
            } else if lo > 1.0 {
                colour::VERMILLION
            } else {
                colour::ORANGE
            };
            Entry::Row {
                label: r.city_label(),
                marks: vec![mark(r, c)],
                note: note(r),
            }
        })
        .collect();
    let forest = Forest {
        title: format!("EV vs gasoline car: CO2 per km, {} cities", rows.len()),
        entries,
        x_label: axis_label(
            "EV CO2 per km ÷ gasoline car CO2 per km, ev_ice_ratio",
            &unit,
        ),
        references: vec![(1.0, "parity".into())],
        legend: vec![
            (colour::BLUE, "95 % interval below 1 (EV cleaner)".into()),
            (colour::ORANGE, "interval contains 1".into()),
            (colour::VERMILLION, "interval above 1 (EV dirtier)".into()),
        ],
        label_width: 190.0,
    };
    Some(Figure {
        file: "ev_ice_ratio.svg".into(),
        title: "EV/gasoline CO2 ratio by city".into(),
        caption: "Each city's ev_ice_ratio: median (dot) and 95 % interval (bar), sorted by median. Left of the dashed parity line the EV emits less CO2 per km than the gasoline car.".into(),
        svg: forest.svg(),
    })
}

/// Every city's import share, grouped by tier (in the order tiers first appear),
/// sorted within each, with the reported 42 % marked.
pub(super) fn import_share_by_tier(cities: &[Row]) -> Option<Figure> {
    let shares: Vec<&Row> = cities
        .iter()
        .filter(|r| r.metric == "import_share")
        .collect();
    let unit = shares.first()?.unit.clone();
    let mut tiers: Vec<String> = Vec::new();
    for r in &shares {
        let t = r.tier.clone().unwrap_or_default();
        if !tiers.contains(&t) {
            tiers.push(t);
        }
    }
    let mut entries = Vec::new();
    let mut legend = Vec::new();
    for (k, tier) in tiers.iter().enumerate() {
        let c = colour::SEQUENCE[k % colour::SEQUENCE.len()];
        let rows = sorted(
            shares
                .iter()
                .copied()
                .filter(|r| r.tier.as_deref().unwrap_or_default() == tier),
        );
        entries.push(Entry::Heading(format!("{tier} ({} cities)", rows.len())));
        entries.extend(rows.iter().map(|r| Entry::Row {
            label: r.city_label(),
            marks: vec![mark(r, c)],
            note: note(r),
        }));
        legend.push((c, tier.clone()));
    }
    let forest = Forest {
        title: "Share of EV charging electricity from outside the city, by tier".into(),
        entries,
        x_label: axis_label(
            "imported share of the city's charging electricity, import_share",
            &unit,
        ),
        references: vec![(REPORTED_IMPORT_SHARE, "reported 42 %".into())],
        legend,
        label_width: 190.0,
    };
    Some(Figure {
        file: "import_share.svg".into(),
        title: "Imported share of charging electricity by city and tier".into(),
        caption: "Each city's import_share: median (dot) and 95 % interval (bar), grouped by tier and sorted within it. The dashed line is the 42 % the study reported for advanced cities.".into(),
        svg: forest.svg(),
    })
}
