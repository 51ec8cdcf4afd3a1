//! Values mapped to their sketch buckets as they are produced, and counted a block
//! of draws at a time.
//!
//! A draw yields one value for each of thousands of series, and each series has its
//! own sketch. Counting a value the moment it is produced touches a different
//! sketch per value, so every count is a cache miss. Instead, [`SketchBlock::push`]
//! maps each value to its bucket at once (arithmetic on values that are already in
//! registers) and keeps a 16-bit [`BucketCode`], a quarter of the size of the value.
//! Codes go draw by draw into a small tile, which is transposed every `TILE` draws
//! into a series-major block; [`SketchBlock::flush`] then counts the block series
//! by series, so one sketch's buckets stay in cache while its codes are counted. The counts are the same integers as inserting value by value, so
//! the sketches (and everything read from them) are unchanged bit for bit.

use super::QuantileSketch;
use super::sketch::{BucketCode, ZERO_THRESHOLD, bucket_index};

/// Draws coded draw-major before they are transposed into the series-major buffer
/// (one cache line of codes per series).
const TILE: usize = 32;

/// A block of coded draws awaiting their sketches.
///
/// Invariant: the `buffered` draws' codes are in `codes` (whole tiles) and `tile`
/// (the last `buffered % TILE` draws), and `min`/`max` hold the exact extremes of
/// each series over them (`±∞` when empty).
#[derive(Clone, Debug)]
pub(crate) struct SketchBlock {
    series: usize,
    capacity: usize,
    multiplier: f64,
    /// Bucket each series' codes are relative to.
    anchors: Vec<i32>,
    /// Series-major: `codes[i * stride + d]` is series `i` of buffered draw `d`.
    codes: Vec<u16>,
    /// `capacity` rounded up to an odd multiple of `TILE` codes (one cache line), so
    /// that one draw's codes do not all fall in the same few cache sets.
    stride: usize,
    /// Draw-major codes of the last `buffered % TILE` draws (up to `TILE` rows of
    /// `series` codes), waiting to be moved into `codes`.
    tile: Vec<u16>,
    min: Vec<f64>,
    max: Vec<f64>,
    /// Scratch for [`Self::recenter_anchors`]: lowest and highest bucket seen.
    span_lo: Vec<i32>,
    span_hi: Vec<i32>,
    /// Values too far from their series' anchor to code: (series, value).
    escaped: Vec<(u32, f64)>,
    /// Scratch for counting one series' codes, all zeros between uses
    /// (allocated with `codes`).
    hist: Option<Box<[u32; 1 << 16]>>,
    buffered: usize,
}

impl SketchBlock {
    /// A block of up to `capacity` draws for sketches mapped with `multiplier`.
    /// Each series' anchor is the bucket of its value in `typical`.
    pub(crate) fn new(typical: &[f64], multiplier: f64, capacity: usize) -> SketchBlock {
        let series = typical.len();
        let stride = (capacity.div_ceil(TILE) | 1) * TILE;
        SketchBlock {
            series,
            capacity,
            multiplier,
            anchors: typical.iter().map(|&x| anchor_of(multiplier, x)).collect(),
            // Allocated at the first push, so that an unused block (a template
            // cloned for every worker) costs nothing.
            codes: Vec::new(),
            stride,
            tile: vec![0; series * TILE],
            span_lo: vec![0; series],
            span_hi: vec![0; series],
            min: vec![f64::INFINITY; series],
            max: vec![f64::NEG_INFINITY; series],
            // Escapes are rare (a value more than γ^16383 ≈ 6e12 times larger or
            // smaller than its anchor); this room avoids allocating in the hot loop.
            escaped: Vec::with_capacity(series),
            hist: None,
            buffered: 0,
        }
    }

    /// Codes one draw (one value per series, all finite); returns true when the
    /// block is full and must be flushed before the next push.
    #[inline]
    pub(crate) fn push(&mut self, values: &[f64]) -> bool {
        debug_assert!(self.buffered < self.capacity, "flush a full block first");
        if self.codes.is_empty() {
            self.codes = vec![0; self.series * self.stride];
            let hist = vec![0u32; 1 << 16].into_boxed_slice();
            self.hist = Some(hist.try_into().expect("2^16 counters"));
        }
        debug_assert_eq!(values.len(), self.series);
        let t = self.buffered % TILE;
        let row = &mut self.tile[t * self.series..][..self.series];
        let escapes = code_row(Row {
            values,
            anchors: &self.anchors,
            multiplier: self.multiplier,
            codes: row,
            min: &mut self.min,
            max: &mut self.max,
        });
        if escapes {
            self.record_escapes(t, values);
        }
        self.buffered += 1;
        if t + 1 == TILE {
            self.spill_tile();
        }
        self.buffered == self.capacity
    }

