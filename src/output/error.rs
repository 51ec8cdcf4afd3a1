//! Errors while preparing the output folder or writing the files.

use std::path::PathBuf;

/// Errors while preparing the output folder or writing the files.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output folder already holds results and `--force` was not given.
    #[error(
        "output folder {} already holds results ({}); pass --force to overwrite them, or choose another folder with --out",
        dir.display(), found.join(", ")
    )]
    Exists {
        /// The output folder.
        dir: PathBuf,
        /// Our files found in it.
        found: Vec<String>,
    },
    /// The output folder holds the checkpoint of an unfinished run.
    #[error(
        "output folder {} holds the checkpoint of an unfinished run; continue it with --resume (same command), or pass --force to discard it and start over",
        dir.display()
    )]
    Unfinished {
        /// The output folder.
        dir: PathBuf,
    },
    /// The output path exists but is not a folder.
    #[error(
        "output path {} exists and is not a folder; choose a folder with --out",
        path.display()
    )]
    NotAFolder {
        /// The offending path.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error(
        "cannot write {} (the cause follows); check that the folder exists, is writable and has free space",
        path.display()
    )]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Encoding a Parquet file failed.
    #[error(
        "cannot encode Parquet file {}: {source}; this is a bug in evcarbon, please report it",
        path.display()
    )]
    Parquet {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Encoding the manifest failed.
    #[error(
        "cannot encode JSON file {}: {source}; this is a bug in evcarbon, please report it",
        path.display()
    )]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A value to be written is NaN or infinite; nothing was written.
    #[error(
        "refusing to write {}: {row}, column `{column}` is {value} (not finite); no file was written; this is a bug in evcarbon, please report it",
        path.display()
    )]
    NonFinite {
        /// The file that would have held the value.
        path: PathBuf,
        /// Which row (index and key), e.g. `row 3 (city_id="110000", metric="ev_g_per_km")`.
        row: String,
        /// Column name.
        column: String,
        /// The offending value.
        value: f64,
    },
    /// The results are inconsistent with the schema (e.g. interval levels); nothing was written.
    #[error(
        "refusing to write {}: {message}; no file was written; this is a bug in evcarbon, please report it",
        path.display()
    )]
    Inconsistent {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl OutputError {
    /// True when the user can fix the problem (exit status 2), false for internal or system errors (exit status 1).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::Exists { .. } | Self::NotAFolder { .. } | Self::Unfinished { .. }
        )
    }
}
