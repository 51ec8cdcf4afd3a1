//! `evcarbon run --shard K/M`: one shard of a run, saved for `evcarbon merge`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use evcarbon_engine::sampling::{ChunkPlan, ChunkSet};

use super::error::CliError;
use super::progress::Reporter;
use crate::config::Config;
use crate::driver::{Run, RunError, RunIdentity, Shard, StopRule, write_checkpoint};
use crate::output::OutputError;

/// Folder of the shard states inside a results folder (the default of
/// `run --shard` and `evcarbon slurm`).
pub(super) const SHARDS_DIR: &str = "shards";

/// `--shard K/M` and the folder its state goes to (`--out`, or
/// `results/<run.name>/shards/`).
pub(super) fn shard_and_folder(
    text: &str,
    out: Option<&Path>,
    config: &Config,
) -> Result<(Shard, PathBuf), CliError> {
    let shard = Shard::parse(text).map_err(CliError::Usage)?;
    let folder = out.map_or_else(
        || {
            PathBuf::from("results")
                .join(&config.run.name)
                .join(SHARDS_DIR)
        },
        Path::to_path_buf,
    );
    Ok((shard, folder))
}

/// Runs shard `shard` of `config`'s run and writes its state into `out`.
pub(super) fn run_shard(
    config: &Config,
    shard: Shard,
    rule: StopRule,
    threads: usize,
    out: &Path,
    force: bool,
    quiet: bool,
) -> Result<(), CliError> {
    let path = out.join(shard.file_name());
    if path.exists() && !force {
        return Err(CliError::Usage(format!(
            "{} already exists; pass --force to compute shard {shard} again, or choose another folder with --out",
            path.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|source| OutputError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let plan = ChunkPlan {
        draws: rule.max_draws(),
    };
    let (first, end) = shard.chunks(plan.n_chunks());
    let draws: u64 = (first..end).map(|k| plan.chunk(k).1).sum();
    let started = Instant::now();
    let reporter = Reporter::new(quiet, draws, 0);
    let progress = |n| reporter.add(n);
    let never = AtomicBool::new(false);
    let run = Run {
        progress: Some(&progress),
        interrupt: &never,
        shard: Some(shard),
        ..Run::of_draws(config, threads)
    };
    let outcome = run.run();
    reporter.finish();
    let outcome = outcome.map_err(|e| match e {
        RunError::Sampler(e) => CliError::from(e),
        RunError::Checkpoint(e) => e.into(),
        // No interrupt flag is passed: a shard stops only by being killed.
        RunError::Interrupted { draws_done, .. } => CliError::Interrupted(format!(
            "shard {shard} interrupted after {draws_done} draws"
        )),
    })?;
    let identity = RunIdentity::new(config, rule);
    write_checkpoint(
        &path,
        &identity,
        &ChunkSet::range(first, end),
        &[],
        &outcome.acc,
        Some(shard),
    )?;
    if !quiet {
        eprintln!(
            "shard {shard}: chunks {first}–{} ({draws} of {} draws) in {:.1} s; wrote {}",
            end.saturating_sub(1),
            plan.draws,
            started.elapsed().as_secs_f64(),
            path.display()
        );
    }
    Ok(())
}
