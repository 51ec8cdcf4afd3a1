//! `headline_quantiles.parquet`: each headline metric's quantiles at the
//! probabilities 0, 0.01, …, 1, in headline order, from the run's quantile sketch
//! (the exact smallest and largest draws at 0 and 1). The report draws each
//! headline's distribution from it.
//!
//! | column | type | |
//! |---|---|---|
//! | `metric`, `unit` | Utf8 | the headline |
//! | `probability` | Float64 | p |
//! | `value` | Float64 | the quantile at p, metric unit |

use std::path::Path;

use super::error::OutputError;
use super::format::OutputFile;
use super::names::HEADLINE_QUANTILES_FILE;
use super::parquet_common::TableBuilder;
use super::rows::RunResults;

/// Writer of `headline_quantiles.parquet`.
pub(super) struct HeadlineQuantilesParquet;

impl OutputFile for HeadlineQuantilesParquet {
    fn file_name(&self) -> &'static str {
        HEADLINE_QUANTILES_FILE
    }

    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let rows = &results.headline_quantiles;
        let row_key = |i: usize| {
            format!(
                "row {i} (metric={:?}, probability={})",
                rows[i].metric, rows[i].probability
            )
        };
        let mut table = TableBuilder::new(path, rows.len(), &row_key);
        table.utf8("metric", rows.iter().map(|r| r.metric));
        table.utf8("unit", rows.iter().map(|r| r.unit));
        table.float64("probability", rows.iter().map(|r| r.probability))?;
        table.float64("value", rows.iter().map(|r| r.value))?;
        table.finish(&results.provenance)
    }
}
