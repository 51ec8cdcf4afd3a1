//! When a run stops: after a fixed number of draws, or at a target precision.

use serde::{Deserialize, Serialize};

use evcarbon_engine::sampling::CHUNK_SIZE;

/// Default draws per `--until` block: 64 chunks.
pub const DEFAULT_BLOCK_DRAWS: u64 = 64 * CHUNK_SIZE;

/// When a run stops. A fixed number of draws is a rule like any other: the driver
/// runs the same loop for both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopRule {
    /// After a fixed number of draws.
    Draws {
        /// Draws of the run.
        draws: u64,
    },
    /// When every headline bound is precise enough (`--until`).
    Until(Until),
}

/// Settings of `--until`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Until {
    /// Target relative Monte Carlo standard error of every headline bound.
    pub rel: f64,
    /// The rule is not checked before this many draws.
    pub min_draws: u64,
    /// The run stops here whatever the precision.
    pub max_draws: u64,
    /// Draws per block (a multiple of the chunk size); the rule is checked after
    /// each block.
    pub block_draws: u64,
}

impl StopRule {
    /// The largest number of draws the run can take (its chunk plan).
    pub fn max_draws(&self) -> u64 {
        match self {
            StopRule::Draws { draws } => *draws,
            StopRule::Until(u) => u.max_draws,
        }
    }

    /// The rule in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            StopRule::Draws { draws } => format!("{draws} draws"),
            StopRule::Until(u) => format!(
                "--until {} (min {} draws, --max-draws {}, --check-every {})",
                u.rel, u.min_draws, u.max_draws, u.block_draws
            ),
        }
    }
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// All draws of a fixed-size run are done.
    DrawsReached,
    /// `--until`: every headline bound met the precision target.
    PrecisionReached,
    /// `--until`: the maximum number of draws was reached first.
    MaxDrawsReached,
}

impl StopReason {
    /// Text for the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::DrawsReached => "draws reached",
            StopReason::PrecisionReached => "precision reached",
            StopReason::MaxDrawsReached => "max draws reached",
        }
    }
}
