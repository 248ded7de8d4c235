//! Shared fixtures for Mercato's benchmarks. Each benchmark file measures one layer; the
//! figures and the commands that produced them are in `RESULTS.md`.

use mercato_engine::resolution::ContextRequest;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};

/// The demo commerce's configuration text.
pub const DEMO_CONFIG: &str = include_str!("../config/demo.toml");

pub fn demo() -> Commerce {
    Commerce::from_toml(DEMO_CONFIG, KNOWN_GATEWAYS).unwrap_or_else(|error| panic!("demo config: {error}"))
}

/// The demo commerce with `count` more products (`GEN-000000`, ...), for benchmarks of a
/// warehouse with a realistic catalogue.
pub fn demo_with_products(count: usize) -> Commerce {
    let mut config = DEMO_CONFIG.to_owned();
    for i in 0..count {
        config.push_str(&format!(
            "\n[[products]]\nsku = \"GEN-{i:06}\"\nnames = {{ en = \"Generated {i}\", es = \"Generado {i}\", fr = \"Généré {i}\" }}\ntax_class = \"standard\"\n\
             weight_grams = 100\nfamily = \"electronics\"\nshipping_class = \"parcel\"\nprices = {{ EUR = \"1.00\" }}\n"
        ));
    }
    Commerce::from_toml(&config, KNOWN_GATEWAYS).unwrap_or_else(|error| panic!("generated config: {error}"))
}

/// A mix of visits that exercises every branch of resolution: default and criteria
/// channels, domain versions, out-of-area outcomes and language fallbacks.
pub fn visit_mix() -> Vec<ContextRequest> {
    let visit = |domain: Option<&str>, country: &str, language: Option<&str>, groups: &[&str]| ContextRequest {
        domain: domain.map(Into::into),
        country: Some(country.into()),
        language: language.map(Into::into),
        user_groups: groups.iter().map(|g| g.to_string()).collect(),
        ..ContextRequest::default()
    };
    vec![
        visit(None, "ES", None, &[]),
        visit(Some("demo.fr"), "FR", None, &[]),
        visit(Some("demo.es"), "FR", Some("en"), &[]),
        visit(None, "US", None, &[]),
        visit(None, "ES", Some("fr"), &["wholesale"]),
        visit(Some("demo.example"), "PT", None, &["staff"]),
    ]
}

/// A fresh folder `name` for a benchmark's data under `under` (a benchmark passes cargo's
/// `CARGO_TARGET_TMPDIR`: the project's disk, not a RAM-backed /tmp).
pub fn fresh_dir(under: &str, name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(under).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The latency at `per_mille` of sorted samples.
pub fn percentile(sorted: &[std::time::Duration], per_mille: usize) -> std::time::Duration {
    sorted.get(sorted.len().saturating_sub(1) * per_mille / 1000).copied().unwrap_or_default()
}

/// A Spanish visit on the demo's web channel.
pub fn spanish_cart() -> mercato_engine::cart::CartContext {
    mercato_engine::cart::CartContext {
        channel: "web".into(),
        language: "en".into(),
        currency: "EUR".into(),
        country: "ES".into(),
        user: None,
        group: None,
    }
}
