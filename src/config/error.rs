//! Why a config could not be loaded.

use std::path::PathBuf;

use super::builtin::BUILTIN_CONFIG;
use super::diagnostics::Diagnostics;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file itself cannot be read.
    #[error(
        "cannot read config `{path}`: {source}; check the path (the default is {BUILTIN_CONFIG})"
    )]
    Read {
        /// Path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config or its tables are invalid.
    #[error("invalid configuration: {0}")]
    Invalid(Diagnostics),
}
