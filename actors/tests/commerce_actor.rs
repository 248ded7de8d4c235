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

// Proves a data change is refused when the key that asked was revoked or rotated since
// (checked against a change applied with a stale digest), that a rotation never brings a
// revoked key back (a replacement of an absent key is refused), and that the commerce's
// last admin key is never removed.
#[actix_rt::test]
async fn a_data_change_needs_its_key_to_stand() {
    use mercato_actors::settings::{Author, Presence};
    use mercato_actors::ActorError;
    use mercato_engine::commerce::data::{DataChange, DataItem, DataKind};
    use mercato_engine::commerce::model::ApiRole;
    use mercato_engine::DomainError;

    let registry = Registry::start(vec![demo()], Clock::system()).expect("one commerce");
    let handle = registry.get("demo").expect("demo is registered");
    let keys = handle.snapshot().config().api_keys.clone();
    let admin = keys.iter().find(|key| key.role == Some(ApiRole::Admin)).expect("an admin key").clone();
    let standing = Author { name: admin.name.clone(), key_sha256: admin.key_sha256.clone() };
    assert!(standing.key_sha256.is_some(), "plain keys are kept as their digest");
    let storefront = keys.iter().find(|key| key.role == Some(ApiRole::Storefront)).expect("a storefront key");
    let remove = |name: &str| DataChange::Remove { kind: DataKind::ApiKey, code: name.to_owned() };

    let stale = Author { name: admin.name.clone(), key_sha256: Some("0".repeat(64)) };
    let refused = handle.change_data(remove(&storefront.name), stale, Presence::Any).await;
    assert_eq!(refused, Err(ActorError::Refused(DomainError::KeyRevoked { name: admin.name.clone() })));
    assert!(handle.snapshot().config().api_keys.iter().any(|key| key.name == storefront.name), "nothing changed");

    assert_eq!(handle.change_data(remove(&storefront.name), standing.clone(), Presence::Any).await, Ok(true));
    let rotated = DataChange::Put(Box::new(DataItem::ApiKey(storefront.clone())));
    let refused = handle.change_data(rotated, standing.clone(), Presence::Present).await;
    let unknown = DomainError::UnknownData { kind: DataKind::ApiKey, code: storefront.name.clone() };
    assert_eq!(refused, Err(ActorError::Refused(unknown)), "a rotation never brings a revoked key back");
    assert!(!handle.snapshot().config().api_keys.iter().any(|key| key.name == storefront.name));

    let refused = handle.change_data(remove(&admin.name), standing, Presence::Any).await;
    assert_eq!(refused, Err(ActorError::Refused(DomainError::LastAdminKey { name: admin.name.clone() })));
    assert!(handle.snapshot().config().api_keys.iter().any(|key| key.name == admin.name));
}
