//! `scenario_deltas.parquet`: one row per (scenario, entity, metric) and per
//! (scenario, headline), summarising scenario − baseline on common random numbers.

use std::path::Path;

use super::error::OutputError;
use super::format::OutputFile;
use super::names::SCENARIO_FILE;
use super::parquet_common::TableBuilder;
use super::rows::RunResults;

/// Writer of `scenario_deltas.parquet`.
pub(super) struct ScenarioParquet;

impl OutputFile for ScenarioParquet {
    fn file_name(&self) -> &'static str {
        SCENARIO_FILE
    }

    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let rows = &results.scenario_deltas;
        let row_key = |i: usize| {
            let r = &rows[i];
            format!(
                "row {i} (scenario={:?}, level={:?}, id={:?}, metric={:?})",
                r.scenario,
                r.row_kind,
                r.city_id.as_deref().or(r.province.as_deref()),
                r.metric
            )
        };
        let mut table = TableBuilder::new(path, rows.len(), &row_key);
        table.utf8("scenario", rows.iter().map(|r| r.scenario.as_str()));
        table.utf8("level", rows.iter().map(|r| r.row_kind));
        table.nullable_utf8("city_id", rows.iter().map(|r| r.city_id.as_deref()));
        table.nullable_utf8("city", rows.iter().map(|r| r.city.as_deref()));
        table.nullable_utf8("city_en", rows.iter().map(|r| r.city_en.as_deref()));
        table.nullable_utf8("province", rows.iter().map(|r| r.province.as_deref()));
        table.nullable_utf8("tier", rows.iter().map(|r| r.tier.as_deref()));
        table.utf8("metric", rows.iter().map(|r| r.metric));
        table.utf8("unit", rows.iter().map(|r| r.unit));
        let summaries: Vec<_> = rows.iter().map(|r| &r.summary).collect();
        table.summary_columns(&summaries, &results.provenance.levels)?;
        table.finish(&results.provenance)
    }
}
