//! The OpenAPI document at `/openapi.json`: served without a key, names every route with
//! its schemas, the error schema and the bearer scheme; and every answer of the storefront
//! flow (and its refusals) matches the schema the document gives for its route and status.

mod support;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{json, Value};
use support::api::{in_days, ADMIN, STOREFRONT};

#[path = "support/routes.rs"]
mod routes;
use routes::ROUTES;

/// Checks answers against the document.
struct Checker {
    document: Value,
    checked: usize,
}

impl Checker {
    /// The schema the document gives for an answer: exact status first, then its range.
    fn schema(&self, method: &str, template: &str, status: StatusCode) -> Value {
        let operation = &self.document["paths"][template][method];
        assert!(operation.is_object(), "the document has no {method} {template}");
        let responses = &operation["responses"];
        let range = format!("{}XX", status.as_u16() / 100);
        let response = [status.as_u16().to_string(), range]
            .into_iter()
            .map(|key| responses[key.as_str()].clone())
            .find(Value::is_object)
            .unwrap_or_else(|| panic!("{method} {template}: no response documented for {status}"));
        let content = response["content"].as_object().expect("a response with content");
        let (_, media) = content.iter().next().expect("a media type");
        media["schema"].clone()
    }

    /// Validates an answer's body against its documented schema.
    fn check(&mut self, method: &str, template: &str, status: StatusCode, body: &Value) {
        let errors = self.errors(method, template, status, body);
        assert!(errors.is_empty(), "{method} {template} {status}: the answer breaks its schema: {errors:?}\n{body}");
        self.checked += 1;
    }

    /// How a body breaks the documented schema (nothing when it matches).
    fn errors(&self, method: &str, template: &str, status: StatusCode, body: &Value) -> Vec<String> {
        let mut schema = self.schema(method, template, status);
        if let Some(object) = schema.as_object_mut() {
            object.insert("components".into(), self.document["components"].clone());
        } else {
            schema = json!({"allOf": [schema], "components": self.document["components"].clone()});
        }
        let validator = jsonschema::validator_for(&schema).expect("the documented schema compiles");
        validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path)).collect()
    }
}

