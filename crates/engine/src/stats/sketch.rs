//! A mergeable quantile sketch with a relative-accuracy guarantee.
//!
//! [`QuantileSketch`] follows DDSketch (Masson, Rim & Lee, "DDSketch: A
//! Fast and Fully-Mergeable Quantile Sketch with Relative-Error
//! Guarantees", PVLDB 12(12), 2019): values are counted in logarithmically
//! spaced buckets, so every value in a bucket is within a relative distance
//! α of the bucket's representative value. Counts are integers, so merging
//! is exact and the sketch of a set of draws does not depend on the order in
//! which they were inserted or merged.
//!
//! # Index mapping
//!
//! The bucket of `x > 0` is `floor(multiplier · L(x))`, where `L` is a fast
//! approximation of `log2`: with `x = 2^e · (1 + s)`, `s ∈ [0, 1)` taken
//! straight from the float's bits, `L(x) = e + P(s)` and
//! `P(s) = A s³ + B s² + C s` with `A = 6/35, B = −3/5, C = 10/7` (DDSketch's
//! cubically interpolated mapping). `P(0) = 0`, `P(1) = 1`, `P` is increasing
//! and concave, and `d ln x / dL = 1 / ((1 + s) P′(s)) ≤ 1/C = 0.7`, with
//! equality at `s = 0` and `s = 2/3`. A bucket spans `1/multiplier` in `L`, so
//! choosing `multiplier = 0.7 / ln γ`, `γ = (1 + α)/(1 − α)`, makes the ratio of
//! a bucket's bounds at most `γ`; its harmonic-mean representative
//! `2·lo·hi/(lo + hi)` is then within `(γ − 1)/(γ + 1) = α` of every value in
//! the bucket. The cost is 1 % more buckets than an exact-`ln` mapping
//! (0.7 vs ln 2 = 0.693), and the mapping uses only `+`, `×` and bit
//! operations, so bucket indices are identical on every IEEE-754 platform
//! (an `ln`-based index depends on the platform's libm at bucket edges).
//!
//! # Accuracy
//!
//! For ranks whose bucket has not been collapsed (see
//! [`QuantileSketch::collapsed`]) the reported quantile `v` of an exact order
//! statistic `x` satisfies `|v − x| ≤ α·|x|·(1 + 1e-9)` — the factor covers
//! the rounding in computing `L`, its inverse and the representative (each a
//! few ulps, i.e. ≲ 1e-12 relative); values with `|x| < ZERO_THRESHOLD` are
//! counted as zero. With the default α = 0.0009 the error is below 0.1 %
//! with a 10 % margin.

use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

use super::error::StatsError;
use crate::simd::avx2_dispatch;

/// A value's bucket in 16 bits, relative to a per-series anchor bucket, so that
/// values can be mapped when they are produced and counted later from a compact
/// buffer.
///
/// `ZERO` is the zero bucket; `POSITIVE + r` (1 ..= 0x7FFF) and `NEGATIVE + r`
/// (0x8001 ..= 0xFFFF) are the positive and negative buckets `anchor + r` for
/// `|r| ≤ MAX_OFFSET`; `ESCAPED` marks a value too far from the anchor, which the
/// caller keeps and counts separately.
pub(crate) struct BucketCode;

impl BucketCode {
    pub(crate) const ESCAPED: u16 = 0;
    pub(crate) const ZERO: u16 = 0x8000;
    pub(crate) const POSITIVE: i32 = 0x4000;
    pub(crate) const NEGATIVE: i32 = 0xC000;
    pub(crate) const MAX_OFFSET: i32 = 0x3FFF;

    /// The code of `x` (finite, not `-0.0`) relative to bucket `anchor`, in a
    /// sketch with this `multiplier`. Branch-free, so that loops over many
    /// series vectorize.
    #[inline]
    pub(crate) fn of(x: f64, anchor: i32, multiplier: f64) -> u16 {
        let magnitude = x.abs();
        let clamped = if magnitude > ZERO_THRESHOLD {
            magnitude
        } else {
            ZERO_THRESHOLD
        };
        let idx = bucket_index(multiplier, clamped);
        let offset = idx.wrapping_sub(anchor);
        let base = if x < 0.0 {
            Self::NEGATIVE
        } else {
            Self::POSITIVE
        };
        let in_range =
            (offset.wrapping_add(Self::MAX_OFFSET) as u32) <= 2 * Self::MAX_OFFSET as u32;
        let coded = if in_range {
            (base + offset) as u16
        } else {
            Self::ESCAPED
        };
        if magnitude < ZERO_THRESHOLD {
            Self::ZERO
        } else {
            coded
        }
    }
}

/// The largest error of a sketch quantile reported as `value` by a sketch of
/// relative accuracy `alpha`: the exact order statistic `x` lies within `α·|x|`
/// of it (plus rounding of ≲ 1e-12 relative, covered by the factor), and
/// `|x| ≤ |value|/(1 − α)`.
#[inline]
pub fn quantile_error_bound(alpha: f64, value: f64) -> f64 {
    alpha * value.abs() / (1.0 - alpha) * (1.0 + 1e-9)
}

/// Where a block's codes lie: the lowest and highest code of any kind, and the
/// lowest and highest code of each sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CodeSpan {
    /// Lowest and highest code (escapes and zeros included).
    pub(crate) lowest: u16,
    pub(crate) highest: u16,
    /// Lowest and highest positive code, if any.
    pub(crate) positive: Option<(u16, u16)>,
    /// Lowest and highest negative code, if any.
    pub(crate) negative: Option<(u16, u16)>,
}

impl CodeSpan {
    avx2_dispatch! {
        /// The span of `codes` (`None` when empty). One branch-free pass of min and
        /// max reductions, run as AVX2 where the CPU has it.
        pub(crate) fn of(codes: &[u16]) -> Option<CodeSpan> = Self::of_portable, avx2 Self::of_avx2;
    }

    #[inline(always)]
    fn of_portable(codes: &[u16]) -> Option<CodeSpan> {
        const ZERO: u16 = BucketCode::ZERO;
        if codes.is_empty() {
            return None;
        }
        let (mut lowest, mut highest) = (u16::MAX, 0u16);
        let (mut pos_lo, mut pos_hi, mut neg_lo) = (u16::MAX, 0u16, u16::MAX);
        for &c in codes {
            lowest = lowest.min(c);
            highest = highest.max(c);
            // Positive codes are 1..ZERO: escapes (0) map to MAX for the minimum.
            pos_lo = pos_lo.min(if c == 0 { u16::MAX } else { c });
            pos_hi = pos_hi.max(if c < ZERO { c } else { 0 });
            neg_lo = neg_lo.min(if c > ZERO { c } else { u16::MAX });
        }
        Some(CodeSpan {
            lowest,
            highest,
            positive: (pos_lo < ZERO).then_some((pos_lo, pos_hi)),
            negative: (highest > ZERO).then_some((neg_lo, highest)),
        })
    }

    /// The span of the codes of values whose exact extremes are `min` and `max`,
    /// without scanning them, when it follows from the extremes alone: the values
    /// are all of one sign and none is coded zero, and the caller knows that none
    /// escaped. Codes grow with the magnitude within each sign, so the extremes'
    /// codes are the ends. `None` otherwise (scan with [`Self::of`]).
    pub(crate) fn of_extremes(min: f64, max: f64, anchor: i32, multiplier: f64) -> Option<Self> {
        let code = |x: f64| BucketCode::of(x, anchor, multiplier);
        if min >= ZERO_THRESHOLD && max.is_finite() {
            let (lo, hi) = (code(min), code(max));
            return Some(CodeSpan {
                lowest: lo,
                highest: hi,
                positive: Some((lo, hi)),
                negative: None,
            });
        }
        if max <= -ZERO_THRESHOLD && min.is_finite() {
            let (lo, hi) = (code(max), code(min));
            return Some(CodeSpan {
                lowest: lo,
                highest: hi,
                positive: None,
                negative: Some((lo, hi)),
            });
        }
        None
    }

    /// Codes the histogram pass has to scan.
    pub(crate) fn width(&self) -> usize {
        let width = |r: Option<(u16, u16)>| r.map_or(0, |(lo, hi)| usize::from(hi - lo) + 1);
        width(self.positive) + width(self.negative)
    }
}

/// Default relative accuracy α.
///
/// The issue requires reported quantiles within 0.1 % of the exact order
/// statistic. The bucket guarantee is α; rounding adds ≲ 1e-12 relative. α =
/// 0.0009 keeps the total below 0.1 % with a 10 % margin, at about 390
/// buckets per doubling (≈ 1,290 per decade) — only 11 % more memory than
/// α = 0.001.
pub const DEFAULT_RELATIVE_ACCURACY: f64 = 0.0009;

/// Default cap on the buckets of each store (positive and negative).
///
/// 65,536 buckets cover about 50 decades of magnitude at the default α, and
/// cost at most 512 KiB per store. Real series span a few decades.
pub const DEFAULT_MAX_BUCKETS: usize = 1 << 16;

/// Smallest accepted bucket cap (so a collapsed store still resolves a
/// meaningful range above its floor).
pub const MIN_MAX_BUCKETS: usize = 16;

/// Largest accepted bucket cap (bounds allocation from corrupt input).
pub const MAX_MAX_BUCKETS: usize = 1 << 24;

/// Values with `|x|` below this are counted as exactly zero.
///
/// The index mapping reads the exponent bits and so needs normal floats;
/// `f64::MIN_POSITIVE` ≈ 2.2e-308 is the smallest normal value.
pub const ZERO_THRESHOLD: f64 = f64::MIN_POSITIVE;

