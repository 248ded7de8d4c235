//! The HTTP adapter in process: health and readiness, metrics, context resolution, and
//! each error class (401, 403, 404, 400, 413, 422) as RFC 9457 problems.

use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::web;
use mercato_adapters::http::{app, AppState, REQUEST_BODY_BYTES_MAX};
use mercato_adapters::server::build_state;
use mercato_adapters::DEMO_CONFIG;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use serde_json::{json, Value};

fn demo_state() -> web::Data<AppState> {
    let demo = Commerce::from_toml(DEMO_CONFIG, KNOWN_GATEWAYS).expect("demo is valid");
    let state = build_state(vec![demo]).expect("state builds");
    state.ready.store(true, Ordering::Release);
    state
}

/// Sends `request` to a fresh app and returns the status, content type and JSON body.
async fn call(state: web::Data<AppState>, request: TestRequest) -> (StatusCode, String, Value) {
    let service = test::init_service(app(state)).await;
    let response = test::call_service(&service, request.to_request()).await;
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = test::read_body(response).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, content_type, body)
}

fn context(commerce: &str, key: Option<&str>, body: Value) -> TestRequest {
    let request = TestRequest::post().uri(&format!("/v1/commerces/{commerce}/context")).set_json(body);
    match key {
        Some(key) => request.insert_header(("Authorization", format!("Bearer {key}"))),
        None => request,
    }
}

