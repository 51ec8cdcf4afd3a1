//! Values mapped to their sketch buckets as they are produced, and counted a block
//! of draws at a time.
//!
//! A draw yields one value for each of thousands of series, and each series has its
//! own sketch. Counting a value the moment it is produced touches a different
//! sketch per value, so every count is a cache miss. Instead, [`SketchBlock::push`]
//! maps each value to its bucket at once (arithmetic on values that are already in
//! registers) and keeps a 16-bit [`BucketCode`], a quarter of the size of the value.
//! Codes go draw by draw into a small series-major tile (one cache line of `TILE`
//! draws per series), whose lines are copied every `TILE` draws into a
//! series-major block; [`SketchBlock::flush`] then counts the block series by
//! series, so one sketch's buckets stay in cache while its codes are counted.
//!
//! Many series only ever take the values −1, 0 and 1: indicators, and scenario
//! deltas that are exactly 0 because the scenario does not touch their inputs
//! (on the default dataset, 39 % of all series). These *ternary* series skip the
//! coding: each keeps two running sums from which its counts of −1, 0 and 1 are
//! read at the flush. A ternary series that takes another value after all has
//! that value inserted on its own (exactly, only slower), and a series that does
//! so often is coded from the next block on. Which series are ternary is only a
//! guess (see [`SketchBlock::new`]) that decides the speed, never the counts.
//!
//! Many other series are copies: they equal another series bit for bit in every
//! draw (on the default dataset `ice_g_per_km` is the same national figure in all
//! 285 cities, and a city that receives no burden has `net_transfer_t` equal to
//! `burden_exported_t`). A *copy* is checked against its leader in every draw but
//! neither gathered nor coded: at the flush its sketch counts its leader's codes.
//! A copy that differs from its leader in a draw counts its leader's codes up to
//! that draw and its own values from there to the end of the block, one by one,
//! and is coded on its own from the next block on. Which series copy which is a
//! guess too, with the same effect.
//!
//! The counts are the same integers as inserting value by value, so the sketches
//! (and everything read from them) are unchanged bit for bit.

use super::sketch::QuantileSketch;
use super::sketch::{BucketCode, CodeSpan, Extremes, ZERO_THRESHOLD, bucket_index};
use crate::simd::avx2_dispatch;

/// Shortest run of consecutive quiet series that is left out of the sums (see
/// [`SeriesHandling::quiet`]); the series of shorter runs are counted with the others.
const MIN_QUIET_RUN: u32 = 16;

/// Draws coded into the tile before its lines are copied into the series-major
/// buffer (one cache line of codes per series).
const TILE: usize = 32;

/// One series' codes of the draws of one tile: a whole, aligned cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Line([u16; TILE]);

/// A ternary series that escapes in more than one draw in this many of a block is
/// coded from the next block on.
const DEMOTE_ONE_IN: usize = 64;

/// How a block handles each series: counted by value (ternary), counted from
/// another series' codes (a copy), or coded. Changes the speed, never the counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SeriesHandling {
    /// Series expected to take only the values −1, 0 and 1.
    pub(crate) ternary: Vec<bool>,
    /// `copy_of[i] = Some(l)`: series `i` is expected to equal series `l` in every
    /// draw. Honoured only where `l` is itself coded (neither ternary nor a copy)
    /// and `i` is not ternary.
    pub(crate) copy_of: Vec<Option<u32>>,
    /// Ternary series expected to be exactly +0.0 in (almost) every draw: in a
    /// draw where all of them are, they are left out of the ternary sums, to which
    /// they would add nothing, and in a group of such draws out of the moment sums
    /// too (see [`SketchBlock::loud_runs`]), so they must have moment shift +0.0.
    /// Honoured only where the series is ternary.
    pub(crate) quiet: Vec<bool>,
}

impl SeriesHandling {
    /// Every one of `series` series coded.
    pub(crate) fn coded(series: usize) -> SeriesHandling {
        SeriesHandling {
            ternary: vec![false; series],
            copy_of: vec![None; series],
            quiet: vec![false; series],
        }
    }

    /// The leader of series `i` if `i` is to be counted as a copy.
    fn leader(&self, i: usize) -> Option<u32> {
        let l = self.copy_of[i]?;
        let valid = (l as usize) < self.ternary.len()
            && l as usize != i
            && !self.ternary[i]
            && !self.ternary[l as usize]
            && self.copy_of[l as usize].is_none();
        valid.then_some(l)
    }
}

/// How a series' sketch maps values, as the block needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SeriesMapping {
    /// The sketch's mapping multiplier (see `QuantileSketch::multiplier`).
    pub(crate) multiplier: f64,
    /// Whether the sketch counts the values equal to its extremes.
    pub(crate) counts_extremes: bool,
}

/// A copy that differed from its leader in the block: it counts its leader's
/// first `prefix` codes of the block (whose extremes were `min` and `max`, and
/// whose escaped values are the first `escapes_before` of the block's), then its
/// own values one by one.
#[derive(Clone, Copy, Debug)]
struct Diverged {
    copy: u32,
    prefix: u32,
    escapes_before: u32,
    extremes: Extremes,
    /// Its value in the draw it diverged on, to anchor it once coded.
    first: f64,
}

