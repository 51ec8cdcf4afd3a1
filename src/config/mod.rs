//! Configuration (SPEC section 3): parse the TOML and its CSV tables, then convert
//! them into a validated [`Config`]: a model, a sampling plan and run settings. Every
//! problem is collected and reported at once, with file, line and key or row.

mod builtin;
mod correlations;
mod diagnostics;
mod params;
mod scenarios;
mod tables;
mod toml_read;

pub use builtin::{BUILTIN_CONFIG, builtin_files};
pub use diagnostics::{Diagnostic, Diagnostics};

use crate::model::{City, IceBasis, Link, Model, Network, Province};
use crate::sampling::{SamplerKind, SamplingPlan, Scenario};
use diagnostics::SourceText;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tables::Table;
use toml_read::Section;

/// Run settings from `[run]`, possibly overridden on the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    /// Output folder name under `results/`.
    pub name: String,
    /// Number of draws (≥ 1).
    pub draws: u64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Sampling design.
    pub sampler: SamplerKind,
    /// Central interval levels, each in (0, 1), distinct.
    pub levels: Vec<f64>,
}

/// A data table's identity for provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct InputFile {
    /// Path as shown to the user.
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// A loaded, validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The config file.
    pub file: InputFile,
    /// The data tables, in the order provinces, cities, links.
    pub tables: Vec<InputFile>,
    /// Run settings.
    pub run: RunSettings,
    /// Tiers counted as advanced.
    pub advanced_tiers: Vec<String>,
    /// The attribution model over the network.
    pub model: Model,
    /// Distributions, variate numbering and rank correlations (`[[correlations]]`).
    pub plan: SamplingPlan,
    /// Scenarios evaluated on the same draws as the baseline.
    pub scenarios: Vec<Scenario>,
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file itself cannot be read.
    #[error(
        "cannot read config `{path}`: {source}; check the path (the default is {BUILTIN_CONFIG})"
    )]
    Read {
        /// Path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config or its tables are invalid.
    #[error("invalid configuration: {0}")]
    Invalid(Diagnostics),
}

/// Loads and validates a config file from disk; data paths are relative to it.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    load_from(path.display().to_string(), &text, &|rel| {
        let p = dir.join(rel);
        let display = p.display().to_string();
        std::fs::read_to_string(&p)
            .map(|t| (display.clone(), t))
            .map_err(|e| (display, e.to_string()))
    })
}

/// Loads the default config compiled into the binary.
pub fn load_builtin() -> Result<Config, ConfigError> {
    let files = builtin_files();
    let find = |path: &str| files.iter().find(|(p, _)| *p == path).map(|(_, t)| *t);
    let text = find(BUILTIN_CONFIG).expect("built-in config is compiled in");
    let dir = Path::new(BUILTIN_CONFIG).parent().unwrap_or(Path::new(""));
    load_from(format!("{BUILTIN_CONFIG} (built in)"), text, &|rel| {
        let p = dir.join(rel).display().to_string();
        match find(&p) {
            Some(t) => Ok((format!("{p} (built in)"), t.to_string())),
            None => Err((p, "not compiled into the binary".to_string())),
        }
    })
}

/// Reads a data file named in the config: `Ok((display, text))` or `Err((display, reason))`.
type ReadData<'a> = dyn Fn(&str) -> Result<(String, String), (String, String)> + 'a;

