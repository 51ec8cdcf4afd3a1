//! `evcarbon sensitivity`: Sobol indices of every output per input group.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use evcarbon_engine::stats::FirstOrderEstimator;

use super::args::SensitivityArgs;
use super::error::CliError;
use super::inputs::{load_config, parse_sampler, resolve_threads};
use super::progress::Reporter;
use super::shard_cmd::shard_and_folder;
use crate::driver::{
    GroupBy, MIN_BASE_DRAWS, SensitivityJob, Shard, check_sampler, sensitivity_shard_file,
    variate_groups, write_sensitivity_shard,
};
use crate::output::{self, IndexRow, SensitivityResults};

pub(super) fn run(args: SensitivityArgs) -> Result<(), CliError> {
    let mut config = load_config(args.config.as_ref())?;
    if args.base_draws < MIN_BASE_DRAWS {
        return Err(CliError::Usage(format!(
            "--base-draws must be at least {MIN_BASE_DRAWS} (32 batches of 2 for the intervals), not {}",
            args.base_draws
        )));
    }
    if let Some(seed) = args.seed {
        config.run.seed = seed;
    }
    config.run.sampler = parse_sampler(&args.sampler)?;
    check_sampler(config.run.sampler).map_err(|e| CliError::Usage(e.to_string()))?;
    let groups_by = GroupBy::from_name(&args.groups).expect("clap checks the names");
    let estimator = match args.estimator.as_str() {
        "janon" => FirstOrderEstimator::Janon,
        _ => FirstOrderEstimator::Saltelli,
    };
    let threads = resolve_threads(args.threads)?;
    // Fail on groups (and correlations that cross them) before touching the folder.
    let (_, groups) =
        variate_groups(&config, groups_by).map_err(crate::driver::SensitivityJobError::from)?;
    let job = SensitivityJob {
        config: &config,
        groups_by,
        base_draws: args.base_draws,
        estimator,
        threads,
    };
    if let Some(text) = &args.shard {
        let (shard, out) = shard_and_folder(text, args.out.as_deref(), &config)?;
        return run_shard(&job, shard, &out, args.force, args.quiet);
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&config.run.name));
    output::prepare_sensitivity_dir(&out_dir, args.force)?;
    let evaluations = args.base_draws * (groups.len() as u64 + 2);
    if !args.quiet {
        eprintln!(
            "{} groups ({}), {} base draws: {evaluations} model evaluations",
            groups.len(),
            groups_by.name(),
            args.base_draws
        );
    }
    let reporter = Reporter::new(args.quiet, args.base_draws, 0);
    let results = job.run(&|n| reporter.add(n));
    reporter.finish();
    let results = results?;
    let files = output::write_sensitivity(&out_dir, &results)?;
    if !args.quiet {
        eprintln!(
            "{evaluations} evaluations in {:.1} s ({:.0} evaluations/s, {threads} threads); wrote:",
            results.telemetry.wall_seconds, results.telemetry.draws_per_second
        );
        for f in files {
            eprintln!("  {}", f.display());
        }
    }
    let _ = std::io::stdout()
        .lock()
        .write_all(headline_table(&results).as_bytes());
    Ok(())
}

/// Computes shard `shard` of the design and writes its state into `out`.
fn run_shard(
    job: &SensitivityJob<'_>,
    shard: Shard,
    out: &Path,
    force: bool,
    quiet: bool,
) -> Result<(), CliError> {
    let path = out.join(sensitivity_shard_file(shard));
    if path.exists() && !force {
        return Err(CliError::Usage(format!(
            "{} already exists; pass --force to compute shard {shard} again, or choose another folder with --out",
            path.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|source| output::OutputError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let started = std::time::Instant::now();
    let reporter = Reporter::new(quiet, job.base_draws, 0);
    let state = job.run_shard(shard, &|n| reporter.add(n));
    reporter.finish();
    let state = state?;
    write_sensitivity_shard(&path, &state)?;
    if !quiet {
        eprintln!(
            "sensitivity shard {shard}: batches {}–{} of {} in {:.1} s; wrote {}",
            state.batches.0,
            state.batches.1.saturating_sub(1),
            state.sums.len(),
            started.elapsed().as_secs_f64(),
            path.display()
        );
    }
    Ok(())
}

/// Groups whose S1 and ST are both below this are summarised, not listed.
const NEGLIGIBLE_INDEX: f64 = 0.005;

/// The headline indices as a plain-text table, groups by decreasing total index;
/// groups with negligible indices are counted, not listed (the file has them all).
pub(super) fn headline_table(results: &SensitivityResults) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<31} {:<26} {:>22} {:>22}",
        "headline", "group", "S1 (95 % interval)", "ST (95 % interval)"
    );
    let mut rows: Vec<_> = (results.indices.iter())
        .filter(|r| results.outputs[r.output].entity == "headline")
        .collect();
    rows.sort_by(|a, b| a.output.cmp(&b.output).then(b.st.0.total_cmp(&a.st.0)));
    let interval = |(v, lo, hi): (f64, f64, f64)| format!("{v:.3} [{lo:.3}, {hi:.3}]");
    for metric_rows in rows.chunk_by(|a, b| a.output == b.output) {
        let metric = &results.outputs[metric_rows[0].output].metric;
        let negligible =
            |r: &&&IndexRow| r.s1.0.abs() < NEGLIGIBLE_INDEX && r.st.0 < NEGLIGIBLE_INDEX;
        for r in metric_rows.iter().filter(|r| !negligible(r)) {
            let _ = writeln!(
                s,
                "{:<31} {:<26} {:>22} {:>22}",
                metric,
                results.groups[r.group].name,
                interval(r.s1),
                interval(r.st)
            );
        }
        let omitted = metric_rows.iter().filter(negligible).count();
        if omitted > 0 {
            let _ = writeln!(
                s,
                "{metric:<31} ({omitted} more groups with S1 and ST below {NEGLIGIBLE_INDEX})"
            );
        }
    }
    s
}
