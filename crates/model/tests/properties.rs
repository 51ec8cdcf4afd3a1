//! Properties of the attribution on random small networks: shares stay in [0, 1],
//! every tonne of an EV's CO2 is either territorial or exported, the exported burden
//! lands somewhere (conservation), and the order of the table rows changes nothing.

use evcarbon_model::{
    City, CityMetric, Entity, IceBasis, Link, Model, Network, OwnIntensities, Param, ParamValues,
    Province, ProvinceMetric,
};
use proptest::prelude::*;

/// A small deterministic generator (SplitMix64), so one proptest seed is one case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
}

/// A random network of 2–4 provinces with 1–3 cities each and up to 5 links, with
/// random own intensities, and values for every parameter in a plausible range.
fn case(seed: u64) -> (Network, ParamValues) {
    let mut rng = Rng(seed);
    let n_provinces = 2 + rng.below(3);
    let provinces: Vec<Province> = (0..n_provinces)
        .map(|p| Province {
            id: format!("P{p}"),
        })
        .collect();
    let mut cities = Vec::new();
    for p in 0..n_provinces {
        for c in 0..1 + rng.below(3) {
            let advanced = rng.next() < 0.4;
            cities.push(City {
                id: format!("C{p}{c}"),
                name: format!("city {p}.{c}"),
                province: p,
                tier: if advanced { "tier1" } else { "tier3" }.into(),
                advanced,
            });
        }
    }
    let mut links = Vec::new();
    for _ in 0..rng.below(6) {
        let from = rng.below(n_provinces);
        let to = (from + 1 + rng.below(n_provinces - 1)) % n_provinces;
        if !links.contains(&Link { from, to }) {
            links.push(Link { from, to });
        }
    }
    let own = OwnIntensities {
        links: links.iter().map(|_| rng.next() < 0.5).collect(),
        cities: cities.iter().map(|_| rng.next() < 0.3).collect(),
    };
    let network = Network::new(provinces, cities, links).with_own_intensities(own);
    let mut v = ParamValues::new(&network);
    let ranges = [
        (Param::GenIntensity, 0.0, 1200.0),
        (Param::DeliveredTwh, 0.0, 40.0),
        (Param::Loss, 0.0, 0.1),
        (Param::LinkIntensity, 0.0, 1200.0),
        (Param::CityConsumptionTwh, 1.0, 60.0),
        (Param::CityGenerationTwh, 0.0, 90.0),
        (Param::CityGenIntensity, 0.0, 1200.0),
        (Param::DistributionLoss, 0.0, 0.1),
        (Param::EvStock, 0.0, 1e6),
        (Param::VktKm, 5000.0, 20000.0),
        (Param::EvKwhPer100km, 10.0, 25.0),
        (Param::ChargingEfficiency, 0.8, 0.95),
        (Param::IceLPer100km, 5.0, 10.0),
        (Param::GasolineKgco2PerL, 2.2, 2.4),
        (Param::GasolineWttUplift, 0.1, 0.3),
        (Param::EvExtraGPerKm, 0.0, 50.0),
        (Param::IceExtraGPerKm, 0.0, 50.0),
    ];
    for (p, lo, hi) in ranges {
        for x in v.get_mut(p) {
            *x = rng.between(lo, hi);
        }
    }
    // A province uses at least what its cities use.
    let mut cities_twh = vec![0.0; network.provinces().len()];
    for (c, city) in network.cities().iter().enumerate() {
        cities_twh[city.province] += v.get(Param::CityConsumptionTwh)[c];
    }
    for (p, x) in v
        .get_mut(Param::ProvinceConsumptionTwh)
        .iter_mut()
        .enumerate()
    {
        *x = cities_twh[p] * rng.between(1.0, 2.0) + rng.between(0.0, 50.0);
    }
    (network, v)
}

