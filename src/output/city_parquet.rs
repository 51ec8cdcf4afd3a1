//! `city_intervals.parquet`: one row per (city, metric), in the order given.

use std::path::Path;

use super::error::OutputError;
use super::format::OutputFile;
use super::names::CITY_FILE;
use super::parquet_common::TableBuilder;
use super::rows::RunResults;

/// Writer of `city_intervals.parquet`.
pub(super) struct CityParquet;

impl OutputFile for CityParquet {
    fn file_name(&self) -> &'static str {
        CITY_FILE
    }

    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let rows = &results.cities;
        let row_key = |i: usize| {
            format!(
                "row {i} (city_id={:?}, metric={:?})",
                rows[i].city_id, rows[i].metric
            )
        };
        let mut table = TableBuilder::new(path, rows.len(), &row_key);
        table.utf8("city_id", rows.iter().map(|r| r.city_id.as_str()));
        table.utf8("city", rows.iter().map(|r| r.city.as_str()));
        table.nullable_utf8("city_en", rows.iter().map(|r| r.city_en.as_deref()));
        table.utf8("province", rows.iter().map(|r| r.province.as_str()));
        table.utf8("tier", rows.iter().map(|r| r.tier.as_str()));
        table.utf8("metric", rows.iter().map(|r| r.metric));
        table.utf8("unit", rows.iter().map(|r| r.unit));
        let summaries: Vec<_> = rows.iter().map(|r| &r.summary).collect();
        table.summary_columns(&summaries, &results.provenance.levels)?;
        table.finish(&results.provenance)
    }
}
