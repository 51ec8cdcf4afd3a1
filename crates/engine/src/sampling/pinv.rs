//! Numerical inversion of a CDF by piecewise Newton interpolation, set up once per
//! distribution, in the spirit of UNU.RAN's PINV (G. Derflinger, W. Hörmann and
//! J. Leydold, "Random variate generation by numerical inversion when only the
//! density is known", ACM TOMACS 20(4), 2010).
//!
//! The tabulated range `[u_min, u_max]` (about `[1e-10, 1 − 1e-10]`) is cut into
//! intervals; on each, `x` is a polynomial of degree [`ORDER`] in `t = u − u_left`
//! through the points `(F(x_j) − F(x_left), x_j)` of `ORDER + 1` Chebyshev–Lobatto
//! nodes `x_j` (in `x`), in Newton's form. Unlike PINV we have exact CDFs, so the
//! increments are computed from the CDF itself, as differences of the survival
//! function in the upper half, which keeps them precise to about 1e-16 absolute.
//! At setup the u-error `|F(Q̂(u)) − u|` is computed at the midpoints (in `t`)
//! between consecutive nodes of every interval, and an interval is split until it
//! is at most [`SETUP_BOUND`] there (half the promised [`U_ERROR`], as margin for
//! the points between the test points). A table that cannot meet it (too many
//! intervals, a CDF that is not increasing to double precision) is not built: the
//! caller uses its exact inverse then, and outside `[u_min, u_max]`.
//!
//! Evaluation uses `+ − × ÷` and comparisons only (no FMA, no libm), so the value of
//! a given table at a given `u` is the same on every IEEE platform and thread. The
//! interval is found through a guide table in `u`, with on average about one step
//! forward from the guide's entry, and nothing is allocated per value.
//!
//! Tables are shared: [`Inversion::beta`] and [`Inversion::gamma`] return one
//! `Arc` per family and argument bits for as long as some distribution holds it,
//! so 285 equal PERTs build one table.

// `!(a <= b)` is true for NaN too, on purpose: NaN levels go to the exact inverse.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use super::beta::BetaQuantile;
use super::gamma::StdGamma;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

/// Degree of the interpolating polynomial of each interval.
pub(super) const ORDER: usize = 11;

/// The u-error promised on the tabulated range.
pub(super) const U_ERROR: f64 = 1e-12;

/// The u-error each interval must meet at its test points at setup.
const SETUP_BOUND: f64 = 0.5 * U_ERROR;

/// The tails left to the exact inverse: the table covers about
/// `[TAIL, 1 − TAIL]`.
const TAIL: f64 = 1e-10;

/// The largest tail mass left to the exact inverse before the table is given up.
const MAX_TAIL: f64 = 1e-2;

/// Guide entries per interval: more make a step past the guide's interval
/// (a branch the predictor often misses) rarer, for 4 bytes each.
const GUIDE_PER_INTERVAL: usize = 4;

/// A table needing more intervals than this is given up (the exact inverse is used).
const MAX_INTERVALS: usize = 4096;

/// Newton coefficients per interval: `c_n, t_{n−1}, c_{n−1}, …, t_1, c_1`.
const STRIDE: usize = 2 * ORDER - 1;

/// Values per interval in [`Pinv::records`]: `u_left, u_right, x_left, x_right`,
/// then the Newton coefficients. One contiguous record, so that a value reads the
/// guide entry and one record (3–4 cache lines), not five arrays.
const RECORD: usize = 4 + STRIDE;

/// A CDF with its survival function and an exact (slow) inverse.
pub(super) trait Cdf {
    /// `F(x)`.
    fn cdf(&self, x: f64) -> f64;
    /// `1 − F(x)`, computed with relative precision in the upper tail.
    fn sf(&self, x: f64) -> f64;
    /// The `u`-quantile, to the precision of `F`.
    fn exact_quantile(&self, u: f64) -> f64;
}

/// Why a table was not built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PinvError {
    /// The quantiles of the range's ends are not finite and increasing.
    Range,
    /// An interval could not be split further and still misses the bound.
    BoundNotMet,
    /// More than [`MAX_INTERVALS`] intervals would be needed.
    TooManyIntervals,
}

