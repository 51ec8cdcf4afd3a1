//! What the subcommands read: the config, and names given on the command line.

use std::path::PathBuf;

use evcarbon_engine::sampling::SamplerKind;

use super::args::SettingsArgs;
use super::error::CliError;
use crate::config::{self, Config, ConfigError};

/// Loads the given config, or the built-in default.
pub(super) fn load_config(path: Option<&PathBuf>) -> Result<Config, ConfigError> {
    let config = match path {
        Some(p) => config::load(p),
        None => config::load_builtin(),
    }?;
    for w in &config.warnings {
        eprintln!("warning: {}: {w}", config.file.path);
    }
    Ok(config)
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

/// `word` for a POSIX shell: as it is when plain, else single-quoted.
pub(super) fn shell_quote(word: &str) -> String {
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

/// Applies `--draws`, `--seed` and `--sampler` to `config`.
pub(super) fn apply_settings(config: &mut Config, settings: &SettingsArgs) -> Result<(), CliError> {
    if let Some(draws) = settings.draws {
        if draws == 0 {
            return Err(CliError::Usage("--draws must be at least 1".into()));
        }
        config.run.draws = draws;
    }
    if let Some(seed) = settings.seed {
        config.run.seed = seed;
    }
    if let Some(name) = &settings.sampler {
        config.run.sampler = parse_sampler(name)?;
    }
    Ok(())
}
