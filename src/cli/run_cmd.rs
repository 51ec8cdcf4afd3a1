//! `evcarbon run`: sample a config and write its outputs.
//!
//! Long-run features (docs/long-runs.md): `--until`/`--max-draws`/`--check-every`
//! stop at a target precision; a checkpoint is written every `--checkpoint-secs`
//! and on SIGINT/SIGTERM (exit status 130, with the command that resumes);
//! `--resume` continues from it; `--exact` keeps every draw for exact quantiles.

use super::{CliError, RunArgs, load_config, parse_sampler};
use crate::config::Config;
use crate::longrun::{
    CheckpointPolicy, ConvergenceBlock, LongRun, LongRunError, RunIdentity, StopRule, Until,
    checkpoint,
};
use crate::output::{self, CHECKPOINT_FILE};
use crate::sampling::CHUNK_SIZE;
use crate::stats::ExactDraws;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Set by SIGINT/SIGTERM: workers finish their chunks, a checkpoint is written.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Interval of the one-line progress logs when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(30);

pub(super) fn run(args: RunArgs) -> Result<(), CliError> {
    let mut config = load_config(args.config.as_ref())?;
    if let Some(draws) = args.draws {
        if draws == 0 {
            return Err(CliError::Usage("--draws must be at least 1".into()));
        }
        config.run.draws = draws;
    }
    if let Some(seed) = args.seed {
        config.run.seed = seed;
    }
    if let Some(name) = &args.sampler {
        config.run.sampler = parse_sampler(name)?;
    }
    // Fail before sampling (and before touching the output folder) on a design
    // this build cannot run.
    crate::sampling::Design::new(
        config.run.sampler,
        config.run.seed,
        config.plan.n_variates(),
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let threads = match args.threads {
        Some(0) => return Err(CliError::Usage("--threads must be at least 1".into())),
        Some(t) => t,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let rule = stop_rule(&args, &config)?;
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
            output::OutputError::Io { .. } => {
                CliError::Checkpoint(crate::longrun::CheckpointError::Missing {
                    path: checkpoint_path.clone(),
                })
            }
            other => other.into(),
        })?;
        Some(checkpoint::load(&checkpoint_path, &identity)?)
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
    let long_run = LongRun {
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
    let results = match crate::pipeline::run_long(long_run) {
        Ok(results) => results,
        Err(e) => {
            reporter.finish();
            return Err(match e {
                LongRunError::Sampler(e) => e.into(),
                LongRunError::Checkpoint(e) => e.into(),
                LongRunError::Interrupted {
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
    Ok(())
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
    // The baseline's series plus, per scenario, its scenario − baseline series.
    let series = config.model.layout().len() * (1 + config.scenarios.len());
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
    let chunks = crate::sampling::ChunkPlan { draws }.n_chunks();
    Ok(ExactDraws::new(series, chunks))
}

/// Parses `4G`, `512M`, `1.5G`, `100000` (bytes), `64K`, `1T`; binary units, an
/// optional `i`/`iB`/`B` suffix is accepted.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
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

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Progress output: an indicatif bar on a terminal, one-line logs every
/// [`LOG_EVERY`] (and after each `--until` block and checkpoint) otherwise, nothing
/// with `--quiet`.
struct Reporter {
    mode: Mode,
    total: u64,
    done: AtomicU64,
    resumed: u64,
    started: Instant,
    last_log: Mutex<Instant>,
}

enum Mode {
    Quiet,
    Bar(ProgressBar),
    Log,
}

impl Reporter {
    fn new(quiet: bool, total: u64, resumed: u64) -> Reporter {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30} {human_pos}/{human_len} draws  {rate}  ETA {eta}  {msg}",
            )
            .map(|style| {
                style.with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} draws/s", state.per_sec());
                    },
                )
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(resumed);
            bar.reset_eta();
            Mode::Bar(bar)
        } else {
            Mode::Log
        };
        let now = Instant::now();
        Reporter {
            mode,
            total,
            done: AtomicU64::new(resumed),
            resumed,
            started: now,
            last_log: Mutex::new(now),
        }
    }

    /// `n` more draws done (called from workers).
    fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar) => bar.inc(n),
            Mode::Log => {
                let Ok(mut last) = self.last_log.try_lock() else {
                    return;
                };
                if last.elapsed() >= LOG_EVERY {
                    *last = Instant::now();
                    eprintln!("progress: {}", self.line(done));
                }
            }
        }
    }

    fn line(&self, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = (done - self.resumed.min(done)) as f64 / secs;
        let left = self.total.saturating_sub(done) as f64 / rate.max(1e-9);
        format!(
            "{done}/{} draws ({:.1} %), {rate:.0} draws/s, ETA {left:.0} s",
            self.total,
            100.0 * done as f64 / self.total.max(1) as f64
        )
    }

    /// After each `--until` block.
    fn block(&self, b: &ConvergenceBlock) {
        let ratio = b.worst_ratio();
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar) => bar.set_message(format!("precision {ratio:.2} (stops at ≤ 1)")),
            Mode::Log => eprintln!(
                "block {}: {} draws, worst headline bound mcse/tolerance {ratio:.3} (stops at ≤ 1)",
                b.block, b.draws
            ),
        }
    }

    /// After each checkpoint.
    fn checkpoint(&self, draws: u64) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(_) => {}
            Mode::Log => eprintln!("checkpoint: {draws} draws saved"),
        }
    }

    fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
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
    fn shell_quoting() {
        assert_eq!(shell_quote("--out"), "--out");
        assert_eq!(shell_quote("my dir"), "'my dir'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
