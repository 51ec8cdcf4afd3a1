//! Random streams, distributions and the parallel sampler.

pub mod dist;
