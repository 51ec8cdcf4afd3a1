//! `[scenarios.NAME]` blocks: changes to parameters and to the accounting,
//! evaluated on the same draws as the baseline (common random numbers).
//!
//! ```toml
//! [scenarios.cleaner_exports]
//! description = "new wind and solar cut exporters' generation intensity by 25 %"
//! accounting = { ice_basis = "ttw" }         # optional: other accounting
//! [[scenarios.cleaner_exports.changes]]      # optional when `accounting` is given
//! param = "gen_intensity"
//! provinces = ["InnerMongolia", "Shanxi"]   # optional: which entities change
//! scale = 0.75                               # x → x·scale + shift
//! # or replace the distribution: dist = "normal", mean = …, sd = …
//! ```
//!
//! A replacement may make random a parameter the baseline leaves fixed (or out):
//! it then reads variates of its own, numbered by the baseline's scope, which the
//! baseline does not draw. `link_intensity` and `city_gen_intensity` change only
//! where an entity has a value of its own; the others carry their province's
//! `gen_intensity`, which a scenario changes instead.

use super::data::DataTables;
use super::diagnostics::{Diagnostics, SourceText};
use super::params::{read_dist, resolve_dists};
use super::tables::NumericCache;
use super::toml_read::{Section, kind_of, number};
use evcarbon_engine::sampling::Change;
use evcarbon_engine::sampling::{SamplingPlan, Scenario};
use evcarbon_model::{Entity, Fallback, IceBasis, Model, Network, Param};

use super::accounting::read_ice_basis;
use toml::de::DeValue;

const CHANGE_KEYS: &[&str] = &["param", "provinces", "cities", "links", "scale", "shift"];

/// Reads and applies every scenario; problems are reported, valid scenarios returned.
/// `ice_basis` is the baseline's accounting.
pub(super) fn read(
    src: &SourceText,
    diags: &mut Diagnostics,
    root: &Section<'_, '_>,
    network: &Network,
    data: &DataTables,
    baseline: Option<(&SamplingPlan, IceBasis)>,
) -> Vec<Scenario> {
    let Some(scenarios) = root.table(src, diags, "scenarios") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in scenarios.table.iter() {
        let name = key.get_ref().to_string();
        let place = format!("scenarios.{name}");
        let DeValue::Table(table) = value.get_ref() else {
            diags.at_offset(
                src,
                value.span().start,
                place,
                format!("expected a table, got {}", kind_of(value.get_ref())),
            );
            continue;
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            diags.at_offset(
                src,
                key.span().start,
                place.clone(),
                "scenario names use letters, digits, '_' and '-'",
            );
        }
        let s = Section {
            path: place.clone(),
            table,
            offset: key.span().start,
        };
        s.reject_unknown(src, diags, &["description", "accounting", "changes"]);
        let description = s
            .string(src, diags, "description")
            .map_or_else(String::new, |(d, _)| d);
        let before = diags.len();
        let accounting = read_scenario_accounting(src, diags, &s);
        let changes = if s.get("changes").is_some() || accounting.is_none() {
            read_changes(src, diags, &s, network, data)
        } else {
            Vec::new()
        };
        if diags.len() != before {
            continue;
        }
        if changes.is_empty() && accounting.is_none() {
            diags.at_offset(
                src,
                s.offset,
                place,
                "a scenario needs at least one [[…changes]] entry or an `accounting` table",
            );
            continue;
        }
        // Without a baseline (other parts of the config are invalid) the scenario's
        // names and values have been checked; there is nothing to build.
        let Some((baseline, ice_basis)) = baseline else {
            continue;
        };
        // Other accounting is evaluated with a model of its own.
        let model = accounting
            .filter(|&basis| basis != ice_basis)
            .map(|basis| Model::new(network.clone(), basis));
        match baseline.variant(network, &changes) {
            Ok(plan) => out.push(Scenario {
                name,
                description,
                plan,
                model,
            }),
            Err(e) => diags.at_offset(src, s.offset, place, e.to_string()),
        }
    }
    out
}

/// A scenario's `accounting = { ice_basis = "…" }`, if any.
fn read_scenario_accounting(
    src: &SourceText,
    diags: &mut Diagnostics,
    s: &Section<'_, '_>,
) -> Option<IceBasis> {
    let accounting = s.table(src, diags, "accounting")?;
    accounting.reject_unknown(src, diags, &["ice_basis"]);
    if accounting.get("ice_basis").is_none() {
        accounting.missing(src, diags, "ice_basis", "choose \"ttw\" or \"wtw\"");
        return None;
    }
    read_ice_basis(src, diags, &accounting)
}

