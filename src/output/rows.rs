//! The rows and run records that the output files are written from: plain data,
//! filled in by the run driver.

use evcarbon_engine::stats::Summary;

/// Run-invariant provenance: written to the manifest and to the key-value
/// metadata (keys `evcarbon.<field>`) of every Parquet file.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// Version of the evcarbon binary.
    pub tool_version: String,
    /// Config file path as given by the user.
    pub config_path: String,
    /// SHA-256 of the config file (hex).
    pub config_sha256: String,
    /// Master seed.
    pub seed: u64,
    /// Number of draws aggregated.
    pub draws: u64,
    /// Sampler name (`mc`, `lhs`, `sobol`).
    pub sampler: String,
    /// Central interval levels, in column order.
    pub levels: Vec<f64>,
    /// Name of the quantile estimator.
    pub quantile_method: String,
    /// Guaranteed relative accuracy of the reported quantiles.
    pub quantile_relative_accuracy: f64,
    /// Random number generator name.
    pub rng: String,
    /// Draws per chunk (the unit of reproducible work).
    pub chunk_size: u64,
    /// Free-form notes, e.g. why a headline row is left out.
    pub notes: Vec<String>,
}

/// Run-dependent measurements: written to the manifest only, never to Parquet.
#[derive(Clone, Debug, PartialEq)]
pub struct Telemetry {
    /// Worker threads used.
    pub threads: usize,
    /// Wall-clock time of the run in seconds.
    pub wall_seconds: f64,
    /// Throughput of the run.
    pub draws_per_second: f64,
}

/// How the run went: written to the manifest only.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// Why the run stopped: "draws reached", "precision reached" or "max draws reached".
    pub stop_reason: String,
    /// The `--until` settings, if any.
    pub until: Option<UntilSettings>,
    /// True when quantiles are exact (`--exact`) rather than from the sketch.
    pub exact: bool,
    /// Draws loaded from a checkpoint when the run was resumed.
    pub resumed_from_draws: Option<u64>,
}

impl Default for RunInfo {
    fn default() -> RunInfo {
        RunInfo {
            stop_reason: "draws reached".to_string(),
            until: None,
            exact: false,
            resumed_from_draws: None,
        }
    }
}

/// The settings of a `--until` run, for the manifest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UntilSettings {
    /// Target relative Monte Carlo standard error of every headline bound.
    pub rel: f64,
    /// The rule was not checked before this many draws.
    pub min_draws: u64,
    /// The run stops here whatever the precision.
    pub max_draws: u64,
    /// Draws per block: the rule is checked after each block.
    pub check_every_draws: u64,
}

/// One row of `city_intervals.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub struct CityRow {
    /// City id from cities.csv.
    pub city_id: String,
    /// City name.
    pub city: String,
    /// City name in English, where the cities table gives one.
    pub city_en: Option<String>,
    /// Province of the city.
    pub province: String,
    /// Tier of the city.
    pub tier: String,
    /// Metric name.
    pub metric: &'static str,
    /// Unit of the metric.
    pub unit: &'static str,
    /// Aggregated draws of the metric.
    pub summary: Summary,
}

/// One row of `province_intervals.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProvinceRow {
    /// Province name.
    pub province: String,
    /// Metric name.
    pub metric: &'static str,
    /// Unit of the metric.
    pub unit: &'static str,
    /// Aggregated draws of the metric.
    pub summary: Summary,
}

/// One row of `headline_intervals.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadlineRow {
    /// Headline metric name.
    pub metric: &'static str,
    /// Unit of the metric.
    pub unit: &'static str,
    /// One-sentence description.
    pub description: &'static str,
    /// Figure reported by the study, if any.
    pub reported: Option<f64>,
    /// Aggregated draws of the metric.
    pub summary: Summary,
    /// Probability that the metric is at least `reported` (None when no figure).
    pub p_ge_reported: Option<f64>,
}

