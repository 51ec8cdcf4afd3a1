//! Throughput of each stage of a draw on the default dataset, in draws per second:
//! the sampler (uniforms → parameter values), the model (values → metrics) and the
//! aggregator (metrics → moments and sketches). Single-threaded. Also the normal
//! scores alone (`normal_scores`, in values per second), the sampler's largest loop.
//!
//! Run: `cargo bench --bench components`. Criterion's "elem/s" is draws/s in the
//! `draws_per_s/…` groups and normal scores per second in `values_per_s/normal_scores`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evcarbon_engine::sampling::{DRAWS_PER_GROUP, Design, SamplerKind, evaluate_model};
use evcarbon_engine::stats::{Accumulator, SeriesGuess};
use evcarbon_model::ParamValues;
use std::hint::black_box;
use std::path::Path;

const DRAWS: u64 = 1024;

fn components(c: &mut Criterion) {
    let config = evcarbon::config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/china-285.toml"),
    )
    .expect("default config loads");
    let (model, plan, net) = (&config.model, &config.plan, config.model.network());
    let design = Design::new(SamplerKind::Mc, 1, plan.n_variates()).expect("mc design");
    let mut uniforms = vec![0.0; plan.n_variates()];
    let mut values = ParamValues::new(net);
    let mut scratch = model.scratch();
    let mut out = vec![0.0; model.layout().len()];

    // One chunk of inputs and outputs, precomputed for the later stages.
    let mut chunk_uniforms = Vec::new();
    let mut chunk_outputs = Vec::new();
    let mut variates = design.chunk(0, 0, DRAWS);
    for _ in 0..DRAWS {
        variates.next_draw(&mut uniforms);
        plan.apply(net, &uniforms, &mut values).expect("valid draw");
        model
            .evaluate(&values, &mut scratch, &mut out)
            .expect("valid draw");
        chunk_uniforms.push(uniforms.clone());
        chunk_outputs.push(out.clone());
    }

    let mut group = c.benchmark_group("draws_per_s/components/china-285");
    group.throughput(Throughput::Elements(DRAWS));
    group.sample_size(20);
    group.bench_function("sampler", |b| {
        b.iter(|| {
            let mut variates = design.chunk(0, 0, DRAWS);
            for _ in 0..DRAWS {
                variates.next_draw(&mut uniforms);
                plan.apply(net, &uniforms, &mut values).expect("valid draw");
            }
            black_box(&values);
        })
    });
    // The model alone, on the values of one fixed draw.
    plan.apply(net, &chunk_uniforms[0], &mut values)
        .expect("valid draw");
    group.bench_function("model", |b| {
        b.iter(|| {
            for _ in 0..DRAWS {
                evaluate_model(model, black_box(&values), &mut scratch, &mut out)
                    .expect("valid draw");
            }
        })
    });
    group.bench_function("aggregator", |b| {
        // Ternary series and copies guessed from the first draws, as a run does.
        let mut guess = SeriesGuess::new(chunk_outputs[0].len());
        chunk_outputs[..256].iter().for_each(|o| guess.observe(o));
        let mut acc = Accumulator::guided(chunk_outputs[0].clone(), Vec::new(), &guess);
        // In groups of draws one after the other, as the workers add them.
        let rows: Vec<f64> = chunk_outputs.concat();
        let group = DRAWS_PER_GROUP * chunk_outputs[0].len();
        b.iter(|| {
            for draws in rows.chunks(group) {
                acc.add_draws(draws);
            }
            acc.end_chunk();
            acc.flush();
        })
    });
    group.finish();
}

/// The standard normal quantile over 65,536 values in batches of 256, as the sampler
/// calls it: uniform variates (about 15 % in the tails, whose positions the branch
/// predictor cannot learn over this many values), and variates in the central region
/// only.
fn normal_scores(c: &mut Criterion) {
    const VALUES: usize = 1 << 16;
    // A fixed linear congruential sequence: the bench needs no statistical quality.
    let mut state = 12_345u64;
    let uniforms: Vec<f64> = (0..VALUES)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        })
        .collect();
    let central: Vec<f64> = uniforms.iter().map(|u| 0.5 + (u - 0.5) * 0.8).collect();
    let mut scores = vec![0.0; VALUES];
    let mut group = c.benchmark_group("values_per_s/normal_scores");
    group.throughput(Throughput::Elements(VALUES as u64));
    for (name, input) in [("uniform", &uniforms), ("central_only", &central)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                for (us, zs) in input.chunks(256).zip(scores.chunks_mut(256)) {
                    evcarbon_engine::sampling::std_normal_quantiles(black_box(us), zs);
                }
                black_box(&scores);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, components, normal_scores);
criterion_main!(benches);
