//! `evcarbon run`: sample a config and write its outputs.
//!
//! Long-run features (docs/long-runs.md): `--until`/`--max-draws`/`--check-every`
//! stop at a target precision; a checkpoint is written every `--checkpoint-secs`
//! and on SIGINT/SIGTERM (exit status 130, with the command that resumes);
//! `--resume` continues from it; `--exact` keeps every draw for exact quantiles.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use evcarbon_engine::sampling::{CHUNK_SIZE, ChunkPlan, Design, DrawSeries};
use evcarbon_engine::stats::ExactDraws;

use super::args::RunArgs;
use super::error::CliError;
use super::inputs::{apply_settings, load_config, resolve_threads, shell_quote};
use super::progress::Reporter;
use super::shard_cmd::shard_and_folder;
use crate::config::Config;
use crate::driver::{
    CheckpointError, CheckpointPolicy, ConvergenceBlock, GivenDataError, Run, RunError,
    RunIdentity, StopRule, Until, given_data, load_checkpoint,
};
use crate::output::{self, CHECKPOINT_FILE, DriverResults, RunResults};

/// Below this many draws a run warns that its interval bounds rest on few draws.
const MIN_USEFUL_DRAWS: u64 = 1000;

/// Set by SIGINT/SIGTERM: workers finish their chunks, a checkpoint is written.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub(super) fn run(args: RunArgs) -> Result<(), CliError> {
    let mut config = load_config(args.config.as_ref())?;
    apply_settings(&mut config, &args.settings)?;
    if config.run.draws < MIN_USEFUL_DRAWS && !args.quiet {
        eprintln!(
            "warning: {} draws are too few for the tails: a 95 % bound rests on about {} draws beyond it; use at least {MIN_USEFUL_DRAWS} (bounds_mcse in the tables says how uncertain each bound is)",
            config.run.draws,
            (config.run.draws as f64 * 0.025).floor()
        );
    }
    // Fail before sampling (and before touching the output folder) on a design
    // this build cannot run.
    Design::new(
        config.run.sampler,
        config.run.seed,
        config.plan.n_variates(),
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let threads = resolve_threads(args.threads)?;
    let rule = stop_rule(&args, &config)?;
    if let Some(text) = &args.shard {
        let (shard, out) = shard_and_folder(text, args.out.as_deref(), &config)?;
        return super::shard_cmd::run_shard(
            &config, shard, rule, threads, &out, args.force, args.quiet,
        );
    }
    let exact = if args.exact {
        Some(exact_storage(&config, &args.max_memory)?)
    } else {
        None
    };
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&config.run.name));
    let identity = RunIdentity::new(&config, rule.clone());
    let checkpoint_path = out_dir.join(CHECKPOINT_FILE);
    let resume_from = if args.resume {
        output::prepare_resume_dir(&out_dir).map_err(|e| match e {
            output::OutputError::Io { .. } => CliError::Checkpoint(CheckpointError::Missing {
                path: checkpoint_path.clone(),
            }),
            other => other.into(),
        })?;
        Some(load_checkpoint(&checkpoint_path, &identity)?)
    } else {
        output::prepare_output_dir(&out_dir, args.force)?;
        None
    };
    // With --exact the draws are not checkpointed (they would not fit).
    let checkpoints = exact.is_none().then(|| CheckpointPolicy {
        path: checkpoint_path.clone(),
        every: (args.checkpoint_secs > 0).then(|| Duration::from_secs(args.checkpoint_secs)),
        identity,
    });
    install_signal_handler(checkpoints.is_some());

    let resumed = resume_from.as_ref().map_or(0, |c| c.draws_done);
    let reporter = Reporter::new(args.quiet, rule.max_draws(), resumed);
    let progress = |n| reporter.add(n);
    let on_block = |b: &ConvergenceBlock| reporter.block(b);
    let on_checkpoint = |draws| reporter.checkpoint(draws);
    let run = Run {
        shard: None,
        config: &config,
        threads,
        rule: rule.clone(),
        checkpoint: checkpoints,
        resume_from,
        exact: exact.as_ref(),
        interrupt: &INTERRUPTED,
        progress: Some(&progress),
        on_block: Some(&on_block),
        on_checkpoint: Some(&on_checkpoint),
    };
    let mut results = match run.execute() {
        Ok(results) => results,
        Err(e) => {
            reporter.finish();
            return Err(match e {
                RunError::Sampler(e) => e.into(),
                RunError::Checkpoint(e) => e.into(),
                RunError::Interrupted {
                    draws_done,
                    checkpoint,
                } => CliError::Interrupted(interrupted_message(
                    draws_done,
                    rule.max_draws(),
                    checkpoint,
                )),
            });
        }
    };
    reporter.finish();
    if args.sensitivity {
        results.drivers = Some(drivers(&config, &results, threads, args.quiet)?);
    }
    let files = output::write_results(&out_dir, &results)?;
    output::remove_checkpoint(&out_dir)?;
    if !args.quiet {
        let draws = results.provenance.draws;
        eprintln!(
            "{draws} draws ({}) in {:.1} s ({:.0} draws/s, {threads} threads){}; wrote:",
            results.run_info.stop_reason,
            results.telemetry.wall_seconds,
            results.telemetry.draws_per_second,
            results
                .run_info
                .resumed_from_draws
                .map_or(String::new(), |d| format!(", resumed from {d} draws")),
        );
        for f in files {
            eprintln!("  {}", f.display());
        }
    }
    if args.report {
        super::report_cmd::run(&out_dir, None)?;
    }
    // Results go to stdout (progress and file list to stderr), so
    // `evcarbon run > headlines.txt` keeps just the answer.
    let _ = std::io::stdout()
        .lock()
        .write_all(headline_table(&results).as_bytes());
    Ok(())
}

