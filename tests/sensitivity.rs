//! Sobol indices through the real config path and model, against closed forms.

mod common;

use common::{LOGNORMAL, ONE_CITY};
use evcarbon::engine::sampling::{BaseDrawPlan, ModelSensitivity, SamplerKind, VariateGroups};
use evcarbon::engine::stats::FirstOrderEstimator;
use evcarbon::model::{CityMetric, Param};

/// One city's `ev_emissions_t` in [`LOGNORMAL`] is `stock · vkt · kWh/km ·
/// gen_intensity · const`, a product of independent lognormals with log-variances
/// σ_i². Its log is additive, and with `V = E[Y]² (e^{Σσ²} − 1)`:
/// `S1_i = (e^{σ_i²} − 1) / (e^{Σσ²} − 1)` (from `E[Y | X_i] = X_i Π_{j≠i} E[X_j]`)
/// and `ST_i = (e^{Σσ²} − e^{Σ_{j≠i} σ_j²}) / (e^{Σσ²} − 1)` (from
/// `ST_i = 1 − Var(E[Y | X_~i]) / V`). The gasoline car's fuel use, also lognormal,
/// does not enter: both its indices are 0.
#[test]
fn a_product_of_lognormals_has_its_closed_form_indices() {
    let dir = tempfile::tempdir().unwrap();
    common::write(dir.path(), "run.toml", LOGNORMAL);
    for (name, text) in ONE_CITY {
        common::write(dir.path(), name, text);
    }
    let config = evcarbon::config::load(&dir.path().join("run.toml")).unwrap();
    let plan = &config.plan;
    // One group per parameter that draws: its variates are contiguous.
    let groups: Vec<(String, Vec<u32>)> = plan
        .params()
        .iter()
        .filter(|p| p.has_variates())
        .map(|p| {
            let mut vars = p.variate_of().to_vec();
            vars.sort_unstable();
            vars.dedup();
            (p.param().name().to_string(), vars)
        })
        .collect();
    let groups = VariateGroups::new(groups, plan.n_variates());
    let log_variance = |name: &str| match name {
        "gen_intensity" => 1.2f64.ln().powi(2),
        "ev_stock" => 1.1f64.ln().powi(2),
        "vkt_km" => (1.0f64 + 0.25 * 0.25).ln(),
        "ev_kwh_per_100km" => 1.15f64.ln().powi(2),
        "ice_l_per_100km" => 0.0, // does not enter ev_emissions_t
        other => panic!("unexpected group {other}"),
    };
    let total: f64 = groups.names().iter().map(|n| log_variance(n)).sum();
    for sampler in [SamplerKind::Sobol, SamplerKind::Mc] {
        let sums = ModelSensitivity {
            model: &config.model,
            plan,
            groups: &groups,
            seed: 11,
            sampler,
            base: BaseDrawPlan {
                base_draws: 1 << 14,
            },
            estimator: FirstOrderEstimator::Janon,
            threads: 2,
            batches: None,
        }
        .run(&mut |_| {})
        .unwrap();
        let indices = sums.indices();
        let output = config.model.layout().city(CityMetric::EvEmissionsT, 0);
        for (g, name) in groups.names().iter().enumerate() {
            let s2 = log_variance(name);
            let s1_exact = (s2.exp() - 1.0) / (total.exp() - 1.0);
            let st_exact = (total.exp() - (total - s2).exp()) / (total.exp() - 1.0);
            let got = indices[output * groups.len() + g].unwrap();
            let (s1, st) = (got.first.value, got.total.value);
            assert!(
                (s1 - s1_exact).abs() < 0.02,
                "{sampler:?} {name}: S1 {s1} vs {s1_exact}"
            );
            assert!(
                (st - st_exact).abs() < 0.02,
                "{sampler:?} {name}: ST {st} vs {st_exact}"
            );
            let (lo, hi) = (got.total.lo95.unwrap(), got.total.hi95.unwrap());
            assert!(
                lo - 0.005 <= st_exact && st_exact <= hi + 0.005,
                "{sampler:?} {name}: ST interval"
            );
        }
    }
    assert!(Param::ALL.len() > groups.len());
}
