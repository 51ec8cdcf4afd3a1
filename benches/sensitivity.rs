//! Throughput of the sensitivity analyses on the default dataset, in model
//! evaluations per second: the A/B/AB_g design of `evcarbon sensitivity` (18
//! evaluations per base draw with the 16 parameter groups) and the given-data pass of
//! `run --sensitivity` (one evaluation per draw, plus the groups' scores and bins).
//!
//! Run: `cargo bench --bench sensitivity`. Groups are named `evaluations_per_s/…`:
//! criterion's "elem/s" is one model evaluation per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evcarbon::driver::{GroupBy, SensitivityJob, given_data, variate_groups};
use evcarbon::engine::stats::FirstOrderEstimator;
use std::time::Duration;

fn sensitivity(c: &mut Criterion) {
    let config = evcarbon::config::load_builtin().expect("built-in config loads");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let base_draws = 4096;
    let (groups, _) = variate_groups(&config, GroupBy::Param).expect("groups");
    let mut group = c.benchmark_group("evaluations_per_s/sensitivity/china-285");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(base_draws * (groups.len() as u64 + 2)));
    group.bench_function(format!("sobol_design_{threads}_threads"), |b| {
        b.iter(|| {
            SensitivityJob {
                config: &config,
                groups_by: GroupBy::Param,
                base_draws,
                estimator: FirstOrderEstimator::Saltelli,
                threads,
            }
            .run(&|_| {})
            .expect("design runs")
        })
    });
    let draws = 65_536;
    group.throughput(Throughput::Elements(draws));
    group.bench_function(format!("given_data_pass_{threads}_threads"), |b| {
        b.iter(|| given_data(&config, draws, threads, None).expect("pass runs"))
    });
    group.finish();
}

criterion_group!(benches, sensitivity);
criterion_main!(benches);
