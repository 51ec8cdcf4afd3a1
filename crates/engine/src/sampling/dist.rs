//! Validated univariate distributions, sampled by inverse CDF.
//!
//! Every distribution maps a uniform variate `u ∈ (0, 1)` to a value through its
//! quantile function. That single mechanism is what lets entities that share one
//! underlying variate (a `scope` coarser than the entity) move together
//! comonotonically, each through its own distribution, and it is what Latin hypercube
//! and quasi-random designs need as well.
//!
//! A [`Dist`] can only be built through [`Dist::new`], which rejects impossible
//! arguments, so an invalid distribution cannot exist after loading.

use super::elementary::exp;
use super::pinv::{Inversion, Record, from_records};
use statrs::function::erf;
use std::sync::Arc;

pub use super::normal::std_normal_quantile;

/// Distribution family and arguments, as written in a config, before validation.
#[derive(Clone, Debug, PartialEq)]
pub enum DistSpec {
    /// A point mass.
    Fixed { value: f64 },
    /// Uniform on `[min, max]`.
    Uniform { min: f64, max: f64 },
    /// Triangular on `[min, max]` with the given mode.
    Triangular { min: f64, mode: f64, max: f64 },
    /// Beta-PERT on `[min, max]`; `shape` is 4 in the classic PERT.
    Pert {
        min: f64,
        mode: f64,
        max: f64,
        shape: f64,
    },
    /// Normal, optionally truncated to `[min, max]` (either side may be absent).
    Normal {
        mean: f64,
        sd: f64,
        min: Option<f64>,
        max: Option<f64>,
    },
    /// Lognormal with `mu` and `sigma` of the natural log of the value.
    LogNormal { mu: f64, sigma: f64 },
    /// Beta(alpha, beta) rescaled from `[0, 1]` to `[min, max]`.
    Beta {
        alpha: f64,
        beta: f64,
        min: f64,
        max: f64,
    },
    /// Gamma with shape `k` and scale `θ` (mean kθ).
    Gamma { shape: f64, scale: f64 },
}

/// A validated distribution with its quantile function ready to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct Dist {
    kind: Kind,
    spec: DistSpec,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Fixed(f64),
    Uniform {
        min: f64,
        width: f64,
    },
    Triangular {
        min: f64,
        max: f64,
        mode_cdf: f64,
        left_area: f64,
        right_area: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    /// `mean + scale·Φ⁻¹(u_lo + u·u_width)` clamped to `[min, max]`: `u_lo` is
    /// `Φ` at the window's lower end and `scale` the sd, or, for a window whose
    /// lower end lies above the mean, the mirrored form (`u_lo` the survival
    /// function `1 − Φ` there, `u_width < 0`, `scale = −sd`), which keeps the
    /// level's absolute precision where `Φ` is close to 1.
    TruncatedNormal {
        mean: f64,
        scale: f64,
        u_lo: f64,
        u_width: f64,
        min: f64,
        max: f64,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    /// Beta (and PERT) on `[min, min + width]`.
    Beta(TableMap),
    /// Gamma: `min` 0, `width` the scale.
    Gamma(TableMap),
}

/// Why a set of distribution arguments is impossible.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DistError {
    /// An argument is NaN or infinite.
    #[error("`{0}` must be a finite number")]
    NotFinite(&'static str),
    /// An argument that must be positive (or ≥ 0) is not.
    #[error("`{name}` must be {requirement}, got {value}")]
    OutOfRange {
        name: &'static str,
        requirement: &'static str,
        value: f64,
    },
    /// `min` is not below `max`.
    #[error("`min` ({min}) must be below `max` ({max})")]
    EmptyRange { min: f64, max: f64 },
    /// The mode lies outside `[min, max]`.
    #[error("`mode` ({mode}) must lie in [min, max] = [{min}, {max}]")]
    ModeOutside { min: f64, mode: f64, max: f64 },
}

fn finite(name: &'static str, value: f64) -> Result<f64, DistError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(DistError::NotFinite(name))
    }
}

fn positive(name: &'static str, value: f64) -> Result<f64, DistError> {
    if finite(name, value)? > 0.0 {
        Ok(value)
    } else {
        Err(DistError::OutOfRange {
            name,
            requirement: "> 0",
            value,
        })
    }
}

