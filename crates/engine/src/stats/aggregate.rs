//! The accumulator of a run: exact moments, a quantile sketch and exceedance counts
//! for every output series.

use super::block::{SeriesHandling, SeriesMapping, SketchBlock};
use super::error::StatsError;
use super::moments::GROUP;
use super::moments::{ChunkMomentsBank, RunMoments};
use super::resolution::{PilotMoments, Resolution};
use super::sketch::QuantileSketch;
use super::summary::Summary;
use rayon::prelude::*;
use serde::{Deserialize, Serialize, Serializer};

/// Draws coded before their values are counted into the sketches (see
/// [`SketchBlock`]). Each count touches a random bucket of its series' store, so the
/// more draws per pass, the fewer times each store is fetched from memory; the
/// block's codes take `BLOCK × series × 2` bytes (32 MB for the default's 7,670
/// series). 1,024 was slower; 2,048, 4,096 and 8,192 ran equally fast on the
/// default with 2 threads, so the smallest of them keeps memory down.
const BLOCK: usize = 2048;

/// Sketches merged per rayon task (a few hundred microseconds of work).
const MERGE_GRAIN: usize = 256;

/// A guess, from a few draws, of how the series behave (for
/// [`Accumulator::guided`]): which take only the values −1, 0 and 1 in every draw
/// seen, which are +0.0 in every draw seen, and which equal an earlier series bit
/// for bit in every draw seen.
///
/// Equal series are found by a 64-bit fingerprint of their values; a false match
/// (or a series that differs later) only costs speed, because the accumulator
/// checks every copy against its leader in every draw.
///
/// It also holds each series' location and spread over the draws seen, from which
/// its sketch's resolution is chosen (see [`PilotMoments`]): unlike the rest of
/// the guess that changes the result, so the draws observed must be a run
/// constant (the first draws of chunk 0).
#[derive(Clone, Debug)]
pub struct SeriesGuess {
    ternary: Vec<bool>,
    /// +0.0 (all bits 0) in every draw seen.
    zero: Vec<bool>,
    fingerprints: Vec<u64>,
    pilot: Vec<PilotMoments>,
}

impl SeriesGuess {
    /// No draw seen yet: every one of `series` series is a candidate for both.
    pub fn new(series: usize) -> SeriesGuess {
        SeriesGuess {
            ternary: vec![true; series],
            zero: vec![true; series],
            fingerprints: vec![0; series],
            pilot: vec![PilotMoments::default(); series],
        }
    }