    #[cold]
    fn record_escapes(&mut self, t: usize, values: &[f64]) {
        let row = &self.tile[t * self.series..][..self.series];
        for (i, (&code, &value)) in row.iter().zip(values).enumerate() {
            if code == BucketCode::ESCAPED {
                self.escaped.push((i as u32, value + 0.0));
            }
        }
    }

    /// Moves the tile's rows (the draws since the last spill) into the
    /// series-major buffer: a transpose whose reads stay within the tile's few
    /// cache lines per series and whose writes fill whole lines.
    fn spill_tile(&mut self) {
        let rows = match self.buffered % TILE {
            0 => TILE.min(self.buffered),
            r => r,
        };
        let first = self.buffered - rows;
        let mut line = [0u16; TILE];
        for (i, codes) in self.codes.chunks_exact_mut(self.stride).enumerate() {
            // Gathered first and stored as one block: a few wide stores per cache
            // line instead of one per code keeps the store buffer from filling while
            // the line is fetched.
            for (t, code) in line[..rows].iter_mut().enumerate() {
                *code = self.tile[t * self.series + i];
            }
            codes[first..first + rows].copy_from_slice(&line[..rows]);
        }
    }

    /// Draws buffered.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// Counts the buffered draws into `sketches` (one per series) and empties the
    /// block.
    pub(crate) fn flush(&mut self, sketches: &mut [QuantileSketch]) {
        debug_assert_eq!(sketches.len(), self.series);
        let n = self.buffered;
        if n == 0 {
            return;
        }
        if !n.is_multiple_of(TILE) {
            self.spill_tile();
        }
        let hist = self.hist.as_mut().expect("allocated with the codes");
        for (i, (sketch, codes)) in sketches
            .iter_mut()
            .zip(self.codes.chunks_exact(self.stride))
            .enumerate()
        {
            sketch.add_coded(self.anchors[i], &codes[..n], hist, self.min[i], self.max[i]);
        }
        for &(i, x) in &self.escaped {
            sketches[i as usize].add_to_bucket(x);
        }
        self.recenter_anchors();
        self.escaped.clear();
        self.min.fill(f64::INFINITY);
        self.max.fill(f64::NEG_INFINITY);
        self.buffered = 0;
    }
}

impl SketchBlock {
    /// Re-anchors each series that had escapes at the middle of the range spanned
    /// by its anchor and its escaped values, so that a series whose values straddle
    /// more than the code range around its anchor (a delta that is either a
    /// rounding residue of 1e-12 or a real 1e3) codes both kinds from then on. The
    /// anchor changes only the coding, never the counts.
    fn recenter_anchors(&mut self) {
        for &(i, _) in &self.escaped {
            let i = i as usize;
            (self.span_lo[i], self.span_hi[i]) = (self.anchors[i], self.anchors[i]);
        }
        for &(i, x) in &self.escaped {
            let (i, idx) = (i as usize, anchor_of(self.multiplier, x));
            self.span_lo[i] = self.span_lo[i].min(idx);
            self.span_hi[i] = self.span_hi[i].max(idx);
        }
        for &(i, _) in &self.escaped {
            let i = i as usize;
            self.anchors[i] =
                ((i64::from(self.span_lo[i]) + i64::from(self.span_hi[i])) / 2) as i32;
        }
    }
}

/// One draw to code: its `values`, each series' anchor and running extremes, and
/// where its codes go (all slices of one length).
struct Row<'a> {
    values: &'a [f64],
    anchors: &'a [i32],
    multiplier: f64,
    codes: &'a mut [u16],
    min: &'a mut [f64],
    max: &'a mut [f64],
}

/// Codes one draw's `values` into `codes` and updates each series' `min` and
/// `max`; returns whether any code is [`BucketCode::ESCAPED`].
///
/// Runs the AVX2 build of the same loop where the CPU has it (twice the lanes of
/// the SSE2 baseline); both builds do the same IEEE operations in the same order,
/// so the codes do not depend on the CPU.
#[inline]
fn code_row(row: Row<'_>) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { code_row_avx2(row) };
    }
    code_row_portable(row)
}

/// [`code_row_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn code_row_avx2(row: Row<'_>) -> bool {
    code_row_portable(row)
}

/// The loop of [`code_row`]: branch-free over equal-length slices, so that it
/// vectorizes.
#[inline(always)]
fn code_row_portable(row: Row<'_>) -> bool {
    let n = row.values.len();
    let (values, multiplier) = (row.values, row.multiplier);
    let (anchors, codes) = (&row.anchors[..n], &mut row.codes[..n]);
    let (min, max) = (&mut row.min[..n], &mut row.max[..n]);
    let mut escapes = 0u16;
    for i in 0..n {
        // -0.0 becomes +0.0, as in `QuantileSketch::insert`.
        let x = values[i] + 0.0;
        min[i] = if x < min[i] { x } else { min[i] };
        max[i] = if x > max[i] { x } else { max[i] };
        let code = BucketCode::of(x, anchors[i], multiplier);
        codes[i] = code;
        escapes |= u16::from(code == BucketCode::ESCAPED);
    }
    escapes != 0
}

