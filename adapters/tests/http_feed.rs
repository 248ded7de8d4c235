//! The channel feed over HTTP: every product with its name, its price as the channel shows
//! it and its availability for the destination, as NDJSON or CSV.

mod support;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{json, Value};
use support::api::{ADMIN, STOREFRONT};

// Proves the feed of a tax-inclusive channel shows prices with tax (the mouse's campaign
// price, 25.00 + 21 %), a tax-exclusive one before tax, names in the language asked with
// the default as fallback, availability from the channel's warehouses for the country;
// that CSV carries the same rows; and that bad input is refused naming it.
#[actix_rt::test]
async fn a_channel_feed_lists_prices_and_availability() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 7).await;
    let get = |path: String| {
        TestRequest::get()
            .uri(&format!("/v1/commerces/demo{path}"))
            .insert_header(("Authorization", format!("Bearer {ADMIN}")))
            .to_request()
    };
    let response = test::call_service(&api.service, get("/channels/web/feed?language=es&country=ES".into())).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("content-type").map(|v| v.to_str().unwrap_or("")), Some("application/x-ndjson"));
    let body = String::from_utf8(test::read_body(response).await.to_vec()).expect("utf-8");
    let rows: Vec<Value> = body.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    let products = rows.len();
    assert!(products > 40, "every product of the demo: {products}");
    let mouse = rows.iter().find(|r| r["sku"] == "MOUSE").expect("the mouse");
    assert_eq!(mouse["name"], "Ratón inalámbrico");
    assert_eq!(
        (&mouse["price"], &mouse["currency"], &mouse["tax_inclusive"]),
        (&json!("30.25"), &json!("EUR"), &json!(true))
    );
    assert_eq!(mouse["available_now"], 7);
    assert!(mouse["earliest_date"].is_string(), "{mouse}");
    let sorted: Vec<&str> = rows.iter().filter_map(|r| r["sku"].as_str()).collect();
    assert!(sorted.windows(2).all(|w| w[0] < w[1]), "by SKU");

    let response = test::call_service(&api.service, get("/channels/wholesale/feed?format=csv&country=ES".into())).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csv = String::from_utf8(test::read_body(response).await.to_vec()).expect("utf-8");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("sku,name,language,family,merchant,currency,price,tax_inclusive,available_now,earliest_date")
    );
    let mouse = lines.find(|l| l.starts_with("MOUSE,")).expect("the mouse's row");
    // No language asked: the destination country's (Spain's Spanish).
    assert!(mouse.starts_with("MOUSE,Ratón inalámbrico,es,electronics,,EUR,25.00,false,7,"), "{mouse}");
    assert_eq!(csv.lines().count(), products + 1, "a header and the same rows");

    for (key, path, status, code) in [
        (STOREFRONT, "/channels/web/feed", StatusCode::FORBIDDEN, "forbidden"),
        (ADMIN, "/channels/nope/feed", StatusCode::NOT_FOUND, "unknown_channel"),
        (ADMIN, "/channels/web/feed?currency=XYZ", StatusCode::UNPROCESSABLE_ENTITY, "unknown_currency"),
        (ADMIN, "/channels/web/feed?language=xx", StatusCode::UNPROCESSABLE_ENTITY, "unknown_language"),
        (ADMIN, "/channels/web/feed?country=E", StatusCode::UNPROCESSABLE_ENTITY, "invalid_country"),
        (ADMIN, "/channels/web/feed?format=xml", StatusCode::BAD_REQUEST, "invalid_query"),
    ] {
        let (got, problem) = api.get(key, path).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{path}: {problem}");
    }
}

// Proves the feed holds only what a cart would take: no retired product, none of a merchant
// still onboarding (SOAP-SET) or blocked (MYSTERY-BOX); and that a channel's feed asked
// with no query is for a country the channel sells in (France's for the France channel,
// whose area leaves the commerce's default Spain out), in its language: priced, not null.
#[actix_rt::test]
async fn a_feed_holds_only_what_is_sold_for_the_channels_own_country() {
    let api = api!();
    let (status, body) = api.delete(ADMIN, "/products/MOUSE").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = feed_rows(api.get_text(ADMIN, "/channels/web/feed").await);
    let skus: Vec<&str> = rows.iter().filter_map(|r| r["sku"].as_str()).collect();
    for unsold in ["MOUSE", "SOAP-SET", "MYSTERY-BOX"] {
        assert!(!skus.contains(&unsold), "{unsold} is not sold: {skus:?}");
    }
    assert!(skus.contains(&"CERAMIC-MUG"), "an active merchant's product is: {skus:?}");

    let rows = feed_rows(api.get_text(ADMIN, "/channels/france/feed").await);
    let keyboard = rows.iter().find(|r| r["sku"] == "KEYBOARD").expect("the keyboard");
    assert_eq!((&keyboard["name"], &keyboard["language"]), (&json!("Clavier mécanique"), &json!("fr")), "{keyboard}");
    assert!(keyboard["price"].is_string(), "priced for France: {keyboard}");
    let unpriced: Vec<&Value> = rows.iter().filter(|r| !r["price"].is_string()).collect();
    assert!(unpriced.is_empty(), "every row priced: {unpriced:?}");
}

/// A feed's answer read as NDJSON rows.
fn feed_rows((status, body): (StatusCode, String)) -> Vec<Value> {
    assert_eq!(status, StatusCode::OK, "{body}");
    body.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
}
