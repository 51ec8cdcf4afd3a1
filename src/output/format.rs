//! The trait behind every output file format.

use std::path::Path;

use super::error::OutputError;
use super::rows::RunResults;

/// One output file format, rendered from the results `R` of one command.
pub(super) trait OutputFile<R = RunResults> {
    /// Final file name inside the output folder.
    fn file_name(&self) -> &'static str;
    /// Checks the rows and encodes the whole file; `path` is used in error messages only.
    fn render(&self, results: &R, path: &Path) -> Result<Vec<u8>, OutputError>;
}
