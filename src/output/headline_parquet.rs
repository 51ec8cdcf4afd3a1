//! `headline_intervals.parquet`: one row per headline metric, in the order given.

use std::path::Path;

use super::error::OutputError;
use super::format::OutputFile;
use super::names::HEADLINE_FILE;
use super::parquet_common::TableBuilder;
use super::rows::RunResults;

/// Writer of `headline_intervals.parquet`.
pub(super) struct HeadlineParquet;

impl OutputFile for HeadlineParquet {
    fn file_name(&self) -> &'static str {
        HEADLINE_FILE
    }

    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let rows = &results.headlines;
        let row_key = |i: usize| format!("row {i} (metric={:?})", rows[i].metric);
        let mut table = TableBuilder::new(path, rows.len(), &row_key);
        table.utf8("metric", rows.iter().map(|r| r.metric));
        table.utf8("unit", rows.iter().map(|r| r.unit));
        table.utf8("description", rows.iter().map(|r| r.description));
        table.nullable_float64("reported", rows.iter().map(|r| r.reported))?;
        let summaries: Vec<_> = rows.iter().map(|r| &r.summary).collect();
        table.summary_columns(&summaries, &results.provenance.levels)?;
        table.nullable_float64("p_ge_reported", rows.iter().map(|r| r.p_ge_reported))?;
        table.finish(&results.provenance)
    }
}