// Cubic approximation of log2 on the significand (DDSketch).
const A: f64 = 6.0 / 35.0;
const B: f64 = -3.0 / 5.0;
const C: f64 = 10.0 / 7.0;
const MANTISSA_MASK: u64 = (1 << 52) - 1;
const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;

/// `L(x) = e + P(s)` for a positive normal `x = 2^e (1 + s)`.
#[inline]
fn approx_log2(x: f64) -> f64 {
    // 2^52 + 1023 as a float: subtracting it from 2^52 + (biased exponent),
    // built from bits, gives the exponent exactly without an integer-to-float
    // conversion, which keeps the mapping vectorizable.
    const EXPONENT_MAGIC: f64 = 4_503_599_627_371_519.0;
    let bits = x.to_bits();
    let biased = f64::from_bits(0x4330_0000_0000_0000 | ((bits >> 52) & 0x7ff));
    let e = biased - EXPONENT_MAGIC;
    let s = f64::from_bits((bits & MANTISSA_MASK) | ONE_BITS) - 1.0;
    ((A * s + B) * s + C) * s + e
}

/// Inverse of [`approx_log2`].
fn approx_log2_inv(y: f64) -> f64 {
    let e = y.floor();
    let f = y - e;
    // Solve P(s) = f. P is increasing and concave with s ≤ P(s) ≤ C·s, so the
    // root lies in [f/C, f] and Newton's method started at f/C climbs to it
    // monotonically; stop when it no longer moves up.
    let mut s = f / C;
    for _ in 0..16 {
        let p = ((A * s + B) * s + C) * s - f;
        let d = (3.0 * A * s + 2.0 * B) * s + C;
        let next = s - p / d;
        if next.is_nan() || next <= s {
            break;
        }
        s = next;
    }
    (1.0 + s) * pow2(e as i32)
}

/// The bucket of a magnitude `≥ ZERO_THRESHOLD` in a sketch with this
/// multiplier (see the module docs); smaller magnitudes give a meaningless index.
#[inline]
pub(crate) fn bucket_index(multiplier: f64, magnitude: f64) -> i32 {
    floor_i32(approx_log2(magnitude) * multiplier)
}

/// `2^e` for any `e`, saturating to `0` and `+∞`.
fn pow2(e: i32) -> f64 {
    if e > 1023 {
        f64::INFINITY
    } else if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else if e >= -1074 {
        f64::from_bits(((e + 1023 + 100) as u64) << 52) * pow2(-100)
    } else {
        0.0
    }
}

/// `floor(v)` for `|v| < 2^31`, except that an exact odd integer `v = k`
/// gives `k − 1`.
///
/// Adding 1.5·2^52 leaves `v − 0.5` rounded to an integer (ties to even) in
/// the low mantissa bits: no int/float conversion, no saturation checks, no
/// libm call (plain `f64::floor` is one on x86-64 without SSE4.1). The tie
/// case is harmless for bucketing: a value exactly on a bucket boundary is
/// within α of the representatives of both adjacent buckets.
#[inline]
fn floor_i32(v: f64) -> i32 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    // Truncation to the low 32 bits is the point: two's complement there.
    ((v - 0.5) + MAGIC).to_bits() as u32 as i32
}

/// The `k` (1-based) for the inverted-CDF quantile of level `q` among `n`
/// values: `k = max(1, ceil(q·n))`, clamped to `[1, n]` (0 when `n = 0`).
///
/// `q·n` is taken as an integer when it is within 4 ulps of one: levels such
/// as 0.025 are not exactly representable, and a product a hair above an
/// integer must not move the answer to the next order statistic.
#[must_use]
pub fn inverted_cdf_rank(q: f64, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let t = q.clamp(0.0, 1.0) * n as f64;
    let r = t.round();
    let k = if (t - r).abs() <= 4.0 * f64::EPSILON * t {
        r
    } else {
        t.ceil()
    };
    // NaN q gives NaN k, which `as` turns into 0 and the clamp into 1.
    (k as u64).clamp(1, n)
}

/// Dense bucket counts for one sign, indexed by bucket index.
///
/// Invariants: the count of bucket `offset + j` is `counts[j] + 2^16 ·
/// carries[offset + j]`; the window `counts.len()` never exceeds the cap. Once
/// `collapsed`, the window is exactly `[floor, floor + cap)` with `floor = top −
/// cap + 1`, where `top` is the highest index ever added; everything below
/// `floor` is counted in the `floor` bucket. This final state depends only on the
/// multiset of indices added, not on their order, so merging stays
/// order-independent.
///
/// Counts are kept 16 bits wide, with the rare overflow carried into a map: a
/// run's thousands of stores are far larger than the caches, and each value's
/// count is a random access into one of them, so a narrow store means fewer
/// cache lines to fetch per value.
#[derive(Clone, Debug, Default)]
struct Store {
    offset: i32,
    counts: Vec<u16>,
    /// Multiples of 2^16 carried out of `counts`, by bucket index.
    carries: BTreeMap<i32, u64>,
    collapsed: bool,
}

impl Store {
    /// Position of bucket `idx` in the window; out-of-window indices map
    /// past the end (a negative difference wraps to ≥ 2^31, and windows are
    /// at most 2^24 long; all indices lie within ±2^30, so no overflow).
    #[inline]
    fn slot(&self, idx: i32) -> usize {
        idx.wrapping_sub(self.offset) as u32 as usize
    }

    #[inline]
    fn add(&mut self, idx: i32, cap: usize) {
        let j = self.slot(idx);
        if let Some(c) = self.counts.get_mut(j) {
            let (low, wrapped) = c.overflowing_add(1);
            *c = low;
            if wrapped {
                *self.carries.entry(idx).or_default() += 1;
            }
        } else {
            self.add_slow(idx, 1, cap);
        }
    }

    fn add_n(&mut self, idx: i32, n: u64, cap: usize) {
        let j = self.slot(idx);
        if j < self.counts.len() {
            self.add_at(j, n);
        } else {
            self.add_slow(idx, n, cap);
        }
    }

    /// The full count of window slot `j`.
    fn count_at(&self, j: usize) -> u64 {
        let carried = self.carries.get(&(self.offset + j as i32)).copied();
        u64::from(self.counts[j]) + (carried.unwrap_or(0) << 16)
    }

    /// Adds `n` to window slot `j`.
    fn add_at(&mut self, j: usize, n: u64) {
        let idx = self.offset + j as i32;
        let total = self.count_at(j) + n;
        self.counts[j] = total as u16;
        if total >> 16 == 0 {
            self.carries.remove(&idx);
        } else {
            self.carries.insert(idx, total >> 16);
        }
    }

    /// The full counts of the whole window.
    fn wide(&self) -> Vec<u64> {
        let mut wide: Vec<u64> = self.counts.iter().map(|&c| u64::from(c)).collect();
        for (&idx, &carried) in &self.carries {
            wide[(idx - self.offset) as usize] += carried << 16;
        }
        wide
    }

