//! Long runs (docs/long-runs.md): `--until` and `convergence.parquet`, checkpoints,
//! resume after kill -9 and SIGINT (bit-identical Parquet), refused checkpoints,
//! `--exact` and its memory limit.

mod common;
use arrow_array::{Array, BooleanArray, Float64Array, StringArray, UInt64Array};
use common::*;
use evcarbon::driver::{
    CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, Checkpoint, CheckpointPolicy, Run, RunError,
    RunIdentity, StopReason, StopRule, load_checkpoint, read_checkpoint, write_checkpoint,
};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const TABLES: [&str; 3] = [
    "city_intervals.parquet",
    "province_intervals.parquet",
    "headline_intervals.parquet",
];

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn run_ok(dir: &Path, args: &[&str]) {
    let out = evcarbon(dir, args);
    assert!(out.status.success(), "{args:?}: {}", text(&out).1);
}

fn assert_same_tables(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_evcarbon"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the evcarbon binary starts")
}

/// Waits until `path` exists; fails if `child` exits first or after two minutes.
fn wait_for_file(child: &mut Child, path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the run ended ({status}) before {} appeared; give it more draws",
                path.display()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn saved_checkpoint(dir: &Path) -> evcarbon::driver::Checkpoint {
    evcarbon::driver::read_checkpoint(&dir.join("checkpoint.evstate")).unwrap()
}

#[test]
fn kill_9_then_resume_gives_the_same_parquet_bytes() {
    let dir = example_copy();
    let d = dir.path();
    // The victim must outlast its first checkpoint (1 s) on one thread: the example
    // runs some 50,000 draws/s in a release build, ten times fewer in a debug one.
    let draws: u64 = if cfg!(debug_assertions) {
        40_960
    } else {
        163_840
    };
    let draws_arg = draws.to_string();
    let common = ["run", "example.toml", "--draws", &draws_arg, "--quiet"];
    let mut reference = spawn(
        d,
        &[&common[..], &["--out", "full", "--threads", "2"]].concat(),
    );
    let mut victim = spawn(
        d,
        &[
            &common[..],
            &["--out", "cut", "--threads", "1", "--checkpoint-secs", "1"],
        ]
        .concat(),
    );
    wait_for_file(&mut victim, &d.join("cut/checkpoint.evstate"));
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    assert!(!d.join("cut/manifest.json").exists());
    let saved = saved_checkpoint(&d.join("cut")).draws_done;
    assert!(saved > 0 && saved < draws, "checkpoint holds {saved} draws");

    // A plain rerun refuses to overwrite the unfinished run.
    let refused = evcarbon(d, &[&common[..], &["--out", "cut"]].concat());
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).1.contains("--resume"),
        "{}",
        text(&refused).1
    );

    run_ok(
        d,
        &[&common[..], &["--out", "cut", "--threads", "2", "--resume"]].concat(),
    );
    assert!(reference.wait().unwrap().success());
    assert_same_tables(&d.join("full"), &d.join("cut"), &TABLES);
    let m = manifest(&d.join("cut"));
    assert_eq!(m["resumed_from_draws"].as_u64(), Some(saved));
    assert_eq!(m["stop_reason"], "draws reached");
    assert_eq!(m["draws"].as_u64(), Some(draws));
    assert!(
        !d.join("cut/checkpoint.evstate").exists(),
        "deleted after success"
    );
}

