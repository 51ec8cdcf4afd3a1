//! A three-province network worked out by hand.
//!
//! Provinces A (importer, I = 500), B (coal exporter, I = 900), C (hydro, I = 100);
//! links B→A (10 TWh delivered, 5 % loss) and C→A (5 TWh, no loss). Cities: a1 (A,
//! advanced, D 20, G 5, δ 5 %), a2 (A, D 10, G 0), b1 (B, exporter: D 4, G 12),
//! b2 (B, D 6, G 2, δ 2 %, thirsty EVs), c1 (C, D = G = 3).

use crate::model::*;

const EV_KWH: f64 = 15.0;
const EFF: f64 = 0.9;
/// 7 L/100 km × 2.3 kg/L × 1000 × 1.2 (well to wheel) = 193.2 g/km.
const ICE_G_PER_KM: f64 = 193.2;

fn network(advanced_a1: bool) -> Network {
    let provinces = ["A", "B", "C"]
        .map(|id| Province { id: id.into() })
        .to_vec();
    let city = |id: &str, province, advanced| City {
        id: id.into(),
        name: id.into(),
        province,
        tier: if advanced {
            "tier1".into()
        } else {
            "other".into()
        },
        advanced,
    };
    let cities = vec![
        city("a1", 0, advanced_a1),
        city("a2", 0, false),
        city("b1", 1, false),
        city("b2", 1, false),
        city("c1", 2, false),
    ];
    let links = vec![Link { from: 1, to: 0 }, Link { from: 2, to: 0 }];
    Network::new(provinces, cities, links)
}

fn values(model: &Model) -> ParamValues {
    let mut v = ParamValues::new(model.network());
    let mut set = |p: Param, xs: &[f64]| v.get_mut(p).copy_from_slice(xs);
    set(Param::GenIntensity, &[500.0, 900.0, 100.0]);
    set(Param::ProvinceConsumptionTwh, &[100.0, 60.0, 30.0]);
    set(Param::DeliveredTwh, &[10.0, 5.0]);
    set(Param::Loss, &[0.05, 0.0]);
    set(Param::CityConsumptionTwh, &[20.0, 10.0, 4.0, 6.0, 3.0]);
    set(Param::CityGenerationTwh, &[5.0, 0.0, 12.0, 2.0, 3.0]);
    set(Param::DistributionLoss, &[0.05, 0.0, 0.0, 0.02, 0.0]);
    set(
        Param::EvStock,
        &[100_000.0, 50_000.0, 20_000.0, 30_000.0, 10_000.0],
    );
    set(
        Param::VktKm,
        &[12_000.0, 10_000.0, 15_000.0, 15_000.0, 10_000.0],
    );
    set(
        Param::EvKwhPer100km,
        &[EV_KWH, EV_KWH, EV_KWH, 25.0, EV_KWH],
    );
    set(Param::ChargingEfficiency, &[EFF; 5]);
    set(Param::IceLPer100km, &[7.0; 5]);
    set(Param::GasolineKgco2PerL, &[2.3; 5]);
    set(Param::GasolineWttUplift, &[0.2; 5]);
    v
}

fn run(advanced_a1: bool) -> (Model, Vec<f64>) {
    let model = Model::new(network(advanced_a1), IceBasis::Wtw);
    let v = values(&model);
    let mut out = vec![f64::NAN; model.layout().len()];
    model
        .evaluate(&v, &mut model.scratch(), &mut out)
        .expect("valid draw");
    (model, out)
}

fn close(actual: f64, expected: f64) {
    let tol = 1e-12 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tol,
        "got {actual}, expected {expected}"
    );
}

#[test]
fn provincial_pools_by_hand() {
    let (model, out) = run(true);
    let lay = model.layout();
    // A: M = 15, Σ L = 5 (a1 uses its 5 TWh), O = 100 − 15 − 5 = 80.
    // P_A = (80·500 + 10/0.95·900 + 5·100) / (80 + 15) = 49 973.684… / 95.
    let p_a = (80.0 * 500.0 + 10.0 / 0.95 * 900.0 + 5.0 * 100.0) / 95.0;
    close(p_a, 526.038_781_163_434_9);
    close(out[lay.province(ProvinceMetric::PoolIntensity, 0)], p_a);
    // B has no imports: its pool is its own generation.
    close(out[lay.province(ProvinceMetric::PoolIntensity, 1)], 900.0);
    // Consumption-side intensity of A: (5·500 + 49 973.68…) / (5 + 95).
    close(
        out[lay.province(ProvinceMetric::ConsumptionIntensity, 0)],
        (5.0 * 500.0 + p_a * 95.0) / 100.0,
    );
}

