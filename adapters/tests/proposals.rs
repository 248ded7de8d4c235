//! Merchants' product changes under review, on a marketplace of our own whose settings ask
//! for it (`merchant_product_review`): a merchant's put, patch and retirement wait as
//! proposals (202) with their diff, only accepted ones go live, a rejected one changes
//! nothing, a decided one is decided once, a merchant sees its own proposals only, and
//! without the setting a merchant's change goes live at once.

mod support;

use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use mercato_adapters::server::build_state;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use serde_json::{json, Value};
use support::api::Api;

const ADMIN: &str = "atelier-admin";
const LOOM: &str = "atelier-loom";
const KILN: &str = "atelier-kiln";

fn config(review: bool) -> String {
    let base = include_str!("data/atelier.toml");
    if review {
        base.replacen("name = \"Atelier\"", "name = \"Atelier\"\nmerchant_product_review = true", 1)
    } else {
        base.to_owned()
    }
}

async fn call<S, B>(api: &Api<S>, key: &str, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let request = match method {
        "GET" => TestRequest::get(),
        "PUT" => TestRequest::put(),
        "PATCH" => TestRequest::patch(),
        "DELETE" => TestRequest::delete(),
        _ => TestRequest::post(),
    }
    .uri(&format!("/v1/commerces/atelier{path}"));
    let request = match body {
        Some(body) if method == "PATCH" => {
            request.insert_header(("content-type", "application/merge-patch+json")).set_payload(body.to_string())
        }
        Some(body) => request.set_json(body),
        None => request,
    };
    api.call(key, request).await
}