/// Given-data sensitivity of the run's draws (`--sensitivity`): a second pass over
/// them, with its own progress bar.
fn drivers(
    config: &Config,
    results: &RunResults,
    threads: usize,
    quiet: bool,
) -> Result<DriverResults, CliError> {
    let draws = results.provenance.draws;
    if !quiet {
        eprintln!("--sensitivity: the {draws} draws again, with the scores of their input groups");
    }
    let reporter = Reporter::new(quiet, draws, 0);
    let progress = |n| reporter.add(n);
    let drivers = given_data(config, draws, threads, Some(&progress));
    reporter.finish();
    drivers.map_err(|e| match e {
        GivenDataError::Groups(e) => CliError::Sensitivity(e.into()),
        GivenDataError::Sampler(e) => CliError::Sampler(e),
    })
}

/// The headline intervals as a plain-text table: median, each interval, and
/// P(≥ reported) where the config gives a reported figure.
pub(super) fn headline_table(results: &RunResults) -> String {
    let mut s = String::new();
    let levels = &results.provenance.levels;
    let mut header = format!("{:<31} {:>12}", "headline", "median");
    for level in levels {
        header.push_str(&format!(" {:>27}", format!("{}% interval", level * 100.0)));
    }
    header.push_str(&format!(" {:>10} {:>12}  unit", "reported", "P(>=rep.)"));
    let _ = writeln!(s, "{header}");
    for row in &results.headlines {
        let mut line = format!("{:<31} {:>12}", row.metric, number(row.summary.median));
        for iv in &row.summary.intervals {
            let bounds = format!("{} – {}", number(iv.lo), number(iv.hi));
            line.push_str(&format!(" {bounds:>27}"));
        }
        let reported = row.reported.map_or("-".to_string(), |r| r.to_string());
        let p = row.p_ge_reported.map_or("-".to_string(), probability);
        let _ = writeln!(s, "{line} {reported:>10} {p:>12}  {}", row.unit);
    }
    for (metric, why) in &results.excluded_headlines {
        let _ = writeln!(s, "{metric:<31} left out: {why}");
    }
    s
}

/// Four decimals, or two significant figures for a probability too small for them.
fn probability(p: f64) -> String {
    if p > 0.0 && p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// Four significant figures, plain notation up to millions.
fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    if magnitude >= 4 {
        format!("{x:.0}")
    } else {
        let decimals = (3 - magnitude).max(0) as usize;
        format!("{x:.decimals$}")
    }
}

/// The stopping rule from `--until`, `--max-draws`, `--check-every` and the draws.
fn stop_rule(args: &RunArgs, config: &Config) -> Result<StopRule, CliError> {
    let Some(rel) = args.until else {
        return Ok(StopRule::Draws {
            draws: config.run.draws,
        });
    };
    if !(rel > 0.0 && rel < 1.0) {
        return Err(CliError::Usage(format!(
            "--until must be a relative precision strictly between 0 and 1 (e.g. 0.01 for 1 %), not {rel}"
        )));
    }
    let min_draws = config.run.draws;
    let max_draws = args.max_draws.unwrap_or(min_draws.saturating_mul(100));
    if max_draws < min_draws {
        return Err(CliError::Usage(format!(
            "--max-draws {max_draws} is below the minimum of {min_draws} draws (--draws or run.draws)"
        )));
    }
    let block = args.check_every;
    if block == 0 || !block.is_multiple_of(CHUNK_SIZE) {
        return Err(CliError::Usage(format!(
            "--check-every must be a positive multiple of {CHUNK_SIZE} draws (the chunk size), not {block}"
        )));
    }
    Ok(StopRule::Until(Until {
        rel,
        min_draws,
        max_draws,
        block_draws: block,
    }))
}

