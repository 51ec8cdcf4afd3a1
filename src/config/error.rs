//! Why a config could not be loaded.

use std::path::PathBuf;

use super::builtin::BUILTIN_CONFIG;
use super::diagnostics::Diagnostics;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file itself cannot be read.
    #[error(
        "cannot read config `{}`: {reason}; check the path, or give no config to run the built-in default ({BUILTIN_CONFIG}, which `evcarbon init DIR` writes out)",
        path.display()
    )]
    Read {
        /// Path as given.
        path: PathBuf,
        /// The I/O error (in the message, not repeated as a cause).
        reason: std::io::Error,
    },
    /// The config or its tables are invalid.
    #[error("invalid configuration: {0}")]
    Invalid(Diagnostics),
}
