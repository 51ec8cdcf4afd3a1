//! Output files of a run: the interval tables (Parquet) and the manifest (JSON).
//!
//! Layout of an output folder (SPEC sections 4–6):
//!
//! - `city_intervals.parquet`: one row per (city, metric);
//! - `province_intervals.parquet`: one row per (province, metric);
//! - `headline_intervals.parquet`: one row per headline metric;
//! - `convergence.parquet` (runs with `--until` only): headline metrics after each block;
//! - `manifest.json`: provenance, telemetry, why the run stopped and the list of files;
//! - `checkpoint.json` (unfinished runs only): the state to `--resume` from; deleted
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
mod headline_parquet;
mod manifest;
mod parquet_common;
mod province_parquet;
mod scenario_parquet;

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::longrun::{ConvergenceBlock, Until};
use crate::stats::Summary;

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

/// The files every completed run writes, in the order it writes them (manifest last).
pub const OUTPUT_FILES: [&str; 4] = [CITY_FILE, PROVINCE_FILE, HEADLINE_FILE, MANIFEST_FILE];

/// Every file a run may leave in its output folder (manifest last).
const RUN_FILES: [&str; 7] = [
    CITY_FILE,
    PROVINCE_FILE,
    HEADLINE_FILE,
    SCENARIO_FILE,
    CONVERGENCE_FILE,
    CHECKPOINT_FILE,
    MANIFEST_FILE,
];

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
    pub until: Option<Until>,
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

/// One row of `city_intervals.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub struct CityRow {
    /// City id from cities.csv.
    pub city_id: String,
    /// City name.
    pub city: String,
    /// Province of the city.
    pub province: String,
    /// Tier of the city.
    pub tier: String,
    /// Metric name (SPEC section 2).
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
    /// Metric name (SPEC section 2, headline table).
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
    /// Headline metrics left out, as (metric, reason).
    pub excluded_headlines: Vec<(String, String)>,
    /// Why and how the run stopped (manifest only).
    pub run_info: RunInfo,
    /// Convergence records after each `--until` block; `convergence.parquet` is
    /// written when this is not empty.
    pub convergence: Vec<ConvergenceBlock>,
    /// Scenario − baseline rows (empty without scenarios).
    pub scenario_deltas: Vec<ScenarioDeltaRow>,
}

/// One row of `scenario_deltas.parquet`: the distribution of scenario − baseline
/// for one metric of one entity (or a headline), on common random numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioDeltaRow {
    /// Scenario name.
    pub scenario: String,
    /// `city`, `province` or `headline`.
    pub level: &'static str,
    /// City id (city rows only).
    pub city_id: Option<String>,
    /// City name (city rows only).
    pub city: Option<String>,
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

/// Errors while preparing the output folder or writing the files.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output folder already holds results and `--force` was not given.
    #[error(
        "output folder {} already holds results ({}); pass --force to overwrite them, or choose another folder with --out",
        dir.display(), found.join(", ")
    )]
    Exists {
        /// The output folder.
        dir: PathBuf,
        /// Our files found in it.
        found: Vec<String>,
    },
    /// The output folder holds the checkpoint of an unfinished run.
    #[error(
        "output folder {} holds the checkpoint of an unfinished run; continue it with --resume (same command), or pass --force to discard it and start over",
        dir.display()
    )]
    Unfinished {
        /// The output folder.
        dir: PathBuf,
    },
    /// The output path exists but is not a folder.
    #[error(
        "output path {} exists and is not a folder; choose a folder with --out",
        path.display()
    )]
    NotAFolder {
        /// The offending path.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error(
        "cannot write {}: {source}; check that the folder exists, is writable and has free space",
        path.display()
    )]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Encoding a Parquet file failed.
    #[error(
        "cannot encode Parquet file {}: {source}; this is a bug in evcarbon, please report it",
        path.display()
    )]
    Parquet {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Encoding the manifest failed.
    #[error(
        "cannot encode JSON file {}: {source}; this is a bug in evcarbon, please report it",
        path.display()
    )]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A value to be written is NaN or infinite; nothing was written.
    #[error(
        "refusing to write {}: {row}, column `{column}` is {value} (not finite); no file was written; this is a bug in evcarbon, please report it",
        path.display()
    )]
    NonFinite {
        /// The file that would have held the value.
        path: PathBuf,
        /// Which row (index and key), e.g. `row 3 (city_id="110000", metric="ev_g_per_km")`.
        row: String,
        /// Column name.
        column: String,
        /// The offending value.
        value: f64,
    },
    /// The results are inconsistent with the schema (e.g. interval levels); nothing was written.
    #[error(
        "refusing to write {}: {message}; no file was written; this is a bug in evcarbon, please report it",
        path.display()
    )]
    Inconsistent {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl OutputError {
    /// True when the user can fix the problem (exit status 2), false for internal or system errors (exit status 1).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::Exists { .. } | Self::NotAFolder { .. } | Self::Unfinished { .. }
        )
    }
}

