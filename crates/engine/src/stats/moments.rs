//! Shifted first and second moments, deterministic across chunk orders.
//!
//! Two levels:
//!
//! * [`ChunkMomentsBank`] — the cheap per-chunk accumulator. One worker
//!   feeds it the draws of one chunk *in draw order*, so its plain `f64`
//!   sums depend only on the chunk's contents.
//! * [`RunMoments`] — the run-level accumulator. It adds each chunk's sums
//!   into [`ExactSum`]s, so the totals (and hence mean and sd) are the same
//!   bits whatever order chunks arrive in and however workers are merged.
//!
//! Values are shifted by a per-series constant (the series' value at draw
//! 0) before squaring, which keeps `S2 − S1²/n` free of catastrophic
//! cancellation for narrow distributions far from zero.

use serde::{Deserialize, Serialize};

use super::error::StatsError;
use super::exact_sum::ExactSum;
use crate::simd::avx2_dispatch;

/// Per-chunk sums of shifted values and their squares, for many series.
///
/// Invariant: `shifts`, `sum` and `sum_sq` have the same length (the number
/// of series); `count` is the number of draws added since the last
/// [`reset`](Self::reset). Units are those of the series (sum) and their
/// square (sum of squares).
#[derive(Clone, Debug)]
pub struct ChunkMomentsBank {
    shifts: Vec<f64>,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    count: u64,
}

impl ChunkMomentsBank {
    /// A bank for `shifts.len()` series; `shifts[i]` is subtracted from every
    /// value of series `i` (use the series' value at draw 0).
    #[must_use]
    pub fn new(shifts: Vec<f64>) -> Self {
        let n = shifts.len();
        Self {
            shifts,
            sum: vec![0.0; n],
            sum_sq: vec![0.0; n],
            count: 0,
        }
    }

    /// Adds one draw: `values[i]` is the value of series `i`.
    ///
    /// `values.len()` must equal the number of series (checked in debug
    /// builds; extra or missing values are ignored in release builds).
    #[inline]
    pub fn add_draw(&mut self, values: &[f64]) {
        debug_assert_eq!(values.len(), self.shifts.len(), "one value per series");
        add_shifted(&mut self.sum, &mut self.sum_sq, values, &self.shifts);
        self.count += 1;
    }

    /// Adds consecutive draws, in order: `rows` holds whole draws one after the
    /// other (its length is a multiple of the number of series).
    ///
    /// The same sums, bit for bit, as [`add_draw`](Self::add_draw) on each draw
    /// in turn; groups of [`GROUP`] draws are added in one pass, which loads and
    /// stores each series' two sums once per group instead of once per draw.
    #[inline]
    pub fn add_draws(&mut self, rows: &[f64]) {
        let series = self.shifts.len();
        if series == 0 {
            return;
        }
        debug_assert!(rows.len().is_multiple_of(series), "whole draws only");
        let mut groups = rows.chunks_exact(GROUP * series);
        for group in &mut groups {
            add_shifted_group(
                &mut self.sum,
                &mut self.sum_sq,
                draws_of(group),
                &self.shifts,
            );
        }
        for row in groups.remainder().chunks_exact(series) {
            add_shifted(&mut self.sum, &mut self.sum_sq, row, &self.shifts);
        }
        self.count += (rows.len() / series) as u64;
    }

    /// [`Self::add_draws`] for one group of [`GROUP`] draws (`group`, one after the
    /// other), adding only the series in `runs` (ranges `start..end`): the others
    /// must have shift +0.0 and be +0.0 in these draws, so that they would add
    /// +0.0 to their sums, which leaves them as they are. The same bits.
    #[inline]
    pub fn add_group_in_runs(&mut self, group: &[f64], runs: &[(usize, usize)]) {
        let series = self.shifts.len();
        assert_eq!(group.len(), GROUP * series, "one group of draws");
        let rows = draws_of(group);
        for &(start, end) in runs {
            let part = rows.map(|row| &row[start..end]);
            let (sum, sum_sq) = (&mut self.sum[start..end], &mut self.sum_sq[start..end]);
            add_shifted_group(sum, sum_sq, part, &self.shifts[start..end]);
        }
        self.count += GROUP as u64;
    }

    /// Clears the sums for the next chunk, keeping shifts and allocations.
    #[inline]
    pub fn reset(&mut self) {
        self.sum.fill(0.0);
        self.sum_sq.fill(0.0);
        self.count = 0;
    }

    /// Number of series.
    #[must_use]
    pub fn series(&self) -> usize {
        self.shifts.len()
    }

