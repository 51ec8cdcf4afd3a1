//! Errors raised when combining statistics that do not belong together.

use std::fmt;

/// Why two accumulators (or a deserialized one) cannot be used together.
#[derive(Clone, Debug, PartialEq)]
pub enum StatsError {
    /// The two sides track a different number of series.
    SeriesCount {
        /// Series in the receiving accumulator.
        expected: usize,
        /// Series in the other accumulator.
        found: usize,
    },
    /// The two sides use a different shift for some series, so their
    /// shifted sums are not comparable.
    ShiftMismatch {
        /// Index of the first series whose shifts differ.
        series: usize,
    },
    /// The two sketches use different relative accuracies or bucket caps.
    SketchParameters,
    /// A relative accuracy outside the supported range was requested.
    InvalidAccuracy(f64),
    /// A bucket cap outside the supported range was requested.
    InvalidBucketCap(usize),
    /// Deserialized data violates an invariant.
    Corrupt(&'static str),
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SeriesCount { expected, found } => {
                write!(
                    f,
                    "series count mismatch: expected {expected}, found {found}"
                )
            }
            Self::ShiftMismatch { series } => {
                write!(f, "moment shifts differ for series {series}")
            }
            Self::SketchParameters => {
                write!(f, "quantile sketches have different accuracy or bucket cap")
            }
            Self::InvalidAccuracy(a) => {
                write!(f, "relative accuracy {a} is outside [1e-7, 0.5)")
            }
            Self::InvalidBucketCap(m) => write!(f, "bucket cap {m} is outside [16, 2^24]"),
            Self::Corrupt(what) => write!(f, "corrupt statistics data: {what}"),
        }
    }
}

impl std::error::Error for StatsError {}
