//! Aggregation of draws: exact moments, quantile sketches and run accumulators.

pub mod aggregate;
pub mod error;
pub mod exact_sum;
pub mod moments;
pub mod sketch;
pub mod summary;

pub use aggregate::Accumulator;
pub use error::StatsError;
pub use exact_sum::ExactSum;
pub use moments::{ChunkMomentsBank, RunMoments};
pub use sketch::{DEFAULT_RELATIVE_ACCURACY, QuantileSketch};
pub use summary::{Interval, Summary};
