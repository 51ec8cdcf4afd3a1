//! The exact quantile of the standard gamma distribution (scale 1), by Halley's
//! method on statrs' regularized incomplete gamma functions, inside a bracket.
//!
//! statrs' `Gamma::inverse_cdf` bisects to a loose tolerance (tens of CDF calls
//! per value, a u-error near 1e-9 at best). This solves `P(a, x) = u` below the
//! median and `Q(a, x) = 1 − u` above it (so the upper tail keeps its absolute
//! precision), from a closed-form start, with every step kept inside a bracket
//! that shrinks around the root: a step that would leave it is replaced by a
//! bisection (geometric where the bracket spans orders of magnitude), so the
//! iteration always ends. It is the fallback of the tabulated inverse
//! ([`super::pinv`]) and builds its knots.

use super::normal::std_normal_quantile;
use statrs::function::gamma::{gamma_lr, gamma_ur, ln_gamma};

/// Iterations before the bracket's midpoint is returned (never reached in tests).
const MAX_STEPS: usize = 200;

/// A step at most this small relative to `x` ends the iteration (a few ulps).
const CONVERGED: f64 = 4.0 * f64::EPSILON;

/// The standard gamma distribution Gamma(`shape`, 1): CDF, survival function,
/// density and exact quantile.
#[derive(Clone, Debug)]
pub(super) struct StdGamma {
    shape: f64,
    ln_gamma: f64,
}

impl StdGamma {
    /// Gamma(`shape`, 1), `shape` > 0 and finite.
    pub(super) fn new(shape: f64) -> StdGamma {
        StdGamma {
            shape,
            ln_gamma: ln_gamma(shape),
        }
    }

    /// `P(a, x)`, the CDF at `x ≥ 0`.
    pub(super) fn cdf(&self, x: f64) -> f64 {
        gamma_lr(self.shape, x)
    }

    /// `Q(a, x) = 1 − P(a, x)`, computed as such (relative precision in the upper tail).
    pub(super) fn sf(&self, x: f64) -> f64 {
        gamma_ur(self.shape, x)
    }

    /// The density at `x > 0`.
    fn density(&self, x: f64) -> f64 {
        ((self.shape - 1.0) * x.ln() - x - self.ln_gamma).exp()
    }

    /// A start for the iteration: the small-`x` series `P ≈ x^a / Γ(a + 1)` in the
    /// lower tail, Wilson–Hilferty's cube of a normal score elsewhere.
    fn start(&self, u: f64) -> f64 {
        let a = self.shape;
        let series = ((u.ln() + ln_gamma(a + 1.0)) / a).exp();
        let z = std_normal_quantile(u);
        let cube = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * a.sqrt());
        let wilson_hilferty = a * cube * cube * cube;
        if wilson_hilferty > 0.0 && (u >= 0.5 || series > wilson_hilferty) {
            wilson_hilferty
        } else {
            series
        }
    }

    /// The `u`-quantile, `u ∈ [0, 1]`: 0 at 0, +∞ at 1, NaN for NaN.
    pub(super) fn quantile(&self, u: f64) -> f64 {
        if !(u > 0.0 && u < 1.0) {
            return if u == 0.0 {
                0.0
            } else if u == 1.0 {
                f64::INFINITY
            } else {
                f64::NAN
            };
        }
        let upper = u > 0.5;
        // Exact (Sterbenz) for u in (½, 1).
        let target = if upper { 1.0 - u } else { u };
        // The residual, increasing in x: P − u below the median, (1 − u) − Q above.
        let residual = |x: f64| {
            if upper {
                target - self.sf(x)
            } else {
                self.cdf(x) - target
            }
        };
        let start = self.start(u).max(f64::MIN_POSITIVE);
        let bend = |x: f64| (self.shape - 1.0) / x - 1.0;
        let density = |x: f64| self.density(x);
        bracketed_halley(residual, density, bend, start, (0.0, f64::INFINITY))
    }
}

/// The root of `residual`, an increasing function with derivative `density` and
/// `bend = density′/density`, in `bracket = (lo, hi)` (`hi` may be +∞), by
/// Halley's method from `start`: the bracket shrinks around the root with every
/// evaluation and a step that would leave it is replaced by a split of it, so the
/// iteration ends, at a few ulps of the root or after [`MAX_STEPS`].
pub(super) fn bracketed_halley(
    residual: impl Fn(f64) -> f64,
    density: impl Fn(f64) -> f64,
    bend: impl Fn(f64) -> f64,
    start: f64,
    bracket: (f64, f64),
) -> f64 {
    let (mut lo, mut hi) = bracket;
    // Steps are measured against the distance to the nearer end of the support
    // (the bracket's): near a beta's upper end that is `1 − x`, not `x`.
    let scale = |x: f64| x.min(bracket.1 - x);
    let mut x = start;
    for _ in 0..MAX_STEPS {
        let r = residual(x);
        if r == 0.0 {
            return x;
        }
        if r < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let newton = r / density(x);
        let step = newton / (1.0 - 0.5 * newton * bend(x));
        let next = x - step;
        if next > lo && next < hi && step.is_finite() {
            if step.abs() <= CONVERGED * scale(next) {
                return next;
            }
            x = next;
        } else {
            x = split(lo, hi, x);
            if !(x > lo && x < hi) {
                // `lo` and `hi` are neighbouring doubles.
                return if r < 0.0 { lo } else { hi };
            }
        }
    }
    x
}

/// A point strictly inside `(lo, hi)` (`hi` may be +∞): the double of `x` for an
/// open bracket, the geometric mean where `hi / lo` is large, the midpoint otherwise.
fn split(lo: f64, hi: f64, x: f64) -> f64 {
    if hi.is_infinite() {
        2.0 * x.max(lo)
    } else if lo > 0.0 && hi > 4.0 * lo {
        (lo * hi).sqrt()
    } else if lo == 0.0 {
        0.125 * hi
    } else {
        0.5 * (lo + hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The root is found to the precision of `P` and `Q`: a u-error of 1e-12
    /// relative to the smaller tail, plus what one ulp of `x` moves the CDF.
    #[test]
    fn solves_the_incomplete_gamma_in_both_tails() {
        for shape in [0.05, 0.3, 1.0, 2.5, 20.0, 400.0] {
            let g = StdGamma::new(shape);
            for u in [1e-300, 1e-12, 1e-6, 0.01, 0.3, 0.5, 0.7, 0.99, 1.0 - 1e-12] {
                let x = g.quantile(u);
                let (got, want) = if u > 0.5 {
                    (g.sf(x), 1.0 - u)
                } else {
                    (g.cdf(x), u)
                };
                let slack = 1e-12 * want + 4.0 * g.density(x) * x * f64::EPSILON;
                assert!(
                    (got - want).abs() <= slack,
                    "shape {shape} u {u}: x {x}, tail {got:e} against {want:e}"
                );
            }
        }
    }

    #[test]
    fn exponential_case_and_ends() {
        let g = StdGamma::new(1.0);
        let x = g.quantile(0.7);
        assert!((x + (0.3f64).ln()).abs() <= 4.0 * f64::EPSILON * x);
        assert_eq!(g.quantile(0.0), 0.0);
        assert_eq!(g.quantile(1.0), f64::INFINITY);
        assert!(g.quantile(f64::NAN).is_nan());
    }
}
