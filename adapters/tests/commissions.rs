//! Commission rules by API and a change previewed before it is made: over the last days'
//! orders, each merchant's commissions as the rules are and as the change would make them.

mod support;

use actix_web::http::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::api::{ADMIN, STOREFRONT};

fn amount(value: &Value) -> Decimal {
    value.as_str().expect("an amount").parse().expect("a decimal")
}

// Proves the rules are listed, put, read and removed by the administrator only, a bad one
// refused naming its value, and a preview changes nothing while it shows, per merchant,
// the commissions of recent orders under the rules in force and under the change.
#[actix_rt::test]
async fn commission_rules_are_data_and_a_change_is_previewed() {
    let api = api!();
    api.receive("wh-dropship", "CERAMIC-MUG", 5).await;
    let purchase = json!({
        "cart": {"country": "ES", "lines": [{"sku": "CERAMIC-MUG", "qty": 2}, {"sku": "MOUSE", "qty": 1}],
                 "address": {"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "postal_code": "28013", "country": "ES"},
                 "delivery": {"method": "home"}},
        "checkout": {"payment_system": "bank-transfer"}});
    api.receive("wh-madrid", "MOUSE", 5).await;
    let (status, order) = api.post(STOREFRONT, "/orders", purchase).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let mug = order["lines"].as_array().expect("lines").iter().find(|l| l["sku"] == "CERAMIC-MUG").expect("the mug");
    // Commissions are on the line's sale: its amount less the tax in it (the demo's prices
    // include tax).
    let (gross, rate) = (amount(&mug["amount"]), amount(&mug["tax_rate"]));
    let line = gross - (gross * rate / (Decimal::ONE_HUNDRED + rate)).round_dp(2);

    let rule = json!({"sku": "CERAMIC-MUG", "percent": "20", "fixed_per_unit": {"EUR": "0.50"}});
    let preview =
        json!({"put": {"code": "mugs", "sku": "CERAMIC-MUG", "percent": "20", "fixed_per_unit": {"EUR": "0.50"}}});
    assert_eq!(api.post(STOREFRONT, "/commission-rules/preview", preview.clone()).await.0, StatusCode::FORBIDDEN);
    let (status, seen) = api.post(ADMIN, "/commission-rules/preview", preview).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let row = &seen["merchants"][0];
    assert_eq!(
        (&row["merchant"], &row["currency"], &row["orders"], &row["lines"]),
        (&json!("artisan-co"), &json!("EUR"), &json!(1), &json!(1)),
        "{seen}"
    );
    let hundred = Decimal::ONE_HUNDRED;
    let before = (line * Decimal::from(12) / hundred).round_dp(2);
    let after = (line * Decimal::from(20) / hundred + Decimal::new(100, 2)).round_dp(2);
    assert_eq!((amount(&row["before"]), amount(&row["after"])), (before, after), "{seen}");
    assert_eq!(amount(&row["change"]), after - before);
    assert_eq!(seen["merchants"].as_array().map(Vec::len), Some(1), "the commerce's own mouse pays none: {seen}");
    assert_eq!(api.get(ADMIN, "/commission-rules").await.1, json!([]), "a preview changes nothing");

    let (status, body) = api.post(ADMIN, "/commission-rules/preview", json!({"remove": "nope"})).await;
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &json!("unknown_commission_rule")), "{body}");
    let (status, body) = api.post(ADMIN, "/commission-rules/preview", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (status, body) =
        api.put(ADMIN, "/commission-rules/mugs", json!({"sku": "CERAMIC-MUG", "percent": "many"})).await;
    assert_eq!((status, &body["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_data")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("\"many\"")), "{body}");
    assert_eq!(api.put(STOREFRONT, "/commission-rules/mugs", rule.clone()).await.0, StatusCode::FORBIDDEN);
    let (status, body) = api.put(ADMIN, "/commission-rules/mugs", rule).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, read) = api.get(ADMIN, "/commission-rules/mugs").await;
    assert_eq!(
        (status, &read["percent"], &read["fixed_per_unit"]["EUR"]),
        (StatusCode::OK, &json!("20"), &json!("0.50"))
    );

    let (status, seen) = api.post(ADMIN, "/commission-rules/preview", json!({"remove": "mugs", "days": 7})).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let row = &seen["merchants"][0];
    assert_eq!((amount(&row["before"]), amount(&row["after"])), (after, before), "back to the merchant's 12 %: {seen}");
    assert_eq!(api.delete(ADMIN, "/commission-rules/mugs").await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.get(ADMIN, "/commission-rules/mugs").await.0, StatusCode::NOT_FOUND);
}