/// A block of coded draws awaiting their sketches.
///
/// Invariants: `coded`, `ternary` and the copies partition `0..series` (`coded`
/// ascending, `ternary` its loud then its quiet series, each ascending, the copies
/// ordered by their leader's position); the `buffered` draws' codes are in `codes`
/// (whole tiles) and `tile` (the last `buffered % TILE` draws), and `min`/`max`
/// hold the exact extremes of each coded series over them (`±∞` when empty),
/// `at_min`/`at_max` how many of them equal each;
/// `ternary_sum`/`ternary_abs` hold the sums of the ternary series' values and
/// magnitudes over the draws whose value was −1, 0 or 1 (a quiet series' sums
/// leave out draws where every quiet series was +0.0, which would add nothing),
/// and `ternary_escaped` every other value.
#[derive(Clone, Debug)]
pub(crate) struct SketchBlock {
    series: usize,
    capacity: usize,
    /// How each series' sketch maps values.
    mappings: Vec<SeriesMapping>,
    /// The multipliers of the coded series, by coded position.
    coded_multipliers: Vec<f64>,
    /// The coded positions whose sketches count the values equal to their
    /// extremes (the others' `at_min`/`at_max` stay 0, unread).
    tracked: Vec<u32>,
    /// Series whose values are coded, ascending; position `k` in the per-coded
    /// arrays below is series `coded[k]`.
    coded: Vec<u32>,
    /// Bucket each coded series' codes are relative to.
    anchors: Vec<i32>,
    /// Series-major: `codes[k * stride + d]` is coded series `k` of buffered draw `d`.
    codes: Vec<u16>,
    /// `capacity` rounded up to an odd multiple of `TILE` codes (one cache line), so
    /// that one draw's codes do not all fall in the same few cache sets.
    stride: usize,
    /// Series-major codes of the last `buffered % TILE` draws: `tile[k].0[t]` is
    /// coded series `k` of the tile's draw `t`, waiting to be copied into `codes`.
    /// Written one code per line and draw, it stays in L2 (270 KB on the default
    /// dataset); a draw-major tile was contiguous to write but cost an L2 miss
    /// per code to transpose (8 % faster this way, concurrent 1-thread runs).
    tile: Vec<Line>,
    min: Vec<f64>,
    max: Vec<f64>,
    /// How many buffered values of each coded series equal its `min` and `max`.
    at_min: Vec<u64>,
    at_max: Vec<u64>,
    /// Scratch for [`Self::recenter_anchors`]: lowest and highest bucket seen.
    span_lo: Vec<i32>,
    span_hi: Vec<i32>,
    /// Values too far from their series' anchor to code: (coded position, value).
    escaped: Vec<(u32, f64)>,
    /// Series counted by value: the first `loud` ascending, then the quiet ones
    /// ascending; position `k` below is series `ternary[k]`.
    ternary: Vec<u32>,
    loud: usize,
    /// The quiet series as ranges `start..end` of consecutive series, and the
    /// other series likewise.
    quiet_runs: Vec<(u32, u32)>,
    loud_runs: Vec<(usize, usize)>,
    /// Copies, by their leader's coded position: (series, leader's series,
    /// leader's position in `coded`). Their values are checked, not gathered.
    copies: Vec<(u32, u32, u32)>,
    /// Copies that differed from their leader in a buffered draw, in the order
    /// they did (see [`Diverged`]); `has_diverged[c]` for copy `c`.
    diverged: Vec<Diverged>,
    has_diverged: Vec<bool>,
    /// Values of the diverged copies from the draw they diverged on: (index in
    /// `diverged`, value).
    diverged_values: Vec<(u32, f64)>,
    /// `coded` then `ternary`: the order in which a draw's values are gathered
    /// into `gathered` when some series are ternary or copies.
    order: Vec<u32>,
    gathered: Vec<f64>,
    ternary_sum: Vec<f64>,
    ternary_abs: Vec<f64>,
    /// Values of ternary series other than −1, 0 and 1: (ternary position, value).
    ternary_escaped: Vec<(u32, f64)>,
    /// Scratch for [`Self::flush_ternary`]: escapes per ternary series, all zeros
    /// between uses.
    ternary_escapes: Vec<u32>,
    /// Scratch for counting one series' codes, all zeros between uses
    /// (allocated with `codes`).
    hist: Option<Box<[u32; 1 << 16]>>,
    buffered: usize,
}

impl SketchBlock {
    /// A block of up to `capacity` draws for sketches that map as `mappings`
    /// (one per series, each its sketch's). Each series' anchor is the bucket of
    /// its value in `typical`; `handling` says which series are expected to be
    /// ternary or copies (it changes how fast values are counted, never the
    /// counts; a copy whose sketch maps differently from its leader's is coded).
    pub(crate) fn new(
        typical: &[f64],
        mappings: &[SeriesMapping],
        capacity: usize,
        handling: &SeriesHandling,
    ) -> SketchBlock {
        assert!(
            typical.len() == handling.ternary.len()
                && typical.len() == handling.copy_of.len()
                && typical.len() == mappings.len(),
            "one entry per series"
        );
        assert!(
            capacity < 1 << 24,
            "ternary counts are exact in f64 sums only up to 2^53 draws; blocks stay far below"
        );
        let anchors = typical
            .iter()
            .zip(mappings)
            .map(|(&x, m)| anchor_of(m.multiplier, x))
            .collect();
        Self::with_handling(
            typical.len(),
            mappings.to_vec(),
            capacity,
            handling,
            anchors,
        )
    }