// Proves the document is served without a key and lists every route, the error schema and
// the bearer scheme.
#[actix_rt::test]
async fn the_document_names_every_route() {
    let app = test::init_service(mercato_adapters::http::app(support::api::demo_state())).await;
    let response = test::call_service(&app, TestRequest::get().uri("/openapi.json").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = serde_json::from_slice(&test::read_body(response).await).expect("JSON");
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", document["openapi"]);
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for field in ["type", "title", "status", "detail", "code"] {
        assert!(document["components"]["schemas"]["Problem"]["properties"][field].is_object(), "Problem.{field}");
    }
    let paths = document["paths"].as_object().expect("paths").iter();
    let methods = |(path, item): (&String, &Value)| {
        item.as_object().expect("methods").keys().map(|m| (m.clone(), path.clone())).collect::<Vec<_>>()
    };
    let mut listed: Vec<_> = paths.flat_map(methods).collect();
    listed.sort();
    let webhooks = document["webhooks"].as_object().expect("the event catalogue as webhooks");
    for event in mercato_adapters::events::catalogue::CATALOGUE {
        let body = &webhooks[event.name]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(body, "#/components/schemas/PublishedEventDto", "{}", event.name);
    }
    assert_eq!(webhooks.len(), mercato_adapters::events::catalogue::CATALOGUE.len());
    // No int32 with a maximum beyond it (an unsigned 32-bit field is int64 with its bounds).
    let text = document.to_string();
    assert!(!text.contains("\"format\":\"int32\",\"maximum\":4294967295"), "an int32 above its range");
    let grams = &document["components"]["schemas"]["ProductBody"]["properties"]["weight_grams"];
    assert!(grams.to_string().contains("int64") && grams.to_string().contains("4294967295"), "{grams}");
    assert!(document["components"]["schemas"]["PublishedEventDto"]["properties"]["sequence"].is_object());
    let mut wanted: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    wanted.sort();
    assert_eq!(listed, wanted);
    for (method, path) in ROUTES {
        let operation = &document["paths"][path][method];
        assert!(
            operation["responses"]["4XX"].is_object()
                || path.starts_with("/healthz")
                || *path == "/metrics"
                || *path == "/openapi.json",
            "{method} {path} documents its refusals"
        );
    }
}

// Proves every answer of the storefront flow, from context to order, and of the stock
// routes, and a refusal of each kind, matches the schema the document gives for it.
#[actix_rt::test]
async fn the_flow_answers_as_documented() {
    let app = test::init_service(mercato_adapters::http::app(support::api::demo_state())).await;
    let response = test::call_service(&app, TestRequest::get().uri("/openapi.json").to_request()).await;
    let document: Value = serde_json::from_slice(&test::read_body(response).await).expect("JSON");
    let mut checker = Checker { document, checked: 0 };
    let call = |method: &'static str, key: Option<&'static str>, path: String, body: Option<Value>| {
        let mut request = match method {
            "get" => TestRequest::get(),
            "post" => TestRequest::post(),
            "put" => TestRequest::put(),
            "patch" => TestRequest::patch(),
            _ => TestRequest::delete(),
        }
        .uri(&path);
        if let Some(key) = key {
            request = request.insert_header(("Authorization", format!("Bearer {key}")));
        }
        if let Some(body) = body {
            request = request.set_json(body);
        }
        request.to_request()
    };
    // One request: sends it, checks its answer against the document, returns the body.
    macro_rules! step {
        ($method:literal, $key:expr, $template:literal, $path:expr, $body:expr, $status:expr) => {{
            let response = test::call_service(&app, call($method, $key, $path, $body)).await;
            let status = response.status();
            let bytes = test::read_body(response).await;
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            assert_eq!(status, $status, "{} {}: {body}", $method, $template);
            if $template != "/metrics" {
                checker.check($method, $template, status, &body);
            }
            body
        }};
    }
    let d = "/v1/commerces/demo";
    step!("get", None, "/healthz", "/healthz".into(), None, StatusCode::OK);
    step!("get", None, "/readyz", "/readyz".into(), None, StatusCode::OK);
    let receipt = json!({"sku": "MOUSE", "quantity": 20});
    step!(
        "post",
        Some(ADMIN),
        "/v1/commerces/{commerce}/warehouses/{warehouse}/receipts",
        format!("{d}/warehouses/wh-madrid/receipts"),
        Some(receipt),
        StatusCode::CREATED
    );
    let batch = json!({"sku": "HEADPHONES", "batch": "po-1", "quantity": 10, "expected_date": in_days(7)});
    step!(
        "post",
        Some(ADMIN),
        "/v1/commerces/{commerce}/warehouses/{warehouse}/batches",
        format!("{d}/warehouses/wh-madrid/batches"),
        Some(batch),
        StatusCode::CREATED
    );
    let change = json!({"sku": "HEADPHONES", "quantity": 12, "expected_date": in_days(8)});
    step!(
        "patch",
        Some(ADMIN),
        "/v1/commerces/{commerce}/warehouses/{warehouse}/batches/{batch}",
        format!("{d}/warehouses/wh-madrid/batches/po-1"),
        Some(change),
        StatusCode::OK
    );
    let adjust = json!({"sku": "MOUSE", "delta": -1, "reason": "damage"});
    step!(
        "post",
        Some(ADMIN),
        "/v1/commerces/{commerce}/warehouses/{warehouse}/adjustments",
        format!("{d}/warehouses/wh-madrid/adjustments"),
        Some(adjust),
        StatusCode::CREATED
    );
    step!("get", Some(ADMIN), "/v1/commerces/{commerce}/warehouses", format!("{d}/warehouses"), None, StatusCode::OK);
    step!(
        "get",
        Some(ADMIN),
        "/v1/commerces/{commerce}/warehouses/{warehouse}/stock/{sku}",
        format!("{d}/warehouses/wh-madrid/stock/HEADPHONES"),
        None,
        StatusCode::OK
    );
    step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/context",
        format!("{d}/context"),
        Some(json!({"country": "ES"})),
        StatusCode::OK
    );
    step!(
        "get",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/products",
        format!("{d}/products?limit=3"),
        None,
        StatusCode::OK
    );
    step!(
        "get",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/products/{sku}/availability",
        format!("{d}/products/HEADPHONES/availability?country=ES&qty=2"),
        None,
        StatusCode::OK
    );
    step!(
        "get",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/products/{sku}/price",
        format!("{d}/products/MOUSE/price?qty=2&currency=USD"),
        None,
        StatusCode::OK
    );
    let cart = step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts",
        format!("{d}/carts"),
        Some(json!({"country": "ES"})),
        StatusCode::CREATED
    );
    let id = cart["id"].as_str().expect("an id").to_owned();
    let c = format!("{d}/carts/{id}");
    step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/lines",
        format!("{c}/lines"),
        Some(json!({"sku": "MOUSE", "qty": 2})),
        StatusCode::CREATED
    );
    step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/lines",
        format!("{c}/lines"),
        Some(json!({"sku": "HEADPHONES", "qty": 1})),
        StatusCode::CREATED
    );
    step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/lines",
        format!("{c}/lines"),
        Some(json!({"sku": "KEYBOARD", "qty": 1})),
        StatusCode::CONFLICT
    );
    step!(
        "patch",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/lines/{line}",
        format!("{c}/lines/l1"),
        Some(json!({"qty": 3})),
        StatusCode::OK
    );
    step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/lines",
        format!("{c}/lines"),
        Some(json!({"sku": "MOUSE", "qty": 1})),
        StatusCode::CREATED
    );
    step!(
        "delete",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/lines/{line}",
        format!("{c}/lines/l2"),
        None,
        StatusCode::OK
    );
    let address = json!({"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES", "latitude": 40.42, "longitude": -3.70});
    step!(
        "put",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/address",
        format!("{c}/address"),
        Some(address.clone()),
        StatusCode::OK
    );
    // A cart created whole: lines, address and delivery in one request.
    step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts",
        format!("{d}/carts"),
        Some(
            json!({"country": "ES", "lines": [{"sku": "MOUSE", "qty": 1}], "address": address, "delivery": {"method": "home"}})
        ),
        StatusCode::CREATED
    );
    step!(
        "put",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/promo-code",
        format!("{c}/promo-code"),
        Some(json!({"code": "WELCOME10"})),
        StatusCode::OK
    );
    step!(
        "delete",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/promo-code",
        format!("{c}/promo-code"),
        None,
        StatusCode::OK
    );
    step!(
        "get",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/delivery-options",
        format!("{c}/delivery-options?preference=fewest_shipments"),
        None,
        StatusCode::OK
    );
    step!(
        "put",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/delivery",
        format!("{c}/delivery"),
        Some(json!({"method": "home"})),
        StatusCode::OK
    );
    step!(
        "get",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/payment-systems",
        format!("{c}/payment-systems"),
        None,
        StatusCode::OK
    );
    step!("get", Some(STOREFRONT), "/v1/commerces/{commerce}/carts/{cart}", c.clone(), None, StatusCode::OK);
    let declined = json!({"payment_system": "card", "payment_token": "tok_decline"});
    step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/checkout",
        format!("{c}/checkout"),
        Some(declined),
        StatusCode::PAYMENT_REQUIRED
    );
    let order = step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts/{cart}/checkout",
        format!("{c}/checkout"),
        Some(json!({"payment_system": "bank-transfer"})),
        StatusCode::CREATED
    );
    let o = format!("{d}/orders/{}", order["id"].as_str().expect("an order id"));
    step!("get", Some(STOREFRONT), "/v1/commerces/{commerce}/orders/{order}", o.clone(), None, StatusCode::OK);
    step!(
        "get",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/orders/{order}/documents",
        format!("{o}/documents"),
        None,
        StatusCode::OK
    );
    step!(
        "post",
        Some(ADMIN),
        "/v1/commerces/{commerce}/orders/{order}/payments",
        format!("{o}/payments"),
        Some(json!({"reference": "TR-1"})),
        StatusCode::OK
    );
    // Buying in one request: the cart created whole and checked out.
    let bought = step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/orders",
        format!("{d}/orders"),
        Some(json!({
            "cart": {"country": "ES", "lines": [{"sku": "MOUSE", "qty": 1}], "address": address, "delivery": {"method": "home"}},
            "checkout": {"payment_system": "card", "payment_token": "tok_visa"}
        })),
        StatusCode::CREATED
    );
    // After checkout: cancel (previewed first) and refund by hand, ship, a carrier's
    // report, the history and the invoices.
    step!(
        "post",
        Some(ADMIN),
        "/v1/commerces/{commerce}/orders/{order}/cancellations",
        format!("{o}/cancellations?preview=true"),
        Some(json!({})),
        StatusCode::OK
    );
    let cancelled = step!(
        "post",
        Some(ADMIN),
        "/v1/commerces/{commerce}/orders/{order}/cancellations",
        format!("{o}/cancellations"),
        Some(json!({})),
        StatusCode::OK
    );
    let refund = cancelled["refund"]["id"].as_str().expect("a refund");
    step!(
        "post",
        Some(ADMIN),
        "/v1/commerces/{commerce}/orders/{order}/refunds/{refund}",
        format!("{o}/refunds/{refund}"),
        Some(json!({"reference": "BACK-1"})),
        StatusCode::OK
    );
    let b = format!("{d}/orders/{}", bought["id"].as_str().expect("an order id"));
    let shipment = bought["shipments"][0]["id"].as_str().expect("a shipment");
    step!(
        "post",
        Some(ADMIN),
        "/v1/commerces/{commerce}/orders/{order}/shipments/{shipment}/ship",
        format!("{b}/shipments/{shipment}/ship"),
        Some(json!({"tracking": ["IB9"]})),
        StatusCode::OK
    );
    step!(
        "post",
        Some(ADMIN),
        "/v1/commerces/{commerce}/carriers/{carrier}/events",
        format!("{d}/carriers/iberpost/events"),
        Some(json!({"id": "e1", "tracking": "IB9", "code": "delivered", "at": "2026-12-03T10:00:00Z"})),
        StatusCode::OK
    );
    step!(
        "get",
        Some(ADMIN),
        "/v1/commerces/{commerce}/orders/{order}/history",
        format!("{b}/history"),
        None,
        StatusCode::OK
    );
    let invoices =
        step!("get", Some(ADMIN), "/v1/commerces/{commerce}/invoices", format!("{d}/invoices"), None, StatusCode::OK);
    let number = invoices["invoices"][0]["number"].as_str().expect("an invoice");
    step!(
        "get",
        Some(ADMIN),
        "/v1/commerces/{commerce}/invoices/{number}",
        format!("{d}/invoices/{number}"),
        None,
        StatusCode::OK
    );
    // Refusals of each class answer the documented problem schema.
    step!("get", None, "/v1/commerces/{commerce}/carts/{cart}", c.clone(), None, StatusCode::UNAUTHORIZED);
    step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/orders/{order}/payments",
        format!("{o}/payments"),
        Some(json!({"reference": "TR-2"})),
        StatusCode::FORBIDDEN
    );
    step!(
        "get",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/orders/{order}",
        format!("{d}/orders/nope"),
        None,
        StatusCode::NOT_FOUND
    );
    step!(
        "post",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/carts",
        format!("{d}/carts"),
        Some(json!({"colour": "red"})),
        StatusCode::BAD_REQUEST
    );
    step!(
        "get",
        Some(STOREFRONT),
        "/v1/commerces/{commerce}/products/{sku}/price",
        format!("{d}/products/MOUSE/price?currency=JPY"),
        None,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(checker.checked >= 35, "{} answers checked", checker.checked);
    // The check has teeth: a cart without its lines, or with a line count as text, breaks it.
    let template = "/v1/commerces/{commerce}/carts";
    let mut broken = cart.clone();
    broken.as_object_mut().expect("an object").remove("lines");
    assert!(!checker.errors("post", template, StatusCode::CREATED, &broken).is_empty());
    let mut broken = cart.clone();
    broken["units"] = json!("three");
    assert!(!checker.errors("post", template, StatusCode::CREATED, &broken).is_empty());
}

