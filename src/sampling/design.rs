//! Sampling designs: where each draw's uniform variates come from.
//!
//! A design hands out the variates chunk by chunk. Whatever the design, the variates
//! of a draw depend only on (seed, global draw index, chunk plan), never on threads
//! or scheduling, which is what makes runs reproducible.

use super::SamplerKind;
use super::stream::{ChunkStreams, UniformStream};

/// A run's sampling design.
#[derive(Clone, Debug)]
pub enum Design {
    /// Independent uniforms from a ChaCha8 stream per chunk.
    Mc(ChunkStreams),
}

/// Why a design cannot be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DesignError {
    /// The design is not implemented in this version.
    #[error("sampler `{0}` is not available in this version; use `mc`")]
    Unavailable(&'static str),
}

impl Design {
    /// The design of `kind` for a run with `n_variates` uniforms per draw.
    pub fn new(kind: SamplerKind, seed: u64, n_variates: usize) -> Result<Design, DesignError> {
        let _ = n_variates;
        match kind {
            SamplerKind::Mc => Ok(Design::Mc(ChunkStreams::new(seed))),
            other => Err(DesignError::Unavailable(other.name())),
        }
    }

    /// The variates of chunk `k`, which holds draws `first .. first + len`.
    pub fn chunk(&self, k: u64, first: u64, len: u64) -> ChunkVariates {
        let _ = (first, len);
        match self {
            Design::Mc(streams) => ChunkVariates::Mc(streams.chunk(k)),
        }
    }
}

/// The variates of one chunk, handed out draw by draw in order.
#[derive(Clone, Debug)]
pub enum ChunkVariates {
    /// Plain Monte Carlo.
    Mc(UniformStream),
}

impl ChunkVariates {
    /// Fills `u` with the next draw's uniforms, each in (0, 1).
    #[inline]
    pub fn next_draw(&mut self, u: &mut [f64]) {
        match self {
            ChunkVariates::Mc(stream) => stream.fill(u),
        }
    }
}
