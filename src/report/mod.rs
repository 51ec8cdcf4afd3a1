//! `evcarbon report`: figures (SVG) and one self-contained `report.html` drawn from
//! a results folder. It reads the folder's files only and never the config.
//!
//! Figures are hand-written SVG (see docs/report.md for why): [`svg`] holds the
//! drawing primitives and the palette, [`forest`] the interval-per-row layout that
//! most figures share, and one file per figure builds it from the tables [`read`]
//! returns.

mod burden;
mod caterpillar;
mod convergence;
mod error;
mod figure;
mod forest;
mod headlines;
mod html;
mod read;
mod scenarios;
mod sensitivity;
mod svg;
mod write;

pub use error::ReportError;
pub use read::SENSITIVITY_FILE;
pub use write::{REPORT_DIR, REPORT_FILE, write_report};
