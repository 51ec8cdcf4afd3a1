//! The rows of a Sobol analysis (`evcarbon sensitivity`).

use super::drivers_rows::{GroupInfo, OutputLabel};
use super::rows::{Provenance, Telemetry};

/// First-order and total Sobol index of one output and group, with 95 % intervals.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexRow {
    /// Index into [`SensitivityResults::outputs`].
    pub output: usize,
    /// Index into [`SensitivityResults::groups`].
    pub group: usize,
    /// Base draws the estimate is from.
    pub base_draws: u64,
    /// S1 estimate, lower and upper end of its 95 % interval.
    pub s1: (f64, f64, f64),
    /// ST estimate, lower and upper end of its 95 % interval.
    pub st: (f64, f64, f64),
}

/// How a sensitivity analysis was set up, for the files' metadata and manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct SensitivitySettings {
    /// `param`, `province` or `config`.
    pub groups_by: &'static str,
    /// First-order estimator (`saltelli` or `janon`); total: always Jansen.
    pub estimator: &'static str,
    /// Base draws N.
    pub base_draws: u64,
    /// Model evaluations: N × (groups + 2).
    pub evaluations: u64,
    /// Batches of the jackknife.
    pub batches: usize,
}

/// Everything `evcarbon sensitivity` writes.
#[derive(Clone, Debug, PartialEq)]
pub struct SensitivityResults {
    /// Provenance (`draws` holds the base draws).
    pub provenance: Provenance,
    /// Setup.
    pub settings: SensitivitySettings,
    /// Throughput (`draws_per_second` holds evaluations per second).
    pub telemetry: Telemetry,
    /// Outputs, by layout index.
    pub outputs: Vec<OutputLabel>,
    /// Groups, in order.
    pub groups: Vec<GroupInfo>,
    /// Final indices of every output that varies, output-major.
    pub indices: Vec<IndexRow>,
    /// Indices after each power of two of base draws (the last at N).
    pub convergence: Vec<IndexRow>,
}
