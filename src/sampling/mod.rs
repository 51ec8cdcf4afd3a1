//! Random streams, distributions and the parallel sampler.

mod beta;
pub mod chunk_set;
pub mod copula;
pub mod design;
pub mod dist;
pub mod elementary;
pub mod engine;
pub mod lhs;
pub mod normal;
pub mod plan;
pub mod sobol;
pub mod stream;

pub use chunk_set::ChunkSet;
pub use copula::{Copula, CopulaError, Correlation};
pub use design::{ChunkVariates, Design, DesignError};
pub use dist::{Dist, DistError, DistSpec};
pub use engine::{ChunkPlan, DrawError, Evaluator, PreparedRun, SamplerError, SamplerRun, Segment};
pub use plan::{ParamPlan, RangeError, SamplingPlan, Scenario, Scope};
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

    /// How the design draws its numbers, for the manifest's `rng` field.
    pub fn rng_description(self) -> &'static str {
        match self {
            SamplerKind::Mc => RNG_DESCRIPTION,
            SamplerKind::Lhs => {
                "Latin hypercube per chunk of 1024 draws: ChaCha8 (rand_chacha 0.10), key = SeedableRng::seed_from_u64(seed), \
                 stream = chunk index | 2^62; per variate a Fisher–Yates shuffle of the strata (Lemire bounded integers) \
                 then one 52-bit jitter per draw"
            }
            SamplerKind::Sobol => {
                "Sobol (Joe–Kuo new-joe-kuo-6.21201 direction numbers, 64-bit, Gray-code order, point i = draw i), \
                 hash-based Owen scrambling (Laine–Karras/Burley, 64-bit) seeded from ChaCha8 (rand_chacha 0.10), \
                 key = SeedableRng::seed_from_u64(seed), stream = 2^63; uniform = ((x >> 12) + 0.5) / 2^52"
            }
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
