//! Helpers shared by the integration tests: run the binary, copy the example config,
//! read an output table.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `evcarbon` with `args` in `cwd`.
pub fn evcarbon(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evcarbon"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the evcarbon binary runs")
}

/// Copies `configs/example.toml` and its tables into a fresh temporary folder.
pub fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("example")).unwrap();
    let src = root().join("configs");
    std::fs::copy(src.join("example.toml"), dir.path().join("example.toml")).unwrap();
    for t in ["provinces.csv", "cities.csv", "links.csv"] {
        std::fs::copy(
            src.join("example").join(t),
            dir.path().join("example").join(t),
        )
        .unwrap();
    }
    dir
}

/// Replaces `from` by `to` in a file of `dir` (the text must occur).
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} does not contain {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Writes a file into `dir`.
pub fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// Runs `evcarbon` with `args` in `cwd`, which must succeed; its stdout.
pub fn succeeds(cwd: &Path, args: &[&str]) -> String {
    let out = evcarbon(cwd, args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?}: {stderr}");
    stdout
}

/// Runs `evcarbon` with `args` in `cwd`, which must exit with status 2 (bad input)
/// without a panic; its stderr.
pub fn refused(cwd: &Path, args: &[&str]) -> String {
    let out = evcarbon(cwd, args);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The tables of [`LOGNORMAL`]: one province, one city.
pub const ONE_CITY: [(&str, &str); 2] = [
    ("p.csv", "province\nP\n"),
    ("c.csv", "city_id,city,province,tier\nX,X,P,tier1\n"),
];

/// One city whose `ev_emissions_t` is a product of four lognormals (shared by
/// `tests/run.rs` and `tests/designs.rs`).
pub const LOGNORMAL: &str = r#"
[run]
draws = 16384
seed = 1
[data]
provinces = "p.csv"
cities = "c.csv"
[accounting]
ice_basis = "wtw"
advanced_tiers = ["tier1"]
[params.gen_intensity]
dist = "lognormal"
median = 600.0
gsd = 1.2
[params.province_consumption_twh]
dist = "fixed"
value = 100.0
[params.city_consumption_twh]
dist = "fixed"
value = 10.0
[params.city_generation_twh]
dist = "fixed"
value = 0.0
[params.distribution_loss]
dist = "fixed"
value = 0.0
[params.ev_stock]
dist = "lognormal"
median = 100000.0
gsd = 1.1
[params.vkt_km]
dist = "lognormal"
mean = 12500.0
cv = 0.25
[params.ev_kwh_per_100km]
scope = "global"
dist = "lognormal"
median = 15.0
gsd = 1.15
[params.charging_efficiency]
dist = "fixed"
value = 0.9
[params.ice_l_per_100km]
scope = "global"
dist = "lognormal"
mu = 1.9459101090932196
sigma = 0.1
[params.gasoline_kgco2_per_l]
dist = "fixed"
value = 2.3
[params.gasoline_wtt_uplift]
dist = "fixed"
value = 0.2
"#;

/// Says that part of a test was skipped, on the process's stderr: unlike
/// `eprintln!`, which the test harness captures for passing tests, this shows in
/// every `cargo test` run.
pub fn say_skipped(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {message}");
}

/// An output table, which the writer puts in one row group.
pub fn read_parquet(path: &Path) -> arrow_array::RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut batches: Vec<_> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .with_batch_size(1 << 20)
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
    assert_eq!(batches.len(), 1, "{}: one batch expected", path.display());
    batches.remove(0)
}

/// The column `name` of `batch` as an array of type `T`.
pub fn col<'a, T: 'static>(batch: &'a arrow_array::RecordBatch, name: &str) -> &'a T {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref()
        .unwrap_or_else(|| panic!("column {name} has another type"))
}

/// A Float64 column.
pub fn f64_col<'a>(
    batch: &'a arrow_array::RecordBatch,
    name: &str,
) -> &'a arrow_array::Float64Array {
    col(batch, name)
}

/// A Utf8 column.
pub fn str_col<'a>(
    batch: &'a arrow_array::RecordBatch,
    name: &str,
) -> &'a arrow_array::StringArray {
    col(batch, name)
}
