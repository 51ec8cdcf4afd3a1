//! The command line: `run`, `validate`, `sensitivity`, `merge`, `slurm`, `report`
//! and `init`.
//!
//! Exit status: 0 success, 2 bad input (config, data, arguments, unusable
//! checkpoint), 130 interrupted by SIGINT/SIGTERM (a checkpoint was written), 1
//! anything else.

mod args;
mod error;
mod init_cmd;
mod inputs;
mod merge_cmd;
mod progress;
mod report_cmd;
mod run_cmd;
mod sensitivity_cmd;
mod shard_cmd;
mod slurm_cmd;
mod validate_cmd;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::Command;
pub use error::CliError;

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
        Command::Sensitivity(args) => sensitivity_cmd::run(args),
        Command::Merge(args) => merge_cmd::run(args),
        Command::Slurm(args) => slurm_cmd::run(args),
        Command::Report(args) => report_cmd::run(&args.results_dir, args.out.as_deref()),
        Command::Init { dir, force } => init_cmd::run(&dir, force),
    }
}