#[test]
fn city_supply_vehicles_and_emissions_by_hand() {
    let (model, out) = run(true);
    let lay = model.layout();
    let get = |m: CityMetric, c: usize| out[lay.city(m, c)];
    let p_a = 526.038_781_163_434_9;
    // a1: i = 1 − 5/20 = 0.75; S = (0.25·500 + 0.75·P_A) / 0.95.
    close(get(CityMetric::ImportShare, 0), 0.75);
    let s_a1 = (0.25 * 500.0 + 0.75 * p_a) / 0.95;
    close(get(CityMetric::SupplyIntensity, 0), s_a1);
    close(get(CityMetric::EvGPerKm, 0), 15.0 / 100.0 / 0.9 * s_a1);
    close(get(CityMetric::IceGPerKm, 0), ICE_G_PER_KM);
    // E = 100 000 · 12 000 km · 0.15/0.9 kWh/km / 1e6 = 200 GWh.
    close(get(CityMetric::EvEnergyGwh, 0), 200.0);
    close(
        get(CityMetric::EvTerritorialT, 0),
        200.0 * 0.25 * 500.0 / 0.95,
    );
    close(
        get(CityMetric::BurdenExportedT, 0),
        200.0 * 0.75 * p_a / 0.95,
    );
    close(get(CityMetric::EvEmissionsT, 0), 200.0 * s_a1);
    // b1 is self-sufficient: nothing exported, intensity = I_B.
    close(get(CityMetric::ImportShare, 2), 0.0);
    assert_eq!(get(CityMetric::BurdenExportedT, 2), 0.0);
    close(get(CityMetric::SupplyIntensity, 2), 900.0);
    // b2: i = 2/3 of coal at 900 g/kWh, 2 % distribution loss, 25 kWh/100 km:
    // S = 900/0.98, ev = 0.25/0.9·S = 255.10… g/km > 193.2 → worse than gasoline.
    let s_b2 = 900.0 / 0.98;
    close(get(CityMetric::SupplyIntensity, 3), s_b2);
    close(
        get(CityMetric::EvIceRatio, 3),
        0.25 / 0.9 * s_b2 / ICE_G_PER_KM,
    );
    assert_eq!(get(CityMetric::EvWorseThanIce, 3), 1.0);
    assert_eq!(get(CityMetric::EvWorseThanIce, 0), 0.0);
}

#[test]
fn burden_lands_on_the_exporter_city_by_hand() {
    let (model, out) = run(true);
    let lay = model.layout();
    let get = |m: CityMetric, c: usize| out[lay.city(m, c)];
    let pool_em_a = 80.0 * 500.0 + 10.0 / 0.95 * 900.0 + 5.0 * 100.0;
    let exported_a = get(CityMetric::BurdenExportedT, 0) + get(CityMetric::BurdenExportedT, 1);
    let exported_b = get(CityMetric::BurdenExportedT, 3);
    // B receives its ψ share of A's exported burden plus all of b2's.
    let landed_b = exported_a * (10.0 / 0.95 * 900.0) / pool_em_a + exported_b;
    close(
        out[lay.province(ProvinceMetric::BurdenLandedT, 1)],
        landed_b,
    );
    // Q_B = O_B + sent to A = 54 + 10/0.95; b1's surplus is 8 TWh.
    let q_b = 54.0 + 10.0 / 0.95;
    close(get(CityMetric::BurdenReceivedT, 2), landed_b * 8.0 / q_b);
    close(get(CityMetric::NetTransferT, 2), -landed_b * 8.0 / q_b);
    close(
        out[lay.province(ProvinceMetric::BurdenRestOfProvinceT, 1)],
        landed_b * (q_b - 8.0) / q_b,
    );
    // c1 is balanced: no surplus, so C's share stays with the rest of the province.
    assert_eq!(get(CityMetric::BurdenReceivedT, 4), 0.0);
    assert_eq!(get(CityMetric::NetImporter, 4), 0.0);
    assert_eq!(get(CityMetric::NetImporter, 0), 1.0);
    assert_eq!(get(CityMetric::NetImporter, 2), 0.0);
}

