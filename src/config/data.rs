//! The data tables named in `[data]`, and the network built from them.

use evcarbon_model::{City, Link, Network, Province};
use sha2::{Digest, Sha256};

use super::diagnostics::{Diagnostics, SourceText};
use super::settings::InputFile;
use super::tables::Table;
use super::toml_read::Section;

/// Reads a data file named in the config: `Ok((display, text))` or `Err((display, reason))`.
pub(super) type ReadData<'a> = dyn Fn(&str) -> Result<(String, String), (String, String)> + 'a;

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The three tables and their provenance.
pub(super) struct DataTables {
    pub(super) provinces: Table,
    pub(super) cities: Table,
    pub(super) links: Option<Table>,
    pub(super) files: Vec<InputFile>,
}

pub(super) fn read_data_section(
    src: &SourceText,
    diags: &mut Diagnostics,
    root: &Section<'_, '_>,
    read_data: &ReadData<'_>,
) -> Option<DataTables> {
    let Some(data) = root.table(src, diags, "data") else {
        if root.get("data").is_none() {
            root.missing(
                src,
                diags,
                "data",
                "add [data] with provinces and cities (and optionally links)",
            );
        }
        return None;
    };
    data.reject_unknown(src, diags, &["provinces", "cities", "links"]);
    let mut files = Vec::new();
    let mut load = |key: &str,
                    id: &'static str,
                    required: &[&str],
                    diags: &mut Diagnostics|
     -> Option<Table> {
        let (rel, at) = data.string(src, diags, key)?;
        match read_data(&rel) {
            Ok((display, text)) => {
                files.push(InputFile {
                    path: display.clone(),
                    sha256: sha256_hex(text.as_bytes()),
                });
                Table::parse(display, &text, id, required, diags)
            }
            Err((display, reason)) => {
                diags.at_offset(
                    src,
                    at,
                    format!("data.{key}"),
                    format!(
                        "cannot read `{display}`: {reason}; paths are relative to the config file"
                    ),
                );
                None
            }
        }
    };
    for key in ["provinces", "cities"] {
        if data.get(key).is_none() {
            data.missing(
                src,
                diags,
                key,
                "give the path of the CSV table, relative to the config file",
            );
        }
    }
    let provinces = load("provinces", "province", &["province"], diags);
    let cities = load(
        "cities",
        "city_id",
        &["city_id", "city", "province", "tier"],
        diags,
    );
    let links = if data.get("links").is_some() {
        Some(load("links", "from", &["from", "to"], diags)?)
    } else {
        None
    };
    Some(DataTables {
        provinces: provinces?,
        cities: cities?,
        links,
        files,
    })
}

pub(super) fn build_network(
    src: &SourceText,
    diags: &mut Diagnostics,
    data: &DataTables,
    tiers: &[(String, usize)],
) -> Option<Network> {
    let before = diags.len();
    let t = &data.provinces;
    let mut provinces: Vec<Province> = Vec::with_capacity(t.len());
    for row in 0..t.len() {
        let id = t.cell(row, "province");
        if id.is_empty() {
            diags.at(
                &t.src,
                Some(t.line(row)),
                "column `province`",
                "empty province id",
            );
        } else if let Some(first) = provinces.iter().position(|p| p.id == id) {
            diags.at(
                &t.src,
                Some(t.line(row)),
                t.row_name(row),
                format!("duplicate province id (first on line {})", t.line(first)),
            );
        }
        provinces.push(Province { id: id.to_string() });
    }
    let province_index = |id: &str| provinces.iter().position(|p| p.id == id);
    let known = || {
        provinces
            .iter()
            .take(8)
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };

    let t = &data.cities;
    let mut cities: Vec<City> = Vec::with_capacity(t.len());
    let mut seen = std::collections::HashMap::new();
    for row in 0..t.len() {
        let id = t.cell(row, "city_id");
        if id.is_empty() {
            diags.at(
                &t.src,
                Some(t.line(row)),
                "column `city_id`",
                "empty city id",
            );
        } else if let Some(first) = seen.insert(id.to_string(), t.line(row)) {
            diags.at(
                &t.src,
                Some(t.line(row)),
                t.row_name(row),
                format!("duplicate city_id (first on line {first})"),
            );
        }
        let province = t.cell(row, "province");
        let Some(p) = province_index(province) else {
            diags.at(
                &t.src,
                Some(t.line(row)),
                format!("{}, column `province`", t.row_name(row)),
                format!(
                    "province `{province}` is not in {}{} (it has: {}…)",
                    data.provinces.src.display,
                    super::suggest::did_you_mean(province, provinces.iter().map(|p| p.id.as_str())),
                    known()
                ),
            );
            continue;
        };
        let tier = t.cell(row, "tier").to_string();
        cities.push(City {
            id: id.to_string(),
            name: t.cell(row, "city").to_string(),
            province: p,
            advanced: tiers.iter().any(|(a, _)| *a == tier),
            tier,
        });
    }
    for (tier, at) in tiers {
        if !t.is_empty() && !(0..t.len()).any(|r| t.cell(r, "tier") == tier) {
            diags.at_offset(
                src,
                *at,
                "accounting.advanced_tiers",
                format!("tier `{tier}` matches no city in {}", t.src.display),
            );
        }
    }
    let mut links = Vec::new();
    let mut link_rows = Vec::new();
    if let Some(t) = &data.links {
        for row in 0..t.len() {
            let (from, to) = (t.cell(row, "from"), t.cell(row, "to"));
            let place = format!("link {from}→{to}");
            let ends = (province_index(from), province_index(to));
            let (Some(f), Some(to_i)) = ends else {
                for (col, id, idx) in [("from", from, ends.0), ("to", to, ends.1)] {
                    if idx.is_none() {
                        diags.at(
                            &t.src,
                            Some(t.line(row)),
                            format!("{place}, column `{col}`"),
                            format!("province `{id}` is not in {}", data.provinces.src.display),
                        );
                    }
                }
                continue;
            };
            if f == to_i {
                diags.at(
                    &t.src,
                    Some(t.line(row)),
                    place,
                    "a link must join two different provinces",
                );
                continue;
            }
            if let Some(first) = links
                .iter()
                .position(|l: &Link| l.from == f && l.to == to_i)
            {
                let first_line = t.line(link_rows[first]);
                diags.at(
                    &t.src,
                    Some(t.line(row)),
                    place,
                    format!("duplicate link (first on line {first_line}); merge the rows"),
                );
                continue;
            }
            links.push(Link { from: f, to: to_i });
            link_rows.push(row);
        }
    }
    (diags.len() == before).then(|| Network::new(provinces, cities, links))
}
