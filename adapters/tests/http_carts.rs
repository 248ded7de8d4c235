//! The cart routes in process: a cart for a visit's context, lines that hold stock and say
//! what the customer should know, changes that hold or let go exactly the difference, and
//! every bad request refused without holding anything.

mod support;

use actix_web::http::StatusCode;
use serde_json::{json, Value};
use support::api::{in_days, ADMIN, MERCHANT, STOREFRONT};

// Proves the storefront flow: a cart created for a Spanish visit, a line that holds stock
// (low stock said), a backordered line (backorder and delayed with the batch's date, and
// related products), a change up and down and a removal, each reflected in the warehouse.
#[actix_rt::test]
async fn a_cart_holds_stock_line_by_line() {
    let api = api!();
    api.receive("wh-madrid", "KEYBOARD", 6).await;
    let batch = json!({"sku": "HEADPHONES", "batch": "po-1", "quantity": 10, "expected_date": in_days(9)});
    let (status, body) = api.post(ADMIN, "/warehouses/wh-madrid/batches", batch).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, cart) = api.post(STOREFRONT, "/carts", json!({"country": "ES", "language": "es"})).await;
    assert_eq!(status, StatusCode::CREATED, "{cart}");
    assert_eq!(
        (cart["channel"].as_str(), cart["country"].as_str(), cart["language"].as_str()),
        (Some("web"), Some("ES"), Some("es"))
    );
    assert_eq!(cart["status"], "open");
    let id = cart["id"].as_str().expect("an id").to_owned();
    assert_eq!(id.len(), 32);

    let (status, body) =
        api.post(STOREFRONT, &format!("/carts/{id}/lines"), json!({"sku": "KEYBOARD", "qty": 3})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["line"], "l1");
    let line = &body["cart"]["lines"][0];
    assert_eq!(line["quantity"], 3);
    assert_eq!(line["holds"][0]["warehouse"], "wh-madrid");
    assert_eq!(line["holds"][0]["parts"][0]["supply"], "in_stock");
    assert_eq!(line["alerts"], json!([{"kind": "low_stock", "available": 3}]));
    assert_eq!(line["related"][0]["sku"], "USB-CABLE");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["reserved"], 3);

    let (status, body) =
        api.post(STOREFRONT, &format!("/carts/{id}/lines"), json!({"sku": "HEADPHONES", "qty": 2})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let line = &body["cart"]["lines"][1];
    assert_eq!(line["alerts"], json!([{"kind": "backorder"}, {"kind": "delayed", "date": in_days(9)}]));
    assert_eq!(body["cart"]["units"], 5);

    let (status, body) = api.patch(STOREFRONT, &format!("/carts/{id}/lines/l1"), json!({"qty": 5})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["reserved"], 5);
    let (status, body) = api.patch(STOREFRONT, &format!("/carts/{id}/lines/l1"), json!({"qty": 1})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["reserved"], 1);
    let (status, body) = api.delete(STOREFRONT, &format!("/carts/{id}/lines/l1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["line"], "l1");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["reserved"], 0);

    let (status, cart) = api.get(STOREFRONT, &format!("/carts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{cart}");
    assert_eq!(cart["lines"].as_array().map(Vec::len), Some(1));
    assert_eq!(cart["lines"][0]["sku"], "HEADPHONES");
}

// Proves creating a cart and adding a line with an Idempotency-Key happen once: the retry
// gets the original answer byte for byte and holds nothing more; adding the SKU again
// grows its line, also once.
#[actix_rt::test]
async fn cart_creation_and_lines_are_idempotent() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    let visit = json!({"country": "ES"});
    let first = api.post_keyed(STOREFRONT, "cart-1", "/carts", visit.clone()).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", String::from_utf8_lossy(&first.1));
    assert_eq!(api.post_keyed(STOREFRONT, "cart-1", "/carts", visit).await, first);
    let cart: Value = serde_json::from_slice(&first.1).expect("json");
    let lines = format!("/carts/{}/lines", cart["id"].as_str().expect("an id"));

    let add = json!({"sku": "MOUSE", "qty": 2});
    let added = api.post_keyed(STOREFRONT, "line-1", &lines, add.clone()).await;
    assert_eq!(added.0, StatusCode::CREATED, "{}", String::from_utf8_lossy(&added.1));
    assert_eq!(api.post_keyed(STOREFRONT, "line-1", &lines, add).await, added);
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["reserved"], 2, "held once");
    let (status, body) = api.post_keyed(STOREFRONT, "line-1", &lines, json!({"sku": "MOUSE", "qty": 3})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&body));

    // The same SKU under a new key grows the line, once however often it is retried.
    let more = json!({"sku": "MOUSE", "qty": 1});
    let grown = api.post_keyed(STOREFRONT, "line-2", &lines, more.clone()).await;
    assert_eq!(grown.0, StatusCode::CREATED, "{}", String::from_utf8_lossy(&grown.1));
    let body: Value = serde_json::from_slice(&grown.1).expect("json");
    assert_eq!(body["line"], "l1");
    assert_eq!(body["cart"]["lines"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["cart"]["lines"][0]["quantity"], 3);
    assert_eq!(api.post_keyed(STOREFRONT, "line-2", &lines, more).await, grown);
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["reserved"], 3, "grown once");
}