#[test]
fn headlines_by_hand() {
    let (model, out) = run(true);
    let lay = model.layout();
    assert_eq!(lay.headlines(), Headline::ALL);
    let h = |k: Headline| out[lay.headline(lay.headlines().iter().position(|&x| x == k).unwrap())];
    close(h(Headline::AdvancedImportShare), 0.75);
    // Only b2 is worse than gasoline: ratio 0.25/0.9·900/0.98/193.2 − 1.
    close(
        h(Headline::MaxEvPenalty),
        0.25 / 0.9 * 900.0 / 0.98 / ICE_G_PER_KM - 1.0,
    );
    close(h(Headline::EvWorseCityShare), 0.2);
    // Importers: a1, a2, b2 (3 of 5).
    close(h(Headline::ImporterCityShare), 0.6);
    let a1_gap = 1.0
        - out[lay.city(CityMetric::EvTerritorialT, 0)] / out[lay.city(CityMetric::EvEmissionsT, 0)];
    close(h(Headline::AdvancedTerritorialGap), a1_gap);
}

#[test]
fn burden_is_conserved() {
    let (model, out) = run(true);
    let lay = model.layout();
    let n = model.network();
    let exported: f64 = (0..n.cities().len())
        .map(|c| out[lay.city(CityMetric::BurdenExportedT, c)])
        .sum();
    let landed: f64 = (0..n.provinces().len())
        .map(|p| out[lay.province(ProvinceMetric::BurdenLandedT, p)])
        .sum();
    let on_cities: f64 = (0..n.cities().len())
        .map(|c| out[lay.city(CityMetric::BurdenReceivedT, c)])
        .sum();
    let on_rest: f64 = (0..n.provinces().len())
        .map(|p| out[lay.province(ProvinceMetric::BurdenRestOfProvinceT, p)])
        .sum();
    assert!(exported > 0.0);
    close(landed, exported);
    close(on_cities + on_rest, exported);
}

/// A scenario that changes one province's intensity changes the burden landing on
/// it, and leaves what lands on every other province exactly (bit for bit) as it
/// was: a mathematically zero scenario delta must not come out as a rounding
/// residue, which would also spread that delta's sketch over thousands of buckets.
#[test]
fn burden_landing_on_untouched_provinces_does_not_move_by_a_rounding_residue() {
    let (model, base) = run(true);
    let lay = model.layout();
    let n = model.network();
    for scale in (1..=40).map(|k| 0.5 + f64::from(k) / 37.0) {
        let mut v = values(&model);
        v.get_mut(Param::GenIntensity)[1] *= scale;
        let mut out = vec![f64::NAN; lay.len()];
        model
            .evaluate(&v, &mut model.scratch(), &mut out)
            .expect("valid draw");
        let landed = |o: &[f64], p| o[lay.province(ProvinceMetric::BurdenLandedT, p)];
        assert_ne!(landed(&out, 1), landed(&base, 1), "B's own burden moves");
        for p in [0, 2] {
            assert_eq!(landed(&out, p).to_bits(), landed(&base, p).to_bits());
            let rest = |o: &[f64]| o[lay.province(ProvinceMetric::BurdenRestOfProvinceT, p)];
            assert_eq!(rest(&out).to_bits(), rest(&base).to_bits());
        }
        for c in (0..n.cities().len()).filter(|&c| n.cities()[c].province != 1) {
            let received = |o: &[f64]| o[lay.city(CityMetric::BurdenReceivedT, c)];
            assert_eq!(received(&out).to_bits(), received(&base).to_bits());
        }
    }
}

#[test]
fn ttw_basis_drops_the_well_to_tank_uplift() {
    let model = Model::new(network(true), IceBasis::Ttw);
    let v = values(&model);
    let mut out = vec![0.0; model.layout().len()];
    model.evaluate(&v, &mut model.scratch(), &mut out).unwrap();
    close(
        out[model.layout().city(CityMetric::IceGPerKm, 0)],
        7.0 / 100.0 * 2.3 * 1000.0,
    );
}

#[test]
fn without_advanced_cities_the_advanced_headlines_are_left_out() {
    let (model, _) = run(false);
    assert!(
        !model
            .layout()
            .headlines()
            .iter()
            .any(|h| h.needs_advanced_cities())
    );
    assert_eq!(model.layout().headlines().len(), 4);
}