    /// A block whose coded series start from the anchors `anchor_of_series`
    /// (one per series; those of ternary series are ignored).
    fn with_handling(
        series: usize,
        mappings: Vec<SeriesMapping>,
        capacity: usize,
        handling: &SeriesHandling,
        anchor_of_series: Vec<i32>,
    ) -> SketchBlock {
        // A copy counts its leader's codes: only where both map alike.
        let mut handling = handling.clone();
        let bits = |m: &SeriesMapping| (m.multiplier.to_bits(), m.counts_extremes);
        for (i, copy_of) in handling.copy_of.iter_mut().enumerate() {
            let maps_alike =
                |l: u32| mappings.get(l as usize).map(bits) == Some(bits(&mappings[i]));
            if copy_of.is_some_and(|l| !maps_alike(l)) {
                *copy_of = None;
            }
        }
        let handling = &handling;
        let stride = (capacity.div_ceil(TILE) | 1) * TILE;
        let (tern, coded): (Vec<u32>, Vec<u32>) = (0..series as u32)
            .filter(|&i| handling.leader(i as usize).is_none())
            .partition(|&i| handling.ternary[i as usize]);
        // Quiet series in runs of consecutive series, long runs only: the check
        // and the moment sums go run by run, and short runs cost more per series
        // than they save (their series stay loud).
        let mut quiet_runs: Vec<(u32, u32)> = Vec::new();
        for &i in tern.iter().filter(|&&i| handling.quiet[i as usize]) {
            match quiet_runs.last_mut() {
                Some((_, end)) if *end == i => *end += 1,
                _ => quiet_runs.push((i, i + 1)),
            }
        }
        quiet_runs.retain(|&(start, end)| end - start >= MIN_QUIET_RUN);
        let in_quiet_run = |i: u32| {
            let at = quiet_runs.partition_point(|&(_, end)| end <= i);
            quiet_runs.get(at).is_some_and(|&(start, _)| start <= i)
        };
        let (mut tern, quiet): (Vec<u32>, Vec<u32>) =
            tern.into_iter().partition(|&i| !in_quiet_run(i));
        let loud = tern.len();
        let mut loud_runs = Vec::new();
        let mut next = 0;
        for &(start, end) in &quiet_runs {
            if start as usize > next {
                loud_runs.push((next, start as usize));
            }
            next = end as usize;
        }
        if next < series {
            loud_runs.push((next, series));
        }
        tern.extend(quiet);
        let mut position = vec![u32::MAX; series];
        for (k, &i) in coded.iter().enumerate() {
            position[i as usize] = k as u32;
        }
        let mut copies: Vec<(u32, u32, u32)> = (0..series as u32)
            .filter_map(|i| {
                let l = handling.leader(i as usize)?;
                Some((i, l, position[l as usize]))
            })
            .collect();
        copies.sort_by_key(|&(i, _, k)| (k, i));
        let n = coded.len();
        let coded_then_ternary: Vec<u32> = coded.iter().chain(&tern).copied().collect();
        SketchBlock {
            series,
            capacity,
            coded_multipliers: coded
                .iter()
                .map(|&i| mappings[i as usize].multiplier)
                .collect(),
            tracked: (coded.iter().enumerate())
                .filter(|&(_, &i)| mappings[i as usize].counts_extremes)
                .map(|(k, _)| k as u32)
                .collect(),
            mappings,
            anchors: coded
                .iter()
                .map(|&i| anchor_of_series[i as usize])
                .collect(),
            coded,
            // Allocated at the first push, so that an unused block (a template
            // cloned for every worker) costs nothing.
            codes: Vec::new(),
            stride,
            tile: vec![Line([0; TILE]); n],
            span_lo: vec![0; n],
            span_hi: vec![0; n],
            min: vec![f64::INFINITY; n],
            max: vec![f64::NEG_INFINITY; n],
            at_min: vec![0; n],
            at_max: vec![0; n],
            // Escapes are rare (a value more than γ^16383 ≈ 6e12 times larger or
            // smaller than its anchor); this room avoids allocating in the hot loop.
            escaped: Vec::with_capacity(n),
            ternary_sum: vec![0.0; tern.len()],
            ternary_abs: vec![0.0; tern.len()],
            ternary_escaped: Vec::with_capacity(tern.len().min(capacity)),
            ternary_escapes: vec![0; tern.len()],
            gathered: vec![0.0; coded_then_ternary.len()],
            order: coded_then_ternary,
            diverged: Vec::new(),
            has_diverged: vec![false; copies.len()],
            diverged_values: Vec::new(),
            copies,
            ternary: tern,
            loud,
            quiet_runs,
            loud_runs,
            hist: None,
            buffered: 0,
        }
    }

    /// How many series are counted by value.
    pub(crate) fn ternary_series(&self) -> usize {
        self.ternary.len()
    }

    /// How many series are counted as copies of another.
    pub(crate) fn copied_series(&self) -> usize {
        self.copies.len()
    }

    /// Which series are counted by value and which as copies (see [`Self::new`]).
    pub(crate) fn handling(&self) -> SeriesHandling {
        let mut handling = SeriesHandling::coded(self.series);
        for &i in &self.ternary {
            handling.ternary[i as usize] = true;
        }
        for &i in &self.ternary[self.loud..] {
            handling.quiet[i as usize] = true;
        }
        for &(i, l, _) in &self.copies {
            handling.copy_of[i as usize] = Some(l);
        }
        handling
    }

    /// Whether every copy equals its leader, bit for bit, in `values` (one draw,
    /// whose length [`Self::push`] has checked).
    #[inline]
    fn copies_hold(&self, values: &[f64]) -> bool {
        debug_assert_eq!(values.len(), self.series, "one value per series");
        let mut differ = 0u64;
        for &(i, l, _) in &self.copies {
            // SAFETY: `i` and `l` are below `series` (built by `with_handling`), and
            // `values.len() == series` (asserted by `push`, the only caller).
            let (x, y) = unsafe {
                (
                    values.get_unchecked(i as usize),
                    values.get_unchecked(l as usize),
                )
            };
            differ |= x.to_bits() ^ y.to_bits();
        }
        differ == 0
    }

