//! Throughput of the whole pipeline (sampling, model, aggregation), in draws per
//! second, single-threaded and on every core.
//!
//! Run: `cargo bench --bench pipeline`. Groups are named `draws_per_s/…`: criterion's
//! throughput unit "elem/s" is one draw per second (the whole pipeline for one draw).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;
use std::time::Duration;

fn bench_config(c: &mut Criterion, name: &str, path: &str, draws: u64, seconds: u64) {
    let mut config = evcarbon::config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("config loads");
    config.run.draws = draws;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group(format!("draws_per_s/pipeline/{name}"));
    group.throughput(Throughput::Elements(draws));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(seconds));
    let mut thread_counts = vec![1];
    if cores > 1 {
        thread_counts.push(cores);
    }
    for threads in thread_counts {
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| {
                evcarbon::driver::Run::of_draws(&config, threads)
                    .run()
                    .expect("sampling succeeds")
            })
        });
    }
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    bench_config(c, "example", "configs/example.toml", 50_000, 20);
    // 64 chunks: with 16 (16,384 draws), the once-per-run work that the 2-thread
    // run adds (each worker's last, partial block flush and the merge of the two
    // accumulators, about 40 ms) was 7 % of that run, against 0.1 % of a 1M run.
    bench_config(c, "china-285", "configs/china-285.toml", 65_536, 45);
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
