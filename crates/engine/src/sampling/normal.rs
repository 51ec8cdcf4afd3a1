//! The standard normal quantile function Φ⁻¹, by Wichura's algorithm AS 241.
//!
//! M. J. Wichura (1988), "Algorithm AS 241: The percentage points of the normal
//! distribution", *Applied Statistics* 37(3), 477–484: the double-precision variant
//! PPND16, three rational approximations of degree 7/7 with the published
//! coefficients, accurate to about 1 part in 10^16 for `u` down to 10^-300.
//!
//! It replaces statrs' `erfc⁻¹`, which was the sampler's hot spot: it is a few times
//! faster (no iteration, one `ln` and `sqrt` only in the tails) and agrees with the
//! statrs value to a few ulps (see the tests). Its `ln` is the one of
//! [`super::elementary`], so that the tails are the same bits on every platform and
//! vectorize in [`std_normal_quantiles`].

use super::elementary::ln;
use crate::simd::avx2_dispatch;

/// Central region: `|u − 0.5| ≤ SPLIT1`.
const SPLIT1: f64 = 0.425;
/// Tail split on `r = √(−ln min(u, 1 − u))`: the intermediate region is `r ≤ SPLIT2`.
const SPLIT2: f64 = 5.0;
/// `SPLIT1²`: the central approximation is a function of `CONST1 − q²`.
const CONST1: f64 = 0.180625;
/// Centre of the intermediate region in `r`.
const CONST2: f64 = 1.6;

// Coefficients of PPND16, lowest degree first, as published (the denominators'
// constant term is 1). The paper's 20 digits are kept, beyond what an f64 holds, so
// that the transcription can be checked digit for digit and against the paper's hash
// sums (the sums of the mantissas, e.g. 55.8831928806149014439 for A and B).
// Central region, p close to 0.5.
#[allow(clippy::excessive_precision)]
const A: [f64; 8] = [
    3.387_132_872_796_366_608_0,
    1.331_416_678_917_843_774_5e2,
    1.971_590_950_306_551_442_7e3,
    1.373_169_376_550_946_112_5e4,
    4.592_195_393_154_987_145_7e4,
    6.726_577_092_700_870_085_3e4,
    3.343_057_558_358_812_810_5e4,
    2.509_080_928_730_122_672_7e3,
];
#[allow(clippy::excessive_precision)]
const B: [f64; 8] = [
    1.0,
    4.231_333_070_160_091_125_2e1,
    6.871_870_074_920_579_083_0e2,
    5.394_196_021_424_751_107_7e3,
    2.121_379_430_158_659_586_7e4,
    3.930_789_580_009_271_061_0e4,
    2.872_908_573_572_194_267_4e4,
    5.226_495_278_852_854_561_0e3,
];
// Intermediate region, p not close to 0, 0.5 or 1.
#[allow(clippy::excessive_precision)]
const C: [f64; 8] = [
    1.423_437_110_749_683_577_34,
    4.630_337_846_156_545_295_90,
    5.769_497_221_460_691_405_50,
    3.647_848_324_763_204_605_04,
    1.270_458_252_452_368_382_58,
    2.417_807_251_774_506_117_70e-1,
    2.272_384_498_926_918_458_33e-2,
    7.745_450_142_783_414_076_40e-4,
];
#[allow(clippy::excessive_precision)]
const D: [f64; 8] = [
    1.0,
    2.053_191_626_637_758_821_87,
    1.676_384_830_183_803_849_40,
    6.897_673_349_851_000_045_50e-1,
    1.481_039_764_274_800_745_90e-1,
    1.519_866_656_361_645_719_66e-2,
    5.475_938_084_995_344_946_00e-4,
    1.050_750_071_644_416_843_24e-9,
];
// Far tails, p near 0 or 1.
#[allow(clippy::excessive_precision)]
const E: [f64; 8] = [
    6.657_904_643_501_103_777_20,
    5.463_784_911_164_114_369_90,
    1.784_826_539_917_291_335_80,
    2.965_605_718_285_048_912_30e-1,
    2.653_218_952_657_612_309_30e-2,
    1.242_660_947_388_078_438_60e-3,
    2.711_555_568_743_487_578_15e-5,
    2.010_334_399_292_288_132_65e-7,
];
#[allow(clippy::excessive_precision)]
const F: [f64; 8] = [
    1.0,
    5.998_322_065_558_879_376_90e-1,
    1.369_298_809_227_358_053_10e-1,
    1.487_536_129_085_061_485_25e-2,
    7.868_691_311_456_132_591_00e-4,
    1.846_318_317_510_054_681_80e-5,
    1.421_511_758_316_445_888_70e-7,
    2.044_263_103_389_939_785_64e-15,
];