fn non_negative(name: &'static str, value: f64) -> Result<f64, DistError> {
    if finite(name, value)? >= 0.0 {
        Ok(value)
    } else {
        Err(DistError::OutOfRange {
            name,
            requirement: "≥ 0",
            value,
        })
    }
}

fn ordered(min: f64, max: f64) -> Result<(), DistError> {
    finite("min", min)?;
    finite("max", max)?;
    if min < max {
        Ok(())
    } else {
        Err(DistError::EmptyRange { min, max })
    }
}

fn mode_inside(min: f64, mode: f64, max: f64) -> Result<(), DistError> {
    ordered(min, max)?;
    finite("mode", mode)?;
    if (min..=max).contains(&mode) {
        Ok(())
    } else {
        Err(DistError::ModeOutside { min, mode, max })
    }
}

/// Standard normal CDF Φ(x).
#[inline]
pub fn std_normal_cdf(x: f64) -> f64 {
    0.5 * erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal CDF Φ(z) to about 1e-16 relative in the lower tail, as
/// `½·Q(½, z²/2)` with statrs' regularized incomplete gamma (and `½ + ½·P(½, z²/2)`
/// above 0). statrs' `erfc` is off by up to about 1e-11 (Φ(−1) by 1.4e-11),
/// which as a truncation window's end would be a u-error of that size.
fn precise_std_normal_cdf(z: f64) -> f64 {
    use statrs::function::gamma::{checked_gamma_lr, checked_gamma_ur};
    let half_square = 0.5 * z * z;
    // An infinite or NaN z (a tiny sd) is left to erfc, which maps it as before.
    let precise = if !half_square.is_finite() {
        Err(())
    } else if half_square == 0.0 {
        Ok(0.5)
    } else if z < 0.0 {
        checked_gamma_ur(0.5, half_square)
            .map(|q| 0.5 * q)
            .map_err(|_| ())
    } else {
        checked_gamma_lr(0.5, half_square)
            .map(|p| 0.5 + 0.5 * p)
            .map_err(|_| ())
    };
    precise.unwrap_or_else(|()| std_normal_cdf(z))
}

impl Dist {
    /// Validates the arguments and prepares the quantile function.
    pub fn new(spec: DistSpec) -> Result<Dist, DistError> {
        let kind = match spec {
            DistSpec::Fixed { value } => Kind::Fixed(finite("value", value)?),
            DistSpec::Uniform { min, max } => {
                ordered(min, max)?;
                Kind::Uniform {
                    min,
                    width: max - min,
                }
            }
            DistSpec::Triangular { min, mode, max } => {
                mode_inside(min, mode, max)?;
                let width = max - min;
                Kind::Triangular {
                    min,
                    max,
                    mode_cdf: (mode - min) / width,
                    left_area: width * (mode - min),
                    right_area: width * (max - mode),
                }
            }
            DistSpec::Pert {
                min,
                mode,
                max,
                shape,
            } => {
                mode_inside(min, mode, max)?;
                positive("shape", shape)?;
                let width = max - min;
                Kind::Beta(TableMap {
                    inversion: Inversion::beta(
                        1.0 + shape * (mode - min) / width,
                        1.0 + shape * (max - mode) / width,
                    ),
                    min,
                    width,
                })
            }
            DistSpec::Normal { mean, sd, min, max } => {
                finite("mean", mean)?;
                non_negative("sd", sd)?;
                Self::normal_kind(mean, sd, min, max)?
            }
            DistSpec::LogNormal { mu, sigma } => {
                finite("mu", mu)?;
                non_negative("sigma", sigma)?;
                Kind::LogNormal { mu, sigma }
            }
            DistSpec::Beta {
                alpha,
                beta,
                min,
                max,
            } => {
                positive("alpha", alpha)?;
                positive("beta", beta)?;
                ordered(min, max)?;
                Kind::Beta(TableMap {
                    inversion: Inversion::beta(alpha, beta),
                    min,
                    width: max - min,
                })
            }
            DistSpec::Gamma { shape, scale } => {
                positive("shape", shape)?;
                positive("scale", scale)?;
                if !(1.0 / scale).is_finite() {
                    return Err(DistError::OutOfRange {
                        name: "scale",
                        requirement: "a positive number whose reciprocal is finite",
                        value: scale,
                    });
                }
                Kind::Gamma(TableMap {
                    inversion: Inversion::gamma(shape),
                    min: 0.0,
                    width: scale,
                })
            }
        };
        Ok(Dist { kind, spec })
    }

    fn normal_kind(
        mean: f64,
        sd: f64,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<Kind, DistError> {
        if min.is_none() && max.is_none() {
            return Ok(Kind::Normal { mean, sd });
        }
        let lo = min
            .map(|m| finite("min", m))
            .transpose()?
            .unwrap_or(f64::NEG_INFINITY);
        let hi = max
            .map(|m| finite("max", m))
            .transpose()?
            .unwrap_or(f64::INFINITY);
        if lo >= hi {
            return Err(DistError::EmptyRange { min: lo, max: hi });
        }
        if sd == 0.0 {
            return Ok(Kind::Fixed(mean.clamp(lo, hi)));
        }
        let (z_lo, z_hi) = ((lo - mean) / sd, (hi - mean) / sd);
        let cdf_lo = precise_std_normal_cdf(z_lo);
        let cdf_hi = precise_std_normal_cdf(z_hi);
        // Above the median the survival function keeps the absolute precision
        // that `Φ`, rounded near 1, loses (a window 6 sd up holds 1e-9).
        let mirrored = cdf_lo > 0.5;
        let (u_lo, u_hi, scale) = if mirrored {
            (
                precise_std_normal_cdf(-z_lo),
                precise_std_normal_cdf(-z_hi),
                -sd,
            )
        } else {
            (cdf_lo, cdf_hi, sd)
        };
        if (u_hi - u_lo).abs() <= 1e-12 {
            // The window holds (almost) no mass: sampling it by inversion is meaningless.
            return Err(DistError::OutOfRange {
                name: "min/max",
                requirement: "a window that holds some of the normal's mass (it lies > 7 sd from the mean)",
                value: if cdf_hi < 0.5 { hi } else { lo },
            });
        }
        Ok(Kind::TruncatedNormal {
            mean,
            scale,
            u_lo,
            u_width: u_hi - u_lo,
            min: lo,
            max: hi,
        })
    }

    /// The arguments this distribution was built from.
    pub fn spec(&self) -> &DistSpec {
        &self.spec
    }

    /// Maps a uniform variate `u ∈ (0, 1)` to a value (the quantile function).
    #[inline]
    pub fn quantile(&self, u: f64) -> f64 {
        match &self.kind {
            Kind::Fixed(v) => *v,
            Kind::Uniform { min, width } => min + u * width,
            Kind::Triangular { .. } => self
                .triangular_map()
                .expect("a triangular distribution")
                .quantile(u),
            Kind::Normal { .. } | Kind::LogNormal { .. } => {
                self.quantile_from_z(std_normal_quantile(u))
            }
            Kind::TruncatedNormal { .. } => {
                // Through the map the batch path uses, so both do the same operations.
                let m = self.z_map().expect("a truncated normal maps z");
                (m.shift + m.scale * std_normal_quantile(m.u_lo + u * m.u_width))
                    .clamp(m.min, m.max)
            }
            Kind::Beta(map) | Kind::Gamma(map) => map.quantile(u),
        }
    }

    /// Whether the quantile depends on `u` only through the standard normal score
    /// `z = Φ⁻¹(u)` (normal and lognormal, not truncated), so that entities reading
    /// one shared variate through different such distributions can share `z`.
    #[inline]
    pub fn reads_z(&self) -> bool {
        matches!(self.kind, Kind::Normal { .. } | Kind::LogNormal { .. })
    }

    /// The value at standard normal score `z`. With `z = std_normal_quantile(u)` it
    /// equals `self.quantile(u)` bit for bit ([`Self::quantile`] goes through it).
    ///
    /// # Panics
    /// If [`Self::reads_z`] is false.
    #[inline]
    pub fn quantile_from_z(&self, z: f64) -> f64 {
        match self.kind {
            Kind::Normal { mean, sd } => mean + sd * z,
            Kind::LogNormal { mu, sigma } => exp(mu + sigma * z),
            _ => unreachable!("quantile_from_z on a distribution that does not read z"),
        }
    }

    /// The inverse CDF of a triangular distribution, as [`Self::quantile`]
    /// computes it (`None` for other kinds).
    pub(crate) fn triangular_map(&self) -> Option<TriangularMap> {
        match self.kind {
            Kind::Triangular {
                min,
                max,
                mode_cdf,
                left_area,
                right_area,
            } => Some(TriangularMap {
                min,
                max,
                mode_cdf,
                left_area,
                right_area,
            }),
            _ => None,
        }
    }

    /// The tabulated inverse CDF of a beta, PERT or gamma distribution, as
    /// [`Self::quantile`] computes it (`None` for other kinds).
    pub(crate) fn table_map(&self) -> Option<&TableMap> {
        match &self.kind {
            Kind::Beta(map) | Kind::Gamma(map) => Some(map),
            _ => None,
        }
    }

    /// How the value follows from a uniform `u` through a standard normal score, for
    /// the normal family: `z = Φ⁻¹(u_lo + u·u_width)`, then `shift + scale·z`
    /// clamped to `[min, max]`, exponentiated for a lognormal; the same operations
    /// as [`Self::quantile`].
    /// A fixed value as a normal of sd 0, for a batch of normals; `None` for any
    /// other distribution, and for −0.0, which `−0.0 + 0·z` would turn into +0.0.
    pub(crate) fn fixed_as_z_map(&self) -> Option<ZMap> {
        match self.kind {
            Kind::Fixed(v) if v != 0.0 || v.is_sign_positive() => Some(ZMap {
                u_lo: 0.0,
                u_width: 1.0,
                shift: v,
                scale: 0.0,
                min: f64::NEG_INFINITY,
                max: f64::INFINITY,
                log: false,
            }),
            _ => None,
        }
    }

    pub(crate) fn z_map(&self) -> Option<ZMap> {
        let plain = |shift, scale, log| ZMap {
            u_lo: 0.0,
            u_width: 1.0,
            shift,
            scale,
            min: f64::NEG_INFINITY,
            max: f64::INFINITY,
            log,
        };
        match self.kind {
            Kind::Normal { mean, sd } => Some(plain(mean, sd, false)),
            Kind::LogNormal { mu, sigma } => Some(plain(mu, sigma, true)),
            Kind::TruncatedNormal {
                mean,
                scale,
                u_lo,
                u_width,
                min,
                max,
            } => Some(ZMap {
                u_lo,
                u_width,
                shift: mean,
                scale,
                min,
                max,
                log: false,
            }),
            _ => None,
        }
    }

    /// The median, used as the distribution's central value.
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// Whether every variate maps to the same value (no random variate needed).
    pub fn is_degenerate(&self) -> bool {
        match self.kind {
            Kind::Fixed(_) => true,
            Kind::Normal { sd, .. } => sd == 0.0,
            Kind::LogNormal { sigma, .. } => sigma == 0.0,
            _ => false,
        }
    }

    /// The closed support `[lo, hi]`; an infinite end means the family is unbounded
    /// on that side. `open_lo` is true where the lower end is never reached (lognormal
    /// and gamma at 0).
    pub fn support(&self) -> Support {
        let closed = |lo: f64, hi: f64| Support {
            lo,
            hi,
            open_lo: false,
        };
        match &self.kind {
            Kind::Fixed(v) => closed(*v, *v),
            Kind::Uniform { min, width } => closed(*min, min + width),
            Kind::Triangular { min, max, .. } => closed(*min, *max),
            Kind::Normal { mean, sd } if *sd == 0.0 => closed(*mean, *mean),
            Kind::Normal { .. } => closed(f64::NEG_INFINITY, f64::INFINITY),
            Kind::TruncatedNormal { min, max, .. } => closed(*min, *max),
            Kind::LogNormal { mu, sigma } if *sigma == 0.0 => closed(exp(*mu), exp(*mu)),
            Kind::LogNormal { .. } | Kind::Gamma(_) => Support {
                lo: 0.0,
                hi: f64::INFINITY,
                open_lo: true,
            },
            Kind::Beta(map) => closed(map.min, map.min + map.width),
        }
    }
}

/// A triangular distribution's inverse CDF (see [`Dist::triangular_map`]):
/// `min + √(u·left_area)` below `mode_cdf`, `max − √((1 − u)·right_area)` above.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TriangularMap {
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) mode_cdf: f64,
    pub(crate) left_area: f64,
    pub(crate) right_area: f64,
}