    /// Replaces the window by full counts `wide` starting at bucket `offset`.
    fn set_wide(&mut self, offset: i32, wide: &[u64]) {
        self.offset = offset;
        self.counts = wide.iter().map(|&c| c as u16).collect();
        self.carries = wide
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c >> 16 != 0)
            .map(|(j, &c)| (offset + j as i32, c >> 16))
            .collect();
    }

    /// First and last window slots with a non-zero count.
    fn extent_slots(&self) -> Option<(usize, usize)> {
        // A slot is non-zero when its low bits are, or when it has carried.
        let low_first = self.counts.iter().position(|&c| c != 0);
        let low_last = self.counts.iter().rposition(|&c| c != 0);
        let slot = |idx: &i32| (idx - self.offset) as usize;
        let carry_first = self.carries.keys().next().map(slot);
        let carry_last = self.carries.keys().next_back().map(slot);
        let first = [low_first, carry_first].into_iter().flatten().min()?;
        let last = [low_last, carry_last].into_iter().flatten().max()?;
        Some((first, last))
    }

    /// First and last indices with a non-zero count.
    fn extent(&self) -> Option<(i32, i32)> {
        let (a, b) = self.extent_slots()?;
        Some((self.offset + a as i32, self.offset + b as i32))
    }

    /// The non-zero part of the window: (index of first element, full counts).
    fn trimmed(&self) -> (i32, Vec<u64>) {
        match self.extent_slots() {
            Some((a, b)) => {
                let first = self.offset + a as i32;
                let mut wide: Vec<u64> = self.counts[a..=b].iter().map(|&c| u64::from(c)).collect();
                for (&idx, &carried) in &self.carries {
                    wide[(idx - first) as usize] += carried << 16;
                }
                (first, wide)
            }
            None => (0, Vec::new()),
        }
    }

    fn total(&self) -> u64 {
        self.wide().iter().sum()
    }

    #[cold]
    #[inline(never)]
    fn add_slow(&mut self, idx: i32, n: u64, cap: usize) {
        if self.collapsed {
            self.add_collapsed(idx, n, cap);
            return;
        }
        let old = self.extent_slots();
        let (lo, hi) = match old {
            Some((a, b)) => (
                (self.offset + a as i32).min(idx),
                (self.offset + b as i32).max(idx),
            ),
            None => (idx, idx),
        };
        let span = (i64::from(hi) - i64::from(lo) + 1) as usize;
        if span > cap {
            self.collapse_into(hi, cap);
            self.add_collapsed(idx, n, cap);
            return;
        }
        // Geometric slack keeps regrowth amortized; most of it goes on the
        // side that just grew. The window never exceeds the cap, so the
        // collapse decision above depends on data, not on slack. An eighth, not
        // a half: late in a long run the range of a series only creeps outwards
        // (its extremes), and half a window of slack at each late regrowth made
        // peak memory grow by 15 % from 1M to 4M draws of the default.
        let extra = (span / 8).max(64).min(cap - span);
        let grew_down = old.is_some_and(|(a, _)| idx < self.offset + a as i32);
        let below = if grew_down {
            extra - extra / 4
        } else {
            extra / 4
        };
        let new_offset = i64::from(lo) - below as i64;
        let new_offset = i32::try_from(new_offset).unwrap_or(i32::MIN);
        let mut counts = vec![0u16; span + extra];
        if let Some((a, b)) = old {
            // Carries are keyed by bucket index, so only the low parts move.
            let at = (i64::from(self.offset) + a as i64 - i64::from(new_offset)) as usize;
            counts[at..at + (b - a + 1)].copy_from_slice(&self.counts[a..=b]);
        }
        self.counts = counts;
        self.offset = new_offset;
        self.add_at((i64::from(idx) - i64::from(new_offset)) as usize, n);
    }

    /// Switches to the collapsed layout with `top` as the highest index.
    fn collapse_into(&mut self, top: i32, cap: usize) {
        let floor = top - (cap as i32 - 1);
        let mut folded = vec![0u64; cap];
        for (j, c) in self.wide().into_iter().enumerate() {
            if c != 0 {
                let k = (self.offset + j as i32).max(floor);
                folded[(k - floor) as usize] += c;
            }
        }
        self.set_wide(floor, &folded);
        self.collapsed = true;
    }

    fn add_collapsed(&mut self, idx: i32, n: u64, cap: usize) {
        debug_assert_eq!(self.counts.len(), cap);
        if idx < self.offset {
            self.add_at(0, n);
            return;
        }
        let top = self.offset + (cap as i32 - 1);
        if idx > top {
            // Slide the window up, folding what falls off into the new floor.
            let shift = (i64::from(idx) - i64::from(top)) as usize;
            let mut wide = self.wide();
            let folded: u64 = wide[..shift.min(cap)].iter().sum();
            if shift >= cap {
                wide.fill(0);
            } else {
                wide.copy_within(shift.., 0);
                wide[cap - shift..].fill(0);
            }
            wide[0] += folded;
            self.set_wide(idx - (cap as i32 - 1), &wide);
        }
        self.add_at((idx - self.offset) as usize, n);
    }

    /// Empties the store, keeping its window allocated.
    fn clear(&mut self) {
        self.counts.fill(0);
        self.carries.clear();
        self.collapsed = false;
    }

    /// Adds `hist[j]` to bucket `first + j` for every `j` and zeroes `hist`.
    /// `hist` must be non-empty with non-zero ends (the lowest and highest
    /// buckets seen), and its counts below 2^32 − 2^16.
    fn add_histogram(&mut self, first: i32, hist: &mut [u32], cap: usize) {
        let len = hist.len();
        let last = first + (len as i32 - 1);
        debug_assert!(hist[0] != 0 && hist[len - 1] != 0);
        // Usually the window already covers the span: one pass then adds it all,
        // without the carries' lookups of adding the ends one by one. Counts are
        // integers, so the order in which they are added changes nothing.
        if self.add_in_window(first, hist) {
            return;
        }
        // The ends first, highest first (as in `merge`): with their counts in, the
        // window covers both unless the store had to collapse.
        for (idx, j) in [(last, len - 1), (first, 0)] {
            let n = std::mem::take(&mut hist[j]);
            if n != 0 {
                self.add_n(idx, u64::from(n), cap);
            }
        }
        if self.add_in_window(first, hist) {
            return;
        }
        for (j, h) in hist.iter_mut().enumerate().rev() {
            let n = std::mem::take(h);
            if n != 0 {
                self.add_n(first + j as i32, u64::from(n), cap);
            }
        }
    }

    /// Adds `hist[j]` to bucket `first + j` for every `j` in one pass and zeroes
    /// `hist`, if the window covers those buckets, the store has not collapsed and
    /// no count passes 16 bits; returns whether it did (else nothing changed).
    fn add_in_window(&mut self, first: i32, hist: &mut [u32]) -> bool {
        let len = hist.len();
        let last = first + (len as i32 - 1);
        let covered = self.slot(first) < self.counts.len() && self.slot(last) < self.counts.len();
        if !covered || self.collapsed {
            return false;
        }
        let at = self.slot(first);
        let added = add_without_carry(&mut self.counts[at..at + len], hist);
        if added {
            hist.fill(0);
        }
        added
    }

    fn merge(&mut self, other: &Store, cap: usize) {
        let Some((lo, hi)) = other.extent() else {
            return;
        };
        if self.extent().is_none() && !self.collapsed {
            *self = other.clone();
            return;
        }
        // Widen the window to cover `other` (adding zero counts), then add the
        // counts slot by slot unless either side has collapsed.
        self.add_n(hi, 0, cap);
        self.add_n(lo, 0, cap);
        let covered = self.slot(lo) < self.counts.len() && self.slot(hi) < self.counts.len();
        if covered && !self.collapsed && !other.collapsed {
            let from = other.slot(lo);
            let to = self.slot(lo);
            let len = (hi - lo) as usize + 1;
            let (mine, theirs) = (
                &mut self.counts[to..to + len],
                &other.counts[from..from + len],
            );
            if !add_without_carry(mine, theirs) {
                for (j, (mine, &theirs)) in mine.iter_mut().zip(theirs).enumerate() {
                    let (sum, wrapped) = mine.overflowing_add(theirs);
                    *mine = sum;
                    if wrapped {
                        *self.carries.entry(lo + j as i32).or_default() += 1;
                    }
                }
            }
            for (&idx, &carried) in &other.carries {
                *self.carries.entry(idx).or_default() += carried;
            }
            return;
        }
        // Highest first, so a collapsing merge settles its window at once.
        let (lo, counts) = other.trimmed();
        for (j, &c) in counts.iter().enumerate().rev() {
            if c != 0 {
                self.add_n(lo + j as i32, c, cap);
            }
        }
    }

    /// Rebuilds a store from its canonical (trimmed) form.
    fn from_raw(raw: RawStore, cap: usize) -> Result<Self, StatsError> {
        if raw.counts.len() > cap {
            return Err(StatsError::Corrupt("store longer than its bucket cap"));
        }
        if raw.counts.first() == Some(&0) || raw.counts.last() == Some(&0) {
            return Err(StatsError::Corrupt("store not trimmed"));
        }
        let limit = 1i64 << 30;
        let last = i64::from(raw.offset) + raw.counts.len() as i64;
        if i64::from(raw.offset) < -limit || last > limit {
            return Err(StatsError::Corrupt("bucket index out of range"));
        }
        let mut s = Store::default();
        s.set_wide(raw.offset, &raw.counts);
        if raw.collapsed {
            match s.extent() {
                Some((_, hi)) => s.collapse_into(hi, cap),
                None => return Err(StatsError::Corrupt("empty store marked collapsed")),
            }
        }
        Ok(s)
    }
}

avx2_dispatch! {
    /// Adds `counts` into `window` (slices of one length), unless a sum would pass
    /// 16 bits: then returns false and changes nothing. One branch-free pass that
    /// vectorizes, in the AVX2 build where the CPU has it (integer additions: the same
    /// counts either way), and, in the rare case of a carry, a second that undoes it.
    #[inline]
    fn add_without_carry[C: Copy + Into<u32>](window: &mut [u16], counts: &[C]) -> bool
        = add_without_carry_portable, avx2 add_without_carry_avx2;
}

#[inline(always)]
fn add_without_carry_portable<C: Copy + Into<u32>>(window: &mut [u16], counts: &[C]) -> bool {
    let counts = &counts[..window.len()];
    let mut overflow = 0u32;
    for (c, &h) in window.iter_mut().zip(counts) {
        let sum = u32::from(*c) + h.into();
        *c = sum as u16;
        overflow |= sum;
    }
    if overflow >> 16 == 0 {
        return true;
    }
    // The low 16 bits of a sum minus those of its count give the old value back.
    for (c, &h) in window.iter_mut().zip(counts) {
        *c = c.wrapping_sub(h.into() as u16);
    }
    false
}

/// A DDSketch-style quantile sketch with relative accuracy α.
///
/// Invariants: `count = zero_count + Σ positive + Σ negative`; `min`/`max`
/// are the exact extremes of the inserted values (`±∞` when empty, with
/// `-0.0` normalized to `+0.0`); `multiplier = 0.7 / ln((1+α)/(1−α))`.
///
/// Memory does not grow with the number of draws: it is proportional to the
/// log-range of the values, capped at `max_buckets` per sign.
///
/// Equality and serialization use a canonical form (trimmed stores), so two
/// sketches of the same values compare equal and serialize to the same
/// bytes however they were built.
#[derive(Clone, Debug)]
pub struct QuantileSketch {
    relative_accuracy: f64,
    multiplier: f64,
    max_buckets: usize,
    positive: Store,
    negative: Store,
    zero_count: u64,
    count: u64,
    min: f64,
    max: f64,
    /// How many values equal `min` and `max` exactly: the ranks they hold are
    /// reported exactly (an indicator, a share pinned at 0 or 1, a value clamped
    /// at a bound). Without `counts_extremes`, 1 each once a value is in (only
    /// the extreme ranks themselves are known to be exact).
    at_min: u64,
    at_max: u64,
    counts_extremes: bool,
}

