//! `drivers.parquet` (`run --sensitivity`): what drives each output, from the run's
//! own draws.
//!
//! Two kinds of rows, told apart by `analysis`:
//!
//! - `first_order`: for every headline and province metric that varies and every
//!   parameter group, the bias-corrected correlation ratio `s1` (a first-order
//!   index; for a group of several variates, a lower bound) and `p_value`, the F
//!   test of "the output's mean does not depend on the group";
//! - `filter`: for every headline metric with a reported figure and every group,
//!   Monte Carlo filtering at `threshold` (the figure): the draws at or above it
//!   (`draws_ge`) and below (`draws_lt`), the Kolmogorov–Smirnov distance
//!   `ks_distance` between the group's score in the two sets, its `p_value`, and the
//!   mean normal score of each set (`mean_score_ge`, `mean_score_lt`: which way the
//!   group pushes).
//!
//! | column | type | |
//! |---|---|---|
//! | `analysis` | Utf8 | `first_order` or `filter` |
//! | `entity` | Utf8 | `province` or `headline` |
//! | `city_id`, `city`, `city_en` | Utf8, nullable | (null: no city rows) |
//! | `province` | Utf8, nullable | province rows |
//! | `metric`, `unit` | Utf8 | the output |
//! | `group`, `variates` | Utf8, UInt64 | the input group |
//! | `s1` | Float64, nullable | `first_order` rows |
//! | `threshold`, `ks_distance` | Float64, nullable | `filter` rows |
//! | `draws_ge`, `draws_lt` | UInt64, nullable | `filter` rows |
//! | `mean_score_ge`, `mean_score_lt` | Float64, nullable | `filter` rows with draws in that set |
//! | `p_value` | Float64 | F test (`first_order`) or KS test (`filter`) |
//! | `draws` | UInt64 | draws of the run |

use std::path::Path;

use super::drivers_rows::{FilterRow, GivenDataRow, OutputLabel};
use super::error::OutputError;
use super::format::OutputFile;
use super::names::DRIVERS_FILE;
use super::parquet_common::TableBuilder;
use super::rows::RunResults;

/// Writer of `drivers.parquet`.
pub(super) struct DriversParquet;

/// The columns that say which output a row is about.
pub(super) fn label_columns<'l>(
    table: &mut TableBuilder<'_>,
    labels: impl Iterator<Item = &'l OutputLabel> + Clone,
) {
    table.utf8("entity", labels.clone().map(|l| l.entity));
    table.nullable_utf8("city_id", labels.clone().map(|l| l.city_id.as_deref()));
    table.nullable_utf8("city", labels.clone().map(|l| l.city.as_deref()));
    table.nullable_utf8("city_en", labels.clone().map(|l| l.city_en.as_deref()));
    table.nullable_utf8("province", labels.clone().map(|l| l.province.as_deref()));
    table.utf8("metric", labels.clone().map(|l| l.metric));
    table.utf8("unit", labels.map(|l| l.unit));
}

/// One row of either kind.
enum Row<'a> {
    First(&'a GivenDataRow),
    Filter(&'a FilterRow),
}

impl Row<'_> {
    fn output(&self) -> usize {
        match self {
            Row::First(r) => r.output,
            Row::Filter(r) => r.output,
        }
    }

    fn group(&self) -> usize {
        match self {
            Row::First(r) => r.group,
            Row::Filter(r) => r.group,
        }
    }

    fn filter(&self) -> Option<&FilterRow> {
        match self {
            Row::First(_) => None,
            Row::Filter(r) => Some(r),
        }
    }
}

impl OutputFile for DriversParquet {
    fn file_name(&self) -> &'static str {
        DRIVERS_FILE
    }

    fn render(&self, run: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError> {
        let Some(results) = &run.drivers else {
            return Err(OutputError::Inconsistent {
                path: path.to_path_buf(),
                message: "the run has no given-data sensitivity to write".to_string(),
            });
        };
        let rows: Vec<Row<'_>> = (results.first_order.iter().map(Row::First))
            .chain(results.filters.iter().map(Row::Filter))
            .collect();
        let label = |r: &Row<'_>| &results.outputs[r.output()];
        let group = |r: &Row<'_>| &results.groups[r.group()];
        let row_key = |i: usize| {
            let r = &rows[i];
            format!(
                "row {i} (analysis={}, metric={}, province={:?}, group={})",
                if r.filter().is_some() {
                    "filter"
                } else {
                    "first_order"
                },
                label(r).metric,
                label(r).province,
                group(r).name
            )
        };
        let mut table = TableBuilder::new(path, rows.len(), &row_key);
        table.utf8(
            "analysis",
            rows.iter().map(|r| match r {
                Row::First(_) => "first_order",
                Row::Filter(_) => "filter",
            }),
        );
        label_columns(&mut table, rows.iter().map(label));
        table.utf8("group", rows.iter().map(|r| group(r).name.as_str()));
        table.uint64("variates", rows.iter().map(|r| group(r).variates));
        table.nullable_float64(
            "s1",
            rows.iter().map(|r| match r {
                Row::First(f) => Some(f.s1),
                Row::Filter(_) => None,
            }),
        )?;
        let filter = |f: fn(&FilterRow) -> f64| move |r: &Row<'_>| r.filter().map(f);
        table.nullable_float64("threshold", rows.iter().map(filter(|f| f.threshold)))?;
        table.nullable_uint64(
            "draws_ge",
            rows.iter().map(|r| r.filter().map(|f| f.draws_ge)),
        );
        table.nullable_uint64(
            "draws_lt",
            rows.iter().map(|r| r.filter().map(|f| f.draws_lt)),
        );
        table.nullable_float64("ks_distance", rows.iter().map(filter(|f| f.ks_distance)))?;
        table.nullable_float64(
            "mean_score_ge",
            rows.iter()
                .map(|r| r.filter().and_then(|f| f.mean_score_ge)),
        )?;
        table.nullable_float64(
            "mean_score_lt",
            rows.iter()
                .map(|r| r.filter().and_then(|f| f.mean_score_lt)),
        )?;
        table.float64(
            "p_value",
            rows.iter().map(|r| match r {
                Row::First(f) => f.p_value,
                Row::Filter(f) => f.p_value,
            }),
        )?;
        table.uint64("draws", rows.iter().map(|_| run.provenance.draws));
        table.finish(&run.provenance)
    }
}
