//! Scenarios on common random numbers: deltas are computed on the same draws as the
//! baseline, which leaves the baseline untouched and narrows the delta's interval.

mod common;
use arrow_array::{Array, Float64Array, RecordBatch, StringArray};
use common::*;
use std::path::Path;

/// `column` of the row where `level` (if the table has it) is `headline` and `metric` matches.
fn headline(batch: &RecordBatch, metric: &str, column: &str) -> f64 {
    let metrics = str_col(batch, "metric");
    let levels: Option<&StringArray> = batch
        .column_by_name("level")
        .map(|c| c.as_any().downcast_ref().unwrap());
    let row = (0..batch.num_rows())
        .find(|&r| metrics.value(r) == metric && levels.is_none_or(|l| l.value(r) == "headline"))
        .unwrap();
    f64_col(batch, column).value(row)
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
    let deltas = read_parquet(&dir.path().join("crn/scenario_deltas.parquet"));
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
        read_parquet(&dir.path().join("a/headline_intervals.parquet")),
        read_parquet(&dir.path().join("b/headline_intervals.parquet")),
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
    let with = read_parquet(&dir.path().join("crn/city_intervals.parquet"));
    let without = read_parquet(&dir.path().join("a11/city_intervals.parquet"));
    assert_eq!(with.columns(), without.columns());
}

/// A scenario that changes only intensities is evaluated on the baseline's flows;
/// one that changes a flow is evaluated in full, on scratch of its own. Either way
/// its deltas are those of a full evaluation, bit for bit, whichever scenarios are
/// evaluated with it: here `cleaner_north` (on the flows) against the same change
/// forced through a full evaluation by a no-op flow change, with a scenario that
/// does change a flow evaluated between them.
#[test]
fn scenarios_on_the_baseline_flows_match_full_evaluations_whatever_runs_with_them() {
    use evcarbon_engine::sampling::Evaluator;
    use evcarbon_engine::sampling::{Design, SamplerKind};
    let dir = example_copy();
    let toml = std::fs::read_to_string(dir.path().join("example.toml")).unwrap();
    let extra = r#"
[scenarios.all_lines_lossier]
description = "a flow changes: every link loses half as much again"

[[scenarios.all_lines_lossier.changes]]
param = "loss"
scale = 1.5

[scenarios.north_in_full]
description = "cleaner_north, plus a no-op flow change that forces a full evaluation"

[[scenarios.north_in_full.changes]]
param = "gen_intensity"
provinces = ["North"]
scale = 0.7

[[scenarios.north_in_full.changes]]
param = "loss"
scale = 1.0
"#;
    write(dir.path(), "three.toml", &format!("{toml}{extra}"));
    let config = evcarbon::config::load(&dir.path().join("three.toml")).unwrap();
    let names: Vec<&str> = config.scenarios.iter().map(|s| s.name.as_str()).collect();
    let at = |name: &str| names.iter().position(|&n| n == name).unwrap();
    let (north, lossier, in_full) = (
        at("cleaner_north"),
        at("all_lines_lossier"),
        at("north_in_full"),
    );
    // `all_lines_lossier` (scenarios go in name order) is evaluated between the baseline and `cleaner_north`.
    assert!(lossier < north, "order: {names:?}");

    let per_model = config.model.layout().len();
    let design = Design::new(SamplerKind::Mc, 5, config.plan.n_variates()).unwrap();
    let draws = |scenarios: &[evcarbon_engine::sampling::Scenario]| {
        let mut eval = Evaluator::new(&config.model, &config.plan, scenarios);
        let mut variates = design.chunk(0, 0, 300);
        (0..300)
            .map(|_| {
                let out = eval.next_draw(&mut variates).expect("valid draw");
                out.iter().map(|x| x.to_bits()).collect::<Vec<u64>>()
            })
            .collect::<Vec<_>>()
    };
    let deltas = |rows: &[Vec<u64>], k: usize| -> Vec<Vec<u64>> {
        let range = per_model * (1 + k)..per_model * (2 + k);
        rows.iter().map(|r| r[range.clone()].to_vec()).collect()
    };
    let together = draws(&config.scenarios);
    for k in [north, lossier, in_full] {
        let alone = draws(&config.scenarios[k..k + 1]);
        assert_eq!(deltas(&together, k), deltas(&alone, 0), "{}", names[k]);
        assert_eq!(deltas(&together, k).len(), 300);
    }
    assert_eq!(deltas(&together, north), deltas(&together, in_full));
    // The scenarios do change something.
    assert!(deltas(&together, north).iter().flatten().any(|&x| x != 0));
    assert_ne!(deltas(&together, north), deltas(&together, lossier));
}

