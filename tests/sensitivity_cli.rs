//! `evcarbon sensitivity` and `run --sensitivity` end to end: files, schema,
//! determinism, groups, refusals, and the given-data pass seeing the run's draws.

mod common;

use arrow_array::{Array, UInt64Array};
use common::*;
use evcarbon::driver::{GroupBy, Run, given_data, group_variates, output_labels};
use evcarbon::engine::sampling::{ChunkPlan, GivenDataPass, SamplerKind};
use std::path::Path;

fn sensitivity(dir: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["sensitivity", "example.toml", "--quiet"];
    all.extend_from_slice(args);
    let out = evcarbon(dir, &all);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{all:?}: {stderr}");
    (stdout, stderr)
}

/// `evcarbon sensitivity example.toml ARGS --quiet` must fail with status 2; its stderr.
fn sensitivity_refused(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["sensitivity", "example.toml", "--quiet"];
    all.extend_from_slice(args);
    refused(dir, &all)
}

/// Appends `text` to the example config.
fn append(dir: &Path, text: &str) {
    let path = dir.join("example.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, config + text).unwrap();
}

const VEHICLE_GROUP: &str =
    "\n[sensitivity.groups]\nvehicle = [\"ev_kwh_per_100km\", \"charging_efficiency\"]\n";

#[test]
fn sensitivity_files_are_identical_for_any_thread_count() {
    // 8192 base draws: two rounds of 32 chunks of 128, so the convergence file
    // has rows at 4096 and at 8192.
    let dir = example_copy();
    let base = ["--base-draws", "8192"];
    let (table, _) = sensitivity(
        dir.path(),
        &[&base[..], &["--threads", "1", "--out", "t1"]].concat(),
    );
    sensitivity(
        dir.path(),
        &[&base[..], &["--threads", "2", "--out", "t2"]].concat(),
    );
    sensitivity(
        dir.path(),
        &[&base[..], &["--threads", "3", "--out", "t3"]].concat(),
    );
    for f in ["sensitivity.parquet", "sensitivity_convergence.parquet"] {
        let one = std::fs::read(dir.path().join("t1").join(f)).unwrap();
        for other in ["t2", "t3"] {
            assert!(
                one == std::fs::read(dir.path().join(other).join(f)).unwrap(),
                "{f} differs for {other}"
            );
        }
    }
    assert!(table.starts_with("headline"), "{table}");
    assert!(table.contains("max_ev_penalty"), "{table}");

    let s = read_parquet(&dir.path().join("t1/sensitivity.parquet"));
    let entity = str_col(&s, "entity");
    let kinds: std::collections::BTreeSet<&str> =
        (0..s.num_rows()).map(|r| entity.value(r)).collect();
    assert_eq!(
        kinds,
        ["city", "headline", "province"].into_iter().collect()
    );
    let (s1, st) = (f64_col(&s, "s1"), f64_col(&s, "st"));
    let (st_lo, st_hi) = (f64_col(&s, "st_lo95"), f64_col(&s, "st_hi95"));
    for r in 0..s.num_rows() {
        assert!(s1.value(r).is_finite() && st.value(r).is_finite());
        assert!(st_lo.value(r) <= st.value(r) && st.value(r) <= st_hi.value(r));
    }
    let base_draws: &UInt64Array = col(&s, "base_draws");
    let evaluations: &UInt64Array = col(&s, "evaluations");
    let groups = std::collections::BTreeSet::<&str>::from_iter(
        (0..s.num_rows()).map(|r| str_col(&s, "group").value(r)),
    );
    assert!(base_draws.iter().all(|n| n == Some(8192)));
    assert!(
        (evaluations.iter()).all(|n| n == Some(8192 * (groups.len() as u64 + 2))),
        "N (groups + 2) evaluations"
    );

    // Convergence: the same rows after each round, the last of them the final ones.
    let c = read_parquet(&dir.path().join("t1/sensitivity_convergence.parquet"));
    let ns: std::collections::BTreeSet<u64> = (col::<UInt64Array>(&c, "base_draws").iter())
        .flatten()
        .collect();
    assert_eq!(ns.into_iter().collect::<Vec<_>>(), [4096, 8192]);
    assert_eq!(c.num_rows(), 2 * s.num_rows());

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("t1/sensitivity.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["base_draws"], 8192);
    assert_eq!(manifest["groups_by"], "param");
}

#[test]
fn existing_sensitivity_files_need_force() {
    let dir = example_copy();
    sensitivity(dir.path(), &["--base-draws", "64", "--out", "o"]);
    let stderr = sensitivity_refused(dir.path(), &["--base-draws", "64", "--out", "o"]);
    assert!(stderr.contains("--force"), "{stderr}");
    sensitivity(dir.path(), &["--base-draws", "64", "--out", "o", "--force"]);
}

#[test]
fn too_few_base_draws_and_lhs_are_refused() {
    let dir = example_copy();
    let stderr = sensitivity_refused(dir.path(), &["--base-draws", "10"]);
    assert!(stderr.contains("at least 64"), "{stderr}");
    let stderr = sensitivity_refused(dir.path(), &["--base-draws", "64", "--sampler", "lhs"]);
    assert!(stderr.contains("lhs"), "{stderr}");
}

#[test]
fn province_and_config_groups() {
    let dir = example_copy();
    let groups_of = |out: &str| -> std::collections::BTreeSet<String> {
        let table = read_parquet(&dir.path().join(out).join("sensitivity.parquet"));
        (0..table.num_rows())
            .map(|r| str_col(&table, "group").value(r).to_string())
            .collect()
    };
    sensitivity(
        dir.path(),
        &["--base-draws", "128", "--groups", "province", "--out", "p"],
    );
    let groups = groups_of("p");
    assert!(groups.contains("national"), "{groups:?}");
    assert!(
        groups.len() >= 3,
        "one per province and national: {groups:?}"
    );

    // Without [sensitivity.groups], --groups config says how to write one.
    let stderr = sensitivity_refused(dir.path(), &["--base-draws", "64", "--groups", "config"]);
    assert!(stderr.contains("[sensitivity.groups]"), "{stderr}");

    append(dir.path(), VEHICLE_GROUP);
    sensitivity(
        dir.path(),
        &["--base-draws", "64", "--groups", "config", "--out", "c"],
    );
    let groups = groups_of("c");
    assert!(groups.contains("vehicle"), "{groups:?}");
    assert!(!groups.contains("ev_kwh_per_100km") && !groups.contains("charging_efficiency"));
    assert!(
        groups.contains("loss"),
        "parameters left out keep their own group"
    );
}

#[test]
fn correlations_across_groups_are_refused_with_the_estimators_that_apply() {
    let dir = example_copy();
    append(
        dir.path(),
        "\n[[correlations]]\nparams = [\"ev_kwh_per_100km\", \"charging_efficiency\"]\nrank = 0.5\n",
    );
    let stderr = sensitivity_refused(dir.path(), &["--base-draws", "64", "--out", "x"]);
    for expect in [
        "ev_kwh_per_100km",
        "charging_efficiency",
        "[sensitivity.groups]",
        "run --sensitivity",
    ] {
        assert!(stderr.contains(expect), "{expect}: {stderr}");
    }
    assert!(
        !dir.path().join("x").exists(),
        "refused before touching the folder"
    );

    // Grouped together, the design keeps the correlated block intact and runs.
    append(dir.path(), VEHICLE_GROUP);
    sensitivity(
        dir.path(),
        &["--base-draws", "64", "--groups", "config", "--out", "y"],
    );
    // The given-data mode needs no such grouping.
    let run = evcarbon(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--draws",
            "4000",
            "--sensitivity",
            "--out",
            "z",
            "--quiet",
        ],
    );
    assert!(run.status.success(), "{}", text(&run).1);
}

#[test]
fn run_sensitivity_writes_drivers_identical_for_any_thread_count() {
    let dir = example_copy();
    for (out, threads) in [("t1", "1"), ("t2", "2")] {
        let run = evcarbon(
            dir.path(),
            &[
                "run",
                "example.toml",
                "--draws",
                "20000",
                "--sensitivity",
                "--threads",
                threads,
                "--out",
                out,
                "--quiet",
            ],
        );
        assert!(run.status.success(), "{}", text(&run).1);
    }
    let one = std::fs::read(dir.path().join("t1/drivers.parquet")).unwrap();
    assert!(one == std::fs::read(dir.path().join("t2/drivers.parquet")).unwrap());
    let manifest = std::fs::read_to_string(dir.path().join("t1/manifest.json")).unwrap();
    assert!(manifest.contains("drivers.parquet"), "{manifest}");

    let d = read_parquet(&dir.path().join("t1/drivers.parquet"));
    let analysis = str_col(&d, "analysis");
    let metric = str_col(&d, "metric");
    let filtered: std::collections::BTreeSet<&str> = (0..d.num_rows())
        .filter(|&r| analysis.value(r) == "filter")
        .map(|r| metric.value(r))
        .collect();
    // The example reports three headline figures; each is filtered.
    assert_eq!(
        filtered.into_iter().collect::<Vec<_>>(),
        [
            "advanced_import_share",
            "importer_city_share",
            "max_ev_penalty"
        ]
    );
    let (ge, lt) = (
        col::<UInt64Array>(&d, "draws_ge"),
        col::<UInt64Array>(&d, "draws_lt"),
    );
    let ks = f64_col(&d, "ks_distance");
    let p = f64_col(&d, "p_value");
    for r in 0..d.num_rows() {
        assert!((0.0..=1.0).contains(&p.value(r)), "p-value in [0, 1]");
        if analysis.value(r) == "filter" {
            assert_eq!(ge.value(r) + lt.value(r), 20000);
            assert!((0.0..=1.0).contains(&ks.value(r)));
        } else {
            assert!(ge.is_null(r) && lt.is_null(r));
        }
    }
    // Without --sensitivity there is no drivers file.
    let plain = evcarbon(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--draws",
            "2000",
            "--out",
            "plain",
            "--quiet",
        ],
    );
    assert!(plain.status.success());
    assert!(!dir.path().join("plain/drivers.parquet").exists());
}

