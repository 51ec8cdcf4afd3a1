//! Owen-scrambled Sobol points with 64-bit direction numbers.
//!
//! * **Direction numbers**: Joe & Kuo's `new-joe-kuo-6.21201` table (primitive
//!   polynomials and initial numbers `m_1 … m_s` for dimensions 2 … 21201, search
//!   criterion D(6); S. Joe and F. Y. Kuo, "Constructing Sobol sequences with better
//!   two-dimensional projections", SIAM J. Sci. Comput. 30, 2635–2654, 2008), embedded
//!   verbatim in `data/new-joe-kuo-6.21201` (SHA-256 in [`JOE_KUO_SHA256`]).
//!   Dimension 1 is van der Corput's sequence. The recurrence is run to 64 bits, so
//!   the points are exact for any draw index below 2^64.
//! * **Point of a draw**: draw `i` (global, 0-based) takes the Sobol point of Gray-code
//!   rank `i`: `x_i = ⊕ { V_{b+1} : bit b of i ^ (i >> 1) }`. A chunk computes its first
//!   point directly and then steps `x_{i+1} = x_i ⊕ V_{ctz(i+1)+1}`, so the variates
//!   of a draw never depend on how the run is cut into chunks, threads or shards.
//! * **Dimensions**: variate `j` of the [`super::SamplingPlan`] numbering (parameters in
//!   `Param::ALL` order, groups in table order) is Sobol dimension `j + 1`. More than
//!   [`MAX_DIMENSIONS`] variates is refused (see [`super::DesignError`]).
//! * **Scrambling**: each coordinate gets a hash-based Owen scramble (Laine & Karras
//!   2011; Burley, "Practical Hash-based Owen Scrambling", JCGT 2020) widened to 64
//!   bits: in bit-reversed order every step of the hash only lets lower bits act on
//!   higher ones, so bit `b` of the point is flipped by a function of the bits above
//!   it, which is the structure of Owen's nested scramble. The three 64-bit seeds of
//!   each dimension come from ChaCha8 keyed by the run seed on stream
//!   [`super::stream::SOBOL_SCRAMBLE_STREAM`]. The scramble is a bijection that keeps
//!   every elementary interval's count, and fills the bits below the net's resolution
//!   with hashed (effectively random) bits, so the uniforms have full f64 resolution.

use super::stream::{ChunkStreams, SOBOL_SCRAMBLE_STREAM, open_unit};
use rand_core::Rng;
use std::sync::Arc;

/// Number of dimensions the embedded direction numbers cover.
pub const MAX_DIMENSIONS: usize = 21201;

/// SHA-256 of the embedded Joe–Kuo file, as published (checked by a test).
#[cfg(test)]
const JOE_KUO_SHA256: &str = "93649c810951fc77ee501a97ac9d840b29066cb9bb5a70efcad7e5cee6732861";

/// Joe & Kuo's table: a header line, then `d s a m_1 … m_s` for d = 2 … 21201.
pub(crate) const JOE_KUO: &str = include_str!("data/new-joe-kuo-6.21201");

/// Bits of every direction number (and of every unscrambled coordinate).
const BITS: usize = 64;

/// Scrambled Sobol points for one run: direction numbers and scrambling seeds.
#[derive(Clone)]
pub struct SobolDesign {
    tables: Arc<Tables>,
}

struct Tables {
    dims: usize,
    /// `directions[b * dims + j]` = V_{b+1} of dimension j (bit-major, so one step of
    /// the Gray code reads a contiguous row).
    directions: Vec<u64>,
    /// Three scrambling seeds per dimension.
    seeds: Vec<[u64; 3]>,
}

impl std::fmt::Debug for SobolDesign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SobolDesign")
            .field("dims", &self.tables.dims)
            .finish_non_exhaustive()
    }
}

impl SobolDesign {
    /// The design for `dims` variates per draw, scrambled from `seed`; `None` when
    /// `dims` exceeds [`MAX_DIMENSIONS`].
    pub fn new(seed: u64, dims: usize) -> Option<SobolDesign> {
        if dims > MAX_DIMENSIONS {
            return None;
        }
        let mut directions = vec![0u64; BITS * dims];
        for (j, v) in direction_numbers(dims).into_iter().enumerate() {
            for (b, x) in v.into_iter().enumerate() {
                directions[b * dims + j] = x;
            }
        }
        let mut rng = ChunkStreams::new(seed).raw(SOBOL_SCRAMBLE_STREAM);
        let seeds = (0..dims)
            .map(|_| [rng.next_u64(), rng.next_u64(), rng.next_u64()])
            .collect();
        Some(SobolDesign {
            tables: Arc::new(Tables {
                dims,
                directions,
                seeds,
            }),
        })
    }