/// Loads a config from its text; `read_data` resolves the data paths it names.
pub fn load_from(
    display: String,
    text: &str,
    read_data: &ReadData<'_>,
) -> Result<Config, ConfigError> {
    let src = SourceText::new(display.clone(), text);
    let mut diags = Diagnostics::default();
    let doc = match toml::de::DeTable::parse_recoverable(text) {
        (doc, errors) if errors.is_empty() => doc,
        (_, errors) => {
            for e in errors {
                let line = e.span().map(|s| src.line_of(s.start));
                diags.at(&src, line, "syntax", e.message().trim().to_string());
            }
            return Err(ConfigError::Invalid(diags));
        }
    };
    let root = Section {
        path: String::new(),
        table: doc.get_ref(),
        offset: 0,
    };
    root.reject_unknown(
        &src,
        &mut diags,
        &[
            "run",
            "data",
            "accounting",
            "params",
            "scenarios",
            "correlations",
        ],
    );
    let run = read_run(&src, &mut diags, &root, &display);
    let accounting = read_accounting(&src, &mut diags, &root);
    let data = read_data_section(&src, &mut diags, &root, read_data);
    let raw_params = params::read_raw(&src, &mut diags, &root);
    let raw_correlations = correlations::read(&src, &mut diags, &root);

    // Keep checking what can be checked, so that every problem is reported at once.
    let (ice_basis, tiers) = accounting;
    let network = data
        .as_ref()
        .and_then(|d| build_network(&src, &mut diags, d, &tiers));
    let entries = match (&network, &data) {
        (Some(n), Some(d)) => params::resolve(&src, &mut diags, raw_params, n, d),
        _ => None,
    };
    let (Some(run), Some(ice_basis), Some(data), Some(network), Some(entries)) =
        (run, ice_basis, data, network, entries)
    else {
        return Err(ConfigError::Invalid(diags));
    };
    if !diags.is_empty() {
        return Err(ConfigError::Invalid(diags));
    }
    let mut plan = SamplingPlan::new(&network, entries);
    correlations::install(&src, &mut diags, &raw_correlations, &mut plan, &network);
    let scenarios = scenarios::read(&src, &mut diags, &root, &network, &data, &plan);
    if !diags.is_empty() {
        return Err(ConfigError::Invalid(diags));
    }
    Ok(Config {
        file: InputFile {
            path: display,
            sha256: sha256_hex(text.as_bytes()),
        },
        tables: data.files,
        run,
        advanced_tiers: tiers.into_iter().map(|(t, _)| t).collect(),
        model: Model::new(network, ice_basis),
        plan,
        scenarios,
    })
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read_run(
    src: &SourceText,
    diags: &mut Diagnostics,
    root: &Section<'_, '_>,
    display: &str,
) -> Option<RunSettings> {
    let Some(run) = root.table(src, diags, "run") else {
        if root.get("run").is_none() {
            root.missing(src, diags, "run", "add a [run] table with draws and seed");
        }
        return None;
    };
    run.reject_unknown(src, diags, &["name", "draws", "seed", "sampler", "levels"]);
    let default_name = Path::new(display.split(' ').next().unwrap_or(display))
        .file_stem()
        .map_or("run".to_string(), |s| s.to_string_lossy().into_owned());
    let name = match run.string(src, diags, "name") {
        Some((name, at)) => {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && name != "."
                && name != "..";
            if !ok {
                diags.at_offset(
                    src,
                    at,
                    "run.name",
                    "must be a folder name of letters, digits, '-', '_' or '.'",
                );
            }
            name
        }
        None => default_name,
    };
    let draws = match run.unsigned(src, diags, "draws") {
        Some((0, at)) => {
            diags.at_offset(src, at, "run.draws", "must be at least 1");
            None
        }
        Some((n, _)) => Some(n),
        None => {
            if run.get("draws").is_none() {
                run.missing(
                    src,
                    diags,
                    "draws",
                    "give the number of draws, e.g. draws = 1_000_000",
                );
            }
            None
        }
    };
    let seed = run.unsigned(src, diags, "seed").map(|(s, _)| s);
    if run.get("seed").is_none() {
        run.missing(src, diags, "seed", "give a seed (any whole number in 0..=18446744073709551615); runs are never seeded from the clock");
    }
    let sampler = match run.string(src, diags, "sampler") {
        None => Some(SamplerKind::Mc),
        Some((s, at)) => SamplerKind::from_name(&s).or_else(|| {
            diags.at_offset(
                src,
                at,
                "run.sampler",
                format!("unknown sampler `{s}`; valid: mc, lhs, sobol"),
            );
            None
        }),
    };
    let levels = match run.numbers(src, diags, "levels") {
        None => Some(vec![0.90, 0.95]),
        Some(levels) => check_levels(src, diags, levels),
    };
    Some(RunSettings {
        name,
        draws: draws?,
        seed: seed?,
        sampler: sampler?,
        levels: levels?,
    })
}

fn check_levels(
    src: &SourceText,
    diags: &mut Diagnostics,
    levels: Vec<(f64, usize)>,
) -> Option<Vec<f64>> {
    let mut ok = !levels.is_empty();
    if levels.is_empty() {
        diags.at(
            src,
            None,
            "run.levels",
            "must list at least one level, e.g. [0.90, 0.95]",
        );
    }
    let mut labels: Vec<String> = Vec::new();
    for &(level, at) in &levels {
        if !(level > 0.0 && level < 1.0) {
            diags.at_offset(
                src,
                at,
                "run.levels",
                format!("{level} is not strictly between 0 and 1"),
            );
            ok = false;
            continue;
        }
        let label = crate::output::level_label(level);
        if labels.contains(&label) {
            diags.at_offset(
                src,
                at,
                "run.levels",
                format!("{level} is listed twice (column lo{label})"),
            );
            ok = false;
        }
        labels.push(label);
    }
    ok.then(|| levels.into_iter().map(|(l, _)| l).collect())
}

/// The ice basis (if valid) and the advanced tiers (empty if invalid or absent).
type Accounting = (Option<IceBasis>, Vec<(String, usize)>);

fn read_accounting(
    src: &SourceText,
    diags: &mut Diagnostics,
    root: &Section<'_, '_>,
) -> Accounting {
    let Some(acc) = root.table(src, diags, "accounting") else {
        if root.get("accounting").is_none() {
            root.missing(
                src,
                diags,
                "accounting",
                "add [accounting] with ice_basis and advanced_tiers",
            );
        }
        return (None, Vec::new());
    };
    acc.reject_unknown(src, diags, &["ice_basis", "advanced_tiers"]);
    let basis = match acc.string(src, diags, "ice_basis") {
        Some((b, _)) if b == "wtw" => Some(IceBasis::Wtw),
        Some((b, _)) if b == "ttw" => Some(IceBasis::Ttw),
        Some((b, at)) => {
            diags.at_offset(
                src,
                at,
                "accounting.ice_basis",
                format!("unknown basis `{b}`; valid: ttw (tank to wheel), wtw (well to wheel)"),
            );
            None
        }
        None => {
            if acc.get("ice_basis").is_none() {
                acc.missing(src, diags, "ice_basis", "choose \"ttw\" or \"wtw\"");
            }
            None
        }
    };
    let tiers = acc.strings(src, diags, "advanced_tiers");
    if acc.get("advanced_tiers").is_none() {
        acc.missing(
            src,
            diags,
            "advanced_tiers",
            "list the tiers counted as advanced, e.g. [\"tier1\"] (or [] for none)",
        );
    }
    (basis, tiers.unwrap_or_default())
}

/// The three tables and their provenance.
struct DataTables {
    provinces: Table,
    cities: Table,
    links: Option<Table>,
    files: Vec<InputFile>,
}

fn read_data_section(
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

fn build_network(
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
                    "province `{province}` is not in {} (it has: {}…)",
                    data.provinces.src.display,
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