// Proves a storefront key resolves the channel, language, currency, country and access.
#[actix_rt::test]
async fn context_resolves_for_a_storefront_key() {
    let body = json!({"country": "fr", "device": "mobile", "language": "en"});
    let (status, _, body) = call(demo_state(), context("demo", Some("demo-storefront"), body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["channel"], "mobile");
    assert_eq!(body["language"], "en");
    assert_eq!(body["currency"], "EUR");
    assert_eq!(body["country"], "FR");
    assert_eq!(body["access"], json!({"outcome": "full"}));
}

// Proves the redirect and browse-only outcomes reach the client.
#[actix_rt::test]
async fn context_reports_out_of_area_outcomes() {
    let (_, _, us) = call(demo_state(), context("demo", Some("demo-admin"), json!({"country": "US"}))).await;
    assert_eq!(
        us["access"],
        json!({"outcome": "redirect", "commerce": "demo-americas", "url": "https://americas.demo.example/"})
    );
    let (_, _, gb) = call(demo_state(), context("demo", Some("demo-admin"), json!({"country": "GB"}))).await;
    assert_eq!(gb["access"], json!({"outcome": "browse_only"}));
}

// Proves each authentication and authorisation failure has its status and code.
#[actix_rt::test]
async fn keys_and_roles() {
    let cases = [
        (context("demo", None, json!({})), StatusCode::UNAUTHORIZED, "unauthenticated"),
        (context("demo", Some("not-a-key"), json!({})), StatusCode::UNAUTHORIZED, "unauthenticated"),
        (
            context("demo", None, json!({})).insert_header(("Authorization", "Basic abc")),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (context("demo", Some("demo-merchant-artisan"), json!({})), StatusCode::FORBIDDEN, "forbidden"),
        (context("elsewhere", Some("demo-storefront"), json!({})), StatusCode::NOT_FOUND, "commerce_not_found"),
    ];
    for (request, expected_status, expected_code) in cases {
        let (status, content_type, body) = call(demo_state(), request).await;
        assert_eq!(status, expected_status, "{body}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["code"], expected_code);
        assert_eq!(body["status"], expected_status.as_u16());
    }
}

// Proves malformed input is refused with a problem naming what is wrong.
#[actix_rt::test]
async fn bad_input() {
    let key = Some("demo-storefront");
    let (status, _, body) = call(demo_state(), context("demo", key, json!({"colour": "red"}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")));
    assert!(body["detail"].as_str().unwrap_or_default().contains("colour"), "{body}");

    let (status, _, body) = call(demo_state(), context("demo", key, json!({"device": "fridge"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap_or_default().contains("fridge"), "{body}");

    let (status, _, body) = call(demo_state(), context("demo", key, json!({"country": "Spain"}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_country")));
    assert!(body["detail"].as_str().unwrap_or_default().contains("Spain"), "{body}");

    let (status, _, body) = call(demo_state(), context("demo", key, json!({"domain": "evil.example"}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_domain")));

    // At the limit the body is read and judged on its content; one byte over, refused.
    let padding = REQUEST_BODY_BYTES_MAX - r#"{"domain":""}"#.len();
    let at_limit = json!({ "domain": "x".repeat(padding) });
    assert_eq!(at_limit.to_string().len(), REQUEST_BODY_BYTES_MAX);
    let (status, _, body) = call(demo_state(), context("demo", key, at_limit)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_domain")));
    let oversized = json!({ "domain": "x".repeat(padding + 1) });
    let (status, _, body) = call(demo_state(), context("demo", key, oversized)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")));

    let (status, _, body) = call(demo_state(), TestRequest::get().uri("/v1/nowhere")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("route_not_found")));
}

// Proves tenants are isolated on a shared node: a key of one commerce gets 404 for the
// other, exactly as for a commerce that does not exist, even when its body is malformed.
#[actix_rt::test]
async fn tenants_are_isolated() {
    let demo = Commerce::from_toml(DEMO_CONFIG, KNOWN_GATEWAYS).expect("demo is valid");
    let shop_text =
        DEMO_CONFIG.replacen("code = \"demo\"", "code = \"shop\"", 1).replace("key = \"demo-", "key = \"shop-");
    let shop = Commerce::from_toml(&shop_text, KNOWN_GATEWAYS).expect("shop is valid");
    let state = build_state(vec![demo, shop]).expect("two commerces share a node");

    let (status, _, body) = call(state.clone(), context("shop", Some("shop-storefront"), json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["commerce"], "shop");
    for (commerce, body) in [("shop", json!({})), ("shop", json!({"bogus": 1})), ("nowhere", json!({}))] {
        let (status, _, problem) = call(state.clone(), context(commerce, Some("demo-storefront"), body)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
        assert_eq!(problem["detail"], format!("commerce \"{commerce}\" not found"));
    }
}

// Proves health always answers and readiness waits for the ready flag.
#[actix_rt::test]
async fn health_and_readiness() {
    let state = demo_state();
    state.ready.store(false, Ordering::Release);
    let (status, _, body) = call(state.clone(), TestRequest::get().uri("/readyz")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("not_ready")));
    let (status, _, _) = call(state.clone(), TestRequest::get().uri("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    state.ready.store(true, Ordering::Release);
    let (status, _, _) = call(state, TestRequest::get().uri("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
}

// Proves requests are counted and timed per route pattern and status in /metrics.
#[actix_rt::test]
async fn metrics_count_requests_per_route() {
    let state = demo_state();
    let service = test::init_service(app(state)).await;
    let request = context("demo", Some("demo-storefront"), json!({"country": "ES"})).to_request();
    assert_eq!(test::call_service(&service, request).await.status(), StatusCode::OK);
    let response = test::call_service(&service, TestRequest::get().uri("/metrics").to_request()).await;
    let text = String::from_utf8(test::read_body(response).await.to_vec()).expect("utf-8");
    assert!(
        text.contains(
            r#"mercato_http_requests_total{route="/v1/commerces/{commerce}/context",method="POST",status="200"}"#
        ),
        "{text}"
    );
    assert!(text.contains("mercato_http_request_duration_seconds_bucket"), "{text}");

    // Invented methods share one label value instead of a series each.
    let brew = actix_web::http::Method::from_bytes(b"BREW").expect("method");
    let invented = TestRequest::default().method(brew).uri("/healthz").to_request();
    let _ = test::call_service(&service, invented).await;
    let response = test::call_service(&service, TestRequest::get().uri("/metrics").to_request()).await;
    let text = String::from_utf8(test::read_body(response).await.to_vec()).expect("utf-8");
    assert!(!text.contains("BREW"), "{text}");
    assert!(text.contains(r#"method="other""#), "{text}");
}

// Proves the HTTP contract around the routes: a known path asked with a method it does not
// have answers 405 naming its methods in `Allow` (HEAD wherever GET is), an unknown path
// 404; HEAD works on every GET route (the binary's test sees no body on the wire); and an
// `Authorization` or `Idempotency-Key` header given twice is 400 `duplicate_header`,
// before anything else, with nothing changed.
#[actix_rt::test]
async fn methods_head_and_doubled_headers() {
    let state = demo_state();
    let service = test::init_service(app(state)).await;
    let send = |request: TestRequest| {
        let request = request.to_request();
        async {
            let response = test::call_service(&service, request).await;
            let allow = response.headers().get("allow").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let status = response.status();
            let bytes = test::read_body(response).await;
            (status, allow, serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null))
        }
    };
    let admin = ("Authorization", "Bearer demo-admin");
    let stock = "/v1/commerces/demo/warehouses/wh-madrid/stock/KEYBOARD";
    let (status, allow, body) = send(TestRequest::delete().uri(stock).insert_header(admin)).await;
    assert_eq!((status, allow.as_deref()), (StatusCode::METHOD_NOT_ALLOWED, Some("GET, HEAD")), "{body}");
    assert_eq!(body["code"], "method_not_allowed");
    let carts = "/v1/commerces/demo/carts";
    let (status, allow, _) = send(TestRequest::get().uri(carts)).await;
    assert_eq!((status, allow.as_deref()), (StatusCode::METHOD_NOT_ALLOWED, Some("POST")));
    let (status, allow, body) = send(TestRequest::put().uri("/v1/commerces/demo/nowhere")).await;
    assert_eq!((status, allow, body["code"].as_str()), (StatusCode::NOT_FOUND, None, Some("route_not_found")));

    let (status, _, body) = send(TestRequest::default().method(actix_web::http::Method::HEAD).uri(stock)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "HEAD is the GET, with its checks: {body}");
    let head = TestRequest::default().method(actix_web::http::Method::HEAD).uri(stock).insert_header(admin);
    let (status, _, _) = send(head).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(TestRequest::default().method(actix_web::http::Method::HEAD).uri("/healthz")).await;
    assert_eq!(status, StatusCode::OK);

    let receipts = "/v1/commerces/demo/warehouses/wh-madrid/receipts";
    let receipt = json!({"sku": "KEYBOARD", "quantity": 3});
    let twice = TestRequest::post()
        .uri(receipts)
        .insert_header(admin)
        .append_header(("Idempotency-Key", "k-1"))
        .append_header(("Idempotency-Key", "k-2"))
        .set_json(&receipt);
    let (status, _, body) = send(twice).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("duplicate_header")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("Idempotency-Key")), "{body}");
    let keys = TestRequest::post()
        .uri(receipts)
        .append_header(admin)
        .append_header(("Authorization", "Bearer demo-storefront"))
        .set_json(&receipt);
    let (status, _, body) = send(keys).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("duplicate_header")), "{body}");
    let (_, _, stock) = send(TestRequest::get().uri(stock).insert_header(admin)).await;
    assert_eq!(stock["on_hand"], 0, "nothing was received: {stock}");
}
