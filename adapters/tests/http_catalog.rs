//! The live catalogue over HTTP, in process, on a commerce of two languages and two
//! merchants (`data/atelier.toml`): products created, replaced, patched, retired and
//! reverted while the node runs, each change checked by the file's rules with every
//! violation at once, its history readable field by field, a product readable as of a
//! version or a moment, a retired product no longer sold, and each merchant reaching only
//! its own products.

use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use mercato_adapters::server::build_state;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use serde_json::{json, Value};

const CONFIG: &str = include_str!("data/atelier.toml");
const ADMIN: &str = "atelier-admin";
const STOREFRONT: &str = "atelier-storefront";
const LOOM: &str = "atelier-loom";
const KILN: &str = "atelier-kiln";

macro_rules! app {
    () => {{
        let commerce = Commerce::from_toml(CONFIG, KNOWN_GATEWAYS).expect("the test commerce is valid");
        let state = build_state(vec![commerce]).expect("state builds");
        state.ready.store(true, Ordering::Release);
        test::init_service(mercato_adapters::http::app(state)).await
    }};
}

macro_rules! call {
    ($app:expr, $key:expr, $method:ident, $path:expr) => {
        call!($app, $key, $method, $path, Value::Null)
    };
    ($app:expr, $key:expr, $method:ident, $path:expr, $body:expr) => {{
        let mut request = TestRequest::$method()
            .uri(&format!("/v1/commerces/atelier{}", $path))
            .insert_header(("Authorization", format!("Bearer {}", $key)));
        let body: Value = $body;
        if !body.is_null() {
            request = request.set_json(body);
        }
        let response = test::call_service(&$app, request.to_request()).await;
        let status = response.status();
        let bytes = test::read_body(response).await;
        (status, serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null))
    }};
}

fn lamp() -> Value {
    json!({
        "names": {"en": "Desk lamp", "de": "Schreibtischlampe"},
        "descriptions": {"en": "A brass desk lamp."},
        "attributes": {"material": "brass"},
        "tax_class": "standard",
        "weight": {"value": "2.5", "unit": "lb"},
        "shipping_class": "parcel",
        "prices": {"EUR": "89.00"},
        "media": [{"url": "https://cdn.example/lamp.jpg", "kind": "image", "alt": {"en": "The lamp, lit"}}],
        "related": ["P-1"]
    })
}

// Proves a product is created, replaced, patched and read while the node runs: 201 then
// 200, the weight converted to grams, an unchanged PUT making no version, a merge patch
// setting and removing fields, a stale `if_version` refused, and the storefront reading
// the description and media in its language with the default as fallback.
#[actix_rt::test]
async fn a_product_is_made_and_changed_while_the_node_runs() {
    let app = app!();
    let (status, made) = call!(app, ADMIN, put, "/products/LAMP", lamp());
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!((made["version"].as_u64(), made["weight_grams"].as_u64()), (Some(1), Some(1134)), "{made}");
    assert_eq!(made["changed_by"], "back office");
    let (status, again) = call!(app, ADMIN, put, "/products/LAMP", lamp());
    assert_eq!((status, again["version"].as_u64()), (StatusCode::OK, Some(1)), "the same product makes no version");

    let patch = json!({"names": {"de": "Tischlampe"}, "descriptions": null, "prices": {"EUR": "79.00"}});
    let (status, patched) = call!(app, ADMIN, patch, "/products/LAMP", patch);
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["names"], json!({"en": "Desk lamp", "de": "Tischlampe"}));
    assert_eq!(patched["prices"], json!({"EUR": "79.00"}));
    assert_eq!(patched["document"]["descriptions"], json!({}));
    assert_eq!(patched["document"]["weight_grams"], 1134);
    let (status, weighed) = call!(app, ADMIN, patch, "/products/LAMP", json!({"weight": {"value": "1", "unit": "kg"}}));
    assert_eq!((status, weighed["document"]["weight_grams"].as_u64()), (StatusCode::OK, Some(1000)), "{weighed}");

    let (status, stale) = call!(app, ADMIN, put, "/products/LAMP?if_version=1", lamp());
    assert_eq!((status, stale["code"].as_str()), (StatusCode::CONFLICT, Some("version_conflict")), "{stale}");
    let (status, fresh) = call!(app, ADMIN, put, "/products/NEW?if_version=0", lamp());
    assert_eq!(status, StatusCode::CREATED, "{fresh}");

    let (status, shown) = call!(app, STOREFRONT, get, "/products/LAMP?language=de");
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!((&shown["name"], &shown["language"]), (&json!("Tischlampe"), &json!("de")));
    assert_eq!(shown["media"][0]["alt"], "The lamp, lit", "alt text falls back to the default language");
    assert_eq!((&shown["document"], &shown["names"]), (&Value::Null, &Value::Null), "a storefront reads one language");
    let (status, received) =
        call!(app, ADMIN, post, "/warehouses/wh-1/receipts", json!({"sku": "LAMP", "quantity": 3}));
    assert!(status.is_success(), "a warehouse takes stock of a product made by the API: {received}");
    let (_, cart) = call!(app, STOREFRONT, post, "/carts", json!({"lines": [{"sku": "LAMP", "qty": 1}]}));
    assert_eq!(cart["totals"]["lines"][0]["unit_price"], "79.00", "a cart prices the product as it is now: {cart}");
}

