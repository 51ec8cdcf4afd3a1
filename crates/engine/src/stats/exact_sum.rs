//! Exactly accumulated, correctly rounded floating-point sums.
//!
//! [`ExactSum`] keeps the running total as a list of non-overlapping
//! partials (Shewchuk 1997, "Adaptive Precision Floating-Point Arithmetic
//! and Fast Robust Geometric Predicates"; the algorithm behind Python's
//! `math.fsum`). The partials represent the exact real sum of every value
//! added, so [`ExactSum::value`] — the exact sum rounded once,
//! round-half-to-even — does not depend on the order of additions or merges.

use serde::{Deserialize, Serialize};

/// An exact sum of `f64` values, correctly rounded on read.
///
/// Invariants: `partials` are non-zero, non-overlapping and sorted by
/// increasing magnitude; their exact (real-number) sum equals the exact sum
/// of everything added. At most about 40 partials can exist for finite
/// inputs (the `f64` exponent range divided by the 53-bit significand).
///
/// Inputs must be finite and the running sum must stay below `f64::MAX` in
/// magnitude; otherwise [`ExactSum::value`] returns a non-finite value.
///
/// Serialization writes the *canonical* expansion (see
/// [`ExactSum::canonical_partials`]), so two sums of the same multiset of
/// values serialize to identical bytes and compare equal whatever the order
/// in which they were built. Deserialization re-adds the stored values one
/// by one, so any list of finite numbers yields a valid sum.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(into = "Vec<f64>", from = "Vec<f64>")]
pub struct ExactSum {
    partials: Vec<f64>,
}

impl ExactSum {
    /// An empty sum (value `0.0`).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            partials: Vec::new(),
        }
    }

    /// Adds `x` exactly.
    ///
    /// Cost is proportional to the number of partials (usually 1–3).
    /// Allocates only when the expansion grows past its previous length.
    #[inline]
    pub fn add(&mut self, x: f64) {
        debug_assert!(x.is_finite(), "ExactSum::add given non-finite {x}");
        let mut x = x;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            // Fast two-sum: valid because |x| >= |y|.
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        // A zero top partial carries no information; dropping it keeps the
        // expansion free of zeros (and an all-cancelled sum empty).
        if x != 0.0 {
            self.partials.push(x);
        }
    }

    /// Adds the exact value of `other` to `self`.
    ///
    /// Because both sides are exact, `a.merge(b)` and `b.merge(a)` represent
    /// the same real number, and so round to the same [`value`](Self::value).
    pub fn merge(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
    }

    /// The exact sum correctly rounded to the nearest `f64`, ties to even.
    ///
    /// Matches Python's `math.fsum`, including its correction for the case
    /// where the rounding of the top two partials lands exactly half-way and
    /// the remaining partials tip it.
    #[must_use]
    pub fn value(&self) -> f64 {
        round_expansion(&self.partials)
    }

    /// The number of partials currently held (a measure of the sum's
    /// internal precision; useful for memory estimates).
    #[must_use]
    pub fn len(&self) -> usize {
        self.partials.len()
    }

    /// Whether no non-zero partial is held (the exact sum is zero).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.partials.is_empty()
    }

    /// The canonical expansion of the exact sum, by increasing magnitude.
    ///
    /// Defined greedily: the largest term is the correctly rounded sum, the
    /// next is the correctly rounded remainder, and so on. It depends only
    /// on the exact value, not on how the sum was built, which is what makes
    /// serialization and equality order-independent.
    #[must_use]
    pub fn canonical_partials(&self) -> Vec<f64> {
        let mut rest = self.clone();
        let mut terms = Vec::new();
        // Each step removes the rounded value, leaving at most half an ulp
        // of it; the exponent range bounds the loop (about 40 steps).
        loop {
            let v = rest.value();
            if v == 0.0 || !v.is_finite() {
                break;
            }
            terms.push(v);
            rest.add(-v);
        }
        terms.reverse();
        terms
    }
}

impl PartialEq for ExactSum {
    fn eq(&self, other: &Self) -> bool {
        let a = self.canonical_partials();
        let b = other.canonical_partials();
        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits())
    }
}

impl From<ExactSum> for Vec<f64> {
    fn from(s: ExactSum) -> Self {
        s.canonical_partials()
    }
}

impl From<Vec<f64>> for ExactSum {
    fn from(values: Vec<f64>) -> Self {
        let mut s = ExactSum::new();
        for v in values {
            s.add(v);
        }
        s
    }
}

impl FromIterator<f64> for ExactSum {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        let mut s = ExactSum::new();
        for v in iter {
            s.add(v);
        }
        s
    }
}