    /// The points of draws `first ..`, starting at `first`.
    pub fn chunk(&self, first: u64) -> SobolChunk {
        let t = &self.tables;
        let mut x = vec![0u64; t.dims];
        let gray = first ^ (first >> 1);
        for b in 0..BITS {
            if gray >> b & 1 == 1 {
                let row = &t.directions[b * t.dims..(b + 1) * t.dims];
                for (xj, v) in x.iter_mut().zip(row) {
                    *xj ^= v;
                }
            }
        }
        SobolChunk {
            tables: Arc::clone(&self.tables),
            index: first,
            x,
        }
    }
}

/// The Sobol points of one chunk, handed out draw by draw.
#[derive(Clone)]
pub struct SobolChunk {
    tables: Arc<Tables>,
    /// Gray-code rank of the point in `x`.
    index: u64,
    /// Unscrambled coordinates of point `index`.
    x: Vec<u64>,
}

impl std::fmt::Debug for SobolChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SobolChunk")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl SobolChunk {
    /// Writes the current point, scrambled and mapped to (0, 1), then steps to the
    /// next one.
    #[inline]
    pub fn next_draw(&mut self, u: &mut [f64]) {
        let t = &*self.tables;
        for ((out, &x), s) in u.iter_mut().zip(&self.x).zip(&t.seeds) {
            *out = open_unit(owen_scramble(x, s));
        }
        if let Some(next) = self.index.checked_add(1) {
            let b = next.trailing_zeros() as usize;
            let row = &t.directions[b * t.dims..(b + 1) * t.dims];
            for (xj, v) in self.x.iter_mut().zip(row) {
                *xj ^= v;
            }
            self.index = next;
        }
    }
}

/// Hash-based nested scramble of a 64-bit coordinate (most significant bit first).
///
/// Works on the bit-reversed word, where each operation (adding a seed, multiplying
/// by an odd seed, `v ^= v·c` with even `c`) changes bit `k` only through bits below
/// `k`; reversed back, bit `b` of the point is flipped by a function of the bits
/// above it. The even constants are the 64-bit mixers of SplitMix64 / Stafford's
/// Mix13 with the low bit cleared.
#[inline]
pub fn owen_scramble(x: u64, seed: &[u64; 3]) -> u64 {
    let mut v = x.reverse_bits();
    v = v.wrapping_add(seed[0]);
    v ^= v.wrapping_mul(0x9e37_79b9_7f4a_7c14);
    v = v.wrapping_mul(seed[1] | 1);
    v ^= v.wrapping_mul(0xbf58_476d_1ce4_e5b8);
    v = v.wrapping_add(seed[2]);
    v ^= v.wrapping_mul(0x94d0_49bb_1331_11ea);
    v.reverse_bits()
}

