//! Back-office data changed item by item (DESIGN.md section 12): each change decided
//! against the whole document by the file's rules, every violation at once; a settings
//! reload keeps the data and is refused when it would orphan it.

use mercato_engine::commerce::data::{DataChange, DataItem, DataKind};
use mercato_engine::commerce::model::{PriceRule, UserGroup};
use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};

fn demo() -> Commerce {
    Commerce::from_toml(include_str!("../../config/demo.toml"), KNOWN_GATEWAYS).expect("the demo is valid")
}

fn put(item: DataItem) -> DataChange {
    DataChange::Put(Box::new(item))
}

// Proves a price rule put by API is checked against the catalogue (its SKU) and the
// settings (its currency, group), with every violation at once, and changes nothing when
// refused; a valid one is in the next commerce's document, the catalogue shared.
#[test]
fn a_price_rule_is_checked_whole_against_the_catalogue_and_settings() {
    let commerce = demo();
    let bad = PriceRule {
        code: "nope".into(),
        sku: Some("NO-SUCH-SKU".into()),
        prices: [("XXX".to_owned(), "-1".parse().expect("decimal"))].into(),
        group: Some("nobody".into()),
        min_quantity: 0,
        ..PriceRule::default()
    };
    let Err(DomainError::InvalidData { kind, code, violations }) = commerce.decide_data(&put(DataItem::PriceRule(bad)))
    else {
        panic!("refused")
    };
    assert_eq!((kind, code.as_str()), (DataKind::PriceRule, "nope"));
    let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
    for expected in ["NO-SUCH-SKU", "XXX", "-1", "nobody", "min_quantity", "main currency"] {
        assert!(text.iter().any(|v| v.contains(expected)), "{expected} in {text:?}");
    }
    let good = PriceRule {
        code: "mouse-tiers".into(),
        sku: Some("MOUSE".into()),
        percent: Some("-10".parse().expect("decimal")),
        min_quantity: 5,
        ..PriceRule::default()
    };
    let next = commerce.decide_data(&put(DataItem::PriceRule(good.clone()))).expect("valid").expect("a change");
    assert!(next.config().price_rules.contains(&good));
    assert!(!commerce.config().price_rules.contains(&good), "the commerce it came from is unchanged");
    assert_eq!(next.catalog().len(), commerce.catalog().len());
    // The same again changes nothing.
    assert!(next.decide_data(&put(DataItem::PriceRule(good))).expect("valid").is_none());
}

// Proves removing a user group that a channel and a price rule name is refused naming
// both, and removing what is not there is `unknown_user_group`.
#[test]
fn removing_what_other_data_names_is_refused_naming_it() {
    let commerce = demo();
    let remove = DataChange::Remove { kind: DataKind::UserGroup, code: "wholesale".into() };
    let Err(DomainError::InvalidData { violations, .. }) = commerce.decide_data(&remove) else { panic!("refused") };
    let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|v| v.contains("price rule \"wholesale-apparel\"")), "{text:?}");
    assert!(text.iter().any(|v| v.contains("channel \"wholesale\"")), "{text:?}");
    let missing = DataChange::Remove { kind: DataKind::UserGroup, code: "ghosts".into() };
    let error = commerce.decide_data(&missing).map(|_| ()).expect_err("refused");
    assert_eq!(error.code(), "unknown_user_group");
    let added = put(DataItem::UserGroup(UserGroup { code: "vip".into(), name: "VIP".into() }));
    let next = commerce.decide_data(&added).expect("valid").expect("a change");
    let removed = DataChange::Remove { kind: DataKind::UserGroup, code: "vip".into() };
    assert!(next.decide_data(&removed).expect("valid").is_some());
}

// Proves a reload takes the file's settings and keeps the data in force (a price rule
// put by API survives it), and one whose settings would orphan data (a tax class a
// product uses, a user group a price rule uses) is refused naming every such rule.
#[test]
fn a_reload_keeps_the_data_and_refuses_to_orphan_it() {
    let commerce = demo();
    let rule = PriceRule {
        code: "api-rule".into(),
        family: Some("apparel".into()),
        percent: Some("5".parse().expect("decimal")),
        min_quantity: 1,
        ..PriceRule::default()
    };
    let live = commerce.decide_data(&put(DataItem::PriceRule(rule.clone()))).expect("valid").expect("changed");
    let renamed = include_str!("../../config/demo.toml").replacen("name = \"Mercato Demo", "name = \"Renamed Demo", 1);
    let file = Commerce::from_toml(&renamed, KNOWN_GATEWAYS).expect("valid");
    let reloaded = live.with_settings_of(&file.config().settings_only()).expect("kept");
    assert!(reloaded.config().name.starts_with("Renamed Demo"), "{}", reloaded.config().name);
    assert!(reloaded.config().price_rules.contains(&rule), "the data stays");
    // The file has no "reduced" tax class any more: products and companies using it.
    let mut orphaning = file.config().settings_only();
    orphaning.tax_classes.retain(|class| class != "reduced");
    orphaning.families.retain(|family| family != "apparel");
    let violations = live.with_settings_of(&orphaning).map(|_| ()).expect_err("refused");
    let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|v| v.contains("price rule \"api-rule\"") && v.contains("apparel")), "{text:?}");
    assert!(text.iter().any(|v| v.contains("reduced")), "{text:?}");
}

// Proves a plain key in the file is held as its SHA-256 only.
#[test]
fn plain_keys_are_held_as_digests() {
    let commerce = demo();
    assert!(!commerce.config().api_keys.is_empty());
    for key in &commerce.config().api_keys {
        assert!(key.key.is_none(), "{} holds no secret", key.name);
        assert_eq!(key.key_sha256.as_deref().map(str::len), Some(64), "{}", key.name);
    }
}

// Proves a product as kept holds no spare room in its small maps (a catalogue keeps
// millions): maps built up entry by entry, as a JSON or CSV row's are, leave capacity
// behind, and a checked product gives it back. Fails if `Product::compact` keeps capacity.
#[test]
fn a_checked_product_keeps_no_spare_room_in_its_maps() {
    let commerce = demo();
    let mut product: mercato_engine::commerce::model::Product = serde_json::from_value(serde_json::json!({
        "sku": "ROOMY-1",
        "names": { "en": "Roomy", "es": "Amplio" },
        "tax_class": "standard",
        "weight_grams": 100,
        "shipping_class": "small",
        "prices": { "EUR": "1.00" },
        "attributes": { "colour": "red" },
    }))
    .expect("a product");
    product.names.reserve(10);
    product.attributes.reserve(10);
    let mut kept = commerce.check_product(product).expect("a valid product");
    let names = std::mem::take(&mut kept.names).into_tuple_vec();
    let attributes = std::mem::take(&mut kept.attributes).into_tuple_vec();
    let prices = std::mem::take(&mut kept.prices).into_tuple_vec();
    assert_eq!((names.len(), names.capacity()), (2, 2));
    assert_eq!((attributes.len(), attributes.capacity()), (1, 1));
    assert_eq!((prices.len(), prices.capacity()), (1, 1));
    assert_eq!(names[1], ("es".to_owned(), "Amplio".to_owned()));
}