/// The exact extremes of a set of values and how many values equal each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Extremes {
    pub(crate) min: f64,
    pub(crate) at_min: u64,
    pub(crate) max: f64,
    pub(crate) at_max: u64,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new()
    }
}

impl QuantileSketch {
    /// An empty sketch with [`DEFAULT_RELATIVE_ACCURACY`] and
    /// `DEFAULT_MAX_BUCKETS` (2^16).
    #[must_use]
    pub fn new() -> Self {
        Self::build(DEFAULT_RELATIVE_ACCURACY, DEFAULT_MAX_BUCKETS)
    }

    /// An empty sketch with relative accuracy `alpha` and a cap of
    /// `max_buckets` buckets per sign.
    ///
    /// # Errors
    /// If `alpha` is not in `[1e-7, 0.5)` or `max_buckets` is outside
    /// `[MIN_MAX_BUCKETS, MAX_MAX_BUCKETS]`.
    pub fn with_params(alpha: f64, max_buckets: usize) -> Result<Self, StatsError> {
        if !(1e-7..0.5).contains(&alpha) {
            return Err(StatsError::InvalidAccuracy(alpha));
        }
        if !(MIN_MAX_BUCKETS..=MAX_MAX_BUCKETS).contains(&max_buckets) {
            return Err(StatsError::InvalidBucketCap(max_buckets));
        }
        Ok(Self::build(alpha, max_buckets))
    }

    fn build(alpha: f64, max_buckets: usize) -> Self {
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        Self {
            relative_accuracy: alpha,
            multiplier: (1.0 / C) / gamma.ln(),
            max_buckets,
            positive: Store::default(),
            negative: Store::default(),
            zero_count: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            at_min: 0,
            at_max: 0,
            counts_extremes: true,
        }
    }

    /// This sketch, empty, keeping only `min` and `max` themselves exact instead
    /// of counting the values equal to them: for series whose values are spread
    /// continuously, where the count is 1 anyway and costs time per value.
    #[must_use]
    pub fn without_extreme_counts(mut self) -> Self {
        self.clear();
        self.counts_extremes = false;
        self
    }

    /// Whether the values equal to `min` and `max` are counted.
    #[must_use]
    pub fn counts_extremes(&self) -> bool {
        self.counts_extremes
    }

    /// Empties the sketch (as [`QuantileSketch::new`] with its parameters),
    /// keeping its bucket windows allocated for reuse.
    pub fn clear(&mut self) {
        self.positive.clear();
        self.negative.clear();
        self.zero_count = 0;
        self.count = 0;
        self.min = f64::INFINITY;
        self.max = f64::NEG_INFINITY;
        self.at_min = 0;
        self.at_max = 0;
    }

    #[inline]
    fn index(&self, magnitude: f64) -> i32 {
        bucket_index(self.multiplier, magnitude)
    }

    /// Adds one value. `x` must be finite (checked in debug builds).
    ///
    /// Allocation-free except when a value falls outside the current bucket
    /// window (rare: the window grows geometrically).
    #[inline]
    pub fn insert(&mut self, x: f64) {
        debug_assert!(x.is_finite(), "QuantileSketch::insert given {x}");
        // Turns -0.0 into +0.0 so min/max do not depend on insertion order.
        let x = x + 0.0;
        self.count_extremes(x, 1);
        self.add_to_bucket(x);
    }

    /// Counts `n` values equal to `x` (already `+ 0.0`) in `count`, `min` and
    /// `max`: the half of an insert that is not the bucket.
    #[inline]
    fn count_extremes(&mut self, x: f64, n: u64) {
        self.count += n;
        self.absorb_extremes(Extremes {
            min: x,
            at_min: n,
            max: x,
            at_max: n,
        });
    }

    /// Takes in the extremes of other values (not their count).
    #[inline]
    fn absorb_extremes(&mut self, e: Extremes) {
        if e.min < self.min {
            (self.min, self.at_min) = (e.min, e.at_min);
        } else if e.min == self.min {
            self.at_min += e.at_min;
        }
        if e.max > self.max {
            (self.max, self.at_max) = (e.max, e.at_max);
        } else if e.max == self.max {
            self.at_max += e.at_max;
        }
        if !self.counts_extremes {
            (self.at_min, self.at_max) = (1, 1);
        }
    }

    /// The mapping's multiplier: sketches with equal multipliers map every value
    /// to the same bucket.
    pub(crate) fn multiplier(&self) -> f64 {
        self.multiplier
    }

    /// Counts `codes`, values mapped ahead by [`bucket_index`] and carried as
    /// [`BucketCode`]s relative to `anchor`, whose exact extremes are `extremes`.
    /// Values coded [`BucketCode::ESCAPED`] are counted in `count`, `min`
    /// and `max` here but must go to their bucket through
    /// [`add_to_bucket`](Self::add_to_bucket). `hist` is all zeros, and left so.
    ///
    /// The codes are counted into `hist` (indexed by code, so no branch per
    /// value), then each store adds the span of `hist` between its lowest and
    /// highest code in one pass. A block whose codes are all equal (a series
    /// that stayed 0, an indicator) is counted at once. The bucket counts are the
    /// same as adding value by value.
    pub(crate) fn add_coded(
        &mut self,
        anchor: i32,
        codes: &[u16],
        hist: &mut [u32; 1 << 16],
        extremes: Extremes,
    ) {
        self.add_coded_in(anchor, codes, CodeSpan::of(codes), hist, extremes);
    }

    /// [`add_coded`](Self::add_coded) with the span of `codes` known
    /// (`CodeSpan::of(codes)`, or [`CodeSpan::of_extremes`] when it applies).
    pub(crate) fn add_coded_in(
        &mut self,
        anchor: i32,
        codes: &[u16],
        span: Option<CodeSpan>,
        hist: &mut [u32; 1 << 16],
        extremes: Extremes,
    ) {
        debug_assert_eq!(span, CodeSpan::of(codes));
        let n = codes.len();
        self.count += n as u64;
        if n > 0 {
            self.absorb_extremes(extremes);
        }
        let Some(span) = span else {
            return;
        };
        let bucket = |code: u16, base: i32| anchor + i32::from(code) - base;
        if span.lowest == span.highest {
            self.add_code_n(anchor, span.lowest, n as u64);
            return;
        }
        // A span much wider than the block would cost more to scan than to count
        // value by value.
        if span.width() > 8 * n {
            for &code in codes {
                self.add_code_n(anchor, code, 1);
            }
            return;
        }
        for &code in codes {
            hist[usize::from(code)] += 1;
        }
        hist[usize::from(BucketCode::ESCAPED)] = 0;
        self.zero_count += u64::from(std::mem::take(&mut hist[usize::from(BucketCode::ZERO)]));
        let cap = self.max_buckets;
        if let Some((lo, hi)) = span.positive {
            let first = bucket(lo, BucketCode::POSITIVE);
            let counts = &mut hist[usize::from(lo)..=usize::from(hi)];
            self.positive.add_histogram(first, counts, cap);
        }
        if let Some((lo, hi)) = span.negative {
            let first = bucket(lo, BucketCode::NEGATIVE);
            let counts = &mut hist[usize::from(lo)..=usize::from(hi)];
            self.negative.add_histogram(first, counts, cap);
        }
    }

    /// Adds `n` values of code `code` (relative to `anchor`) to their bucket;
    /// nothing for [`BucketCode::ESCAPED`].
    fn add_code_n(&mut self, anchor: i32, code: u16, n: u64) {
        match code {
            BucketCode::ESCAPED => {}
            BucketCode::ZERO => self.zero_count += n,
            c => {
                let (store, idx) = if c < BucketCode::ZERO {
                    (
                        &mut self.positive,
                        anchor + i32::from(c) - BucketCode::POSITIVE,
                    )
                } else {
                    (
                        &mut self.negative,
                        anchor + i32::from(c) - BucketCode::NEGATIVE,
                    )
                };
                // One value (the wide-span path): the plain increment, which
                // leaves the same counts without looking up the carries.
                if n == 1 {
                    store.add(idx, self.max_buckets);
                } else {
                    store.add_n(idx, n, self.max_buckets);
                }
            }
        }
    }

    /// Counts `x` in its bucket only (not in `count`, `min` or `max`): the
    /// bucket half of [`insert`](Self::insert), and the other half of
    /// [`add_coded`](Self::add_coded) for escaped values.
    #[inline]
    pub(crate) fn add_to_bucket(&mut self, x: f64) {
        let cap = self.max_buckets;
        match self.bucket_of(x) {
            Some((store, idx)) => store.add(idx, cap),
            None => self.zero_count += 1,
        }
    }

    /// The store and bucket index of `x`, or `None` for the zero count.
    #[inline]
    fn bucket_of(&mut self, x: f64) -> Option<(&mut Store, i32)> {
        let a = x.abs();
        if a < ZERO_THRESHOLD {
            return None;
        }
        let idx = self.index(a);
        let store = if x > 0.0 {
            &mut self.positive
        } else {
            &mut self.negative
        };
        Some((store, idx))
    }