/// The 64-bit direction numbers V_1 … V_64 of the first `dims` dimensions, each
/// V_k = m_k · 2^(64−k).
fn direction_numbers(dims: usize) -> Vec<[u64; BITS]> {
    let mut out = Vec::with_capacity(dims);
    if dims == 0 {
        return out;
    }
    // Dimension 1: van der Corput, m_k = 1.
    let mut first = [0u64; BITS];
    for (k, v) in first.iter_mut().enumerate() {
        *v = 1u64 << (BITS - 1 - k);
    }
    out.push(first);
    for line in JOE_KUO.lines().skip(1).take(dims - 1) {
        let mut fields = line.split_whitespace().map(|f| {
            f.parse::<u64>()
                .expect("the embedded Joe–Kuo table holds integers")
        });
        let (_d, s, a) = (fields.next(), fields.next(), fields.next());
        let (s, a) = (s.expect("degree") as usize, a.expect("polynomial"));
        let m: Vec<u64> = fields.collect();
        assert_eq!(m.len(), s, "Joe–Kuo line with a wrong count: {line}");
        let mut v = [0u64; BITS];
        for k in 0..s {
            v[k] = m[k] << (BITS - 1 - k);
        }
        for k in s..BITS {
            let mut x = v[k - s] ^ (v[k - s] >> s);
            for i in 1..s {
                if (a >> (s - 1 - i)) & 1 == 1 {
                    x ^= v[k - i];
                }
            }
            v[k] = x;
        }
        out.push(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unscrambled points of a design (for checks against published values).
    fn raw_points(dims: usize, n: u64) -> Vec<Vec<u64>> {
        let d = SobolDesign::new(1, dims).unwrap();
        let mut c = d.chunk(0);
        (0..n)
            .map(|_| {
                let p = c.x.clone();
                let mut u = vec![0.0; dims];
                c.next_draw(&mut u);
                p
            })
            .collect()
    }

    fn to_f64(x: u64) -> f64 {
        x as f64 / 2f64.powi(64)
    }

    #[test]
    fn embedded_table_is_the_published_file() {
        use sha2::{Digest, Sha256};
        let hex: String = Sha256::digest(JOE_KUO.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, JOE_KUO_SHA256);
        assert_eq!(JOE_KUO.lines().count(), MAX_DIMENSIONS);
        // Every line parses, with s initial numbers, each odd and below 2^k.
        let v = direction_numbers(MAX_DIMENSIONS);
        assert_eq!(v.len(), MAX_DIMENSIONS);
        for dim in &v {
            // m_k is odd: bit 64-k of V_k is set, and nothing below it.
            for (k, x) in dim.iter().enumerate() {
                assert_eq!(x.trailing_zeros() as usize, BITS - 1 - k);
            }
        }
    }

    /// The first points in Gray-code order, as published (e.g. SciPy's
    /// `Sobol(d=3, scramble=False)`).
    #[test]
    fn first_points_match_the_published_sequence() {
        let expected = [
            [0.0, 0.0, 0.0],
            [0.5, 0.5, 0.5],
            [0.75, 0.25, 0.25],
            [0.25, 0.75, 0.75],
            [0.375, 0.375, 0.625],
            [0.875, 0.875, 0.125],
            [0.625, 0.125, 0.875],
            [0.125, 0.625, 0.375],
        ];
        let got = raw_points(3, 8);
        for (p, e) in got.iter().zip(expected) {
            let p: Vec<f64> = p.iter().map(|&x| to_f64(x)).collect();
            assert_eq!(p, e);
        }
    }

    #[test]
    fn a_chunk_can_start_anywhere() {
        let d = SobolDesign::new(9, 40).unwrap();
        let mut whole = d.chunk(0);
        let mut u = vec![0.0; 40];
        for _ in 0..1500 {
            whole.next_draw(&mut u);
        }
        let mut part = d.chunk(1500);
        let mut w = vec![0.0; 40];
        whole.next_draw(&mut u);
        part.next_draw(&mut w);
        assert_eq!(u, w);
        // Near the end of the index range the stepping stops without overflow.
        let mut last = d.chunk(u64::MAX);
        last.next_draw(&mut w);
        last.next_draw(&mut w);
        assert!(w.iter().all(|x| *x > 0.0 && *x < 1.0));
    }

    /// Nested scrambling keeps the net property: in every dimension, the first 2^m
    /// points fill each of the 2^m intervals [k/2^m, (k+1)/2^m) once; in the first two
    /// dimensions (a (0, m, 2)-net), every 2^a × 2^(m−a) box holds one point.
    #[test]
    fn scrambled_points_keep_their_stratification() {
        let m = 10;
        let n = 1usize << m;
        let dims = 1100;
        let d = SobolDesign::new(20261128, dims).unwrap();
        let mut c = d.chunk(0);
        let mut pts = vec![vec![0.0; dims]; n];
        for p in &mut pts {
            c.next_draw(p);
        }
        for j in [0, 1, 2, 7, 100, 1069, 1099] {
            let mut seen = vec![false; n];
            for p in &pts {
                let k = (p[j] * n as f64) as usize;
                assert!(!seen[k], "dimension {j}: stratum {k} twice");
                seen[k] = true;
            }
        }
        for a in 0..=m {
            let mut seen = vec![false; n];
            for p in &pts {
                let x = (p[0] * (1 << a) as f64) as usize;
                let y = (p[1] * (1 << (m - a)) as f64) as usize;
                let k = (x << (m - a)) | y;
                assert!(!seen[k], "box {x},{y} of 2^{a} x 2^{} twice", m - a);
                seen[k] = true;
            }
        }
        // Scrambled, not the raw points: the first point is not at the origin, and
        // the low bits are filled (not all points are multiples of 2^-m).
        assert!(pts[0].iter().all(|&x| x > 0.0 && x < 1.0));
        assert!(pts[0][0] * n as f64 != (pts[0][0] * n as f64).floor());
    }

    #[test]
    fn the_scramble_depends_on_the_seed_and_is_reproducible() {
        let draw = |seed| {
            let mut u = vec![0.0; 5];
            SobolDesign::new(seed, 5)
                .unwrap()
                .chunk(3)
                .next_draw(&mut u);
            u
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn too_many_dimensions_are_refused() {
        assert!(SobolDesign::new(1, MAX_DIMENSIONS + 1).is_none());
        assert!(SobolDesign::new(1, 0).is_some());
    }
}