    /// Notes the copies that differ from their leader in `values` for the first
    /// time in this block (before the draw is coded, so that the leader's
    /// extremes still cover the draws before it), and keeps the values of every
    /// diverged copy.
    #[cold]
    fn follow_diverged(&mut self, values: &[f64]) {
        for (c, &(i, l, k)) in self.copies.iter().enumerate() {
            let (x, y) = (values[i as usize], values[l as usize]);
            if !self.has_diverged[c] && x.to_bits() != y.to_bits() {
                self.has_diverged[c] = true;
                let k = k as usize;
                self.diverged.push(Diverged {
                    copy: c as u32,
                    prefix: self.buffered as u32,
                    escapes_before: self.escaped.len() as u32,
                    extremes: self.extremes(k),
                    first: x,
                });
            }
        }
        for (j, d) in self.diverged.iter().enumerate() {
            let series = self.copies[d.copy as usize].0;
            self.diverged_values
                .push((j as u32, values[series as usize]));
        }
    }

    /// The extremes of coded series `k` over the buffered draws.
    fn extremes(&self, k: usize) -> Extremes {
        Extremes {
            min: self.min[k],
            at_min: self.at_min[k],
            max: self.max[k],
            at_max: self.at_max[k],
        }
    }

    /// The anchor of every coded series (0 for the others).
    fn anchors_of_series(&self) -> Vec<i32> {
        let mut anchors = vec![0; self.series];
        for (&i, &anchor) in self.coded.iter().zip(&self.anchors) {
            anchors[i as usize] = anchor;
        }
        anchors
    }

    /// Allocates the series-major codes, with room for the copies too: a copy
    /// that turns out to differ from its leader is coded from then on, and the
    /// block should not be allocated again for it. The room stays untouched
    /// (no memory) until then.
    #[cold]
    fn allocate_codes(&mut self) {
        let mut codes = Vec::with_capacity((self.coded.len() + self.copies.len()) * self.stride);
        codes.resize(self.coded.len() * self.stride, 0);
        self.codes = codes;
    }

    /// Rebuilds an empty block for `handling`, keeping its histogram scratch and
    /// its codes' allocation (the codes are rewritten before they are read).
    fn rehandle(&mut self, handling: &SeriesHandling, anchors: Vec<i32>) {
        debug_assert_eq!(self.buffered, 0);
        let hist = self.hist.take();
        let mut codes = std::mem::take(&mut self.codes);
        *self = Self::with_handling(
            self.series,
            self.mappings.clone(),
            self.capacity,
            handling,
            anchors,
        );
        self.hist = hist;
        if !codes.is_empty() {
            codes.resize(self.coded.len() * self.stride, 0);
            self.codes = codes;
        }
    }

    /// How many series are ternary and quiet (see [`SeriesHandling::quiet`]).
    pub(crate) fn quiet_series(&self) -> usize {
        self.ternary.len() - self.loud
    }

    /// Every series but the quiet ones, as ranges `start..end` of consecutive
    /// series: those whose moments a group of draws in which every quiet series
    /// is +0.0 changes.
    pub(crate) fn loud_runs(&self) -> &[(usize, usize)] {
        &self.loud_runs
    }

    /// Whether every quiet series is exactly +0.0 (bits 0) in `values` (one draw).
    #[inline]
    pub(crate) fn quiet_holds(&self, values: &[f64]) -> bool {
        all_zero_in_runs(&self.quiet_runs, values)
    }

    /// Codes one draw (one value per series, all finite); returns true when the
    /// block is full and must be flushed before the next push.
    #[inline]
    pub(crate) fn push(&mut self, values: &[f64]) -> bool {
        let quiet = self.quiet_holds(values);
        self.push_checked(values, quiet)
    }

    /// [`Self::push`] for a draw whose [`Self::quiet_holds`] is `quiet`.
    #[inline]
    pub(crate) fn push_checked(&mut self, values: &[f64], quiet: bool) -> bool {
        debug_assert_eq!(quiet, self.quiet_holds(values));
        debug_assert!(self.buffered < self.capacity, "flush a full block first");
        if self.codes.is_empty() {
            self.allocate_codes();
        }
        if self.hist.is_none() {
            let hist = vec![0u32; 1 << 16].into_boxed_slice();
            self.hist = Some(hist.try_into().expect("2^16 counters"));
        }
        assert_eq!(values.len(), self.series, "one value per series");
        if !self.copies.is_empty() && (!self.diverged.is_empty() || !self.copies_hold(values)) {
            self.follow_diverged(values);
        }
        let t = self.buffered % TILE;
        let n = self.coded.len();
        // Quiet series that are all +0.0 would add nothing to their sums.
        let counted = if quiet { self.loud } else { self.ternary.len() };
        let (coded_values, ternary_values) =
            if self.order.len() == self.series && self.ternary.is_empty() {
                (values, &[][..])
            } else {
                // Scalar loads: a vector gather is slower here than one pass that
                // leaves the loops below contiguous (and vectorized).
                let gathered = &mut self.gathered[..n + counted];
                for (slot, &i) in gathered.iter_mut().zip(&self.order) {
                    // SAFETY: `order` is a permutation of `0..series` (built by
                    // `with_handling`), and `values.len() == series` (asserted above).
                    *slot = unsafe { *values.get_unchecked(i as usize) };
                }
                self.gathered[..n + counted].split_at(n)
            };
        // Before `code_row` moves the extremes: a value below them restarts the count.
        for &k in &self.tracked {
            let k = k as usize;
            let x = coded_values[k] + 0.0;
            let (lo, hi) = (self.min[k], self.max[k]);
            self.at_min[k] = if x < lo {
                1
            } else {
                self.at_min[k] + u64::from(x == lo)
            };
            self.at_max[k] = if x > hi {
                1
            } else {
                self.at_max[k] + u64::from(x == hi)
            };
        }
        let escapes = code_row(Row {
            values: coded_values,
            anchors: &self.anchors,
            multipliers: &self.coded_multipliers,
            tile: &mut self.tile,
            t,
            min: &mut self.min,
            max: &mut self.max,
        });
        let others = count_ternary(TernaryRow {
            values: ternary_values,
            sum: &mut self.ternary_sum[..counted],
            abs: &mut self.ternary_abs[..counted],
        });
        if escapes {
            self.record_escapes(t, values);
        }
        if others {
            self.record_ternary_escapes(values);
        }
        self.buffered += 1;
        if t + 1 == TILE {
            self.spill_tile();
        }
        self.buffered == self.capacity
    }