    /// Draws added since the last reset.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Per-series sums of `(x − shift)` over this chunk.
    #[cfg(test)]
    fn sums(&self) -> &[f64] {
        &self.sum
    }

    /// Per-series sums of `(x − shift)²` over this chunk.
    #[cfg(test)]
    fn sums_sq(&self) -> &[f64] {
        &self.sum_sq
    }
}

/// Run-level moments for many series: exact sums of chunk sums.
///
/// Invariant: `shifts`, `s1` and `s2` have one entry per series; `s1[i]` and
/// `s2[i]` are the exact sums of the chunk sums of `(x − shift)` and
/// `(x − shift)²` over `count` draws. Equality and serialization use the
/// canonical form of each [`ExactSum`], so they are order-independent too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRunMoments")]
pub struct RunMoments {
    shifts: Vec<f64>,
    s1: Vec<ExactSum>,
    s2: Vec<ExactSum>,
    count: u64,
}

/// Unvalidated serde mirror of [`RunMoments`].
#[derive(Deserialize)]
struct RawRunMoments {
    shifts: Vec<f64>,
    s1: Vec<ExactSum>,
    s2: Vec<ExactSum>,
    count: u64,
}

impl TryFrom<RawRunMoments> for RunMoments {
    type Error = StatsError;

    fn try_from(r: RawRunMoments) -> Result<Self, StatsError> {
        if r.s1.len() != r.shifts.len() || r.s2.len() != r.shifts.len() {
            return Err(StatsError::Corrupt("moment vectors differ in length"));
        }
        Ok(Self {
            shifts: r.shifts,
            s1: r.s1,
            s2: r.s2,
            count: r.count,
        })
    }
}

impl RunMoments {
    /// Empty moments for `shifts.len()` series with the given shifts.
    #[must_use]
    pub fn new(shifts: Vec<f64>) -> Self {
        let n = shifts.len();
        Self {
            shifts,
            s1: vec![ExactSum::new(); n],
            s2: vec![ExactSum::new(); n],
            count: 0,
        }
    }

    /// A fresh chunk bank with the same shifts.
    #[must_use]
    pub fn chunk_bank(&self) -> ChunkMomentsBank {
        ChunkMomentsBank::new(self.shifts.clone())
    }

    /// Adds a finished chunk's sums (exactly). The bank is not reset.
    ///
    /// # Panics
    /// If the bank tracks a different number of series (a programming
    /// error: banks come from [`RunMoments::chunk_bank`], not from data).
    pub fn absorb_chunk(&mut self, bank: &ChunkMomentsBank) {
        assert_eq!(
            bank.series(),
            self.series(),
            "chunk bank has a different series count"
        );
        debug_assert!(
            bank.shifts
                .iter()
                .zip(&self.shifts)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "chunk bank has different shifts"
        );
        if bank.count == 0 {
            return;
        }
        for (acc, &s) in self.s1.iter_mut().zip(&bank.sum) {
            acc.add(s);
        }
        for (acc, &q) in self.s2.iter_mut().zip(&bank.sum_sq) {
            acc.add(q);
        }
        self.count += bank.count;
    }

    /// Adds another run's moments (exactly; order-independent).
    ///
    /// # Errors
    /// [`StatsError::SeriesCount`] or [`StatsError::ShiftMismatch`] if the
    /// two do not describe the same series; `self` is then unchanged.
    pub fn merge(&mut self, other: &RunMoments) -> Result<(), StatsError> {
        if other.series() != self.series() {
            return Err(StatsError::SeriesCount {
                expected: self.series(),
                found: other.series(),
            });
        }
        if let Some(series) = self
            .shifts
            .iter()
            .zip(&other.shifts)
            .position(|(a, b)| a.to_bits() != b.to_bits())
        {
            return Err(StatsError::ShiftMismatch { series });
        }
        for (a, b) in self.s1.iter_mut().zip(&other.s1) {
            a.merge(b);
        }
        for (a, b) in self.s2.iter_mut().zip(&other.s2) {
            a.merge(b);
        }
        self.count += other.count;
        Ok(())
    }

    /// Number of series.
    #[must_use]
    pub fn series(&self) -> usize {
        self.shifts.len()
    }

    /// Total draws absorbed.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The shift of series `i`.
    ///
    /// # Panics
    /// If `i >= self.series()`.
    #[must_use]
    pub fn shift(&self, i: usize) -> f64 {
        self.shifts[i]
    }