fn read_changes(
    src: &SourceText,
    diags: &mut Diagnostics,
    s: &Section<'_, '_>,
    network: &Network,
    data: &DataTables,
) -> Vec<(Param, Vec<usize>, Change)> {
    let Some(v) = s.get("changes") else {
        s.missing(
            src,
            diags,
            "changes",
            "add [[scenarios.NAME.changes]] entries",
        );
        return Vec::new();
    };
    let DeValue::Array(items) = v.get_ref() else {
        diags.at_offset(
            src,
            v.span().start,
            s.key_path("changes"),
            "expected an array of tables ([[…changes]])",
        );
        return Vec::new();
    };
    let mut cache = NumericCache::default();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let DeValue::Table(t) = item.get_ref() else {
            diags.at_offset(
                src,
                item.span().start,
                s.key_path("changes"),
                "each change must be a table",
            );
            continue;
        };
        let c = Section {
            path: format!("{}.changes[{i}]", s.path),
            table: t,
            offset: item.span().start,
        };
        if let Some(changes) = read_change(src, diags, &c, network, data, &mut cache) {
            out.extend(changes);
        }
    }
    out
}

fn read_change(
    src: &SourceText,
    diags: &mut Diagnostics,
    c: &Section<'_, '_>,
    network: &Network,
    data: &DataTables,
    cache: &mut NumericCache,
) -> Option<Vec<(Param, Vec<usize>, Change)>> {
    let param = match c.string(src, diags, "param") {
        Some((name, at)) => Param::from_name(&name).or_else(|| {
            diags.at_offset(
                src,
                at,
                c.key_path("param"),
                format!("unknown parameter `{name}`"),
            );
            None
        }),
        None => {
            if c.get("param").is_none() {
                c.missing(src, diags, "param", "name the parameter to change");
            }
            None
        }
    }?;
    let mut entities = select_entities(src, diags, c, param, network)?;
    if param.fallback() == Fallback::ProvinceIntensity {
        let own = match param.entity() {
            Entity::Link => &network.own_intensities().links,
            _ => &network.own_intensities().cities,
        };
        entities.retain(|&e| own[e]);
        if entities.is_empty() {
            diags.at_offset(
                src,
                c.offset,
                c.path.clone(),
                format!(
                    "selects no {} with a `{}` of its own; the others carry their province's \
                     gen_intensity, so change `gen_intensity` instead",
                    param.entity().name(),
                    param.name()
                ),
            );
            return None;
        }
    }
    let replaces = c.get("dist").is_some();
    let affine = c.get("scale").is_some() || c.get("shift").is_some();
    let change = match (replaces, affine) {
        (true, true) => {
            diags.at_offset(src, c.offset, c.path.clone(), "a change either replaces the distribution (dist) or moves it (scale/shift), not both; use two changes");
            return None;
        }
        (true, false) => {
            let raw = read_dist(src, diags, c, CHANGE_KEYS)?;
            let (dists, has_own) = resolve_dists(
                src, diags, &c.path, c.offset, &raw, param, network, data, cache,
            )?;
            if let Some(&e) = entities.iter().find(|&&e| !has_own[e]) {
                diags.at_offset(
                    src,
                    c.offset,
                    c.path.clone(),
                    format!(
                        "the replacement gives {} `{}` no value (its cells are empty); \
                         a scenario cannot take away an entity's own value",
                        param.entity().name(),
                        entity_id(network, param.entity(), e)
                    ),
                );
                return None;
            }
            // Each selected entity gets its own resolved distribution (column
            // arguments may differ by entity).
            return Some(
                entities
                    .iter()
                    .map(|&e| (param, vec![e], Change::Replace(dists[e].clone())))
                    .collect(),
            );
        }
        (false, true) => {
            c.reject_unknown(src, diags, CHANGE_KEYS);
            let get = |key: &str, default: f64, diags: &mut Diagnostics| match c.get(key) {
                Some(v) => number(src, diags, &c.key_path(key), v),
                None => Some(default),
            };
            let scale = get("scale", 1.0, diags)?;
            let shift = get("shift", 0.0, diags)?;
            if scale < 0.0 {
                diags.at_offset(
                    src,
                    c.offset,
                    c.key_path("scale"),
                    format!("must be ≥ 0, got {scale}"),
                );
                return None;
            }
            Change::Affine { scale, shift }
        }
        (false, false) => {
            diags.at_offset(
                src,
                c.offset,
                c.path.clone(),
                "give `scale` and/or `shift`, or a replacement `dist` with its arguments",
            );
            return None;
        }
    };
    Some(vec![(param, entities, change)])
}