/// A point of the CDF: `x`, `F(x)` and `1 − F(x)`.
#[derive(Clone, Copy, Debug)]
struct Knot {
    x: f64,
    u: f64,
    s: f64,
}

fn knot(f: &impl Cdf, x: f64) -> Knot {
    Knot {
        x,
        u: f.cdf(x),
        s: f.sf(x),
    }
}

/// A tabulated inverse CDF on `[u_min, u_max]`.
///
/// Invariants: `records` holds `m` records of [`RECORD`] values, interval `i`
/// being `[u_left, u_right]` with values in `[x_left, x_right]`, each interval's
/// right end the next one's left end, all increasing; `guide[g]` is an interval
/// at or before the one of every `u` whose guide index is `g`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Pinv {
    u_min: f64,
    u_max: f64,
    guide_scale: f64,
    guide: Box<[u32]>,
    records: Box<[Record]>,
}

/// One interval's values (see [`RECORD`]).
pub(crate) type Record = [f64; RECORD];

/// `x_left + t·p(t)` with `p` in Newton's form (see [`STRIDE`]).
#[inline(always)]
fn newton(coef: &[f64], x_left: f64, t: f64) -> f64 {
    let mut p = coef[0];
    for k in 0..ORDER - 1 {
        p = coef[2 * k + 2] + (t - coef[2 * k + 1]) * p;
    }
    x_left + t * p
}

/// The value of level `u` from its interval's record: [`newton`] clamped to the
/// interval's values, so that the table is monotone across knots.
#[inline(always)]
pub(crate) fn from_record(record: &Record, u: f64) -> f64 {
    let (lo, hi) = (record[2], record[3]);
    let x = newton(&record[4..], lo, u - record[0]);
    clamp(x, lo, hi)
}

/// [`from_record`] of `L` levels at once, the steps of their polynomials
/// interleaved: each value's Horner chain is a run of dependent multiplications
/// and additions (about 80 cycles of latency at degree 11), and `L` independent
/// chains keep the floating-point units busy meanwhile. The same operations per
/// value, so the same bits.
#[inline(always)]
pub(crate) fn from_records<const L: usize>(records: &[&Record; L], us: &[f64; L]) -> [f64; L] {
    let t: [f64; L] = std::array::from_fn(|l| us[l] - records[l][0]);
    let mut p: [f64; L] = std::array::from_fn(|l| records[l][4]);
    for k in 0..ORDER - 1 {
        for l in 0..L {
            p[l] = records[l][4 + 2 * k + 2] + (t[l] - records[l][4 + 2 * k + 1]) * p[l];
        }
    }
    std::array::from_fn(|l| clamp(records[l][2] + t[l] * p[l], records[l][2], records[l][3]))
}

/// `x` clamped to `[lo, hi]` by comparisons (NaN stays NaN).
#[inline(always)]
fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

impl Pinv {
    /// Tabulates the inverse of `f` on about `[TAIL, 1 − TAIL]`.
    pub(super) fn new(f: &impl Cdf) -> Result<Pinv, PinvError> {
        let (lo, hi) = (end(f, false)?, end(f, true)?);
        if !(lo.x.is_finite() && hi.x.is_finite() && lo.x < hi.x && lo.u < hi.u) {
            return Err(PinvError::Range);
        }
        let mut intervals = Vec::new();
        cover(f, lo, hi, &mut intervals)?;
        Ok(Self::assemble(&intervals, hi))
    }

