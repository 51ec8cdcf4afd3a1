//! What each distribution family costs the sampler, in draws per second: the
//! default 285-city network with one per-city parameter (`city_consumption_twh`)
//! drawn from a distribution of its own per city, family by family (normal,
//! lognormal, truncated normal, triangular, PERT, beta, gamma; and PERTs of one
//! shape, different bounds, which share one table), every other
//! parameter fixed; and whole runs of the default config and of a config whose
//! cities each draw their own PERT (`benches/china-285-pert.toml`) and of the same
//! network with normals (`benches/china-285-normal.toml`), at 1 and 2
//! threads. Also prints the set-up time of 285 distinct PERT, beta and gamma
//! tables, and each family's sampler time as a ratio to the normal's (medians of
//! one session).
//!
//! Run: `cargo bench --bench families`. Criterion's "elem/s" is draws/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evcarbon_engine::sampling::{
    Design, Dist, DistSpec, SamplerKind, SamplingPlan, Scope, check_support,
};
use evcarbon_model::{Network, Param, ParamValues};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// Draws per sampler measurement (one chunk).
const DRAWS: u64 = 1024;

/// The families, in the order they are measured and printed.
const FAMILIES: [&str; 8] = [
    "normal",
    "lognormal",
    "truncated_normal",
    "triangular",
    "pert",
    "pert_one_table",
    "beta",
    "gamma",
];

fn config(path: &str) -> evcarbon::config::Config {
    evcarbon::config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("config loads")
}

/// The mean and cv of a lognormal.
fn mean_cv(d: &Dist) -> (f64, f64) {
    match *d.spec() {
        DistSpec::LogNormal { mu, sigma } => (
            (mu + 0.5 * sigma * sigma).exp(),
            (sigma * sigma).exp_m1().sqrt(),
        ),
        ref other => panic!("city_consumption_twh is lognormal in the default, not {other:?}"),
    }
}

/// City `c`'s distribution of `family`, with the default's mean `m` and cv: the
/// mode (or the shape) at a position that differs from city to city, so that no
/// two cities share a table.
fn family_dist(family: &str, c: usize, m: f64, cv: f64) -> Dist {
    let position = 0.15 + 0.7 * (c as f64 * 0.618_033_988_749_894_9).fract();
    let width = 2.5 * cv * m;
    let (min, max) = (m - position * width, m + (1.0 - position) * width);
    let spec = match family {
        "normal" => DistSpec::Normal {
            mean: m,
            sd: cv * m,
            min: None,
            max: None,
        },
        "lognormal" => {
            let sigma = (1.0 + cv * cv).ln().sqrt();
            DistSpec::LogNormal {
                mu: m.ln() - 0.5 * sigma * sigma,
                sigma,
            }
        }
        "truncated_normal" => DistSpec::Normal {
            mean: m,
            sd: cv * m,
            min: Some(m * (1.0 - cv)),
            max: Some(m * (1.0 + 2.0 * cv)),
        },
        "triangular" => DistSpec::Triangular { min, mode: m, max },
        "pert" => DistSpec::Pert {
            min,
            mode: m,
            max,
            shape: 4.0,
        },
        // The mode at the same position for every city: one shared table.
        "pert_one_table" => DistSpec::Pert {
            min: m - 0.4 * width,
            mode: m,
            max: m + 0.6 * width,
            shape: 4.0,
        },
        "beta" => DistSpec::Beta {
            alpha: 0.8 + 3.0 * position,
            beta: 6.0 - 3.0 * position,
            min: m * (1.0 - cv),
            max: m * (1.0 + 2.0 * cv),
        },
        "gamma" => {
            let shape = (0.8 + 0.4 * position) / (cv * cv);
            DistSpec::Gamma {
                shape,
                scale: m / shape,
            }
        }
        _ => unreachable!("unknown family {family}"),
    };
    Dist::new(spec).expect("valid distribution")
}

/// A plan over `net` with every parameter fixed at the default's median, but
/// `city_consumption_twh`, drawn per city from `family`.
fn family_plan(default: &SamplingPlan, net: &Network, family: &str) -> SamplingPlan {
    let entries = default
        .params()
        .iter()
        .map(|p| {
            let dists: Vec<Dist> = if p.param() == Param::CityConsumptionTwh {
                // A cv of at most 0.15 keeps a normal positive (the range) in every
                // draw: 6.7 sd.
                let shape = |(c, d)| {
                    let (m, cv) = mean_cv(d);
                    family_dist(family, c, m, cv.min(0.15))
                };
                p.dists().iter().enumerate().map(shape).collect()
            } else {
                let fixed = |d: &Dist| DistSpec::Fixed { value: d.median() };
                p.dists()
                    .iter()
                    .map(|d| Dist::new(fixed(d)).expect("a fixed value"))
                    .collect()
            };
            let checked = dists
                .iter()
                .map(|d| check_support(p.param(), d.support()).expect("inside the range"))
                .collect();
            let scope = if p.param() == Param::CityConsumptionTwh {
                Scope::Own
            } else {
                p.scope()
            };
            (scope, dists, checked)
        })
        .collect();
    SamplingPlan::new(net, entries)
}