/// The entities a change applies to: all of the parameter's entities, or those named.
fn select_entities(
    src: &SourceText,
    diags: &mut Diagnostics,
    c: &Section<'_, '_>,
    param: Param,
    network: &Network,
) -> Option<Vec<usize>> {
    let entity = param.entity();
    let allowed: &[&str] = match entity {
        Entity::Province => &["provinces"],
        Entity::City => &["provinces", "cities"],
        Entity::Link => &["provinces", "links"],
    };
    for key in ["provinces", "cities", "links"] {
        if c.get(key).is_some() && !allowed.contains(&key) {
            diags.at_offset(
                src,
                c.offset,
                c.key_path(key),
                format!(
                    "`{}` is a {}-level parameter; select with {}",
                    param.name(),
                    entity.name(),
                    allowed.join(" or ")
                ),
            );
            return None;
        }
    }
    let ids = |entity: Entity| -> Vec<String> {
        (0..network.count(entity))
            .map(|e| entity_id(network, entity, e))
            .collect()
    };
    let (province_ids, city_ids, link_ids) =
        (ids(Entity::Province), ids(Entity::City), ids(Entity::Link));
    let provinces = match c.strings(src, diags, "provinces") {
        Some(names) => Some(lookup(
            src,
            diags,
            c,
            "provinces",
            names,
            &province_ids,
            |n| network.provinces().iter().position(|p| p.id == n),
        )?),
        None => None,
    };
    let cities = match c.strings(src, diags, "cities") {
        Some(ids) => Some(lookup(src, diags, c, "cities", ids, &city_ids, |n| {
            network.cities().iter().position(|x| x.id == n)
        })?),
        None => None,
    };
    let links = match c.strings(src, diags, "links") {
        Some(names) => Some(lookup(src, diags, c, "links", names, &link_ids, |n| {
            let (from, to) = n.split_once("->").or_else(|| n.split_once('→'))?;
            network.links().iter().position(|l| {
                network.provinces()[l.from].id == from.trim()
                    && network.provinces()[l.to].id == to.trim()
            })
        })?),
        None => None,
    };
    let n = network.count(entity);
    if provinces.is_none() && cities.is_none() && links.is_none() {
        return Some((0..n).collect());
    }
    let chosen: Vec<usize> = (0..n)
        .filter(|&e| match entity {
            Entity::Province => provinces.as_ref().is_some_and(|ps| ps.contains(&e)),
            Entity::City => {
                provinces
                    .as_ref()
                    .is_some_and(|ps| ps.contains(&network.cities()[e].province))
                    || cities.as_ref().is_some_and(|cs| cs.contains(&e))
            }
            Entity::Link => {
                provinces
                    .as_ref()
                    .is_some_and(|ps| ps.contains(&network.links()[e].from))
                    || links.as_ref().is_some_and(|ls| ls.contains(&e))
            }
        })
        .collect();
    if chosen.is_empty() {
        diags.at_offset(
            src,
            c.offset,
            c.path.clone(),
            format!("selects no {} of `{}`", entity.name(), param.name()),
        );
        return None;
    }
    Some(chosen)
}

/// The id of entity `e`, for messages.
fn entity_id(network: &Network, entity: Entity, e: usize) -> String {
    match entity {
        Entity::Province => network.provinces()[e].id.clone(),
        Entity::City => network.cities()[e].id.clone(),
        Entity::Link => {
            let l = network.links()[e];
            format!(
                "{}->{}",
                network.provinces()[l.from].id,
                network.provinces()[l.to].id
            )
        }
    }
}

fn lookup(
    src: &SourceText,
    diags: &mut Diagnostics,
    c: &Section<'_, '_>,
    key: &str,
    names: Vec<(String, usize)>,
    valid: &[String],
    find: impl Fn(&str) -> Option<usize>,
) -> Option<Vec<usize>> {
    let mut ok = true;
    let mut found = Vec::new();
    for (name, at) in names {
        match find(&name) {
            Some(i) => found.push(i),
            None => {
                let hint = if key == "links" {
                    " (write links as \"From->To\")"
                } else {
                    ""
                };
                const LISTED: usize = 12;
                let mut listed: Vec<&str> = valid.iter().take(LISTED).map(String::as_str).collect();
                if valid.len() > LISTED {
                    listed.push("…");
                }
                diags.at_offset(
                    src,
                    at,
                    c.key_path(key),
                    format!(
                        "`{name}` is not in the data{hint}{}; valid: {}",
                        super::suggest::did_you_mean(&name, valid.iter().map(String::as_str)),
                        listed.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(found)
}
