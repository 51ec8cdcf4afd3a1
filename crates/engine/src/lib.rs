//! The Monte Carlo engine of evcarbon: from a seed and a sampling plan to exact,
//! order-independent aggregates of every metric of the model.
//!
//! - [`sampling`]: random streams and designs (plain Monte Carlo, Latin hypercube,
//!   scrambled Sobol), distributions and their quantile functions, the sampling
//!   plan (which variate drives which entity), rank correlations, and the parallel
//!   sampler that evaluates the model ([`evcarbon_model`]) draw by draw;
//! - [`stats`]: streaming moments and quantile sketches that merge exactly, so
//!   results are bit-identical for any thread count, chunk order or split.
//!
//! Everything else is private: the modules re-export what the application uses.
//! The hot loops are written once and run in an AVX2 build where the CPU has it
//! (`simd.rs`); both builds give the same bits.

mod simd;

pub mod sampling;
pub mod stats;
