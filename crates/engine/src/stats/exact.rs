//! Exact quantiles from every draw (`evcarbon run --exact`).
//!
//! [`ExactDraws`] keeps all values of all series, chunk by chunk, and computes the
//! same inverted-CDF quantiles as the sketch (the `ceil(q·n)`-th smallest value, see
//! [`inverted_cdf_rank`]) exactly. Memory is `draws × series × 8` bytes, so this is
//! meant for checking the sketch and for small runs; [`ExactDraws::bytes_needed`]
//! lets the caller refuse runs that would not fit.

use std::sync::Mutex;

use rayon::prelude::*;

use super::aggregate::Accumulator;
use super::sketch::inverted_cdf_rank;
use super::summary::{Interval, Summary};

/// Every draw of every series of a run, stored per chunk (draw-major inside a chunk).
#[derive(Debug)]
pub struct ExactDraws {
    series: usize,
    chunks: Vec<Mutex<Vec<f64>>>,
}

impl ExactDraws {
    /// Bytes needed to keep `draws` draws of `series` series.
    pub fn bytes_needed(draws: u64, series: usize) -> u128 {
        draws as u128 * series as u128 * 8
    }

    /// Empty storage for `n_chunks` chunks of `series` series; memory is taken chunk
    /// by chunk as draws arrive.
    pub fn new(series: usize, n_chunks: u64) -> ExactDraws {
        ExactDraws {
            series,
            chunks: (0..n_chunks).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    /// Number of series.
    pub fn series(&self) -> usize {
        self.series
    }

    /// Stores the values of chunk `k`: `values[d * series + i]` is series `i` of the
    /// chunk's `d`-th draw.
    pub fn store_chunk(&self, k: u64, values: Vec<f64>) {
        debug_assert_eq!(values.len() % self.series.max(1), 0);
        *self.chunks[k as usize]
            .lock()
            .expect("no panics while holding the lock") = values;
    }

    /// Summaries of every series with exact quantiles; `mean`, `sd` and `mcse` come
    /// from `acc` (they are exact there already). Runs on `threads` threads.
    ///
    /// `bounds_mcse` uses the same order-statistic method as the sketch
    /// ([`super::quantile_mcse`]) with exact order statistics at `p ± √(p(1−p)/n)`
    /// instead of interpolated sketch quantiles.
    pub fn summaries(&self, acc: &Accumulator, levels: &[f64], threads: usize) -> Vec<Summary> {
        let chunks: Vec<std::sync::MutexGuard<'_, Vec<f64>>> = self
            .chunks
            .iter()
            .map(|c| c.lock().expect("no panics while holding the lock"))
            .collect();
        let n: usize = chunks.iter().map(|c| c.len() / self.series.max(1)).sum();
        let summarize = |i: usize, values: &mut Vec<f64>| {
            values.clear();
            for chunk in &chunks {
                // +0.0 turns -0.0 into +0.0, as the sketch does.
                values.extend(chunk.iter().skip(i).step_by(self.series).map(|&x| x + 0.0));
            }
            values.sort_unstable_by(f64::total_cmp);
            exact_summary(acc, i, values, levels)
        };
        let run = || {
            (0..self.series)
                .into_par_iter()
                .map_init(|| Vec::with_capacity(n), |values, i| summarize(i, values))
                .collect()
        };
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(run),
            Err(_) => run(),
        }
    }
}

/// The inverted-CDF `q`-quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => sorted[inverted_cdf_rank(q, n as u64) as usize - 1],
    }
}

fn exact_summary(acc: &Accumulator, i: usize, sorted: &[f64], levels: &[f64]) -> Summary {
    let n = sorted.len() as f64;
    let (mean, sd, mcse) = acc.moments(i);
    let se = |p: f64| {
        let s = (p * (1.0 - p) / n).sqrt();
        (quantile(sorted, (p + s).min(1.0)) - quantile(sorted, (p - s).max(0.0))) / 2.0
    };
    let bounds_mcse = levels
        .iter()
        .flat_map(|&l| [(1.0 - l) / 2.0, (1.0 + l) / 2.0])
        .map(se)
        .fold(0.0, f64::max);
    Summary {
        draws: sorted.len() as u64,
        mean,
        sd,
        mcse,
        median: quantile(sorted, 0.5),
        intervals: levels
            .iter()
            .map(|&level| Interval {
                level,
                lo: quantile(sorted, (1.0 - level) / 2.0),
                hi: quantile(sorted, (1.0 + level) / 2.0),
            })
            .collect(),
        bounds_mcse,
        sketch_error: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_quantiles_are_order_statistics_and_match_the_sketch() {
        let series = 2;
        let exact = ExactDraws::new(series, 3);
        let mut acc = Accumulator::new(vec![0.0, 0.0], Vec::new());
        let mut all = Vec::new();
        for k in 0..3u64 {
            let mut chunk = Vec::new();
            for d in 0..1000u64 {
                let x = ((k * 1000 + d) as f64 * 0.618_033_988_7).fract();
                let v = [x, 100.0 + 3.0 * x * x];
                acc.add_draw(&v);
                chunk.extend_from_slice(&v);
                all.push(v[1]);
            }
            acc.end_chunk();
            exact.store_chunk(k, chunk);
        }
        acc.flush();
        let sums = exact.summaries(&acc, &[0.9], 2);
        all.sort_by(f64::total_cmp);
        // ceil(0.05 * 3000) = 150th smallest, ceil(0.95 * 3000) = 2850th.
        assert_eq!(sums[1].intervals[0].lo, all[149]);
        assert_eq!(sums[1].intervals[0].hi, all[2849]);
        assert_eq!(sums[1].median, all[1499]);
        assert_eq!(sums[1].draws, 3000);
        for (s, i) in sums.iter().zip(0..) {
            let sk = acc.summary(i, &[0.9]);
            assert_eq!((s.mean, s.sd, s.mcse), (sk.mean, sk.sd, sk.mcse));
            let rel = |a: f64, b: f64| ((a - b) / b).abs();
            assert!(rel(s.intervals[0].hi, sk.intervals[0].hi) < 1e-3);
            assert!(s.bounds_mcse > 0.0);
        }
    }
}