    /// Adds `n` copies of `x` (finite): the same sketch as `n` calls of
    /// [`insert`](Self::insert), at the cost of one.
    pub(crate) fn insert_n(&mut self, x: f64, n: u64) {
        debug_assert!(x.is_finite(), "QuantileSketch::insert_n given {x}");
        if n == 0 {
            return;
        }
        let x = x + 0.0;
        self.count_extremes(x, n);
        let cap = self.max_buckets;
        match self.bucket_of(x) {
            Some((store, idx)) => store.add_n(idx, n, cap),
            None => self.zero_count += n,
        }
    }

    /// Adds every value of `xs` (see [`insert`](Self::insert)).
    ///
    /// Feeding one series' values of a whole chunk at a time keeps that
    /// sketch's buckets in cache, which matters far more than the mapping
    /// cost when thousands of sketches are live.
    #[inline]
    pub fn extend_from_slice(&mut self, xs: &[f64]) {
        for &x in xs {
            self.insert(x);
        }
    }

    /// Adds the counts of `other` (exact; order-independent).
    ///
    /// # Errors
    /// [`StatsError::SketchParameters`] if the sketches use different α or
    /// bucket caps; `self` is then unchanged.
    pub fn merge(&mut self, other: &QuantileSketch) -> Result<(), StatsError> {
        if self.relative_accuracy.to_bits() != other.relative_accuracy.to_bits()
            || self.max_buckets != other.max_buckets
            || self.counts_extremes != other.counts_extremes
        {
            return Err(StatsError::SketchParameters);
        }
        self.positive.merge(&other.positive, self.max_buckets);
        self.negative.merge(&other.negative, self.max_buckets);
        self.zero_count += other.zero_count;
        self.count += other.count;
        if other.count > 0 {
            self.absorb_extremes(Extremes {
                min: other.min,
                at_min: other.at_min,
                max: other.max,
                at_max: other.at_max,
            });
        }
        Ok(())
    }

    /// Number of values inserted.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of values counted as zero (`|x| < ZERO_THRESHOLD`).
    #[must_use]
    pub fn zero_count(&self) -> u64 {
        self.zero_count
    }

    /// Exact smallest value inserted (`+∞` when empty).
    #[must_use]
    pub fn min(&self) -> f64 {
        self.min
    }

    /// Exact largest value inserted (`−∞` when empty).
    #[must_use]
    pub fn max(&self) -> f64 {
        self.max
    }

    /// The relative accuracy α.
    #[must_use]
    pub fn relative_accuracy(&self) -> f64 {
        self.relative_accuracy
    }

    /// The bucket cap per sign.
    #[must_use]
    pub fn max_buckets(&self) -> usize {
        self.max_buckets
    }

    /// Whether a store hit its bucket cap and folded its lowest-magnitude
    /// buckets together.
    ///
    /// When true, the accuracy guarantee holds only for ranks whose value
    /// lies above the collapsed floor of its sign (values of magnitude
    /// below about `largest magnitude / γ^(max_buckets − 1)` are merged into
    /// one bucket). Callers should surface this flag.
    #[must_use]
    pub fn collapsed(&self) -> bool {
        self.positive.collapsed || self.negative.collapsed
    }

    /// Number of buckets spanned by the non-zero counts (both signs).
    #[must_use]
    pub fn bucket_count(&self) -> usize {
        self.positive.trimmed().1.len() + self.negative.trimmed().1.len()
    }

    /// Approximate heap plus inline size in bytes.
    #[must_use]
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.positive.counts.capacity() + self.negative.counts.capacity())
                * std::mem::size_of::<u16>()
            + (self.positive.carries.len() + self.negative.carries.len()) * 32
    }

    /// The inverted-CDF quantile of level `q ∈ [0, 1]` (see
    /// [`SketchCounts::quantile`]).
    #[must_use]
    pub fn quantile(&self, q: f64) -> f64 {
        self.counts().quantile(q)
    }

    /// The smooth quantile of level `q` (see
    /// [`SketchCounts::quantile_interpolated`]).
    #[must_use]
    pub fn quantile_interpolated(&self, q: f64) -> f64 {
        self.counts().quantile_interpolated(q)
    }

    /// The bucket counts unpacked once, for several quantile queries.
    #[must_use]
    pub fn counts(&self) -> SketchCounts<'_> {
        SketchCounts {
            sketch: self,
            negative: self.negative.trimmed(),
            positive: self.positive.trimmed(),
        }
    }

    /// The value within relative distance α of every magnitude in bucket
    /// `idx`: the harmonic mean of its bounds.
    fn representative(&self, idx: i32) -> f64 {
        let (lo, hi) = self.bounds(idx);
        // The top bucket's upper bound can overflow; keep the result finite.
        (2.0 / (1.0 / lo + 1.0 / hi)).min(f64::MAX)
    }

    /// Lower and upper magnitude bounds of bucket `idx`.
    fn bounds(&self, idx: i32) -> (f64, f64) {
        (
            approx_log2_inv(f64::from(idx) / self.multiplier),
            approx_log2_inv(f64::from(idx + 1) / self.multiplier),
        )
    }

    fn to_raw(&self) -> CanonicalSketch {
        fn store(s: &Store) -> CanonicalStore {
            let (offset, counts) = s.trimmed();
            CanonicalStore {
                offset,
                counts,
                collapsed: s.collapsed,
            }
        }
        let nonempty = self.count > 0;
        CanonicalSketch {
            relative_accuracy: self.relative_accuracy,
            max_buckets: self.max_buckets,
            count: self.count,
            zero_count: self.zero_count,
            min: nonempty.then_some(self.min),
            max: nonempty.then_some(self.max),
            at_min: self.at_min,
            at_max: self.at_max,
            counts_extremes: self.counts_extremes,
            positive: store(&self.positive),
            negative: store(&self.negative),
        }
    }
}

/// A sketch's bucket counts unpacked once (from their compact form), so that
/// several quantiles of one sketch are read without unpacking each time.
#[derive(Debug)]
pub struct SketchCounts<'a> {
    sketch: &'a QuantileSketch,
    /// (index of the first bucket, counts), trimmed, for each sign.
    negative: (i32, Vec<u64>),
    positive: (i32, Vec<u64>),
}

impl SketchCounts<'_> {
    /// The inverted-CDF quantile of level `q ∈ [0, 1]`: an estimate of the
    /// `k`-th smallest value, `k = max(1, ceil(q·n))` (see
    /// `inverted_cdf_rank`).
    ///
    /// Returns the exact `min` for ranks held by values equal to it (`k = 1` at
    /// least) and `max` likewise (`k = n` at least); otherwise the
    /// representative of the bucket holding rank `k`, clamped to `[min, max]`. `q` outside
    /// `[0, 1]` is clamped; NaN if the sketch is empty or `q` is NaN.
    #[must_use]
    pub fn quantile(&self, q: f64) -> f64 {
        if self.sketch.count == 0 || q.is_nan() {
            return f64::NAN;
        }
        let k = inverted_cdf_rank(q, self.sketch.count);
        if k <= self.sketch.at_min {
            return self.sketch.min;
        }
        if k > self.sketch.count - self.sketch.at_max {
            return self.sketch.max;
        }
        self.value_at_rank(k)
            .clamp(self.sketch.min, self.sketch.max)
    }

    /// The largest distance between [`Self::quantile`] at level `q` and the exact
    /// order statistic it estimates: 0 where the rank falls on a value equal to
    /// the exact `min` or `max`, `α·|v|/(1 − α)` (with rounding) for a reported `v`
    /// otherwise, and `+∞` once a store has collapsed (no bound holds then).
    /// NaN if the sketch is empty or `q` is NaN.
    #[must_use]
    pub fn quantile_error(&self, q: f64) -> f64 {
        let sketch = self.sketch;
        if sketch.count == 0 || q.is_nan() {
            return f64::NAN;
        }
        let k = inverted_cdf_rank(q, sketch.count);
        if k <= sketch.at_min || k > sketch.count - sketch.at_max {
            return 0.0;
        }
        if sketch.collapsed() {
            return f64::INFINITY;
        }
        quantile_error_bound(sketch.relative_accuracy, self.quantile(q))
    }

    /// A smooth version of the quantile function: linear interpolation of
    /// the continuous rank `q·n` inside the bucket that holds it.
    ///
    /// Unlike [`quantile`](Self::quantile) this is not snapped to bucket
    /// representatives, so differences of nearby quantiles (as in
    /// [`quantile_mcse`](super::summary::quantile_mcse)) are not quantized
    /// to bucket widths. The price is a weaker guarantee: the result lies in
    /// the bucket of the exact order statistic, so within `γ − 1 ≈ 2α`
    /// relative of it — use it for error estimates, not reported bounds.
    /// Clamped to `[min, max]`; NaN if empty or `q` is NaN.
    #[must_use]
    pub fn quantile_interpolated(&self, q: f64) -> f64 {
        if self.sketch.count == 0 || q.is_nan() {
            return f64::NAN;
        }
        let r = q.clamp(0.0, 1.0) * self.sketch.count as f64;
        let mut seen = 0u64;
        let within = |seen: u64, c: u64| ((r - seen as f64) / c as f64).clamp(0.0, 1.0);
        let (lo, counts) = (self.negative.0, &self.negative.1);
        for (j, &c) in counts.iter().enumerate().rev() {
            if c != 0 && (seen + c) as f64 >= r {
                let (a, b) = self.sketch.bounds(lo + j as i32);
                // Walking up through negatives: from -b towards -a.
                return (-b + within(seen, c) * (b - a)).clamp(self.sketch.min, self.sketch.max);
            }
            seen += c;
        }
        seen += self.sketch.zero_count;
        if self.sketch.zero_count > 0 && seen as f64 >= r {
            return 0.0;
        }
        let (lo, counts) = (self.positive.0, &self.positive.1);
        for (j, &c) in counts.iter().enumerate() {
            if c != 0 && (seen + c) as f64 >= r {
                let (a, b) = self.sketch.bounds(lo + j as i32);
                return (a + within(seen, c) * (b - a)).clamp(self.sketch.min, self.sketch.max);
            }
            seen += c;
        }
        self.sketch.max
    }

    /// Representative value of the bucket holding 1-based rank `k`.
    fn value_at_rank(&self, k: u64) -> f64 {
        let mut seen = 0u64;
        // Negative values, most negative (largest magnitude) first.
        let (lo, counts) = (self.negative.0, &self.negative.1);
        for (j, &c) in counts.iter().enumerate().rev() {
            seen += c;
            if seen >= k {
                return -self.sketch.representative(lo + j as i32);
            }
        }
        seen += self.sketch.zero_count;
        if seen >= k {
            return 0.0;
        }
        let (lo, counts) = (self.positive.0, &self.positive.1);
        for (j, &c) in counts.iter().enumerate() {
            seen += c;
            if seen >= k {
                return self.sketch.representative(lo + j as i32);
            }
        }
        // Unreachable while the count invariant holds.
        self.sketch.max
    }
}

