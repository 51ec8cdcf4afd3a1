//! `exp` and `ln` for the normal and lognormal quantiles: the same bits on every
//! platform, in loops that vectorize.
//!
//! The platform's functions (glibc, macOS libm, musl) are accurate, but each is an
//! opaque call per value, and libraries differ in the last bit, so a lognormal draw
//! could differ between machines. These are written out in plain IEEE arithmetic
//! (add, multiply, divide, square root, no fused multiply-add), so the compiler can
//! run four values per instruction in the samplers' batch loops and every target
//! computes the same bits.
//!
//! The algorithms are the classic ones of Sun's fdlibm (`e_exp.c`, `e_log.c`; also
//! in Cody and Waite, *Software Manual for the Elementary Functions*, 1980, and
//! Tang, "Table-driven implementation of the exponential function", ACM TOMS 15,
//! 1989), whose published coefficients are used here.
//! - `exp`: `x = k·ln 2 + r` with `|r| ≤ ½ ln 2`, `ln 2` split in two parts so that
//!   `k·ln2_hi` is exact, a degree-5 Remez approximation `R(r²)` of
//!   `r·(eʳ + 1)/(eʳ − 1)`, and `eʳ = 1 + r + r·c/(2 − c)` with `c = r − r²·R(r²)`.
//! - `ln`: `x = 2^k·(1 + f)` with `√2/2 ≤ 1 + f < √2`, `s = f/(2 + f)`, and
//!   `ln(1 + f) = 2s + s·R(s²)` with a degree-7 Remez polynomial `R`.
//!
//! fdlibm states an error below 1 ulp for both; the tests measure it against the
//! platform's functions (glibc here): at most 1 ulp apart, and the same bits for
//! about 90 % of arguments of `exp` and 98 % of those of `ln`.

/// `ln 2` rounded to 32 significant bits, so `k·LN2_HI` is exact for `|k| < 2²¹`.
#[allow(clippy::excessive_precision)]
const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
/// `ln 2 − LN2_HI`.
#[allow(clippy::excessive_precision)]
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
/// `1 / ln 2`.
const INV_LN2: f64 = std::f64::consts::LOG2_E;
/// Remez coefficients of fdlibm's `e_exp.c` (P1 … P5).
#[allow(clippy::excessive_precision)]
const P: [f64; 5] = [
    1.666_666_666_666_660_190_37e-1,
    -2.777_777_777_701_559_338_42e-3,
    6.613_756_321_437_934_361_17e-5,
    -1.653_390_220_546_525_153_90e-6,
    4.138_136_797_057_238_460_39e-8,
];
/// Above this, `eˣ` overflows to `+∞` (`ln(f64::MAX) ≈ 709.78`).
const OVERFLOW: f64 = 710.0;
/// Below this, `eˣ` rounds to 0 (`ln` of the smallest subnormal ≈ −744.44).
const UNDERFLOW: f64 = -746.0;
/// `1.5 · 2⁵²`: adding it rounds to an integer (ties to even) in the low bits.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// `eˣ` to within 1 ulp, identical on every target.
///
/// `+∞` above about 709.78, `0` below about −745.13 (through the subnormals), NaN
/// for NaN; `exp(0) = 1` exactly. Branch-free, so that loops over it vectorize.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Clamped so that k stays within ±1077; NaN compares false and stays NaN.
    let x = if x > OVERFLOW { OVERFLOW } else { x };
    let x = if x < UNDERFLOW { UNDERFLOW } else { x };
    // k = round(x / ln 2), from the low mantissa bits of the shifted sum.
    let shifted = x * INV_LN2 + ROUND;
    let k = shifted.to_bits() as i32;
    let kf = shifted - ROUND;
    let hi = x - kf * LN2_HI;
    let lo = kf * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let c = r - t * (P[0] + t * (P[1] + t * (P[2] + t * (P[3] + t * P[4]))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // y · 2^k in two exact steps (each factor a normal power of two), so that a
    // subnormal result is rounded once, like a scaling of the exact value.
    let k1 = k >> 1;
    y * pow2(k1) * pow2(k - k1)
}

/// Coefficients Lg1 … Lg7 of fdlibm's `e_log.c`.
#[allow(clippy::excessive_precision)]
const LG: [f64; 7] = [
    6.666_666_666_666_735_130e-1,
    3.999_999_999_940_941_908e-1,
    2.857_142_874_366_239_149e-1,
    2.222_219_843_214_978_396e-1,
    1.818_357_216_161_805_012e-1,
    1.531_383_769_920_937_332e-1,
    1.479_819_860_511_658_591e-1,
];
/// `2⁵⁴`: scales a subnormal argument of `ln` into the normal range.
const TWO54: f64 = 18_014_398_509_481_984.0;

/// `ln x` to within 1 ulp for finite `x > 0` (subnormals included), identical on
/// every target. Other arguments give unspecified values: callers check them.
/// Branch-free, so that loops over it vectorize.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    let subnormal = x < f64::MIN_POSITIVE;
    let x = if subnormal { x * TWO54 } else { x };
    let bits = x.to_bits();
    let high = (bits >> 32) as i32;
    let k = (high >> 20) - 1023 - if subnormal { 54 } else { 0 };
    let mantissa_high = high & 0x000f_ffff;
    // Whether 1 + f is scaled by ½, so that it lies in [√2/2, √2).
    let halve = (mantissa_high + 0x95f64) & 0x10_0000;
    let normalized_high = (mantissa_high | (halve ^ 0x3ff0_0000)) as u32;
    let normalized = f64::from_bits((u64::from(normalized_high) << 32) | (bits & 0xffff_ffff));
    let k = k + (halve >> 20);
    let f = normalized - 1.0;
    let s = f / (2.0 + f);
    let dk = f64::from(k);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG[1] + w * (LG[3] + w * LG[5]));
    let t2 = z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])));
    let r = t2 + t1;
    let half_f_squared = 0.5 * f * f;
    // fdlibm's two forms, chosen by where 1 + f lies (the one of them with k = 0
    // is the same expression with dk = 0).
    let far_from_one = ((mantissa_high - 0x6147a) | (0x6b851 - mantissa_high)) > 0;
    let far = dk * LN2_HI - ((half_f_squared - (s * (half_f_squared + r) + dk * LN2_LO)) - f);
    let near = dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f);
    if far_from_one { far } else { near }
}

