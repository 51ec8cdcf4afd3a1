//! Random streams: one independent, portable stream per chunk of draws.
//!
//! Draws are grouped into chunks of [`CHUNK_SIZE`]. Chunk `k` reads its uniforms from
//! ChaCha8 keyed by the run seed, on stream `k`, from word 0. A chunk's numbers
//! therefore depend only on (seed, k): not on the thread that runs it, the order in
//! which chunks run, or how a run is split. ChaCha8 is specified bit for bit, so the
//! numbers are the same on every platform.
//!
//! ## Stream ids
//!
//! Every design reads ChaCha8 keyed by the run seed; the designs are kept apart by the
//! 64-bit stream id (a chunk index is below 2^54, since draws are a `u64`):
//!
//! | design | stream id | use |
//! |---|---|---|
//! | `mc` | `k` | the uniforms of chunk `k` |
//! | `lhs` | `k \| 2^62` ([`LHS_STREAM_BIT`]) | permutations and jitters of chunk `k` |
//! | `sobol` | `2^63` ([`SOBOL_SCRAMBLE_STREAM`]) | the scrambling seeds, three words per dimension |

use crate::simd::avx2_dispatch;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Draws per chunk. Part of the reproducibility contract: changing it changes results.
pub const CHUNK_SIZE: u64 = 1024;

/// Human-readable name of the generator and how it is keyed, for the manifest.
pub const RNG_DESCRIPTION: &str = "ChaCha8 (rand_chacha 0.10): key = SeedableRng::seed_from_u64(seed), stream = chunk index, \
     uniform = ((next_u64 >> 12) + 0.5) / 2^52";

/// Bit set in the stream id of a Latin hypercube chunk: chunk `k` reads stream
/// `k | LHS_STREAM_BIT`.
pub const LHS_STREAM_BIT: u64 = 1 << 62;

/// Stream id of the Sobol scrambling seeds (one stream per run, not per chunk).
pub const SOBOL_SCRAMBLE_STREAM: u64 = 1 << 63;

/// Bit set in the stream id of the variates only scenarios read: chunk `k` reads
/// them, plain Monte Carlo whatever the design, from stream `k | SCENARIO_STREAM_BIT`.
pub const SCENARIO_STREAM_BIT: u64 = 1 << 61;

/// The per-chunk streams of one run.
#[derive(Clone, Debug)]
pub struct ChunkStreams {
    keyed: ChaCha8Rng,
}