impl PartialEq for QuantileSketch {
    fn eq(&self, other: &Self) -> bool {
        self.to_raw() == other.to_raw()
    }
}

/// Canonical form of a [`Store`] (full counts, trimmed), for equality and
/// serialization.
#[derive(Serialize, PartialEq)]
struct CanonicalStore {
    offset: i32,
    counts: Vec<u64>,
    collapsed: bool,
}

/// Canonical form of a [`QuantileSketch`].
#[derive(Serialize)]
struct CanonicalSketch {
    relative_accuracy: f64,
    max_buckets: usize,
    count: u64,
    zero_count: u64,
    min: Option<f64>,
    max: Option<f64>,
    at_min: u64,
    at_max: u64,
    counts_extremes: bool,
    positive: CanonicalStore,
    negative: CanonicalStore,
}

impl PartialEq for CanonicalSketch {
    fn eq(&self, o: &Self) -> bool {
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        self.relative_accuracy.to_bits() == o.relative_accuracy.to_bits()
            && self.max_buckets == o.max_buckets
            && self.count == o.count
            && self.zero_count == o.zero_count
            && bits(self.min) == bits(o.min)
            && bits(self.max) == bits(o.max)
            && self.at_min == o.at_min
            && self.at_max == o.at_max
            && self.counts_extremes == o.counts_extremes
            && self.positive == o.positive
            && self.negative == o.negative
    }
}

#[derive(Deserialize)]
struct RawStore {
    offset: i32,
    counts: Vec<u64>,
    collapsed: bool,
}

#[derive(Deserialize)]
struct RawSketch {
    relative_accuracy: f64,
    max_buckets: usize,
    count: u64,
    zero_count: u64,
    min: Option<f64>,
    max: Option<f64>,
    at_min: u64,
    at_max: u64,
    counts_extremes: bool,
    positive: RawStore,
    negative: RawStore,
}

impl Serialize for QuantileSketch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_raw().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for QuantileSketch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawSketch::deserialize(deserializer)?;
        Self::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

