//! Configuration: parse the TOML and its CSV tables, then convert them into a
//! validated [`Config`]: a model, a sampling plan and run settings. Every problem is
//! collected and reported at once, with file, line and key or row.

mod accounting;
mod builtin;
mod checks;
mod correlations;
mod data;
mod diagnostics;
mod error;
mod load;
mod params;
mod scenarios;
mod sensitivity;
mod settings;
mod suggest;
mod tables;
mod toml_read;

pub use builtin::{BUILTIN_CONFIG, builtin_files};
pub use diagnostics::{Diagnostic, Diagnostics};
pub use error::ConfigError;
pub use load::{load, load_builtin, load_from};
pub use settings::{Config, InputFile, RunSettings};