/// `2^e` for `−1022 ≤ e ≤ 1023`.
#[inline(always)]
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite positive values.
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Within 1 ulp of the platform's `exp` (itself within about ½ ulp of the true
    /// value) over the whole finite range, densely where lognormal draws fall.
    #[test]
    fn within_one_ulp_of_the_platform_exp() {
        let mut worst = (0, 0.0);
        let mut differ = 0usize;
        let n = 2_000_000;
        for i in 0..=n {
            // Dense on [-40, 40], then a sweep of the whole range.
            for x in [
                -40.0 + 80.0 * i as f64 / n as f64,
                -745.0 + 1454.7 * i as f64 / n as f64,
            ] {
                let (ours, platform) = (exp(x), x.exp());
                let d = ulps(ours, platform);
                differ += usize::from(d != 0);
                if d > worst.0 {
                    worst = (d, x);
                }
            }
        }
        assert!(worst.0 <= 1, "{} ulps at x = {:e}", worst.0, worst.1);
        // Measured: 9.6 % of the values differ in the last bit (glibc 2.x rounds
        // correctly nearly always; this one is faithful).
        assert!(differ < (2 * n) / 8, "{differ} of {} values differ", 2 * n);
    }

    /// Within 1 ulp of the platform's `ln` from the smallest subnormal to the
    /// largest finite value, densely on the tail probabilities of the normal
    /// quantile.
    #[test]
    fn ln_within_one_ulp_of_the_platform_ln() {
        let mut worst = (0, 0.0);
        let mut differ = 0usize;
        let n = 2_000_000;
        for i in 0..=n {
            let t = i as f64 / n as f64;
            for x in [
                0.075 * t + 1e-300,
                (t * 1450.0 - 744.0).exp(),
                0.5 + t,
                f64::from_bits(1 + (t * 4.0e15) as u64),
            ] {
                let (ours, platform) = (ln(x), x.ln());
                let d = ours.to_bits().abs_diff(platform.to_bits());
                differ += usize::from(d != 0);
                if d > worst.0 {
                    worst = (d, x);
                }
            }
        }
        assert!(worst.0 <= 1, "{} ulps at x = {:e}", worst.0, worst.1);
        // Measured: 2.4 % of the values differ in the last bit.
        assert!(differ < (4 * n) / 8, "{differ} of {} values differ", 4 * n);
        assert_eq!(ln(1.0).to_bits(), 0f64.to_bits());
        assert_eq!(ln(5e-324), (5e-324f64).ln());
    }

    #[test]
    fn special_values_and_range_ends() {
        assert_eq!(exp(0.0).to_bits(), 1f64.to_bits());
        assert_eq!(exp(-0.0).to_bits(), 1f64.to_bits());
        assert!(ulps(exp(1.0), std::f64::consts::E) <= 1);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(709.8), f64::INFINITY);
        assert!(exp(709.78).is_finite() && exp(709.78) > 1.7e308);
        assert_eq!(exp(-745.2), 0.0);
        // Subnormal results: the smallest subnormal near x = −744.44, and the
        // platform's values (one rounding) along the subnormal range.
        assert_eq!(exp(-744.44), 5e-324);
        for i in 0..1000 {
            let x = -708.4 - 36.0 * f64::from(i) / 1000.0;
            assert!(ulps(exp(x), x.exp()) <= 1, "x = {x}");
        }
    }

    /// Monotone on a fine grid around 0 and near the overflow and underflow ends,
    /// so that a lognormal quantile stays non-decreasing in u.
    #[test]
    fn non_decreasing() {
        for (start, step) in [(-1.0, 1e-6), (700.0, 1e-5), (-745.0, 1e-5)] {
            let mut last = exp(start);
            for i in 1..200_000 {
                let y = exp(start + step * f64::from(i));
                assert!(
                    y >= last,
                    "exp drops after x = {}",
                    start + step * f64::from(i)
                );
                last = y;
            }
        }
    }
}
