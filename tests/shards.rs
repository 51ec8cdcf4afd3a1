//! Sharded runs: `run --shard K/M` then `merge` gives the same Parquet files as one
//! process, for any number of shards; `merge` refuses incomplete, overlapping and
//! foreign shard sets; the scripts `evcarbon slurm` writes run the same way.

mod common;

use common::*;
use std::path::Path;

const DRAWS: &str = "20000"; // 20 chunks

const TABLES: [&str; 6] = [
    "city_intervals.parquet",
    "province_intervals.parquet",
    "headline_intervals.parquet",
    "headline_quantiles.parquet",
    "scenario_deltas.parquet",
    "scenario_headlines.parquet",
];

fn run_shards(dir: &Path, m: u64, out: &str, extra: &[&str]) {
    for k in 1..=m {
        let shard = format!("{k}/{m}");
        let mut args = vec!["run", "example.toml", "--draws", DRAWS, "--shard", &shard];
        args.extend_from_slice(&["--out", out, "--quiet"]);
        args.extend_from_slice(extra);
        succeeds(dir, &args);
    }
}

fn shard_files(dir: &Path, folder: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir.join(folder))
        .unwrap()
        .map(|e| format!("{folder}/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    files
}

fn merge(dir: &Path, files: &[String], out: &str) -> std::process::Output {
    let mut args = vec!["merge", "--config", "example.toml", "--out", out, "--quiet"];
    args.extend(files.iter().map(String::as_str));
    evcarbon(dir, &args)
}

fn assert_same_tables(dir: &Path, a: &str, b: &str) {
    for table in TABLES {
        let one = std::fs::read(dir.join(a).join(table)).unwrap();
        let other = std::fs::read(dir.join(b).join(table)).unwrap();
        assert!(one == other, "{table} differs between {a} and {b}");
    }
}

#[test]
fn one_three_and_seven_shards_merge_into_the_single_run() {
    let dir = example_copy();
    let single = succeeds(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--draws",
            DRAWS,
            "--out",
            "single",
            "--quiet",
        ],
    );
    for m in [1, 3, 7] {
        let shards = format!("s{m}");
        // Different thread counts per shard change nothing either.
        let threads = if m == 3 { "1" } else { "2" };
        run_shards(dir.path(), m, &shards, &["--threads", threads]);
        let files = shard_files(dir.path(), &shards);
        assert_eq!(files.len() as u64, m);
        let merged = format!("m{m}");
        let out = merge(dir.path(), &files, &merged);
        assert!(out.status.success(), "{}", text(&out).1);
        assert_eq!(
            text(&out).0,
            single,
            "the merge prints the run's headline table"
        );
        assert_same_tables(dir.path(), "single", &merged);
        assert!(dir.path().join(&merged).join("manifest.json").is_file());
    }
    // A shard with no chunks (more shards than chunks) merges too.
    run_shards(dir.path(), 25, "s25", &[]);
    let out = merge(dir.path(), &shard_files(dir.path(), "s25"), "m25");
    assert!(out.status.success(), "{}", text(&out).1);
    assert_same_tables(dir.path(), "single", "m25");
}

#[test]
fn merge_refuses_missing_duplicate_and_foreign_shards() {
    let dir = example_copy();
    run_shards(dir.path(), 3, "s3", &[]);
    let files = shard_files(dir.path(), "s3");

    // Missing: shard 2 of 3.
    let out = merge(dir.path(), &[files[0].clone(), files[2].clone()], "x");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out).1;
    for expect in ["do not cover", "7 of 20 chunks", "(6–12)", "shard 2/3"] {
        assert!(stderr.contains(expect), "{expect}: {stderr}");
    }

    // Duplicate: shard 1 of 2 holds shard 1 of 3's chunks.
    run_shards(dir.path(), 2, "s2", &[]);
    let mut with_duplicate = files.clone();
    with_duplicate.push(shard_files(dir.path(), "s2")[0].clone());
    let out = merge(dir.path(), &with_duplicate, "x");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out).1;
    for expect in ["both hold chunks 0–5", "exactly once", "shard-0001-of-0002"] {
        assert!(stderr.contains(expect), "{expect}: {stderr}");
    }

    // Foreign: shard 2 of another seed, and the right shards with another config.
    run_shards(dir.path(), 3, "seed5", &["--seed", "5"]);
    let foreign = [
        files[0].clone(),
        shard_files(dir.path(), "seed5")[1].clone(),
        files[2].clone(),
    ];
    let out = merge(dir.path(), &foreign, "x");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out).1;
    for expect in ["different run", "seed", "seed5/shard-0002-of-0003"] {
        assert!(stderr.contains(expect), "{expect}: {stderr}");
    }
    let mut args = vec!["merge", "--out", "x"];
    args.extend(files.iter().map(String::as_str));
    let stderr = refused(dir.path(), &args);
    assert!(stderr.contains("--config"), "{stderr}");

    // Not a shard at all.
    std::fs::write(dir.path().join("junk.evshard"), "{}").unwrap();
    let stderr = refused(
        dir.path(),
        &["merge", "--config", "example.toml", "junk.evshard"],
    );
    assert!(stderr.contains("junk.evshard"), "{stderr}");
    assert!(
        !dir.path().join("x").exists(),
        "nothing written by a refused merge"
    );

    // An existing shard file needs --force; --shard excludes --until.
    let stderr = refused(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--draws",
            DRAWS,
            "--shard",
            "1/3",
            "--out",
            "s3",
        ],
    );
    assert!(stderr.contains("--force"), "{stderr}");
    refused(
        dir.path(),
        &["run", "example.toml", "--shard", "1/3", "--until", "0.01"],
    );
    refused(dir.path(), &["run", "example.toml", "--shard", "0/3"]);
}

