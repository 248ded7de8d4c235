//! From context to order over HTTP: a cart's address, delivery options and choice,
//! payment systems and checkout, then the order with its shipments and document. Checkout
//! is idempotent by key, a declined payment changes nothing, an offline payment waits for
//! an administrator, and a stale total is refused.

mod support;

use actix_web::http::StatusCode;
use serde_json::{json, Value};
use support::api::{in_days, Api, ADMIN, STOREFRONT};

async fn setup<S, B>(api: &Api<S>) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let (status, body) =
        api.post(ADMIN, "/warehouses/wh-madrid/receipts", json!({"sku": "MOUSE", "quantity": 10})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let batch = json!({"sku": "HEADPHONES", "batch": "po-1", "quantity": 10, "expected_date": in_days(7)});
    let (status, body) = api.post(ADMIN, "/warehouses/wh-madrid/batches", batch).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, context) = api.post(STOREFRONT, "/context", json!({"country": "ES", "language": "en"})).await;
    assert_eq!(status, StatusCode::OK, "{context}");
    assert_eq!(context["channel"], "web");
    let (status, cart) = api.post(STOREFRONT, "/carts", json!({"country": "ES", "language": "en"})).await;
    assert_eq!(status, StatusCode::CREATED, "{cart}");
    let id = cart["id"].as_str().expect("an id").to_owned();
    for (sku, qty) in [("MOUSE", 2), ("HEADPHONES", 1)] {
        let (status, body) = api.post(STOREFRONT, &format!("/carts/{id}/lines"), json!({"sku": sku, "qty": qty})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    id
}

fn madrid() -> Value {
    json!({
        "name": "Ana García", "line": "Gran Vía 1", "city": "Madrid", "region": "MD",
        "postal_code": "28013", "country": "ES", "email": "ana@example.com",
        "latitude": 40.42, "longitude": -3.70
    })
}

// Proves the whole storefront flow: context, cart, lines, address, delivery options
// (a shipment now and one for the batch, a pick-up point nearby), a delivery choice,
// payment systems, checkout by key (replayed byte for byte), and the order with its
// shipments, allocations and document; the warehouse's reservations became allocations.
#[actix_rt::test]
async fn storefront_flow_from_context_to_order() {
    let api = api!();
    let id = setup(&api).await;
    let (status, cart) = api.put(STOREFRONT, &format!("/carts/{id}/address"), madrid()).await;
    assert_eq!(status, StatusCode::OK, "{cart}");
    assert_eq!(cart["address"]["city"], "Madrid");

    let (status, options) = api.get(STOREFRONT, &format!("/carts/{id}/delivery-options")).await;
    assert_eq!(status, StatusCode::OK, "{options}");
    assert_eq!(options["preference"], "as_available");
    let shipments = options["shipments"].as_array().expect("shipments");
    assert_eq!(shipments.len(), 2, "{options}");
    assert_eq!(shipments[0]["items"][0]["sku"], "MOUSE");
    assert_eq!(shipments[1]["items"][0]["sku"], "HEADPHONES");
    assert_eq!(shipments[1]["ready_date"], in_days(7));
    let codes: Vec<&str> =
        shipments[1]["shipping_types"].as_array().expect("types").iter().filter_map(|t| t["code"].as_str()).collect();
    assert!(codes.contains(&"iberpost/express"), "{codes:?}");
    assert_eq!(options["pickup_points"][0]["code"], "store-madrid");
    let (status, fewest) =
        api.get(STOREFRONT, &format!("/carts/{id}/delivery-options?preference=fewest_shipments")).await;
    assert_eq!(status, StatusCode::OK, "{fewest}");
    assert_eq!(fewest["shipments"].as_array().map(Vec::len), Some(1));

    let choice = json!({"method": "home", "shipping_types": {"s2": "iberpost/express"}});
    let (status, cart) = api.put(STOREFRONT, &format!("/carts/{id}/delivery"), choice).await;
    assert_eq!(status, StatusCode::OK, "{cart}");
    assert_eq!(cart["delivery"]["shipping_types"]["s2"], "iberpost/express");
    let totals = &cart["totals"];
    assert_eq!(totals["tax_inclusive"], true);
    assert_ne!(totals["shipping"], "0.00");
    let total = totals["total"].as_str().expect("a total").to_owned();

    let (status, systems) = api.get(STOREFRONT, &format!("/carts/{id}/payment-systems")).await;
    assert_eq!(status, StatusCode::OK, "{systems}");
    assert_eq!(systems.as_array().map(Vec::len), Some(3));

    let body = json!({"payment_system": "card", "payment_token": "tok_visa", "expected_total": total});
    let path = format!("/carts/{id}/checkout");
    let (status, first) = api.post_keyed(STOREFRONT, "checkout-1", &path, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&first));
    let (status, again) = api.post_keyed(STOREFRONT, "checkout-1", &path, body).await;
    assert_eq!((status, &again), (StatusCode::CREATED, &first), "a retried checkout answers the same order");
    let order: Value = serde_json::from_slice(&first).expect("json");
    assert_eq!(order["status"], "paid");
    assert_eq!(order["payment"]["status"], "approved");
    assert_eq!(order["totals"]["total"], total);
    assert_eq!(order["shipments"][0]["status"], "ready");
    assert_eq!(order["shipments"][1]["status"], "awaiting_stock");
    assert_eq!(order["shipments"][1]["carrier"], "iberpost");
    assert_eq!(order["lines"][0]["allocations"][0]["warehouse"], "wh-madrid");
    assert_eq!(order["documents"][0]["kind"], "order");
    assert_eq!(order["documents"][0]["seller"]["invoicing_company"], "demo-es");

    let order_id = order["id"].as_str().expect("an id");
    let (status, read) = api.get(STOREFRONT, &format!("/orders/{order_id}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read, order);
    let (status, documents) = api.get(STOREFRONT, &format!("/orders/{order_id}/documents")).await;
    assert_eq!((status, &documents["order"]["number"]), (StatusCode::OK, &json!(order_id)));

    let mouse = api.stock("wh-madrid", "MOUSE").await;
    assert_eq!((mouse["reserved"].as_u64(), mouse["allocated"].as_u64()), (Some(0), Some(2)), "{mouse}");
    let (status, cart) = api.get(STOREFRONT, &format!("/carts/{id}")).await;
    assert_eq!((status, &cart["status"], &cart["order"]), (StatusCode::OK, &json!("checked_out"), &json!(order_id)));
    let retry = json!({"payment_system": "card", "payment_token": "tok_visa"});
    let (status, body) = api.post(STOREFRONT, &path, retry).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("cart_closed")), "{body}");
}