/// One chunk of draws through `plan`'s sampler.
fn sample_chunk(
    plan: &SamplingPlan,
    net: &Network,
    uniforms: &mut [f64],
    values: &mut ParamValues,
) {
    let design = Design::new(SamplerKind::Mc, 1, plan.n_variates()).expect("mc design");
    let mut variates = design.chunk(0, 0, DRAWS);
    for _ in 0..DRAWS {
        variates.next_draw(uniforms);
        plan.apply(net, uniforms, values).expect("valid draw");
    }
    black_box(&*values);
}

/// The median time of `runs` calls of `f`.
fn median_time(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// Prints the set-up time of 285 distinct tables per tabulated family.
fn print_setup_times(default: &SamplingPlan) {
    let consumption = &default.params()[Param::CityConsumptionTwh.index()];
    for family in ["pert", "beta", "gamma"] {
        let start = Instant::now();
        let dists: Vec<Dist> = (consumption.dists().iter().enumerate())
            .map(|(c, d)| {
                let (m, cv) = mean_cv(d);
                family_dist(family, c, m, cv.min(0.15))
            })
            .collect();
        let elapsed = start.elapsed();
        eprintln!(
            "setup/{family}: {} distributions in {:.1} ms ({:.0} µs each)",
            dists.len(),
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e6 / dists.len() as f64
        );
    }
}

fn sampler(c: &mut Criterion) {
    let default = config("configs/china-285.toml");
    let net = default.model.network();
    print_setup_times(&default.plan);
    let plans: Vec<SamplingPlan> = FAMILIES
        .iter()
        .map(|f| family_plan(&default.plan, net, f))
        .collect();
    let mut values = ParamValues::new(net);
    let mut group = c.benchmark_group("draws_per_s/families/sampler");
    group.throughput(Throughput::Elements(DRAWS));
    group.sample_size(20);
    for (family, plan) in FAMILIES.iter().zip(&plans) {
        let mut uniforms = vec![0.0; plan.n_variates()];
        group.bench_function(*family, |b| {
            b.iter(|| sample_chunk(plan, net, &mut uniforms, &mut values))
        });
    }
    group.finish();
    // The ratios, from medians of this session (interleaved, so drifts of the
    // machine's speed hit every family alike).
    let mut times = vec![Vec::new(); FAMILIES.len()];
    for _ in 0..15 {
        for (k, plan) in plans.iter().enumerate() {
            let mut uniforms = vec![0.0; plan.n_variates()];
            times[k].push(median_time(3, || {
                sample_chunk(plan, net, &mut uniforms, &mut values)
            }));
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[t.len() / 2].as_secs_f64()
        })
        .collect();
    for (family, &m) in FAMILIES.iter().zip(&medians) {
        eprintln!(
            "sampler/{family}: {:.0} ns per draw, {:.2}× normal",
            m * 1e9 / DRAWS as f64,
            m / medians[0]
        );
    }
}

/// Whole runs of 32,768 draws of the default config, of the per-city PERT config
/// and of the same network with per-city normals, at 1 and 2 threads (1 only on
/// one core). Measured in one group, so that criterion prints them together.
fn whole_runs(c: &mut Criterion) {
    let draws = 32_768;
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    let mut group = c.benchmark_group("draws_per_s/families/run");
    group.throughput(Throughput::Elements(draws));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (name, path) in [
        ("china-285", "configs/china-285.toml"),
        ("china-285-pert", "benches/china-285-pert.toml"),
        ("china-285-normal", "benches/china-285-normal.toml"),
    ] {
        let mut config = config(path);
        config.run.draws = draws;
        let run = |threads| evcarbon::driver::Run::of_draws(&config, threads).run();
        group.bench_function(format!("{name}/1_thread"), |b| {
            b.iter(|| run(1).expect("sampling succeeds"))
        });
        if two_cores {
            group.bench_function(format!("{name}/2_threads"), |b| {
                b.iter(|| run(2).expect("sampling succeeds"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, sampler, whole_runs);
criterion_main!(benches);