impl TriangularMap {
    /// The quantile of level `u`: [`Dist::quantile`]'s operations, with the
    /// branch taken as a select, so that loops over entities need no
    /// unpredictable branch (and vectorize).
    #[inline(always)]
    pub(crate) fn quantile(&self, u: f64) -> f64 {
        let left = u < self.mode_cdf;
        let area = if left {
            u * self.left_area
        } else {
            (1.0 - u) * self.right_area
        };
        let root = area.sqrt();
        if left {
            self.min + root
        } else {
            self.max - root
        }
    }
}

/// A beta, PERT or gamma quantile function: `min + width·Q(u)`, `Q` the
/// standard family's shared inverse ([`Inversion`], tabulated where setup met
/// its u-error bound).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TableMap {
    pub(crate) inversion: Arc<Inversion>,
    pub(crate) min: f64,
    pub(crate) width: f64,
}

impl TableMap {
    /// The quantile of level `u`; the batch path and [`Dist::quantile`] both call it.
    #[inline(always)]
    pub(crate) fn quantile(&self, u: f64) -> f64 {
        self.min + self.width * self.inversion.quantile(u)
    }
}

/// Levels interpolated together by [`table_quantiles`].
const LANES: usize = 8;

/// Levels whose intervals [`table_quantiles`] looks up before interpolating any.
const LOOKUPS: usize = 256;