    /// Rules out the series whose value in `draw` is not −1, 0 or 1, and folds
    /// the draw's values into the series' fingerprints.
    pub fn observe(&mut self, draw: &[f64]) {
        assert_eq!(draw.len(), self.ternary.len(), "one value per series");
        for ((((flag, zero), print), pilot), &x) in self
            .ternary
            .iter_mut()
            .zip(&mut self.zero)
            .zip(&mut self.fingerprints)
            .zip(&mut self.pilot)
            .zip(draw)
        {
            pilot.observe(x);
            *flag &= super::block::is_ternary(x);
            *zero &= x.to_bits() == 0;
            *print = (print.rotate_left(23) ^ x.to_bits()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    /// One flag per series: ternary in every draw seen.
    pub fn ternary(&self) -> &[bool] {
        &self.ternary
    }

    /// Each series' sketch resolution, from its location, spread and extremes
    /// in the draws seen (see [`PilotMoments::resolution`]).
    pub fn resolutions(&self) -> Vec<Resolution> {
        self.pilot.iter().map(PilotMoments::resolution).collect()
    }

    /// For each series that is not ternary, the first earlier series with the
    /// same fingerprint, if any.
    pub fn copy_of(&self) -> Vec<Option<u32>> {
        let mut first = std::collections::HashMap::new();
        (0..self.ternary.len())
            .map(|i| {
                if self.ternary[i] {
                    return None;
                }
                let leader = *first.entry(self.fingerprints[i]).or_insert(i as u32);
                (leader as usize != i).then_some(leader)
            })
            .collect()
    }

    /// The handling for series with moment shifts `shifts`: a series that was +0.0
    /// in every draw seen, as its shift is, is quiet.
    fn handling(&self, shifts: &[f64]) -> SeriesHandling {
        let quiet = (self.zero.iter().zip(shifts))
            .map(|(&zero, shift)| zero && shift.to_bits() == 0)
            .collect();
        SeriesHandling {
            ternary: self.ternary.clone(),
            copy_of: self.copy_of(),
            quiet,
        }
    }
}

/// Everything the aggregator keeps for a set of series; memory does not grow with
/// the number of draws.
///
/// Use: [`Accumulator::add_draw`] for each draw of a chunk, in draw order (or
/// [`Accumulator::add_draws`] for several consecutive draws at once), then
/// [`Accumulator::end_chunk`]; after the last chunk, [`Accumulator::flush`] (the
/// sketches lag behind by up to a block of draws until then). Accumulators of
/// disjoint chunk sets combine with [`Accumulator::merge`] in any order with a
/// bit-identical result.
///
/// Serialization (for checkpoints) writes the canonical form of the moments, the
/// sketches, the thresholds and the exceedance counts; it fails while a chunk is open
/// (between `add_draw` and `end_chunk`). Equal contents give equal bytes.
#[derive(Clone, Debug)]
pub struct Accumulator {
    bank: ChunkMomentsBank,
    moments: RunMoments,
    sketches: Vec<QuantileSketch>,
    thresholds: Vec<(usize, f64)>,
    at_or_above: Vec<u64>,
    /// Draws coded but not yet counted into `sketches`.
    block: SketchBlock,
}

impl Accumulator {
    /// An empty accumulator; `shifts` holds one value per series (its value at draw
    /// 0), `thresholds` the `(series, value)` pairs whose exceedance is counted.
    ///
    /// Every sketch has [`DEFAULT_RELATIVE_ACCURACY`]; a run chooses each
    /// series' resolution from its pilot instead (see [`Self::guided`]).
    pub fn new(shifts: Vec<f64>, thresholds: Vec<(usize, f64)>) -> Accumulator {
        let handling = SeriesHandling::coded(shifts.len());
        let resolutions = vec![Resolution::DEFAULT; shifts.len()];
        Self::with_handling(shifts, thresholds, &handling, &resolutions)
    }

    /// [`Self::new`] with sketch resolution `resolutions[i]` for series `i` (as
    /// [`SeriesGuess::resolutions`] gives them), every series coded.
    ///
    /// # Panics
    /// If `resolutions` does not hold one per series, each α a step of the
    /// resolution ladder.
    pub fn with_resolutions(
        shifts: Vec<f64>,
        thresholds: Vec<(usize, f64)>,
        resolutions: &[Resolution],
    ) -> Accumulator {
        let handling = SeriesHandling::coded(shifts.len());
        Self::with_handling(shifts, thresholds, &handling, resolutions)
    }

    /// [`Self::new`] for series that behave as `guess` says: the ternary ones
    /// are counted by value (see [`Self::with_ternary_series`]), and a series equal
    /// to an earlier one is counted from that one's bucket codes, after checking
    /// in every draw that the two are still equal (a copy that differs counts its
    /// own values from that draw on, and is coded on its own from the next block
    /// of draws on). Ternary series that were +0.0 in every draw seen and whose
    /// shift is +0.0, in runs of at least 16, are quiet: left out of the sums in
    /// draws where all of them are still +0.0 (see `SeriesHandling::quiet`). That
    /// part of the guess changes the speed, never the result. Each series' sketch
    /// takes the resolution its pilot calls for ([`SeriesGuess::resolutions`]),
    /// which is part of the result: `guess` must have seen the run's pilot draws.
    pub fn guided(
        shifts: Vec<f64>,
        thresholds: Vec<(usize, f64)>,
        guess: &SeriesGuess,
    ) -> Accumulator {
        assert_eq!(
            guess.ternary.len(),
            shifts.len(),
            "a guess for these series"
        );
        let handling = guess.handling(&shifts);
        Self::with_handling(shifts, thresholds, &handling, &guess.resolutions())
    }

    /// [`Self::new`] for series of which those flagged in `ternary` are expected
    /// to take only the values −1, 0 and 1 (indicators, deltas that stay 0). They
    /// are counted by value instead of being mapped to buckets one by one; the
    /// flags change the speed, never the result (see `SketchBlock`).
    pub fn with_ternary_series(
        shifts: Vec<f64>,
        thresholds: Vec<(usize, f64)>,
        ternary: &[bool],
    ) -> Accumulator {
        let handling = SeriesHandling {
            ternary: ternary.to_vec(),
            copy_of: vec![None; ternary.len()],
            quiet: vec![false; ternary.len()],
        };
        let resolutions = vec![Resolution::DEFAULT; shifts.len()];
        Self::with_handling(shifts, thresholds, &handling, &resolutions)
    }

    /// `resolutions`: each series' sketch accuracy, a step of the resolution
    /// ladder (see [`PilotMoments::relative_accuracy`]).
    fn with_handling(
        shifts: Vec<f64>,
        thresholds: Vec<(usize, f64)>,
        handling: &SeriesHandling,
        resolutions: &[Resolution],
    ) -> Accumulator {
        assert_eq!(resolutions.len(), shifts.len(), "one resolution per series");
        let sketches: Vec<QuantileSketch> = resolutions.iter().map(Resolution::sketch).collect();
        let block = SketchBlock::new(&shifts, &mappings(&sketches), BLOCK, handling);
        let moments = RunMoments::new(shifts);
        Accumulator {
            bank: moments.chunk_bank(),
            sketches,
            block,
            moments,
            at_or_above: vec![0; thresholds.len()],
            thresholds,
        }
    }

    /// Adds one draw (one value per series) to the current chunk.
    #[inline]
    pub fn add_draw(&mut self, values: &[f64]) {
        self.bank.add_draw(values);
        if self.block.push(values) {
            self.block.flush(&mut self.sketches);
        }
        self.count_exceedances(values);
    }

    /// Adds consecutive draws of the current chunk, in order: `rows` holds whole
    /// draws one after the other. The same state as [`Self::add_draw`] on each,
    /// with the moments of a few draws added in one pass
    /// (`ChunkMomentsBank::add_draws`).
    #[inline]
    pub fn add_draws(&mut self, rows: &[f64]) {
        let series = self.series().max(1);
        let mut groups = rows.chunks_exact(GROUP * series);
        for group in &mut groups {
            let mut quiet = [false; GROUP];
            for (q, values) in quiet.iter_mut().zip(group.chunks_exact(series)) {
                *q = self.block.quiet_holds(values);
            }
            // The quiet series' moments would only add +0.0 to +0.0 shifts.
            if quiet.iter().all(|&q| q) && self.block.quiet_series() > 0 {
                self.bank.add_group_in_runs(group, self.block.loud_runs());
            } else {
                self.bank.add_draws(group);
            }
            for (values, &q) in group.chunks_exact(series).zip(&quiet) {
                if self.block.push_checked(values, q) {
                    self.block.flush(&mut self.sketches);
                }
            }
        }
        let rest = groups.remainder();
        self.bank.add_draws(rest);
        for values in rest.chunks_exact(series) {
            if self.block.push(values) {
                self.block.flush(&mut self.sketches);
            }
        }
        for values in rows.chunks_exact(series) {
            self.count_exceedances(values);
        }
    }

    /// How many series are counted by value and left out of the sums in draws
    /// where all of them are +0.0 (see [`Self::guided`]).
    pub fn quiet_series(&self) -> usize {
        self.block.quiet_series()
    }

    /// Counts the draw's values at or above their thresholds.
    #[inline]
    fn count_exceedances(&mut self, values: &[f64]) {
        for (count, &(series, threshold)) in self.at_or_above.iter_mut().zip(&self.thresholds) {
            *count += (values[series] >= threshold) as u64;
        }
    }

    /// Closes the current chunk: its sums go into the exact run totals. Its values
    /// may still wait in the block; see [`Self::flush`].
    pub fn end_chunk(&mut self) {
        self.moments.absorb_chunk(&self.bank);
        self.bank.reset();
    }

    /// Counts the draws waiting in the block into the sketches. Required before the
    /// sketches are read, before merging and before serializing.
    pub fn flush(&mut self) {
        self.block.flush(&mut self.sketches);
    }

    /// Panics unless every value added is counted in the sketches: reading a
    /// sketch that lags behind would silently drop draws.
    fn assert_flushed(&self) {
        assert!(
            self.block.buffered() == 0,
            "Accumulator::flush must be called before its sketches are read"
        );
    }

    /// Adds another accumulator of the same series (exact, order-independent).
    pub fn merge(&mut self, other: &Accumulator) {
        assert!(
            self.bank.count() == 0 && other.bank.count() == 0,
            "merge only after end_chunk"
        );
        self.flush();
        other.assert_flushed();
        self.moments
            .merge(&other.moments)
            .expect("accumulators of one run share series and shifts");
        // Series by series, on the current rayon pool: merging is exact and
        // independent per series (on 2 threads it halves the wait at the end of a
        // segment).
        self.sketches
            .par_iter_mut()
            .zip(other.sketches.par_iter())
            .with_min_len(MERGE_GRAIN)
            .for_each(|(a, b)| {
                a.merge(b)
                    .expect("sketches of one run share their parameters");
            });
        for (a, b) in self.at_or_above.iter_mut().zip(&other.at_or_above) {
            *a += b;
        }
    }

    /// Empties the accumulator (same series, shifts and thresholds), keeping its
    /// buffers allocated, so that a worker can reuse it for the next segment
    /// instead of growing a fresh one (which fragments the heap a little more
    /// at every checkpoint).
    pub fn clear(&mut self) {
        assert!(
            self.bank.count() == 0 && self.block.buffered() == 0,
            "clear only after end_chunk and flush"
        );
        let shifts = (0..self.series()).map(|i| self.moments.shift(i)).collect();
        self.moments = RunMoments::new(shifts);
        self.sketches.iter_mut().for_each(QuantileSketch::clear);
        self.at_or_above.fill(0);
    }

    /// Counts from now on with the handling of `other` (an accumulator of the same
    /// series: its ternary series and copies) if this one counts every series
    /// through its own codes, as when a checkpoint's accumulator continues a run.
    /// One that does not keeps its own (possibly refined) guess and its allocated
    /// block. Changes the speed only.
    pub fn count_like(&mut self, other: &Accumulator) {
        assert!(
            self.block.buffered() == 0 && self.series() == other.series(),
            "count_like needs a flushed accumulator of the same series"
        );
        let plain = |a: &Accumulator| a.ternary_series() == 0 && a.copied_series() == 0;
        if plain(self) && !plain(other) {
            let shifts: Vec<f64> = (0..self.series()).map(|i| self.moments.shift(i)).collect();
            // Quiet series are left out of the moment sums: only with shift +0.0.
            let mut handling = other.block.handling();
            for (quiet, shift) in handling.quiet.iter_mut().zip(&shifts) {
                *quiet &= shift.to_bits() == 0;
            }
            self.block = SketchBlock::new(&shifts, &mappings(&self.sketches), BLOCK, &handling);
        }
    }

    /// How many series are counted from another series' codes (see
    /// [`Self::guided`]).
    pub fn copied_series(&self) -> usize {
        self.block.copied_series()
    }

    /// How many series are counted by value (see [`Self::with_ternary_series`]).
    pub fn ternary_series(&self) -> usize {
        self.block.ternary_series()
    }

    /// Draws aggregated.
    pub fn draws(&self) -> u64 {
        self.moments.count()
    }

    /// Number of series.
    pub fn series(&self) -> usize {
        self.sketches.len()
    }

    /// The summary of series `i` with central intervals at `levels`.
    pub fn summary(&self, i: usize, levels: &[f64]) -> Summary {
        self.assert_flushed();
        Summary::from_parts(
            self.draws(),
            self.moments.mean(i),
            self.moments.sd(i),
            self.moments.mcse(i),
            &self.sketches[i],
            levels,
        )
    }

    /// Share of draws in which threshold `k` was reached (value ≥ threshold).
    pub fn share_at_or_above(&self, k: usize) -> f64 {
        self.at_or_above[k] as f64 / self.draws() as f64
    }

    /// Whether any sketch had to collapse buckets (accuracy then holds only above
    /// the collapsed range).
    pub fn any_sketch_collapsed(&self) -> bool {
        self.assert_flushed();
        self.sketches.iter().any(QuantileSketch::collapsed)
    }

    /// The sketch of series `i`.
    pub fn sketch(&self, i: usize) -> &QuantileSketch {
        self.assert_flushed();
        &self.sketches[i]
    }

    /// Mean, sd and Monte Carlo standard error of the mean of series `i`.
    pub fn moments(&self, i: usize) -> (f64, f64, f64) {
        (
            self.moments.mean(i),
            self.moments.sd(i),
            self.moments.mcse(i),
        )
    }

    /// True when `other` aggregates the same series (count and shifts, bit for bit)
    /// and counts the same thresholds, so that the two can be merged.
    pub fn is_compatible(&self, other: &Accumulator) -> bool {
        let bits = |t: &[(usize, f64)]| -> Vec<(usize, u64)> {
            t.iter().map(|&(s, v)| (s, v.to_bits())).collect()
        };
        let same_resolution = |a: &QuantileSketch, b: &QuantileSketch| {
            a.relative_accuracy().to_bits() == b.relative_accuracy().to_bits()
                && a.counts_extremes() == b.counts_extremes()
        };
        self.series() == other.series()
            && (0..self.series())
                .all(|i| self.moments.shift(i).to_bits() == other.moments.shift(i).to_bits())
            && (self.sketches.iter().zip(&other.sketches)).all(|(a, b)| same_resolution(a, b))
            && bits(&self.thresholds) == bits(&other.thresholds)
    }

    /// Each series' sketch resolution.
    pub fn resolutions(&self) -> Vec<Resolution> {
        self.sketches
            .iter()
            .map(|s| Resolution {
                alpha: s.relative_accuracy(),
                counts_extremes: s.counts_extremes(),
            })
            .collect()
    }
}

/// How each sketch maps values, for coding them in a block.
fn mappings(sketches: &[QuantileSketch]) -> Vec<SeriesMapping> {
    sketches
        .iter()
        .map(|s| SeriesMapping {
            multiplier: s.multiplier(),
            counts_extremes: s.counts_extremes(),
        })
        .collect()
}

/// Borrowed serde form of an [`Accumulator`].
#[derive(Serialize)]
struct AccumulatorRef<'a> {
    moments: &'a RunMoments,
    sketches: &'a [QuantileSketch],
    thresholds: &'a [(usize, f64)],
    at_or_above: &'a [u64],
}

/// Owned, unvalidated serde form of an [`Accumulator`].
#[derive(Deserialize)]
struct RawAccumulator {
    moments: RunMoments,
    sketches: Vec<QuantileSketch>,
    thresholds: Vec<(usize, f64)>,
    at_or_above: Vec<u64>,
}

impl Serialize for Accumulator {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.block.buffered() != 0 || self.bank.count() != 0 {
            return Err(serde::ser::Error::custom(
                "accumulator has an open chunk or unflushed draws; serialize only after end_chunk and flush",
            ));
        }
        AccumulatorRef {
            moments: &self.moments,
            sketches: &self.sketches,
            thresholds: &self.thresholds,
            at_or_above: &self.at_or_above,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Accumulator {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawAccumulator::deserialize(deserializer)?;
        let series = raw.moments.series();
        let corrupt = |what| serde::de::Error::custom(StatsError::Corrupt(what));
        if raw.sketches.len() != series {
            return Err(corrupt("sketch count differs from series count"));
        }
        if raw.at_or_above.len() != raw.thresholds.len()
            || raw.thresholds.iter().any(|&(s, _)| s >= series)
        {
            return Err(corrupt("exceedance counts inconsistent with thresholds"));
        }
        let count = raw.moments.count();
        if raw.sketches.iter().any(|s| s.count() != count)
            || raw.at_or_above.iter().any(|&c| c > count)
        {
            return Err(corrupt(
                "sketch or exceedance counts differ from the draw count",
            ));
        }
        if raw
            .sketches
            .iter()
            .any(|s| !Resolution::is_ladder_step(s.relative_accuracy()))
        {
            return Err(corrupt("sketch accuracy is not one this version chooses"));
        }
        let shifts: Vec<f64> = (0..series).map(|i| raw.moments.shift(i)).collect();
        let mut acc = Accumulator::new(Vec::new(), Vec::new());
        acc.bank = raw.moments.chunk_bank();
        acc.block = SketchBlock::new(
            &shifts,
            &mappings(&raw.sketches),
            BLOCK,
            &SeriesHandling::coded(series),
        );
        acc.moments = raw.moments;
        acc.sketches = raw.sketches;
        acc.thresholds = raw.thresholds;
        acc.at_or_above = raw.at_or_above;
        Ok(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(draws: std::ops::Range<u64>) -> Accumulator {
        let mut acc = Accumulator::new(vec![1.0, -2.0, 0.5], vec![(1, -1.5)]);
        for d in draws {
            let x = d as f64;
            acc.add_draw(&[1.0 + x.sin(), -2.0 + 0.1 * x.cos(), x * 1e-3]);
        }
        acc.end_chunk();
        acc.flush();
        acc
    }

    /// Adds `rows` (whole draws of `series` values) in groups of 1 to 7 draws,
    /// cycling, the first of `start % 7 + 1`.
    fn add_in_cycling_groups(acc: &mut Accumulator, rows: &[f64], series: usize, start: usize) {
        let (mut rest, mut take) = (rows, start);
        while !rest.is_empty() {
            let n = (take % 7 + 1).min(rest.len() / series);
            let (now, later) = rest.split_at(series * n);
            acc.add_draws(now);
            (rest, take) = (later, take + 1);
        }
    }

    /// Draws added a few at a time (grouped moments, any remainder) leave the
    /// same bytes as draws added one by one, across chunks and block flushes.
    #[test]
    fn draws_added_in_groups_equal_draws_added_one_by_one() {
        let row = |d: u64| {
            let x = d as f64;
            [1.0 + x.sin(), -2.0 + 0.1 * x.cos(), x * 1e-3]
        };
        let new = || Accumulator::new(vec![1.0, -2.0, 0.5], vec![(1, -1.5)]);
        let (mut one_by_one, mut grouped) = (new(), new());
        let mut d = 0;
        // Chunks of lengths that leave every remainder modulo the group size;
        // 5,000 draws pass two block flushes.
        for (chunk, len) in [4097u64, 1, 2, 3, 6, 891].into_iter().enumerate() {
            let rows: Vec<f64> = (d..d + len).flat_map(row).collect();
            for values in rows.chunks_exact(3) {
                one_by_one.add_draw(values);
            }
            add_in_cycling_groups(&mut grouped, &rows, 3, chunk);
            one_by_one.end_chunk();
            grouped.end_chunk();
            d += len;
        }
        one_by_one.flush();
        grouped.flush();
        assert_eq!(grouped.draws(), 5000);
        assert_eq!(
            serde_json::to_string(&grouped).unwrap(),
            serde_json::to_string(&one_by_one).unwrap()
        );
    }

    #[test]
    fn serde_roundtrip_is_exact_and_canonical() {
        let acc = filled(0..3000);
        let json = serde_json::to_string(&acc).unwrap();
        let back: Accumulator = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert!(acc.is_compatible(&back));
        assert_eq!(back.summary(0, &[0.9]), acc.summary(0, &[0.9]));
        assert_eq!(back.share_at_or_above(0), acc.share_at_or_above(0));
        // A loaded accumulator keeps aggregating like the original.
        let mut a = acc.clone();
        let mut b = back;
        let more = filled(3000..4000);
        a.merge(&more);
        b.merge(&more);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }

    /// The guess finds the ternary series and the copies of earlier series, and an
    /// accumulator guided by it aggregates the bits of a plain one, also when a
    /// guessed copy turns out to differ.
    #[test]
    fn a_guided_accumulator_aggregates_like_a_plain_one() {
        let row = |d: u64| {
            let x = d as f64;
            let a = 1.0 + x.sin();
            // 1 and 3 copy 0 in the first draws; 3 differs from draw 700 on.
            let late = if d < 700 { a } else { a + 1.0 };
            [a, a, f64::from(d.is_multiple_of(2)), late, 0.5 * x]
        };
        let mut guess = SeriesGuess::new(5);
        (0..256).for_each(|d| guess.observe(&row(d)));
        assert_eq!(guess.ternary(), &[false, false, true, false, false]);
        assert_eq!(guess.copy_of(), vec![None, Some(0), None, Some(0), None]);
        let shifts = row(0).to_vec();
        let mut guided = Accumulator::guided(shifts.clone(), vec![(3, 1.5)], &guess);
        let mut plain = Accumulator::with_resolutions(shifts, vec![(3, 1.5)], &guess.resolutions());
        assert_eq!((guided.ternary_series(), guided.copied_series()), (1, 2));
        for d in 0..5000 {
            guided.add_draw(&row(d));
            plain.add_draw(&row(d));
        }
        guided.end_chunk();
        plain.end_chunk();
        guided.flush();
        plain.flush();
        assert_eq!(guided.copied_series(), 1, "series 3 is coded on its own");
        let json = |a: &Accumulator| serde_json::to_string(a).unwrap();
        assert_eq!(json(&guided), json(&plain));
        // A loaded accumulator adopts the handling of the running one.
        let mut loaded: Accumulator = serde_json::from_str(&json(&plain)).unwrap();
        loaded.count_like(&guided);
        assert_eq!((loaded.ternary_series(), loaded.copied_series()), (1, 1));
    }

    /// A cleared accumulator is empty and, refilled, gives the bits of a fresh
    /// one: reusing workers' accumulators across segments changes nothing.
    #[test]
    fn a_cleared_accumulator_refills_like_a_fresh_one() {
        let mut reused = filled(0..5000);
        // Values far from the first fill, so that the kept windows do not fit.
        let mut acc_far = Accumulator::new(vec![1.0, -2.0, 0.5], vec![(1, -1.5)]);
        for d in 0..3000 {
            acc_far.add_draw(&[1e9 + d as f64, -(d as f64), 1e-9 * d as f64]);
        }
        acc_far.end_chunk();
        acc_far.flush();
        reused.merge(&acc_far);
        reused.clear();
        assert_eq!(reused.draws(), 0);
        assert_eq!(reused.sketch(0).count(), 0);
        let empty = Accumulator::new(vec![1.0, -2.0, 0.5], vec![(1, -1.5)]);
        let json = |a: &Accumulator| serde_json::to_string(a).unwrap();
        assert_eq!(json(&reused), json(&empty));
        for d in 300..2300 {
            let x = d as f64;
            reused.add_draw(&[1.0 + x.sin(), -2.0 + 0.1 * x.cos(), x * 1e-3]);
        }
        reused.end_chunk();
        reused.flush();
        assert_eq!(json(&reused), json(&filled(300..2300)));
    }

    /// Series that are +0.0 in every draw of the guess are left out of the sums in
    /// groups of draws where they all still are: the bits of a plain accumulator,
    /// also when one of them later takes 1, −1, 0.5 or −0.0, when one's shift is
    /// not 0 (it must then be summed), across chunks, groups of any size and
    /// block flushes; a short run of them is summed with the others.
    #[test]
    fn quiet_series_are_left_out_only_while_they_are_zero() {
        let series = 40;
        let row = |d: u64| {
            let x = d as f64;
            let mut r = vec![0.0; series];
            r[0] = 1.0 + x.sin();
            r[1] = -2.0 + 0.1 * x.cos();
            r[2] = f64::from(d.is_multiple_of(3));
            // 3..27 are +0.0 in the first 256 draws, and so are the short runs
            // 28..34 and 35..40.
            r[27] = 2.0 + x * 1e-3;
            r[34] = 0.5 * x;
            match d {
                1000 => r[4] = 1.0,
                2000 => r[10] = -1.0,
                2500 => r[30] = 1.0,
                3000 => r[15] = 0.5,
                3500 => r[20] = -0.0,
                _ => {}
            }
            if d > 4000 && d.is_multiple_of(5) {
                r[21] = 1.0;
            }
            r
        };
        let mut guess = SeriesGuess::new(series);
        (0..256).for_each(|d| guess.observe(&row(d)));
        let mut shifts = row(0);
        // Series 6 had 0 in every draw of the guess but is summed from 1.0.
        shifts[6] = 1.0;
        let mut guided = Accumulator::guided(shifts.clone(), vec![(0, 1.5)], &guess);
        let mut plain = Accumulator::with_resolutions(shifts, vec![(0, 1.5)], &guess.resolutions());
        // 7..27 is quiet; 3..6 (cut short by series 6) and the others are too short.
        assert_eq!(guided.quiet_series(), 20);
        let mut d = 0;
        for (chunk, len) in [4097u64, 3, 1, 2100].into_iter().enumerate() {
            let rows: Vec<f64> = (d..d + len).flat_map(row).collect();
            for values in rows.chunks_exact(series) {
                plain.add_draw(values);
            }
            add_in_cycling_groups(&mut guided, &rows, series, chunk);
            guided.end_chunk();
            plain.end_chunk();
            d += len;
        }
        guided.flush();
        plain.flush();
        let json = |a: &Accumulator| serde_json::to_string(a).unwrap();
        assert_eq!(json(&guided), json(&plain));
    }

    /// An accumulator that takes another's handling keeps as quiet only the series
    /// whose own shift is +0.0.
    #[test]
    fn count_like_keeps_quiet_only_where_the_shift_is_zero() {
        let series = 40;
        let mut guess = SeriesGuess::new(series);
        guess.observe(&vec![0.0; series]);
        let running = Accumulator::guided(vec![0.0; series], Vec::new(), &guess);
        assert_eq!(running.quiet_series(), series);
        let mut shifts = vec![0.0; series];
        shifts[20] = 1.0;
        let mut loaded = Accumulator::new(shifts, Vec::new());
        loaded.count_like(&running);
        // 0..20 and 21..40 stay quiet runs; series 20 does not.
        assert_eq!(loaded.quiet_series(), series - 1);
    }

    /// A loaded accumulator (which counts nothing by value) takes the run's
    /// ternary guess; one with its own guess keeps it.
    #[test]
    fn count_like_adopts_a_guess_only_where_there_is_none() {
        let shifts = vec![1.0, 0.0, 2.5];
        let guessed =
            Accumulator::with_ternary_series(shifts.clone(), Vec::new(), &[false, true, false]);
        let json = serde_json::to_string(&filled(0..10)).unwrap();
        let mut loaded: Accumulator = serde_json::from_str(&json).unwrap();
        assert_eq!(loaded.ternary_series(), 0);
        loaded.count_like(&guessed);
        assert_eq!(loaded.ternary_series(), 1);
        let mut own = Accumulator::with_ternary_series(shifts, Vec::new(), &[true, true, false]);
        own.count_like(&guessed);
        assert_eq!(own.ternary_series(), 2);
    }

    #[test]
    fn serialize_refuses_an_open_chunk_and_deserialize_checks_consistency() {
        let mut acc = filled(0..10);
        acc.add_draw(&[1.0, 2.0, 3.0]);
        assert!(serde_json::to_string(&acc).is_err());
        let json = serde_json::to_string(&filled(0..10)).unwrap();
        let bad = json.replacen("\"at_or_above\":[", "\"at_or_above\":[99,", 1);
        assert!(serde_json::from_str::<Accumulator>(&bad).is_err());
        // Closed chunks whose values still wait in the block are not serialized
        // (nor read) until flushed.
        let mut acc = Accumulator::new(vec![1.0, -2.0, 0.5], vec![(1, -1.5)]);
        acc.add_draw(&[1.0, 2.0, 3.0]);
        acc.end_chunk();
        assert!(serde_json::to_string(&acc).is_err());
        acc.flush();
        assert_eq!(acc.sketch(2).count(), 1);
        assert!(serde_json::to_string(&acc).is_ok());
        let other = Accumulator::new(vec![1.0, -2.0, 0.25], vec![(1, -1.5)]);
        assert!(!filled(0..10).is_compatible(&other));
    }
}