#[test]
fn sigint_writes_a_checkpoint_and_the_printed_command_resumes_an_until_run() {
    let dir = example_copy();
    let d = dir.path();
    // A precision that is never reached: the run goes to --max-draws, one block per chunk.
    let common = [
        "run",
        "example.toml",
        "--draws",
        "1024",
        "--until",
        "1e-9",
        "--check-every",
        "1024",
        "--max-draws",
        "30000",
    ];
    let mut reference = spawn(
        d,
        &[&common[..], &["--out", "full", "--quiet", "--threads", "2"]].concat(),
    );
    // Not quiet and not a terminal: one log line per block on stderr.
    let mut victim = spawn(
        d,
        &[
            &common[..],
            &["--out", "cut", "--checkpoint-secs", "0", "--threads", "1"],
        ]
        .concat(),
    );
    let mut stderr = BufReader::new(victim.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "run ended early");
        if line.starts_with("block 1:") {
            break;
        }
    }
    assert!(
        !d.join("cut/checkpoint.evstate").exists(),
        "no periodic checkpoints"
    );
    let kill = Command::new("kill")
        .args(["-INT", &victim.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = victim.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    let cp = saved_checkpoint(&d.join("cut"));
    let saved = cp.draws_done;
    assert!(
        (2048..30000).contains(&saved),
        "checkpoint holds {saved} draws"
    );
    assert!(cp.convergence.len() >= 2);
    let command = rest
        .lines()
        .find_map(|l| l.trim().strip_prefix("resume with: "))
        .unwrap_or_else(|| panic!("no resume command in: {rest}"));
    assert!(
        command.ends_with("--resume") && command.contains("--until 1e-9"),
        "{command}"
    );

    let resumed = Command::new("sh")
        .args(["-c", &format!("{command} --quiet")])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed).1);
    assert!(reference.wait().unwrap().success());
    assert_same_tables(
        &d.join("full"),
        &d.join("cut"),
        &[&TABLES[..], &["convergence.parquet"]].concat(),
    );
    let m = manifest(&d.join("cut"));
    assert_eq!(m["stop_reason"], "max draws reached");
    assert_eq!(m["draws"].as_u64(), Some(30000));
}

#[test]
fn until_stops_once_every_headline_bound_is_precise_enough() {
    let dir = example_copy();
    let d = dir.path();
    run_ok(
        d,
        &[
            "run",
            "example.toml",
            "--draws",
            "2048",
            "--until",
            "0.05",
            "--check-every",
            "2048",
            "--max-draws",
            "200000",
            "--out",
            "until",
            "--quiet",
        ],
    );
    let m = manifest(&d.join("until"));
    assert_eq!(m["stop_reason"], "precision reached");
    assert_eq!(m["until"]["rel"], 0.05);
    let draws = m["draws"].as_u64().unwrap();

    let conv = read_parquet(&d.join("until/convergence.parquet"));
    let block = col::<UInt64Array>(&conv, "block");
    let n = col::<UInt64Array>(&conv, "draws");
    let metric = col::<StringArray>(&conv, "metric");
    let statistic = col::<StringArray>(&conv, "statistic");
    let value = col::<Float64Array>(&conv, "value");
    let mcse = col::<Float64Array>(&conv, "mcse");
    let tolerance = col::<Float64Array>(&conv, "tolerance");
    let within = col::<BooleanArray>(&conv, "within_tolerance");
    let met = col::<BooleanArray>(&conv, "precision_met");
    let last = block.value(conv.num_rows() - 1);
    assert!(last >= 1, "the example needs more than one block at 5 %");
    assert_eq!(draws, (last + 1) * 2048);
    let sd_of = |r: usize| {
        (0..conv.num_rows())
            .find(|&s| {
                block.value(s) == block.value(r)
                    && metric.value(s) == metric.value(r)
                    && statistic.value(s) == "sd"
            })
            .map(|s| value.value(s))
            .unwrap()
    };
    let mut bounds_per_block = vec![(0usize, 0usize); last as usize + 1];
    for r in 0..conv.num_rows() {
        let b = block.value(r) as usize;
        assert_eq!(n.value(r), (b as u64 + 1) * 2048);
        let stat = statistic.value(r);
        if stat.starts_with("lo") || stat.starts_with("hi") {
            // The documented rule: mcse <= REL * max(|bound|, sd).
            let tol = 0.05 * value.value(r).abs().max(sd_of(r));
            assert!((tolerance.value(r) - tol).abs() <= 1e-12 * tol);
            assert_eq!(within.value(r), mcse.value(r) <= tolerance.value(r));
            bounds_per_block[b].0 += 1;
            bounds_per_block[b].1 += within.value(r) as usize;
        } else {
            assert!(within.is_null(r) && tolerance.is_null(r));
        }
        assert_eq!(met.value(r), b as u64 == last, "block {b}");
    }
    let (bounds, ok) = bounds_per_block[last as usize];
    assert!(
        bounds >= 4 && ok == bounds,
        "last block: {ok}/{bounds} bounds within tolerance"
    );
    for (b, &(bounds, ok)) in bounds_per_block[..last as usize].iter().enumerate() {
        assert!(ok < bounds, "block {b} already met the rule");
    }

    // Stopping at N draws gives the same tables as a plain run of N draws.
    let n_str = draws.to_string();
    run_ok(
        d,
        &[
            "run",
            "example.toml",
            "--draws",
            &n_str,
            "--out",
            "plain",
            "--quiet",
        ],
    );
    assert_same_tables(&d.join("plain"), &d.join("until"), &TABLES);
    assert!(!d.join("plain/convergence.parquet").exists());
}

