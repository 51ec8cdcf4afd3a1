//! Errors while reading a results folder or writing its report.

use std::path::PathBuf;

use crate::output::OutputError;

/// Errors while reading a results folder or writing its report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder has no `manifest.json`: not a completed run.
    #[error(
        "{} holds no manifest.json, so it is not the folder of a completed run; give the folder `evcarbon run` wrote (results/<run name>/ or its --out)",
        dir.display()
    )]
    NotARun {
        /// The folder given.
        dir: PathBuf,
    },
    /// A file could not be read or decoded.
    #[error("cannot read {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A table lacks a column the report needs, or it has another type.
    #[error(
        "{}: column `{column}` is missing or is not {expected}; was this file written by evcarbon?",
        path.display()
    )]
    Column {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The Arrow type expected.
        expected: &'static str,
    },
    /// Writing the report failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

impl ReportError {
    /// Whether the error comes from the folder given (exit status 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            ReportError::Output(e) => e.is_user_error(),
            _ => true,
        }
    }
}
