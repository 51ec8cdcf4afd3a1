//! `[[correlations]]` entries: rank correlations between pairs of parameters, realised
//! by the engine's Gaussian copula ([`SamplingPlan::correlate`], `docs/sampling.md`).
//!
//! ```toml
//! [[correlations]]
//! params = ["gen_intensity", "province_consumption_twh"]
//! rank = 0.5          # Spearman, strictly between -1 and 1
//! ```

use super::diagnostics::{Diagnostics, SourceText};
use super::toml_read::{Section, kind_of, number};
use evcarbon_engine::sampling::{Correlation, SamplingPlan};
use evcarbon_model::{Network, Param};
use toml::de::DeValue;

/// The entries that could be read, with the offset of each for later messages.
pub(super) struct RawCorrelations {
    entries: Vec<(Correlation, usize)>,
}

/// Reads every `[[correlations]]` entry; every malformed one is reported.
pub(super) fn read(
    src: &SourceText,
    diags: &mut Diagnostics,
    root: &Section<'_, '_>,
) -> RawCorrelations {
    let mut entries: Vec<(Correlation, usize)> = Vec::new();
    let Some(value) = root.get("correlations") else {
        return RawCorrelations { entries };
    };
    let DeValue::Array(items) = value.get_ref() else {
        diags.at_offset(
            src,
            value.span().start,
            "correlations",
            format!(
                "expected [[correlations]] entries (an array of tables), got {}",
                kind_of(value.get_ref())
            ),
        );
        return RawCorrelations { entries };
    };
    for (i, item) in items.iter().enumerate() {
        let place = format!("correlations[{i}]");
        let DeValue::Table(table) = item.get_ref() else {
            diags.at_offset(
                src,
                item.span().start,
                place,
                format!(
                    "expected a table with params and rank, got {}",
                    kind_of(item.get_ref())
                ),
            );
            continue;
        };
        let s = Section {
            path: place,
            table,
            offset: item.span().start,
        };
        if let Some(entry) = read_one(src, diags, &s) {
            let key = |c: &Correlation| {
                let (a, b) = (c.params[0].index(), c.params[1].index());
                (a.min(b), a.max(b))
            };
            if let Some((_, first)) = entries.iter().find(|(c, _)| key(c) == key(&entry)) {
                diags.at_offset(
                    src,
                    s.offset,
                    s.path.clone(),
                    format!(
                        "duplicate correlation between `{}` and `{}` (first on line {}); keep one",
                        entry.params[0].name(),
                        entry.params[1].name(),
                        src.line_of(*first)
                    ),
                );
                continue;
            }
            entries.push((entry, s.offset));
        }
    }
    RawCorrelations { entries }
}

fn read_one(src: &SourceText, diags: &mut Diagnostics, s: &Section<'_, '_>) -> Option<Correlation> {
    s.reject_unknown(src, diags, &["params", "rank"]);
    let names = s.strings(src, diags, "params");
    if s.get("params").is_none() {
        s.missing(
            src,
            diags,
            "params",
            "name the two parameters, e.g. params = [\"gen_intensity\", \"province_consumption_twh\"]",
        );
    }
    let rank = match s.get("rank") {
        None => {
            s.missing(
                src,
                diags,
                "rank",
                "give Spearman's rank correlation, strictly between -1 and 1",
            );
            None
        }
        Some(v) => match number(src, diags, &s.key_path("rank"), v) {
            Some(r) if r > -1.0 && r < 1.0 => Some(r),
            Some(r) => {
                diags.at_offset(
                    src,
                    v.span().start,
                    s.key_path("rank"),
                    format!("{r} is not strictly between -1 and 1"),
                );
                None
            }
            None => None,
        },
    };
    let names = names?;
    let place = s.key_path("params");
    if names.len() != 2 {
        diags.at_offset(
            src,
            s.get("params").map_or(s.offset, |v| v.span().start),
            place,
            format!("must name exactly two parameters, got {}", names.len()),
        );
        return None;
    }
    let mut params = Vec::with_capacity(2);
    for (name, at) in &names {
        match Param::from_name(name) {
            Some(p) => params.push(p),
            None => {
                let valid: Vec<_> = Param::ALL.iter().map(|p| p.name()).collect();
                diags.at_offset(
                    src,
                    *at,
                    place.clone(),
                    format!("unknown parameter `{name}`; valid: {}", valid.join(", ")),
                );
            }
        }
    }
    let [a, b] = <[Param; 2]>::try_from(params).ok()?;
    if a == b {
        diags.at_offset(
            src,
            names[1].1,
            place,
            format!("`{}` cannot be correlated with itself", a.name()),
        );
        return None;
    }
    Some(Correlation {
        params: [a, b],
        rank: rank?,
    })
}

/// Builds the copula over the plan's variates and installs it; problems (fixed
/// parameters, parameters that do not pair up, a matrix that is not positive definite)
/// are reported at the entries concerned.
pub(super) fn install(
    src: &SourceText,
    diags: &mut Diagnostics,
    raw: &RawCorrelations,
    plan: &mut SamplingPlan,
    network: &Network,
) {
    if raw.entries.is_empty() {
        return;
    }
    // A score shared within provinces is already a correlation structure; a rank
    // correlation on top of it would not have the asked value.
    let mut shared = false;
    for (i, (c, at)) in raw.entries.iter().enumerate() {
        for p in c
            .params
            .iter()
            .filter(|&&p| plan.is_shared_within_provinces(p))
        {
            shared = true;
            diags.at_offset(
                src,
                *at,
                format!("correlations[{i}]"),
                format!(
                    "`{}` has a province_share, which correlates its cities already; \
                     drop the province_share or this correlation",
                    p.name()
                ),
            );
        }
    }
    if shared {
        return;
    }
    let list: Vec<Correlation> = raw.entries.iter().map(|(c, _)| c.clone()).collect();
    match plan.correlate(network, &list) {
        Ok(()) => {}
        Err(errors) => {
            for e in errors {
                let entries = e.entries();
                let first = entries[0];
                let lines: Vec<String> = entries
                    .iter()
                    .map(|&i| src.line_of(raw.entries[i].1).to_string())
                    .collect();
                let mut message = e.to_string();
                if entries.len() > 1 {
                    message.push_str(&format!(" (entries on lines {})", lines.join(", ")));
                }
                diags.at_offset(
                    src,
                    raw.entries[first].1,
                    format!("correlations[{first}]"),
                    message,
                );
            }
        }
    }
}