// Proves the document states the bounds the server enforces on query parameters, and that
// the server keeps them at their edges: page sizes 1 to 500, quantities from 1, and the
// availability's destination country, which is required.
#[actix_rt::test]
async fn query_bounds_are_stated_and_kept() {
    let document: Value = serde_json::from_str(mercato_adapters::http::routes::openapi::document()).expect("json");
    let parameter = |path: &str, name: &str| -> Value {
        let parameters = document["paths"][path]["get"]["parameters"].as_array().cloned().unwrap_or_default();
        parameters.into_iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{path} has {name}"))
    };
    let products = "/v1/commerces/{commerce}/products";
    let availability = "/v1/commerces/{commerce}/products/{sku}/availability";
    let price = "/v1/commerces/{commerce}/products/{sku}/price";
    let limit = parameter(products, "limit");
    assert_eq!((&limit["schema"]["minimum"], &limit["schema"]["maximum"]), (&json!(1), &json!(500)), "{limit}");
    for (path, name) in [(availability, "qty"), (price, "qty")] {
        let qty = parameter(path, name);
        assert_eq!(qty["schema"]["minimum"], json!(1), "{path}: {qty}");
        assert_eq!(qty["schema"]["maximum"], json!(4_294_967_295_i64), "{path}: {qty}");
    }
    assert_eq!(parameter(availability, "country")["required"], json!(true), "the country is required");
    let api = api!();
    for (path, status) in [
        ("/products?limit=500", StatusCode::OK),
        ("/products?limit=501", StatusCode::UNPROCESSABLE_ENTITY),
        ("/products?limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("/products/MOUSE/price?qty=1", StatusCode::OK),
        ("/products/MOUSE/price?qty=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("/products/MOUSE/availability?country=ES&qty=4294967295", StatusCode::OK),
        ("/products/MOUSE/availability?country=ES&qty=4294967296", StatusCode::UNPROCESSABLE_ENTITY),
        ("/products/MOUSE/availability?country=es", StatusCode::OK),
    ] {
        let (got, body) = api.get(STOREFRONT, path).await;
        assert_eq!(got, status, "{path}: {body}");
    }
    let (status, body) = api.get(STOREFRONT, "/products/MOUSE/availability").await;
    assert!(status.is_client_error(), "the country is required: {body}");
}