    /// The table of the fitted intervals, `hi` the right end of the last.
    fn assemble(intervals: &[(Knot, [f64; STRIDE])], hi: Knot) -> Pinv {
        let m = intervals.len();
        let right = |i: usize| intervals.get(i + 1).map_or(hi, |(k, _)| *k);
        let records: Vec<Record> = (intervals.iter().enumerate())
            .map(|(i, (l, coef))| {
                let r = right(i);
                let mut record = [0.0; RECORD];
                record[..4].copy_from_slice(&[l.u, r.u, l.x, r.x]);
                record[4..].copy_from_slice(coef);
                record
            })
            .collect();
        let (u_min, u_max) = (intervals[0].0.u, hi.u);
        let guide_len = GUIDE_PER_INTERVAL * m;
        let guide_scale = guide_len as f64 / (u_max - u_min);
        let index = |u: f64| (((u - u_min) * guide_scale) as usize).min(guide_len - 1);
        // guide[g]: the last interval starting at a guide index below g (the
        // index is monotone in u, so every u of index g lies past its start).
        let mut i = 0;
        let guide: Vec<u32> = (0..guide_len)
            .map(|g| {
                while i + 1 < m && index(intervals[i + 1].0.u) < g {
                    i += 1;
                }
                i as u32
            })
            .collect();
        Pinv {
            u_min,
            u_max,
            guide_scale,
            guide: guide.into_boxed_slice(),
            records: records.into_boxed_slice(),
        }
    }

    /// The interpolated quantile of `u`, `None` outside `[u_min, u_max]` (and NaN).
    #[inline(always)]
    pub(super) fn quantile(&self, u: f64) -> Option<f64> {
        self.record(u).map(|record| from_record(record, u))
    }

    /// The record of the interval of `u`, `None` outside `[u_min, u_max]` (and NaN).
    #[inline(always)]
    pub(super) fn record(&self, u: f64) -> Option<&Record> {
        if !(u >= self.u_min && u <= self.u_max) {
            return None;
        }
        let last = self.records.len() - 1;
        let g = ((u - self.u_min) * self.guide_scale) as usize;
        let mut i = self.guide[g.min(self.guide.len() - 1)] as usize;
        while i < last && u >= self.records[i][1] {
            i += 1;
        }
        Some(&self.records[i])
    }

    /// `exact`, the exact quantile of a `u` outside the range, kept beyond the
    /// table's end values so that the whole inverse stays monotone.
    #[inline]
    fn beyond(&self, u: f64, exact: f64) -> f64 {
        let (first, last) = (self.records[0][2], self.records[self.records.len() - 1][3]);
        if u < self.u_min && exact > first {
            first
        } else if u > self.u_max && exact < last {
            last
        } else {
            exact
        }
    }

    /// Number of intervals.
    pub(super) fn intervals(&self) -> usize {
        self.records.len()
    }

    /// The tabulated range `[u_min, u_max]`.
    #[cfg(test)]
    pub(super) fn range(&self) -> (f64, f64) {
        (self.u_min, self.u_max)
    }

    /// Bytes of the table's arrays.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        8 * RECORD * self.records.len() + 4 * self.guide.len()
    }
}

/// The knot of the range's lower (or upper) end: the quantile of tail mass
/// [`TAIL`], or of a larger mass where one ulp of `x` moves the CDF by more
/// than half the bound (near a pole of the density: a beta's end with a
/// shape below 1), where no value of `x` could meet the bound.
fn end(f: &impl Cdf, upper: bool) -> Result<Knot, PinvError> {
    let mut tail = TAIL;
    while tail <= MAX_TAIL {
        let u = if upper { 1.0 - tail } else { tail };
        let k = knot(f, f.exact_quantile(u));
        // The neighbouring double towards the inside, which must be inside too.
        let (next, inside) = if upper {
            let next = knot(f, k.x.next_down());
            (next.s - k.s, k.s > 0.0)
        } else {
            let next = knot(f, k.x.next_up());
            (next.u - k.u, k.u > 0.0)
        };
        if k.x.is_finite() && inside && next.abs() <= 0.5 * SETUP_BOUND {
            return Ok(k);
        }
        tail *= 10.0;
    }
    Err(PinvError::Range)
}

/// Fits `[l, r]`, split until every piece meets the bound, into `out` in order.
fn cover(
    f: &impl Cdf,
    l: Knot,
    r: Knot,
    out: &mut Vec<(Knot, [f64; STRIDE])>,
) -> Result<(), PinvError> {
    if out.len() >= MAX_INTERVALS {
        return Err(PinvError::TooManyIntervals);
    }
    if let Some(record) = fit(f, &l, &r) {
        out.push((l, record));
        return Ok(());
    }
    let mid = knot(f, f.exact_quantile(middle(&l, &r)));
    let mid = if l.x < mid.x && mid.x < r.x {
        mid
    } else {
        knot(f, 0.5 * (l.x + r.x))
    };
    if !(l.x < mid.x && mid.x < r.x && l.u <= mid.u && mid.u <= r.u) {
        #[cfg(test)]
        eprintln!("bound not met on {l:?} {r:?} mid {mid:?}");
        return Err(PinvError::BoundNotMet);
    }
    cover(f, l, mid, out)?;
    cover(f, mid, r, out)
}