/// Storage for `--exact`, after checking the memory it needs against `--max-memory`.
fn exact_storage(config: &Config, max_memory: &str) -> Result<ExactDraws, CliError> {
    let limit = parse_size(max_memory).ok_or_else(|| {
        CliError::Usage(format!(
            "--max-memory {max_memory:?} is not a size; use bytes or a number with K, M, G or T (binary units), e.g. 512M or 4G"
        ))
    })?;
    // The baseline's series plus, per scenario, its deltas and own headlines.
    let series = DrawSeries::new(&config.model, config.scenarios.len()).len();
    let draws = config.run.draws;
    let needed = ExactDraws::bytes_needed(draws, series);
    if needed > limit as u128 {
        return Err(CliError::Usage(format!(
            "--exact keeps every draw: {draws} draws × {series} series × 8 bytes = {}, more than --max-memory {} ; \
             use fewer --draws, or a larger --max-memory if the machine has the memory",
            human_bytes(needed),
            human_bytes(limit as u128)
        )));
    }
    let chunks = ChunkPlan { draws }.n_chunks();
    Ok(ExactDraws::new(series, chunks))
}

/// Parses `4G`, `512M`, `1.5G`, `100000` (bytes), `64K`, `1T`; binary units, an
/// optional `i`/`iB`/`B` suffix is accepted.
pub(super) fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .or_else(|| t.strip_suffix('i'))
        .unwrap_or(t);
    let (number, unit) = match t.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, ' '),
    };
    let factor: u64 = match unit {
        ' ' => 1,
        'K' => 1 << 10,
        'M' => 1 << 20,
        'G' => 1 << 30,
        'T' => 1 << 40,
        _ => return None,
    };
    let value: f64 = number.trim().parse().ok()?;
    let bytes = value * factor as f64;
    (value.is_finite() && value >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

fn human_bytes(bytes: u128) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.1} MiB", b / MIB)
    }
}

/// SIGINT/SIGTERM (and SIGHUP): the first one asks the run to stop after the
/// chunks in flight and write a checkpoint; a second one exits at once.
fn install_signal_handler(checkpointing: bool) {
    let result = ctrlc::set_handler(move || {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: quitting now");
            std::process::exit(130);
        }
        if checkpointing {
            eprintln!(
                "\ninterrupt: finishing the chunks in flight and writing a checkpoint (interrupt again to quit at once)"
            );
        } else {
            eprintln!(
                "\ninterrupt: finishing the chunks in flight (--exact runs keep no checkpoint; interrupt again to quit at once)"
            );
        }
    });
    if let Err(e) = result {
        eprintln!(
            "warning: cannot catch interrupts ({e}); an interrupted run will not leave a checkpoint"
        );
    }
}

/// The message of an interrupted run, with the command that resumes it.
fn interrupted_message(draws_done: u64, max_draws: u64, checkpoint: Option<PathBuf>) -> String {
    match checkpoint {
        Some(path) => format!(
            "interrupted after {draws_done} of at most {max_draws} draws; the state is saved in {}\n  resume with: {}",
            path.display(),
            resume_command()
        ),
        None => format!(
            "interrupted after {draws_done} of {max_draws} draws; no checkpoint was written (--exact), rerun to start over"
        ),
    }
}

/// This process's command line without `--force`, with `--resume`, quoted for a
/// POSIX shell.
fn resume_command() -> String {
    let mut words: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| a != "--force")
        .collect();
    if !words.iter().any(|a| a == "--resume") {
        words.push("--resume".to_string());
    }
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("1.5g"), Some(3 << 29));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("4X"), None);
        assert_eq!(parse_size("-1G"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("G"), None);
    }

    #[test]
    fn numbers_keep_four_significant_figures() {
        assert_eq!(number(0.453_21), "0.4532");
        assert_eq!(number(-0.187_4), "-0.1874");
        assert_eq!(number(4_290_000.4), "4290000");
        assert_eq!(number(12.345_6), "12.35");
        assert_eq!(number(0.0), "0");
        assert_eq!(probability(0.8), "0.8000");
        assert_eq!(probability(0.000_02), "2.0e-5");
        assert_eq!(probability(0.0), "0.0000");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("--out"), "--out");
        assert_eq!(shell_quote("my dir"), "'my dir'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
