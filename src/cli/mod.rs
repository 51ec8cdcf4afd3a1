//! The command line (SPEC section 4): `run` and `validate`.
//!
//! Exit status: 0 success, 2 bad input (config, data, arguments, unusable
//! checkpoint), 130 interrupted by SIGINT/SIGTERM (a checkpoint was written), 1
//! anything else.

mod run_cmd;
mod validate_cmd;

use crate::config::{self, Config, ConfigError};
use crate::longrun::CheckpointError;
use crate::output::OutputError;
use crate::sampling::{SamplerError, SamplerKind};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Monte Carlo intervals for the CO2 that Chinese cities' electric cars shift to the
/// provinces and cities that generate their electricity.
#[derive(Debug, Parser)]
#[command(name = "evcarbon", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sample the config and write interval tables (Parquet) and a manifest.
    Run(RunArgs),
    /// Check a config and its tables without sampling; print a short summary.
    Validate {
        /// Config file (default: the built-in default config).
        config: Option<PathBuf>,
    },
}

/// Arguments of `evcarbon run`.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Config file (default: the built-in default config).
    config: Option<PathBuf>,
    /// Number of draws (overrides run.draws).
    #[arg(long, value_name = "N")]
    draws: Option<u64>,
    /// Seed (overrides run.seed).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Sampling design (overrides run.sampler).
    #[arg(long, value_parser = ["mc", "lhs", "sobol"])]
    sampler: Option<String>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "T")]
    threads: Option<usize>,
    /// Output folder (default: results/<run.name>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace the outputs of an earlier run in the output folder.
    #[arg(long)]
    force: bool,
    /// No progress output (by default: a progress bar on a terminal, a one-line
    /// progress log every 30 s otherwise).
    #[arg(long)]
    quiet: bool,
    /// Keep drawing blocks until every headline interval bound has a Monte Carlo
    /// standard error ≤ REL × max(|bound|, sd); --draws (or run.draws) is then the
    /// minimum. See docs/long-runs.md.
    #[arg(long, value_name = "REL")]
    until: Option<f64>,
    /// With --until: stop at N draws even if the precision is not reached
    /// (default: 100 × the minimum).
    #[arg(long, value_name = "N", requires = "until")]
    max_draws: Option<u64>,
    /// With --until: draws per block, i.e. how often the precision is checked
    /// (a multiple of 1024).
    #[arg(long, value_name = "N", requires = "until", default_value_t = crate::longrun::DEFAULT_BLOCK_DRAWS)]
    check_every: u64,
    /// Seconds between checkpoints of the run's state (0: only on interrupt).
    #[arg(long, value_name = "S", default_value_t = 60)]
    checkpoint_secs: u64,
    /// Continue the interrupted run whose checkpoint is in the output folder
    /// (same command otherwise).
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Keep every draw and report exact quantiles (memory: draws × series × 8 bytes).
    #[arg(long, conflicts_with_all = ["until", "resume"])]
    exact: bool,
    /// Largest memory --exact may use, e.g. 512M, 4G (binary units).
    #[arg(long, value_name = "SIZE", default_value = "4G", requires = "exact")]
    max_memory: String,
}

/// Everything that can stop a command, each mapped to an exit status.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Invalid config or data.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Invalid command-line arguments.
    #[error("{0}")]
    Usage(String),
    /// Sampling failed.
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    /// Writing outputs failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A checkpoint could not be used or written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Stopped by SIGINT/SIGTERM; the message says how to resume.
    #[error("{0}")]
    Interrupted(String),
}

impl CliError {
    /// 2 for bad input, 130 when interrupted, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Interrupted(_) => 130,
            CliError::Checkpoint(e) if e.is_user_error() => 2,
            CliError::Checkpoint(_) => 1,
            CliError::Config(_) | CliError::Usage(_) => 2,
            // A draw outside the physical range or an undefined attribution comes
            // from the input distributions.
            CliError::Sampler(SamplerError::Draw(_) | SamplerError::Design(_)) => 2,
            CliError::Sampler(_) => 1,
            CliError::Output(e) if e.is_user_error() => 2,
            CliError::Output(_) => 1,
        }
    }
}

/// Parses the command line, runs it and maps the outcome to an exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Run(args) => run_cmd::run(args),
        Command::Validate { config } => validate_cmd::run(config),
    }
}

/// Loads the given config, or the built-in default.
fn load_config(path: Option<&PathBuf>) -> Result<Config, ConfigError> {
    match path {
        Some(p) => config::load(p),
        None => config::load_builtin(),
    }
}

fn parse_sampler(name: &str) -> Result<SamplerKind, CliError> {
    SamplerKind::from_name(name)
        .ok_or_else(|| CliError::Usage(format!("unknown sampler `{name}`; valid: mc, lhs, sobol")))
}