/// Rounds a non-overlapping, increasing-magnitude expansion to nearest-even.
fn round_expansion(partials: &[f64]) -> f64 {
    let Some((&top, rest)) = partials.split_last() else {
        return 0.0;
    };
    let mut hi = top;
    let mut lo = 0.0;
    let mut n = rest.len();
    // Sum from the top down until the addition stops being exact.
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = partials[n];
        hi = x + y;
        let yr = hi - x;
        lo = y - yr;
        if lo != 0.0 {
            break;
        }
    }
    // `hi + lo` is exact; if `lo` is exactly half an ulp of `hi`, the tie was
    // broken to even, but a non-zero partial below in the same direction
    // means the true sum is past the half-way point: round away instead.
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        let yr = x - hi;
        if y == yr {
            hi = x;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fsum(values: &[f64]) -> f64 {
        values.iter().copied().collect::<ExactSum>().value()
    }

    #[test]
    fn empty_is_zero() {
        assert_eq!(ExactSum::new().value().to_bits(), 0.0f64.to_bits());
        assert!(ExactSum::default().is_empty());
    }

    #[test]
    fn catastrophic_cancellation() {
        assert_eq!(fsum(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(
            fsum(&[1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]),
            1e-100
        );
        assert_eq!(fsum(&[1.0, 1e100, 1.0, -1e100]), 2.0);
        assert_eq!(
            fsum(&[2.0f64.powi(53), -0.5, -(2.0f64.powi(-54))]),
            2.0f64.powi(53) - 1.0
        );
    }

    #[test]
    fn matches_python_fsum_examples() {
        // Values from CPython's test_math.testFsum and the fsum docs.
        assert_eq!(fsum(&[0.1; 10]), 1.0);
        assert_eq!(fsum(&[1.0, 1e-16, 1e-16]), 1.0000000000000002);
        assert_eq!(fsum(&[1.0, -1e-16, -1e-16]), 0.9999999999999998);
        let two53 = 2.0f64.powi(53);
        // Half-way cases (spacing is 2 above 2**53, 1 below): a tie goes to
        // even, and fsum's final correction lets a tiny partial break it.
        assert_eq!(fsum(&[two53, 1.0]), two53);
        assert_eq!(fsum(&[two53, -0.5]), two53);
        assert_eq!(fsum(&[two53, 1.0, 2.0f64.powi(-100)]), two53 + 2.0);
        assert_eq!(fsum(&[two53, 1.0, -(2.0f64.powi(-100))]), two53);
        assert_eq!(fsum(&[two53, -0.5, -(2.0f64.powi(-100))]), two53 - 1.0);
        assert_eq!(fsum(&[two53, 1.0, 0.5, -(2.0f64.powi(-100))]), two53 + 2.0);
        // sum(1/n**2 for n in 1..10**5) with math.fsum:
        let v: Vec<f64> = (1..100_000).map(|n| 1.0 / (n as f64 * n as f64)).collect();
        assert_eq!(fsum(&v), 1.6449240667982263);
        // CPython test: [1.7**(i+1) - 1.7**i for i in range(1000)] + [-1.7**1000]
        let mut v: Vec<f64> = (0..1000)
            .map(|i| 1.7f64.powf(f64::from(i + 1)) - 1.7f64.powf(f64::from(i)))
            .collect();
        v.push(-(1.7f64.powf(1000.0)));
        assert_eq!(fsum(&v), -1.0);
    }

    #[test]
    fn merge_equals_sequential() {
        let a: Vec<f64> = (0..1000).map(|i| (i as f64).sin() * 1e10).collect();
        let b: Vec<f64> = (0..1000).map(|i| (i as f64).cos() * 1e-5).collect();
        let mut sa: ExactSum = a.iter().copied().collect();
        let sb: ExactSum = b.iter().copied().collect();
        sa.merge(&sb);
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        assert_eq!(sa.value().to_bits(), fsum(&all).to_bits());
        assert_eq!(sa, all.iter().copied().collect::<ExactSum>());
    }

    #[test]
    fn serde_roundtrip_is_canonical() {
        let fwd: ExactSum = [1e100, 3.0, -1e100, 0.1, 1e-30].into_iter().collect();
        let rev: ExactSum = [1e-30, 0.1, -1e100, 3.0, 1e100].into_iter().collect();
        let jf = serde_json::to_string(&fwd).expect("serialize");
        let jr = serde_json::to_string(&rev).expect("serialize");
        assert_eq!(jf, jr);
        // The serde representation round-trips exactly. (JSON text itself
        // only does so with serde_json's `float_roundtrip` feature.)
        let back = ExactSum::from(Vec::<f64>::from(rev.clone()));
        assert_eq!(back, fwd);
        assert_eq!(back.value().to_bits(), fwd.value().to_bits());
    }

    fn finite_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1e6f64..1e6,
            (-300i32..300, -1.0f64..1.0).prop_map(|(e, m)| m * 10f64.powi(e)),
            Just(1e100),
            Just(-1e100),
            Just(1.0),
        ]
    }

    proptest! {
        #[test]
        fn order_independent(
            values in proptest::collection::vec(finite_value(), 0..60),
            seed in any::<u64>(),
        ) {
            let forward: ExactSum = values.iter().copied().collect();
            // Deterministic shuffle driven by the seed.
            let mut shuffled = values.clone();
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            let backward: ExactSum = shuffled.iter().copied().collect();
            prop_assert_eq!(forward.value().to_bits(), backward.value().to_bits());
            prop_assert_eq!(&forward, &backward);
            // Split-and-merge in both orders.
            let cut = (seed as usize) % (values.len() + 1);
            let mut left: ExactSum = shuffled[..cut].iter().copied().collect();
            let right: ExactSum = shuffled[cut..].iter().copied().collect();
            let mut right2 = right.clone();
            left.merge(&right);
            right2.merge(&shuffled[..cut].iter().copied().collect());
            prop_assert_eq!(left.value().to_bits(), forward.value().to_bits());
            prop_assert_eq!(right2.value().to_bits(), forward.value().to_bits());
        }

        #[test]
        fn exact_for_small_integers(values in proptest::collection::vec(-1_000_000i64..1_000_000, 0..200)) {
            let exact: i64 = values.iter().sum();
            let s: ExactSum = values.iter().map(|&v| v as f64).collect();
            prop_assert_eq!(s.value(), exact as f64);
        }

        #[test]
        fn canonical_partials_sum_back(values in proptest::collection::vec(finite_value(), 0..40)) {
            let s: ExactSum = values.iter().copied().collect();
            let c = s.canonical_partials();
            let rebuilt: ExactSum = c.iter().copied().collect();
            prop_assert_eq!(rebuilt.value().to_bits(), s.value().to_bits());
            prop_assert_eq!(rebuilt.canonical_partials(), c);
        }
    }
}
