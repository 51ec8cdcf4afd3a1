//! Output files of a run: the interval tables (Parquet) and the manifest (JSON).
//!
//! Layout of an output folder:
//!
//! - `city_intervals.parquet`: one row per (city, metric);
//! - `province_intervals.parquet`: one row per (province, metric);
//! - `headline_intervals.parquet`: one row per headline metric;
//! - `scenario_deltas.parquet` (configs with scenarios): scenario − baseline per
//!   metric, on common random numbers;
//! - `scenario_headlines.parquet` (with it): each scenario's own headline intervals
//!   and P(≥ reported);
//! - `convergence.parquet` (runs with `--until` only): headline metrics after each block;
//! - `drivers.parquet` (`run --sensitivity` only): given-data first-order indices
//!   and Monte Carlo filtering at the reported figures;
//! - `sensitivity.parquet`, `sensitivity_convergence.parquet` and
//!   `sensitivity.json` (`evcarbon sensitivity`): Sobol indices, beside a run's files;
//! - `manifest.json`: provenance, telemetry, why the run stopped and the list of files;
//! - `checkpoint.evstate` (unfinished runs only): the state to `--resume` from; deleted
//!   when the run completes.
//!
//! Every file is first written to a hidden temporary name in the same folder
//! (`.<name>.partial-<pid>`), flushed to disk and then renamed over its final
//! name, so an interrupted run never leaves a half-written file that looks
//! complete. `manifest.json` is written last: its presence means that the run
//! completed. All rows are checked (finite values, interval levels) before any
//! file is touched.
//!
//! The Parquet files depend only on the run-invariant [`Provenance`] and the
//! summaries, never on threads, timings, host or time of day, so they are
//! byte-identical for any thread count.

mod city_parquet;
mod convergence_parquet;
mod drivers_parquet;
mod drivers_rows;
mod error;
mod folder;
mod format;
mod headline_parquet;
mod headline_quantiles_parquet;
mod manifest;
mod names;
mod parquet_common;
mod province_parquet;
mod rows;
mod scenario_parquet;
mod sensitivity_manifest;
mod sensitivity_parquet;
mod sensitivity_rows;

pub use drivers_rows::{DriverResults, FilterRow, GivenDataRow, GroupInfo, OutputLabel};
pub use error::OutputError;
pub use folder::{
    prepare_output_dir, prepare_resume_dir, prepare_sensitivity_dir, remove_checkpoint,
    write_file_atomically_with, write_results, write_sensitivity,
};
pub use names::{
    CHECKPOINT_FILE, CITY_FILE, CONVERGENCE_FILE, DRIVERS_FILE, HEADLINE_FILE,
    HEADLINE_QUANTILES_FILE, MANIFEST_FILE, PROVINCE_FILE, SCENARIO_FILE, SCENARIO_HEADLINE_FILE,
    SENSITIVITY_CONVERGENCE_FILE, SENSITIVITY_FILE, SENSITIVITY_MANIFEST_FILE,
};
pub use rows::{
    CityRow, ConvergenceRow, HeadlineQuantileRow, HeadlineRow, Provenance, ProvinceRow,
    QuantileAccuracy, RunInfo, RunResults, ScenarioDeltaRow, ScenarioHeadlineRow, Telemetry,
    UntilSettings,
};
pub use sensitivity_rows::{IndexRow, SensitivityResults, SensitivitySettings};

#[cfg(test)]
mod tests;
