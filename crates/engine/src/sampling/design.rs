//! Sampling designs: where each draw's uniform variates come from.
//!
//! A design hands out the variates chunk by chunk. Whatever the design, the variates
//! of a draw depend only on (seed, global draw index, chunk plan), never on threads
//! or scheduling, which is what makes runs reproducible. The designs read disjoint
//! ChaCha8 streams (see [`super::stream`]); `docs/sampling.md` describes them.

use super::lhs::LhsChunk;
use super::sobol::{MAX_DIMENSIONS, SobolChunk, SobolDesign};
use super::stream::{ChunkStreams, SCENARIO_STREAM_BIT, UniformStream};

/// A run's sampling design: the design's own variates, and a plain Monte Carlo
/// stream per chunk for the variates only scenarios read (see
/// [`super::SamplingPlan::variant`]), which no design draws, so that adding a
/// scenario never changes the baseline's draws.
#[derive(Clone, Debug)]
pub struct Design {
    kind: DesignKind,
    n_variates: usize,
    scenario_streams: ChunkStreams,
}

/// The design proper.
#[derive(Clone, Debug)]
enum DesignKind {
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
        let kind = match kind {
            SamplerKind::Mc => DesignKind::Mc(ChunkStreams::new(seed)),
            SamplerKind::Lhs => DesignKind::Lhs {
                streams: ChunkStreams::new(seed),
                dims: n_variates,
            },
            SamplerKind::Sobol => SobolDesign::new(seed, n_variates)
                .map(DesignKind::Sobol)
                .ok_or(DesignError::TooManyDimensions {
                    variates: n_variates,
                    max: MAX_DIMENSIONS,
                })?,
        };
        Ok(Design {
            kind,
            n_variates,
            scenario_streams: ChunkStreams::new(seed),
        })
    }

    /// The variates of chunk `k`, which holds draws `first .. first + len`.
    ///
    /// For `lhs` this generates the whole chunk (`len × n_variates` values); `mc` and
    /// `sobol` generate draw by draw.
    pub fn chunk(&self, k: u64, first: u64, len: u64) -> ChunkVariates {
        let design = match &self.kind {
            DesignKind::Mc(streams) => DesignChunk::Mc(streams.chunk(k)),
            DesignKind::Lhs { streams, dims } => {
                DesignChunk::Lhs(LhsChunk::new(streams, k, len as usize, *dims))
            }
            DesignKind::Sobol(sobol) => DesignChunk::Sobol(sobol.chunk(first)),
        };
        ChunkVariates {
            design,
            n_variates: self.n_variates,
            scenarios: self.scenario_streams.chunk(k | SCENARIO_STREAM_BIT),
        }
    }
}

/// The variates of one chunk, handed out draw by draw in order.
#[derive(Clone, Debug)]
pub struct ChunkVariates {
    design: DesignChunk,
    n_variates: usize,
    scenarios: UniformStream,
}

/// The design's variates of one chunk.
// One value per worker and chunk: the inline ChaCha state of `Mc` is not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum DesignChunk {
    /// Plain Monte Carlo.
    Mc(UniformStream),
    /// A Latin hypercube, generated up front.
    Lhs(LhsChunk),
    /// Scrambled Sobol points.
    Sobol(SobolChunk),
}

impl ChunkVariates {
    /// Fills `u` with the next draw's uniforms, each in (0, 1): the design's
    /// variates first, then those only scenarios read (when `u` is longer than the
    /// design's variates), from the chunk's scenario stream.
    #[inline]
    pub fn next_draw(&mut self, u: &mut [f64]) {
        let (design, scenarios) = u.split_at_mut(self.n_variates.min(u.len()));
        match &mut self.design {
            DesignChunk::Mc(stream) => stream.fill(design),
            DesignChunk::Lhs(lhs) => lhs.next_draw(design),
            DesignChunk::Sobol(sobol) => sobol.next_draw(design),
        }
        if !scenarios.is_empty() {
            self.scenarios.fill(scenarios);
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

    /// The variates only scenarios read come after the design's, from a stream of
    /// their own: the design's variates of every draw are those of a run without
    /// them, for every design, and a design of no variates still draws them.
    #[test]
    fn scenario_variates_leave_the_design_s_draws_alone() {
        for kind in [SamplerKind::Mc, SamplerKind::Lhs, SamplerKind::Sobol] {
            for n in [0, 3] {
                let design = Design::new(kind, 7, n).unwrap();
                let (mut plain, mut longer) =
                    (design.chunk(2, 2048, 1024), design.chunk(2, 2048, 1024));
                let mut scenario = ChunkStreams::new(7).chunk(2 | SCENARIO_STREAM_BIT);
                for _ in 0..5 {
                    let (mut a, mut b, mut c) = (vec![0.0; n], vec![0.0; n + 2], [0.0; 2]);
                    plain.next_draw(&mut a);
                    longer.next_draw(&mut b);
                    scenario.fill(&mut c);
                    assert_eq!(a[..], b[..n], "{kind:?}");
                    assert_eq!(c[..], b[n..], "{kind:?}");
                }
            }
        }
    }

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
