//! Scenarios on common random numbers: deltas are computed on the same draws as the
//! baseline, which leaves the baseline untouched and narrows the delta's interval.

mod common;
use arrow_array::{Float64Array, RecordBatch, StringArray};
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::Path;

fn read(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    reader.next().unwrap().unwrap()
}

/// `column` of the row where `level` (if the table has it) is `headline` and `metric` matches.
fn headline(batch: &RecordBatch, metric: &str, column: &str) -> f64 {
    let metrics: &StringArray = batch
        .column_by_name("metric")
        .unwrap()
        .as_any()
        .downcast_ref()
        .unwrap();
    let levels: Option<&StringArray> = batch
        .column_by_name("level")
        .map(|c| c.as_any().downcast_ref().unwrap());
    let row = (0..batch.num_rows())
        .find(|&r| metrics.value(r) == metric && levels.is_none_or(|l| l.value(r) == "headline"))
        .unwrap();
    let values: &Float64Array = batch
        .column_by_name(column)
        .unwrap()
        .as_any()
        .downcast_ref()
        .unwrap();
    values.value(row)
}

fn run(dir: &Path, config: &str, out: &str, seed: &str) {
    let result = evcarbon(
        dir,
        &[
            "run", config, "--out", out, "--draws", "20000", "--seed", seed, "--quiet",
        ],
    );
    assert!(result.status.success(), "{}", text(&result).1);
}

#[test]
fn common_random_numbers_narrow_the_delta_and_leave_the_baseline_alone() {
    let dir = example_copy();
    run(dir.path(), "example.toml", "crn", "11");
    let deltas = read(&dir.path().join("crn/scenario_deltas.parquet"));
    let metric = "shifted_emissions_t";

    // The same scenario as two independent runs: the baseline without the scenario,
    // and a copy whose North intensity is 30 % lower (mean and sd scale together,
    // as `scale = 0.7` does), with different seeds.
    let toml = std::fs::read_to_string(dir.path().join("example.toml")).unwrap();
    let baseline_only = &toml[..toml.find("[scenarios.").unwrap()];
    write(dir.path(), "baseline.toml", baseline_only);
    std::fs::create_dir(dir.path().join("cleaner")).unwrap();
    for t in ["cities.csv", "links.csv"] {
        std::fs::copy(
            dir.path().join("example").join(t),
            dir.path().join("cleaner").join(t),
        )
        .unwrap();
    }
    let provinces = std::fs::read_to_string(dir.path().join("example/provinces.csv")).unwrap();
    write(
        dir.path(),
        "cleaner/provinces.csv",
        &provinces.replace("North,Coal exporter,900,", "North,Coal exporter,630,"),
    );
    write(
        dir.path(),
        "cleaner.toml",
        &baseline_only.replace("example/", "cleaner/"),
    );
    run(dir.path(), "baseline.toml", "a", "12");
    run(dir.path(), "cleaner.toml", "b", "13");
    let (a, b) = (
        read(&dir.path().join("a/headline_intervals.parquet")),
        read(&dir.path().join("b/headline_intervals.parquet")),
    );

    let independent_sd = headline(&a, metric, "sd").hypot(headline(&b, metric, "sd"));
    let crn_sd = headline(&deltas, metric, "sd");
    let crn_width = headline(&deltas, metric, "hi95") - headline(&deltas, metric, "lo95");
    println!("delta sd: common random numbers {crn_sd:.1}, independent runs {independent_sd:.1}");
    assert!(
        crn_sd < 0.5 * independent_sd,
        "CRN sd {crn_sd} vs independent {independent_sd}"
    );
    assert!(crn_width < 2.0 * 1.96 * independent_sd * 0.5);
    // Both estimate the same mean difference.
    let independent_mean = headline(&b, metric, "mean") - headline(&a, metric, "mean");
    let se = headline(&a, metric, "mcse").hypot(headline(&b, metric, "mcse"));
    let crn_mean = headline(&deltas, metric, "mean");
    assert!(
        (crn_mean - independent_mean).abs() < 4.0 * se,
        "{crn_mean} vs {independent_mean} ± {se}"
    );

    // Adding a scenario does not move the baseline: same seed, same numbers.
    run(dir.path(), "baseline.toml", "a11", "11");
    let with = read(&dir.path().join("crn/city_intervals.parquet"));
    let without = read(&dir.path().join("a11/city_intervals.parquet"));
    assert_eq!(with.columns(), without.columns());
}