// Proves bad requests are refused with a code naming the value, holding nothing: a
// quantity the rules forbid, too many units, an unknown SKU or line or cart, a bad
// quantity, an unknown field; and a merchant key may not use carts.
#[actix_rt::test]
async fn bad_cart_requests_hold_nothing() {
    let api = api!();
    api.receive("wh-madrid", "WATER-CASE-6", 12).await;
    let (_, cart) = api.post(STOREFRONT, "/carts", json!({"country": "ES"})).await;
    let lines = format!("/carts/{}/lines", cart["id"].as_str().expect("an id"));
    let cases = [
        (json!({"sku": "WATER-CASE-6", "qty": 7}), StatusCode::UNPROCESSABLE_ENTITY, "not_a_multiple", "order 6 or 12"),
        (
            json!({"sku": "WATER-CASE-6", "qty": 18}),
            StatusCode::CONFLICT,
            "insufficient_stock",
            "18 requested, 12 available",
        ),
        (json!({"sku": "NO-SUCH", "qty": 1}), StatusCode::UNPROCESSABLE_ENTITY, "unknown_sku", "NO-SUCH"),
        (json!({"sku": "WATER-CASE-6", "qty": 0}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_quantity", "quantity 0"),
        (json!({"sku": "WATER-CASE-6", "qty": 6, "price": 1}), StatusCode::BAD_REQUEST, "invalid_body", "price"),
    ];
    for (body, status, code, detail) in cases {
        let (got, problem) = api.post(STOREFRONT, &lines, body.clone()).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{body} -> {problem}");
        assert!(problem["detail"].as_str().expect("detail").contains(detail), "{problem}");
    }
    assert_eq!(api.stock("wh-madrid", "WATER-CASE-6").await["reserved"], 0);

    let (status, problem) = api.patch(STOREFRONT, &format!("{lines}/l7"), json!({"qty": 1})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_cart_line")));
    let (status, problem) = api.get(STOREFRONT, "/carts/0123456789abcdef0123456789abcdef").await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_cart")));
    let (status, problem) = api.post(STOREFRONT, "/carts", json!({"country": "ES", "currency": "JPY"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = api.post(STOREFRONT, "/carts", json!({"country": "ES", "user": "nobody"})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_user")));
    let (status, _) = api.post(MERCHANT, "/carts", json!({"country": "ES"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

// Proves a `browse_only` visitor (a country the demo does not sell to) can fill a cart
// from the channel's warehouses (it was refused insufficient_stock); an address in its own
// country is refused naming the country, a checkout without a sellable destination too
// (never insufficient_stock), and an address where the commerce sells makes it a cart like
// any other.
#[actix_rt::test]
async fn a_browse_only_visitor_fills_a_cart() {
    let api = api!();
    api.receive("wh-madrid", "KEYBOARD", 5).await;
    let (status, cart) = api.post(STOREFRONT, "/carts", json!({"country": "JP"})).await;
    assert_eq!(status, StatusCode::CREATED, "{cart}");
    let id = cart["id"].as_str().expect("an id").to_owned();
    let (status, body) =
        api.post(STOREFRONT, &format!("/carts/{id}/lines"), json!({"sku": "KEYBOARD", "qty": 2})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["reserved"], 2);

    let tokyo =
        json!({"name": "Aiko", "line": "1-1 Marunouchi", "city": "Tokyo", "postal_code": "100-0005", "country": "JP"});
    let (status, body) = api.put(STOREFRONT, &format!("/carts/{id}/address"), tokyo).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("country_not_sellable")));
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("JP")), "{body}");
    let checkout = json!({"payment_system": "card", "payment_token": "tok_visa"});
    let (status, body) = api.post(STOREFRONT, &format!("/carts/{id}/checkout"), checkout).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("country_not_sellable")));
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("JP")), "{body}");

    let madrid = json!({"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES"});
    let (status, body) = api.put(STOREFRONT, &format!("/carts/{id}/address"), madrid).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.put(STOREFRONT, &format!("/carts/{id}/delivery"), json!({"method": "home"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let checkout = json!({"payment_system": "card", "payment_token": "tok_visa"});
    let (status, body) = api.post(STOREFRONT, &format!("/carts/{id}/checkout"), checkout).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

// Proves setting an address checks every hold against it: with the Iberian center
// delivering everywhere in Iberia but Catalonia, a cart filled knowing only "ES" holds
// units there; a Barcelona address is refused 409 `undeliverable` naming the line and the
// center, and the cart keeps no address; a Madrid one is taken.
#[actix_rt::test]
async fn an_address_the_holds_cannot_reach_is_refused() {
    use mercato_adapters::server::build_state;
    use mercato_adapters::DEMO_CONFIG;
    use mercato_engine::{Commerce, KNOWN_GATEWAYS};
    let at = DEMO_CONFIG.find("code = \"lc-iberia\"").expect("the Iberian center");
    let area = at + DEMO_CONFIG[at..].find("area = \"europe\"").expect("its area");
    let mut text = DEMO_CONFIG.to_owned();
    text.replace_range(area..area + "area = \"europe\"".len(), "area = \"iberia-but-catalonia\"");
    text.push_str(
        "\n[[areas]]\ncode = \"iberia-but-catalonia\"\nmembers = [{ country = \"ES\", regions = [\"AN\", \"AR\", \"AS\", \
         \"CB\", \"CL\", \"CM\", \"EX\", \"GA\", \"MD\", \"MC\", \"NC\", \"PV\", \"RI\", \"VC\"] }, { country = \"PT\" }]\n",
    );
    let commerce = Commerce::from_toml(&text, KNOWN_GATEWAYS).expect("valid");
    let state = build_state(vec![commerce]).expect("state builds");
    state.ready.store(true, std::sync::atomic::Ordering::Release);
    let api = support::api::Api { service: actix_web::test::init_service(mercato_adapters::http::app(state)).await };
    api.receive("wh-madrid", "KEYBOARD", 5).await;
    let (_, cart) = api.post(STOREFRONT, "/carts", json!({"country": "ES"})).await;
    let id = cart["id"].as_str().expect("an id").to_owned();
    let (status, body) =
        api.post(STOREFRONT, &format!("/carts/{id}/lines"), json!({"sku": "KEYBOARD", "qty": 2})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let barcelona = json!({"name": "Jordi", "line": "Passeig de Gràcia 1", "city": "Barcelona", "region": "CT", "postal_code": "08007", "country": "ES"});
    let (status, body) = api.put(STOREFRONT, &format!("/carts/{id}/address"), barcelona).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("undeliverable")), "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("line l1 (KEYBOARD)") && detail.contains("lc-iberia"), "{body}");
    let (_, cart) = api.get(STOREFRONT, &format!("/carts/{id}")).await;
    assert!(cart["address"].is_null(), "the address was not taken: {cart}");
    let madrid = json!({"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES"});
    let (status, body) = api.put(STOREFRONT, &format!("/carts/{id}/address"), madrid).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