/// Where to split `[l, r]` in `u`: at the geometric mean of the tail mass when
/// the interval spans more than a factor 4 of it (the tails are tabulated on a
/// logarithmic scale), at the midpoint otherwise.
fn middle(l: &Knot, r: &Knot) -> f64 {
    if r.u <= 0.5 && r.u > 4.0 * l.u {
        (l.u * r.u).sqrt()
    } else if l.u >= 0.5 && l.s > 4.0 * r.s {
        1.0 - (l.s * r.s).sqrt()
    } else {
        0.5 * (l.u + r.u)
    }
}

/// The Newton coefficients of `x(t)` on `[l, r]`, if they meet the bound at the
/// test points; `None` if not (or if the nodes' increments are not increasing).
fn fit(f: &impl Cdf, l: &Knot, r: &Knot) -> Option<[f64; STRIDE]> {
    // Increments from the survival function in the upper half (absolute precision).
    let upper = l.u >= 0.5;
    let increment = |k: &Knot| if upper { l.s - k.s } else { k.u - l.u };
    let mut t = [0.0; ORDER + 1];
    let mut c = [0.0; ORDER + 1];
    for j in 0..=ORDER {
        let k = match j {
            0 => *l,
            ORDER => *r,
            _ => {
                let fraction = 0.5 - 0.5 * (std::f64::consts::PI * j as f64 / ORDER as f64).cos();
                knot(f, l.x + (r.x - l.x) * fraction)
            }
        };
        t[j] = increment(&k);
        c[j] = k.x;
        if j > 0 && !(t[j] > t[j - 1] && c[j] > c[j - 1]) {
            return None;
        }
    }
    let xs = c;
    // Divided differences, in place.
    for order in 1..=ORDER {
        for j in (order..=ORDER).rev() {
            c[j] = (c[j] - c[j - 1]) / (t[j] - t[j - order]);
        }
    }
    let mut record = [0.0; STRIDE];
    record[0] = c[ORDER];
    for k in 0..ORDER - 1 {
        record[2 * k + 1] = t[ORDER - 1 - k];
        record[2 * k + 2] = c[ORDER - 1 - k];
    }
    // The midpoint of every gap between nodes; quarters too in the end gaps,
    // where the nodes' increments are least symmetric.
    let tests = (0..ORDER).flat_map(|j| {
        let fractions: &[f64] = if j == 0 || j == ORDER - 1 {
            &[0.25, 0.5, 0.75]
        } else {
            &[0.5]
        };
        fractions
            .iter()
            .map(move |&w| (j, t[j] + w * (t[j + 1] - t[j])))
    });
    for (j, t_test) in tests {
        let x = newton(&record, l.x, t_test);
        // The value must also lie between its neighbouring nodes' values.
        if !(x >= xs[j] && x <= xs[j + 1]) {
            return None;
        }
        let error = (increment(&knot(f, x)) - t_test).abs();
        if !(error <= SETUP_BOUND) {
            return None;
        }
    }
    Some(record)
}

/// The exact inverse of a tabulated family (the fallback and the knots' source).
#[derive(Clone, Debug)]
enum Exact {
    Beta(BetaQuantile),
    Gamma(StdGamma),
}

impl Cdf for Exact {
    fn cdf(&self, x: f64) -> f64 {
        match self {
            Exact::Beta(b) => b.cdf(x),
            Exact::Gamma(g) => g.cdf(x),
        }
    }
    fn sf(&self, x: f64) -> f64 {
        match self {
            Exact::Beta(b) => b.sf(x),
            Exact::Gamma(g) => g.sf(x),
        }
    }
    fn exact_quantile(&self, u: f64) -> f64 {
        match self {
            Exact::Beta(b) => b.quantile(u),
            Exact::Gamma(g) => g.quantile(u),
        }
    }
}