    /// Mean of series `i`: `shift + S1/n`. NaN when no draws were absorbed.
    ///
    /// # Panics
    /// If `i >= self.series()`.
    #[must_use]
    pub fn mean(&self, i: usize) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        self.shifts[i] + self.s1[i].value() / self.count as f64
    }

    /// Sample standard deviation of series `i` (n − 1 denominator).
    ///
    /// `var = (S2 − S1²/n)/(n − 1)`, clamped at 0 against rounding; 0 for
    /// one draw, NaN for none.
    ///
    /// # Panics
    /// If `i >= self.series()`.
    #[must_use]
    pub fn sd(&self, i: usize) -> f64 {
        match self.count {
            0 => f64::NAN,
            1 => 0.0,
            n => {
                let n = n as f64;
                let s1 = self.s1[i].value();
                let s2 = self.s2[i].value();
                ((s2 - s1 * s1 / n) / (n - 1.0)).max(0.0).sqrt()
            }
        }
    }

    /// Monte Carlo standard error of the mean of series `i`: `sd/√n`
    /// (iid draws). NaN when no draws were absorbed.
    ///
    /// # Panics
    /// If `i >= self.series()`.
    #[must_use]
    pub fn mcse(&self, i: usize) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        self.sd(i) / (self.count as f64).sqrt()
    }
}

avx2_dispatch! {
    /// `sum[i] += v − c` and `sum_sq[i] += (v − c)²` with `v = values[i]`, `c =
    /// shifts[i]`, in the AVX2 build where the CPU has it (twice the lanes; no FMA,
    /// so the same bits).
    #[inline]
    fn add_shifted(sum: &mut [f64], sum_sq: &mut [f64], values: &[f64], shifts: &[f64])
        = add_shifted_portable, avx2 add_shifted_avx2;
}

#[inline(always)]
fn add_shifted_portable(sum: &mut [f64], sum_sq: &mut [f64], values: &[f64], shifts: &[f64]) {
    for (((s, q), &v), &c) in sum
        .iter_mut()
        .zip(sum_sq.iter_mut())
        .zip(values)
        .zip(shifts)
    {
        let d = v - c;
        *s += d;
        *q += d * d;
    }
}

/// Draws that [`ChunkMomentsBank::add_draws`] adds in one pass.
///
/// The per-draw pass is bound by its loads and stores (four arrays of one value
/// per series); a group of four keeps each series' sums in registers for four
/// draws. On the default dataset the moments fell from 6.1 % to 2.6 % of a
/// run's `perf` samples, and whole runs took about 5 % less time (geometric means
/// 0.943, 0.949 and 0.950 in three sets of concurrent runs, README Performance).
/// Groups of eight were no faster (0.993) and take twice the buffer.
pub const GROUP: usize = 4;

/// The [`GROUP`] draws of `group` (whole draws one after the other), one slice each.
fn draws_of(group: &[f64]) -> [&[f64]; GROUP] {
    let series = group.len() / GROUP;
    std::array::from_fn(|r| &group[r * series..][..series])
}

avx2_dispatch! {
    /// [`add_shifted`] for [`GROUP`] consecutive draws (`rows`, each as long as
    /// `shifts`), added to each series in draw order, so the bits are those of one
    /// draw at a time.
    #[inline]
    fn add_shifted_group(sum: &mut [f64], sum_sq: &mut [f64], rows: [&[f64]; GROUP], shifts: &[f64])
        = add_shifted_group_portable, avx2 add_shifted_group_avx2;
}