/// Column-name label of an interval level: 0.9 → `"90"`, 0.995 → `"99_5"`.
///
/// The level is multiplied by 100 and rounded to 10 significant digits, so
/// float noise (`0.95 * 100 = 95.00000000000001`) disappears; trailing zeros
/// are dropped and the decimal point becomes `_`.
pub fn level_label(level: f64) -> String {
    let percent = level * 100.0;
    // `{:.9e}` keeps 10 significant digits; parsing it back and printing with
    // `Display` gives the shortest decimal form without trailing zeros.
    let rounded: f64 = format!("{percent:.9e}").parse().unwrap_or(percent);
    format!("{rounded}").replace('.', "_")
}

/// Prepares the output folder before sampling.
///
/// Fails with [`OutputError::Exists`] when `dir` already holds any of our
/// output files and `force` is false ([`OutputError::Unfinished`] when it holds
/// only a checkpoint). With `force`, our previous output files, any checkpoint
/// (and leftover temporary files of interrupted runs) are deleted, so a run
/// that fails later cannot leave old results next to new ones; other files are
/// never touched. Creates `dir` and its parents.
pub fn prepare_output_dir(dir: &Path, force: bool) -> Result<(), OutputError> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(OutputError::NotAFolder {
                path: dir.to_path_buf(),
            });
        }
        Ok(_) => {
            let found: Vec<String> = RUN_FILES
                .iter()
                .filter(|name| fs::symlink_metadata(dir.join(name)).is_ok())
                .map(|name| name.to_string())
                .collect();
            if !found.is_empty() && !force {
                if found == [CHECKPOINT_FILE] {
                    return Err(OutputError::Unfinished {
                        dir: dir.to_path_buf(),
                    });
                }
                return Err(OutputError::Exists {
                    dir: dir.to_path_buf(),
                    found,
                });
            }
            // Manifest first: once it is gone the folder no longer claims a completed run.
            for name in RUN_FILES.iter().rev() {
                remove_if_present(&dir.join(name))?;
            }
            remove_stale_partials(dir)?;
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(OutputError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Prepares the output folder of a resumed run: it must be a folder; leftover
/// temporary files are deleted, everything else (the checkpoint, results of an
/// earlier attempt that will be overwritten) is left alone.
pub fn prepare_resume_dir(dir: &Path) -> Result<(), OutputError> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(OutputError::NotAFolder {
            path: dir.to_path_buf(),
        }),
        Ok(_) => remove_stale_partials(dir),
        Err(source) => Err(OutputError::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Deletes the checkpoint in `dir`, if any (after a run completed).
pub fn remove_checkpoint(dir: &Path) -> Result<(), OutputError> {
    remove_if_present(&dir.join(CHECKPOINT_FILE))?;
    sync_dir(dir)
}

/// Writes all output files into `dir` (which must exist) and returns their paths.
///
/// All rows are checked first; a NaN or infinite value, or intervals that do
/// not match `provenance.levels`, give an error before any file is written.
/// A stale `manifest.json` is removed first and the new one is written last.
pub fn write_results(dir: &Path, results: &RunResults) -> Result<Vec<PathBuf>, OutputError> {
    let mut files: Vec<&dyn OutputFile> = vec![
        &city_parquet::CityParquet,
        &province_parquet::ProvinceParquet,
        &headline_parquet::HeadlineParquet,
    ];
    if !results.scenario_deltas.is_empty() {
        files.push(&scenario_parquet::ScenarioParquet);
    } else {
        remove_if_present(&dir.join(SCENARIO_FILE))?;
    }
    if !results.convergence.is_empty() {
        files.push(&convergence_parquet::ConvergenceParquet);
    } else {
        remove_if_present(&dir.join(CONVERGENCE_FILE))?;
    }
    files.push(&manifest::Manifest);
    // Render everything in memory first: validation happens before any disk write.
    let mut rendered = Vec::with_capacity(files.len());
    for file in files {
        let path = dir.join(file.file_name());
        let bytes = file.render(results, &path)?;
        rendered.push((file.file_name(), bytes));
    }
    remove_if_present(&dir.join(MANIFEST_FILE))?;
    let mut written = Vec::with_capacity(rendered.len());
    for (name, bytes) in rendered {
        written.push(write_atomically(dir, name, &bytes)?);
    }
    Ok(written)
}

/// One output file format.
trait OutputFile {
    /// Final file name inside the output folder.
    fn file_name(&self) -> &'static str;
    /// Checks the rows and encodes the whole file; `path` is used in error messages only.
    fn render(&self, results: &RunResults, path: &Path) -> Result<Vec<u8>, OutputError>;
}

/// Hidden temporary name of `name` while it is being written.
fn partial_name(name: &str) -> String {
    format!(".{name}.partial-{}", std::process::id())
}

/// Writes what `fill` writes to `dir/.name.partial-<pid>` (buffered, so that a
/// large file is streamed rather than held in memory), fsyncs, renames to
/// `dir/name` and fsyncs the folder; `name` must be one of the run's files (so that
/// stale temporary files are recognized and cleaned up).
pub(crate) fn write_file_atomically_with(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<PathBuf, OutputError> {
    let target = dir.join(name);
    let temp = dir.join(partial_name(name));
    let result = (|| -> std::io::Result<()> {
        let mut writer = std::io::BufWriter::new(File::create(&temp)?);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, &target)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&temp);
        return Err(OutputError::Io {
            path: target,
            source,
        });
    }
    sync_dir(dir)?;
    Ok(target)
}

/// Writes `bytes` to `dir/.name.partial-<pid>`, fsyncs, renames to `dir/name`
/// and fsyncs the folder (see [`write_file_atomically_with`]).
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, OutputError> {
    write_file_atomically_with(dir, name, |w| w.write_all(bytes))
}

/// Makes the rename durable by syncing the folder (Unix only).
fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| OutputError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Deletes `path` if it exists.
fn remove_if_present(path: &Path) -> Result<(), OutputError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OutputError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Deletes `.<our file>.partial-*` left by interrupted runs.
fn remove_stale_partials(dir: &Path) -> Result<(), OutputError> {
    let io_err = |source| OutputError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = RUN_FILES
            .iter()
            .any(|f| name.starts_with(&format!(".{f}.partial-")));
        if ours {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Interval;
    use arrow_array::{Array, Float64Array, RecordBatch, StringArray, UInt64Array};
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::metadata::ParquetMetaData;

    const LEVELS: [f64; 3] = [0.9, 0.95, 0.995];

    fn summary(seed: f64) -> Summary {
        Summary {
            draws: 1000,
            mean: seed,
            sd: seed / 10.0,
            mcse: seed / 100.0,
            median: seed + 0.5,
            intervals: LEVELS
                .iter()
                .enumerate()
                .map(|(k, &level)| Interval {
                    level,
                    lo: seed - 1.0 - k as f64,
                    hi: seed + 1.0 + k as f64,
                })
                .collect(),
            bounds_mcse: seed / 1000.0,
        }
    }

    fn sample_results(threads: usize) -> RunResults {
        let city =
            |id: &str, name: &str, tier: &str, metric: &'static str, unit: &'static str, v: f64| {
                CityRow {
                    city_id: id.to_string(),
                    city: name.to_string(),
                    province: "Guangdong".to_string(),
                    tier: tier.to_string(),
                    metric,
                    unit,
                    summary: summary(v),
                }
            };
        RunResults {
            provenance: Provenance {
                tool_version: "0.1.0".to_string(),
                config_path: "configs/test.toml".to_string(),
                config_sha256: "ab".repeat(32),
                seed: u64::MAX,
                draws: 1000,
                sampler: "mc".to_string(),
                levels: LEVELS.to_vec(),
                quantile_method: "ddsketch".to_string(),
                quantile_relative_accuracy: 0.001,
                rng: "chacha12".to_string(),
                chunk_size: 4096,
                notes: vec!["advanced_territorial_gap left out: no advanced city".to_string()],
            },
            telemetry: Telemetry {
                threads,
                wall_seconds: 1.5 * threads as f64,
                draws_per_second: 1000.0 / (1.5 * threads as f64),
            },
            cities: vec![
                city(
                    "440100",
                    "Guangzhou",
                    "tier1",
                    "import_share",
                    "fraction",
                    0.4,
                ),
                city(
                    "440100",
                    "Guangzhou",
                    "tier1",
                    "ev_g_per_km",
                    "gCO2/km",
                    90.0,
                ),
                city(
                    "440300",
                    "Shenzhen",
                    "tier1",
                    "import_share",
                    "fraction",
                    0.5,
                ),
                city(
                    "440300",
                    "Shenzhen",
                    "tier1",
                    "ev_g_per_km",
                    "gCO2/km",
                    85.0,
                ),
            ],
            provinces: vec![ProvinceRow {
                province: "Guangdong".to_string(),
                metric: "pool_intensity",
                unit: "gCO2/kWh",
                summary: summary(600.0),
            }],
            headlines: vec![
                HeadlineRow {
                    metric: "advanced_import_share",
                    unit: "fraction",
                    description: "energy-weighted import share of advanced cities",
                    reported: Some(0.42),
                    summary: summary(0.41),
                    p_ge_reported: Some(0.37),
                },
                HeadlineRow {
                    metric: "shifted_emissions_t",
                    unit: "tCO2/yr",
                    description: "EV emissions emitted outside the city",
                    reported: None,
                    summary: summary(1.0e6),
                    p_ge_reported: None,
                },
            ],
            run_info: RunInfo::default(),
            convergence: Vec::new(),
            excluded_headlines: vec![(
                "advanced_territorial_gap".to_string(),
                "no advanced city".to_string(),
            )],
            scenario_deltas: Vec::new(),
        }
    }

    /// Reads a whole Parquet file back as one batch, with its metadata.
    fn read(path: &Path) -> (RecordBatch, std::sync::Arc<ParquetMetaData>) {
        let file = File::open(path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let metadata = builder.metadata().clone();
        let mut batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
        assert_eq!(batches.len(), 1, "expected one batch in {}", path.display());
        (batches.remove(0), metadata)
    }

    fn summary_columns() -> Vec<&'static str> {
        vec![
            "draws",
            "mean",
            "sd",
            "mcse",
            "median",
            "lo90",
            "hi90",
            "lo95",
            "hi95",
            "lo99_5",
            "hi99_5",
            "bounds_mcse",
        ]
    }

    fn check_schema(batch: &RecordBatch, expected: &[&str], nullable: &[&str]) {
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, expected);
        for field in schema.fields() {
            let name = field.name().as_str();
            let expected_type = if name == "draws" {
                DataType::UInt64
            } else if summary_columns().contains(&name)
                || ["reported", "p_ge_reported"].contains(&name)
            {
                DataType::Float64
            } else {
                DataType::Utf8
            };
            assert_eq!(field.data_type(), &expected_type, "type of {name}");
            assert_eq!(
                field.is_nullable(),
                nullable.contains(&name),
                "nullability of {name}"
            );
        }
    }

    fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
        let col = batch.column_by_name(name).unwrap();
        let col = col.as_any().downcast_ref::<StringArray>().unwrap();
        col.iter().map(|v| v.unwrap().to_string()).collect()
    }

    fn floats(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
        let col = batch.column_by_name(name).unwrap();
        col.as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .iter()
            .collect()
    }

    fn check_summary_values(batch: &RecordBatch, seeds: &[f64]) {
        let draws = batch.column_by_name("draws").unwrap();
        let draws = draws.as_any().downcast_ref::<UInt64Array>().unwrap();
        assert!(draws.iter().all(|d| d == Some(1000)));
        for (row, &seed) in seeds.iter().enumerate() {
            let s = summary(seed);
            let get = |name: &str| floats(batch, name)[row].unwrap();
            assert_eq!(get("mean"), s.mean);
            assert_eq!(get("sd"), s.sd);
            assert_eq!(get("mcse"), s.mcse);
            assert_eq!(get("median"), s.median);
            for (k, label) in ["90", "95", "99_5"].iter().enumerate() {
                assert_eq!(get(&format!("lo{label}")), s.intervals[k].lo);
                assert_eq!(get(&format!("hi{label}")), s.intervals[k].hi);
            }
            assert_eq!(get("bounds_mcse"), s.bounds_mcse);
        }
    }

    fn check_metadata(metadata: &ParquetMetaData) {
        let file_meta = metadata.file_metadata();
        assert_eq!(file_meta.created_by(), Some("evcarbon version 0.1.0"));
        assert_eq!(metadata.num_row_groups(), 1);
        let kv: Vec<(String, String)> = file_meta
            .key_value_metadata()
            .unwrap()
            .iter()
            .filter(|kv| kv.key.starts_with("evcarbon."))
            .map(|kv| (kv.key.clone(), kv.value.clone().unwrap()))
            .collect();
        let expected = [
            ("evcarbon.tool", "evcarbon".to_string()),
            ("evcarbon.tool_version", "0.1.0".to_string()),
            ("evcarbon.config_path", "configs/test.toml".to_string()),
            ("evcarbon.config_sha256", "ab".repeat(32)),
            ("evcarbon.seed", "18446744073709551615".to_string()),
            ("evcarbon.draws", "1000".to_string()),
            ("evcarbon.sampler", "mc".to_string()),
            ("evcarbon.levels", "[0.9,0.95,0.995]".to_string()),
            ("evcarbon.quantile_method", "ddsketch".to_string()),
            ("evcarbon.quantile_relative_accuracy", "0.001".to_string()),
            ("evcarbon.rng", "chacha12".to_string()),
            ("evcarbon.chunk_size", "4096".to_string()),
            (
                "evcarbon.notes",
                r#"["advanced_territorial_gap left out: no advanced city"]"#.to_string(),
            ),
        ];
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(kv, expected);
        // The embedded Arrow schema carries the same keys (pyarrow reads them from there).
        let arrow_schema = parquet::arrow::parquet_to_arrow_schema(
            file_meta.schema_descr(),
            file_meta.key_value_metadata(),
        )
        .unwrap();
        for (key, value) in &expected {
            assert_eq!(arrow_schema.metadata().get(key), Some(value), "{key}");
        }
        for kv in file_meta.key_value_metadata().unwrap() {
            let text = format!("{} {:?}", kv.key, kv.value);
            assert!(
                !text.contains("threads") && !text.contains("wall"),
                "{text}"
            );
        }
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_all_files_with_exact_schemas_values_and_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("results").join("run");
        prepare_output_dir(&dir, false).unwrap();
        let results = sample_results(4);
        let paths = write_results(&dir, &results).unwrap();
        // Without scenarios there is no scenario file.
        let written = [CITY_FILE, PROVINCE_FILE, HEADLINE_FILE, MANIFEST_FILE];
        let expected_paths: Vec<PathBuf> = written.iter().map(|f| dir.join(f)).collect();
        assert_eq!(paths, expected_paths);
        // No temporary files remain, only our four outputs.
        let mut expected_names: Vec<String> = written.iter().map(|s| s.to_string()).collect();
        expected_names.sort();
        assert_eq!(listing(&dir), expected_names);

        let (city, meta) = read(&dir.join(CITY_FILE));
        let mut cols = vec!["city_id", "city", "province", "tier", "metric", "unit"];
        cols.extend(summary_columns());
        check_schema(&city, &cols, &[]);
        assert_eq!(city.num_rows(), 4);
        assert_eq!(
            strings(&city, "city_id"),
            ["440100", "440100", "440300", "440300"]
        );
        assert_eq!(
            strings(&city, "city"),
            ["Guangzhou", "Guangzhou", "Shenzhen", "Shenzhen"]
        );
        assert_eq!(strings(&city, "province"), ["Guangdong"; 4]);
        assert_eq!(strings(&city, "tier"), ["tier1"; 4]);
        assert_eq!(
            strings(&city, "metric"),
            ["import_share", "ev_g_per_km", "import_share", "ev_g_per_km"]
        );
        assert_eq!(
            strings(&city, "unit"),
            ["fraction", "gCO2/km", "fraction", "gCO2/km"]
        );
        check_summary_values(&city, &[0.4, 90.0, 0.5, 85.0]);
        check_metadata(&meta);

        let (province, meta) = read(&dir.join(PROVINCE_FILE));
        let mut cols = vec!["province", "metric", "unit"];
        cols.extend(summary_columns());
        check_schema(&province, &cols, &[]);
        assert_eq!(province.num_rows(), 1);
        assert_eq!(strings(&province, "province"), ["Guangdong"]);
        assert_eq!(strings(&province, "metric"), ["pool_intensity"]);
        assert_eq!(strings(&province, "unit"), ["gCO2/kWh"]);
        check_summary_values(&province, &[600.0]);
        check_metadata(&meta);

        let (headline, meta) = read(&dir.join(HEADLINE_FILE));
        let mut cols = vec!["metric", "unit", "description", "reported"];
        cols.extend(summary_columns());
        cols.push("p_ge_reported");
        check_schema(&headline, &cols, &["reported", "p_ge_reported"]);
        assert_eq!(headline.num_rows(), 2);
        assert_eq!(
            strings(&headline, "metric"),
            ["advanced_import_share", "shifted_emissions_t"]
        );
        assert_eq!(strings(&headline, "unit"), ["fraction", "tCO2/yr"]);
        assert_eq!(floats(&headline, "reported"), [Some(0.42), None]);
        assert_eq!(floats(&headline, "p_ge_reported"), [Some(0.37), None]);
        assert_eq!(headline.column_by_name("reported").unwrap().null_count(), 1);
        check_summary_values(&headline, &[0.41, 1.0e6]);
        check_metadata(&meta);

        let text = fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap();
        assert!(text.starts_with("{\n  \"tool\": \"evcarbon\",\n") && text.ends_with("}\n"));
        let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
        // Top-level keys (two-space indent) in file order.
        let keys: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("  \""))
            .filter_map(|l| l.split_once('"').map(|(k, _)| k))
            .collect();
        assert_eq!(
            keys,
            [
                "tool",
                "tool_version",
                "config_path",
                "config_sha256",
                "seed",
                "draws",
                "sampler",
                "levels",
                "quantile_method",
                "quantile_relative_accuracy",
                "rng",
                "chunk_size",
                "threads",
                "wall_seconds",
                "draws_per_second",
                "stop_reason",
                "until",
                "quantiles",
                "resumed_from_draws",
                "files",
                "headlines_excluded",
                "notes"
            ]
        );
        assert_eq!(manifest["stop_reason"], "draws reached");
        assert_eq!(manifest["until"], serde_json::Value::Null);
        assert_eq!(manifest["quantiles"], "sketch");
        assert_eq!(manifest["tool"], "evcarbon");
        assert_eq!(manifest["seed"].as_u64(), Some(u64::MAX));
        assert_eq!(manifest["levels"], serde_json::json!([0.9, 0.95, 0.995]));
        assert_eq!(manifest["threads"], 4);
        assert_eq!(manifest["wall_seconds"], 6.0);
        assert_eq!(
            manifest["files"],
            serde_json::json!([CITY_FILE, PROVINCE_FILE, HEADLINE_FILE])
        );
        assert_eq!(
            manifest["headlines_excluded"],
            serde_json::json!([{"metric": "advanced_territorial_gap", "reason": "no advanced city"}])
        );
        assert_eq!(
            manifest["notes"][0],
            "advanced_territorial_gap left out: no advanced city"
        );
    }

    #[test]
    fn parquet_files_are_byte_identical_across_runs_and_thread_counts() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write_results(a.path(), &sample_results(1)).unwrap();
        write_results(b.path(), &sample_results(64)).unwrap();
        for name in [CITY_FILE, PROVINCE_FILE, HEADLINE_FILE] {
            let first = fs::read(a.path().join(name)).unwrap();
            let second = fs::read(b.path().join(name)).unwrap();
            assert!(first == second, "{name} differs between runs");
        }
        // Writing again over the same folder gives the same bytes too.
        let before = fs::read(a.path().join(CITY_FILE)).unwrap();
        write_results(a.path(), &sample_results(8)).unwrap();
        assert!(before == fs::read(a.path().join(CITY_FILE)).unwrap());
        let manifest_a = fs::read_to_string(a.path().join(MANIFEST_FILE)).unwrap();
        let manifest_b = fs::read_to_string(b.path().join(MANIFEST_FILE)).unwrap();
        assert_ne!(manifest_a, manifest_b, "telemetry belongs in the manifest");
    }

    #[test]
    fn prepare_output_dir_refuses_existing_results_without_force() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        // Missing folder: created. Existing empty or unrelated folder: fine.
        prepare_output_dir(&dir, false).unwrap();
        assert!(dir.is_dir());
        fs::write(dir.join("notes.txt"), "keep me").unwrap();
        prepare_output_dir(&dir, false).unwrap();

        write_results(&dir, &sample_results(2)).unwrap();
        fs::write(dir.join(format!(".{CITY_FILE}.partial-999999")), "stale").unwrap();
        let err = prepare_output_dir(&dir, false).unwrap_err();
        assert!(err.is_user_error());
        assert!(matches!(&err, OutputError::Exists { found, .. } if found.len() == 4));
        let message = err.to_string();
        assert!(
            message.contains("--force") && message.contains("--out"),
            "{message}"
        );
        assert!(message.contains(&dir.display().to_string()), "{message}");
        assert!(
            dir.join(MANIFEST_FILE).exists(),
            "refusal must not touch anything"
        );

        // Only the manifest left (e.g. someone deleted the tables): still ours.
        prepare_output_dir(&dir, true).unwrap();
        assert_eq!(listing(&dir), ["notes.txt"], "force removes our files only");
        fs::write(dir.join(MANIFEST_FILE), "{}").unwrap();
        assert!(prepare_output_dir(&dir, false).is_err());
        prepare_output_dir(&dir, true).unwrap();
        write_results(&dir, &sample_results(2)).unwrap();

        let file = tmp.path().join("plain-file");
        fs::write(&file, "x").unwrap();
        let err = prepare_output_dir(&file, true).unwrap_err();
        assert!(matches!(err, OutputError::NotAFolder { .. }));
        assert!(err.is_user_error());
    }

    #[test]
    fn non_finite_value_is_an_error_and_writes_nothing() {
        type Corrupt = fn(&mut RunResults);
        let cases: Vec<(Corrupt, &str, &str)> = vec![
            (
                |r: &mut RunResults| r.cities[3].summary.intervals[1].hi = f64::NAN,
                "city_id=\"440300\", metric=\"ev_g_per_km\"",
                "hi95",
            ),
            (
                |r: &mut RunResults| r.headlines[0].reported = Some(f64::INFINITY),
                "metric=\"advanced_import_share\"",
                "reported",
            ),
            (
                |r: &mut RunResults| r.provinces[0].summary.sd = f64::NEG_INFINITY,
                "province=\"Guangdong\"",
                "sd",
            ),
            (
                |r: &mut RunResults| r.telemetry.draws_per_second = f64::INFINITY,
                "telemetry",
                "draws_per_second",
            ),
        ];
        for (corrupt, row, column) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let mut results = sample_results(2);
            corrupt(&mut results);
            let err = write_results(tmp.path(), &results).unwrap_err();
            assert!(!err.is_user_error());
            let message = err.to_string();
            assert!(
                message.contains(row) && message.contains(column),
                "{message}"
            );
            assert!(matches!(err, OutputError::NonFinite { .. }));
            assert!(
                listing(tmp.path()).is_empty(),
                "no file may be written: {message}"
            );
        }
    }

    #[test]
    fn intervals_must_match_levels() {
        let tmp = tempfile::tempdir().unwrap();
        let mut results = sample_results(2);
        results.cities[1].summary.intervals.pop();
        let err = write_results(tmp.path(), &results).unwrap_err();
        assert!(matches!(err, OutputError::Inconsistent { .. }), "{err}");
        assert!(err.to_string().contains("row 1"), "{err}");
        assert!(listing(tmp.path()).is_empty());

        let mut results = sample_results(2);
        results.provenance.levels = vec![0.95, 0.9500000000001];
        let err = write_results(tmp.path(), &results).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn failed_rename_leaves_no_partial_file_and_no_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        // A non-empty folder in the way of the city table makes the rename fail.
        fs::create_dir(tmp.path().join(CITY_FILE)).unwrap();
        fs::write(tmp.path().join(CITY_FILE).join("x"), "x").unwrap();
        fs::write(tmp.path().join(MANIFEST_FILE), "{}").unwrap();
        let err = write_results(tmp.path(), &sample_results(2)).unwrap_err();
        assert!(matches!(err, OutputError::Io { .. }), "{err}");
        assert!(err.to_string().contains(CITY_FILE), "{err}");
        assert_eq!(
            listing(tmp.path()),
            [CITY_FILE],
            "stale manifest removed, no partial left"
        );
    }

    #[test]
    fn empty_tables_are_valid_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut results = sample_results(2);
        results.provinces.clear();
        write_results(tmp.path(), &results).unwrap();
        let file = File::open(tmp.path().join(PROVINCE_FILE)).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(builder.schema().fields().len(), 3 + summary_columns().len());
        let rows: usize = builder
            .build()
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 0);
    }

    #[test]
    fn level_labels() {
        assert_eq!(level_label(0.9), "90");
        assert_eq!(level_label(0.95), "95");
        assert_eq!(level_label(0.995), "99_5");
        assert_eq!(level_label(0.999), "99_9");
        assert_eq!(level_label(0.5), "50");
        assert_eq!(level_label(0.8), "80");
        assert_eq!(level_label(0.68), "68");
        assert_eq!(level_label(0.9999), "99_99");
        assert_eq!(level_label(0.1 + 0.2), "30");
        assert_eq!(level_label(0.95 + 1e-14), "95");
        assert_eq!(level_label(0.025), "2_5");
    }
}