/// The anchor bucket for a series whose values are near `x`.
fn anchor_of(multiplier: f64, x: f64) -> i32 {
    let a = x.abs();
    if a.is_finite() && a >= ZERO_THRESHOLD {
        bucket_index(multiplier, a)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bucket counts that pass 2^16 while counted from blocks (the carry path of
    /// the histogram transfer) match value-by-value inserts.
    #[test]
    fn block_counts_past_u16_match_inserts() {
        let template = QuantileSketch::new();
        let value = |d: usize| {
            let middle = [2.5, 3.0, 3.0, 7.0][d % 4];
            [middle, (d % 5) as f64 - 2.0]
        };
        let mut block = SketchBlock::new(&value(0), template.multiplier(), 2048);
        let mut coded = vec![template.clone(); 2];
        let mut direct = vec![template.clone(); 2];
        let draws = 3 * (1 << 16) + 77;
        for d in 0..draws {
            let row = value(d);
            if block.push(&row) {
                block.flush(&mut coded);
            }
            for (sketch, &x) in direct.iter_mut().zip(&row) {
                sketch.insert(x);
            }
        }
        block.flush(&mut coded);
        assert_eq!(coded, direct);
        assert_eq!(coded[0].count(), draws as u64);
    }

    /// The AVX2 build of the coding loop gives the same codes, extremes and escape
    /// flag as the portable build, on values of every sign and magnitude.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_coding_equals_portable_coding() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let multiplier = QuantileSketch::new().multiplier();
        let n = 1001;
        let values: Vec<f64> = (0..n)
            .map(|i| {
                let x = (i as f64 * 0.618_033_988_7).fract();
                let magnitude = 10f64.powf(x * 80.0 - 40.0);
                match i % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    2 | 3 => -magnitude,
                    _ => magnitude,
                }
            })
            .collect();
        let anchors: Vec<i32> = (0..n).map(|i| (i as i32 % 5 - 2) * 9_000).collect();
        let run = |avx2: bool| {
            let (mut codes, mut min, mut max) = (vec![0u16; n], vec![1.0; n], vec![-1.0; n]);
            let row = Row {
                values: &values,
                anchors: &anchors,
                multiplier,
                codes: &mut codes,
                min: &mut min,
                max: &mut max,
            };
            let escapes = if avx2 {
                // SAFETY: AVX2 support was checked at the top of the test.
                unsafe { code_row_avx2(row) }
            } else {
                code_row_portable(row)
            };
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (escapes, codes, bits(&min), bits(&max))
        };
        let portable = run(false);
        assert!(portable.0, "some values escape their anchors");
        assert!(portable.1.contains(&BucketCode::ZERO));
        assert_eq!(run(true), portable);
    }

    /// Inserting through a block gives the same sketch as inserting value by
    /// value, including zeros, both signs, escapes and re-anchoring.
    #[test]
    fn blocks_count_exactly_like_inserts() {
        let template = QuantileSketch::new();
        let columns: Vec<Vec<f64>> = vec![
            (0..300).map(|d| 1.0 + (d as f64).sin()).collect(),
            (0..300).map(|d| (d as f64 * 0.7).cos() * 1e3).collect(),
            (0..300)
                .map(|d| if d % 3 == 0 { 0.0 } else { -0.0 })
                .collect(),
            (0..300)
                .map(|d| if d % 2 == 0 { 1e-9 } else { 1e9 } * (d as f64 + 1.0))
                .collect(),
            (0..300).map(|d| 10f64.powi(d % 600 - 300)).collect(),
        ];
        let typical: Vec<f64> = columns.iter().map(|c| c[0]).collect();
        let mut block = SketchBlock::new(&typical, template.multiplier(), 64);
        let mut coded = vec![template.clone(); columns.len()];
        let mut direct = vec![template.clone(); columns.len()];
        let mut row = vec![0.0; columns.len()];
        for d in 0..300 {
            for (slot, column) in row.iter_mut().zip(&columns) {
                *slot = column[d];
            }
            if block.push(&row) {
                block.flush(&mut coded);
            }
            for (sketch, &x) in direct.iter_mut().zip(&row) {
                sketch.insert(x);
            }
        }
        block.flush(&mut coded);
        assert_eq!(block.buffered(), 0);
        assert_eq!(coded, direct);
        assert!(coded.iter().all(|s| s.count() == 300));
    }
}
