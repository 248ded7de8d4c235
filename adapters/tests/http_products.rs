//! A product read over HTTP: in the storefront's language with the default language as
//! fallback, whole for the administrator and the product's merchant, another merchant's
//! product answered as one that does not exist; and the report of what each language
//! lacks. The commerce is the demo with two products named in English only.

mod support;

use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use mercato_adapters::server::build_state;
use mercato_adapters::DEMO_CONFIG;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use serde_json::{json, Value};
use support::api::{Api, ADMIN, MERCHANT, STOREFRONT};

/// The demo with the keyboard and the ceramic mug (artisan-co's) named in English only.
fn english_only() -> Commerce {
    let keyboard = r#"names = { en = "Mechanical keyboard", es = "Teclado mecánico", fr = "Clavier mécanique" }"#;
    assert!(DEMO_CONFIG.contains(keyboard), "the demo names the keyboard in three languages");
    let text = DEMO_CONFIG.replacen(keyboard, r#"names = { en = "Mechanical keyboard" }"#, 1);
    let mug = text.find("sku = \"CERAMIC-MUG\"").expect("the demo sells a mug");
    let names_at = mug + text[mug..].find("names = {").expect("the mug's names");
    let names_end = names_at + text[names_at..].find('}').expect("the names end");
    let text = format!("{}names = {{ en = \"Ceramic mug\" }}{}", &text[..names_at], &text[names_end + 1..]);
    Commerce::from_toml(&text, KNOWN_GATEWAYS).expect("a product named in the default language only is valid")
}

// Proves the storefront reads a product in its language and falls back to the default
// language (saying which) where the product has no name yet; the administrator and the
// product's merchant read it whole; another merchant's product, an unknown SKU and an
// unknown language are refused, the tenant before the language.
#[actix_rt::test]
async fn a_product_reads_in_a_language_or_whole() {
    let state = build_state(vec![english_only()]).expect("state builds");
    state.ready.store(true, Ordering::Release);
    let api = Api { service: actix_web::test::init_service(mercato_adapters::http::app(state)).await };

    let (status, mouse) = api.get(STOREFRONT, "/products/MOUSE?language=es").await;
    assert_eq!(status, StatusCode::OK, "{mouse}");
    assert_eq!((&mouse["name"], &mouse["language"]), (&json!("Ratón inalámbrico"), &json!("es")), "{mouse}");
    assert_eq!(mouse["names"], Value::Null, "a storefront reads one language");
    let (_, keyboard) = api.get(STOREFRONT, "/products/KEYBOARD?language=es").await;
    assert_eq!((&keyboard["name"], &keyboard["language"]), (&json!("Mechanical keyboard"), &json!("en")));
    assert_eq!(keyboard["related"], json!(["USB-CABLE"]));

    let (status, whole) = api.get(ADMIN, "/products/KEYBOARD").await;
    assert_eq!(status, StatusCode::OK, "{whole}");
    assert_eq!(whole["names"], json!({"en": "Mechanical keyboard"}));
    assert_eq!(whole["prices"]["EUR"], "119.00");
    assert_eq!(whole["tax_class"], "standard");
    let (status, mug) = api.get(MERCHANT, "/products/CERAMIC-MUG").await;
    assert_eq!((status, &mug["merchant"]), (StatusCode::OK, &json!("artisan-co")), "{mug}");
    assert!(mug["names"].is_object(), "its merchant reads it whole: {mug}");

    for (key, path, status, code) in [
        (MERCHANT, "/products/KEYBOARD", StatusCode::NOT_FOUND, "unknown_sku"),
        (MERCHANT, "/products/KEYBOARD?language=xx", StatusCode::NOT_FOUND, "unknown_sku"),
        (STOREFRONT, "/products/NOPE", StatusCode::NOT_FOUND, "unknown_sku"),
        (STOREFRONT, "/products/MOUSE?language=xx", StatusCode::UNPROCESSABLE_ENTITY, "unknown_language"),
        (STOREFRONT, "/products/MOUSE?colour=red", StatusCode::BAD_REQUEST, "invalid_query"),
    ] {
        let (got, problem) = api.get(key, path).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{path}: {problem}");
    }
}

// Proves the report lists, per language, the products without a name of their own in it
// (a merchant sees its own only), and is refused to a storefront.
#[actix_rt::test]
async fn missing_translations_are_reported_per_language() {
    let state = build_state(vec![english_only()]).expect("state builds");
    state.ready.store(true, Ordering::Release);
    let api = Api { service: actix_web::test::init_service(mercato_adapters::http::app(state)).await };

    let (status, report) = api.get(ADMIN, "/products/translations").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let expected = json!([
        {"language": "es", "missing": [{"sku": "CERAMIC-MUG", "fields": ["name"]}, {"sku": "KEYBOARD", "fields": ["name"]}]},
        {"language": "fr", "missing": [{"sku": "CERAMIC-MUG", "fields": ["name"]}, {"sku": "KEYBOARD", "fields": ["name"]}]}
    ]);
    assert_eq!(report["languages"], expected);
    let (_, french) = api.get(MERCHANT, "/products/translations?language=fr").await;
    assert_eq!(
        french["languages"],
        json!([{"language": "fr", "missing": [{"sku": "CERAMIC-MUG", "fields": ["name"]}]}])
    );
    let (_, english) = api.get(ADMIN, "/products/translations?language=en").await;
    assert_eq!(english["languages"], json!([{"language": "en", "missing": []}]));
    let (status, problem) = api.get(STOREFRONT, "/products/translations").await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{problem}");
}