/// `xs[k] = maps[k].quantile(us[k])` (slices of one length), bit for bit. The
/// intervals of up to [`LOOKUPS`] levels are looked up first, so that the
/// cache misses of many tables overlap, then the polynomials of [`LANES`]
/// levels are evaluated together ([`from_records`]); a group with a level
/// outside its table's range takes [`TableMap::quantile`] value by value.
#[inline(always)]
pub(crate) fn table_quantiles(maps: &[TableMap], us: &[f64], xs: &mut [f64]) {
    let n = us.len();
    let (maps, xs) = (&maps[..n], &mut xs[..n]);
    let outside: &Record = &[0.0; _];
    let mut records: [&Record; LOOKUPS] = [outside; LOOKUPS];
    for first in (0..n).step_by(LOOKUPS) {
        let last = n.min(first + LOOKUPS);
        let (maps, us, xs) = (&maps[first..last], &us[first..last], &mut xs[first..last]);
        let mut tabulated = [true; LOOKUPS];
        for (k, (map, &u)) in maps.iter().zip(us).enumerate() {
            match map.inversion.record(u) {
                Some(record) => records[k] = record,
                None => tabulated[k] = false,
            }
        }
        let groups = us.len() / LANES * LANES;
        for start in (0..groups).step_by(LANES) {
            let end = start + LANES;
            let maps = &maps[start..end];
            let levels: &[f64; LANES] = us[start..end].try_into().expect("LANES levels");
            if tabulated[start..end].iter().all(|&t| t) {
                let group = records[start..end].try_into().expect("LANES records");
                let values = from_records(group, levels);
                for ((x, map), v) in xs[start..end].iter_mut().zip(maps).zip(values) {
                    *x = map.min + map.width * v;
                }
            } else {
                for ((x, map), &u) in xs[start..end].iter_mut().zip(maps).zip(levels) {
                    *x = map.quantile(u);
                }
            }
        }
        for ((x, map), &u) in xs[groups..]
            .iter_mut()
            .zip(&maps[groups..])
            .zip(&us[groups..])
        {
            *x = map.quantile(u);
        }
    }
}

