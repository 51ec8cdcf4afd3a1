//! A three-province network worked out by hand.
//!
//! Provinces A (importer, I = 500), B (coal exporter, I = 900), C (hydro, I = 100);
//! links B→A (10 TWh delivered, 5 % loss) and C→A (5 TWh, no loss). Cities: a1 (A,
//! advanced, D 20, G 5, δ 5 %), a2 (A, D 10, G 0), b1 (B, exporter: D 4, G 12),
//! b2 (B, D 6, G 2, δ 2 %, thirsty EVs), c1 (C, D = G = 3).

use crate::*;

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

/// Asserts that the burden all cities export lands on provinces, and all of it on
/// exporter cities or the rest of their provinces (to 1e-12 relative).
fn assert_conserved(model: &Model, out: &[f64]) {
    let (lay, n) = (model.layout(), model.network());
    let over_cities = |m| {
        (0..n.cities().len())
            .map(|c| out[lay.city(m, c)])
            .sum::<f64>()
    };
    let over_provinces = |m| {
        (0..n.provinces().len())
            .map(|p| out[lay.province(m, p)])
            .sum::<f64>()
    };
    let exported = over_cities(CityMetric::BurdenExportedT);
    let landed = over_provinces(ProvinceMetric::BurdenLandedT);
    let placed = over_cities(CityMetric::BurdenReceivedT)
        + over_provinces(ProvinceMetric::BurdenRestOfProvinceT);
    assert!(exported > 0.0);
    for (what, x) in [("landed", landed), ("placed", placed)] {
        assert!(
            (x - exported).abs() <= 1e-12 * exported,
            "{what} {x} vs exported {exported}"
        );
    }
}