// Proves a bad product is refused with every violation at once, naming each field and
// value, and changes nothing; unknown fields and a SKU that is not the path's are refused
// too.
#[actix_rt::test]
async fn a_bad_product_is_refused_with_every_violation() {
    let app = app!();
    let bad = json!({
        "names": {"fr": "Lampe"},
        "tax_class": "luxury",
        "weight_grams": 10,
        "weight": {"value": "1", "unit": "kg"},
        "shipping_class": "parcel",
        "prices": {"EUR": "-1"},
        "related": ["NOPE"],
        "media": [{"url": "ftp://x", "kind": "image"}]
    });
    let (status, refused) = call!(app, ADMIN, put, "/products/LAMP", bad);
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_product")));
    let detail = refused["detail"].as_str().expect("a detail");
    for named in [
        "\"en\" is required",
        "\"fr\" is not defined",
        "\"luxury\"",
        "weight and weight_grams",
        "-1",
        "\"NOPE\"",
        "ftp://x",
    ] {
        assert!(detail.contains(named), "{named} is not named in: {detail}");
    }
    let (status, _) = call!(app, ADMIN, get, "/products/LAMP");
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was made");
    // Amounts read only in the document's shape (no exponent, sign or underscore, at most
    // 18 digits and 10 decimals), and one that does not read hides no other violation.
    for price in ["1e3", "+1", "1_000", ".5", "79228162514264337593543950335", "1.12345678901"] {
        let mut bad = lamp();
        bad["prices"] = json!({"EUR": price});
        bad["tax_class"] = json!("luxury");
        bad["weight"] = json!({"value": "1E2", "unit": "g"});
        let (status, refused) = call!(app, ADMIN, put, "/products/LAMP", bad);
        assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_product")));
        let detail = refused["detail"].as_str().expect("a detail");
        for named in [format!("\"{price}\""), "\"1E2\"".into(), "\"luxury\"".into()] {
            assert!(detail.contains(&named), "{named} is not named in: {detail}");
        }
        assert!(!detail.contains("required"), "no stand-in makes a false violation: {detail}");
    }
    let mut unknown = lamp();
    unknown["colour"] = json!("red");
    let (status, refused) = call!(app, ADMIN, put, "/products/LAMP", unknown);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("colour")), "{refused}");
    let mut other = lamp();
    other["sku"] = json!("OTHER");
    let (status, refused) = call!(app, ADMIN, put, "/products/LAMP", other);
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sku_mismatch")));
    let (status, refused) = call!(app, ADMIN, patch, "/products/P-1", json!({"colour": "red"}));
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_body")),
        "as PUT: {refused}"
    );
    // A patch of the document's shape that leaves it half is a product breaking its rules.
    let half = json!({"weight": {"value": "150", "unit": null}});
    let (status, refused) = call!(app, ADMIN, patch, "/products/P-1", half);
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_product")));
    let (status, refused) = call!(app, ADMIN, patch, "/products/P-1", json!({"quantity": {"min": 0}}));
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_product")));
    let (_, p1) = call!(app, ADMIN, get, "/products/P-1");
    assert_eq!(p1["version"], 1, "a refused patch makes no version");
}

