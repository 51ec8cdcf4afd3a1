//! The names of the files in an output folder.

/// Name of the per-city interval table.
pub const CITY_FILE: &str = "city_intervals.parquet";
/// Name of the per-province interval table.
pub const PROVINCE_FILE: &str = "province_intervals.parquet";
/// Name of the headline interval table.
pub const HEADLINE_FILE: &str = "headline_intervals.parquet";
/// Name of the table of each headline's quantiles at every hundredth.
pub const HEADLINE_QUANTILES_FILE: &str = "headline_quantiles.parquet";
/// Name of the manifest; written last, its presence marks a completed run.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Name of the per-block convergence table (runs with `--until`).
pub const CONVERGENCE_FILE: &str = "convergence.parquet";
/// Name of the checkpoint of an unfinished run.
pub const CHECKPOINT_FILE: &str = "checkpoint.evstate";

/// Name of the scenario delta table (written only when the config has scenarios).
pub const SCENARIO_FILE: &str = "scenario_deltas.parquet";

/// Name of the table of each scenario's own headlines (written with the deltas).
pub const SCENARIO_HEADLINE_FILE: &str = "scenario_headlines.parquet";

/// Name of the given-data drivers table (`run --sensitivity`).
pub const DRIVERS_FILE: &str = "drivers.parquet";

/// Name of the Sobol index table (`evcarbon sensitivity`).
pub const SENSITIVITY_FILE: &str = "sensitivity.parquet";
/// Name of the Sobol indices at each power of two of base draws.
pub const SENSITIVITY_CONVERGENCE_FILE: &str = "sensitivity_convergence.parquet";
/// Name of the manifest of a Sobol analysis; written last.
pub const SENSITIVITY_MANIFEST_FILE: &str = "sensitivity.json";

/// Every file `evcarbon sensitivity` writes (manifest last). They live beside a
/// run's files, which they leave alone.
pub(super) const SENSITIVITY_FILES: [&str; 3] = [
    SENSITIVITY_FILE,
    SENSITIVITY_CONVERGENCE_FILE,
    SENSITIVITY_MANIFEST_FILE,
];

/// Every file a run may leave in its output folder (manifest last).
pub(super) const RUN_FILES: [&str; 10] = [
    CITY_FILE,
    PROVINCE_FILE,
    HEADLINE_FILE,
    HEADLINE_QUANTILES_FILE,
    SCENARIO_FILE,
    SCENARIO_HEADLINE_FILE,
    CONVERGENCE_FILE,
    DRIVERS_FILE,
    CHECKPOINT_FILE,
    MANIFEST_FILE,
];