/// The family and its arguments' bits: what identifies an [`Inversion`].
type Key = (u8, u64, u64);

/// The quantile function of a standard beta (on `[0, 1]`) or gamma (scale 1)
/// distribution: its table where it has one, its exact inverse elsewhere.
pub(crate) struct Inversion {
    key: Key,
    table: Option<Pinv>,
    setup_error: Option<PinvError>,
    exact: Exact,
}

impl Inversion {
    /// The shared quantile function of Beta(`alpha`, `beta`), both > 0 and finite.
    pub(super) fn beta(alpha: f64, beta: f64) -> Arc<Inversion> {
        shared((0, alpha.to_bits(), beta.to_bits()), || {
            Exact::Beta(BetaQuantile::new(alpha, beta))
        })
    }

    /// The shared quantile function of Gamma(`shape`, 1), `shape` > 0 and finite.
    pub(super) fn gamma(shape: f64) -> Arc<Inversion> {
        shared((1, shape.to_bits(), 0), || {
            Exact::Gamma(StdGamma::new(shape))
        })
    }

    /// The `u`-quantile, `u ∈ [0, 1]`: the table's value on its range, the exact
    /// inverse's outside it (and for every `u` if there is no table).
    #[inline(always)]
    pub(crate) fn quantile(&self, u: f64) -> f64 {
        match &self.table {
            Some(table) => match table.quantile(u) {
                Some(x) => x,
                None => table.beyond(u, self.exact.exact_quantile(u)),
            },
            None => self.exact.exact_quantile(u),
        }
    }

    /// The table's record of the interval of `u`, if the table covers `u` (with
    /// [`from_record`], the value [`Self::quantile`] gives).
    #[inline(always)]
    pub(crate) fn record(&self, u: f64) -> Option<&Record> {
        self.table.as_ref()?.record(u)
    }

    /// The table, if setup met the bound.
    #[cfg(test)]
    pub(super) fn table(&self) -> Option<&Pinv> {
        self.table.as_ref()
    }

    /// Why there is no table, if there is none.
    #[cfg(test)]
    pub(super) fn setup_error(&self) -> Option<PinvError> {
        self.setup_error
    }

    /// The exact CDF and survival function at `x` (for tests of the u-error).
    #[cfg(test)]
    pub(super) fn cdf_sf(&self, x: f64) -> (f64, f64) {
        (self.exact.cdf(x), self.exact.sf(x))
    }

    /// The exact quantile, bypassing the table.
    #[cfg(test)]
    pub(super) fn exact_quantile(&self, u: f64) -> f64 {
        self.exact.exact_quantile(u)
    }
}

/// Equal when built from the same family and arguments (the table is a function of them).
impl PartialEq for Inversion {
    fn eq(&self, other: &Inversion) -> bool {
        self.key == other.key
    }
}

impl std::fmt::Debug for Inversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let family = if self.key.0 == 0 { "beta" } else { "gamma" };
        let args = [f64::from_bits(self.key.1), f64::from_bits(self.key.2)];
        f.debug_struct("Inversion")
            .field("family", &family)
            .field("args", &args)
            .field("intervals", &self.table.as_ref().map(Pinv::intervals))
            .field("setup_error", &self.setup_error)
            .finish()
    }
}

