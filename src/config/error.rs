//! Why a config could not be loaded.

use std::path::PathBuf;

use super::builtin::BUILTIN_CONFIG;
use super::diagnostics::Diagnostics;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file itself cannot be read.
    #[error("cannot read config `{}`: {reason}{}", path.display(), read_hint(reason))]
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

/// What to do about a config that cannot be read, by the kind of failure.
fn read_hint(reason: &std::io::Error) -> String {
    match reason.kind() {
        std::io::ErrorKind::NotFound => format!(
            "; check the path, or give no config to run the built-in default ({BUILTIN_CONFIG}, which `evcarbon init DIR` writes out)"
        ),
        // Not UTF-8: the reason says where and how to fix it.
        std::io::ErrorKind::InvalidData => String::new(),
        _ => "; check that it is a readable file".to_string(),
    }
}