impl QuantileSketch {
    fn from_raw(raw: RawSketch) -> Result<Self, StatsError> {
        let mut s = Self::with_params(raw.relative_accuracy, raw.max_buckets)?;
        s.positive = Store::from_raw(raw.positive, raw.max_buckets)?;
        s.negative = Store::from_raw(raw.negative, raw.max_buckets)?;
        s.zero_count = raw.zero_count;
        s.count = raw.count;
        let stored = [s.positive.total(), s.negative.total(), s.zero_count]
            .iter()
            .try_fold(0u64, |acc, &c| acc.checked_add(c));
        if stored != Some(raw.count) {
            return Err(StatsError::Corrupt("bucket counts do not add up to count"));
        }
        match (raw.min, raw.max, raw.count) {
            (None, None, 0) if raw.at_min == 0 && raw.at_max == 0 => {}
            (Some(lo), Some(hi), n) if n > 0 && lo <= hi && lo.is_finite() && hi.is_finite() => {
                s.min = lo + 0.0;
                s.max = hi + 0.0;
            }
            _ => return Err(StatsError::Corrupt("min/max inconsistent with count")),
        }
        // Between 1 and count values at each extreme, all of them when both agree.
        let (at_min, at_max, n) = (raw.at_min, raw.at_max, raw.count);
        let one_value = s.min == s.max && at_min == n && at_max == n;
        let counted = one_value
            || (at_min >= 1 && at_max >= 1 && at_min.checked_add(at_max).is_some_and(|t| t <= n));
        let consistent = n == 0
            || if raw.counts_extremes {
                counted
            } else {
                at_min == 1 && at_max == 1
            };
        if !consistent {
            return Err(StatsError::Corrupt(
                "counts at min/max inconsistent with count",
            ));
        }
        (s.at_min, s.at_max) = (at_min, at_max);
        s.counts_extremes = raw.counts_extremes;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The span of a block's codes, by hand and between the AVX2 and portable
    /// builds.
    #[test]
    fn code_spans() {
        let z = BucketCode::ZERO;
        assert_eq!(CodeSpan::of(&[]), None);
        let mixed = [z, 0, 0x4001, 0x3000, z + 5, 0xC100, z];
        let span = CodeSpan::of(&mixed).unwrap();
        assert_eq!((span.lowest, span.highest), (0, 0xC100));
        assert_eq!(span.positive, Some((0x3000, 0x4001)));
        assert_eq!(span.negative, Some((z + 5, 0xC100)));
        assert_eq!(span.width(), 0x1002 + 0x40FC);
        let only_zeros_and_escapes = CodeSpan::of(&[z, 0, z]).unwrap();
        assert_eq!(only_zeros_and_escapes.positive, None);
        assert_eq!(only_zeros_and_escapes.negative, None);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let codes: Vec<u16> = (0..5000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 16) as u16)
                .collect();
            for len in [1, 7, 64, 999, 5000] {
                // SAFETY: AVX2 support was checked just above.
                let avx2 = unsafe { CodeSpan::of_avx2(&codes[..len]) };
                assert_eq!(avx2, CodeSpan::of_portable(&codes[..len]));
            }
        }
    }
    use proptest::prelude::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};

    const QS: [f64; 9] = [0.0, 0.001, 0.025, 0.05, 0.5, 0.95, 0.975, 0.999, 1.0];

    fn uniform(rng: &mut ChaCha8Rng) -> f64 {
        ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal by Box–Muller (one of the pair; simplicity over speed).
    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let (u1, u2) = (uniform(rng), uniform(rng));
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn draws(seed: u64, n: usize, mut f: impl FnMut(&mut ChaCha8Rng) -> f64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| f(&mut rng)).collect()
    }

    fn shapes() -> Vec<(&'static str, Vec<f64>)> {
        const N: usize = 100_000;
        vec![
            ("lognormal s=1.5", draws(1, N, |r| (1.5 * normal(r)).exp())),
            ("normal(0,1)", draws(2, N, normal)),
            (
                "mixture around 0",
                draws(3, N, |r| {
                    if uniform(r) < 0.5 {
                        -2.0 + normal(r)
                    } else {
                        0.5 + 0.3 * normal(r)
                    }
                }),
            ),
            ("narrow", draws(4, N, |r| 1000.0 + 0.01 * normal(r))),
            ("point mass", vec![3.7; N]),
            (
                "zeros mixed in",
                draws(5, N, |r| {
                    let u = uniform(r);
                    if u < 0.3 {
                        0.0
                    } else if u < 0.35 {
                        -0.0
                    } else if u < 0.5 {
                        -(normal(r).exp())
                    } else {
                        normal(r).exp()
                    }
                }),
            ),
            ("tiny", draws(6, N, |r| 1e-250 * (0.5 * normal(r)).exp())),
            ("huge", draws(7, N, |r| -1e250 * (0.5 * normal(r)).exp())),
            (
                "40 decades, both signs",
                draws(8, N, |r| {
                    let m = 10f64.powf(40.0 * uniform(r) - 20.0);
                    if uniform(r) < 0.4 { -m } else { m }
                }),
            ),
            (
                "subnormal-free near threshold",
                draws(9, N, |r| 1e-300 * (1.0 + uniform(r))),
            ),
        ]
    }

    fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
        sorted[(inverted_cdf_rank(q, sorted.len() as u64) - 1) as usize]
    }

    fn sorted(v: &[f64]) -> Vec<f64> {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s
    }

    #[test]
    fn accuracy_against_exact_quantiles() {
        for (name, data) in shapes() {
            let mut sk = QuantileSketch::new();
            sk.extend_from_slice(&data);
            assert!(!sk.collapsed(), "{name} collapsed");
            let s = sorted(&data);
            assert_eq!(sk.min(), s[0] + 0.0, "{name} min");
            assert_eq!(sk.max(), s[s.len() - 1] + 0.0, "{name} max");
            for q in QS {
                let exact = exact_quantile(&s, q);
                let est = sk.quantile(q);
                let err = (est - exact).abs();
                // The acceptance criterion, and the tighter guarantee behind it.
                assert!(err <= 0.001 * exact.abs(), "{name} q={q}: {est} vs {exact}");
                assert!(
                    err <= DEFAULT_RELATIVE_ACCURACY * (1.0 + 1e-9) * exact.abs(),
                    "{name} q={q}: {est} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn interpolated_quantile_stays_in_the_exact_bucket() {
        for (name, data) in shapes() {
            let mut sk = QuantileSketch::new();
            sk.extend_from_slice(&data);
            let s = sorted(&data);
            let gamma = (1.0 + DEFAULT_RELATIVE_ACCURACY) / (1.0 - DEFAULT_RELATIVE_ACCURACY);
            for q in QS {
                let exact = exact_quantile(&s, q);
                let est = sk.quantile_interpolated(q);
                let tol = (gamma - 1.0) * (1.0 + 1e-9) * exact.abs();
                assert!((est - exact).abs() <= tol, "{name} q={q}: {est} vs {exact}");
            }
        }
    }

    #[test]
    fn point_mass_and_extremes_are_exact() {
        let mut sk = QuantileSketch::new();
        for _ in 0..1000 {
            sk.insert(3.7);
        }
        for q in QS {
            assert_eq!(sk.quantile(q), 3.7);
        }
        let mut sk = QuantileSketch::new();
        sk.extend_from_slice(&[5.0, -2.5, 1e-3, 7.25]);
        assert_eq!(
            (sk.quantile(0.0), sk.quantile(0.25), sk.quantile(1.0)),
            (-2.5, -2.5, 7.25)
        );
        assert!(QuantileSketch::new().quantile(0.5).is_nan());
        assert!(sk.quantile(f64::NAN).is_nan());
    }

    /// Bucket counts past 2^16 carry exactly, through inserts, merges, window
    /// moves, collapsing and serialization.
    #[test]
    fn counts_beyond_sixteen_bits_carry_exactly() {
        let heavy = 3 * 65_536 + 17;
        let mut a = QuantileSketch::new();
        for _ in 0..heavy {
            a.insert(2.0);
        }
        a.insert(-1.0);
        let mut b = QuantileSketch::new();
        for _ in 0..65_535 {
            b.insert(2.0);
        }
        // Grows the window downwards, moving the heavy bucket's low bits.
        b.insert(1e-6);
        a.merge(&b).unwrap();
        let n = heavy + 1 + 65_536;
        assert_eq!(a.count(), n);
        assert_eq!(a.positive.total() + a.negative.total(), n);
        assert_eq!(a.positive.trimmed().1.iter().max(), Some(&(heavy + 65_535)));
        let close = |v: f64, x: f64| (v - x).abs() <= DEFAULT_RELATIVE_ACCURACY * x;
        assert!(close(a.quantile(0.5), 2.0));
        assert!(close(a.quantile(1.5 / n as f64), 1e-6));
        let json = serde_json::to_string(&a).unwrap();
        let back: QuantileSketch = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        // Collapsing folds carried counts too.
        let mut c = QuantileSketch::with_params(0.01, MIN_MAX_BUCKETS).unwrap();
        for _ in 0..70_000 {
            c.insert(1.0);
        }
        c.insert(1e30);
        assert!(c.collapsed());
        assert_eq!(c.positive.total(), 70_001);
        assert_eq!(c.positive.trimmed().1.first(), Some(&70_000));
    }

    /// The span read off one-signed extremes is the span of the codes themselves,
    /// and none is read where the values have both signs or a zero.
    #[test]
    fn span_of_extremes_equals_span_of_codes() {
        let m = QuantileSketch::new().multiplier();
        let sets: [&[f64]; 6] = [
            &[3.5, 1e-3, 7e4, 2.0],
            &[-3.5, -1e-3, -7e4],
            &[5.0],
            &[-2.0, -2.0],
            &[1.0, -1.0],
            &[0.0, 4.0],
        ];
        for (j, values) in sets.iter().enumerate() {
            for anchor in [-500, 0, bucket_index(m, 2.0), 6000] {
                let codes: Vec<u16> = values
                    .iter()
                    .map(|&x| BucketCode::of(x, anchor, m))
                    .collect();
                let (min, max) = values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                        (lo.min(x), hi.max(x))
                    });
                let read = CodeSpan::of_extremes(min, max, anchor, m);
                if codes.contains(&BucketCode::ESCAPED) {
                    continue;
                }
                match j {
                    0..=3 => assert_eq!(read, CodeSpan::of(&codes), "set {j}, anchor {anchor}"),
                    _ => assert_eq!(read, None, "set {j}"),
                }
            }
        }
    }

    #[test]
    fn mapping_error_bound() {
        // Every magnitude is within α (plus rounding) of its representative,
        // including values straddling bucket and binade edges.
        let sk = QuantileSketch::new();
        let alpha = sk.relative_accuracy();
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let mut worst = 0.0f64;
        let mut check = |x: f64| {
            let rep = sk.representative(sk.index(x));
            let rel = (rep - x).abs() / x;
            worst = worst.max(rel);
            assert!(rel <= alpha * (1.0 + 1e-9), "x={x:e} rep={rep:e} rel={rel}");
        };
        for _ in 0..200_000 {
            check(10f64.powf(600.0 * uniform(&mut rng) - 300.0));
        }
        for e in -1022..1023 {
            let p = pow2(e);
            for x in [p, p.next_up(), p.next_down(), p * (5.0 / 3.0)] {
                if x >= ZERO_THRESHOLD {
                    check(x);
                }
            }
        }
        for idx in -2000..2000 {
            let edge = approx_log2_inv(f64::from(idx) / sk.multiplier);
            for x in [edge, edge.next_up(), edge.next_down()] {
                check(x);
            }
        }
        check(f64::MAX);
        check(f64::MIN_POSITIVE);
        // The bound is attained (s = 0 and s = 2/3 are where it is tight).
        assert!(worst > 0.99 * alpha, "worst {worst}");
    }

    #[test]
    fn inverse_mapping_roundtrip() {
        for i in 0..10_000 {
            let y = -1000.0 + f64::from(i) * 0.2001;
            let x = approx_log2_inv(y);
            assert!(
                (approx_log2(x) - y).abs() <= 1e-12 * y.abs().max(1.0),
                "y={y}"
            );
        }
    }

    #[test]
    fn rank_rule() {
        assert_eq!(inverted_cdf_rank(0.025, 100_000), 2500);
        assert_eq!(inverted_cdf_rank(0.975, 100_000), 97_500);
        assert_eq!(inverted_cdf_rank(0.0, 10), 1);
        assert_eq!(inverted_cdf_rank(1.0, 10), 10);
        assert_eq!(inverted_cdf_rank(0.5, 10), 5);
        assert_eq!(inverted_cdf_rank(0.51, 10), 6);
        assert_eq!(inverted_cdf_rank(0.1, 3), 1);
        assert_eq!(inverted_cdf_rank(f64::NAN, 3), 1);
        assert_eq!(inverted_cdf_rank(0.5, 0), 0);
    }

    /// Chunked, multi-worker build: chunk k always holds the same draws;
    /// `order` says which chunk each worker slot processes.
    fn build_sharded(
        data: &[f64],
        workers: usize,
        order: &[usize],
        sk: &QuantileSketch,
    ) -> Vec<QuantileSketch> {
        let chunks: Vec<&[f64]> = data.chunks(1024).collect();
        let mut parts = vec![sk.clone(); workers];
        for (slot, &k) in order.iter().enumerate() {
            parts[slot % workers].extend_from_slice(chunks[k]);
        }
        parts
    }

    fn merge_all(parts: &[QuantileSketch], order: &[usize]) -> QuantileSketch {
        let mut acc = parts[order[0]].clone();
        for &i in &order[1..] {
            acc.merge(&parts[i]).expect("same parameters");
        }
        acc
    }

    fn check_merge_invariance(data: &[f64], template: &QuantileSketch) {
        let n_chunks = data.len().div_ceil(1024);
        let forward: Vec<usize> = (0..n_chunks).collect();
        let mut single = template.clone();
        single.extend_from_slice(data);
        let reference_json = serde_json::to_string(&single).expect("ser");
        let mut rev = forward.clone();
        rev.reverse();
        let scattered: Vec<usize> = (0..n_chunks).map(|i| (i * 37 + 11) % n_chunks).collect();
        for (workers, order) in [(2, &forward), (3, &rev), (5, &scattered)] {
            let parts = build_sharded(data, workers, order, template);
            let ascending: Vec<usize> = (0..workers).collect();
            let descending: Vec<usize> = (0..workers).rev().collect();
            for merge_order in [ascending, descending] {
                let merged = merge_all(&parts, &merge_order);
                assert_eq!(merged, single);
                assert_eq!(serde_json::to_string(&merged).expect("ser"), reference_json);
                assert_eq!(merged.collapsed(), single.collapsed());
                for q in QS {
                    assert_eq!(merged.quantile(q).to_bits(), single.quantile(q).to_bits());
                }
            }
        }
    }

    /// The AVX2 build of the carry-free window addition gives the portable build's
    /// counts, and neither changes anything when a sum would pass 16 bits.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_window_addition_equals_portable_addition() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let window: Vec<u16> = (0..1001u32).map(|i| (i * 7919 % 30_000) as u16).collect();
        let small: Vec<u32> = (0..1001u32).map(|i| i * 31 % 35_000).collect();
        let narrow: Vec<u16> = small.iter().map(|&c| c as u16).collect();
        let mut too_big = small.clone();
        too_big[777] = 65_536 - u32::from(window[777]);
        let run = |avx2: bool, counts: &dyn Fn(&mut [u16], bool) -> bool| {
            let mut w = window.clone();
            let added = counts(&mut w, avx2);
            (added, w)
        };
        // SAFETY (in the closures below): AVX2 support was checked at the top.
        let wide = |c: &[u32]| {
            let c = c.to_vec();
            move |w: &mut [u16], avx2: bool| {
                if avx2 {
                    unsafe { add_without_carry_avx2(w, &c) }
                } else {
                    add_without_carry_portable(w, &c)
                }
            }
        };
        let of_u16 = |w: &mut [u16], avx2: bool| {
            if avx2 {
                unsafe { add_without_carry_avx2(w, &narrow) }
            } else {
                add_without_carry_portable(w, &narrow)
            }
        };
        let fits = run(false, &wide(&small));
        assert!(fits.0);
        assert!(
            fits.1
                .iter()
                .zip(&window)
                .zip(&small)
                .all(|((&s, &w), &c)| u32::from(s) == u32::from(w) + c)
        );
        assert_eq!(run(true, &wide(&small)), fits);
        assert_eq!(run(true, &of_u16), fits);
        assert_eq!(run(false, &of_u16), fits);
        for avx2 in [false, true] {
            assert_eq!(run(avx2, &wide(&too_big)), (false, window.clone()));
        }
    }

    #[test]
    fn merge_is_order_independent() {
        // 100 chunks; gcd(37, 100) = 1, so the scattered order is a permutation.
        for (_, data) in shapes().into_iter().take(6) {
            check_merge_invariance(&data[..102_400.min(data.len())], &QuantileSketch::new());
        }
    }

    #[test]
    fn collapse_is_order_independent_and_keeps_top_accurate() {
        let data = draws(11, 101_376, |r| {
            let m = 10f64.powf(12.0 * uniform(r) - 6.0);
            if uniform(r) < 0.3 { -m } else { m }
        });
        let template = QuantileSketch::with_params(DEFAULT_RELATIVE_ACCURACY, 2048).expect("valid");
        let mut sk = template.clone();
        sk.extend_from_slice(&data);
        assert!(sk.collapsed());
        assert!(sk.approx_bytes() <= 2 * 2048 * 8 + 1024);
        // 99 chunks; gcd(37, 99) = 1.
        check_merge_invariance(&data, &template);
        // Ranks far above the collapsed floor (2048 buckets ≈ 1.6 decades
        // below the largest magnitude) keep the guarantee.
        let s = sorted(&data);
        for q in [0.0, 0.001, 0.01, 0.99, 0.999, 1.0] {
            let exact = exact_quantile(&s, q);
            assert!(
                (sk.quantile(q) - exact).abs() <= 0.001 * exact.abs(),
                "q={q}"
            );
        }
    }

    #[test]
    fn merge_rejects_different_parameters() {
        let mut a = QuantileSketch::new();
        let b = QuantileSketch::with_params(0.01, DEFAULT_MAX_BUCKETS).expect("valid");
        assert_eq!(a.merge(&b), Err(StatsError::SketchParameters));
        assert!(QuantileSketch::with_params(0.0, 100).is_err());
        assert!(QuantileSketch::with_params(0.01, 4).is_err());
    }

    #[test]
    fn serde_roundtrip_and_validation() {
        let mut sk = QuantileSketch::new();
        sk.extend_from_slice(&draws(12, 5000, |r| 3.0 * normal(r)));
        // Short-decimal extremes: serde_json parses floats exactly only with
        // its `float_roundtrip` feature, and min/max are stored as floats.
        sk.extend_from_slice(&[0.0, -100.0, 100.0]);
        let json = serde_json::to_string(&sk).expect("ser");
        let back: QuantileSketch = serde_json::from_str(&json).expect("de");
        assert_eq!(back.count(), sk.count());
        assert_eq!(serde_json::to_string(&back).expect("ser"), json);
        let empty = serde_json::to_string(&QuantileSketch::new()).expect("ser");
        let back: QuantileSketch = serde_json::from_str(&empty).expect("de");
        assert_eq!(back, QuantileSketch::new());
        let bad = json.replacen("\"count\":5003", "\"count\":5004", 1);
        assert!(serde_json::from_str::<QuantileSketch>(&bad).is_err());
    }

    #[test]
    fn store_growth_in_both_directions() {
        let mut sk = QuantileSketch::new();
        // Decreasing then increasing magnitudes force growth at both ends.
        let vals: Vec<f64> = (0..2000)
            .map(|i| 1.001f64.powi(-i))
            .chain((0..2000).map(|i| 1.002f64.powi(i)))
            .collect();
        sk.extend_from_slice(&vals);
        let mut reference = QuantileSketch::new();
        let mut sorted_vals = vals.clone();
        sorted_vals.sort_by(f64::total_cmp);
        reference.extend_from_slice(&sorted_vals);
        assert_eq!(sk, reference);
        assert!(!sk.collapsed());
        for q in QS {
            let exact = exact_quantile(&sorted_vals, q);
            assert!((sk.quantile(q) - exact).abs() <= 0.001 * exact);
        }
    }

    proptest! {
        #[test]
        fn prop_accuracy_and_merge(
            values in proptest::collection::vec(
                prop_oneof![
                    -1e6f64..1e6,
                    // 40 decades: within the default cap (≈ 50 decades).
                    (-20i32..20, -1.0f64..1.0).prop_map(|(e, m)| m * 10f64.powi(e)),
                    Just(0.0),
                ],
                1..300,
            ),
            q in 0.0f64..=1.0,
            cut in any::<prop::sample::Index>(),
        ) {
            let mut sk = QuantileSketch::new();
            sk.extend_from_slice(&values);
            let s = sorted(&values);
            let exact = exact_quantile(&s, q);
            prop_assert!((sk.quantile(q) - exact).abs() <= 0.001 * exact.abs());
            let c = cut.index(values.len() + 1);
            let mut a = QuantileSketch::new();
            a.extend_from_slice(&values[c..]);
            let mut b = QuantileSketch::new();
            b.extend_from_slice(&values[..c]);
            a.merge(&b).expect("same parameters");
            prop_assert_eq!(&a, &sk);
            prop_assert_eq!(a.quantile(q).to_bits(), sk.quantile(q).to_bits());
        }
    }

    /// Fastest of 7 timings of `f` over `data`, in ns per value.
    fn best_ns(data: &[f64], mut f: impl FnMut(&[f64])) -> f64 {
        (0..7)
            .map(|_| {
                let t = std::time::Instant::now();
                f(std::hint::black_box(data));
                t.elapsed().as_secs_f64() * 1e9 / data.len() as f64
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// Insert cost of the cubic mapping vs an exact-`ln` mapping.
    /// Run: `cargo test --release -- --ignored --nocapture timing`.
    #[test]
    #[ignore = "timing report, not a check"]
    fn timing_cubic_vs_ln() {
        use std::hint::black_box;
        let data = draws(13, 1 << 22, |r| 50.0 * (0.3 * normal(r)).exp());
        let sk = QuantileSketch::new();
        let inv_ln_gamma = {
            let a = sk.relative_accuracy;
            1.0 / ((1.0 + a) / (1.0 - a)).ln()
        };
        let cubic_idx = best_ns(&data, |d| {
            black_box(d.iter().map(|&x| i64::from(sk.index(x))).sum::<i64>());
        });
        let ln_idx = best_ns(&data, |d| {
            black_box(
                d.iter()
                    .map(|&x| i64::from(floor_i32(x.ln() * inv_ln_gamma)))
                    .sum::<i64>(),
            );
        });
        let mut s1 = QuantileSketch::new();
        let cubic_insert = best_ns(&data, |d| {
            for &x in d {
                s1.insert(x);
            }
        });
        // The same insert path with the index taken from an exact ln.
        let mut s2 = QuantileSketch::new();
        let cap = s2.max_buckets;
        let ln_insert = best_ns(&data, |d| {
            for &x in d {
                let x = x + 0.0;
                s2.count += 1;
                if x < s2.min {
                    s2.min = x;
                }
                if x > s2.max {
                    s2.max = x;
                }
                let a = x.abs();
                if a >= ZERO_THRESHOLD {
                    let idx = floor_i32(a.ln() * inv_ln_gamma);
                    let store = if x > 0.0 {
                        &mut s2.positive
                    } else {
                        &mut s2.negative
                    };
                    store.add(idx, cap);
                } else {
                    s2.zero_count += 1;
                }
            }
        });
        println!(
            "index only: cubic {cubic_idx:.2} ns, ln {ln_idx:.2} ns; \
             full insert: cubic {cubic_insert:.2} ns, ln {ln_insert:.2} ns; \
             buckets cubic {} vs ln {}",
            s1.bucket_count(),
            s2.bucket_count()
        );
    }

    /// Bucket count and memory for a lognormal(σ = 0.3) series at 1M draws.
    /// Run: `cargo test --release -- --ignored --nocapture memory`.
    #[test]
    #[ignore = "memory report, not a check"]
    fn memory_lognormal_03_1m() {
        let mut sk = QuantileSketch::new();
        sk.extend_from_slice(&draws(14, 1_000_000, |r| 120.0 * (0.3 * normal(r)).exp()));
        println!(
            "lognormal s=0.3, 1M draws: {} buckets spanned, {} bytes (min {:.4}, max {:.4})",
            sk.bucket_count(),
            sk.approx_bytes(),
            sk.min(),
            sk.max()
        );
    }
}
