//! Tenancy: thousands of random requests from two merchants and a storefront of a
//! marketplace commerce (`data/atelier.toml`) at each other's resources (merchants, their
//! parts of an order, shipments, products, stock, events, the back office's routes),
//! counting leaks: an answer that shows another tenant's data, or a change made to it.

mod support;

use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use mercato_adapters::server::build_state;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use serde_json::{json, Value};
use support::api::Api;

const CONFIG: &str = include_str!("data/atelier.toml");
const ADMIN: &str = "atelier-admin";
const STOREFRONT: &str = "atelier-storefront";
/// Each merchant: its key, its code, its product.
const LOOM: (&str, &str, &str) = ("atelier-loom", "loom", "SCARF");
const KILN: (&str, &str, &str) = ("atelier-kiln", "kiln", "VASE");
const REQUESTS: usize = 3000;

async fn call<S, B>(api: &Api<S>, key: &str, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let uri = format!("/v1/commerces/atelier{path}");
    let request = match method {
        "GET" => TestRequest::get(),
        "PUT" => TestRequest::put(),
        "DELETE" => TestRequest::delete(),
        _ => TestRequest::post(),
    }
    .uri(&uri);
    let request = match body {
        Some(body) => request.set_json(body),
        None => request,
    };
    api.call(key, request).await
}

/// A small deterministic generator, so a failure replays.
struct Turns(u64);

impl Turns {
    fn pick(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        usize::try_from((self.0 >> 33) % n as u64).unwrap_or(0)
    }
}

// Proves no tenant sees or changes another's data: 3,000 random requests from each
// merchant at the other's merchant record, order part, shipments, product (read, history,
// replace, retire), stock, events, ledger, statement and returns, and at the back
// office's routes (payouts and balances among them), and from the
// storefront at the merchants' and back office's routes (it reads the catalogue and the
// orders it placed); a leak is a success that shows the other tenant's code or product,
// or any change to it. Counted: 0.
#[actix_rt::test]
async fn random_requests_across_tenants_leak_nothing() {
    let commerce = Commerce::from_toml(CONFIG, KNOWN_GATEWAYS).expect("valid");
    let state = build_state(vec![commerce]).expect("state");
    state.ready.store(true, Ordering::Release);
    let api = Api { service: test::init_service(mercato_adapters::http::app(state)).await };
    let vase = json!({"names": {"en": "Vase"}, "tax_class": "standard", "weight_grams": 800,
                      "shipping_class": "parcel", "prices": {"EUR": "30.00"}, "merchant": "kiln"});
    assert_eq!(call(&api, KILN.0, "PUT", "/products/VASE", Some(vase)).await.0, StatusCode::CREATED);
    for sku in ["P-1", "SCARF", "VASE"] {
        let receipt = json!({"sku": sku, "quantity": 50});
        assert_eq!(call(&api, ADMIN, "POST", "/warehouses/wh-1/receipts", Some(receipt)).await.0, StatusCode::CREATED);
    }
    let (_, cart) = call(&api, STOREFRONT, "POST", "/carts", Some(json!({"country": "ES"}))).await;
    let cart = format!("/carts/{}", cart["id"].as_str().expect("a cart"));
    for sku in ["P-1", "SCARF", "VASE"] {
        let line = json!({"sku": sku, "qty": 1});
        assert_eq!(call(&api, STOREFRONT, "POST", &format!("{cart}/lines"), Some(line)).await.0, StatusCode::CREATED);
    }
    let to = json!({"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES"});
    call(&api, STOREFRONT, "PUT", &format!("{cart}/address"), Some(to)).await;
    call(&api, STOREFRONT, "PUT", &format!("{cart}/delivery"), Some(json!({"method": "home"}))).await;
    let pay = json!({"payment_system": "card", "payment_token": "tok_visa"});
    let (status, order) = call(&api, STOREFRONT, "POST", &format!("{cart}/checkout"), Some(pay)).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_str().expect("an order").to_owned();
    let shipment_of = |merchant: &str| {
        let all = order["shipments"].as_array().expect("shipments");
        all.iter().find(|s| s["merchant"] == merchant).and_then(|s| s["id"].as_str()).expect("its shipment").to_owned()
    };
    let shipments = [(LOOM.1, shipment_of(LOOM.1)), (KILN.1, shipment_of(KILN.1))];
    let before = [LOOM, KILN].map(|m| m.2).map(|sku| sku.to_owned());
    let mut versions = Vec::new();
    for sku in &before {
        versions.push(call(&api, ADMIN, "GET", &format!("/products/{sku}/history"), None).await.1);
    }

    let mut turns = Turns(7);
    let mut leaks = Vec::new();
    let mut refused = 0;
    for _ in 0..REQUESTS {
        let (me, other) = if turns.pick(2) == 0 { (LOOM, KILN) } else { (KILN, LOOM) };
        let storefront = turns.pick(5) == 0;
        let key = if storefront { STOREFRONT } else { me.0 };
        let (m, sku) = (other.1, other.2);
        let theirs = shipments.iter().find(|(owner, _)| *owner == m).map(|(_, s)| s.clone()).unwrap_or_default();
        let tracking = Some(json!({"tracking": []}));
        let product = Some(json!({"names": {"en": "Mine now"}, "tax_class": "standard", "weight_grams": 1,
                                  "shipping_class": "parcel", "prices": {"EUR": "1.00"}, "merchant": me.1}));
        let receipt = Some(json!({"lines": [{"line": "l1", "quantity": 1, "condition": "damaged"}]}));
        let (method, path, body): (&str, String, Option<Value>) = match turns.pick(22) {
            0 => ("GET", format!("/merchants/{m}"), None),
            1 => ("GET", format!("/merchants/{m}/orders"), None),
            2 => ("GET", format!("/merchants/{m}/orders/{id}"), None),
            3 => ("POST", format!("/merchants/{m}/orders/{id}/shipments/{theirs}/ship"), tracking),
            4 => ("POST", format!("/merchants/{}/orders/{id}/shipments/{theirs}/ship", me.1), tracking),
            5 => ("GET", format!("/products/{sku}/history"), None),
            6 => ("PUT", format!("/products/{sku}"), product),
            7 => ("DELETE", format!("/products/{sku}"), None),
            8 => ("GET", format!("/warehouses/wh-1/stock/{sku}"), None),
            9 => ("GET", "/events?limit=100".to_owned(), None),
            10 => ("GET", format!("/orders/{id}"), None),
            11 => ("GET", "/orders".to_owned(), None),
            12 => ("POST", format!("/merchants/{m}/block"), Some(json!({"reason": "rival"}))),
            13 => ("GET", "/api-keys".to_owned(), None),
            14 => ("GET", format!("/products?merchant={m}"), None),
            16 => ("GET", format!("/merchants/{m}/ledger"), None),
            17 => ("GET", format!("/merchants/{m}/statement?currency=EUR&from=2026-01-01&to=2026-12-31"), None),
            18 => ("GET", format!("/merchants/{m}/returns"), None),
            19 => ("POST", format!("/merchants/{m}/orders/{id}/returns/{id}-RT1/receipts"), receipt),
            20 => ("POST", "/payouts".to_owned(), Some(json!({"merchant": m}))),
            21 => ("GET", "/merchant-balances".to_owned(), None),
            _ => ("GET", format!("/products/{sku}"), None),
        };
        let (status, answer) = call(&api, key, method, &path, body).await;
        if !status.is_success() {
            refused += 1;
            continue;
        }
        let text = answer.to_string();
        // A storefront reads the public catalogue (a product and who sells it) and the orders
        // its customers placed; nothing else of a merchant's.
        let public = storefront && method == "GET" && (path.starts_with("/products") || path.starts_with("/orders/"));
        let shows = text.contains(&format!("\"{m}\"")) || text.contains(&format!("\"{sku}\""));
        if (shows && !public) || method != "GET" && !path.contains(&format!("/merchants/{}/", me.1)) {
            leaks.push(format!("{key} {method} {path}: {status} {text:.200}"));
        }
    }
    let mut after = Vec::new();
    for sku in &before {
        after.push(call(&api, ADMIN, "GET", &format!("/products/{sku}/history"), None).await.1);
    }
    assert_eq!(after, versions, "no product of a merchant changed by another");
    let (_, whole) = call(&api, ADMIN, "GET", &format!("/orders/{id}"), None).await;
    for shipment in whole["shipments"].as_array().expect("shipments") {
        assert_eq!(shipment["status"], "ready", "no shipment sent by another tenant: {shipment}");
    }
    for (_, code, _) in [LOOM, KILN] {
        let (_, merchant) = call(&api, ADMIN, "GET", &format!("/merchants/{code}"), None).await;
        assert_eq!(merchant["status"], "active", "{merchant}");
    }
    assert!(refused > REQUESTS / 2, "most requests were at another's data: {refused}");
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
}

