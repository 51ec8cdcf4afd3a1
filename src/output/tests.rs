//! Tests of the output files: schemas, metadata, validation before writing, atomic
//! writes and the folder rules.

use super::*;
use arrow_array::{Array, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::DataType;
use evcarbon_engine::stats::Interval;
use evcarbon_engine::stats::Summary;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

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
        sketch_error: seed / 1e5,
    }
}

fn sample_results(threads: usize) -> RunResults {
    let city =
        |id: &str, name: &str, tier: &str, metric: &'static str, unit: &'static str, v: f64| {
            CityRow {
                city_id: id.to_string(),
                city: name.to_string(),
                city_en: (id != "440300").then(|| format!("{name} (en)")),
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
        quantile_accuracy: QuantileAccuracy {
            guarantee: "within 0.01 sd".to_string(),
            absolute_sd: 0.01,
            relative: 0.001,
            quantiles_checked: 12,
            largest_error_sd: 0.004,
            largest_error_relative: 0.0009,
            finest_alpha: 0.0009 / 64.0,
            coarsest_alpha: 0.0009,
            not_met: 0,
            not_met_examples: Vec::new(),
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
        headline_quantiles: (0..=4)
            .map(|k| HeadlineQuantileRow {
                metric: "advanced_import_share",
                unit: "fraction",
                probability: k as f64 / 4.0,
                value: 0.3 + 0.05 * k as f64,
            })
            .collect(),
        excluded_headlines: vec![(
            "advanced_territorial_gap".to_string(),
            "no advanced city".to_string(),
        )],
        scenario_deltas: Vec::new(),
        scenario_headlines: Vec::new(),
        drivers: None,
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
        "sketch_error",
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
            || ["reported", "p_ge_reported", "probability", "value"].contains(&name)
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
        assert_eq!(get("sketch_error"), s.sketch_error);
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
    let written = [
        CITY_FILE,
        PROVINCE_FILE,
        HEADLINE_FILE,
        HEADLINE_QUANTILES_FILE,
        MANIFEST_FILE,
    ];
    let expected_paths: Vec<PathBuf> = written.iter().map(|f| dir.join(f)).collect();
    assert_eq!(paths, expected_paths);
    // No temporary files remain, only our five outputs.
    let mut expected_names: Vec<String> = written.iter().map(|s| s.to_string()).collect();
    expected_names.sort();
    assert_eq!(listing(&dir), expected_names);

    let (city, meta) = read(&dir.join(CITY_FILE));
    let mut cols = vec![
        "city_id", "city", "city_en", "province", "tier", "metric", "unit",
    ];
    cols.extend(summary_columns());
    check_schema(&city, &cols, &["city_en", "sketch_error"]);
    assert_eq!(city.num_rows(), 4);
    let city_en = city.column_by_name("city_en").unwrap();
    let city_en = city_en.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(
        city_en.iter().collect::<Vec<_>>(),
        [Some("Guangzhou (en)"), Some("Guangzhou (en)"), None, None]
    );
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
    check_schema(&province, &cols, &["sketch_error"]);
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
    check_schema(
        &headline,
        &cols,
        &["reported", "p_ge_reported", "sketch_error"],
    );
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

    let (quantiles, meta) = read(&dir.join(HEADLINE_QUANTILES_FILE));
    check_schema(&quantiles, &["metric", "unit", "probability", "value"], &[]);
    assert_eq!(strings(&quantiles, "metric"), ["advanced_import_share"; 5]);
    assert_eq!(
        floats(&quantiles, "probability"),
        [0.0, 0.25, 0.5, 0.75, 1.0].map(Some)
    );
    assert_eq!(floats(&quantiles, "value")[4], Some(0.3 + 0.05 * 4.0));
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
            "quantile_accuracy",
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
        serde_json::json!([
            CITY_FILE,
            PROVINCE_FILE,
            HEADLINE_FILE,
            HEADLINE_QUANTILES_FILE
        ])
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
    for name in [
        CITY_FILE,
        PROVINCE_FILE,
        HEADLINE_FILE,
        HEADLINE_QUANTILES_FILE,
    ] {
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
    assert!(matches!(&err, OutputError::Exists { found, .. } if found.len() == 5));
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
