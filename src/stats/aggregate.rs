//! The accumulator of a run: exact moments, a quantile sketch and exceedance counts
//! for every output series.

use super::{ChunkMomentsBank, QuantileSketch, RunMoments, Summary};

/// Draws buffered before their values go into the sketches. Inserting a block of one
/// series at a time keeps that sketch's buckets in cache; inserting draw by draw
/// touches thousands of sketches per draw and is bound by memory latency.
const BLOCK: usize = 1024;

/// Everything the aggregator keeps for a set of series; memory does not grow with
/// the number of draws.
///
/// Use: [`Accumulator::add_draw`] for each draw of a chunk, in draw order, then
/// [`Accumulator::end_chunk`]. Accumulators of disjoint chunk sets combine with
/// [`Accumulator::merge`] in any order with a bit-identical result.
#[derive(Clone, Debug)]
pub struct Accumulator {
    bank: ChunkMomentsBank,
    moments: RunMoments,
    sketches: Vec<QuantileSketch>,
    thresholds: Vec<(usize, f64)>,
    at_or_above: Vec<u64>,
    /// Buffered values, series-major: `block[i * BLOCK + d]` is series `i` of the
    /// `d`-th buffered draw.
    block: Vec<f64>,
    buffered: usize,
}

impl Accumulator {
    /// An empty accumulator; `shifts` holds one value per series (its value at draw
    /// 0), `thresholds` the `(series, value)` pairs whose exceedance is counted.
    pub fn new(shifts: Vec<f64>, thresholds: Vec<(usize, f64)>) -> Accumulator {
        let moments = RunMoments::new(shifts);
        Accumulator {
            bank: moments.chunk_bank(),
            sketches: vec![QuantileSketch::new(); moments.series()],
            block: vec![0.0; moments.series() * BLOCK],
            buffered: 0,
            moments,
            at_or_above: vec![0; thresholds.len()],
            thresholds,
        }
    }

    /// Adds one draw (one value per series) to the current chunk.
    #[inline]
    pub fn add_draw(&mut self, values: &[f64]) {
        self.bank.add_draw(values);
        let d = self.buffered;
        for (i, &x) in values.iter().enumerate() {
            self.block[i * BLOCK + d] = x;
        }
        self.buffered += 1;
        if self.buffered == BLOCK {
            self.flush_block();
        }
        for (count, &(series, threshold)) in self.at_or_above.iter_mut().zip(&self.thresholds) {
            *count += (values[series] >= threshold) as u64;
        }
    }

    fn flush_block(&mut self) {
        let n = self.buffered;
        for (sketch, values) in self.sketches.iter_mut().zip(self.block.chunks_exact(BLOCK)) {
            sketch.extend_from_slice(&values[..n]);
        }
        self.buffered = 0;
    }

    /// Closes the current chunk: its sums go into the exact run totals.
    pub fn end_chunk(&mut self) {
        self.flush_block();
        self.moments.absorb_chunk(&self.bank);
        self.bank.reset();
    }

    /// Adds another accumulator of the same series (exact, order-independent).
    pub fn merge(&mut self, other: &Accumulator) {
        assert!(
            self.buffered == 0 && other.buffered == 0,
            "merge only after end_chunk"
        );
        self.moments
            .merge(&other.moments)
            .expect("accumulators of one run share series and shifts");
        for (a, b) in self.sketches.iter_mut().zip(&other.sketches) {
            a.merge(b)
                .expect("sketches of one run share their parameters");
        }
        for (a, b) in self.at_or_above.iter_mut().zip(&other.at_or_above) {
            *a += b;
        }
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
        self.sketches.iter().any(QuantileSketch::collapsed)
    }

    /// The sketch of series `i`.
    pub fn sketch(&self, i: usize) -> &QuantileSketch {
        &self.sketches[i]
    }
}
