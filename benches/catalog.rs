//! The live catalogue's own cost, without HTTP: the memory a product takes in the
//! catalogue (resident memory, with the server's allocator, before and after N products
//! put the way an import puts them), and the time of one product's change at a small and at a
//! large catalogue (O(log n): a change copies only its path of the persistent map).
//!
//!   cargo bench -p mercato-benches --bench catalog -- [products, default 1000000]

use std::sync::Arc;
use std::time::Instant;

use mercato_engine::catalog::CatalogCommand;
use mercato_engine::commerce::model::Product;
use mercato_engine::inventory::Timestamp;
use mercato_engine::{Commerce, ProductRules, KNOWN_GATEWAYS};

// The server's allocator, so the resident memory is what the server's would be.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The process's resident memory, in bytes.
fn resident() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<usize>().ok());
    kb.unwrap_or(0) * 1024
}

/// A product like `benches/catalog/generate.py` writes: two languages, a price, a weight
/// and an attribute.
fn product(n: usize) -> Product {
    let text = format!(
        r#"sku = "BULK-{n:07}"
names = {{ en = "Bulk product {n}", es = "Producto {n}" }}
tax_class = "standard"
weight_grams = {weight}
shipping_class = "small"
prices = {{ EUR = "{price}.{cents:02}" }}
attributes = {{ colour = "{colour}" }}
"#,
        weight = 100 + n % 900,
        price = 1 + n % 500,
        cents = n % 100,
        colour = ["red", "green", "blue"][n % 3],
    );
    toml::from_str(&text).expect("a product")
}

/// Puts products `from..to` the way an import's batch does, 1,000 at a time.
fn put(commerce: &mut Commerce, from: usize, to: usize) {
    let by: Arc<str> = Arc::from("bench");
    let base = commerce.clone();
    let rules = ProductRules::new(base.config());
    for n in from..to {
        let events = commerce.decide_put(&rules, product(n), None).expect("a valid product");
        for event in &events {
            commerce.apply_catalog(event, Timestamp(i64::try_from(n).unwrap_or(0)), &by);
        }
    }
}

/// The time of one product's change (a price), averaged over `times` changes.
fn change_time(commerce: &mut Commerce, count: usize, times: usize) -> f64 {
    let by: Arc<str> = Arc::from("bench");
    let started = Instant::now();
    for i in 0..times {
        let n = 1 + (i * 7919) % count;
        let mut changed = product(n);
        changed.prices.insert("EUR".into(), rust_decimal::Decimal::from(1000 + i));
        let events = commerce
            .decide_catalog(CatalogCommand::Put { product: Box::new(changed), if_version: None })
            .expect("a valid change");
        // Each change is published as its own commerce, as the actor does.
        let mut next = commerce.clone();
        for event in &events {
            next.apply_catalog(event, Timestamp(0), &by);
        }
        *commerce = next;
    }
    started.elapsed().as_secs_f64() * 1e6 / times as f64
}

fn main() {
    let count: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let demo = Commerce::from_toml(include_str!("../config/demo.toml"), KNOWN_GATEWAYS).expect("demo");
    let mut commerce = demo.without_products();
    put(&mut commerce, 1, 1_001);
    let small = change_time(&mut commerce, 1_000, 2_000);
    let before = resident();
    let started = Instant::now();
    put(&mut commerce, 1_001, count + 1);
    let elapsed = started.elapsed().as_secs_f64();
    let after = resident();
    let per_product = (after - before) as f64 / (count - 1_000) as f64;
    let large = change_time(&mut commerce, count, 2_000);
    println!("catalogue: {} products", commerce.catalog().len());
    println!(
        "sizes: product {} bytes, version {}, history {}",
        std::mem::size_of::<Product>(),
        std::mem::size_of::<mercato_engine::catalog::ProductVersion>(),
        std::mem::size_of::<mercato_engine::catalog::ProductHistory>()
    );
    println!("puts (checked, applied, as an import batch): {:.0} products/s", (count - 1_000) as f64 / elapsed);
    println!("resident memory per product: {per_product:.0} bytes");
    println!(
        "one product's change, published: {small:.2} µs at 1,000 products, {large:.2} µs at {count} (ratio {:.2})",
        large / small
    );
}