// Proves a retired product is no longer sold (the storefront does not see it, a cart
// refuses it naming it) while its history stays, and a revert to a version or a moment
// is a new version equal to that one; the history names who changed which field from
// what to what.
#[actix_rt::test]
async fn retire_revert_and_history() {
    let app = app!();
    let (_, made) = call!(app, ADMIN, put, "/products/LAMP", lamp());
    let first = made["changed_at"].as_str().expect("when it was made").to_owned();
    std::thread::sleep(std::time::Duration::from_millis(5));
    call!(app, ADMIN, patch, "/products/LAMP", json!({"prices": {"EUR": "99.00"}}));
    let (status, _) = call!(app, ADMIN, post, "/warehouses/wh-1/receipts", json!({"sku": "LAMP", "quantity": 5}));
    assert!(status.is_success());
    let (status, cart) = call!(app, STOREFRONT, post, "/carts", json!({"lines": [{"sku": "LAMP", "qty": 2}]}));
    assert_eq!(status, StatusCode::CREATED, "{cart}");
    let line = format!("/carts/{}/lines/l1", cart["id"].as_str().expect("an id"));
    let (status, retired) = call!(app, ADMIN, delete, "/products/LAMP");
    assert_eq!(
        (status, retired["retired"].as_bool(), retired["version"].as_u64()),
        (StatusCode::OK, Some(true), Some(3))
    );
    let (status, _) = call!(app, STOREFRONT, get, "/products/LAMP");
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = call!(app, STOREFRONT, get, "/products");
    assert!(!page.to_string().contains("LAMP"), "a storefront lists what is sold: {page}");
    let (_, page) = call!(app, ADMIN, get, "/products");
    assert!(page["products"].as_array().expect("products").iter().any(|p| p["sku"] == "LAMP" && p["retired"] == true));
    let (status, refused) = call!(app, STOREFRONT, post, "/carts", json!({"lines": [{"sku": "LAMP", "qty": 1}]}));
    assert_eq!((status, refused["code"].as_str()), (StatusCode::CONFLICT, Some("product_retired")), "{refused}");
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("LAMP")));
    // An open cart's line of it takes no more units, and may give some back.
    let (status, refused) = call!(app, STOREFRONT, patch, &line, json!({"qty": 3}));
    assert_eq!((status, refused["code"].as_str()), (StatusCode::CONFLICT, Some("product_retired")), "{refused}");
    let (status, fewer) = call!(app, STOREFRONT, patch, &line, json!({"qty": 1}));
    assert_eq!((status, fewer["cart"]["lines"][0]["quantity"].as_u64()), (StatusCode::OK, Some(1)), "{fewer}");

    let (status, reverted) = call!(app, ADMIN, post, "/products/LAMP/revert", json!({"version": 1.0}));
    assert_eq!(status, StatusCode::OK, "{reverted}");
    assert_eq!((reverted["version"].as_u64(), reverted["retired"].as_bool()), (Some(4), Some(false)));
    assert_eq!(reverted["prices"]["EUR"], "89.00");
    let (status, as_then) = call!(app, ADMIN, get, &format!("/products/LAMP?at={first}"));
    assert_eq!((status, as_then["version"].as_u64()), (StatusCode::OK, Some(1)), "{as_then}");
    let (_, v2) = call!(app, ADMIN, get, "/products/LAMP?version=2");
    assert_eq!(v2["prices"]["EUR"], "99.00");
    let (status, refused) = call!(app, ADMIN, post, "/products/LAMP/revert", json!({"version": 9}));
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_version")));
    let (status, refused) = call!(app, ADMIN, post, "/products/LAMP/revert", json!({"at": "2001-01-01T00:00:00Z"}));
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("no_version_at")));

    let (status, history) = call!(app, ADMIN, get, "/products/LAMP/history");
    assert_eq!(status, StatusCode::OK, "{history}");
    let versions = history["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 4);
    assert!(versions.iter().all(|v| v["by"] == "back office"));
    let change = |v: usize, field: &str| {
        versions[v]["changes"].as_array().expect("changes").iter().find(|c| c["field"] == field).cloned()
    };
    assert_eq!(change(1, "prices"), Some(json!({"field": "prices", "old": {"EUR": "89.00"}, "new": {"EUR": "99.00"}})));
    assert_eq!(versions[1]["changes"].as_array().map(Vec::len), Some(1), "only the price changed: {history}");
    assert_eq!(change(2, "retired"), Some(json!({"field": "retired", "old": false, "new": true})));
    assert!(change(3, "prices").is_some() && change(3, "retired").is_some());
    assert!(change(0, "names").is_some(), "a first version states what it set");
}

