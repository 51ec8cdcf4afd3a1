//! `headline_intervals.parquet`: one row per headline metric, in the order given;
//! and `scenario_headlines.parquet`: the same columns, after `scenario`, for each
//! scenario's own values.

use std::path::Path;

use super::error::OutputError;
use super::format::OutputFile;
use super::names::{HEADLINE_FILE, SCENARIO_HEADLINE_FILE};
use super::parquet_common::TableBuilder;
use super::rows::{HeadlineRow, RunResults};

/// Writer of `headline_intervals.parquet`.
pub(super) struct HeadlineParquet;

/// Writer of `scenario_headlines.parquet`.
pub(super) struct ScenarioHeadlineParquet;

impl OutputFile for HeadlineParquet {
    fn file_name(&self) -> &'static str {
        HEADLINE_FILE
    }

    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let rows: Vec<&HeadlineRow> = results.headlines.iter().collect();
        let row_key = |i: usize| format!("row {i} (metric={:?})", rows[i].metric);
        let mut table = TableBuilder::new(path, rows.len(), &row_key);
        headline_columns(&mut table, &rows, &results.provenance.levels)?;
        table.finish(&results.provenance)
    }
}

impl OutputFile for ScenarioHeadlineParquet {
    fn file_name(&self) -> &'static str {
        SCENARIO_HEADLINE_FILE
    }

    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let scenario_rows = &results.scenario_headlines;
        let rows: Vec<&HeadlineRow> = scenario_rows.iter().map(|r| &r.row).collect();
        let row_key = |i: usize| {
            let r = &scenario_rows[i];
            format!(
                "row {i} (scenario={:?}, metric={:?})",
                r.scenario, r.row.metric
            )
        };
        let mut table = TableBuilder::new(path, rows.len(), &row_key);
        table.utf8(
            "scenario",
            scenario_rows.iter().map(|r| r.scenario.as_str()),
        );
        headline_columns(&mut table, &rows, &results.provenance.levels)?;
        table.finish(&results.provenance)
    }
}

/// The columns of a headline table: metric, unit, description, reported, the
/// summary columns and p_ge_reported.
fn headline_columns(
    table: &mut TableBuilder<'_>,
    rows: &[&HeadlineRow],
    levels: &[f64],
) -> Result<(), OutputError> {
    table.utf8("metric", rows.iter().map(|r| r.metric));
    table.utf8("unit", rows.iter().map(|r| r.unit));
    table.utf8("description", rows.iter().map(|r| r.description));
    table.nullable_float64("reported", rows.iter().map(|r| r.reported))?;
    let summaries: Vec<_> = rows.iter().map(|r| &r.summary).collect();
    table.summary_columns(&summaries, levels)?;
    table.nullable_float64("p_ge_reported", rows.iter().map(|r| r.p_ge_reported))
}
