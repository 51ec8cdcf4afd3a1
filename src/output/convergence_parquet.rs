//! `convergence.parquet` (runs with `--until`): every headline metric after each
//! block, in long format.
//!
//! One row per (block, metric, statistic):
//!
//! | column | type | |
//! |---|---|---|
//! | `block` | UInt64 | block index (0-based) |
//! | `draws` | UInt64 | draws aggregated after the block |
//! | `metric`, `unit` | Utf8 | headline metric |
//! | `statistic` | Utf8 | `mean`, `sd`, or a bound column name (`lo90`, `hi90`, …) |
//! | `value` | Float64 | the statistic |
//! | `mcse` | Float64, nullable | its Monte Carlo standard error (null for `sd`) |
//! | `tolerance` | Float64, nullable | bounds: `REL × max(|value|, sd)`, the largest accepted `mcse` |
//! | `within_tolerance` | Boolean, nullable | bounds: `mcse ≤ tolerance` |
//! | `precision_met` | Boolean | every bound of every headline metric within tolerance after this block |

use std::path::Path;

use super::error::OutputError;
use super::format::OutputFile;
use super::names::CONVERGENCE_FILE;
use super::parquet_common::TableBuilder;
use super::rows::RunResults;

/// Writer of `convergence.parquet`.
pub(super) struct ConvergenceParquet;

impl OutputFile for ConvergenceParquet {
    fn file_name(&self) -> &'static str {
        CONVERGENCE_FILE
    }

    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let rows = &results.convergence;
        let row_key = |i: usize| {
            format!(
                "row {i} (block={}, metric={:?}, statistic={:?})",
                rows[i].block, rows[i].metric, rows[i].statistic
            )
        };
        let mut table = TableBuilder::new(path, rows.len(), &row_key);
        table.uint64("block", rows.iter().map(|r| r.block));
        table.uint64("draws", rows.iter().map(|r| r.draws));
        table.utf8("metric", rows.iter().map(|r| r.metric.as_str()));
        table.utf8("unit", rows.iter().map(|r| r.unit.as_str()));
        table.utf8("statistic", rows.iter().map(|r| r.statistic.as_str()));
        table.float64("value", rows.iter().map(|r| r.value))?;
        table.nullable_float64("mcse", rows.iter().map(|r| r.mcse))?;
        table.nullable_float64("tolerance", rows.iter().map(|r| r.tolerance))?;
        table.boolean(
            "within_tolerance",
            true,
            rows.iter().map(|r| Some(r.mcse? <= r.tolerance?)),
        );
        table.boolean(
            "precision_met",
            false,
            rows.iter().map(|r| Some(r.precision_met)),
        );
        table.finish(&results.provenance)
    }
}