// Proves the role, tenant and warehouse checks are answered before a body is read: a
// merchant's garbage gets the same refusal as its well-formed request, on the cart's promo
// code (403) and on the stock changes of a warehouse it may not change or that does not
// exist, never 400 for the body.
#[actix_rt::test]
async fn the_role_and_tenant_come_before_the_body() {
    let commerce = Commerce::from_toml(CONFIG, KNOWN_GATEWAYS).expect("valid");
    let state = build_state(vec![commerce]).expect("state");
    state.ready.store(true, Ordering::Release);
    let api = Api { service: test::init_service(mercato_adapters::http::app(state)).await };
    let cases = [
        ("PUT", "/carts/c1/promo-code", json!({"code": "SPRING"})),
        ("POST", "/warehouses/nope/adjustments", json!({"sku": "SCARF", "delta": 1, "reason": "count"})),
        ("POST", "/warehouses/nope/receipts", json!({"sku": "SCARF", "quantity": 1})),
        (
            "POST",
            "/warehouses/nope/batches",
            json!({"sku": "SCARF", "batch": "b1", "quantity": 1, "expected_date": "2030-01-01"}),
        ),
    ];
    for (method, path, good) in cases {
        let (wanted, _) = call(&api, LOOM.0, method, path, Some(good)).await;
        let (got, problem) = call(&api, LOOM.0, method, path, Some(json!("garbage"))).await;
        assert!(wanted == StatusCode::FORBIDDEN || wanted == StatusCode::NOT_FOUND, "{method} {path}: {wanted}");
        assert_eq!(got, wanted, "{method} {path}: {problem}");
    }
}