/// The `value` column of every row of `batch`, keyed by (level, city_id or
/// province, metric), with the summary's columns.
fn delta_rows(batch: &RecordBatch, scenario: &str) -> Vec<(String, String, Vec<f64>)> {
    let col = |name: &str| str_col(batch, name);
    let (scenarios, levels, metrics) = (col("scenario"), col("level"), col("metric"));
    let numbers: Vec<&Float64Array> = ["mean", "sd", "median", "lo95", "hi95"]
        .iter()
        .map(|c| f64_col(batch, c))
        .collect();
    (0..batch.num_rows())
        .filter(|&r| scenarios.value(r) == scenario)
        .map(|r| {
            (
                levels.value(r).to_string(),
                metrics.value(r).to_string(),
                numbers.iter().map(|c| c.value(r)).collect(),
            )
        })
        .collect()
}

/// Runs the example, then the example with one more scenario, `name` (`body`: the
/// TOML of `[scenarios.NAME]`), checks that the baseline's data did not move, and
/// returns the new scenario's delta rows.
fn rows_with_scenario(dir: &Path, name: &str, body: &str) -> Vec<(String, String, Vec<f64>)> {
    run(dir, "example.toml", "plain", "5");
    let block = format!("[scenarios.{name}]\n{body}\n\n[scenarios.cleaner_north]");
    edit(dir, "example.toml", "[scenarios.cleaner_north]", &block);
    run(dir, "example.toml", name, "5");
    same_baseline(dir, name, "plain");
    delta_rows(
        &read_parquet(&dir.join(name).join("scenario_deltas.parquet")),
        name,
    )
}

/// The baseline's tables of `out` hold the same data, to the bit, as those of
/// `other` (their files differ only in the provenance metadata: the config's
/// hash).
fn same_baseline(dir: &Path, out: &str, other: &str) {
    for file in [
        "city_intervals.parquet",
        "province_intervals.parquet",
        "headline_intervals.parquet",
    ] {
        let (a, b) = (
            read_parquet(&dir.join(out).join(file)),
            read_parquet(&dir.join(other).join(file)),
        );
        assert_eq!(a.num_rows(), b.num_rows(), "{file}");
        for (name, (x, y)) in a
            .schema()
            .fields()
            .iter()
            .zip(a.columns().iter().zip(b.columns()))
        {
            assert!(
                x.to_data() == y.to_data(),
                "{file}, column {}: differs between {out} and {other}",
                name.name()
            );
        }
    }
}

