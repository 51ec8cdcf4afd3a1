//! Random streams, distributions and the parallel sampler.

pub mod copula;
pub mod design;
pub mod dist;
pub mod engine;
pub mod lhs;
pub mod plan;
pub mod sobol;
pub mod stream;

pub use copula::{Copula, CopulaError, Correlation};
pub use design::{ChunkVariates, Design, DesignError};
pub use dist::{Dist, DistError, DistSpec};
pub use engine::{ChunkPlan, DrawError, Evaluator, SamplerError, SamplerRun};
pub use plan::{ParamPlan, RangeError, SamplingPlan, Scope};
pub use stream::{CHUNK_SIZE, RNG_DESCRIPTION};

/// Sampling design named in a config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplerKind {
    /// Plain Monte Carlo: independent uniforms from a ChaCha8 stream per chunk.
    Mc,
    /// Latin hypercube per chunk of draws.
    Lhs,
    /// Owen-scrambled Sobol points indexed by the global draw number.
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
