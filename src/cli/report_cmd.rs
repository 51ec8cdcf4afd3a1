//! `evcarbon report`: draw a results folder as report.html and SVG figures.

use std::path::Path;

use super::error::CliError;
use crate::report::write_report;

/// Writes the report of `results_dir` and lists the files on stderr.
pub(super) fn run(results_dir: &Path, out: Option<&Path>) -> Result<(), CliError> {
    let files = write_report(results_dir, out)?;
    eprintln!("report written:");
    for f in files {
        eprintln!("  {}", f.display());
    }
    Ok(())
}
