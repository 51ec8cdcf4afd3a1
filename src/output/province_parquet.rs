//! `province_intervals.parquet`: one row per (province, metric), in the order given.

use std::path::Path;

use super::error::OutputError;
use super::format::OutputFile;
use super::names::PROVINCE_FILE;
use super::parquet_common::TableBuilder;
use super::rows::RunResults;

/// Writer of `province_intervals.parquet`.
pub(super) struct ProvinceParquet;

impl OutputFile for ProvinceParquet {
    fn file_name(&self) -> &'static str {
        PROVINCE_FILE
    }

    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let rows = &results.provinces;
        let row_key = |i: usize| {
            format!(
                "row {i} (province={:?}, metric={:?})",
                rows[i].province, rows[i].metric
            )
        };
        let mut table = TableBuilder::new(path, rows.len(), &row_key);
        table.utf8("province", rows.iter().map(|r| r.province.as_str()));
        table.utf8("metric", rows.iter().map(|r| r.metric));
        table.utf8("unit", rows.iter().map(|r| r.unit));
        let summaries: Vec<_> = rows.iter().map(|r| &r.summary).collect();
        table.summary_columns(&summaries, &results.provenance.levels)?;
        table.finish(&results.provenance)
    }
}
