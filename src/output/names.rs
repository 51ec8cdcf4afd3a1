//! The names of the files in an output folder.

/// Name of the per-city interval table.
pub const CITY_FILE: &str = "city_intervals.parquet";
/// Name of the per-province interval table.
pub const PROVINCE_FILE: &str = "province_intervals.parquet";
/// Name of the headline interval table.
pub const HEADLINE_FILE: &str = "headline_intervals.parquet";
/// Name of the manifest; written last, its presence marks a completed run.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Name of the per-block convergence table (runs with `--until`).
pub const CONVERGENCE_FILE: &str = "convergence.parquet";
/// Name of the checkpoint of an unfinished run.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

/// Name of the scenario delta table (written only when the config has scenarios).
pub const SCENARIO_FILE: &str = "scenario_deltas.parquet";

/// Name of the table of each scenario's own headlines (written with the deltas).
pub const SCENARIO_HEADLINE_FILE: &str = "scenario_headlines.parquet";

/// Every file a run may leave in its output folder (manifest last).
pub(super) const RUN_FILES: [&str; 8] = [
    CITY_FILE,
    PROVINCE_FILE,
    HEADLINE_FILE,
    SCENARIO_FILE,
    SCENARIO_HEADLINE_FILE,
    CONVERGENCE_FILE,
    CHECKPOINT_FILE,
    MANIFEST_FILE,
];
