//! `sensitivity.parquet` and `sensitivity_convergence.parquet` (`evcarbon
//! sensitivity`): Sobol indices of every output that varies, per input group.
//!
//! One row per (output, group), outputs in the order cities × city metrics,
//! provinces × province metrics, headlines; groups in the analysis' order:
//!
//! | column | type | |
//! |---|---|---|
//! | `entity` | Utf8 | `city`, `province` or `headline` |
//! | `city_id`, `city`, `city_en` | Utf8, nullable | city rows |
//! | `province` | Utf8, nullable | city and province rows |
//! | `metric`, `unit` | Utf8 | the output |
//! | `group` | Utf8 | the input group |
//! | `variates` | UInt64 | independent variates in the group |
//! | `estimator` | Utf8 | first-order estimator (`saltelli2010` or `janon2014`) |
//! | `s1`, `s1_lo95`, `s1_hi95` | Float64 | first-order index and its 95 % interval |
//! | `st`, `st_lo95`, `st_hi95` | Float64 | total index (Jansen) and its 95 % interval |
//! | `base_draws` | UInt64 | N of the estimate |
//! | `evaluations` | UInt64 | model evaluations behind it: N × (groups + 2) |
//!
//! The convergence file has the same columns, one block of rows after each round of
//! the design that ends at a power of two of base draws, the last block at N.

use std::path::Path;

use super::error::OutputError;
use super::format::OutputFile;
use super::names::{SENSITIVITY_CONVERGENCE_FILE, SENSITIVITY_FILE};
use super::parquet_common::TableBuilder;
use super::sensitivity_rows::{IndexRow, SensitivityResults};

/// Writer of `sensitivity.parquet`.
pub(super) struct SensitivityParquet;

/// Writer of `sensitivity_convergence.parquet`.
pub(super) struct SensitivityConvergenceParquet;

impl OutputFile<SensitivityResults> for SensitivityParquet {
    fn file_name(&self) -> &'static str {
        SENSITIVITY_FILE
    }

    fn render(&self, results: &SensitivityResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        index_table(results, &results.indices, path)
    }
}

impl OutputFile<SensitivityResults> for SensitivityConvergenceParquet {
    fn file_name(&self) -> &'static str {
        SENSITIVITY_CONVERGENCE_FILE
    }

    fn render(&self, results: &SensitivityResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        index_table(results, &results.convergence, path)
    }
}

fn index_table(
    results: &SensitivityResults,
    rows: &[IndexRow],
    path: &Path,
) -> Result<Vec<u8>, OutputError> {
    let out = |r: &IndexRow| &results.outputs[r.output];
    let group = |r: &IndexRow| &results.groups[r.group];
    let row_key = |i: usize| {
        let r = &rows[i];
        format!(
            "row {i} (entity={}, city_id={:?}, province={:?}, metric={}, group={}, base_draws={})",
            out(r).entity,
            out(r).city_id,
            out(r).province,
            out(r).metric,
            group(r).name,
            r.base_draws
        )
    };
    let mut table = TableBuilder::new(path, rows.len(), &row_key);
    super::drivers_parquet::label_columns(&mut table, rows.iter().map(out));
    table.utf8("group", rows.iter().map(|r| group(r).name.as_str()));
    table.uint64("variates", rows.iter().map(|r| group(r).variates));
    table.utf8("estimator", rows.iter().map(|_| results.settings.estimator));
    table.float64("s1", rows.iter().map(|r| r.s1.0))?;
    table.float64("s1_lo95", rows.iter().map(|r| r.s1.1))?;
    table.float64("s1_hi95", rows.iter().map(|r| r.s1.2))?;
    table.float64("st", rows.iter().map(|r| r.st.0))?;
    table.float64("st_lo95", rows.iter().map(|r| r.st.1))?;
    table.float64("st_hi95", rows.iter().map(|r| r.st.2))?;
    table.uint64("base_draws", rows.iter().map(|r| r.base_draws));
    let groups = results.groups.len() as u64;
    table.uint64(
        "evaluations",
        rows.iter().map(|r| r.base_draws * (groups + 2)),
    );
    table.finish(&results.provenance)
}