/// Everything a completed run writes.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResults {
    /// Run-invariant provenance.
    pub provenance: Provenance,
    /// Threads and timings (manifest only).
    pub telemetry: Telemetry,
    /// City rows, in output order.
    pub cities: Vec<CityRow>,
    /// Province rows, in output order.
    pub provinces: Vec<ProvinceRow>,
    /// Headline rows, in output order.
    pub headlines: Vec<HeadlineRow>,
    /// Each headline's quantiles at 0, 0.01, …, 1 (`headline_quantiles.parquet`).
    pub headline_quantiles: Vec<HeadlineQuantileRow>,
    /// Headline metrics left out, as (metric, reason).
    pub excluded_headlines: Vec<(String, String)>,
    /// Why and how the run stopped (manifest only).
    pub run_info: RunInfo,
    /// Rows of `convergence.parquet` (one per block, headline metric and
    /// statistic); the file is written when this is not empty.
    pub convergence: Vec<ConvergenceRow>,
    /// Scenario − baseline rows (empty without scenarios).
    pub scenario_deltas: Vec<ScenarioDeltaRow>,
    /// Each scenario's own headline rows (empty without scenarios).
    pub scenario_headlines: Vec<ScenarioHeadlineRow>,
    /// What drives each output (`run --sensitivity`; `drivers.parquet`).
    pub drivers: Option<super::drivers_rows::DriverResults>,
    /// How accurate the reported quantiles are (manifest only).
    pub quantile_accuracy: QuantileAccuracy,
}

/// The accuracy of every reported quantile against the exact empirical quantile
/// of the same draws, as checked after the run (manifest only).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuantileAccuracy {
    /// The guarantee, in words.
    pub guarantee: String,
    /// Stated bound in standard deviations of the series (0.01).
    pub absolute_sd: f64,
    /// Stated bound relative to the quantile's magnitude (0.001).
    pub relative: f64,
    /// Quantiles whose error bound was checked: every median and interval bound
    /// of every table, and the headline quantile grid.
    pub quantiles_checked: u64,
    /// The largest error bound found, in standard deviations of its series.
    pub largest_error_sd: f64,
    /// The largest error bound relative to its quantile's magnitude.
    pub largest_error_relative: f64,
    /// The finest and coarsest sketch accuracy α chosen for a series.
    pub finest_alpha: f64,
    pub coarsest_alpha: f64,
    /// Quantiles whose bound exceeds the guarantee, and up to ten of them in words.
    pub not_met: u64,
    pub not_met_examples: Vec<String>,
}

/// One row of `headline_quantiles.parquet`: a headline's quantile at one
/// probability, from the run's quantile sketch.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadlineQuantileRow {
    /// Headline metric name.
    pub metric: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Probability `p` in [0, 1], in steps of 0.01.
    pub probability: f64,
    /// The inverted-CDF quantile at `p` (the smallest and largest draw at 0 and 1).
    pub value: f64,
}

/// One row of `scenario_deltas.parquet`: the distribution of scenario − baseline
/// for one metric of one entity (or a headline), on common random numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioDeltaRow {
    /// Scenario name.
    pub scenario: String,
    /// Which table the row's metric is from: `city`, `province` or `headline`
    /// (the `level` column).
    pub row_kind: &'static str,
    /// City id (city rows only).
    pub city_id: Option<String>,
    /// City name (city rows only).
    pub city: Option<String>,
    /// City name in English (city rows, where the cities table gives one).
    pub city_en: Option<String>,
    /// Province id (city and province rows).
    pub province: Option<String>,
    /// City tier (city rows only).
    pub tier: Option<String>,
    /// Metric name.
    pub metric: &'static str,
    /// Unit of the metric (the delta has the same unit).
    pub unit: &'static str,
    /// Summary of the per-draw differences.
    pub summary: Summary,
}

/// One row of `convergence.parquet`: one statistic of one headline metric after
/// one `--until` block.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvergenceRow {
    /// Block index (0-based).
    pub block: u64,
    /// Draws aggregated after the block.
    pub draws: u64,
    /// Headline metric name.
    pub metric: String,
    /// Its unit.
    pub unit: String,
    /// `mean`, `sd`, or a bound's column name (`lo90`, `hi90`, …).
    pub statistic: String,
    /// The statistic's value.
    pub value: f64,
    /// Its Monte Carlo standard error (None for `sd`).
    pub mcse: Option<f64>,
    /// Bounds: the largest `mcse` the stopping rule accepts.
    pub tolerance: Option<f64>,
    /// Whether every bound of every headline metric met the rule after this block.
    pub precision_met: bool,
}

/// One row of `scenario_headlines.parquet`: a scenario's own distribution of one
/// headline metric (not its delta), with the reported figure.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioHeadlineRow {
    /// Scenario name.
    pub scenario: String,
    /// The headline row, as in `headline_intervals.parquet`.
    pub row: HeadlineRow,
}
