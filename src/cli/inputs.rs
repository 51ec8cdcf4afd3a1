//! What the subcommands read: the config, and names given on the command line.

use std::path::PathBuf;

use evcarbon_engine::sampling::SamplerKind;

use super::error::CliError;
use crate::config::{self, Config, ConfigError};

/// Loads the given config, or the built-in default.
pub(super) fn load_config(path: Option<&PathBuf>) -> Result<Config, ConfigError> {
    match path {
        Some(p) => config::load(p),
        None => config::load_builtin(),
    }
}

pub(super) fn parse_sampler(name: &str) -> Result<SamplerKind, CliError> {
    SamplerKind::from_name(name)
        .ok_or_else(|| CliError::Usage(format!("unknown sampler `{name}`; valid: mc, lhs, sobol")))
}

/// `--threads`, or every core.
pub(super) fn resolve_threads(threads: Option<usize>) -> Result<usize, CliError> {
    match threads {
        Some(0) => Err(CliError::Usage("--threads must be at least 1".into())),
        Some(t) => Ok(t),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}