    #[cold]
    fn record_escapes(&mut self, t: usize, values: &[f64]) {
        for (k, (line, &i)) in self.tile.iter().zip(&self.coded).enumerate() {
            if line.0[t] == BucketCode::ESCAPED {
                self.escaped.push((k as u32, values[i as usize] + 0.0));
            }
        }
    }

    #[cold]
    fn record_ternary_escapes(&mut self, values: &[f64]) {
        for (k, &i) in self.ternary.iter().enumerate() {
            let x = values[i as usize];
            if !is_ternary(x) {
                self.ternary_escaped.push((k as u32, x));
            }
        }
    }

    /// Copies the tile's lines (the draws since the last spill) into the
    /// series-major buffer, a whole cache line per series when the tile is full.
    fn spill_tile(&mut self) {
        let rows = match self.buffered % TILE {
            0 => TILE.min(self.buffered),
            r => r,
        };
        let first = self.buffered - rows;
        let lines = self.codes.chunks_exact_mut(self.stride).zip(&self.tile);
        if rows == TILE {
            // A fixed-size copy: a few vector moves, no call to `memmove`.
            for (codes, line) in lines {
                let whole: &mut [u16; TILE] = (&mut codes[first..first + TILE])
                    .try_into()
                    .expect("TILE codes");
                *whole = line.0;
            }
        } else {
            for (codes, line) in lines {
                codes[first..first + rows].copy_from_slice(&line.0[..rows]);
            }
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
        if let Some(hist) = self.hist.as_mut() {
            let mut copies = self.copies.iter().enumerate().peekable();
            for (k, (&i, codes)) in self
                .coded
                .iter()
                .zip(self.codes.chunks_exact(self.stride))
                .enumerate()
            {
                let extremes = Extremes {
                    min: self.min[k],
                    at_min: self.at_min[k],
                    max: self.max[k],
                    at_max: self.at_max[k],
                };
                let (anchor, codes) = (self.anchors[k], &codes[..n]);
                let (min, max) = (extremes.min, extremes.max);
                // Most series are of one sign: their codes' span is that of their
                // extremes, unless a value escaped.
                let span = self
                    .escaped
                    .is_empty()
                    .then(|| CodeSpan::of_extremes(min, max, anchor, self.coded_multipliers[k]))
                    .flatten()
                    .or_else(|| CodeSpan::of(codes));
                sketches[i as usize].add_coded_in(anchor, codes, span, hist, extremes);
                // The copies right after their leader, while its codes are cached.
                while let Some((c, &(copy, _, _))) =
                    copies.next_if(|&(_, &(_, _, at))| at as usize == k)
                {
                    let sketch = &mut sketches[copy as usize];
                    match self.diverged.iter().find(|d| d.copy as usize == c) {
                        None => sketch.add_coded_in(anchor, codes, span, hist, extremes),
                        Some(d) => {
                            let prefix = &codes[..d.prefix as usize];
                            sketch.add_coded(anchor, prefix, hist, d.extremes);
                        }
                    }
                }
            }
        }
        for (e, &(k, x)) in self.escaped.iter().enumerate() {
            sketches[self.coded[k as usize] as usize].add_to_bucket(x);
            for (c, &(copy, _, at)) in self.copies.iter().enumerate() {
                if at == k && self.copy_counts_escape(c, e) {
                    sketches[copy as usize].add_to_bucket(x);
                }
            }
        }
        for &(j, x) in &self.diverged_values {
            let copy = self.diverged[j as usize].copy as usize;
            sketches[self.copies[copy].0 as usize].insert(x);
        }
        self.recenter_anchors();
        self.escaped.clear();
        self.min.fill(f64::INFINITY);
        self.max.fill(f64::NEG_INFINITY);
        self.at_min.fill(0);
        self.at_max.fill(0);
        let demoted = self.flush_ternary(sketches, n);
        self.buffered = 0;
        let split: Vec<(u32, f64)> = self
            .diverged
            .iter()
            .map(|d| (self.copies[d.copy as usize].0, d.first))
            .collect();
        self.diverged.clear();
        self.diverged_values.clear();
        self.has_diverged.fill(false);
        if !demoted.is_empty() || !split.is_empty() {
            self.code_from_now_on(&demoted, &split);
        }
    }

    /// Whether copy `c` counts the block's escaped value `e` of its leader: it
    /// does unless it diverged before that value's draw.
    fn copy_counts_escape(&self, c: usize, e: usize) -> bool {
        let diverged = self.diverged.iter().find(|d| d.copy as usize == c);
        diverged.is_none_or(|d| e < d.escapes_before as usize)
    }

    /// Counts the ternary series' draws into their sketches, empties their sums
    /// and returns the `(series, value)` of one escaped value of each series that
    /// escaped too often.
    fn flush_ternary(&mut self, sketches: &mut [QuantileSketch], n: usize) -> Vec<(u32, f64)> {
        for &(k, _) in &self.ternary_escaped {
            self.ternary_escapes[k as usize] += 1;
        }
        let mut demoted = Vec::new();
        for (k, &i) in self.ternary.iter().enumerate() {
            let (sum, abs) = (self.ternary_sum[k], self.ternary_abs[k]);
            // Exact: both are sums of at most 2^24 terms −1, 0 or 1.
            let ones = ((abs + sum) / 2.0) as u64;
            let minus_ones = ((abs - sum) / 2.0) as u64;
            let escapes = u64::from(self.ternary_escapes[k]);
            let sketch = &mut sketches[i as usize];
            sketch.insert_n(1.0, ones);
            sketch.insert_n(-1.0, minus_ones);
            sketch.insert_n(0.0, n as u64 - ones - minus_ones - escapes);
        }
        for &(k, x) in &self.ternary_escaped {
            let escapes = &mut self.ternary_escapes[k as usize];
            if *escapes as usize * DEMOTE_ONE_IN > n.max(DEMOTE_ONE_IN) {
                demoted.push((self.ternary[k as usize], x));
            }
            *escapes = 0;
            sketches[self.ternary[k as usize] as usize].insert(x);
        }
        self.ternary_escaped.clear();
        self.ternary_sum.fill(0.0);
        self.ternary_abs.fill(0.0);
        demoted
    }

    /// Codes the series of `demoted` (ternary series that escaped too often) and
    /// of `split` (copies that differed from their leader) from the next block on,
    /// each anchored at the bucket of the value given. Called on an empty block.
    #[cold]
    fn code_from_now_on(&mut self, demoted: &[(u32, f64)], split: &[(u32, f64)]) {
        debug_assert_eq!(self.buffered, 0);
        let mut handling = self.handling();
        let mut anchors = self.anchors_of_series();
        for &(i, x) in demoted {
            handling.ternary[i as usize] = false;
            anchors[i as usize] = anchor_of(self.mappings[i as usize].multiplier, x);
        }
        for &(i, x) in split {
            handling.copy_of[i as usize] = None;
            anchors[i as usize] = anchor_of(self.mappings[i as usize].multiplier, x);
        }
        self.rehandle(&handling, anchors);
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
            let (i, idx) = (i as usize, anchor_of(self.coded_multipliers[i as usize], x));
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

/// Whether `x` is −1, 0 or 1 (for finite `x`): its magnitude is its own square.
#[inline(always)]
pub(crate) fn is_ternary(x: f64) -> bool {
    let m = x.abs();
    m * m == m
}

/// One draw's values of the ternary series, and their running sums (slices of
/// one length).
struct TernaryRow<'a> {
    values: &'a [f64],
    sum: &'a mut [f64],
    abs: &'a mut [f64],
}

avx2_dispatch! {
    /// Adds one draw's ternary values to their sums; returns whether any series took
    /// another value (left out of the sums, to be inserted on its own).
    #[inline]
    fn count_ternary(row: TernaryRow<'_>) -> bool = count_ternary_portable, avx2 count_ternary_avx2;
}

/// The loop of [`count_ternary`]: branch-free, so that it vectorizes.
#[inline(always)]
fn count_ternary_portable(row: TernaryRow<'_>) -> bool {
    let n = row.values.len();
    let (values, sum, abs) = (row.values, &mut row.sum[..n], &mut row.abs[..n]);
    let mut others = 0u64;
    for k in 0..n {
        let x = values[k];
        let m = x.abs();
        let ternary = m * m == m;
        sum[k] += if ternary { x } else { 0.0 };
        abs[k] += if ternary { m } else { 0.0 };
        others |= u64::from(!ternary);
    }
    others != 0
}

/// One draw to code: its values (one per coded series), each coded series'
/// anchor and running extremes, and where its codes go (all slices of one length).
struct Row<'a> {
    values: &'a [f64],
    anchors: &'a [i32],
    /// Each coded series' mapping multiplier.
    multipliers: &'a [f64],
    /// The tile, and the draw's position in it.
    tile: &'a mut [Line],
    t: usize,
    min: &'a mut [f64],
    max: &'a mut [f64],
}

avx2_dispatch! {
    /// Codes one draw's values into its column `t` of the tile and updates each series' `min` and
    /// `max`; returns whether any code is [`BucketCode::ESCAPED`].
    ///
    /// Runs the AVX2 build of the same loop where the CPU has it (twice the lanes of
    /// the SSE2 baseline); both builds do the same IEEE operations in the same order,
    /// so the codes do not depend on the CPU.
    #[inline]
    fn code_row(row: Row<'_>) -> bool = code_row_portable, avx2 code_row_avx2;
}

/// The loop of [`code_row`]: branch-free over equal-length slices, so that it
/// vectorizes.
#[inline(always)]
fn code_row_portable(row: Row<'_>) -> bool {
    let n = row.values.len();
    let (values, multipliers) = (row.values, &row.multipliers[..n]);
    let (anchors, tile, t) = (&row.anchors[..n], &mut row.tile[..n], row.t);
    let (min, max) = (&mut row.min[..n], &mut row.max[..n]);
    let mut escapes = 0u16;
    for k in 0..n {
        // -0.0 becomes +0.0, as in `QuantileSketch::insert`.
        let x = values[k] + 0.0;
        // `f64::min`/`max` rather than a select on the comparison, which the
        // compiler turns into masked stores (slow on AMD). The same values: no
        // operand is NaN, and equal operands have equal bits (zeros are +0.0).
        min[k] = min[k].min(x);
        max[k] = max[k].max(x);
        let code = BucketCode::of(x, anchors[k], multipliers[k]);
        tile[k].0[t] = code;
        escapes |= u16::from(code == BucketCode::ESCAPED);
    }
    escapes != 0
}

avx2_dispatch! {
    /// Whether `values[start..end]` is all +0.0 (bits 0) for every run (an OR of
    /// four values' bits per instruction with AVX2).
    #[inline]
    fn all_zero_in_runs(runs: &[(u32, u32)], values: &[f64]) -> bool
        = all_zero_in_runs_portable, avx2 all_zero_in_runs_avx2;
}

#[inline(always)]
fn all_zero_in_runs_portable(runs: &[(u32, u32)], values: &[f64]) -> bool {
    runs.iter().all(|&(start, end)| {
        let run = &values[start as usize..end as usize];
        run.iter().fold(0u64, |bits, x| bits | x.to_bits()) == 0
    })
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

    fn mapping(sketch: &QuantileSketch) -> SeriesMapping {
        SeriesMapping {
            multiplier: sketch.multiplier(),
            counts_extremes: sketch.counts_extremes(),
        }
    }

    /// Bucket counts that pass 2^16 while counted from blocks (the carry path of
    /// the histogram transfer) match value-by-value inserts.
    #[test]
    fn block_counts_past_u16_match_inserts() {
        let template = QuantileSketch::new();
        let value = |d: usize| {
            let middle = [2.5, 3.0, 3.0, 7.0][d % 4];
            [middle, (d % 5) as f64 - 2.0]
        };
        let mut block = SketchBlock::new(
            &value(0),
            &[mapping(&template); 2],
            2048,
            &SeriesHandling::coded(2),
        );
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

    /// Sketches of `columns` (one per series, all of one length) filled through
    /// `block`, flushed, and the same sketches filled value by value.
    fn through_block(
        block: &mut SketchBlock,
        columns: &[Vec<f64>],
    ) -> (Vec<QuantileSketch>, Vec<QuantileSketch>) {
        let template = QuantileSketch::new();
        let n = columns.len();
        let mut coded = vec![template.clone(); n];
        let mut direct = vec![template; n];
        let mut row = vec![0.0; n];
        for d in 0..columns[0].len() {
            for (slot, column) in row.iter_mut().zip(columns) {
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
        (coded, direct)
    }

    /// The AVX2 build of the coding loop gives the same codes, extremes and escape
    /// flag as the portable build, on values of every sign and magnitude.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_coding_equals_portable_coding() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let n = 1001;
        // Series of four resolutions, as a run's pilot chooses them.
        let multipliers: Vec<f64> = (0..n)
            .map(|i| {
                let alpha = 0.0009 / f64::from(1u32 << (i % 4));
                QuantileSketch::with_params(alpha, 1 << 16)
                    .unwrap()
                    .multiplier()
            })
            .collect();
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
            let (mut tile, mut min, mut max) =
                (vec![Line([7; TILE]); n], vec![1.0; n], vec![-1.0; n]);
            let row = Row {
                values: &values,
                anchors: &anchors,
                multipliers: &multipliers,
                tile: &mut tile,
                t: 5,
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
            // Only column 5 of the tile is written.
            assert!(
                tile.iter()
                    .all(|line| (0..TILE).all(|t| t == 5 || line.0[t] == 7))
            );
            let codes: Vec<u16> = tile.iter().map(|line| line.0[5]).collect();
            (escapes, codes, bits(&min), bits(&max))
        };
        let portable = run(false);
        assert!(portable.0, "some values escape their anchors");
        assert!(portable.1.contains(&BucketCode::ZERO));
        assert_eq!(run(true), portable);
    }

    /// Inserting through a block gives the same sketch as inserting value by
    /// value, including zeros, both signs, escapes and re-anchoring, whichever
    /// series are counted as ternary: true ternary series, ternary series that
    /// escape now and then, and series wrongly flagged that end up coded.
    #[test]
    fn blocks_count_exactly_like_inserts() {
        let template = QuantileSketch::new();
        let columns: Vec<Vec<f64>> = vec![
            (0..3000).map(|d| 1.0 + (d as f64).sin()).collect(),
            (0..3000).map(|d| (d as f64 * 0.7).cos() * 1e3).collect(),
            (0..3000)
                .map(|d| if d % 3 == 0 { 0.0 } else { -0.0 })
                .collect(),
            (0..3000)
                .map(|d| if d % 2 == 0 { 1e-9 } else { 1e9 } * (d as f64 + 1.0))
                .collect(),
            (0..3000).map(|d| 10f64.powi(d % 600 - 300)).collect(),
            (0..3000).map(|d| f64::from(d % 5 == 0)).collect(),
            (0..3000).map(|d| (d % 3) as f64 - 1.0).collect(),
            // Ternary but for a rare other value.
            (0..3000)
                .map(|d| {
                    if d % 797 == 5 {
                        0.25
                    } else {
                        -f64::from(d % 2 == 0)
                    }
                })
                .collect(),
        ];
        let typical: Vec<f64> = columns.iter().map(|c| c[0]).collect();
        let n = columns.len();
        let flag_sets: Vec<Vec<bool>> = vec![
            vec![false; n],
            (0..n).map(|i| i >= 5).collect(),
            vec![true; n],
            (0..n).map(|i| i % 2 == 0).collect(),
        ];
        for flags in flag_sets {
            let handling = SeriesHandling {
                ternary: flags.clone(),
                copy_of: vec![None; n],
                quiet: vec![false; n],
            };
            let mut block = SketchBlock::new(&typical, &vec![mapping(&template); n], 64, &handling);
            let (coded, direct) = through_block(&mut block, &columns);
            assert_eq!(block.buffered(), 0);
            assert_eq!(coded, direct, "flags {flags:?}");
            assert!(coded.iter().all(|s| s.count() == 3000));
            // Series wrongly flagged as ternary are coded by now; the true ones
            // (the zeros, the indicators) and the rare escaper stay ternary.
            let kept = block.handling().ternary;
            for (i, (&was, &is)) in flags.iter().zip(&kept).enumerate() {
                let truly = i == 2 || i >= 5;
                assert_eq!(is, was && truly, "series {i} with flags {flags:?}");
            }
        }
    }

    /// Series counted as copies of another give the sketches of inserting value
    /// by value: copies that always hold, copies that differ now and then (split
    /// off mid-block, also several at once), a copy of a series that differs in
    /// sign only (-0.0 against 0.0), and hints that cannot be honoured (a copy of
    /// a copy, of a ternary series, of itself).
    #[test]
    fn copies_count_exactly_like_inserts() {
        let template = QuantileSketch::new();
        let draws = 5000;
        let base = |d: usize| 1.0 + (d as f64 * 0.37).sin().abs() * 1e3;
        let wide = |d: usize| match d {
            2300 => 1e-20,
            2301 => 1e20,
            d if d % 3 == 0 => 1e-15 * (1.0 + d as f64),
            d => 1e15 * (1.0 + d as f64),
        };
        let columns: Vec<Vec<f64>> = vec![
            (0..draws).map(base).collect(),
            // 1: always equal to 0.
            (0..draws).map(base).collect(),
            // 2: equal to 0 but in draws 1,500 and 3,001.
            (0..draws)
                .map(|d| if d == 1500 || d == 3001 { 7.0 } else { base(d) })
                .collect(),
            // 3: equal to 0 up to draw 2,222, then its own values.
            (0..draws)
                .map(|d| if d < 2222 { base(d) } else { -base(d) })
                .collect(),
            // 4: an indicator, flagged ternary.
            (0..draws).map(|d| f64::from(d % 3 == 0)).collect(),
            // 5: hinted as a copy of the ternary 4 (not honoured).
            (0..draws).map(|d| f64::from(d % 3 == 0)).collect(),
            // 6: hinted as a copy of the copy 1 (not honoured).
            (0..draws).map(base).collect(),
            // 7: zeros of both signs, hinted as a copy of 8.
            (0..draws)
                .map(|d| if d % 4 == 0 { -0.0 } else { 0.5 })
                .collect(),
            (0..draws)
                .map(|d| if d % 4 == 0 { 0.0 } else { 0.5 })
                .collect(),
            // 9: splits at the same draw as 2 (and 10 hints itself).
            (0..draws)
                .map(|d| if d == 1500 { 9.0 } else { base(d) })
                .collect(),
            (0..draws).map(|d| d as f64).collect(),
            // 11: spans 30 decades, so that it escapes its anchor in every block,
            // with its extremes in the third block (draws 2,048 to 3,071) before
            // draw 2,600; 12 copies it up to draw 2,600, then keeps to 5.0.
            (0..draws).map(wide).collect(),
            (0..draws)
                .map(|d| if d < 2600 { wide(d) } else { 5.0 })
                .collect(),
        ];
        let n = columns.len();
        let handling = SeriesHandling {
            ternary: (0..n).map(|i| i == 4).collect(),
            copy_of: vec![
                None,
                Some(0),
                Some(0),
                Some(0),
                None,
                Some(4),
                Some(1),
                Some(8),
                None,
                Some(0),
                Some(10),
                None,
                Some(11),
            ],
            quiet: vec![false; n],
        };
        let typical: Vec<f64> = columns.iter().map(|c| c[0]).collect();
        let mut block = SketchBlock::new(&typical, &vec![mapping(&template); n], 1024, &handling);
        assert_eq!(block.copied_series(), 6, "1, 2, 3, 7, 9 and 12");
        let (coded, direct) = through_block(&mut block, &columns);
        assert_eq!(coded, direct);
        let kept = block.handling();
        assert_eq!(kept.copy_of[1], Some(0));
        assert!(
            kept.copy_of
                .iter()
                .enumerate()
                .all(|(i, c)| i == 1 || c.is_none())
        );
    }

    /// The AVX2 build of the ternary counting gives the bits of the portable build.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_ternary_counting_equals_portable_counting() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let values: Vec<f64> = (0..203)
            .map(|i| match i % 9 {
                0 => -1.0,
                1 => 1.0,
                2 => -0.0,
                3 => 0.5,
                4 => 1e-310,
                5 => -3.0e7,
                _ => 0.0,
            })
            .collect();
        let count = |avx2: bool| {
            let (mut sum, mut abs) = (vec![0.5; values.len()], vec![1.0; values.len()]);
            let row = TernaryRow {
                values: &values,
                sum: &mut sum,
                abs: &mut abs,
            };
            // SAFETY: AVX2 support was checked at the top of the test.
            let others = if avx2 {
                unsafe { count_ternary_avx2(row) }
            } else {
                count_ternary_portable(row)
            };
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (others, bits(&sum), bits(&abs))
        };
        let portable = count(false);
        assert!(portable.0, "0.5, 1e-310 and -3e7 are not ternary");
        assert_eq!(
            portable.1[..3],
            [(-0.5f64).to_bits(), 1.5f64.to_bits(), 0.5f64.to_bits()]
        );
        assert_eq!(count(true), portable);
    }
}