// Proves each merchant reaches only its own products: another's answers exactly as a
// missing one, for reads, changes, history and revert; a merchant's new product is its
// own, and one naming another merchant is refused.
#[actix_rt::test]
async fn a_merchant_changes_only_its_own_products() {
    let app = app!();
    let (status, made) = call!(app, LOOM, put, "/products/RUG", lamp());
    assert_eq!((status, made["merchant"].as_str()), (StatusCode::CREATED, Some("loom")), "{made}");
    let (status, _) = call!(app, LOOM, patch, "/products/SCARF", json!({"prices": {"EUR": "50.00"}}));
    assert_eq!(status, StatusCode::OK);
    for (method, path) in
        [("get", "/products/SCARF"), ("get", "/products/SCARF/history"), ("delete", "/products/SCARF")]
    {
        let (status, refused) = match method {
            "get" => call!(app, KILN, get, path),
            _ => call!(app, KILN, delete, path),
        };
        assert_eq!((status, refused["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_sku")), "{method} {path}");
    }
    let (status, _) = call!(app, KILN, put, "/products/SCARF", lamp());
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call!(app, KILN, post, "/products/SCARF/revert", json!({"version": 1}));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call!(app, KILN, patch, "/products/P-1", json!({"prices": {"EUR": "1.00"}}));
    assert_eq!(status, StatusCode::NOT_FOUND, "the commerce's own products are not a merchant's");
    let mut theirs = lamp();
    theirs["merchant"] = json!("loom");
    let (status, refused) = call!(app, KILN, put, "/products/VASE", theirs);
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_merchant")));
    let (status, _) = call!(app, STOREFRONT, put, "/products/VASE", lamp());
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, scarf) = call!(app, ADMIN, get, "/products/SCARF");
    assert_eq!((scarf["version"].as_u64(), scarf["prices"]["EUR"].as_str()), (Some(2), Some("50.00")));
}