/// The given-data pass generates the run's draws again: its mean of every headline
/// equals the run's (to rounding: the sums are added in another order and shifted
/// by another constant).
#[test]
fn the_given_data_pass_sees_the_runs_draws() {
    let dir = example_copy();
    let mut config = evcarbon::config::load(&dir.path().join("example.toml")).unwrap();
    // Three chunks, the last one short.
    config.run.draws = 2500;
    for sampler in [SamplerKind::Mc, SamplerKind::Lhs, SamplerKind::Sobol] {
        config.run.sampler = sampler;
        let results = Run::of_draws(&config, 2).execute().unwrap();
        let (groups, _) = group_variates(&config, GroupBy::Param).unwrap();
        let labels = output_labels(&config);
        let layout = config.model.layout();
        let headlines: Vec<usize> = (0..layout.headlines().len())
            .map(|k| layout.headline(k))
            .collect();
        let sums = GivenDataPass {
            model: &config.model,
            plan: &config.plan,
            seed: config.run.seed,
            sampler,
            chunks: ChunkPlan { draws: 2500 },
            groups: &groups,
            outputs: &headlines,
            filters: &[],
            threads: 2,
            progress: None,
        }
        .run()
        .unwrap();
        for (i, &o) in headlines.iter().enumerate() {
            let row = (results.headlines.iter())
                .find(|h| h.metric == labels[o].metric)
                .unwrap();
            let (n, mean) = sums.mean(i);
            assert_eq!(n, 2500);
            let tolerance = 1e-12 * (1.0 + row.summary.mean.abs());
            assert!(
                (mean - row.summary.mean).abs() <= tolerance,
                "{sampler:?} {}: {mean} vs the run's {}",
                labels[o].metric,
                row.summary.mean
            );
        }
    }
    // And the public entry point does not depend on the threads.
    assert_eq!(
        given_data(&config, 2500, 1, None).unwrap(),
        given_data(&config, 2500, 3, None).unwrap()
    );
}