#[test]
fn sensitivity_shards_merge_into_the_single_analysis() {
    let dir = example_copy();
    let base = [
        "sensitivity",
        "example.toml",
        "--base-draws",
        "8192",
        "--quiet",
    ];
    let single = succeeds(dir.path(), &[&base[..], &["--out", "single"]].concat());
    for k in 1..=3 {
        let shard = format!("{k}/3");
        succeeds(
            dir.path(),
            &[&base[..], &["--shard", &shard, "--out", "ss"]].concat(),
        );
    }
    let files = shard_files(dir.path(), "ss");
    let out = merge(dir.path(), &files, "merged");
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(text(&out).0, single, "the merge prints the analysis' table");
    let one = std::fs::read(dir.path().join("single/sensitivity.parquet")).unwrap();
    let merged = std::fs::read(dir.path().join("merged/sensitivity.parquet")).unwrap();
    assert!(one == merged, "sensitivity.parquet differs");
    // A missing shard and another analysis' shard are refused.
    let out = merge(dir.path(), &[files[0].clone(), files[2].clone()], "x");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .1
            .contains("11 of 32 batches are missing (10–20)"),
        "{}",
        text(&out).1
    );
    succeeds(
        dir.path(),
        &[
            &base[..],
            &["--shard", "2/3", "--out", "janon", "--estimator", "janon"],
        ]
        .concat(),
    );
    let foreign = [
        files[0].clone(),
        shard_files(dir.path(), "janon")[0].clone(),
        files[2].clone(),
    ];
    let out = merge(dir.path(), &foreign, "x");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("estimator"), "{}", text(&out).1);
}

/// The scripts of `evcarbon slurm`, run by bash as Slurm would run them (the
/// `#SBATCH` lines are comments to bash): each array task with its
/// `SLURM_ARRAY_TASK_ID`, then the merge.
#[test]
fn slurm_scripts_run_the_shards_and_the_merge() {
    let dir = example_copy();
    succeeds(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--draws",
            DRAWS,
            "--out",
            "single",
            "--quiet",
        ],
    );
    succeeds(
        dir.path(),
        &[
            "slurm",
            "example.toml",
            "--tasks",
            "4",
            "--draws",
            DRAWS,
            "--partition",
            "debug",
            "--time",
            "10:00",
            "--mem",
            "1G",
            "--out",
            "cluster",
        ],
    );
    let scripts = dir.path().join("cluster/slurm");
    let array = std::fs::read_to_string(scripts.join("shards.sbatch")).unwrap();
    for expect in [
        "#SBATCH --array=1-4",
        "#SBATCH --partition=debug",
        "#SBATCH --time=10:00",
        "#SBATCH --mem=1G",
        "--shard \"${SLURM_ARRAY_TASK_ID}/4\"",
        "--draws 20000",
    ] {
        assert!(array.contains(expect), "{expect}:\n{array}");
    }
    let submit = std::fs::read_to_string(scripts.join("submit.sh")).unwrap();
    assert!(submit.contains("--dependency=afterok:"), "{submit}");
    for k in 1..=4 {
        let status = std::process::Command::new("bash")
            .arg(scripts.join("shards.sbatch"))
            .env("SLURM_ARRAY_TASK_ID", k.to_string())
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "task {k}");
    }
    let merge = std::process::Command::new("bash")
        .arg(scripts.join("merge.sbatch"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(merge.status.success(), "{}", text(&merge).1);
    assert_same_tables(dir.path(), "single", "cluster");
    // Scripts are not overwritten without --force.
    refused(
        dir.path(),
        &["slurm", "example.toml", "--tasks", "4", "--out", "cluster"],
    );
}
