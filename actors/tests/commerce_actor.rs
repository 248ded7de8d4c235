//! The commerce actor owns the configuration and publishes it; readers see a replacement
//! at once and never go through the mailbox.

use mercato_actors::commerce::COMMERCE_MAILBOX_CAPACITY_MAX;
use mercato_actors::{Clock, CurrentConfig, Registry, RegistryError, ReplaceConfig, ReplaceError};
use mercato_engine::resolution::ContextRequest;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};

const DEMO: &str = include_str!("../../config/demo.toml");

fn demo() -> Commerce {
    Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo config is valid")
}

fn country(code: &str) -> ContextRequest {
    ContextRequest { country: Some(code.into()), ..ContextRequest::default() }
}

// Proves a replaced configuration is what the actor answers and what readers resolve
// against, and that a configuration for another commerce is refused without effect.
#[actix_rt::test]
async fn replace_publishes_a_new_snapshot() {
    let registry = Registry::start(vec![demo()], Clock::system()).expect("one commerce");
    let handle = registry.get("demo").expect("demo is registered");
    assert_eq!(handle.resolve(&country("ES")).expect("resolves").channel, "web");

    // Make "mobile" the only channel matching Spanish visitors by rewriting its criteria.
    let changed = DEMO.replace("criteria = { devices = [\"mobile\", \"app\"] }", "criteria = { countries = [\"ES\"] }");
    let changed = Commerce::from_toml(&changed, KNOWN_GATEWAYS).expect("still valid");
    handle.addr().send(ReplaceConfig(changed)).await.expect("delivered").expect("accepted");
    assert_eq!(handle.resolve(&country("ES")).expect("resolves").channel, "mobile");
    let owned = handle.addr().send(CurrentConfig).await.expect("delivered");
    assert!(std::sync::Arc::ptr_eq(&owned, &handle.snapshot()));

    let other = DEMO.replacen("code = \"demo\"", "code = \"other\"", 1);
    let other = Commerce::from_toml(&other, KNOWN_GATEWAYS).expect("valid");
    let refused = handle.addr().send(ReplaceConfig(other)).await.expect("delivered");
    assert_eq!(refused, Err(ReplaceError::WrongCommerce { current: "demo".into(), given: "other".into() }));
    assert_eq!(handle.snapshot().code(), "demo");
}

// Proves a node refuses two commerces with one code and an empty set.
#[actix_rt::test]
async fn registry_rules() {
    assert_eq!(
        Registry::start(vec![demo(), demo()], Clock::system()).err(),
        Some(RegistryError::DuplicateCommerce { code: "demo".into() })
    );
    assert_eq!(Registry::start(vec![], Clock::system()).err(), Some(RegistryError::Empty));
}

// Proves the mailbox is bounded: once it holds its capacity, `try_send` is refused instead
// of queueing without limit.
#[actix_rt::test]
async fn mailbox_is_bounded() {
    let registry = Registry::start(vec![demo()], Clock::system()).expect("one commerce");
    let addr = registry.get("demo").expect("registered").addr().clone();
    // The actor cannot run while this loop holds the thread, so nothing is drained.
    let accepted = (0..COMMERCE_MAILBOX_CAPACITY_MAX * 2).filter(|_| addr.try_send(CurrentConfig).is_ok()).count();
    assert!(
        (COMMERCE_MAILBOX_CAPACITY_MAX..=COMMERCE_MAILBOX_CAPACITY_MAX + 1).contains(&accepted),
        "accepted {accepted} messages"
    );
    assert!(addr.try_send(CurrentConfig).is_err());
}