/// Posts an import's file and waits for its job to end: the job as it ended.
macro_rules! import {
    ($app:expr, $key:expr, $content_type:expr, $body:expr) => {{
        let request = TestRequest::post()
            .uri("/v1/commerces/atelier/imports")
            .insert_header(("Authorization", format!("Bearer {}", $key)))
            .insert_header(("Content-Type", $content_type))
            .set_payload($body);
        let response = test::call_service(&$app, request.to_request()).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let job: Value = test::read_body_json(response).await;
        let path = format!("/imports/{}", job["id"].as_str().expect("an id"));
        let mut waited = 0;
        loop {
            let (status, job) = call!($app, $key, get, &path);
            assert_eq!(status, StatusCode::OK, "{job}");
            if job["status"] == "done" || waited > 200 {
                break job;
            }
            waited += 1;
            actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }};
}

// Proves an import applies exactly its good rows and reports every bad one by row with
// every problem, in NDJSON and in CSV; a row that changes nothing is counted unchanged;
// a merchant's import makes its own products and refuses another's.
#[actix_rt::test]
async fn an_import_applies_exactly_its_good_rows() {
    let app = app!();
    let good = |sku: &str, price: &str| {
        json!({"sku": sku, "names": {"en": format!("Item {sku}")}, "tax_class": "standard",
               "weight_grams": 100.0, "shipping_class": "parcel", "prices": {"EUR": price}})
        .to_string()
    };
    let file = [
        good("N-1", "1.00"),
        "{\"sku\": \"N-2\", \"tax_class\": \"luxury\", \"shipping_class\": \"parcel\"}".into(),
        String::new(),
        good("N-3", "3.00"),
        "not json".into(),
        good("P-1", "10.00"),
        json!({"names": {"en": "No sku"}}).to_string(),
    ]
    .join("\n");
    let job = import!(app, ADMIN, "application/x-ndjson", file.clone());
    assert_eq!(
        (job["applied"].as_u64(), job["refused"].as_u64(), job["rows_read"].as_u64()),
        (Some(3), Some(3), Some(7)),
        "{job}"
    );
    let refusals = job["refusals"].as_array().expect("refusals");
    assert_eq!(refusals.iter().map(|r| r["row"].as_u64().unwrap_or(0)).collect::<Vec<_>>(), vec![2, 5, 7]);
    let problems = refusals[0]["problems"].to_string();
    assert!(
        problems.contains("luxury") && problems.contains("weight_grams") && problems.contains("default language"),
        "{problems}"
    );
    assert_eq!(refusals[0]["sku"], "N-2");
    let (_, n3) = call!(app, ADMIN, get, "/products/N-3");
    assert_eq!((n3["version"].as_u64(), n3["changed_by"].as_str()), (Some(1), Some("back office")));
    let (status, _) = call!(app, ADMIN, get, "/products/N-2");
    assert_eq!(status, StatusCode::NOT_FOUND, "a refused row makes nothing");
    let (_, p1) = call!(app, ADMIN, get, "/products/P-1");
    assert_eq!(p1["version"], 2, "a row replaces the product it names");
    let again = import!(app, ADMIN, "application/x-ndjson", file);
    assert_eq!((again["applied"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(3)), "{again}");

    let csv = "sku,name.en,name.de,tax_class,shipping_class,weight,price.EUR,attribute.colour,related\n\
               C-1,Cup,Tasse,reduced,parcel,0.3 kg,4.50,white,N-1|N-3\n\
               C-2,Bowl,,standard,parcel,12 stone,5.00,,\n\
               C-3,Plate,,luxury,parcel,200 g,abc,,\n";
    let job = import!(app, KILN, "text/csv", csv);
    assert_eq!((job["applied"].as_u64(), job["refused"].as_u64()), (Some(1), Some(2)), "{job}");
    let rows: Vec<u64> =
        job["refusals"].as_array().expect("refusals").iter().map(|r| r["row"].as_u64().unwrap_or(0)).collect();
    assert_eq!(rows, vec![3, 4], "a CSV row is its line: {job}");
    assert!(job["refusals"].to_string().contains("stone") && job["refusals"].to_string().contains("abc"), "{job}");
    assert!(
        job["refusals"][1].to_string().contains("luxury"),
        "a price that does not read hides no other violation: {job}"
    );
    let (_, cup) = call!(app, ADMIN, get, "/products/C-1");
    assert_eq!((cup["merchant"].as_str(), cup["weight_grams"].as_u64()), (Some("kiln"), Some(300)), "{cup}");
    assert_eq!(cup["attributes"], json!({"colour": "white"}));
    let theirs =
        "sku,name.en,tax_class,shipping_class,weight_grams,price.EUR\nSCARF,Mine now,standard,parcel,10,1.00\n";
    let job = import!(app, KILN, "text/csv", theirs);
    assert_eq!((job["applied"].as_u64(), job["refused"].as_u64()), (Some(0), Some(1)), "{job}");
    let (_, scarf) = call!(app, ADMIN, get, "/products/SCARF");
    assert_eq!(scarf["merchant"], "loom", "a merchant's import leaves another's product alone");
    let request = TestRequest::post()
        .uri("/v1/commerces/atelier/imports")
        .insert_header(("Authorization", format!("Bearer {ADMIN}")))
        .insert_header(("Content-Type", "text/csv"))
        .set_payload("sku,colour\nX,red\n");
    let response = test::call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "an unknown column is refused at once");
}

// Proves no product takes a SKU its path could not name (the translations report's
// segment, a dot segment), by import as by the rules, and that a storefront's product
// lists as related only products sold now (a retired one left out), where the back
// office sees the list as it was given.
#[actix_rt::test]
async fn reserved_skus_are_refused_and_a_storefront_sees_only_sold_related_products() {
    let app = app!();
    let row = |sku: &str| {
        json!({"sku": sku, "names": {"en": "Item"}, "tax_class": "standard", "weight_grams": 1,
               "shipping_class": "parcel", "prices": {"EUR": "1.00"}})
        .to_string()
    };
    let file = [row("translations"), row(".."), row("R-1")].join("\n");
    let job = import!(app, ADMIN, "application/x-ndjson", file);
    assert_eq!((job["applied"].as_u64(), job["refused"].as_u64()), (Some(1), Some(2)), "{job}");
    assert!(job["refusals"].to_string().contains("reserved"), "{job}");

    let (status, _) = call!(app, ADMIN, patch, "/products/P-1", json!({"related": ["R-1", "SCARF"]}));
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call!(app, ADMIN, delete, "/products/R-1");
    assert_eq!(status, StatusCode::OK);
    let (_, seen) = call!(app, STOREFRONT, get, "/products/P-1");
    assert_eq!(seen["related"], json!(["SCARF"]), "{seen}");
    let (_, whole) = call!(app, ADMIN, get, "/products/P-1");
    assert_eq!(whole["related"], json!(["R-1", "SCARF"]), "{whole}");
    let (status, problem) = call!(app, ADMIN, delete, "/products/NOPE");
    assert_eq!((status, &problem["code"]), (StatusCode::NOT_FOUND, &json!("unknown_sku")), "as GET and PATCH answer");
}

// Proves an import row over the 64 KiB a product may take is refused on its own (the rows
// around it applied; such a row once made its batch's record too large to keep, stopping
// the job for good), a byte order mark may open an NDJSON file, and a compressed upload
// is refused naming its encoding rather than read as text.
#[actix_rt::test]
async fn an_oversized_row_is_refused_alone_and_an_encoded_upload_is_refused() {
    let app = app!();
    let row = |sku: &str, name: &str| {
        json!({"sku": sku, "names": {"en": name}, "tax_class": "standard", "weight_grams": 1,
               "shipping_class": "parcel", "prices": {"EUR": "1.00"}})
        .to_string()
    };
    let file = format!("\u{feff}{}\n{}\n{}\n", row("B-1", "One"), row("B-2", &"x".repeat(70_000)), row("B-3", "Three"));
    let job = import!(app, ADMIN, "application/x-ndjson", file);
    assert_eq!((job["applied"].as_u64(), job["refused"].as_u64()), (Some(2), Some(1)), "{job}");
    assert_eq!(job["refusals"][0]["row"], 2, "{job}");
    assert!(job["refusals"][0]["problems"].to_string().contains("65536"), "{job}");
    let csv = format!("sku,name.en,tax_class,shipping_class,weight_grams,price.EUR\nC-9,{},standard,parcel,1,1.00\nC-10,Ten,standard,parcel,1,1.00\n", "y".repeat(70_000));
    let job = import!(app, ADMIN, "text/csv", csv);
    assert_eq!((job["applied"].as_u64(), job["refused"].as_u64()), (Some(1), Some(1)), "{job}");

    // Every refusal can be read, a page of 1,000 at a time.
    let job = import!(app, ADMIN, "application/x-ndjson", "{}\n".repeat(1_005));
    let rows = |job: &Value| job["refusals"].as_array().map(Vec::len);
    assert_eq!((job["refused"].as_u64(), rows(&job)), (Some(1_005), Some(1_000)), "{}", job["refused"]);
    assert_eq!(job["next_refusals_after"], 1_000);
    let (_, rest) =
        call!(app, ADMIN, get, &format!("/imports/{}?refusals_after=1000", job["id"].as_str().unwrap_or("")));
    assert_eq!((rows(&rest), &rest["next_refusals_after"]), (Some(5), &Value::Null), "{}", rest["refusals"]);
    assert_eq!(rest["refusals"][0]["row"], 1_001);

    let request = TestRequest::post()
        .uri("/v1/commerces/atelier/imports")
        .insert_header(("Authorization", format!("Bearer {ADMIN}")))
        .insert_header(("Content-Type", "text/csv"))
        .insert_header(("Content-Encoding", "gzip"))
        .set_payload(vec![0x1f, 0x8b, 0x08, 0x00]);
    let response = test::call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let problem: Value = test::read_body_json(response).await;
    assert_eq!(problem["code"], "unsupported_encoding", "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("gzip")), "{problem}");
}