/// The map from a uniform to a value of the normal family (see [`Dist::z_map`]).
/// For an untruncated distribution `u_lo + u·u_width = u` and the clamp does
/// nothing, exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ZMap {
    pub(crate) u_lo: f64,
    pub(crate) u_width: f64,
    pub(crate) shift: f64,
    pub(crate) scale: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) log: bool,
}

/// The set of values a distribution can produce.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Support {
    /// Lowest value (may be −∞).
    pub lo: f64,
    /// Highest value (may be +∞).
    pub hi: f64,
    /// True when `lo` itself is never produced.
    pub open_lo: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(spec: DistSpec) -> Dist {
        Dist::new(spec).expect("valid")
    }

    #[test]
    fn uniform_and_fixed_quantiles() {
        let d = dist(DistSpec::Uniform { min: 2.0, max: 6.0 });
        assert_eq!(d.quantile(0.25), 3.0);
        assert_eq!(dist(DistSpec::Fixed { value: 1.5 }).quantile(0.9), 1.5);
    }

    #[test]
    fn triangular_quantile_matches_cdf_by_hand() {
        // min 0, mode 1, max 4: F(1) = 1/4; F(x) = x²/4 on [0,1].
        let d = dist(DistSpec::Triangular {
            min: 0.0,
            mode: 1.0,
            max: 4.0,
        });
        assert!((d.quantile(0.0625) - 0.5).abs() < 1e-12);
        // On [1,4]: F(x) = 1 − (4−x)²/12; F(2.5) = 1 − 2.25/12.
        assert!((d.quantile(1.0 - 2.25 / 12.0) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn normal_quantile_reference_values() {
        // Φ⁻¹(0.975) = 1.959963984540054 (R: qnorm(0.975)).
        assert!((std_normal_quantile(0.975) - 1.959963984540054).abs() < 1e-13);
        assert!((std_normal_quantile(0.001) + 3.090232306167813).abs() < 1e-12);
        let d = dist(DistSpec::Normal {
            mean: 10.0,
            sd: 2.0,
            min: None,
            max: None,
        });
        assert_eq!(d.median(), 10.0);
    }

    #[test]
    fn truncated_normal_stays_inside_and_has_right_median() {
        let d = dist(DistSpec::Normal {
            mean: 0.0,
            sd: 1.0,
            min: Some(0.0),
            max: None,
        });
        // Half-normal median = Φ⁻¹(0.75) = 0.6744897501960817.
        assert!((d.median() - 0.674_489_750_196_081_7).abs() < 1e-12);
        for i in 1..1000 {
            assert!(d.quantile(i as f64 / 1000.0) >= 0.0);
        }
    }

    #[test]
    fn lognormal_quantile_is_closed_form() {
        let d = dist(DistSpec::LogNormal {
            mu: 1.0,
            sigma: 0.5,
        });
        let z = std_normal_quantile(0.9);
        assert!((d.quantile(0.9) - (1.0 + 0.5 * z).exp()).abs() < 1e-12);
    }

    #[test]
    fn pert_and_beta_medians() {
        // Symmetric PERT: median is the mode.
        let d = dist(DistSpec::Pert {
            min: 0.0,
            mode: 5.0,
            max: 10.0,
            shape: 4.0,
        });
        assert!((d.median() - 5.0).abs() < 1e-9);
        // Beta(2, 2) quantile at 0.5 is 0.5, rescaled to [10, 20].
        let b = dist(DistSpec::Beta {
            alpha: 2.0,
            beta: 2.0,
            min: 10.0,
            max: 20.0,
        });
        assert!((b.median() - 15.0).abs() < 1e-9);
        // Beta(1, 1) is uniform.
        let u = dist(DistSpec::Beta {
            alpha: 1.0,
            beta: 1.0,
            min: 0.0,
            max: 1.0,
        });
        assert!((u.quantile(0.3) - 0.3).abs() < 1e-9);
    }

    #[test]
    fn gamma_quantile_exponential_case() {
        // Gamma(1, θ) is exponential: Q(u) = −θ ln(1−u).
        let d = dist(DistSpec::Gamma {
            shape: 1.0,
            scale: 3.0,
        });
        let expected = -3.0 * (1.0f64 - 0.7).ln();
        assert!((d.quantile(0.7) - expected).abs() < 1e-6 * expected);
    }

    /// 100,000 equally spaced levels and the tails from 1e-12 to 0.1 and from 0.9
    /// to 1 − 1e-12, four per decade.
    fn dense_levels() -> Vec<f64> {
        let n = 100_000;
        let mut u: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        for k in 0..=44 {
            let tail = 10f64.powf(-1.0 - k as f64 * 0.25);
            u.extend([tail, 1.0 - tail]);
        }
        u
    }

    /// The largest `|F(Q(u)) − u|` over `levels`, with `F` given as `(cdf, sf)`
    /// and compared on the survival side above ½ (`1 − u` is exact there), less
    /// what two ulps of `x` move `F` by: `shift + scale·z` rounds to within an ulp
    /// or so, which in a narrow window far from 0 (2e-4 wide at 10.6) is 9e-12 of
    /// its mass, and no double does better than the nearest.
    fn max_u_error(d: &Dist, levels: &[f64], cdf_sf: impl Fn(f64) -> (f64, f64)) -> f64 {
        let error = |u: f64| {
            let tail = |x: f64| {
                let (cdf, sf) = cdf_sf(x);
                if u > 0.5 { sf - (1.0 - u) } else { cdf - u }
            };
            let x = d.quantile(u);
            let error = tail(x).abs();
            let jump = (tail(x.next_up()) - tail(x))
                .abs()
                .max((tail(x) - tail(x.next_down())).abs());
            (error - 2.0 * jump).max(0.0)
        };
        levels.iter().map(|&u| error(u)).fold(0.0, f64::max)
    }

    #[test]
    fn truncated_normals_meet_the_u_error_bound_also_far_in_the_upper_tail() {
        let levels = dense_levels();
        let windows = [
            (Some(-1.0), Some(2.0)),
            (Some(0.0), None),
            (None, Some(1.0)),
            (Some(6.0), Some(7.0)),
            (Some(6.0), None),
            (Some(-7.0), Some(-6.0)),
            (Some(0.3), Some(0.3001)),
        ];
        for (min, max) in windows {
            let (mean, sd) = (10.0, 2.0);
            let d = dist(DistSpec::Normal {
                mean,
                sd,
                min: min.map(|m| mean + sd * m),
                max: max.map(|m| mean + sd * m),
            });
            let (lo, hi) = (
                min.unwrap_or(f64::NEG_INFINITY),
                max.unwrap_or(f64::INFINITY),
            );
            // Differences of Φ below the median, of 1 − Φ above it.
            let upper = precise_std_normal_cdf(lo) > 0.5;
            let phi = |z: f64| {
                if upper {
                    precise_std_normal_cdf(-z)
                } else {
                    precise_std_normal_cdf(z)
                }
            };
            let mass = (phi(hi) - phi(lo)).abs();
            let cdf_sf = |x: f64| {
                let z = (x - mean) / sd;
                let (below, above) = ((phi(z) - phi(lo)).abs(), (phi(hi) - phi(z)).abs());
                (below / mass, above / mass)
            };
            let error = max_u_error(&d, &levels, cdf_sf);
            eprintln!("truncated normal {min:?}..{max:?} sd: max u-error {error:.2e}");
            assert!(error <= 1e-12, "window {min:?}..{max:?}: u-error {error:e}");
            // The ends, to the precision of Φ⁻¹(Φ(z)), and never outside the window.
            for (u, end) in [(0.0, mean + sd * lo), (1.0, mean + sd * hi)] {
                let x = d.quantile(u);
                let inside = x >= mean + sd * lo && x <= mean + sd * hi;
                let near = x == end || (x - end).abs() <= 1e-14 * end.abs();
                assert!(inside && near, "window {min:?}..{max:?}: {x} at {u}");
            }
        }
    }

    #[test]
    fn triangular_quantiles_meet_the_u_error_bound() {
        let levels = dense_levels();
        for (min, mode, max) in [
            (0.0, 5.0, 10.0),
            (1.0, 1.5, 9.0),
            (0.0, 0.0, 1.0),
            (2.0, 3.0, 3.0),
        ] {
            let d = dist(DistSpec::Triangular { min, mode, max });
            let width = max - min;
            let cdf_sf = |x: f64| {
                let cdf = (x - min) * (x - min) / (width * (mode - min));
                let sf = (max - x) * (max - x) / (width * (max - mode));
                if x < mode {
                    (cdf, 1.0 - cdf)
                } else {
                    (1.0 - sf, sf)
                }
            };
            let error = max_u_error(&d, &levels, cdf_sf);
            eprintln!("triangular {min} {mode} {max}: max u-error {error:.2e}");
            assert!(
                error <= 1e-12,
                "triangular {min} {mode} {max}: u-error {error:e}"
            );
            assert_eq!((d.quantile(0.0), d.quantile(1.0)), (min, max));
        }
    }

    /// The interleaved evaluation has the bits of the scalar quantile, in groups
    /// of [`LANES`] inside the tables, groups with a level outside one, and the
    /// remainder.
    #[test]
    fn table_quantiles_of_many_levels_have_the_scalar_bits() {
        let specs = (0..37).map(|k| {
            let position = 0.1 + 0.8 * (k as f64 * 0.618).fract();
            match k % 3 {
                0 => DistSpec::Pert {
                    min: 1.0,
                    mode: 1.0 + 2.0 * position,
                    max: 3.0,
                    shape: 4.0,
                },
                1 => DistSpec::Beta {
                    alpha: 0.5 + 3.0 * position,
                    beta: 2.0,
                    min: 0.0,
                    max: 5.0,
                },
                _ => DistSpec::Gamma {
                    shape: 0.3 + 10.0 * position,
                    scale: 2.0,
                },
            }
        });
        let dists: Vec<Dist> = specs.map(dist).collect();
        let maps: Vec<TableMap> = dists
            .iter()
            .map(|d| d.table_map().unwrap().clone())
            .collect();
        for shift in 0..5 {
            let us: Vec<f64> = (0..maps.len())
                .map(|k| match (k + shift) % 11 {
                    0 if shift % 2 == 0 => 1e-12,
                    1 if shift % 2 == 0 => 1.0 - 1e-13,
                    j => (j as f64 + 0.3) / 11.5,
                })
                .collect();
            let mut xs = vec![0.0; maps.len()];
            table_quantiles(&maps, &us, &mut xs);
            for (k, (&x, d)) in xs.iter().zip(&dists).enumerate() {
                assert_eq!(
                    x.to_bits(),
                    d.quantile(us[k]).to_bits(),
                    "{k}, shift {shift}"
                );
            }
        }
    }

    /// A window's end many sd away (z² overflows) is mapped as erfc maps it, not
    /// a panic of the incomplete gamma.
    #[test]
    fn a_window_end_at_an_overflowing_score_does_not_panic() {
        assert_eq!(precise_std_normal_cdf(-1e300), 0.0);
        assert_eq!(precise_std_normal_cdf(1e300), 1.0);
        assert!(precise_std_normal_cdf(f64::NAN).is_nan());
        let tiny = DistSpec::Normal {
            mean: 1.0,
            sd: 1e-300,
            min: Some(0.0),
            max: None,
        };
        assert!(Dist::new(tiny).is_ok());
    }

    #[test]
    fn impossible_arguments_are_rejected() {
        let bad = [
            DistSpec::Uniform { min: 1.0, max: 1.0 },
            DistSpec::Triangular {
                min: 0.0,
                mode: 5.0,
                max: 4.0,
            },
            DistSpec::Pert {
                min: 0.0,
                mode: 1.0,
                max: 2.0,
                shape: 0.0,
            },
            DistSpec::Normal {
                mean: 0.0,
                sd: -1.0,
                min: None,
                max: None,
            },
            DistSpec::Normal {
                mean: 0.0,
                sd: 1.0,
                min: Some(2.0),
                max: Some(1.0),
            },
            DistSpec::LogNormal {
                mu: 0.0,
                sigma: -0.1,
            },
            DistSpec::Beta {
                alpha: 0.0,
                beta: 1.0,
                min: 0.0,
                max: 1.0,
            },
            DistSpec::Gamma {
                shape: 1.0,
                scale: 0.0,
            },
            DistSpec::Fixed { value: f64::NAN },
        ];
        for spec in bad {
            assert!(
                Dist::new(spec.clone()).is_err(),
                "{spec:?} should be rejected"
            );
        }
    }
}