// Proves a checkout refused for any reason (no address, no delivery, a stale total, an
// unknown payment system, an online payment without a token, a declined card) changes
// nothing: the cart stays open with its reservations; then an offline payment places the
// order `pending_payment` until an administrator confirms it.
#[actix_rt::test]
async fn refused_checkouts_change_nothing_and_offline_payment_waits() {
    let api = api!();
    let id = setup(&api).await;
    let path = format!("/carts/{id}/checkout");
    let card = json!({"payment_system": "card", "payment_token": "tok_visa"});
    let (status, body) = api.post(STOREFRONT, &path, card.clone()).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("address_required")), "{body}");
    let (status, body) = api
        .put(
            STOREFRONT,
            &format!("/carts/{id}/address"),
            json!({"name": "A", "line": "L", "city": "C", "postal_code": "1", "country": "US"}),
        )
        .await;
    assert_eq!((status, &body["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("country_not_sellable")), "{body}");
    let (status, body) = api.put(STOREFRONT, &format!("/carts/{id}/address"), madrid()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.post(STOREFRONT, &path, card.clone()).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("delivery_required")), "{body}");
    let (status, body) = api
        .put(
            STOREFRONT,
            &format!("/carts/{id}/delivery"),
            json!({"method": "home", "shipping_types": {"s1": "nope/nope"}}),
        )
        .await;
    assert_eq!((status, &body["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("unknown_shipping_type")), "{body}");
    let (status, body) = api
        .put(STOREFRONT, &format!("/carts/{id}/delivery"), json!({"method": "pickup", "location": "store-madrid"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totals"]["shipping"], "0.00");
    let (status, body) = api.put(STOREFRONT, &format!("/carts/{id}/promo-code"), json!({"code": "NOPE"})).await;
    assert_eq!((status, &body["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("unknown_promo_code")), "{body}");
    let (status, body) = api.put(STOREFRONT, &format!("/carts/{id}/promo-code"), json!({"code": "welcome10"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["totals"]["applied_discounts"].as_array().expect("a list").contains(&json!("welcome10")), "{body}");

    let stale = json!({"payment_system": "card", "payment_token": "tok_visa", "expected_total": "1.00"});
    let (status, body) = api.post(STOREFRONT, &path, stale).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("price_changed")), "{body}");
    let (status, body) = api.post(STOREFRONT, &path, json!({"payment_system": "paypal"})).await;
    assert_eq!((status, &body["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("unknown_payment_system")), "{body}");
    let (status, body) = api.post(STOREFRONT, &path, json!({"payment_system": "card"})).await;
    assert_eq!((status, &body["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("payment_token_required")), "{body}");
    let declined = json!({"payment_system": "card", "payment_token": "tok_decline_insufficient_funds"});
    let (status, body) = api.post(STOREFRONT, &path, declined).await;
    assert_eq!((status, &body["code"]), (StatusCode::PAYMENT_REQUIRED, &json!("payment_declined")), "{body}");
    let (status, cart) = api.get(STOREFRONT, &format!("/carts/{id}")).await;
    assert_eq!((status, &cart["status"]), (StatusCode::OK, &json!("open")));
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["reserved"], 2);

    let (status, order) = api.post(STOREFRONT, &path, json!({"payment_system": "bank-transfer"})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!((&order["status"], &order["payment"]["status"]), (&json!("pending_payment"), &json!("pending")));
    assert_eq!(order["delivery"], json!({"method": "pickup", "location": "store-madrid"}));
    let order_id = order["id"].as_str().expect("an id");
    let confirm = format!("/orders/{order_id}/payments");
    let (status, body) = api.post(STOREFRONT, &confirm, json!({"reference": "TR-77"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api.post(ADMIN, &confirm, json!({"reference": "TR-77"})).await;
    assert_eq!(
        (status, &body["status"], &body["payment"]["reference"]),
        (StatusCode::OK, &json!("paid"), &json!("TR-77")),
        "{body}"
    );
    let (status, body) = api.post(ADMIN, &confirm, json!({"reference": "TR-78"})).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("invalid_order_status")), "{body}");
    let (status, body) = api.get(STOREFRONT, "/orders/nope").await;
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &json!("unknown_order")), "{body}");
}

// Proves the price route: rules by group, tiers, conversion, and named refusals.
#[actix_rt::test]
async fn prices_for_a_shopper() {
    let api = api!();
    let (status, body) = api.get(STOREFRONT, "/products/TSHIRT-RED-M/price?group=wholesale&qty=2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["unit_price"], &body["amount"], &body["rule"]),
        (&json!("13.93"), &json!("27.86"), &json!("wholesale-apparel"))
    );
    let (status, body) = api.get(STOREFRONT, "/products/USB-CABLE/price?qty=25&currency=GBP").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((&body["unit_price"], &body["converted"]), (&json!("5.87"), &json!(true)));
    let (status, body) = api.get(STOREFRONT, "/products/MOUSE/price?currency=JPY").await;
    assert_eq!((status, &body["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("unknown_currency")), "{body}");
    let (status, body) = api.get(STOREFRONT, "/products/MOUSE/price?qty=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // The path names the product: one the commerce does not sell is not found.
    let (status, body) = api.get(STOREFRONT, "/products/NOPE/price").await;
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &json!("unknown_sku")), "{body}");
}

// Proves a cart can be created with its lines, address and delivery in one request (a SKU
// given twice makes one line), kept under its key (the retry replays it byte for byte and
// holds nothing more), and checked out next.
#[actix_rt::test]
async fn a_cart_is_created_with_its_lines_address_and_delivery() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    api.receive("wh-madrid", "KEYBOARD", 5).await;
    let draft = json!({
        "country": "ES",
        "lines": [{"sku": "MOUSE", "qty": 2}, {"sku": "KEYBOARD", "qty": 1}, {"sku": "MOUSE", "qty": 1}],
        "address": madrid(),
        "delivery": {"method": "home"}
    });
    let created = api.post_keyed(STOREFRONT, "buy-now-1", "/carts", draft.clone()).await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", String::from_utf8_lossy(&created.1));
    let cart: Value = serde_json::from_slice(&created.1).expect("json");
    let lines: Vec<(&str, u64)> = cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| (l["sku"].as_str().unwrap_or_default(), l["quantity"].as_u64().unwrap_or_default()))
        .collect();
    assert_eq!(lines, [("MOUSE", 3), ("KEYBOARD", 1)]);
    assert_eq!(cart["address"]["city"], "Madrid");
    assert_eq!(cart["delivery"]["method"], "home", "{cart}");
    assert!(cart["totals"]["total"].is_string(), "{cart}");
    assert_eq!(api.post_keyed(STOREFRONT, "buy-now-1", "/carts", draft).await, created);
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["reserved"], 3, "held once");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["reserved"], 1);

    let id = cart["id"].as_str().expect("an id");
    let card = json!({"payment_system": "card", "payment_token": "tok_visa"});
    let (status, order) = api.post(STOREFRONT, &format!("/carts/{id}/checkout"), card).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["allocated"], 3);
}

// Proves a cart refused at creation holds nothing and frees its key: a line short of stock
// ends the half-made cart (its first line's units let go), and the same key then creates
// the cart once stock arrived; a delivery without an address, too many lines or a bad
// quantity are refused before any cart is made.
#[actix_rt::test]
async fn a_cart_refused_at_creation_holds_nothing() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    api.receive("wh-madrid", "KEYBOARD", 1).await;
    let draft = json!({"country": "ES", "lines": [{"sku": "MOUSE", "qty": 2}, {"sku": "KEYBOARD", "qty": 3}]});
    let (status, body) = api.post_keyed(STOREFRONT, "buy-now-2", "/carts", draft.clone()).await;
    let problem: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("insufficient_stock")), "{problem}");
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["reserved"], 0, "the first line was let go");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["reserved"], 0);

    api.receive("wh-madrid", "KEYBOARD", 2).await;
    let (status, body) = api.post_keyed(STOREFRONT, "buy-now-2", "/carts", draft).await;
    assert_eq!(status, StatusCode::CREATED, "the key was freed: {}", String::from_utf8_lossy(&body));
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["reserved"], 3);

    let refusals = [
        (
            json!({"country": "ES", "lines": [{"sku": "MOUSE", "qty": 1}], "delivery": {"method": "home"}}),
            "address_required",
        ),
        (json!({"country": "ES", "address": madrid(), "delivery": {"method": "home"}}), "cart_empty"),
        (json!({"country": "ES", "lines": [{"sku": "MOUSE", "qty": 0}]}), "invalid_quantity"),
        (json!({"country": "ES", "lines": vec![json!({"sku": "MOUSE", "qty": 1}); 201]}), "cart_lines_exceeded"),
        (json!({"country": "ES", "lines": [{"sku": "MOUSE", "qty": 1, "gift": true}]}), "invalid_body"),
    ];
    for (body, code) in refusals {
        let (status, problem) = api.post(STOREFRONT, "/carts", body).await;
        assert_eq!(problem["code"], code, "{status} {problem}");
        assert!(status.is_client_error(), "{status}");
    }
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["reserved"], 2, "only the created cart's line");
}

// Proves a purchase in one request (`POST …/orders`) places the order from a cart draft:
// its units are allocated once, a retry under the same key replays the order byte for byte
// and allocates nothing more, and the key with another body is refused.
#[actix_rt::test]
async fn an_order_is_placed_in_one_request() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    let purchase = json!({
        "cart": {"country": "ES", "lines": [{"sku": "MOUSE", "qty": 2}, {"sku": "MOUSE", "qty": 1}],
            "address": madrid(), "delivery": {"method": "home"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}
    });
    let placed = api.post_keyed(STOREFRONT, "order-1", "/orders", purchase.clone()).await;
    assert_eq!(placed.0, StatusCode::CREATED, "{}", String::from_utf8_lossy(&placed.1));
    let order: Value = serde_json::from_slice(&placed.1).expect("json");
    let lines = order["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "one MOUSE line: {order}");
    assert_eq!((&lines[0]["sku"], &lines[0]["quantity"]), (&json!("MOUSE"), &json!(3)), "{order}");
    assert_eq!(order["payment"]["system"], "card", "{order}");
    let stock = api.stock("wh-madrid", "MOUSE").await;
    assert_eq!((&stock["allocated"], &stock["reserved"]), (&json!(3), &json!(0)), "{stock}");

    assert_eq!(api.post_keyed(STOREFRONT, "order-1", "/orders", purchase.clone()).await, placed, "replayed");
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["allocated"], 3, "allocated once");
    let mut other = purchase;
    other["cart"]["lines"][0]["qty"] = json!(1);
    let (status, _) = api.post_keyed(STOREFRONT, "order-1", "/orders", other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the key with another body");

    let id = order["id"].as_str().expect("an id");
    let (status, read) = api.get(STOREFRONT, &format!("/orders/{id}")).await;
    assert_eq!((status, &read["id"]), (StatusCode::OK, &order["id"]), "{read}");
}

// Proves a purchase refused in one request holds nothing and frees its key: a declined
// payment and a line short of stock both end the cart with its units let go, the same
// key then places the order once stock arrived, and a draft that cannot check out (no
// delivery, no address, no lines) or an unknown field is refused before any cart is made.
#[actix_rt::test]
async fn a_purchase_refused_in_one_request_holds_nothing() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    api.receive("wh-madrid", "KEYBOARD", 1).await;
    let draft = json!({"country": "ES", "lines": [{"sku": "MOUSE", "qty": 2}], "address": madrid(),
        "delivery": {"method": "home"}});
    let declined = json!({"cart": draft, "checkout": {"payment_system": "card",
        "payment_token": "tok_decline_insufficient_funds"}});
    let (status, body) = api.post_keyed(STOREFRONT, "order-2", "/orders", declined).await;
    let problem: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!((status, problem["code"].as_str()), (StatusCode::PAYMENT_REQUIRED, Some("payment_declined")));
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["reserved"], 0, "the declined cart let its line go");

    let short = json!({
        "cart": {"country": "ES", "lines": [{"sku": "MOUSE", "qty": 2}, {"sku": "KEYBOARD", "qty": 3}],
            "address": madrid(), "delivery": {"method": "home"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}
    });
    let (status, body) = api.post_keyed(STOREFRONT, "order-3", "/orders", short.clone()).await;
    let problem: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("insufficient_stock")), "{problem}");
    let stock = api.stock("wh-madrid", "MOUSE").await;
    assert_eq!((&stock["reserved"], &stock["allocated"]), (&json!(0), &json!(0)), "{stock}");
    api.receive("wh-madrid", "KEYBOARD", 2).await;
    let (status, body) = api.post_keyed(STOREFRONT, "order-3", "/orders", short).await;
    assert_eq!(status, StatusCode::CREATED, "the key was freed: {}", String::from_utf8_lossy(&body));
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["allocated"], 3);

    let pay = json!({"payment_system": "card", "payment_token": "tok_visa"});
    let line = json!([{"sku": "MOUSE", "qty": 1}]);
    let refusals = [
        (json!({"cart": {"country": "ES", "lines": line, "address": madrid()}, "checkout": pay}), "delivery_required"),
        (json!({"cart": {"country": "ES", "lines": line}, "checkout": pay}), "address_required"),
        (json!({"cart": {"country": "ES", "address": madrid()}, "checkout": pay}), "cart_empty"),
        (
            json!({"cart": {"country": "ES", "lines": line}, "checkout": {"payment_system": "card", "tip": 1}}),
            "invalid_body",
        ),
        (json!({"cart": {"country": "ES", "lines": line}}), "invalid_body"),
    ];
    for (body, code) in refusals {
        let (status, problem) = api.post(STOREFRONT, "/orders", body).await;
        assert_eq!(problem["code"], code, "{status} {problem}");
        assert!(status.is_client_error(), "{status}");
    }
    let stock = api.stock("wh-madrid", "MOUSE").await;
    assert_eq!((&stock["reserved"], &stock["allocated"]), (&json!(0), &json!(2)), "only the placed order's units");
}

// Proves a pick-up order's parcels never mix merchants: the commerce's mouse and
// artisan-co's mug leave the same logistic center as two parcels, each naming its seller.
#[actix_rt::test]
async fn a_pickup_parcel_never_mixes_merchants() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 3).await;
    api.receive("wh-dropship", "CERAMIC-MUG", 3).await;
    let (status, cart) = api.post(STOREFRONT, "/carts", json!({"country": "ES"})).await;
    assert_eq!(status, StatusCode::CREATED, "{cart}");
    let id = cart["id"].as_str().expect("an id").to_owned();
    for sku in ["MOUSE", "CERAMIC-MUG"] {
        let (status, body) = api.post(STOREFRONT, &format!("/carts/{id}/lines"), json!({"sku": sku, "qty": 1})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(api.put(STOREFRONT, &format!("/carts/{id}/address"), madrid()).await.0, StatusCode::OK);
    let pickup = json!({"method": "pickup", "location": "store-madrid"});
    assert_eq!(api.put(STOREFRONT, &format!("/carts/{id}/delivery"), pickup).await.0, StatusCode::OK);
    let (status, order) =
        api.post(STOREFRONT, &format!("/carts/{id}/checkout"), json!({"payment_system": "bank-transfer"})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let parcels: Vec<(Value, Vec<Value>)> = order["shipments"]
        .as_array()
        .expect("shipments")
        .iter()
        .map(|s| {
            (s["merchant"].clone(), s["items"].as_array().expect("items").iter().map(|i| i["sku"].clone()).collect())
        })
        .collect();
    assert_eq!(
        parcels,
        vec![(Value::Null, vec![json!("MOUSE")]), (json!("artisan-co"), vec![json!("CERAMIC-MUG")])],
        "{order}"
    );
}