/// `c[0] + c[1] x + … + c[7] x⁷` by Horner's rule (plain multiply and add, so the
/// result is the same on every target, with or without FMA).
#[inline(always)]
fn poly(c: &[f64; 8], x: f64) -> f64 {
    let mut acc = c[7];
    for &k in c[..7].iter().rev() {
        acc = acc * x + k;
    }
    acc
}

/// Standard normal quantile Φ⁻¹(u) for `u ∈ (0, 1)`, relative error about 1e-16
/// (Wichura's AS 241).
///
/// Non-decreasing in `u`, finite on the open interval down to the smallest
/// subnormal, and odd about ½ (`Φ⁻¹(1 − u) = −Φ⁻¹(u)` wherever `1 − u` is exact).
/// `u = 0` gives −∞, `u = 1` gives +∞; NaN or `u` outside `[0, 1]` gives NaN.
#[inline]
pub fn std_normal_quantile(u: f64) -> f64 {
    let q = u - 0.5;
    if q.abs() <= SPLIT1 {
        let r = CONST1 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    tail(u, q)
}

avx2_dispatch! {
    /// `std_normal_quantile` of every `us[k]` into `zs[k]` (slices of one length),
    /// bit for bit.
    ///
    /// The central region is computed for every value in one branch-free loop (four
    /// values per instruction with AVX2), then the values in the tails (about 15 % of
    /// uniform variates) are collected and redone, also in vectors (see
    /// `tails_of_pass`).
    pub fn std_normal_quantiles(us: &[f64], zs: &mut [f64])
        = std_normal_quantiles_portable, avx2 std_normal_quantiles_avx2;
}

/// Values per pass of [`std_normal_quantiles_portable`] (its scratch stays on the
/// stack). Large enough that a pass's tail values fill several vectors, whose
/// long chains (logarithm, square root, divisions) then overlap: 4.3 ns per value
/// against 6.0 with passes of 64.
const PASS: usize = 256;
const _: () = assert!(PASS.is_multiple_of(64), "whole words of flags");

#[inline(always)]
fn std_normal_quantiles_portable(us: &[f64], zs: &mut [f64]) {
    for (us, zs) in us.chunks(PASS).zip(zs.chunks_mut(PASS)) {
        let zs = &mut zs[..us.len()];
        let mut in_tail = [0u8; PASS];
        for ((z, &u), flag) in zs.iter_mut().zip(us).zip(&mut in_tail) {
            let q = u - 0.5;
            let r = CONST1 - q * q;
            *z = q * poly(&A, r) / poly(&B, r);
            let central = q.abs() <= SPLIT1;
            *flag = u8::from(!central);
        }
        tails_of_pass(us, zs, &in_tail);
    }
}

/// Redoes the values of one pass that lie in the tails: they are collected first
/// (about 15 % of uniform variates), so that the costly intermediate region (a
/// logarithm, a square root and two divisions) runs in vectors on them only. The
/// rest (the far tails, p < 1.4e-11, and u outside (0, 1)) is left to `tail`,
/// value by value.
/// `in_tail[k]` is 1 where `us[k]` lies outside the central region.
#[inline(always)]
fn tails_of_pass(us: &[f64], zs: &mut [f64], in_tail: &[u8; PASS]) {
    let (mut at, mut tail_us, mut count) = ([0u8; PASS], [0.5; PASS], 0);
    // Sixty-four flags at a time, packed into the bits of a word (eight bytes of
    // 0 or 1 at once: the multiplication moves byte i's bit to bit 56 + i, with no
    // carries between them), so that the loop over a word's tail values
    // mispredicts its exit once per 64 values, not once per 8.
    for (word, flags) in in_tail.chunks_exact(64).enumerate() {
        let mut bits = 0u64;
        for (group, eight) in flags.chunks_exact(8).enumerate() {
            let bytes = u64::from_le_bytes(eight.try_into().expect("8 flags"));
            bits |= (bytes.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * group);
        }
        while bits != 0 {
            let k = 64 * word + bits.trailing_zeros() as usize;
            at[count] = k as u8;
            tail_us[count] = us[k];
            count += 1;
            bits &= bits - 1;
        }
    }
    if count == 0 {
        return;
    }
    // The slots past `count` still hold ½ (whose intermediate-region value is
    // harmless and unused): taken up to whole vectors, so that no value goes
    // through the compiler's scalar remainder loop.
    let padded = count.next_multiple_of(4).min(PASS);
    // Each score replaces its uniform (one scratch array fewer to set up).
    let mut others = 0u64;
    for u_then_z in &mut tail_us[..padded] {
        let u = *u_then_z;
        let q = u - 0.5;
        let p = if q < 0.0 { u } else { 1.0 - u };
        let r = (-ln(p)).sqrt();
        let x = intermediate(r);
        *u_then_z = if q < 0.0 { -x } else { x };
        others |= u64::from(!(p > 0.0 && r <= SPLIT2));
    }
    for (&k, &z) in at[..count].iter().zip(&tail_us[..count]) {
        zs[usize::from(k)] = z;
    }
    if others != 0 {
        for &k in &at[..count] {
            let u = us[usize::from(k)];
            let q = u - 0.5;
            let p = if q < 0.0 { u } else { 1.0 - u };
            if !(p > 0.0 && (-ln(p)).sqrt() <= SPLIT2) {
                zs[usize::from(k)] = tail(u, q);
            }
        }
    }
}

/// The intermediate region's approximation at `r = √(−ln p)`, `1.6 ≤ … ≤ 5`.
#[inline(always)]
fn intermediate(r: f64) -> f64 {
    let r = r - CONST2;
    poly(&C, r) / poly(&D, r)
}

/// The two outer regions, `|u − 0.5| > 0.425` (about 15 % of uniform variates): kept
/// out of line so the common central case inlines small.
#[inline(never)]
fn tail(u: f64, q: f64) -> f64 {
    // The smaller tail probability; `1 − u` is exact for u ≥ ½ (Sterbenz), so the
    // upper tail loses nothing up to 1 − 2⁻⁵³.
    let p = if q < 0.0 { u } else { 1.0 - u };
    match p.partial_cmp(&0.0) {
        Some(std::cmp::Ordering::Greater) => {}
        Some(std::cmp::Ordering::Equal) => return q.signum() * f64::INFINITY,
        // NaN, or u outside [0, 1].
        _ => return f64::NAN,
    }
    let r = (-ln(p)).sqrt();
    let x = if r <= SPLIT2 {
        intermediate(r)
    } else {
        let r = r - SPLIT2;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 { -x } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The previous implementation, through statrs' `erfc⁻¹` (Boost's algorithm).
    fn statrs_quantile(u: f64) -> f64 {
        -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * u)
    }

    fn rel_diff(a: f64, b: f64) -> f64 {
        if a == b { 0.0 } else { (a - b).abs() / b.abs() }
    }

    /// Probabilities covering the body densely and both tails down to 1e-300 and up to
    /// 1 − 2⁻⁵³.
    fn grid() -> Vec<f64> {
        let n = 1_000_000;
        let mut u: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        for k in 1..=3000 {
            let p = 10f64.powf(-(k as f64) / 10.0);
            u.push(p);
            u.push(0.5 - p.min(0.5) / 2.0);
        }
        for k in 1..=53 {
            let p = (-(k as f64)).exp2();
            u.push(p);
            u.push(1.0 - p);
            u.push(0.5 + p / 2.0);
        }
        u.retain(|&x| x > 0.0 && x < 1.0);
        u
    }

    /// The batch (vectorized where the CPU allows) gives the bits of the scalar
    /// function, tails, ends and NaN included.
    #[test]
    fn batch_equals_scalar_bit_for_bit() {
        let mut us = grid();
        us.extend([0.0, 1.0, f64::NAN, -0.5, 1.5, 0.425, 0.075, 0.925, 0.5]);
        let mut zs = vec![0.0; us.len()];
        std_normal_quantiles(&us, &mut zs);
        for (&u, &z) in us.iter().zip(&zs) {
            let want = std_normal_quantile(u);
            assert!(
                z.to_bits() == want.to_bits() || (z.is_nan() && want.is_nan()),
                "u = {u:e}: {z:e} against {want:e}"
            );
        }
        let mut portable = vec![0.0; us.len()];
        std_normal_quantiles_portable(&us, &mut portable);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&portable), bits(&zs));
    }

    #[test]
    fn matches_statrs_to_a_few_ulps() {
        let (mut worst, mut at) = (0.0, 0.0);
        for u in grid() {
            let d = rel_diff(std_normal_quantile(u), statrs_quantile(u));
            if d > worst {
                (worst, at) = (d, u);
            }
        }
        // Measured: 9.2e-16 (about 4 ulps, at u ≈ 0.274); 1.0e-15 on a 1e7-point grid.
        assert!(
            worst <= 1e-14,
            "max relative difference {worst:e} at u = {at:e}"
        );
    }

    #[test]
    #[allow(clippy::excessive_precision)]
    fn coefficients_match_the_papers_hash_sums() {
        // AS 241 prints, per region, the sum of the mantissas of its coefficients
        // (the denominators' leading 1 is not among them).
        let mantissas = |c: &[f64]| -> f64 {
            c.iter()
                .map(|&x| x / 10f64.powi(x.abs().log10().floor() as i32))
                .sum()
        };
        for (num, den, hash) in [
            (&A, &B, 55.883_192_880_614_901_443_9),
            (&C, &D, 49.332_065_033_016_102_890_36),
            (&E, &F, 47.525_833_175_492_896_716_29),
        ] {
            let sum = mantissas(num) + mantissas(&den[1..]);
            assert!((sum - hash).abs() < 1e-12, "{sum} != {hash}");
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(std_normal_quantile(0.5), 0.0);
        let close = |u: f64, x: f64| {
            let d = rel_diff(std_normal_quantile(u), x);
            assert!(d <= 4.0 * f64::EPSILON, "Φ⁻¹({u:e}): relative error {d:e}");
        };
        // R: qnorm(c(0.975, 0.001, 1e-10, 0.75)).
        close(0.975, 1.959963984540054);
        close(0.001, -3.090232306167813);
        close(1e-10, -6.361340902404056);
        close(0.75, 0.6744897501960817);
        // Far tails, solved with mpmath at 60 digits.
        close(1e-300, -37.0470962993612);
        close(1.0 - (-53f64).exp2(), 8.209536151601387);
    }

    #[test]
    fn odd_about_one_half() {
        for u in grid() {
            // Only where 1 − u is exact: compare Φ⁻¹(v) with −Φ⁻¹(1 − v).
            let v = 1.0 - u;
            let w = 1.0 - v;
            let (a, b) = (std_normal_quantile(v), -std_normal_quantile(w));
            assert!(
                rel_diff(a, b) <= 2.0 * f64::EPSILON,
                "Φ⁻¹({v:e}) = {a:e} but −Φ⁻¹({w:e}) = {b:e}"
            );
        }
    }

    /// Where two approximations meet: `|u − ½| = 0.425` and `r = 5`, i.e. `u = e⁻²⁵`
    /// and `1 − e⁻²⁵`.
    fn region_edges() -> [f64; 4] {
        let far = (-25f64).exp();
        [0.075, 0.925, far, 1.0 - far]
    }

    fn assert_non_decreasing(mut u: Vec<f64>) {
        u.sort_by(f64::total_cmp);
        u.dedup();
        for pair in u.windows(2) {
            let (a, b) = (std_normal_quantile(pair[0]), std_normal_quantile(pair[1]));
            assert!(
                a <= b,
                "Φ⁻¹({:e}) = {a:e} > Φ⁻¹({:e}) = {b:e}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn non_decreasing_on_a_fine_grid() {
        let mut u = grid();
        // Across each region edge, at steps of 1e-9 of the tail probability.
        for edge in region_edges() {
            let step = 1e-9 * edge.min(1.0 - edge);
            u.extend((-1000..=1000).map(|k| edge + k as f64 * step));
        }
        assert_non_decreasing(u);
    }

    #[test]
    fn non_decreasing_on_the_designs_uniforms() {
        // Every design's uniforms are midpoints of 2⁻⁵² cells (see `stream::open_unit`):
        // consecutive ones around the region edges and through the body.
        let cell = (-52f64).exp2();
        let mut u = Vec::new();
        for centre in region_edges()
            .into_iter()
            .chain([0.2, 0.3, 0.4, 0.45, 0.6, 0.7])
        {
            let k0 = (centre / cell) as u64 - 50_000;
            u.extend((k0..k0 + 100_000).map(|k| (k as f64 + 0.5) * cell));
        }
        assert_non_decreasing(u);
    }

    #[test]
    fn adjacent_floats_step_back_at_most_a_few_ulps() {
        // Between adjacent floats the true step is about one ulp of the result, below
        // the rounding error of any evaluation that is not correctly rounded, so
        // monotonicity can only hold up to rounding there (measured: ≤ 2.9 ulps).
        let mut worst = 0.0f64;
        for centre in region_edges().into_iter().chain([0.3, 1e-5, 1e-100]) {
            let mut x = centre;
            for _ in 0..20_000 {
                x = x.next_down();
            }
            let mut prev = std_normal_quantile(x);
            for _ in 0..40_000 {
                x = x.next_up();
                let y = std_normal_quantile(x);
                worst = worst.max((prev - y) / (prev.abs() * f64::EPSILON));
                prev = y;
            }
        }
        assert!(worst <= 4.0, "steps back by {worst} ulps");
    }

    #[test]
    fn ends_and_invalid_input() {
        assert_eq!(std_normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(std_normal_quantile(1.0), f64::INFINITY);
        assert!(std_normal_quantile(f64::NAN).is_nan());
        assert!(std_normal_quantile(-0.1).is_nan());
        assert!(std_normal_quantile(1.1).is_nan());
        let tiny = std_normal_quantile(f64::from_bits(1));
        assert!(tiny.is_finite() && tiny < -38.0, "{tiny}");
    }
}
