//! The layering of DESIGN.md section 1, checked on the real dependency graph: arrows only
//! point down (`adapters -> actors -> {engine, persistence}`), and the engine, transitively,
//! pulls in no actor, async, storage or metrics crate.

use std::collections::BTreeSet;
use std::process::Command;

/// Crates whose presence under the engine would mean I/O, async, actors or metrics.
const FORBIDDEN_UNDER_ENGINE: &[&str] = &[
    "actix",
    "actix-rt",
    "actix-web",
    "tokio",
    "mio",
    "async-std",
    "futures",
    "futures-util",
    "sled",
    "redb",
    "bincode",
    "crossbeam-channel",
    "metrics",
    "metrics-exporter-prometheus",
    "tracing",
    "rand",
    "mercato-actors",
    "mercato-persistence",
    "mercato-adapters",
];

/// Every crate `crate_name` is built with, transitively, through normal dependencies only,
/// with the features that crate alone enables (`cargo tree`, not the workspace-wide
/// resolve of `cargo metadata`, which unifies features across members).
fn closure(crate_name: &str) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--locked", "-p", crate_name, "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(1) // the crate itself
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

// Proves the engine depends, even transitively, on no actor, async, storage or metrics crate.
#[test]
fn engine_is_pure() {
    let under_engine = closure("mercato-engine");
    let found: Vec<&&str> = FORBIDDEN_UNDER_ENGINE.iter().filter(|name| under_engine.contains(**name)).collect();
    assert!(found.is_empty(), "the engine depends on {found:?}");
}

// Proves arrows only point down: persistence knows no domain, actors know no adapter.
#[test]
fn arrows_point_down() {
    let rules: [(&str, &[&str]); 3] = [
        ("mercato-persistence", &["mercato-engine", "mercato-actors", "mercato-adapters"]),
        ("mercato-actors", &["mercato-adapters"]),
        ("mercato-engine", &["mercato-actors", "mercato-persistence", "mercato-adapters"]),
    ];
    for (crate_name, forbidden) in rules {
        let deps = closure(crate_name);
        for name in forbidden {
            assert!(!deps.contains(*name), "{crate_name} must not depend on {name}");
        }
    }
}
