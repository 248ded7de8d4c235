//! Configuration loading and context resolution on the engine alone, one core.
//!
//! Run: `cargo bench -p mercato-benches --bench resolution`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mercato_benches::{demo, visit_mix, DEMO_CONFIG};
use mercato_engine::resolution::resolve;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};

fn load_config(c: &mut Criterion) {
    c.bench_function("config/parse_and_validate_demo", |b| {
        b.iter(|| Commerce::from_toml(std::hint::black_box(DEMO_CONFIG), KNOWN_GATEWAYS))
    });
}

fn resolve_contexts(c: &mut Criterion) {
    let commerce = demo();
    let visits = visit_mix();
    let mut group = c.benchmark_group("resolution");
    group.throughput(Throughput::Elements(visits.len() as u64));
    group.bench_function("resolve_visit_mix", |b| {
        b.iter_batched(
            || (),
            |()| {
                for visit in &visits {
                    let _ = std::hint::black_box(resolve(&commerce, std::hint::black_box(visit)));
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, load_config, resolve_contexts);
criterion_main!(benches);
