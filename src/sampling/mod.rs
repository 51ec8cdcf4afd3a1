//! Random streams, distributions and the parallel sampler.

pub mod chunk_set;
pub mod design;
pub mod dist;
pub mod engine;
pub mod plan;
pub mod stream;

pub use chunk_set::ChunkSet;
pub use design::{ChunkVariates, Design, DesignError};
pub use dist::{Dist, DistError, DistSpec};
pub use engine::{ChunkPlan, DrawError, Evaluator, PreparedRun, SamplerError, SamplerRun, Segment};
pub use plan::{ParamPlan, RangeError, SamplingPlan, Scope};
pub use stream::{CHUNK_SIZE, RNG_DESCRIPTION};

/// Sampling design named in a config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplerKind {
    /// Plain Monte Carlo: independent uniforms from a ChaCha8 stream per chunk.
    Mc,
    /// Latin hypercube (not yet available).
    Lhs,
    /// Scrambled Sobol points (not yet available).
    Sobol,
}

impl SamplerKind {
    /// Name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SamplerKind::Mc => "mc",
            SamplerKind::Lhs => "lhs",
            SamplerKind::Sobol => "sobol",
        }
    }

    /// Parses a sampler name.
    pub fn from_name(name: &str) -> Option<SamplerKind> {
        match name {
            "mc" => Some(SamplerKind::Mc),
            "lhs" => Some(SamplerKind::Lhs),
            "sobol" => Some(SamplerKind::Sobol),
            _ => None,
        }
    }
}
