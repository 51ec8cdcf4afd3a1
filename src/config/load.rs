//! Loading a config: the TOML's own sections, then the data tables, parameters,
//! correlations and scenarios, every problem collected before any is reported.

use std::path::Path;

use evcarbon_engine::sampling::{SamplerKind, SamplingPlan};
use evcarbon_engine::stats::level_label;
use evcarbon_model::{Headline, Model, OwnIntensities};

use super::accounting::read_accounting;
use super::builtin::{BUILTIN_CONFIG, builtin_files};
use super::data::{ReadData, build_network, read_data_section, sha256_hex};
use super::diagnostics::{Diagnostics, SourceText};
use super::error::ConfigError;
use super::settings::{Config, InputFile, RunSettings};
use super::toml_read::{Section, number};
use super::{correlations, params, scenarios, sensitivity};

/// Loads and validates a config file from disk; data paths are relative to it.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = read_text(path).map_err(|reason| ConfigError::Read {
        path: path.to_path_buf(),
        reason,
    })?;
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    load_from(path.display().to_string(), &text, &|rel| {
        let p = dir.join(rel);
        let display = p.display().to_string();
        read_text(&p)
            .map(|t| (display.clone(), t))
            .map_err(|e| (display, e.to_string()))
    })
}

/// A file's text; a file that is not UTF-8 gives an error naming the line and
/// column of its first invalid byte.
fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + good.iter().rev().take_while(|&&b| b != b'\n').count();
        let byte = e.as_bytes()[good.len()];
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "line {line}, column {column}: byte 0x{byte:02X} is not UTF-8; save the file as UTF-8 \
                 (spreadsheets: \"CSV UTF-8\")"
            ),
        )
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
            "headlines",
            "sensitivity",
        ],
    );
    let run = read_run(&src, &mut diags, &root, &display);
    let accounting = read_accounting(&src, &mut diags, &root);
    let data = read_data_section(&src, &mut diags, &root, read_data);
    let raw_params = params::read_raw(&src, &mut diags, &root);
    let raw_correlations = correlations::read(&src, &mut diags, &root);
    let reported = read_headlines(&src, &mut diags, &root);
    let sensitivity_groups = sensitivity::read(&src, &mut diags, &root);

    // Keep checking what can be checked, so that every problem is reported at once.
    let (ice_basis, tiers) = accounting;
    let network = data
        .as_ref()
        .and_then(|d| build_network(&src, &mut diags, d, &tiers));
    let resolved = match (&network, &data) {
        (Some(n), Some(d)) => params::resolve(&src, &mut diags, raw_params, n, d),
        (None, Some(d)) => {
            params::check_columns(&mut diags, &raw_params, d);
            None
        }
        _ => None,
    };
    let ready = run.is_some() && ice_basis.is_some() && resolved.is_some() && diags.is_empty();
    if !ready {
        // Still check the scenarios' names and values against the tables, so that a
        // typo there is not hidden behind one elsewhere. Which links and cities have
        // an intensity of their own is known only once the parameters resolved;
        // until then every one is taken to have one, so that a scenario is not
        // wrongly told that it selects none.
        if let (Some(network), Some(data)) = (&network, &data) {
            let own = match &resolved {
                Some(r) => r.own.clone(),
                None => OwnIntensities {
                    links: vec![true; network.links().len()],
                    cities: vec![true; network.cities().len()],
                },
            };
            let network = network.clone().with_own_intensities(own);
            scenarios::read(&src, &mut diags, &root, &network, data, None);
        }
        return Err(ConfigError::Invalid(diags));
    }
    let (Some(run), Some(ice_basis), Some(data), Some(network), Some(resolved)) =
        (run, ice_basis, data, network, resolved)
    else {
        return Err(ConfigError::Invalid(diags));
    };
    let params_given = resolved.given;
    let network = network.with_own_intensities(resolved.own);
    let mut plan = SamplingPlan::new(&network, resolved.entries);
    for (param, share, at) in resolved.province_shares {
        if let Err(e) = plan.share_within_provinces(&network, param, share) {
            let place = format!("params.{}.province_share", param.name());
            diags.at_offset(&src, at, place, e.to_string());
        }
    }
    correlations::install(&src, &mut diags, &raw_correlations, &mut plan, &network);
    let scenarios = scenarios::read(
        &src,
        &mut diags,
        &root,
        &network,
        &data,
        Some((&plan, ice_basis)),
    );
    if !diags.is_empty() {
        return Err(ConfigError::Invalid(diags));
    }
    let city_en = (0..data.cities.len())
        .map(|row| {
            let name = if data.cities.has_column("city_en") {
                data.cities.cell(row, "city_en")
            } else {
                ""
            };
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect();
    let warnings = super::checks::warnings(&network, &plan);
    Ok(Config {
        warnings,
        city_en,
        params_given,
        file: InputFile {
            path: display,
            sha256: sha256_hex(text.as_bytes()),
        },
        tables: data.files,
        run,
        advanced_tiers: tiers.into_iter().map(|(t, _)| t).collect(),
        reported,
        sensitivity_groups,
        model: Model::new(network, ice_basis),
        plan,
        scenarios,
    })
}

/// `[headlines.reported]`: the figure a study reported for some headline metrics,
/// by name.
fn read_headlines(
    src: &SourceText,
    diags: &mut Diagnostics,
    root: &Section<'_, '_>,
) -> Vec<(Headline, f64)> {
    let Some(headlines) = root.table(src, diags, "headlines") else {
        return Vec::new();
    };
    headlines.reject_unknown(src, diags, &["reported"]);
    let Some(reported) = headlines.table(src, diags, "reported") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in reported.table.iter() {
        let name = key.get_ref().as_ref();
        let place = reported.key_path(name);
        let Some(h) = Headline::from_name(name) else {
            let valid: Vec<&str> = Headline::ALL.iter().map(|h| h.name()).collect();
            diags.at_offset(
                src,
                key.span().start,
                place,
                format!("unknown headline metric; valid: {}", valid.join(", ")),
            );
            continue;
        };
        if let Some(x) = number(src, diags, &place, value) {
            out.push((h, x));
        }
    }
    out
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
        let label = level_label(level);
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
