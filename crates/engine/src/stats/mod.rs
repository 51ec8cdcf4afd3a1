//! Streaming statistics for the Monte Carlo run: moments, quantiles,
//! accumulators and summaries that are bit-identical for any thread count and chunk order.
//!
//! # Determinism
//!
//! Draws are processed in fixed chunks (chunk `k` always holds the same
//! draws) by any number of workers, in any order, and the partial results
//! are merged in any order. Every result is nevertheless the same bits:
//!
//! * **Moments.** Within a chunk, one worker adds the draws in draw order
//!   into plain `f64` sums (`ChunkMomentsBank`), so each chunk's sums are a
//!   function of the chunk's contents alone. Across chunks the sums are
//!   accumulated in `ExactSum`s, which hold the exact real-number total and
//!   round it once (round-half-even) when read. Exact addition is
//!   associative and commutative, so the totals — and the mean and sd
//!   computed from them — do not depend on chunk order, worker count or
//!   shard split.
//! * **Quantiles.** A [`QuantileSketch`] maps each value to a bucket by a
//!   pure function of its bits and counts it with an integer. Integer
//!   addition is exact, so the bucket counts — and every quantile read from
//!   them — depend only on the multiset of draws. `min`/`max` are exact
//!   (with `−0.0` normalized to `+0.0`). Bucket-cap collapsing is designed
//!   to be order-independent as well (see [`QuantileSketch::collapsed`]).
//! * **Serialization.** Both accumulators serialize a canonical form
//!   (canonical exact-sum expansion, trimmed bucket stores), so equal
//!   contents give equal bytes; the equality operators compare that form.
//!
//! Memory is independent of the number of draws: per series, a few
//! partials per exact sum and a bucket array proportional to the log-range
//! of the values (about 1,700 buckets of 16-bit counts, 3.4 KiB, for a
//! lognormal with σ = 0.3; counts past 65,535 carry exactly into a small
//! map), capped at `DEFAULT_MAX_BUCKETS` (2^16) buckets per sign. An accumulator
//! also holds one block of coded draws (2 bytes per series and draw, see
//! `block.rs`).
//!
//! # Accuracy
//!
//! Reported quantiles are within [`DEFAULT_RELATIVE_ACCURACY`] (0.09 %) of
//! the exact inverted-CDF order statistic of the same draws, including float
//! rounding, unless the sketch reports [`QuantileSketch::collapsed`] or the
//! value is below `ZERO_THRESHOLD` (the smallest normal f64) in magnitude.

mod aggregate;
mod block;
mod error;
mod exact;
mod exact_sum;
mod given_data;
mod moments;
mod resolution;
mod sketch;
mod sobol_indices;
mod summary;

pub use aggregate::{Accumulator, SeriesGuess};
pub use error::StatsError;
pub use exact::ExactDraws;
pub use given_data::{
    FILTER_BINS, FIRST_ORDER_BINS, FilterResult, GivenDataSums, GivenFirstOrder, ks_p_value,
};
pub use resolution::{
    ABSOLUTE_ACCURACY_SD, MAX_HALVINGS, PilotMoments, RELATIVE_ACCURACY, Resolution,
};
pub use sketch::{
    DEFAULT_RELATIVE_ACCURACY, QuantileSketch, SketchCounts, inverted_cdf_rank,
    quantile_error_bound,
};
pub use sobol_indices::{
    FirstOrderEstimator, GroupIndices, IndexBatch, IndexEstimate, IndexSums, jackknife_se,
};
pub use summary::{Interval, Summary, level_label, quantile_mcse};

pub(crate) use moments::GROUP as MOMENTS_GROUP;
