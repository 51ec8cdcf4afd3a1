//! `evcarbon run`: sample a config and write its outputs.

use super::{CliError, RunArgs, load_config, parse_sampler};
use crate::output;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&config.run.name));
    output::prepare_output_dir(&out_dir, args.force)?;

    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let reporter = ProgressLine::new(config.run.draws);
    let progress: Option<&(dyn Fn(u64) + Sync)> = if show_progress {
        Some(&|done| reporter.update(done))
    } else {
        None
    };
    let results = crate::pipeline::run(&config, threads, progress)?;
    if show_progress {
        eprintln!();
    }
    let files = output::write_results(&out_dir, &results)?;
    if !args.quiet {
        eprintln!(
            "{} draws in {:.1} s ({:.0} draws/s, {} threads); wrote:",
            config.run.draws,
            results.telemetry.wall_seconds,
            results.telemetry.draws_per_second,
            threads
        );
        for f in files {
            eprintln!("  {}", f.display());
        }
    }
    Ok(())
}

/// A one-line progress display on a terminal, updated at most twice a second.
struct ProgressLine {
    total: u64,
    started: Instant,
    last: Mutex<Instant>,
}

impl ProgressLine {
    fn new(total: u64) -> ProgressLine {
        let now = Instant::now();
        ProgressLine {
            total,
            started: now,
            last: Mutex::new(now),
        }
    }

    fn update(&self, done: u64) {
        let Ok(mut last) = self.last.try_lock() else {
            return;
        };
        if last.elapsed() < Duration::from_millis(500) && done < self.total {
            return;
        }
        *last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64();
        let rate = done as f64 / secs.max(1e-9);
        let eta = (self.total - done.min(self.total)) as f64 / rate.max(1e-9);
        eprint!(
            "\r  {done}/{} draws  {rate:.0} draws/s  ETA {eta:.0} s   ",
            self.total
        );
    }
}
