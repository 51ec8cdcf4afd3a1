//! Everything that can stop a command, and its exit status.

use evcarbon_engine::sampling::{SamplerError, SensitivityError};

use crate::config::ConfigError;
use crate::driver::{CheckpointError, MergeError, SensitivityJobError};
use crate::output::OutputError;
use crate::report::ReportError;

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
    /// A Sobol analysis could not be set up or failed.
    #[error(transparent)]
    Sensitivity(#[from] SensitivityJobError),
    /// Shard states could not be merged.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// Drawing the report failed.
    #[error(transparent)]
    Report(#[from] ReportError),
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
            CliError::Sensitivity(SensitivityJobError::Design(SensitivityError::Threads {
                ..
            })) => 1,
            CliError::Sensitivity(_) => 2,
            CliError::Merge(e) if e.is_user_error() => 2,
            CliError::Merge(_) => 1,
            CliError::Report(e) if e.is_user_error() => 2,
            CliError::Report(_) => 1,
        }
    }
}
