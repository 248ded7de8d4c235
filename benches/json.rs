//! What reading a request body strictly costs (`mercato_adapters::http::strict`: through a
//! `Value`, a struct only from an object) against serde_json reading it straight, for the
//! bodies of the hottest routes: a cart's line (add-to-cart) and a cart created whole.
//!
//! `cargo bench -p mercato-benches --bench json`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use serde::Deserialize;

/// The shape of `POST …/carts/{id}/lines`'s body.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    sku: String,
    qty: u32,
    #[serde(default)]
    id: Option<String>,
}

/// The shape of a cart created whole with its lines (`POST …/carts`).
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cart {
    #[serde(default)]
    lines: Vec<Line>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

const LINE: &str = r#"{"sku":"KEYBOARD","qty":1}"#;
const CART: &str = r#"{"lines":[{"sku":"KEYBOARD","qty":2},{"sku":"MOUSE","qty":1},{"sku":"USB-CABLE","qty":3}],"country":"ES","language":"es"}"#;

fn bodies(c: &mut Criterion) {
    let mut group = c.benchmark_group("request body");
    group.bench_function("cart line, serde_json", |b| {
        b.iter(|| black_box(serde_json::from_str::<Line>(black_box(LINE)).ok()))
    });
    group.bench_function("cart line, strict", |b| {
        b.iter(|| black_box(mercato_adapters::http::strict::from_str::<Line>(black_box(LINE)).ok()))
    });
    group.bench_function("cart whole, serde_json", |b| {
        b.iter(|| black_box(serde_json::from_str::<Cart>(black_box(CART)).ok()))
    });
    group.bench_function("cart whole, strict", |b| {
        b.iter(|| black_box(mercato_adapters::http::strict::from_str::<Cart>(black_box(CART)).ok()))
    });
    group.finish();
}

criterion_group!(benches, bodies);
criterion_main!(benches);