#[test]
fn burden_is_conserved() {
    let (model, out) = run(true);
    assert_conserved(&model, &out);
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

/// In a province whose leaving generation all carries its residual intensity, a
/// city of its own intensity receives exactly the same burden when that residual
/// changes (mathematically its share does not move): no rounding residue.
#[test]
fn a_plant_of_its_own_keeps_its_burden_bit_for_bit_when_its_province_changes() {
    let (model, base) = run_with(OWN_PLANT);
    let received = |o: &[f64]| o[model.layout().city(CityMetric::BurdenReceivedT, 2)];
    assert!(received(&base) > 0.0);
    for scale in (1..=40).map(|k| 0.5 + f64::from(k) / 37.0) {
        let mut v = values(&model);
        v.get_mut(Param::CityGenIntensity)[2] = 50.0;
        v.get_mut(Param::GenIntensity)[1] *= scale;
        let mut out = vec![f64::NAN; model.layout().len()];
        model
            .evaluate(&v, &mut model.scratch(), &mut out)
            .expect("valid draw");
        assert_eq!(
            received(&out).to_bits(),
            received(&base).to_bits(),
            "scale {scale}"
        );
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

/// [`Model::evaluate`] and [`Model::evaluate_variant`] compiled for AVX2, as the
/// engine runs them where the CPU has it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn evaluate_both_avx2(
    model: &Model,
    v: &ParamValues,
    variant: &ParamValues,
    base: &mut [f64],
    out: &mut [f64],
) -> Result<(), ModelError> {
    let mut scratch = model.scratch();
    model.evaluate(v, &mut scratch, base)?;
    model.evaluate_variant(variant, &mut scratch, base, out)
}

/// The AVX2 build of the evaluation and of a variant on the base draw's flows give
/// the bits of the portable build, on a network whose city count is not a multiple
/// of the vector width, with values spread over wide ranges, on both bases.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_evaluation_equals_portable_evaluation() {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return;
    }
    let mut next = uniforms();
    for network in [
        interleaved_network(),
        with_some_own_sources(interleaved_network()),
    ] {
        for basis in [IceBasis::Wtw, IceBasis::Ttw] {
            let model = Model::new(network.clone(), basis);
            let n = model.layout().len();
            for _ in 0..20 {
                let v = random_values(&model, &mut next);
                let mut variant = v.clone();
                for x in variant.get_mut(Param::GenIntensity) {
                    *x *= 2.0 * next();
                }
                let run = |avx2: bool| {
                    let (mut base, mut out) = (vec![f64::NAN; n], vec![f64::NAN; n]);
                    if avx2 {
                        // SAFETY: AVX2 support was checked at the top of the test.
                        unsafe { evaluate_both_avx2(&model, &v, &variant, &mut base, &mut out) }
                    } else {
                        let mut scratch = model.scratch();
                        (model.evaluate(&v, &mut scratch, &mut base)).and_then(|()| {
                            model.evaluate_variant(&variant, &mut scratch, &base, &mut out)
                        })
                    }
                    .expect("valid draw");
                    let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    (bits(&base), bits(&out))
                };
                assert_eq!(run(true), run(false));
            }
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

/// `network` with its first link and every fifth city (from the second) given an
/// intensity of their own.
fn with_some_own_sources(network: Network) -> Network {
    let own = OwnIntensities {
        links: (0..network.links().len()).map(|l| l == 0).collect(),
        cities: (0..network.cities().len()).map(|c| c % 5 == 1).collect(),
    };
    network.with_own_intensities(own)
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
/// gives the bits of a full evaluation, for several variants in a row after one
/// base evaluation; the parameters outside the intensities are never
/// read again (they hold NaN in the variant).
#[test]
fn a_variant_on_the_base_flows_equals_a_full_evaluation() {
    let mut next = uniforms();
    let networks = [
        interleaved_network(),
        with_some_own_sources(interleaved_network()),
    ];
    for (basis, network) in [IceBasis::Wtw, IceBasis::Ttw].into_iter().zip(networks) {
        let model = Model::new(network, basis);
        for _ in 0..20 {
            let v = random_values(&model, &mut next);
            let mut scratch = model.scratch();
            let mut base = vec![f64::NAN; model.layout().len()];
            model
                .evaluate(&v, &mut scratch, &mut base)
                .expect("valid draw");
            for _ in 0..3 {
                let mut variant = v.clone();
                for p in Param::ALL.into_iter().filter(|p| p.is_intensity()) {
                    for x in variant.get_mut(p) {
                        *x *= 2.0 * next();
                    }
                }
                let expected = full_bits(&model, &variant).expect("valid variant");
                for p in Param::ALL.into_iter().filter(|p| !p.is_intensity()) {
                    variant.get_mut(p).fill(f64::NAN);
                }
                let mut out = vec![f64::NAN; model.layout().len()];
                model
                    .evaluate_variant(&variant, &mut scratch, &base, &mut out)
                    .expect("valid variant");
                let bits: Vec<u64> = out.iter().map(|x| x.to_bits()).collect();
                assert_eq!(bits, expected);
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

/// Which generation of the hand network has an intensity of its own: the line
/// B→A (a base mixing wind with coal) and b1's plants (a wind base), or neither.
#[derive(Clone, Copy, Debug)]
struct Sources {
    line_ba: Option<f64>,
    plant_b1: Option<f64>,
}

/// Every generation at its province's intensity (the model without source
/// intensities).
const PROVINCIAL: Sources = Sources {
    line_ba: None,
    plant_b1: None,
};

/// B→A carries 300 g/kWh, not B's 900; b1 generates at 50 g/kWh.
const OWN_SOURCES: Sources = Sources {
    line_ba: Some(300.0),
    plant_b1: Some(50.0),
};

/// b1 generates at 50 g/kWh; everything that leaves B carries B's 900 (the burden
/// per tonne is then the share of B's leaving energy that EVs draw).
const OWN_PLANT: Sources = Sources {
    line_ba: None,
    plant_b1: Some(50.0),
};

/// The hand network and values with `sources`, evaluated.
fn run_with(sources: Sources) -> (Model, Vec<f64>) {
    let own = OwnIntensities {
        links: vec![sources.line_ba.is_some(), false],
        cities: vec![false, false, sources.plant_b1.is_some(), false, false],
    };
    let model = Model::new(network(true).with_own_intensities(own), IceBasis::Wtw);
    // The entities without their own value hold NaN: the model must not read it.
    let mut v = values(&model);
    v.get_mut(Param::LinkIntensity).fill(f64::NAN);
    v.get_mut(Param::CityGenIntensity).fill(f64::NAN);
    v.get_mut(Param::LinkIntensity)[0] = sources.line_ba.unwrap_or(f64::NAN);
    v.get_mut(Param::CityGenIntensity)[2] = sources.plant_b1.unwrap_or(f64::NAN);
    let mut out = vec![f64::NAN; model.layout().len()];
    model
        .evaluate(&v, &mut model.scratch(), &mut out)
        .expect("valid draw");
    (model, out)
}

/// Hand-worked quantities of the three-province network (see the module docs),
/// from which every metric's expected value below is written.
struct ByHand {
    /// J of b1: its own, or B's 900.
    plant_b1: f64,
    /// P_A = (O_A·I_A + Σ sent·K) / (O_A + M_A) with O_A = 80, M_A = 15.
    pool_a: f64,
    /// E per city, GWh: stock × km × kWh/km / charging efficiency / 1e6.
    energy: [f64; 5],
    /// X per city, t: E·i·P/(1 − δ).
    exported: [f64; 5],
    /// Λ_B: A's exported burden in proportion to the emissions B's line puts into
    /// A's pool, plus all of b2's (B's pool is B's own generation).
    landed_b: f64,
    /// What B's generation sends out: Q_B = O_B + sent to A = 54 + 10/0.95, and
    /// its emissions O_B·I_B + sent·K.
    leaving_b: f64,
    leaving_b_emissions: f64,
}

fn by_hand(sources: Sources) -> ByHand {
    let line_ba = sources.line_ba.unwrap_or(900.0);
    let plant_b1 = sources.plant_b1.unwrap_or(900.0);
    let pool_a = (80.0 * 500.0 + 10.0 / 0.95 * line_ba + 5.0 * 100.0) / 95.0;
    let grid = |kwh: f64| kwh / 100.0 / EFF;
    let energy = [
        100_000.0 * 12_000.0 * grid(EV_KWH) / 1e6,
        50_000.0 * 10_000.0 * grid(EV_KWH) / 1e6,
        20_000.0 * 15_000.0 * grid(EV_KWH) / 1e6,
        30_000.0 * 15_000.0 * grid(25.0) / 1e6,
        10_000.0 * 10_000.0 * grid(EV_KWH) / 1e6,
    ];
    let exported = [
        energy[0] * 0.75 * pool_a / 0.95,
        energy[1] * pool_a,
        0.0,
        energy[3] * (2.0 / 3.0) * 900.0 / 0.98,
        0.0,
    ];
    let pool_emissions_a = pool_a * 95.0;
    let landed_b =
        (exported[0] + exported[1]) * (10.0 / 0.95 * line_ba) / pool_emissions_a + exported[3];
    ByHand {
        plant_b1,
        pool_a,
        energy,
        exported,
        landed_b,
        leaving_b: 54.0 + 10.0 / 0.95,
        leaving_b_emissions: 54.0 * 900.0 + 10.0 / 0.95 * line_ba,
    }
}

/// Every city metric of every city, by hand. The match is exhaustive: a metric
/// added to the table does not compile here until it has its hand-worked values.
fn expected_city(m: CityMetric, c: usize, sources: Sources) -> f64 {
    let h = by_hand(sources);
    // a1 uses its 5 TWh and draws 15 from A's pool; a2 generates nothing; b1 has a
    // surplus of 8 TWh; b2 draws 4 of its 6 TWh from B's pool; c1 is balanced.
    let import_share = [0.75, 1.0, 0.0, 2.0 / 3.0, 0.0][c];
    let own = [500.0, 500.0, h.plant_b1, 900.0, 100.0][c];
    let pool = [h.pool_a, h.pool_a, 900.0, 900.0, 100.0][c];
    let at_plug = 1.0 / (1.0 - [0.05, 0.0, 0.0, 0.02, 0.0][c]);
    let supply = ((1.0 - import_share) * own + import_share * pool) * at_plug;
    let ev = [EV_KWH, EV_KWH, EV_KWH, 25.0, EV_KWH][c] / 100.0 / EFF * supply;
    let territorial = h.energy[c] * (1.0 - import_share) * own * at_plug;
    // b1's surplus takes its share of what lands on B's generation: by energy when
    // B's generation is uniform, by emissions when b1 or B's line has its own.
    let b1_share = match sources {
        Sources {
            line_ba: None,
            plant_b1: None,
        } => 8.0 / h.leaving_b,
        _ => 8.0 * h.plant_b1 / h.leaving_b_emissions,
    };
    let received = if c == 2 { h.landed_b * b1_share } else { 0.0 };
    let net_transfer = h.exported[c] - received;
    // Links deliver 15 of the 95 TWh of A's pool; B's and C's pools import nothing.
    let pool_imported = [15.0 / 95.0, 15.0 / 95.0, 0.0, 0.0, 0.0][c];
    match m {
        CityMetric::ImportShare => import_share,
        CityMetric::ImportShareProvince => import_share * pool_imported,
        CityMetric::SupplyIntensity => supply,
        CityMetric::EvGPerKm => ev,
        CityMetric::IceGPerKm => ICE_G_PER_KM,
        CityMetric::EvIceRatio => ev / ICE_G_PER_KM,
        CityMetric::EvEnergyGwh => h.energy[c],
        CityMetric::EvEmissionsT => territorial + h.exported[c],
        CityMetric::EvTerritorialT => territorial,
        CityMetric::BurdenExportedT => h.exported[c],
        CityMetric::BurdenReceivedT => received,
        CityMetric::NetTransferT => net_transfer,
        // Only b2's thirsty EVs on coal beat the gasoline car's 193.2 g/km.
        CityMetric::EvWorseThanIce => f64::from(u8::from(c == 3)),
        CityMetric::NetImporter => f64::from(u8::from(net_transfer > 0.0)),
    }
}

/// Every province metric of every province, by hand.
fn expected_province(m: ProvinceMetric, p: usize, sources: Sources) -> f64 {
    let h = by_hand(sources);
    let pool_emissions_a = h.pool_a * 95.0;
    let exported_a = h.exported[0] + h.exported[1];
    // What A's cities export lands on A's own generation and on B and C through
    // their links, in proportion to the emissions each puts into A's pool.
    let landed = [
        exported_a * (80.0 * 500.0) / pool_emissions_a,
        h.landed_b,
        exported_a * (5.0 * 100.0) / pool_emissions_a,
    ][p];
    // B's local use: b1's 4 TWh at its plants' intensity, b2's 2 at B's.
    let consumption_b = (4.0 * h.plant_b1 + 2.0 * 900.0 + 54.0 * 900.0) / 60.0;
    // Only B has a surplus city: b1's 8 TWh of the 54 + 10/0.95 that B sends out,
    // or its 8·J of B's leaving emissions.
    let rest_b = match sources {
        Sources {
            line_ba: None,
            plant_b1: None,
        } => landed * (h.leaving_b - 8.0) / h.leaving_b,
        _ => landed * (h.leaving_b_emissions - 8.0 * h.plant_b1) / h.leaving_b_emissions,
    };
    match m {
        ProvinceMetric::PoolIntensity => [h.pool_a, 900.0, 100.0][p],
        // Local use at its own intensity plus the pool: (Σ L·J + (O + M)·P) / (L + O + M).
        ProvinceMetric::ConsumptionIntensity => [
            (5.0 * 500.0 + pool_emissions_a) / 100.0,
            consumption_b,
            100.0,
        ][p],
        ProvinceMetric::BurdenLandedT => landed,
        ProvinceMetric::BurdenRestOfProvinceT => {
            if p == 1 {
                rest_b
            } else {
                landed
            }
        }
    }
}

/// Every headline, by hand.
fn expected_headline(m: Headline, sources: Sources) -> f64 {
    let h = by_hand(sources);
    let a1 = |m| expected_city(m, 0, sources);
    assert_eq!(
        (0..5)
            .map(|c| expected_city(CityMetric::NetImporter, c, sources))
            .sum::<f64>(),
        3.0,
        "a1, a2 and b2 import"
    );
    match m {
        Headline::AdvancedImportShare => 0.75,
        // a1 alone: 0.75 of its use from A's pool, 15/95 of which from other provinces.
        Headline::AdvancedImportShareProvince => 0.75 * 15.0 / 95.0,
        // b2 is the worst city: 25 kWh/100 km of coal at 900 g/kWh behind a 2 % loss.
        Headline::MaxEvPenalty => 0.25 / 0.9 * 900.0 / 0.98 / ICE_G_PER_KM - 1.0,
        // a1, a2 and b2 import, of 5 cities.
        Headline::ImporterCityShare => 0.6,
        // b2 alone is worse than gasoline.
        Headline::EvWorseCityShare => 0.2,
        Headline::ShiftedEmissionsT => h.exported.iter().sum(),
        Headline::AdvancedTerritorialGap => {
            1.0 - a1(CityMetric::EvTerritorialT) / a1(CityMetric::EvEmissionsT)
        }
    }
}

/// Each metric of the three tables against its hand-worked value, read through
/// the output layout (which the model writes through named runs), with every
/// generation at its province's intensity and with a line and a city of their own.
#[test]
fn every_declared_metric_has_its_hand_worked_value() {
    // P_A on its own, from the numbers: (80·500 + 10/0.95·900 + 5·100) / 95.
    close(by_hand(PROVINCIAL).pool_a, 526.038_781_163_434_9);
    for sources in [PROVINCIAL, OWN_SOURCES, OWN_PLANT] {
        let (model, out) = run_with(sources);
        let (lay, net) = (model.layout(), model.network());
        let mut checks: Vec<(String, f64, f64)> = Vec::new();
        for m in CityMetric::ALL {
            for c in 0..net.cities().len() {
                let what = format!("{} of city {}", m.name(), net.cities()[c].id);
                checks.push((what, out[lay.city(m, c)], expected_city(m, c, sources)));
            }
        }
        for m in ProvinceMetric::ALL {
            for p in 0..net.provinces().len() {
                let what = format!("{} of province {}", m.name(), net.provinces()[p].id);
                let expected = expected_province(m, p, sources);
                checks.push((what, out[lay.province(m, p)], expected));
            }
        }
        for (k, &h) in lay.headlines().iter().enumerate() {
            let expected = expected_headline(h, sources);
            checks.push((h.name().to_string(), out[lay.headline(k)], expected));
        }
        for (what, actual, expected) in checks {
            // A zero is exact: a city that imports nothing exports no rounding residue.
            let tol = if expected == 0.0 {
                0.0
            } else {
                1e-12 * expected.abs().max(1.0)
            };
            assert!(
                (actual - expected).abs() <= tol,
                "{sources:?}, {what}: got {actual}, expected {expected}"
            );
        }
    }
}

/// A network whose every link and city has an intensity of its own, equal to its
/// province's, gives the outputs of the same network without any (to 1e-12
/// relative): the source-intensity formulas reduce to the provincial ones. And the
/// model of a network without any gives exactly the bits it gave before the two
/// parameters existed, which the golden values of the example config pin.
#[test]
fn own_intensities_equal_to_the_provinces_change_nothing() {
    let mut next = uniforms();
    let plain = Model::new(interleaved_network(), IceBasis::Wtw);
    let all_own = OwnIntensities {
        links: vec![true; plain.network().links().len()],
        cities: vec![true; plain.network().cities().len()],
    };
    let own = Model::new(
        interleaved_network().with_own_intensities(all_own),
        IceBasis::Wtw,
    );
    for _ in 0..20 {
        let mut v = random_values(&plain, &mut next);
        let net = plain.network();
        let gen_intensity = v.get(Param::GenIntensity).to_vec();
        for (l, link) in net.links().iter().enumerate() {
            v.get_mut(Param::LinkIntensity)[l] = gen_intensity[link.from];
        }
        for (c, city) in net.cities().iter().enumerate() {
            v.get_mut(Param::CityGenIntensity)[c] = gen_intensity[city.province];
        }
        let (a, b) = (full_bits(&plain, &v).unwrap(), full_bits(&own, &v).unwrap());
        for (i, (a, b)) in a.iter().zip(&b).enumerate() {
            let (a, b) = (f64::from_bits(*a), f64::from_bits(*b));
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(b.abs()),
                "output {i}: {a} without own intensities, {b} with"
            );
        }
    }
}

/// Burden is conserved with sources of their own too: what all cities export
/// lands on provinces, and all of it on exporter cities or the rest of their
/// provinces, on random draws of a network with own lines and cities.
#[test]
fn burden_is_conserved_with_sources_of_their_own() {
    let mut next = uniforms();
    let model = Model::new(with_some_own_sources(interleaved_network()), IceBasis::Wtw);
    for _ in 0..50 {
        let mut v = random_values(&model, &mut next);
        for x in v.get_mut(Param::LinkIntensity) {
            *x = 1e3 * next();
        }
        for x in v.get_mut(Param::CityGenIntensity) {
            *x = 1e3 * next();
        }
        let out: Vec<f64> = full_bits(&model, &v)
            .unwrap()
            .into_iter()
            .map(f64::from_bits)
            .collect();
        assert_conserved(&model, &out);
    }
}

/// The names of the output slots that still hold the NaN they started with.
fn unwritten(model: &Model, out: &[f64]) -> Vec<String> {
    let (lay, net) = (model.layout(), model.network());
    let mut missing = Vec::new();
    for m in CityMetric::ALL {
        if (0..net.cities().len()).any(|c| out[lay.city(m, c)].is_nan()) {
            missing.push(format!("city metric `{}`", m.name()));
        }
    }
    for m in ProvinceMetric::ALL {
        if (0..net.provinces().len()).any(|p| out[lay.province(m, p)].is_nan()) {
            missing.push(format!("province metric `{}`", m.name()));
        }
    }
    for (k, h) in lay.headlines().iter().enumerate() {
        if out[lay.headline(k)].is_nan() {
            missing.push(format!("headline `{}`", h.name()));
        }
    }
    missing
}

/// A metric declared in a table but written by no formula keeps the NaN its slot
/// starts with, in a full evaluation and in a variant: this test then names it.
#[test]
fn every_declared_metric_is_written() {
    let mut next = uniforms();
    for network in [
        interleaved_network(),
        with_some_own_sources(interleaved_network()),
    ] {
        let model = Model::new(network, IceBasis::Wtw);
        let v = random_values(&model, &mut next);
        let mut scratch = model.scratch();
        let mut base = vec![f64::NAN; model.layout().len()];
        model
            .evaluate(&v, &mut scratch, &mut base)
            .expect("valid draw");
        let missing = unwritten(&model, &base);
        assert!(
            missing.is_empty(),
            "declared but never computed: {missing:?}"
        );
        let mut out = vec![f64::NAN; model.layout().len()];
        model
            .evaluate_variant(&v, &mut scratch, &base, &mut out)
            .expect("valid variant");
        let missing = unwritten(&model, &out);
        assert!(
            missing.is_empty(),
            "neither copied from the base draw nor computed by a variant: {missing:?}"
        );
    }
}

/// The metrics the tables mark as depending on flows only keep their bits when
/// every intensity changes (a variant copies them, so a wrong mark would give a
/// variant wrong values), and every metric marked as depending on intensities
/// moves with them in some draw (a wrong mark there would only cost speed).
#[test]
fn the_tables_say_rightly_which_metrics_depend_on_intensities_only() {
    let mut next = uniforms();
    let model = Model::new(interleaved_network(), IceBasis::Wtw);
    let lay = model.layout();
    let mut moved = vec![false; lay.len()];
    for draw in 0..20 {
        let v = random_values(&model, &mut next);
        let base = full_bits(&model, &v).expect("valid draw");
        let mut changed = v.clone();
        for p in Param::ALL.into_iter().filter(|p| p.is_intensity()) {
            for x in changed.get_mut(p) {
                *x *= 2.0 * next();
            }
        }
        // A generation intensity of 0 gives a pool of intensity 0, whose importing
        // cities then export nothing: the only way the intensities move the
        // importer indicators.
        if draw % 2 == 0 {
            changed.get_mut(Param::GenIntensity)[1 + draw % 4 / 2] = 0.0;
        }
        let other = full_bits(&model, &changed).expect("valid draw");
        for (i, (a, b)) in base.iter().zip(&other).enumerate() {
            moved[i] |= a != b;
        }
    }
    let slots = |depends: Part| -> Vec<(String, Vec<usize>)> {
        let n = model.network();
        let mut out = Vec::new();
        for m in CityMetric::ALL
            .into_iter()
            .filter(|m| m.depends() == depends)
        {
            out.push((
                m.name().into(),
                (0..n.cities().len()).map(|c| lay.city(m, c)).collect(),
            ));
        }
        for m in ProvinceMetric::ALL
            .into_iter()
            .filter(|m| m.depends() == depends)
        {
            let slots = (0..n.provinces().len())
                .map(|p| lay.province(m, p))
                .collect();
            out.push((m.name().into(), slots));
        }
        for (k, h) in lay.headlines().iter().enumerate() {
            if h.depends() == depends {
                out.push((h.name().into(), vec![lay.headline(k)]));
            }
        }
        out
    };
    for (name, at) in slots(Part::Flows) {
        assert!(
            at.iter().all(|&i| !moved[i]),
            "`{name}` is marked as depending on flows only, but it moves with the intensities"
        );
    }
    for (name, at) in slots(Part::Intensities) {
        assert!(
            at.iter().any(|&i| moved[i]),
            "`{name}` never moved with the intensities: should it be marked Flows?"
        );
    }
}