/// A scenario that changes only the accounting (tank-to-wheel) leaves the
/// baseline byte-identical and moves only what depends on the gasoline car: its
/// gCO2/km, the EV/gasoline ratio and the indicators and headlines built on it.
#[test]
fn an_accounting_scenario_moves_only_the_vehicle_comparison() {
    let dir = example_copy();
    let rows = rows_with_scenario(
        dir.path(),
        "ttw",
        "description = \"tank to wheel\"\naccounting = { ice_basis = \"ttw\" }",
    );
    let vehicle = [
        "ice_g_per_km",
        "ev_ice_ratio",
        "ev_worse_than_ice",
        "max_ev_penalty",
        "ev_worse_city_share",
    ];
    assert!(!rows.is_empty());
    let mut moved = Vec::new();
    for (level, metric, numbers) in &rows {
        let nonzero = numbers.iter().any(|&x| x != 0.0);
        if nonzero {
            moved.push(metric.clone());
        }
        assert!(
            !nonzero || vehicle.contains(&metric.as_str()),
            "{level} {metric} moved under tank-to-wheel: {numbers:?}"
        );
    }
    for m in ["ice_g_per_km", "ev_ice_ratio", "max_ev_penalty"] {
        assert!(moved.iter().any(|x| x == m), "{m} did not move");
    }
    // Without the well-to-tank uplift the gasoline car emits less: the EV looks worse.
    let penalty = rows
        .iter()
        .find(|(level, metric, _)| level == "headline" && metric == "max_ev_penalty")
        .expect("a max_ev_penalty row");
    assert!(penalty.2[0] > 0.0, "mean delta {}", penalty.2[0]);
    // Each scenario's own headlines: their mean is the baseline's plus the delta's,
    // and the headlines with a reported figure have their own P(≥ reported).
    let own = read_parquet(&dir.path().join("ttw/scenario_headlines.parquet"));
    let base = read_parquet(&dir.path().join("ttw/headline_intervals.parquet"));
    let (own_scenario, own_metric) = (str_col(&own, "scenario"), str_col(&own, "metric"));
    let (own_mean, own_p) = (f64_col(&own, "mean"), f64_col(&own, "p_ge_reported"));
    let (base_metric, base_mean) = (str_col(&base, "metric"), f64_col(&base, "mean"));
    let mut checked = 0;
    for r in (0..own.num_rows()).filter(|&r| own_scenario.value(r) == "ttw") {
        let metric = own_metric.value(r);
        let b = (0..base.num_rows())
            .find(|&b| base_metric.value(b) == metric)
            .unwrap();
        let delta = rows
            .iter()
            .find(|(level, m, _)| level == "headline" && m == metric)
            .unwrap()
            .2[0];
        let expected = base_mean.value(b) + delta;
        assert!(
            (own_mean.value(r) - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{metric}: {} vs {expected}",
            own_mean.value(r)
        );
        // The example reports three figures.
        let reported = [
            "advanced_import_share",
            "max_ev_penalty",
            "importer_city_share",
        ];
        assert_eq!(own_p.is_null(r), !reported.contains(&metric), "{metric}");
        checked += 1;
    }
    assert_eq!(checked, base.num_rows());
}

/// A scenario may make random a parameter the baseline leaves out (the EV's
/// vehicle-cycle extra, 0 in the baseline): its variates come from a stream of
/// their own, so the baseline stays byte-identical, and the scenario's EVs emit
/// more per km by the extra's mean.
#[test]
fn a_scenario_can_draw_a_parameter_the_baseline_leaves_out() {
    let dir = example_copy();
    let rows = rows_with_scenario(
        dir.path(),
        "battery",
        "description = \"battery manufacture\"\n[[scenarios.battery.changes]]\n\
         param = \"ev_extra_g_per_km\"\ndist = \"uniform\"\nmin = 20.0\nmax = 40.0",
    );
    let ev = rows
        .iter()
        .find(|(level, metric, _)| level == "city" && metric == "ev_g_per_km")
        .expect("an ev_g_per_km row");
    // One global draw of U(20, 40): the mean delta is about 30 and it varies.
    assert!((ev.2[0] - 30.0).abs() < 0.5, "mean delta {}", ev.2[0]);
    assert!(ev.2[1] > 5.0, "sd {}", ev.2[1]);
    // The charging energy and import shares do not depend on it.
    for (level, metric, numbers) in &rows {
        if ["import_share", "ev_energy_gwh", "supply_intensity"].contains(&metric.as_str()) {
            assert!(numbers.iter().all(|&x| x == 0.0), "{level} {metric} moved");
        }
    }
}
