//! Sampling designs (`mc`, `lhs`, `sobol`) and rank correlations: accuracy on a
//! closed-form config, achieved Spearman correlations, and bit-identical outputs for
//! any thread count. Most checks call the library directly (no process per run).

mod common;
use common::*;
use evcarbon::config::{self, Config};
use evcarbon_engine::sampling::{ChunkPlan, Design, Evaluator, SamplerKind};
use evcarbon_model::{CityMetric, Param, ParamValues};

/// Loads a config from text, with its tables given by name.
fn load(toml: &str, tables: &[(&str, &str)]) -> Config {
    config::load_from("test.toml".to_string(), toml, &|rel| {
        tables
            .iter()
            .find(|(name, _)| *name == rel)
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .ok_or_else(|| (rel.to_string(), "not given".to_string()))
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `draws` draws of `kind` through the evaluator and passes each draw's outputs
/// to `each`.
fn for_each_draw(
    config: &Config,
    kind: SamplerKind,
    seed: u64,
    draws: u64,
    mut each: impl FnMut(&[f64]),
) {
    let design = Design::new(kind, seed, config.plan.n_variates()).unwrap();
    let chunks = ChunkPlan { draws };
    let mut eval = Evaluator::new(&config.model, &config.plan, &config.scenarios);
    for k in 0..chunks.n_chunks() {
        let (first, len) = chunks.chunk(k);
        let mut variates = design.chunk(k, first, len);
        for _ in 0..len {
            each(eval.next_draw(&mut variates).unwrap());
        }
    }
}

/// Root-mean-square error of the mean of `ev_emissions_t` over 20 seeds at N = 2^14:
/// scrambled Sobol beats plain Monte Carlo, and the Latin hypercube is no worse.
#[test]
fn sobol_and_lhs_estimate_the_mean_better_than_mc() {
    let config = load(common::LOGNORMAL, &common::ONE_CITY);
    let s_i = 1.2f64.ln();
    let s_kwh = 1.15f64.ln();
    let s_stock = 1.1f64.ln();
    let s_vkt = (1.0f64 + 0.25 * 0.25).ln().sqrt();
    let mu_vkt = 12500f64.ln() - s_vkt * s_vkt / 2.0;
    let mu = 1e5f64.ln() + mu_vkt + 15f64.ln() - 90e6f64.ln() + 600f64.ln();
    let var = s_stock.powi(2) + s_vkt.powi(2) + s_kwh.powi(2) + s_i.powi(2);
    let exact = (mu + var / 2.0).exp();

    let at = config.model.layout().city(CityMetric::EvEmissionsT, 0);
    let draws = 1u64 << 14;
    let rmse = |kind| {
        let mut sq = 0.0;
        for seed in 1..=20u64 {
            let mut sum = 0.0;
            for_each_draw(&config, kind, seed, draws, |out| sum += out[at]);
            sq += (sum / draws as f64 - exact).powi(2);
        }
        (sq / 20.0).sqrt() / exact
    };
    let (mc, lhs, sobol) = (
        rmse(SamplerKind::Mc),
        rmse(SamplerKind::Lhs),
        rmse(SamplerKind::Sobol),
    );
    println!(
        "relative RMSE of the mean of ev_emissions_t, 20 seeds, N = 2^14: \
         mc {mc:.3e}, lhs {lhs:.3e}, sobol {sobol:.3e}"
    );
    // Plain Monte Carlo's error is about sd/sqrt(N): a sanity check of the harness.
    let sd = ((var.exp() - 1.0).sqrt()) / (draws as f64).sqrt();
    assert!(mc > 0.5 * sd && mc < 1.5 * sd, "mc {mc} vs sd/sqrt(N) {sd}");
    assert!(sobol < mc, "sobol {sobol} ≥ mc {mc}");
    assert!(lhs <= mc, "lhs {lhs} > mc {mc}");
}

/// Ranks 0 … n−1 of a sample (no ties).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    for (rank, &i) in order.iter().enumerate() {
        r[i] = rank as f64;
    }
    r
}

/// Pearson's correlation of two ranks vectors (so Spearman's of the samples).
fn pearson(rx: &[f64], ry: &[f64]) -> f64 {
    let mean = (rx.len() as f64 - 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(ry) {
        sxy += (a - mean) * (b - mean);
        sxx += (a - mean) * (a - mean);
        syy += (b - mean) * (b - mean);
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman's rank correlation of two samples (no ties).
fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Through the whole evaluator: correlating the EV's and the gasoline car's
/// consumption (both global) makes `ev_g_per_km` and `ice_g_per_km` (each monotone in
/// one of them here) reach the target rank correlation, with every design.
#[test]
fn a_correlated_pair_reaches_its_target_spearman() {
    let text = format!(
        "{}\n[[correlations]]\nparams = [\"ice_l_per_100km\", \"ev_kwh_per_100km\"]\nrank = 0.6\n",
        common::LOGNORMAL
    )
    .replace("median = 600.0\ngsd = 1.2", "median = 600.0\ngsd = 1.0");
    let config = load(&text, &common::ONE_CITY);
    let layout = config.model.layout();
    let (ev, ice) = (
        layout.city(CityMetric::EvGPerKm, 0),
        layout.city(CityMetric::IceGPerKm, 0),
    );
    for kind in [SamplerKind::Mc, SamplerKind::Lhs, SamplerKind::Sobol] {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for_each_draw(&config, kind, 7, 100_000, |out| {
            x.push(out[ev]);
            y.push(out[ice]);
        });
        let rho = spearman(&x, &y);
        println!("{kind:?}: Spearman {rho:.4} (target 0.6)");
        assert!((rho - 0.6).abs() < 0.02, "{kind:?}: Spearman {rho}");
    }
}

/// Two provinces, three cities: correlations paired per province (a province-level
/// parameter with a province-scoped city parameter), per city, and a chain of three
/// global parameters, checked on the parameter values drawn (30k draws per design, so
/// ±0.03 is about six standard errors).
#[test]
fn correlations_pair_by_province_city_and_chain() {
    let text = common::LOGNORMAL
        .replace(
            "[params.distribution_loss]\ndist = \"fixed\"\nvalue = 0.0",
            "[params.distribution_loss]\nscope = \"province\"\ndist = \"uniform\"\nmin = 0.02\nmax = 0.08",
        )
        .replace(
            "[params.charging_efficiency]\ndist = \"fixed\"\nvalue = 0.9",
            "[params.charging_efficiency]\nscope = \"global\"\ndist = \"uniform\"\nmin = 0.85\nmax = 0.95",
        )
        + "
[[correlations]]
params = [\"gen_intensity\", \"distribution_loss\"]
rank = -0.5
[[correlations]]
params = [\"ev_stock\", \"vkt_km\"]
rank = 0.7
[[correlations]]
params = [\"ev_kwh_per_100km\", \"charging_efficiency\"]
rank = 0.4
[[correlations]]
params = [\"charging_efficiency\", \"ice_l_per_100km\"]
rank = 0.3
";
    let config = load(
        &text,
        &[
            ("p.csv", "province\nP\nQ\n"),
            (
                "c.csv",
                "city_id,city,province,tier\nX,X,P,tier1\nY,Y,Q,tier2\nZ,Z,P,tier2\n",
            ),
        ],
    );
    let plan = &config.plan;
    let network = config.model.network();
    // Per province: 1 block; per city: 3 blocks; the global chain: 1 block.
    assert_eq!(plan.correlated_blocks(), 2 + 3 + 1);
    let draws = 30_000u64;
    for kind in [SamplerKind::Mc, SamplerKind::Lhs, SamplerKind::Sobol] {
        let design = Design::new(kind, 3, plan.n_variates()).unwrap();
        let chunks = ChunkPlan { draws };
        let mut u = vec![0.0; plan.n_variates()];
        let mut values = ParamValues::new(network);
        let mut series: Vec<Vec<f64>> = vec![Vec::new(); 12];
        for k in 0..chunks.n_chunks() {
            let (first, len) = chunks.chunk(k);
            let mut variates = design.chunk(k, first, len);
            for _ in 0..len {
                variates.next_draw(&mut u);
                plan.correlate_uniforms(&mut u);
                plan.apply(network, &u, &mut values).unwrap();
                let v = |p: Param, e: usize| values.get(p)[e];
                let row = [
                    v(Param::GenIntensity, 0),
                    v(Param::DistributionLoss, 0), // city X in P
                    v(Param::GenIntensity, 1),
                    v(Param::DistributionLoss, 1), // city Y in Q
                    v(Param::EvStock, 0),
                    v(Param::VktKm, 0),
                    v(Param::EvStock, 2),
                    v(Param::VktKm, 2),
                    v(Param::EvKwhPer100km, 0),
                    v(Param::ChargingEfficiency, 0),
                    v(Param::IceLPer100km, 0),
                    v(Param::EvStock, 1),
                ];
                for (s, x) in series.iter_mut().zip(row) {
                    s.push(x);
                }
            }
        }
        let checks = [
            ("gen_intensity–distribution_loss in P", 0, 1, -0.5),
            ("gen_intensity–distribution_loss in Q", 2, 3, -0.5),
            ("ev_stock–vkt_km in X", 4, 5, 0.7),
            ("ev_stock–vkt_km in Z", 6, 7, 0.7),
            ("ev_kwh–charging_efficiency", 8, 9, 0.4),
            ("charging_efficiency–ice_l", 9, 10, 0.3),
            ("ev_kwh–ice_l (not asked: independent)", 8, 10, 0.0),
            ("ev_stock of X and Y (independent cities)", 4, 11, 0.0),
            ("gen_intensity of P and Q (independent)", 0, 2, 0.0),
        ];
        let ranked: Vec<Vec<f64>> = series.iter().map(|s| ranks(s)).collect();
        for (what, a, b, target) in checks {
            let rho = pearson(&ranked[a], &ranked[b]);
            assert!(
                (rho - target).abs() < 0.03,
                "{kind:?}, {what}: Spearman {rho}, target {target}"
            );
        }
    }
}

/// Every design, with correlations, gives the same Parquet bytes for 1, 2 and 3
/// threads (3000 draws: two full chunks and a short one).
#[test]
fn every_design_is_identical_for_any_thread_count() {
    let dir = example_copy();
    let end = "# ice_extra_g_per_km is optional and left out: it defaults to 0.";
    edit(
        dir.path(),
        "example.toml",
        end,
        &format!(
            "{end}\n\n[[correlations]]\nparams = [\"gen_intensity\", \"distribution_loss\"]\nrank = 0.5\n\n\
             [[correlations]]\nparams = [\"ev_kwh_per_100km\", \"charging_efficiency\"]\nrank = -0.3\n"
        ),
    );
    for sampler in ["mc", "lhs", "sobol"] {
        let mut outputs = Vec::new();
        for threads in ["1", "2", "3"] {
            let out = format!("{sampler}-{threads}");
            let result = evcarbon(
                dir.path(),
                &[
                    "run",
                    "example.toml",
                    "--draws",
                    "3000",
                    "--sampler",
                    sampler,
                    "--threads",
                    threads,
                    "--out",
                    &out,
                    "--quiet",
                ],
            );
            assert!(result.status.success(), "{}", text(&result).1);
            outputs.push(out);
        }
        for f in [
            "city_intervals.parquet",
            "province_intervals.parquet",
            "headline_intervals.parquet",
        ] {
            let one = std::fs::read(dir.path().join(&outputs[0]).join(f)).unwrap();
            for other in &outputs[1..] {
                assert!(
                    one == std::fs::read(dir.path().join(other).join(f)).unwrap(),
                    "{sampler}: {f} differs for {other}"
                );
            }
        }
    }
}