#[test]
fn until_stops_at_max_draws_and_bad_settings_are_refused() {
    let dir = example_copy();
    let d = dir.path();
    let base = ["run", "example.toml", "--quiet", "--draws", "2048"];
    run_ok(
        d,
        &[
            &base[..],
            &[
                "--until",
                "1e-6",
                "--check-every",
                "2048",
                "--max-draws",
                "5000",
                "--out",
                "o",
            ],
        ]
        .concat(),
    );
    let m = manifest(&d.join("o"));
    assert_eq!(m["stop_reason"], "max draws reached");
    assert_eq!(m["draws"].as_u64(), Some(5000));
    let conv = read_parquet(&d.join("o/convergence.parquet"));
    let draws = col::<UInt64Array>(&conv, "draws");
    let mut seen: Vec<u64> = (0..conv.num_rows()).map(|r| draws.value(r)).collect();
    seen.dedup();
    assert_eq!(seen, [2048, 4096, 5000]);

    for (args, needle) in [
        (vec!["--until", "0"], "--until"),
        (vec!["--until", "1.5"], "--until"),
        (
            vec!["--until", "0.01", "--max-draws", "1000"],
            "--max-draws",
        ),
        (
            vec!["--until", "0.01", "--check-every", "1000"],
            "--check-every",
        ),
        (vec!["--max-draws", "1000"], "--until"),
        (vec!["--resume", "--force"], "--force"),
    ] {
        let out = evcarbon(d, &[&base[..], &args, &["--out", "bad"]].concat());
        let stderr = text(&out).1;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// Loads the example copy in `dir` with `draws` draws.
fn example_config(dir: &Path, draws: u64) -> evcarbon::config::Config {
    let mut config = evcarbon::config::load(&dir.join("example.toml")).unwrap();
    config.run.draws = draws;
    config
}

/// Writes a checkpoint into `dir/out` by interrupting a run of `config` after its
/// first chunk (deterministic: the interrupt is raised from the progress callback).
fn interrupted_checkpoint(config: &evcarbon::config::Config, out: &Path) -> u64 {
    std::fs::create_dir_all(out).unwrap();
    let rule = StopRule::Draws {
        draws: config.run.draws,
    };
    let stop = AtomicBool::new(false);
    let progress = |_n: u64| stop.store(true, Ordering::SeqCst);
    let result = Run {
        config,
        threads: 2,
        rule: rule.clone(),
        checkpoint: Some(CheckpointPolicy {
            path: out.join("checkpoint.evstate"),
            every: None,
            identity: RunIdentity::new(config, rule),
        }),
        resume_from: None,
        exact: None,
        interrupt: &stop,
        progress: Some(&progress),
        on_block: None,
        on_checkpoint: None,
        shard: None,
    }
    .run();
    match result {
        Err(RunError::Interrupted {
            draws_done,
            checkpoint: Some(_),
        }) => draws_done,
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("not interrupted"),
    }
}

#[test]
fn resuming_in_process_is_exact_for_any_thread_count() {
    let dir = example_copy();
    let config = example_config(dir.path(), 12_288);
    let out = dir.path().join("out");
    let saved = interrupted_checkpoint(&config, &out);
    assert!(saved > 0 && saved < 12_288);
    let rule = StopRule::Draws { draws: 12_288 };
    let identity = RunIdentity::new(&config, rule.clone());
    let never = AtomicBool::new(false);
    let outcome = Run {
        config: &config,
        threads: 1,
        rule,
        checkpoint: None,
        resume_from: Some(load_checkpoint(&out.join("checkpoint.evstate"), &identity).unwrap()),
        exact: None,
        interrupt: &never,
        progress: None,
        on_block: None,
        on_checkpoint: None,
        shard: None,
    }
    .run()
    .unwrap();
    assert_eq!(outcome.stop_reason, StopReason::DrawsReached);
    assert_eq!(outcome.resumed_draws, saved);
    let uninterrupted = Run::of_draws(&config, 2).run().unwrap().acc;
    assert_eq!(
        serde_json::to_string(&outcome.acc).unwrap(),
        serde_json::to_string(&uninterrupted).unwrap()
    );
}

#[test]
fn checkpoints_of_other_runs_are_refused() {
    let dir = example_copy();
    let d = dir.path();
    let out = d.join("out");
    interrupted_checkpoint(&example_config(d, 8192), &out);
    let resume = |extra: &[&str]| {
        let mut args = vec!["run", "example.toml", "--out", "out", "--quiet", "--resume"];
        if !extra.contains(&"--draws") {
            args.extend(["--draws", "8192"]);
        }
        args.extend(extra);
        let o = evcarbon(d, &args);
        (o.status.code(), text(&o).1)
    };
    let (code, err) = resume(&["--seed", "7"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("different run") && err.contains("seed: checkpoint 20261128, this run 7"),
        "{err}"
    );
    let (code, err) = resume(&["--draws", "9000"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("stopping rule"), "{err}");

    let path = out.join("checkpoint.evstate");
    let pristine = std::fs::read(&path).unwrap();
    assert_eq!(&pristine[..8], b"EVCSTATE");
    let mut other_version = pristine.clone();
    other_version[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&path, &other_version).unwrap();
    let (code, err) = resume(&[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("format version 99"), "{err}");
    // A checkpoint of format 1 (JSON) names its version too.
    std::fs::write(
        &path,
        "{\"format\":\"evcarbon-checkpoint\",\"format_version\":1}",
    )
    .unwrap();
    let (code, err) = resume(&[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("format version 1"), "{err}");
    // Another version's state, re-encoded with a valid checksum.
    std::fs::write(&path, &pristine).unwrap();
    let mut cp = read_checkpoint(&path).unwrap();
    cp.identity.tool_version = format!("0.0.0-{}", cp.identity.tool_version);
    write_checkpoint(
        &path,
        &cp.identity,
        &cp.done_chunks,
        &cp.convergence,
        &cp.accumulator,
        None,
    )
    .unwrap();
    let (code, err) = resume(&[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("evcarbon version: checkpoint 0.0.0-"), "{err}");
    // Truncated, and damaged in one byte.
    std::fs::write(&path, &pristine[..pristine.len() / 2]).unwrap();
    let (code, err) = resume(&[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not a usable evcarbon checkpoint") && err.contains("truncated"),
        "{err}"
    );
    let mut damaged = pristine.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    std::fs::write(&path, &damaged).unwrap();
    let (code, err) = resume(&[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("checksum"), "{err}");

    std::fs::write(&path, &pristine).unwrap();
    edit(d, "example.toml", "seed = 20261128", "seed = 20261129");
    let (code, err) = resume(&["--seed", "20261128"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("config file sha256"), "{err}");
    edit(d, "example.toml", "seed = 20261129", "seed = 20261128");
    let (code, err) = resume(&[]);
    assert_eq!(code, Some(0), "{err}");

    let (code, err) = resume(&[]);
    assert_eq!(code, Some(2), "checkpoint was deleted: {err}");
    assert!(err.contains("nothing to resume"), "{err}");
}

#[test]
fn exact_refuses_runs_above_max_memory() {
    let dir = example_copy();
    let out = evcarbon(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--exact",
            "--draws",
            "100000",
            "--max-memory",
            "1M",
            "--out",
            "o",
        ],
    );
    let err = text(&out).1;
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--max-memory") && err.contains("series"),
        "{err}"
    );
    assert!(!dir.path().join("o").exists(), "nothing written");
    let out = evcarbon(
        dir.path(),
        &["run", "example.toml", "--exact", "--max-memory", "lots"],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// Every median and bound of the sketch run within 0.01 sd and 0.1 % of the
/// `--exact` run, each within the row's `sketch_error`, and the manifest says the
/// guarantee held.
fn check_sketch_against_exact(config: &str, draws: &str, max_memory: &str) {
    let dir = example_copy();
    let d = dir.path();
    let base = ["run", config, "--draws", draws, "--quiet"];
    run_ok(d, &[&base[..], &["--out", "sketch"]].concat());
    run_ok(
        d,
        &[
            &base[..],
            &["--out", "exact", "--exact", "--max-memory", max_memory],
        ]
        .concat(),
    );
    let m = manifest(&d.join("exact"));
    assert_eq!(m["quantiles"], "exact");
    assert_eq!(m["quantile_relative_accuracy"], 0.0);
    assert_eq!(m["quantile_accuracy"]["largest_error_sd"], 0.0);
    let accuracy = &manifest(&d.join("sketch"))["quantile_accuracy"];
    assert_eq!(accuracy["not_met"], 0, "{accuracy}");
    assert!(
        accuracy["largest_error_sd"].as_f64().unwrap() <= 0.01,
        "{accuracy}"
    );
    assert!(
        accuracy["largest_error_relative"].as_f64().unwrap() <= 0.001,
        "{accuracy}"
    );
    assert!(accuracy["guarantee"].as_str().unwrap().contains("0.01 sd"));
    let mut compared = 0;
    for table in TABLES {
        let (s, e) = (
            read_parquet(&d.join("sketch").join(table)),
            read_parquet(&d.join("exact").join(table)),
        );
        for c in ["mean", "sd", "mcse"] {
            assert_eq!(
                col::<Float64Array>(&s, c),
                col::<Float64Array>(&e, c),
                "{table} {c}"
            );
        }
        let (sd, bound) = (
            col::<Float64Array>(&s, "sd"),
            col::<Float64Array>(&s, "sketch_error"),
        );
        assert!(
            col::<Float64Array>(&e, "sketch_error")
                .values()
                .iter()
                .all(|&b| b == 0.0)
        );
        for c in ["median", "lo90", "hi90", "lo95", "hi95"] {
            let (a, b) = (col::<Float64Array>(&s, c), col::<Float64Array>(&e, c));
            for r in 0..s.num_rows() {
                let (x, y) = (a.value(r), b.value(r));
                let allowed = (0.01 * sd.value(r)).min(1e-3 * y.abs());
                assert!(
                    (x - y).abs() <= allowed && (x - y).abs() <= bound.value(r),
                    "{table} row {r} {c}: sketch {x}, exact {y}, sd {}, sketch_error {}",
                    sd.value(r),
                    bound.value(r)
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100);
}

/// At 50,000 draws (the engine tests the stated bound at 100,000 on the
/// shapes that are hard for it: `crates/engine/tests/quantile_accuracy.rs`).
#[test]
fn sketch_quantiles_are_within_a_hundredth_sd_of_exact_on_the_example() {
    check_sketch_against_exact("example.toml", "50000", "128M");
}

/// The default config (7,670 series with its scenario) at a size that keeps the
/// debug suite fast.
#[test]
fn sketch_quantiles_are_within_a_hundredth_sd_of_exact_on_the_default_config() {
    let cfg = root().join("configs/china-285.toml");
    check_sketch_against_exact(cfg.to_str().unwrap(), "1024", "256M");
}

/// The acceptance check at full size: 100k draws × 7,670 series (baseline and
/// scenario deltas) = 5.7 GiB of draws. Run with
/// `cargo test --release --test long_runs -- --ignored`.
#[test]
#[ignore = "needs ~7 GB of memory and minutes; run in release"]
fn sketch_quantiles_are_within_a_hundredth_sd_of_exact_on_the_default_config_at_100k() {
    let cfg = root().join("configs/china-285.toml");
    check_sketch_against_exact(cfg.to_str().unwrap(), "100000", "7G");
}

/// The checkpoint state is mergeable: two parts of a run over disjoint chunk sets
/// combine into exactly the state of the whole run (the basis for shards).
#[test]
fn states_of_disjoint_chunk_sets_merge_into_the_whole_run() {
    let dir = example_copy();
    let config = example_config(dir.path(), 10_000);
    let rule = StopRule::Draws { draws: 10_000 };
    let run = two_thread_run(&config, 10_000);
    let prepared = run.prepare().unwrap();
    let never = AtomicBool::new(false);
    let part = |chunks: &[u64]| {
        let seg = prepared.run_chunks(chunks, &never, None, None).unwrap();
        Checkpoint {
            format: CHECKPOINT_FORMAT.to_string(),
            format_version: CHECKPOINT_FORMAT_VERSION,
            identity: RunIdentity::new(&config, rule.clone()),
            draws_done: seg.acc.draws(),
            done_chunks: seg.done,
            convergence: Vec::new(),
            accumulator: seg.acc,
            shard: None,
        }
    };
    // Chunk 9 is the short last one (784 draws).
    let mut a = part(&[0, 2, 3, 9]);
    let b = part(&[1, 4, 5, 6, 7, 8]);
    assert!(
        a.absorb(part(&[3])).is_err(),
        "overlapping parts are refused"
    );
    a.absorb(b).unwrap();
    assert_eq!(a.draws_done, 10_000);
    assert_eq!(a.done_chunks.ranges(), &[(0, 10)]);
    let whole = run.run().unwrap();
    assert_eq!(
        serde_json::to_string(&a.accumulator).unwrap(),
        serde_json::to_string(&whole).unwrap()
    );
}

/// A run cut into segments of one chunk each on two threads (so that either pool
/// thread may run the only worker, and thread 0 sometimes none) aggregates exactly
/// what one segment does.
#[test]
fn one_chunk_segments_on_two_threads_equal_the_whole_run() {
    let dir = example_copy();
    let config = example_config(dir.path(), 10_000);
    let run = two_thread_run(&config, 10_000);
    let prepared = run.prepare().unwrap();
    let never = AtomicBool::new(false);
    let mut acc = prepared.template().clone();
    for k in 0..10 {
        let seg = prepared
            .run_chunks_into(acc, &[k], &never, None, None)
            .unwrap();
        assert_eq!(seg.done.ranges(), &[(k, k + 1)]);
        acc = seg.acc;
    }
    let whole = run.run().unwrap();
    assert_eq!(
        serde_json::to_string(&acc).unwrap(),
        serde_json::to_string(&whole).unwrap()
    );
}

/// A sampling run of `config` over `draws` draws on two threads.
fn two_thread_run(
    config: &evcarbon::config::Config,
    draws: u64,
) -> evcarbon_engine::sampling::SamplerRun<'_> {
    evcarbon_engine::sampling::SamplerRun {
        model: &config.model,
        plan: &config.plan,
        scenarios: &config.scenarios,
        seed: config.run.seed,
        sampler: config.run.sampler,
        chunks: evcarbon_engine::sampling::ChunkPlan { draws },
        threads: 2,
        thresholds: evcarbon::driver::thresholds(config),
        progress: None,
    }
}

/// A failed draw is named by its index in the run: the first draw that fails when
/// the chunks' draws are evaluated one at a time, wherever it falls in the groups
/// of draws that the workers evaluate together before aggregating them.
#[test]
fn a_failed_draw_is_named_by_its_index_in_the_run() {
    let dir = example_copy();
    // The loss is one global draw: a lognormal of median 0.3 and gsd 1.5 exceeds 1
    // (an invalid loss) in about 1 draw in 670.
    edit(
        dir.path(),
        "example.toml",
        "dist = \"pert\"\nmin = { column = \"loss_min\" }\nmode = { column = \"loss_mode\" }\nmax = { column = \"loss_max\" }\nshape = 4.0",
        "dist = \"lognormal\"\nmedian = 0.3\ngsd = 1.5",
    );
    let mut config = example_config(dir.path(), 20_000);
    let mut positions = [0; evcarbon_engine::sampling::DRAWS_PER_GROUP];
    // Seeds 1 to 12 put the first failure at each position of a group (8 of them
    // pass their first draws, which are evaluated while preparing the run).
    for seed in 1..=12 {
        config.run.seed = seed;
        let run = evcarbon_engine::sampling::SamplerRun {
            threads: 1,
            ..two_thread_run(&config, 20_000)
        };
        // A failure among the first draws is found while preparing the run.
        if run.prepare().is_err() {
            continue;
        }
        let design = evcarbon_engine::sampling::Design::new(
            config.run.sampler,
            config.run.seed,
            config.plan.n_variates(),
        )
        .unwrap();
        let mut eval = evcarbon_engine::sampling::Evaluator::new(
            &config.model,
            &config.plan,
            &config.scenarios,
        );
        let first_failure = (0..run.chunks.n_chunks()).find_map(|k| {
            let (first, len) = run.chunks.chunk(k);
            let mut variates = design.chunk(k, first, len);
            (0..len)
                .find(|_| eval.next_draw(&mut variates).is_err())
                .map(|i| (first, first + i))
        });
        let Some((chunk_start, expected)) = first_failure else {
            continue;
        };
        match run.run() {
            Err(evcarbon_engine::sampling::SamplerError::Draw(e)) => {
                assert_eq!(e.draw, expected, "seed {seed}");
            }
            other => panic!("seed {seed}: expected draw {expected} to fail, got {other:?}"),
        }
        positions[((expected - chunk_start) % positions.len() as u64) as usize] += 1;
    }
    assert!(
        positions.iter().all(|&n| n > 0),
        "failures at every position of a group: {positions:?}"
    );
}
