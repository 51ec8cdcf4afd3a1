//! Latin hypercube sampling, one hypercube per chunk.
//!
//! Chunk `k` (draws `k·CHUNK_SIZE …`, `len` of them) is a Latin hypercube of `len`
//! points over every variate: in each dimension the `len` draws fall one in each of
//! the strata `[s/len, (s+1)/len)`. All of its randomness comes from ChaCha8 keyed by
//! the run seed on stream `k | LHS_STREAM_BIT` (see [`super::stream`]), consumed
//! dimension by dimension: first a Fisher–Yates shuffle of the strata (draw `i` gets
//! stratum `perm[i]`; bounded integers by Lemire's multiply-and-reject method, so they
//! are exactly uniform), then one jitter per draw, `u = (perm[i] + U) / len` with `U`
//! the usual 52-bit open uniform. A chunk therefore depends only on (seed, k, len).

use super::stream::{ChunkStreams, LHS_STREAM_BIT, open_unit};
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

/// The largest f64 below 1.
const BELOW_ONE: f64 = 1.0 - f64::EPSILON / 2.0;

/// The uniforms of one Latin hypercube chunk, stored draw-major.
#[derive(Clone, Debug)]
pub struct LhsChunk {
    /// `values[i * dims + j]`: variate `j` of the chunk's draw `i`.
    values: Vec<f64>,
    dims: usize,
    next: usize,
}

impl LhsChunk {
    /// Generates the hypercube of chunk `k` with `len` draws of `dims` variates.
    pub fn new(streams: &ChunkStreams, k: u64, len: usize, dims: usize) -> LhsChunk {
        let mut rng = streams.raw(k | LHS_STREAM_BIT);
        let mut values = vec![0.0; len * dims];
        let mut perm: Vec<u32> = Vec::with_capacity(len);
        let scale = 1.0 / len as f64;
        for j in 0..dims {
            perm.clear();
            perm.extend(0..len as u32);
            for i in (1..len).rev() {
                let r = below(&mut rng, i as u64 + 1) as usize;
                perm.swap(i, r);
            }
            for (i, &stratum) in perm.iter().enumerate() {
                let u = (f64::from(stratum) + open_unit(rng.next_u64())) * scale;
                values[i * dims + j] = u.min(BELOW_ONE);
            }
        }
        LhsChunk {
            values,
            dims,
            next: 0,
        }
    }

    /// Writes the next draw's uniforms. Past the chunk's end it panics (the engine
    /// never asks for more draws than the chunk holds).
    #[inline]
    pub fn next_draw(&mut self, u: &mut [f64]) {
        let start = self.next * self.dims;
        u.copy_from_slice(&self.values[start..start + self.dims]);
        self.next += 1;
    }
}

/// A uniform integer in `0..n` (n ≥ 1): Lemire, "Fast random integer generation in an
/// interval" (ACM TOMACS 2019), with rejection, so exactly uniform.
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(seed: u64, k: u64, len: usize, dims: usize) -> Vec<Vec<f64>> {
        let mut c = LhsChunk::new(&ChunkStreams::new(seed), k, len, dims);
        (0..len)
            .map(|_| {
                let mut u = vec![0.0; dims];
                c.next_draw(&mut u);
                u
            })
            .collect()
    }

    #[test]
    fn every_stratum_is_hit_once_per_dimension() {
        for len in [1, 2, 7, 1024] {
            let draws = chunk(5, 3, len, 6);
            for j in 0..6 {
                let mut seen = vec![false; len];
                for d in &draws {
                    assert!(d[j] > 0.0 && d[j] < 1.0);
                    let s = (d[j] * len as f64) as usize;
                    assert!(!seen[s], "len {len}, dimension {j}: stratum {s} twice");
                    seen[s] = true;
                }
            }
        }
    }

    #[test]
    fn chunks_are_reproducible_and_differ_by_chunk_and_seed() {
        assert_eq!(chunk(5, 3, 100, 4), chunk(5, 3, 100, 4));
        assert_ne!(chunk(5, 3, 100, 4), chunk(5, 4, 100, 4));
        assert_ne!(chunk(5, 3, 100, 4), chunk(6, 3, 100, 4));
        // Dimensions are not copies of each other.
        let d = chunk(5, 3, 100, 2);
        assert!(
            d.iter()
                .any(|u| (u[0] * 100.0) as u32 != (u[1] * 100.0) as u32)
        );
    }

    #[test]
    fn bounded_integers_are_in_range_and_cover_it() {
        let mut rng = ChunkStreams::new(1).raw(LHS_STREAM_BIT);
        let mut counts = [0u32; 3];
        for _ in 0..3000 {
            counts[below(&mut rng, 3) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(below(&mut rng, 1), 0);
    }
}
