//! Building every figure of a results folder and writing them with the page.

use std::path::{Path, PathBuf};

use super::error::ReportError;
use super::figure::Figure;
use super::read::{self, SENSITIVITY_FILE};
use super::{burden, caterpillar, convergence, headlines, html, scenarios, sensitivity};
use crate::output::{
    CITY_FILE, CONVERGENCE_FILE, HEADLINE_FILE, HEADLINE_QUANTILES_FILE, MANIFEST_FILE,
    PROVINCE_FILE, SCENARIO_FILE, SCENARIO_HEADLINE_FILE, write_file_atomically_with,
};

/// Folder of the report inside a results folder.
pub const REPORT_DIR: &str = "report";
/// Name of the HTML page.
pub const REPORT_FILE: &str = "report.html";

/// Reads the results in `results_dir` and writes `report.html` and one SVG per
/// figure to `out_dir` (default: `results_dir/report/`); returns the files
/// written, the page last. Each file is written under a temporary name and
/// renamed.
pub fn write_report(
    results_dir: &Path,
    out_dir: Option<&Path>,
) -> Result<Vec<PathBuf>, ReportError> {
    let manifest = read::manifest(results_dir, MANIFEST_FILE)?;
    let need = |name: &str| {
        read::intervals(&results_dir.join(name))?.ok_or_else(|| ReportError::Read {
            path: results_dir.join(name),
            message: "the file is missing, though manifest.json says the run completed".into(),
        })
    };
    let cities = need(CITY_FILE)?;
    let provinces = need(PROVINCE_FILE)?;
    let heads = need(HEADLINE_FILE)?;
    let quantiles = read::headline_quantiles(&results_dir.join(HEADLINE_QUANTILES_FILE))?;
    let deltas = read::intervals(&results_dir.join(SCENARIO_FILE))?;
    let own = read::intervals(&results_dir.join(SCENARIO_HEADLINE_FILE))?;
    let sens = read::sensitivity(&results_dir.join(SENSITIVITY_FILE))?;
    let conv = read::convergence(&results_dir.join(CONVERGENCE_FILE))?;

    let mut figures: Vec<Figure> = Vec::new();
    let mut missing = Vec::new();
    let mut add = |figure: Option<Figure>, why: &str| match figure {
        Some(f) => figures.push(f),
        None => missing.push(why.to_string()),
    };
    add(
        headlines::headline_panel(&heads, quantiles.as_deref().unwrap_or(&[])),
        "headline panel: no headline rows",
    );
    add(
        caterpillar::ev_ice_ratio(&cities),
        "ev_ice_ratio: no such city rows",
    );
    add(
        caterpillar::import_share_by_tier(&cities),
        "import_share: no such city rows",
    );
    add(
        burden::burden_by_province(&cities, &provinces),
        "burden by province: no burden_landed_t rows",
    );
    match (&deltas, &own) {
        (Some(d), Some(o)) => {
            add(
                scenarios::headline_deltas(d),
                "scenario deltas: no headline rows",
            );
            add(
                scenarios::accounting_variants(&heads, o),
                "accounting variants: no max_ev_penalty rows",
            );
        }
        _ => add(
            None,
            &format!("scenario figures: no {SCENARIO_FILE} (the config has no [scenarios])"),
        ),
    }
    match &conv {
        Some(rows) => add(convergence::convergence(rows), "convergence: no rows"),
        None => add(
            None,
            &format!("convergence: no {CONVERGENCE_FILE} (a run without --until)"),
        ),
    }
    match &sens {
        Some(rows) => add(
            sensitivity::sensitivity(rows),
            "sensitivity: no headline rows",
        ),
        None => add(
            None,
            &format!("sensitivity indices: no {SENSITIVITY_FILE} (run `evcarbon sensitivity`)"),
        ),
    }

    let out = out_dir.map_or_else(|| results_dir.join(REPORT_DIR), Path::to_path_buf);
    std::fs::create_dir_all(&out).map_err(|source| crate::output::OutputError::Io {
        path: out.clone(),
        source,
    })?;
    let mut written = Vec::new();
    for f in &figures {
        written.push(write_file_atomically_with(&out, &f.file, |w| {
            w.write_all(f.svg.as_bytes())
        })?);
    }
    let page = html::page(&manifest, &figures, &missing);
    written.push(write_file_atomically_with(&out, REPORT_FILE, |w| {
        w.write_all(page.as_bytes())
    })?);
    Ok(written)
}