fn evaluate(network: &Network, v: &ParamValues) -> Option<(Model, Vec<f64>)> {
    let model = Model::new(network.clone(), IceBasis::Wtw);
    let mut out = vec![0.0; model.layout().len()];
    model.evaluate(v, &mut model.scratch(), &mut out).ok()?;
    Some((model, out))
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-9 * scale.max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn shares_balances_and_conservation_hold(seed in any::<u64>()) {
        let (network, v) = case(seed);
        let Some((model, out)) = evaluate(&network, &v) else {
            return Err(TestCaseError::reject("the model refused the draw"));
        };
        let lay = model.layout();
        let n_cities = network.cities().len();
        let city = |m: CityMetric, c: usize| out[lay.city(m, c)];
        let mut exported = 0.0;
        let mut scale = 1.0f64;
        for c in 0..n_cities {
            let share = city(CityMetric::ImportShare, c);
            prop_assert!((0.0..=1.0).contains(&share), "import share {share}");
            let (total, territorial, export) = (
                city(CityMetric::EvEmissionsT, c),
                city(CityMetric::EvTerritorialT, c),
                city(CityMetric::BurdenExportedT, c),
            );
            let tiny = -1e-9 * total.abs().max(1.0);
            prop_assert!(territorial >= tiny && export >= tiny, "{territorial}, {export}");
            prop_assert!(close(territorial + export, total, total.abs()), "{territorial} + {export} != {total}");
            exported += export;
            scale = scale.max(total.abs());
        }
        let mut landed = 0.0;
        for p in 0..network.provinces().len() {
            let on_province = out[lay.province(ProvinceMetric::BurdenLandedT, p)];
            let rest = out[lay.province(ProvinceMetric::BurdenRestOfProvinceT, p)];
            let received: f64 = (0..n_cities)
                .filter(|&c| network.cities()[c].province == p)
                .map(|c| city(CityMetric::BurdenReceivedT, c))
                .sum();
            prop_assert!(close(rest + received, on_province, scale), "province {p}: {rest} + {received} != {on_province}");
            landed += on_province;
        }
        prop_assert!(close(landed, exported, scale), "landed {landed} != exported {exported}");
        prop_assert!(out.iter().all(|x| x.is_finite()));
    }

    /// Reversing the order of the cities (rows of cities.csv) gives each city the
    /// same values, and every province and headline the same, up to the rounding of
    /// sums taken in another order.
    #[test]
    fn the_order_of_the_cities_changes_nothing(seed in any::<u64>()) {
        let (network, v) = case(seed);
        let Some((model, out)) = evaluate(&network, &v) else {
            return Err(TestCaseError::reject("the model refused the draw"));
        };
        let n = network.cities().len();
        let order: Vec<usize> = (0..n).rev().collect();
        let cities: Vec<City> = order.iter().map(|&c| network.cities()[c].clone()).collect();
        let own = network.own_intensities();
        let own = OwnIntensities {
            links: own.links.clone(),
            cities: order.iter().map(|&c| own.cities[c]).collect(),
        };
        let reversed = Network::new(network.provinces().to_vec(), cities, network.links().to_vec())
            .with_own_intensities(own);
        let mut w = v.clone();
        for p in Param::ALL.into_iter().filter(|p| p.entity() == Entity::City) {
            let original = v.get(p).to_vec();
            for (slot, &c) in w.get_mut(p).iter_mut().zip(&order) {
                *slot = original[c];
            }
        }
        let (model_r, out_r) = evaluate(&reversed, &w).expect("the same draw, reordered");
        let scale = out.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        for m in CityMetric::ALL {
            for (r, &c) in order.iter().enumerate() {
                let (a, b) = (out[model.layout().city(m, c)], out_r[model_r.layout().city(m, r)]);
                prop_assert!(close(a, b, scale), "{} of city {c}: {a} vs {b}", m.name());
            }
        }
        for k in model.layout().province_start()..model.layout().len() {
            prop_assert!(close(out[k], out_r[k], scale), "output {k}: {} vs {}", out[k], out_r[k]);
        }
    }

    /// Reversing the order of the provinces and of the links (rows of provinces.csv
    /// and links.csv) gives every province, link-fed city and headline the same
    /// values, up to rounding.
    #[test]
    fn the_order_of_provinces_and_links_changes_nothing(seed in any::<u64>()) {
        let (network, v) = case(seed);
        let Some((model, out)) = evaluate(&network, &v) else {
            return Err(TestCaseError::reject("the model refused the draw"));
        };
        let np = network.provinces().len();
        let flip = |p: usize| np - 1 - p;
        let provinces: Vec<Province> = (0..np).rev().map(|p| network.provinces()[p].clone()).collect();
        let cities: Vec<City> = network
            .cities()
            .iter()
            .map(|c| City { province: flip(c.province), ..c.clone() })
            .collect();
        let nl = network.links().len();
        let links: Vec<Link> = (0..nl)
            .rev()
            .map(|l| {
                let link = network.links()[l];
                Link { from: flip(link.from), to: flip(link.to) }
            })
            .collect();
        let own = network.own_intensities();
        let own = OwnIntensities {
            links: (0..nl).rev().map(|l| own.links[l]).collect(),
            cities: own.cities.clone(),
        };
        let flipped = Network::new(provinces, cities, links).with_own_intensities(own);
        let mut w = v.clone();
        for p in Param::ALL {
            let original = v.get(p).to_vec();
            let n = original.len();
            match p.entity() {
                Entity::Province => {
                    for (k, slot) in w.get_mut(p).iter_mut().enumerate() {
                        *slot = original[flip(k)];
                    }
                }
                Entity::Link => {
                    for (k, slot) in w.get_mut(p).iter_mut().enumerate() {
                        *slot = original[n - 1 - k];
                    }
                }
                Entity::City => {}
            }
        }
        let (model_f, out_f) = evaluate(&flipped, &w).expect("the same draw, reordered");
        let scale = out.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        for m in CityMetric::ALL {
            for c in 0..network.cities().len() {
                let (a, b) = (out[model.layout().city(m, c)], out_f[model_f.layout().city(m, c)]);
                prop_assert!(close(a, b, scale), "{} of city {c}: {a} vs {b}", m.name());
            }
        }
        for m in ProvinceMetric::ALL {
            for p in 0..np {
                let (a, b) = (out[model.layout().province(m, p)], out_f[model_f.layout().province(m, flip(p))]);
                prop_assert!(close(a, b, scale), "{} of province {p}: {a} vs {b}", m.name());
            }
        }
        for k in 0..model.layout().headlines().len() {
            let (a, b) = (out[model.layout().headline(k)], out_f[model_f.layout().headline(k)]);
            prop_assert!(close(a, b, scale), "headline {k}: {a} vs {b}");
        }
    }
}
