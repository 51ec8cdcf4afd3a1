//! `[sensitivity.groups]`: named groups of parameters for `evcarbon sensitivity
//! --groups config`.
//!
//! ```toml
//! [sensitivity.groups]
//! grid = ["gen_intensity", "city_gen_intensity", "link_intensity", "loss"]
//! vehicles = ["ev_kwh_per_100km", "charging_efficiency", "ice_l_per_100km"]
//! ```
//!
//! Every parameter not named keeps a group of its own, so the groups always cover
//! every input.

use evcarbon_model::Param;

use super::diagnostics::{Diagnostics, SourceText};
use super::toml_read::Section;

/// Reads `[sensitivity]`; every unknown parameter, repeated parameter, empty group
/// and group named after a parameter outside it is reported.
pub(super) fn read(
    src: &SourceText,
    diags: &mut Diagnostics,
    root: &Section<'_, '_>,
) -> Vec<(String, Vec<Param>)> {
    let Some(section) = root.table(src, diags, "sensitivity") else {
        return Vec::new();
    };
    section.reject_unknown(src, diags, &["groups"]);
    let Some(groups) = section.table(src, diags, "groups") else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<Param>)> = Vec::new();
    for (key, value) in groups.table.iter() {
        let name = key.get_ref().as_ref();
        let place = groups.key_path(name);
        let Some(members) = groups.strings(src, diags, name) else {
            continue;
        };
        if members.is_empty() {
            diags.at_offset(
                src,
                value.span().start,
                &place,
                "a group needs at least one parameter".to_string(),
            );
            continue;
        }
        let mut params = Vec::new();
        for (member, at) in members {
            let Some(p) = Param::from_name(&member) else {
                let valid: Vec<&str> = Param::ALL.iter().map(|p| p.name()).collect();
                diags.at_offset(
                    src,
                    at,
                    &place,
                    format!("unknown parameter `{member}`; valid: {}", valid.join(", ")),
                );
                continue;
            };
            if let Some((other, _)) = out.iter().find(|(_, ps)| ps.contains(&p)) {
                diags.at_offset(
                    src,
                    at,
                    &place,
                    format!("`{member}` is already in group `{other}`; a parameter can be in one group only"),
                );
            } else if params.contains(&p) {
                diags.at_offset(src, at, &place, format!("`{member}` is listed twice"));
            } else {
                params.push(p);
            }
        }
        // A parameter left out keeps a group under its own name: no other group may
        // take that name.
        if let Some(p) = Param::from_name(name).filter(|p| !params.contains(p)) {
            diags.at_offset(
                src,
                key.span().start,
                &place,
                format!(
                    "group name `{name}` is the name of the parameter `{}`, which keeps a group of its own; choose another name",
                    p.name()
                ),
            );
        }
        out.push((name.to_string(), params));
    }
    out
}