/// The error of a draw that must fail.
fn evaluation_error(model: &Model, v: &ParamValues) -> ModelError {
    let mut out = vec![0.0; model.layout().len()];
    model
        .evaluate(v, &mut model.scratch(), &mut out)
        .expect_err("an invalid draw")
}

#[test]
fn an_importing_city_in_an_empty_pool_is_an_error() {
    let model = Model::new(network(true), IceBasis::Wtw);
    let mut v = values(&model);
    // C consumes only what c1 generates locally (1 TWh) and imports nothing, so
    // O_C = max(1 − 0 − 1, 0) = 0 while c1 needs 2 TWh more.
    v.get_mut(Param::CityGenerationTwh)[4] = 1.0;
    v.get_mut(Param::ProvinceConsumptionTwh)[2] = 1.0;
    let err = evaluation_error(&model, &v);
    assert_eq!(
        err,
        ModelError::EmptyPool {
            province: "C".into(),
            city: "c1".into()
        }
    );
}

/// The AVX2 build of the model gives the same bits as the portable build, on a
/// network whose city count is not a multiple of the vector width, with values
/// spread over wide ranges, and on both accounting bases.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_evaluation_equals_portable_evaluation() {
    use super::{evaluate_avx2, evaluate_portable};
    if !std::arch::is_x86_feature_detected!("avx2") {
        return;
    }
    let network = interleaved_network();
    let mut next = uniforms();
    for basis in [IceBasis::Wtw, IceBasis::Ttw] {
        let model = Model::new(network.clone(), basis);
        for _ in 0..20 {
            let v = random_values(&model, &mut next);
            let run = |avx2: bool| {
                let mut out = vec![f64::NAN; model.layout().len()];
                let mut scratch = model.scratch();
                let result = if avx2 {
                    // SAFETY: AVX2 support was checked at the top of the test.
                    unsafe { evaluate_avx2(&model, &v, &mut scratch, &mut out) }
                } else {
                    evaluate_portable(&model, &v, &mut scratch, &mut out)
                };
                result.expect("valid draw");
                out.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(run(true), run(false));
        }
    }
}

/// A city whose gasoline car emits nothing stops the draw, naming the first such
/// city in order.
#[test]
fn a_gasoline_car_without_emissions_is_an_error_naming_the_first_city() {
    let model = Model::new(network(true), IceBasis::Wtw);
    let mut v = values(&model);
    for c in [3, 1] {
        v.get_mut(Param::IceLPer100km)[c] = 0.0;
    }
    let err = evaluation_error(&model, &v);
    assert_eq!(err, ModelError::NoGasolineEmissions { city: "a2".into() });
}

/// A network of 23 cities whose provinces are interleaved in the city table (so
/// that no loop may assume them contiguous), with values spread over wide
/// ranges from a fixed pseudo-random sequence.
fn interleaved_network() -> Network {
    let provinces = ["A", "B", "C"]
        .map(|id| Province { id: id.into() })
        .to_vec();
    let cities = (0..23)
        .map(|c| City {
            id: format!("c{c}"),
            name: format!("c{c}"),
            province: c % 3,
            tier: "t".into(),
            advanced: c % 4 == 0,
        })
        .collect();
    let links = vec![Link { from: 1, to: 0 }, Link { from: 2, to: 0 }];
    Network::new(provinces, cities, links)
}

