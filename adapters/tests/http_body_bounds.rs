//! The request bodies' bounds: the document states every one the server enforces, and the
//! two agree at each edge. Each case is judged twice, by the document's request schema and
//! by the server, and the verdicts must match: a body the document calls valid is not
//! refused for its shape, and one it calls invalid is refused (400 or 422), never applied.

mod support;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use mercato_adapters::http::wire::{AMOUNT_PATTERN, COUNTRY_PATTERN, DATE_PATTERN, TEXT_PATTERN};
use serde_json::{json, Value};
use support::api::{in_days, ADMIN, STOREFRONT};

/// The document's verdict on a body for an operation's request schema.
fn documented_valid(document: &Value, method: &str, template: &str, body: &Value) -> bool {
    let operation = &document["paths"][template][method];
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {template} documents its body");
    let schema = json!({ "allOf": [schema], "components": document["components"].clone() });
    let validator =
        jsonschema::options().should_validate_formats(true).build(&schema).expect("the documented schema compiles");
    validator.is_valid(body)
}

// Proves the document and the server agree on each body bound: whole numbers in any JSON
// spelling (`2.0` is an integer to JSON Schema, and was 400), quantity edges, adjustments
// that change nothing, receipts of 0, date shapes, address text and coordinates, delivery
// method and location, amounts. Breaking either side (a bound dropped from the document, or
// the server made laxer or stricter) fails a case here, as does an annotation's pattern
// drifting from the constant the server's checks are written to.
#[actix_rt::test]
async fn body_bounds_are_stated_and_kept() {
    let document: Value = serde_json::from_str(mercato_adapters::http::routes::openapi::document()).expect("json");
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 50).await;
    let (status, cart) = api.post(STOREFRONT, "/carts", json!({"country": "ES"})).await;
    assert_eq!(status, StatusCode::CREATED, "{cart}");
    let cart = cart["id"].as_str().expect("cart id").to_owned();
    let (status, line) = api.post(STOREFRONT, &format!("/carts/{cart}/lines"), json!({"sku": "MOUSE", "qty": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{line}");
    let line = line["cart"]["lines"][0]["id"].as_str().expect("line id").to_owned();

    let address = |change: Value| {
        let mut body = json!({"name": "Ana", "line": "Calle Mayor 1", "city": "Madrid", "postal_code": "28013",
                              "country": "ES"});
        body.as_object_mut().expect("object").extend(change.as_object().expect("object").clone());
        body
    };
    let long = "x".repeat(200);
    let too_long = "x".repeat(201);
    let date = in_days(30);
    let receipts = "/v1/commerces/{commerce}/warehouses/{warehouse}/receipts";
    let batches = "/v1/commerces/{commerce}/warehouses/{warehouse}/batches";
    let adjustments = "/v1/commerces/{commerce}/warehouses/{warehouse}/adjustments";
    let lines = "/v1/commerces/{commerce}/carts/{cart}/lines";
    let line_route = "/v1/commerces/{commerce}/carts/{cart}/lines/{line}";
    let addresses = "/v1/commerces/{commerce}/carts/{cart}/address";
    let delivery = "/v1/commerces/{commerce}/carts/{cart}/delivery";
    let checkout = "/v1/commerces/{commerce}/carts/{cart}/checkout";
    let wh = "/warehouses/wh-madrid";
    let on_cart = |suffix: &str| format!("/carts/{cart}{suffix}");
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, String, Value, bool)> = vec![
        ("post", receipts, format!("{wh}/receipts"), json!({"sku": "MOUSE", "quantity": 2.0}), true),
        ("post", receipts, format!("{wh}/receipts"), json!({"sku": "MOUSE", "quantity": 2.5}), false),
        ("post", receipts, format!("{wh}/receipts"), json!({"sku": "MOUSE", "quantity": 0}), false),
        ("post", receipts, format!("{wh}/receipts"), json!({"sku": "MOUSE", "quantity": 0, "batch": null}), false),
        ("post", receipts, format!("{wh}/receipts"), json!({"sku": "MOUSE", "quantity": 4_294_967_296_i64}), false),
        ("post", batches, format!("{wh}/batches"), json!({"sku": "MOUSE", "batch": "b1", "quantity": 5, "expected_date": date}), true),
        ("post", batches, format!("{wh}/batches"), json!({"sku": "MOUSE", "batch": "b2", "quantity": 5, "expected_date": format!("+{date}")}), false),
        ("post", batches, format!("{wh}/batches"), json!({"sku": "MOUSE", "batch": "b3", "quantity": 5, "expected_date": "2030-02-30"}), false),
        ("post", batches, format!("{wh}/batches"), json!({"sku": "MOUSE", "batch": "b4", "quantity": 5, "expected_date": "2030-2-03"}), false),
        ("post", batches, format!("{wh}/batches"), json!({"sku": "MOUSE", "batch": "", "quantity": 5, "expected_date": date}), false),
        ("post", adjustments, format!("{wh}/adjustments"), json!({"sku": "MOUSE", "delta": 0, "reason": "found"}), false),
        ("post", adjustments, format!("{wh}/adjustments"), json!({"sku": "MOUSE", "delta": -1.0, "reason": "loss"}), true),
        ("post", adjustments, format!("{wh}/adjustments"), json!({"sku": "MOUSE", "delta": -4_294_967_296_i64, "reason": "loss"}), false),
        ("post", adjustments, format!("{wh}/adjustments"), json!({"sku": "MOUSE", "delta": i64::MIN, "reason": "loss"}), false),
        ("post", lines, on_cart("/lines"), json!({"sku": "MOUSE", "qty": 1.0}), true),
        ("post", lines, on_cart("/lines"), json!({"sku": "MOUSE", "qty": 0}), false),
        ("patch", line_route, on_cart(&format!("/lines/{line}")), json!({"qty": 3e0}), true),
        ("patch", line_route, on_cart(&format!("/lines/{line}")), json!({"qty": -1}), false),
        ("put", addresses, on_cart("/address"), address(json!({"name": long})), true),
        ("put", addresses, on_cart("/address"), address(json!({"name": too_long})), false),
        ("put", addresses, on_cart("/address"), address(json!({"city": " \t "})), false),
        ("put", addresses, on_cart("/address"), address(json!({"city": "\u{1c}"})), true),
        ("put", addresses, on_cart("/address"), address(json!({"country": "E"})), false),
        ("put", addresses, on_cart("/address"), address(json!({"country": " ES"})), false),
        ("put", addresses, on_cart("/address"), address(json!({"latitude": 40.4})), false),
        ("put", addresses, on_cart("/address"), address(json!({"latitude": 91, "longitude": 3})), false),
        ("put", addresses, on_cart("/address"), address(json!({"latitude": 40.4, "longitude": -3.7})), true),
        ("put", delivery, on_cart("/delivery"), json!({"method": "pickup"}), false),
        ("put", delivery, on_cart("/delivery"), json!({"method": "home", "location": "madrid-store"}), false),
        ("put", delivery, on_cart("/delivery"), json!({"method": "home"}), true),
        ("post", checkout, on_cart("/checkout"), json!({"payment_system": "bank-transfer", "expected_total": "1e3"}), false),
        ("post", checkout, on_cart("/checkout"), json!({"payment_system": "bank-transfer", "expected_total": " 10"}), false),
    ];
    for (method, template, path, body, valid) in cases {
        assert_eq!(documented_valid(&document, method, template, &body), valid, "the document on {path}: {body}");
        let request = match method {
            "post" => TestRequest::post(),
            "put" => TestRequest::put(),
            _ => TestRequest::patch(),
        };
        let request = request.uri(&format!("/v1/commerces/demo{path}")).set_json(&body);
        let key = if path.starts_with("/carts") { STOREFRONT } else { ADMIN };
        let (status, answer) = api.call(key, request).await;
        let shape = matches!(
            answer["code"].as_str(),
            Some(
                "invalid_body"
                    | "invalid_quantity"
                    | "invalid_date"
                    | "invalid_address"
                    | "invalid_amount"
                    | "invalid_id"
                    | "invalid_country"
            )
        );
        if valid {
            assert!(!shape, "the server refused a documented body {body} on {path}: {status} {answer}");
        } else {
            assert!(shape && status.is_client_error(), "the server took {body} on {path}: {status} {answer}");
        }
    }

    // The patterns the annotations spell out are the ones the server's checks follow.
    let schemas = &document["components"]["schemas"];
    for (schema, field, pattern) in [
        ("AddressBody", "name", TEXT_PATTERN),
        ("AddressBody", "email", TEXT_PATTERN),
        ("AddressBody", "country", COUNTRY_PATTERN),
        ("PaymentBody", "reference", TEXT_PATTERN),
        ("CheckoutBody", "expected_total", AMOUNT_PATTERN),
        ("BatchBody", "expected_date", DATE_PATTERN),
        ("BatchChangeBody", "expected_date", DATE_PATTERN),
        ("CreateCartBody", "country", COUNTRY_PATTERN),
    ] {
        assert_eq!(schemas[schema]["properties"][field]["pattern"], json!(pattern), "{schema}.{field}");
    }

    // The Idempotency-Key's shape is stated on every route that takes it.
    let parameters = document["paths"][receipts]["post"]["parameters"].as_array().cloned().unwrap_or_default();
    let key = parameters.iter().find(|p| p["name"] == "Idempotency-Key").expect("the key is documented");
    assert_eq!((&key["schema"]["minLength"], &key["schema"]["maxLength"]), (&json!(1), &json!(255)), "{key}");
}