/// The inversion of `key`: the one already built while some holder keeps it,
/// otherwise a new one from `exact` (built under the lock, so never twice).
fn shared(key: Key, exact: impl FnOnce() -> Exact) -> Arc<Inversion> {
    static BUILT: OnceLock<Mutex<HashMap<Key, Weak<Inversion>>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = built.get(&key).and_then(Weak::upgrade) {
        return found;
    }
    let exact = exact();
    let (table, setup_error) = match Pinv::new(&exact) {
        Ok(table) => (Some(table), None),
        Err(e) => (None, Some(e)),
    };
    let inversion = Arc::new(Inversion {
        key,
        table,
        setup_error,
        exact,
    });
    built.retain(|_, w| w.strong_count() > 0);
    built.insert(key, Arc::downgrade(&inversion));
    inversion
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PERT shapes (symmetric, skewed, mode at an end: α + β = 6) and betas with
    /// α or β below 1 and large.
    const BETAS: [(f64, f64); 8] = [
        (3.0, 3.0),
        (1.0 + 4.0 * 0.3, 1.0 + 4.0 * 0.7),
        (1.0 + 4.0 * 0.05, 1.0 + 4.0 * 0.95),
        (1.0, 5.0),
        (0.5, 0.5),
        (0.7, 2.5),
        (2.0, 0.8),
        (40.0, 7.0),
    ];

    const GAMMAS: [f64; 5] = [0.3, 1.0, 2.5, 20.0, 400.0];

    /// A dense grid of levels: `n` equally spaced, and the tails from 1e-12 to 0.1
    /// and from 0.9 to 1 − 1e-12 at a few points per decade.
    fn levels(n: usize) -> Vec<f64> {
        let mut u: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        for k in 0..=44 {
            let tail = 10f64.powf(-1.0 - k as f64 * 0.25);
            u.extend([tail, 1.0 - tail]);
        }
        u
    }

    /// `|F(Q̂(u)) − u|` less what the spacing of doubles forces: where one ulp of
    /// `x` moves the CDF by more than the bound (next to a pole of a beta's
    /// density), the best any inverse can do is that jump. From the survival
    /// function above ½ (`1 − u` is exact).
    fn u_error(inversion: &Inversion, u: f64) -> f64 {
        let x = inversion.quantile(u);
        let tail = |x: f64| {
            let (cdf, sf) = inversion.cdf_sf(x);
            if u > 0.5 { sf - (1.0 - u) } else { cdf - u }
        };
        let error = tail(x).abs();
        let jump = (tail(x.next_up()) - tail(x))
            .abs()
            .max((tail(x) - tail(x.next_down())).abs());
        if jump > U_ERROR && error <= jump {
            0.0
        } else {
            error
        }
    }

    fn max_u_error(inversion: &Inversion, levels: &[f64]) -> f64 {
        levels
            .iter()
            .map(|&u| u_error(inversion, u))
            .fold(0.0, f64::max)
    }

    fn assert_within_bound(inversions: Vec<(String, Arc<Inversion>)>) {
        let levels = levels(100_000);
        for (name, inversion) in inversions {
            let table = inversion
                .table()
                .unwrap_or_else(|| panic!("{name}: {:?}", inversion.setup_error()));
            let error = max_u_error(&inversion, &levels);
            eprintln!(
                "{name}: {} intervals, {} bytes, max u-error {error:.2e}",
                table.intervals(),
                table.bytes()
            );
            assert!(error <= U_ERROR, "{name}: u-error {error:e}");
        }
    }

    #[test]
    fn beta_u_error_is_within_the_bound_on_a_dense_grid() {
        let betas = BETAS
            .iter()
            .map(|&(a, b)| (format!("beta({a}, {b})"), Inversion::beta(a, b)));
        assert_within_bound(betas.collect());
    }

    #[test]
    fn gamma_u_error_is_within_the_bound_on_a_dense_grid() {
        let gammas = GAMMAS
            .iter()
            .map(|&k| (format!("gamma({k})"), Inversion::gamma(k)));
        assert_within_bound(gammas.collect());
    }

    fn all() -> Vec<Arc<Inversion>> {
        let betas = BETAS.iter().map(|&(a, b)| Inversion::beta(a, b));
        betas
            .chain(GAMMAS.iter().map(|&k| Inversion::gamma(k)))
            .collect()
    }

    #[test]
    fn is_monotone_with_exact_ends() {
        let mut levels = levels(20_000);
        levels.extend([0.0, 1.0, f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0]);
        levels.sort_by(f64::total_cmp);
        for inversion in all() {
            let xs: Vec<f64> = levels.iter().map(|&u| inversion.quantile(u)).collect();
            assert!(xs.windows(2).all(|w| w[0] <= w[1]), "{inversion:?}");
            assert_eq!(xs[0], 0.0);
            let top = inversion.quantile(1.0);
            assert!(top == 1.0 || top == f64::INFINITY, "{inversion:?}: {top}");
        }
    }

    /// Outside the tabulated range the exact inverse answers (the table has no
    /// value there), kept beyond the table's end values.
    #[test]
    fn the_exact_inverse_answers_outside_the_table() {
        for inversion in all() {
            let table = inversion.table().expect("a table");
            let (u_min, u_max) = table.range();
            // Only Beta(½, ½)'s pole at 1 keeps the table from its upper tail.
            let pole = inversion == Inversion::beta(0.5, 0.5);
            assert!(u_min <= 1.01e-10, "{inversion:?}");
            assert_eq!(u_max >= 1.0 - 1.01e-10, !pole, "{inversion:?}");
            let past_top = u_max + 0.5 * (1.0 - u_max);
            for u in [1e-300, 1e-12, 0.5 * u_min, past_top, 1.0 - 1e-12] {
                assert_eq!(table.quantile(u), None);
                let exact = inversion.exact_quantile(u);
                assert_eq!(inversion.quantile(u), table.beyond(u, exact));
                assert_eq!(inversion.quantile(u), exact, "{inversion:?} at {u}");
            }
        }
    }

    /// A CDF whose rounding noise (here 1e-11, sawtooth) is above the bound.
    struct Noisy;

    impl Cdf for Noisy {
        fn cdf(&self, x: f64) -> f64 {
            let noise = 1e-11 * ((x * 1e6).fract() - 0.5);
            (x + noise).clamp(0.0, 1.0)
        }
        fn sf(&self, x: f64) -> f64 {
            1.0 - self.cdf(x)
        }
        fn exact_quantile(&self, u: f64) -> f64 {
            u
        }
    }

    /// A setup that cannot meet the bound is detected, and the family then
    /// answers every level with its exact inverse.
    #[test]
    fn a_bound_that_cannot_be_met_is_detected() {
        assert!(matches!(
            Pinv::new(&Noisy),
            Err(PinvError::BoundNotMet | PinvError::TooManyIntervals)
        ));
        // Gamma(0.001): the quantile of 1e-10 underflows to 0.
        let extreme = Inversion::gamma(0.001);
        assert_eq!(extreme.setup_error(), Some(PinvError::Range));
        assert!(extreme.table().is_none());
        for u in [1e-3, 0.5, 0.999] {
            assert_eq!(extreme.quantile(u), extreme.exact_quantile(u));
        }
    }

    /// Equal arguments share one table; different ones do not.
    #[test]
    fn equal_arguments_share_one_table() {
        let (a, b) = (Inversion::beta(2.2, 3.8), Inversion::beta(2.2, 3.8));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &Inversion::beta(2.2, 3.9)));
        assert!(!Arc::ptr_eq(&Inversion::gamma(2.2), &Inversion::gamma(2.5)));
    }

    /// Pinned bits: a change of the table, its setup or statrs shows here first.
    #[test]
    fn value_stability() {
        let levels = [1e-11, 0.001, 0.2, 0.5, 0.77, 0.999];
        let bits = |inversion: Arc<Inversion>| -> Vec<u64> {
            levels
                .iter()
                .map(|&u| inversion.quantile(u).to_bits())
                .collect()
        };
        let got = [
            bits(Inversion::beta(1.0 + 4.0 * 0.3, 1.0 + 4.0 * 0.7)),
            bits(Inversion::beta(0.7, 2.5)),
            bits(Inversion::gamma(2.5)),
        ];
        assert_eq!(got, PINNED, "{got:?}");
    }

    const PINNED: [[u64; 6]; 3] = [
        [
            4525203016182531555,
            4579819779218544290,
            4596304054317612843,
            4599994664516402257,
            4602741568183714056,
            4606248994973698136,
        ],
        [
            4365275424009037375,
            4536273084541175000,
            4585692199244167812,
            4594878506117003648,
            4600042314232932217,
            4606471707772017394,
        ],
        [
            4544377599506020589,
            4592238127854112786,
            4607953737486091261,
            4612081727423801261,
            4614924499789469074,
            4621964078792994105,
        ],
    ];
}