/// A fixed pseudo-random sequence in [0, 1).
fn uniforms() -> impl FnMut() -> f64 {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Valid random values for `model`'s network.
fn random_values(model: &Model, next: &mut impl FnMut() -> f64) -> ParamValues {
    let mut v = ParamValues::new(model.network());
    for p in Param::ALL {
        for x in v.get_mut(p) {
            *x = next();
        }
    }
    v.get_mut(Param::ProvinceConsumptionTwh).fill(1e4);
    for x in v.get_mut(Param::EvStock) {
        *x *= 1e6;
    }
    for x in v.get_mut(Param::GenIntensity) {
        *x *= 1e3;
    }
    v
}

/// `model.evaluate` on fresh scratch, as bits (or the error).
fn full_bits(model: &Model, v: &ParamValues) -> Result<Vec<u64>, ModelError> {
    let mut out = vec![f64::NAN; model.layout().len()];
    model.evaluate(v, &mut model.scratch(), &mut out)?;
    Ok(out.iter().map(|x| x.to_bits()).collect())
}

/// A variant that changes only intensities, evaluated on the base draw's flows,
/// gives the bits of a full evaluation, in both builds, for several variants in a
/// row after one base evaluation; the parameters outside the intensities are never
/// read again (they hold NaN in the variant).
#[test]
fn a_variant_on_the_base_flows_equals_a_full_evaluation() {
    let mut next = uniforms();
    for basis in [IceBasis::Wtw, IceBasis::Ttw] {
        let model = Model::new(interleaved_network(), basis);
        for _ in 0..20 {
            let v = random_values(&model, &mut next);
            let mut scratch = model.scratch();
            let mut base = vec![f64::NAN; model.layout().len()];
            model
                .evaluate(&v, &mut scratch, &mut base)
                .expect("valid draw");
            for _ in 0..3 {
                let mut variant = v.clone();
                for p in [Param::GenIntensity, Param::EvExtraGPerKm] {
                    for x in variant.get_mut(p) {
                        *x *= 2.0 * next();
                    }
                }
                let expected = full_bits(&model, &variant).expect("valid variant");
                for p in Param::ALL.into_iter().filter(|p| !p.is_intensity()) {
                    variant.get_mut(p).fill(f64::NAN);
                }
                let mut builds: Vec<bool> = vec![false];
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    builds.push(true);
                }
                for avx2 in builds {
                    let mut out = vec![f64::NAN; model.layout().len()];
                    let (v, s) = (&variant, &mut scratch);
                    let result = if avx2 {
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: AVX2 support was checked when the build was listed.
                        unsafe {
                            super::evaluate_variant_avx2(&model, v, s, &base, &mut out)
                        }
                        #[cfg(not(target_arch = "x86_64"))]
                        unreachable!()
                    } else {
                        super::evaluate_variant_portable(&model, v, s, &base, &mut out)
                    };
                    result.expect("valid variant");
                    let bits: Vec<u64> = out.iter().map(|x| x.to_bits()).collect();
                    assert_eq!(bits, expected, "avx2: {avx2}");
                }
            }
        }
    }
}

/// A variant fails where, and as, the full evaluation fails.
#[test]
fn a_variant_fails_like_the_full_evaluation() {
    let model = Model::new(network(true), IceBasis::Ttw);
    let v = values(&model);
    let mut scratch = model.scratch();
    let mut base = vec![0.0; model.layout().len()];
    model
        .evaluate(&v, &mut scratch, &mut base)
        .expect("valid draw");
    // No emissions at all: the advanced cities' territorial gap is undefined.
    let mut variant = v.clone();
    variant.get_mut(Param::GenIntensity).fill(0.0);
    let expected = full_bits(&model, &variant).expect_err("an invalid variant");
    assert_eq!(
        expected,
        ModelError::NoAdvancedEmissions {
            what: "charging emissions"
        }
    );
    let mut out = vec![0.0; model.layout().len()];
    let err = model
        .evaluate_variant(&variant, &mut scratch, &base, &mut out)
        .expect_err("an invalid variant");
    assert_eq!(err, expected);
}

/// Per-province sums taken in one pass over the cities have the bits of a loop
/// over each province's cities (`f64::sum` from −0.0, or a fold from +0.0),
/// whatever the cities' order, and leave a province without cities at the start.
#[test]
fn sums_by_province_equal_per_province_loops_bit_for_bit() {
    // Cities of provinces 0, 2 and 3 interleaved and in runs; province 1 has none.
    let province_of = [0, 0, 2, 0, 3, 3, 2, 0, 3, 2, 2, 0];
    let per_city: Vec<f64> = (0..province_of.len())
        .map(|c| [0.1, 1e-17, 3.0, 0.7, 1e16, 0.0][c % 6] * (1.0 + c as f64 / 3.0))
        .collect();
    for start in [-0.0, 0.0] {
        let mut sums = vec![f64::NAN; 4];
        super::sum_by_province(&province_of, &per_city, &mut sums, start);
        for (p, &sum) in sums.iter().enumerate() {
            let terms = (0..province_of.len()).filter(|&c| province_of[c] == p);
            let expected = terms.fold(start, |acc, c| acc + per_city[c]);
            assert_eq!(
                sum.to_bits(),
                expected.to_bits(),
                "province {p}, start {start}"
            );
        }
        assert_eq!(sums[1].to_bits(), start.to_bits());
    }
    // The −0.0 start is `f64::sum`'s.
    let none: f64 = [].iter().sum();
    assert_eq!(none.to_bits(), (-0.0f64).to_bits());
}