impl ChunkStreams {
    /// Streams for a run seed.
    pub fn new(seed: u64) -> ChunkStreams {
        ChunkStreams {
            keyed: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The stream of chunk `k`, positioned at its start.
    pub fn chunk(&self, k: u64) -> UniformStream {
        let mut rng = self.keyed.clone();
        rng.set_stream(k);
        rng.set_word_pos(0);
        UniformStream { rng }
    }

    /// The raw ChaCha8 generator on stream `id`, positioned at its start (for the
    /// designs other than `mc`; see the table of stream ids above).
    pub fn raw(&self, id: u64) -> ChaCha8Rng {
        let mut rng = self.keyed.clone();
        rng.set_stream(id);
        rng.set_word_pos(0);
        rng
    }
}

/// Uniform variates on the open interval (0, 1) with 52 random bits.
#[derive(Clone, Debug)]
pub struct UniformStream {
    rng: ChaCha8Rng,
}

impl UniformStream {
    /// Fills `out` with fresh uniforms.
    ///
    /// The bits are ChaCha's output words in order, two little-endian 32-bit words
    /// per value (what `next_u64` returns), taken in bulk with `fill_bytes`: the
    /// same stream without a buffer check per value (the value-stability tests pin
    /// it).
    #[inline]
    pub fn fill(&mut self, out: &mut [f64]) {
        let mut bytes = [0u8; 8 * 64];
        for out in out.chunks_mut(64) {
            let bytes = &mut bytes[..8 * out.len()];
            self.rng.fill_bytes(bytes);
            open_units(bytes, out);
        }
    }
}

avx2_dispatch! {
    /// [`open_unit`] of each little-endian 8-byte word of `bytes`, into `out` (one
    /// value per word; four per instruction with AVX2).
    #[inline]
    fn open_units(bytes: &[u8], out: &mut [f64]) = open_units_portable, avx2 open_units_avx2;
}

#[inline(always)]
fn open_units_portable(bytes: &[u8], out: &mut [f64]) {
    for (u, word) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let word: [u8; 8] = word.try_into().expect("8 bytes");
        *u = open_unit(u64::from_le_bytes(word));
    }
}

/// Maps 64 random bits to (0, 1): the midpoint of one of 2^52 equal cells, so 0 and
/// 1 never occur and inverse CDFs stay finite. (With 53 bits the top midpoint,
/// 1 − 2^-54, would round to 1.0.)
#[inline]
pub fn open_unit(bits: u64) -> f64 {
    // `(bits >> 12) as f64`, exactly, by placing the 52 bits in the mantissa of
    // 2^52 and subtracting 2^52: two vector instructions, where an unsigned 64-bit
    // conversion is a long sequence without AVX-512.
    const TWO_52: f64 = (1u64 << 52) as f64;
    let cell = f64::from_bits(TWO_52.to_bits() | (bits >> 12)) - TWO_52;
    (cell + 0.5) * (1.0 / TWO_52)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bulk filling gives the uniforms of one `next_u64` per value, across ChaCha
    /// block boundaries and for any split of the values into calls.
    #[test]
    fn fill_equals_one_next_u64_per_value() {
        let streams = ChunkStreams::new(20261128);
        let mut reference = streams.raw(3);
        let want: Vec<f64> = (0..1000).map(|_| open_unit(reference.next_u64())).collect();
        let mut stream = streams.chunk(3);
        let mut got = Vec::new();
        for len in [1, 7, 64, 65, 130, 3, 200, 530] {
            let mut out = vec![0.0; len];
            stream.fill(&mut out);
            got.extend(out);
        }
        assert_eq!(got.len(), 1000);
        assert_eq!(got, want);
    }

    /// The mantissa construction gives the bits of the plain conversion.
    #[test]
    fn open_unit_equals_the_plain_conversion() {
        let plain = |bits: u64| ((bits >> 12) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let edges = [0, 1 << 12, (1 << 12) - 1, u64::MAX, u64::MAX >> 1, 1 << 63];
        for bits in edges
            .into_iter()
            .chain((0..100_000).map(|_| rng.next_u64()))
        {
            assert_eq!(
                open_unit(bits).to_bits(),
                plain(bits).to_bits(),
                "{bits:#x}"
            );
        }
    }

    #[test]
    fn open_unit_never_reaches_the_ends() {
        assert!(open_unit(0) > 0.0);
        assert!(open_unit(u64::MAX) < 1.0);
        assert_eq!(open_unit(1 << 63), 0.5 + 0.5 / (1u64 << 52) as f64);
        assert_eq!(open_unit(u64::MAX), 1.0 - 0.5 / (1u64 << 52) as f64);
    }

    #[test]
    fn chunks_are_reproducible_and_distinct() {
        let streams = ChunkStreams::new(7);
        let draw = |k| {
            let mut u = [0.0; 4];
            streams.chunk(k).fill(&mut u);
            u
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
        assert_ne!(draw(3), {
            let mut u = [0.0; 4];
            ChunkStreams::new(8).chunk(3).fill(&mut u);
            u
        });
    }

    /// Value stability: a dependency upgrade that changes the stream fails here.
    #[test]
    fn golden_values_seed_20261128() {
        let mut u = [0.0; 3];
        ChunkStreams::new(20261128).chunk(5).fill(&mut u);
        let bits: Vec<u64> = u.iter().map(|x| x.to_bits()).collect();
        assert_eq!(bits, GOLDEN, "ChaCha8 stream changed: {u:?}");
    }

    const GOLDEN: [u64; 3] = [
        4602933739312733563,
        4598444048205154334,
        4594539066821240596,
    ];
}
