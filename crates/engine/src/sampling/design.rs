//! Sampling designs: where each draw's uniform variates come from.
//!
//! A design hands out the variates chunk by chunk. Whatever the design, the variates
//! of a draw depend only on (seed, global draw index, chunk plan), never on threads
//! or scheduling, which is what makes runs reproducible. The designs read disjoint
//! ChaCha8 streams (see [`super::stream`]); `docs/sampling.md` describes them.

use super::lhs::LhsChunk;
use super::sobol::{MAX_DIMENSIONS, SobolChunk, SobolDesign};
use super::stream::{ChunkStreams, UniformStream};

/// A run's sampling design.
#[derive(Clone, Debug)]
pub enum Design {
    /// Independent uniforms from a ChaCha8 stream per chunk.
    Mc(ChunkStreams),
    /// A Latin hypercube per chunk, over `dims` variates.
    Lhs {
        /// The run's keyed generator.
        streams: ChunkStreams,
        /// Variates per draw.
        dims: usize,
    },
    /// Owen-scrambled Sobol points indexed by the global draw number.
    Sobol(SobolDesign),
}

/// Why a design cannot be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DesignError {
    /// More variates per draw than the Sobol direction numbers cover.
    #[error(
        "sampler `sobol` supports at most {max} random variates per draw (Joe–Kuo direction numbers), \
         but this config has {variates}; use `lhs` or `mc`, or share variates with a coarser `scope`"
    )]
    TooManyDimensions {
        /// Variates per draw of the config.
        variates: usize,
        /// Dimensions available.
        max: usize,
    },
}

impl Design {
    /// The design of `kind` for a run with `n_variates` uniforms per draw.
    pub fn new(kind: SamplerKind, seed: u64, n_variates: usize) -> Result<Design, DesignError> {
        match kind {
            SamplerKind::Mc => Ok(Design::Mc(ChunkStreams::new(seed))),
            SamplerKind::Lhs => Ok(Design::Lhs {
                streams: ChunkStreams::new(seed),
                dims: n_variates,
            }),
            SamplerKind::Sobol => SobolDesign::new(seed, n_variates).map(Design::Sobol).ok_or(
                DesignError::TooManyDimensions {
                    variates: n_variates,
                    max: MAX_DIMENSIONS,
                },
            ),
        }
    }

    /// The variates of chunk `k`, which holds draws `first .. first + len`.
    ///
    /// For `lhs` this generates the whole chunk (`len × n_variates` values); `mc` and
    /// `sobol` generate draw by draw.
    pub fn chunk(&self, k: u64, first: u64, len: u64) -> ChunkVariates {
        match self {
            Design::Mc(streams) => ChunkVariates::Mc(streams.chunk(k)),
            Design::Lhs { streams, dims } => {
                ChunkVariates::Lhs(LhsChunk::new(streams, k, len as usize, *dims))
            }
            Design::Sobol(sobol) => ChunkVariates::Sobol(sobol.chunk(first)),
        }
    }
}

/// The variates of one chunk, handed out draw by draw in order.
// One value per worker and chunk: the inline ChaCha state of `Mc` is not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum ChunkVariates {
    /// Plain Monte Carlo.
    Mc(UniformStream),
    /// A Latin hypercube, generated up front.
    Lhs(LhsChunk),
    /// Scrambled Sobol points.
    Sobol(SobolChunk),
}

impl ChunkVariates {
    /// Fills `u` with the next draw's uniforms, each in (0, 1).
    #[inline]
    pub fn next_draw(&mut self, u: &mut [f64]) {
        match self {
            ChunkVariates::Mc(stream) => stream.fill(u),
            ChunkVariates::Lhs(lhs) => lhs.next_draw(u),
            ChunkVariates::Sobol(sobol) => sobol.next_draw(u),
        }
    }
}

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
            SamplerKind::Mc => super::stream::RNG_DESCRIPTION,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sobol_past_the_table_is_a_clear_error() {
        let err = Design::new(SamplerKind::Sobol, 1, MAX_DIMENSIONS + 5).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("21201") && msg.contains("21206"), "{msg}");
        assert!(Design::new(SamplerKind::Sobol, 1, MAX_DIMENSIONS).is_ok());
    }

    /// Every design gives the same draw whichever chunk layout reaches it (Sobol is
    /// indexed by the global draw; mc and lhs by chunk, which are fixed).
    #[test]
    fn designs_are_reproducible() {
        for kind in [SamplerKind::Mc, SamplerKind::Lhs, SamplerKind::Sobol] {
            let design = Design::new(kind, 11, 7).unwrap();
            let draw = |k: u64, skip: usize| {
                let mut c = design.chunk(k, k * 1024, 1024);
                let mut u = vec![0.0; 7];
                for _ in 0..=skip {
                    c.next_draw(&mut u);
                }
                u
            };
            assert_eq!(draw(2, 5), draw(2, 5), "{kind:?}");
            assert_ne!(draw(2, 5), draw(3, 5), "{kind:?}");
            assert!(draw(4, 1023).iter().all(|&x| x > 0.0 && x < 1.0));
        }
    }
}