// Proves a merchant's changes wait for the back office: proposed (202, with the diff),
// listed for the admin and the merchant itself (not another merchant), accepted (live,
// decided once) or rejected with a reason (nothing changes), a retirement proposed too.
#[actix_rt::test]
async fn a_merchants_changes_wait_for_the_back_office() {
    let state = build_state(vec![Commerce::from_toml(&config(true), KNOWN_GATEWAYS).expect("valid")]).expect("state");
    state.ready.store(true, Ordering::Release);
    let api = Api { service: test::init_service(mercato_adapters::http::app(state)).await };
    let (_, before) = call(&api, ADMIN, "GET", "/products/SCARF", None).await;

    let (status, proposal) =
        call(&api, LOOM, "PATCH", "/products/SCARF", Some(json!({"prices": {"EUR": "49.00"}}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{proposal}");
    assert_eq!(
        (&proposal["status"], &proposal["action"], &proposal["merchant"]),
        (&json!("pending"), &json!("put"), &json!("loom"))
    );
    let diff = proposal["diff"].as_array().expect("a diff");
    assert_eq!(diff.len(), 1, "only the price: {proposal}");
    assert_eq!((&diff[0]["field"], &diff[0]["new"]["EUR"]), (&json!("prices"), &json!("49.00")), "{proposal}");
    assert_eq!(call(&api, ADMIN, "GET", "/products/SCARF", None).await.1, before, "nothing is live yet");
    let first = proposal["code"].as_str().expect("a code").to_owned();
    let (status, again) = call(&api, LOOM, "PATCH", "/products/SCARF", Some(json!({"prices": {"EUR": "49.00"}}))).await;
    assert_eq!((status, &again["code"]), (StatusCode::ACCEPTED, &json!(first)), "the same change asked again: {again}");

    // Listed for the administrator and its merchant; another merchant sees none of it.
    let (_, listed) = call(&api, ADMIN, "GET", "/product-proposals?status=pending", None).await;
    assert_eq!(listed["proposals"].as_array().map(Vec::len), Some(1), "{listed}");
    let (_, own) = call(&api, LOOM, "GET", &format!("/product-proposals/{first}"), None).await;
    assert_eq!(own["code"], json!(first));
    assert_eq!(call(&api, KILN, "GET", &format!("/product-proposals/{first}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&api, KILN, "GET", "/product-proposals", None).await.1["proposals"], json!([]));
    assert_eq!(
        call(&api, LOOM, "POST", &format!("/product-proposals/{first}/accept"), None).await.0,
        StatusCode::FORBIDDEN
    );

    // Accepted: live, decided once.
    let (status, accepted) = call(&api, ADMIN, "POST", &format!("/product-proposals/{first}/accept"), None).await;
    assert_eq!((status, &accepted["status"]), (StatusCode::OK, &json!("accepted")), "{accepted}");
    let (_, live) = call(&api, ADMIN, "GET", "/products/SCARF", None).await;
    assert_eq!(live["prices"]["EUR"], json!("49.00"), "{live}");
    let (status, again) = call(&api, ADMIN, "POST", &format!("/product-proposals/{first}/accept"), None).await;
    assert_eq!((status, &again["code"]), (StatusCode::CONFLICT, &json!("proposal_decided")), "{again}");

    // A retirement proposed and rejected: nothing changes.
    let (status, retire) = call(&api, LOOM, "DELETE", "/products/SCARF", None).await;
    assert_eq!((status, &retire["action"]), (StatusCode::ACCEPTED, &json!("retire")), "{retire}");
    let second = retire["code"].as_str().expect("a code").to_owned();
    let path = format!("/product-proposals/{second}/reject");
    let (status, blank) = call(&api, ADMIN, "POST", &path, Some(json!({"reason": "   "}))).await;
    assert_eq!((status, &blank["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_reason")), "{blank}");
    let (status, rejected) = call(&api, ADMIN, "POST", &path, Some(json!({"reason": "still selling"}))).await;
    assert_eq!(
        (status, &rejected["status"], &rejected["reason"]),
        (StatusCode::OK, &json!("rejected"), &json!("still selling"))
    );
    assert_eq!(call(&api, ADMIN, "GET", "/products/SCARF", None).await.1, live, "a rejection changes nothing");

    // A new product proposed by a merchant, refused when it breaks the catalogue's rules.
    let bad = json!({"names": {"en": "Shawl"}, "tax_class": "nope", "weight_grams": 300, "shipping_class": "parcel", "prices": {"EUR": "60.00"}});
    let (status, refused) = call(&api, LOOM, "PUT", "/products/SHAWL", Some(bad)).await;
    assert_eq!((status, &refused["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_product")), "{refused}");
    assert_eq!(
        call(&api, ADMIN, "GET", "/product-proposals", None).await.1["proposals"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(call(&api, ADMIN, "GET", "/product-proposals/PP-9", None).await.0, StatusCode::NOT_FOUND);
}

// Proves that without the setting a merchant's change goes live at once.
#[actix_rt::test]
async fn without_review_a_merchants_change_is_live() {
    let state = build_state(vec![Commerce::from_toml(&config(false), KNOWN_GATEWAYS).expect("valid")]).expect("state");
    state.ready.store(true, Ordering::Release);
    let api = Api { service: test::init_service(mercato_adapters::http::app(state)).await };
    let (status, changed) =
        call(&api, LOOM, "PATCH", "/products/SCARF", Some(json!({"prices": {"EUR": "49.00"}}))).await;
    assert_eq!((status, &changed["prices"]["EUR"]), (StatusCode::OK, &json!("49.00")), "{changed}");
    assert_eq!(call(&api, ADMIN, "GET", "/product-proposals", None).await.1["proposals"], json!([]));
}

// Proves a merchant's revert is a change like any other: under review it waits as a
// proposal of the old version (202, nothing live), and without review it may only bring
// back a version that was the merchant's own (a version of another merchant's, or of no
// merchant's, is refused naming it, and nothing changes).
#[actix_rt::test]
async fn a_merchants_revert_is_reviewed_and_keeps_to_its_own_versions() {
    let state = build_state(vec![Commerce::from_toml(&config(true), KNOWN_GATEWAYS).expect("valid")]).expect("state");
    state.ready.store(true, Ordering::Release);
    let api = Api { service: test::init_service(mercato_adapters::http::app(state)).await };
    let (status, _) = call(&api, ADMIN, "PATCH", "/products/SCARF", Some(json!({"prices": {"EUR": "49.00"}}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, before) = call(&api, ADMIN, "GET", "/products/SCARF", None).await;
    let (status, proposal) = call(&api, LOOM, "POST", "/products/SCARF/revert", Some(json!({"version": 1}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{proposal}");
    assert_eq!((&proposal["status"], &proposal["action"]), (&json!("pending"), &json!("put")), "{proposal}");
    assert_eq!(call(&api, ADMIN, "GET", "/products/SCARF", None).await.1, before, "nothing is live yet");

    let state = build_state(vec![Commerce::from_toml(&config(false), KNOWN_GATEWAYS).expect("valid")]).expect("state");
    state.ready.store(true, Ordering::Release);
    let api = Api { service: test::init_service(mercato_adapters::http::app(state)).await };
    // Version 1 is the commerce's own, version 2 kiln's, version 3 loom's.
    let body = json!({"names": {"en": "Vase"}, "tax_class": "standard", "shipping_class": "parcel",
        "weight_grams": 900, "prices": {"EUR": "30.00"}});
    assert_eq!(call(&api, ADMIN, "PUT", "/products/VASE", Some(body)).await.0, StatusCode::CREATED);
    for merchant in ["kiln", "loom"] {
        let (status, _) = call(&api, ADMIN, "PATCH", "/products/VASE", Some(json!({"merchant": merchant}))).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, before) = call(&api, ADMIN, "GET", "/products/VASE", None).await;
    for (version, owner) in [(1, "a product of no merchant"), (2, "merchant \"kiln\"'s product")] {
        let (status, problem) =
            call(&api, LOOM, "POST", "/products/VASE/revert", Some(json!({"version": version}))).await;
        assert_eq!((status, &problem["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_merchant")));
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains(owner)), "{problem}");
    }
    assert_eq!(call(&api, ADMIN, "GET", "/products/VASE", None).await.1, before, "nothing changed");
    let (_, history) = call(&api, ADMIN, "GET", "/products/VASE/history", None).await;
    assert_eq!(history["versions"].as_array().map(Vec::len), Some(3), "{history}");
    let (status, same) = call(&api, LOOM, "POST", "/products/VASE/revert", Some(json!({"version": 3}))).await;
    assert_eq!((status, &same), (StatusCode::OK, &before), "its own version: already so");
}

// Proves a merchant cannot bypass the review by importing: under review its import is
// refused (403) before anything is read, while the administrator's imports run.
#[actix_rt::test]
async fn under_review_a_merchants_import_is_refused() {
    let state = build_state(vec![Commerce::from_toml(&config(true), KNOWN_GATEWAYS).expect("valid")]).expect("state");
    state.ready.store(true, Ordering::Release);
    let api = Api { service: test::init_service(mercato_adapters::http::app(state)).await };
    let file = "sku,name.en,tax_class,shipping_class,weight_grams,price.EUR\nNEWL,New loom,standard,parcel,100,5.00\n";
    let import = |key: &str| {
        TestRequest::post()
            .uri("/v1/commerces/atelier/imports")
            .insert_header(("Authorization", format!("Bearer {key}")))
            .insert_header(("Content-Type", "text/csv"))
            .set_payload(file)
            .to_request()
    };
    let response = test::call_service(&api.service, import(LOOM)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = test::call_service(&api.service, import(ADMIN)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(call(&api, ADMIN, "GET", "/product-proposals", None).await.1["proposals"], json!([]));
}