#[inline(always)]
fn add_shifted_group_portable(
    sum: &mut [f64],
    sum_sq: &mut [f64],
    rows: [&[f64]; GROUP],
    shifts: &[f64],
) {
    let n = shifts.len();
    let (sum, sum_sq) = (&mut sum[..n], &mut sum_sq[..n]);
    let [r0, r1, r2, r3] = rows.map(|row| &row[..n]);
    const _: () = assert!(GROUP == 4, "one row slice per draw of a group");
    for i in 0..n {
        let c = shifts[i];
        let (mut s, mut q) = (sum[i], sum_sq[i]);
        for v in [r0[i], r1[i], r2[i], r3[i]] {
            let d = v - c;
            s += d;
            q += d * d;
        }
        sum[i] = s;
        sum_sq[i] = q;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws added in groups give the bits of draws added one at a time, for
    /// every count modulo [`GROUP`], in both builds of the group pass.
    #[test]
    fn grouped_draws_equal_single_draws_bit_for_bit() {
        let series = 1003;
        let shifts: Vec<f64> = (0..series).map(|i| (i % 17) as f64 * 13.1).collect();
        let rows: Vec<f64> = (0..11 * series)
            .map(|i| (i as f64 * 0.77).sin() * 1e3 + (i % 5) as f64 * 1e-7)
            .collect();
        let bits = |bank: &ChunkMomentsBank| {
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (bits(bank.sums()), bits(bank.sums_sq()), bank.count())
        };
        for draws in 0..=11 {
            let rows = &rows[..draws * series];
            let mut single = ChunkMomentsBank::new(shifts.clone());
            for row in rows.chunks_exact(series) {
                single.add_draw(row);
            }
            let mut grouped = ChunkMomentsBank::new(shifts.clone());
            grouped.add_draws(rows);
            assert_eq!(bits(&grouped), bits(&single), "{draws} draws");
            let mut portable = ChunkMomentsBank::new(shifts.clone());
            for group in rows.chunks_exact(GROUP * series) {
                let rows = draws_of(group);
                add_shifted_group_portable(&mut portable.sum, &mut portable.sum_sq, rows, &shifts);
            }
            let whole = draws / GROUP * GROUP;
            let mut expected = ChunkMomentsBank::new(shifts.clone());
            for row in rows[..whole * series].chunks_exact(series) {
                expected.add_draw(row);
            }
            portable.count = expected.count;
            assert_eq!(bits(&portable), bits(&expected), "{draws} draws, portable");
        }
    }

    /// A group added in runs gives the bits of the whole group when the series
    /// left out have shift +0.0 and are +0.0 in its draws, and not otherwise.
    #[test]
    fn a_group_added_in_runs_equals_the_whole_group_where_the_rest_is_zero() {
        let series = 103;
        let runs = [(0, 10), (40, 41), (70, series)];
        let left_out = |i: usize| !runs.iter().any(|&(start, end)| (start..end).contains(&i));
        let shifts: Vec<f64> = (0..series)
            .map(|i| if left_out(i) { 0.0 } else { 1.0 + i as f64 })
            .collect();
        let group: Vec<f64> = (0..GROUP * series)
            .map(|j| {
                if left_out(j % series) {
                    0.0
                } else {
                    (j as f64 * 0.3).sin() * 7.0
                }
            })
            .collect();
        let bits = |bank: &ChunkMomentsBank| {
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (bits(bank.sums()), bits(bank.sums_sq()), bank.count())
        };
        let (mut whole, mut in_runs) = (
            ChunkMomentsBank::new(shifts.clone()),
            ChunkMomentsBank::new(shifts.clone()),
        );
        for _ in 0..3 {
            whole.add_draws(&group);
            in_runs.add_group_in_runs(&group, &runs);
        }
        assert_eq!(bits(&in_runs), bits(&whole));
        assert!(whole.sums().iter().any(|&s| s != 0.0));
        // A value left out that is not +0.0 is lost: the caller must check.
        let mut nonzero = group.clone();
        nonzero[20] = 1.0;
        let mut whole = ChunkMomentsBank::new(shifts.clone());
        let mut in_runs = ChunkMomentsBank::new(shifts);
        whole.add_draws(&nonzero);
        in_runs.add_group_in_runs(&nonzero, &runs);
        assert_ne!(bits(&in_runs), bits(&whole));
    }

    /// The AVX2 build of the shifted sums gives the bits of the portable build.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_sums_equal_portable_sums() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let values: Vec<f64> = (0..1003)
            .map(|i| (f64::from(i) * 0.77).sin() * 1e3)
            .collect();
        let shifts: Vec<f64> = (0..1003).map(|i| f64::from(i % 17) * 13.1).collect();
        let run = |avx2: bool| {
            let (mut sum, mut sum_sq) = (vec![0.1; 1003], vec![2.5; 1003]);
            for _ in 0..3 {
                if avx2 {
                    // SAFETY: AVX2 support was checked at the top of the test.
                    unsafe { add_shifted_avx2(&mut sum, &mut sum_sq, &values, &shifts) };
                } else {
                    add_shifted_portable(&mut sum, &mut sum_sq, &values, &shifts);
                }
            }
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (bits(&sum), bits(&sum_sq))
        };
        assert_eq!(run(true), run(false));
    }
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};

    const CHUNK: usize = 1024;

    fn uniform(rng: &mut ChaCha8Rng) -> f64 {
        ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let (u1, u2) = (uniform(rng), uniform(rng));
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `draws[d][s]`: three series of different shapes.
    fn make_draws(n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let z = normal(&mut rng);
                vec![
                    1000.0 + 0.01 * z,
                    (1.5 * normal(&mut rng)).exp(),
                    -3.0 + z * 1e6,
                ]
            })
            .collect()
    }

    fn two_pass(draws: &[Vec<f64>], s: usize) -> (f64, f64) {
        let n = draws.len() as f64;
        let mean = draws.iter().map(|d| d[s]).collect::<ExactSum>().value() / n;
        let ss = draws
            .iter()
            .map(|d| (d[s] - mean) * (d[s] - mean))
            .collect::<ExactSum>()
            .value();
        (mean, (ss / (n - 1.0)).sqrt())
    }

    /// Chunk `k` always holds draws `k*CHUNK .. (k+1)*CHUNK`.
    fn chunk_moments(draws: &[Vec<f64>], order: &[usize]) -> RunMoments {
        let mut run = RunMoments::new(draws[0].clone());
        let mut bank = run.chunk_bank();
        for &k in order {
            bank.reset();
            for d in draws.chunks(CHUNK).nth(k).unwrap_or(&[]) {
                bank.add_draw(d);
            }
            run.absorb_chunk(&bank);
        }
        run
    }

    #[test]
    fn matches_two_pass() {
        let draws = make_draws(50_000, 7);
        let chunks = draws.len().div_ceil(CHUNK);
        let run = chunk_moments(&draws, &(0..chunks).collect::<Vec<_>>());
        assert_eq!(run.count(), 50_000);
        for s in 0..3 {
            let (m, sd) = two_pass(&draws, s);
            let scale = sd.max(m.abs());
            assert!(
                (run.mean(s) - m).abs() <= 1e-13 * scale,
                "mean {s}: {} vs {m}",
                run.mean(s)
            );
            assert!(
                (run.sd(s) - sd).abs() <= 1e-9 * sd,
                "sd {s}: {} vs {sd}",
                run.sd(s)
            );
            assert_eq!(run.mcse(s), run.sd(s) / (50_000f64).sqrt());
        }
    }

    #[test]
    fn chunk_order_and_worker_split_are_bit_identical() {
        let draws = make_draws(20 * CHUNK + 100, 11);
        let chunks = draws.len().div_ceil(CHUNK);
        let forward: Vec<usize> = (0..chunks).collect();
        let reference = chunk_moments(&draws, &forward);

        let mut reversed = forward.clone();
        reversed.reverse();
        // 5 is coprime to the 21 chunks, so this is a permutation.
        let strided: Vec<usize> = (0..chunks).map(|i| (i * 5 + 3) % chunks).collect();
        for order in [reversed, strided] {
            // Three "workers" take interleaved chunks; merge in two orders.
            let parts: Vec<RunMoments> = (0..3)
                .map(|w| {
                    let mine: Vec<usize> = order.iter().copied().skip(w).step_by(3).collect();
                    chunk_moments(&draws, &mine)
                })
                .collect();
            let mut a = parts[0].clone();
            a.merge(&parts[1]).expect("same series");
            a.merge(&parts[2]).expect("same series");
            let mut b = parts[2].clone();
            b.merge(&parts[0]).expect("same series");
            b.merge(&parts[1]).expect("same series");
            for run in [&a, &b] {
                assert_eq!(run.count(), reference.count());
                for s in 0..3 {
                    assert_eq!(run.mean(s).to_bits(), reference.mean(s).to_bits());
                    assert_eq!(run.sd(s).to_bits(), reference.sd(s).to_bits());
                }
                assert_eq!(run, &reference);
                assert_eq!(
                    serde_json::to_string(run).expect("ser"),
                    serde_json::to_string(&reference).expect("ser")
                );
            }
        }
    }

    #[test]
    fn edge_counts() {
        let empty = RunMoments::new(vec![5.0]);
        assert!(empty.mean(0).is_nan() && empty.sd(0).is_nan() && empty.mcse(0).is_nan());
        let mut one = RunMoments::new(vec![5.0]);
        let mut bank = one.chunk_bank();
        bank.add_draw(&[5.0]);
        one.absorb_chunk(&bank);
        assert_eq!((one.mean(0), one.sd(0), one.mcse(0)), (5.0, 0.0, 0.0));
        // A constant series has sd exactly 0 (clamp protects against -0).
        bank.reset();
        for _ in 0..10 {
            bank.add_draw(&[5.0]);
        }
        one.absorb_chunk(&bank);
        assert_eq!((one.mean(0), one.sd(0)), (5.0, 0.0));
    }

    #[test]
    fn merge_rejects_mismatch() {
        let mut a = RunMoments::new(vec![1.0, 2.0]);
        let b = RunMoments::new(vec![1.0]);
        let c = RunMoments::new(vec![1.0, 3.0]);
        assert_eq!(
            a.merge(&b),
            Err(StatsError::SeriesCount {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(a.merge(&c), Err(StatsError::ShiftMismatch { series: 1 }));
        let bad = r#"{"shifts":[1.0],"s1":[],"s2":[[]],"count":0}"#;
        assert!(serde_json::from_str::<RunMoments>(bad).is_err());
    }
}
