//! The inventory routes in process: back-office changes, stock and availability reads,
//! listings, and every way a bad request is refused without changing anything.

mod support;

use actix_web::http::StatusCode;
use serde_json::{json, Value};
use support::api::{in_days, today, ADMIN, MERCHANT, STOREFRONT};

// Proves the back-office flow end to end: receive, announce, change and adjust, each answer
// carrying its events and the stock after it, and availability reflecting all of it.
#[actix_rt::test]
async fn back_office_changes_and_availability() {
    let api = api!();
    let (status, body) =
        api.post(ADMIN, "/warehouses/wh-madrid/receipts", json!({"sku": "KEYBOARD", "quantity": 5})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["events"], json!([{"type": "stock_received", "sku": "KEYBOARD", "quantity": 5}]));
    assert_eq!(body["stock"]["on_hand"], 5);
    assert_eq!(body["stock"]["available"], 5);

    let batch = json!({"sku": "HEADPHONES", "batch": "po-1", "quantity": 10, "expected_date": in_days(10)});
    let (status, body) = api.post(ADMIN, "/warehouses/wh-madrid/batches", batch).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["stock"]["batches"][0]["free"], 10);
    let change = json!({"sku": "HEADPHONES", "quantity": 12, "expected_date": in_days(12)});
    let (status, body) = api.patch(ADMIN, "/warehouses/wh-madrid/batches/po-1", change).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stock"]["batches"][0]["quantity"], 12);
    assert_eq!(body["stock"]["batches"][0]["expected_date"], in_days(12));

    let adjust = json!({"sku": "KEYBOARD", "delta": -2, "reason": "damage"});
    let (status, body) = api.post(ADMIN, "/warehouses/wh-madrid/adjustments", adjust).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["events"][0],
        json!({"type": "stock_adjusted", "sku": "KEYBOARD", "delta": -2, "reason": "damage"})
    );
    let stock = api.stock("wh-madrid", "KEYBOARD").await;
    assert_eq!((stock["on_hand"].clone(), stock["policy"]["kind"].clone()), (json!(3), json!("stock_only")));

    let (status, body) = api.get(STOREFRONT, "/products/KEYBOARD/availability?country=ES&qty=3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["available_now"], 3);
    assert_eq!(body["earliest_date"], today().to_string());
    assert_eq!(body["channel"], "web");
    let warehouses: Vec<&str> =
        body["warehouses"].as_array().expect("a list").iter().map(|w| w["warehouse"].as_str().unwrap_or("")).collect();
    // lc-france delivers to France only, so wh-lyon does not serve Spain.
    assert_eq!(warehouses, ["wh-madrid", "wh-dropship"]);
    let (_, body) = api.get(STOREFRONT, "/products/KEYBOARD/availability?country=ES&qty=4").await;
    assert_eq!(body["earliest_date"], Value::Null);

    let (_, body) = api.get(STOREFRONT, "/products/HEADPHONES/availability?country=es&qty=12").await;
    assert_eq!(body["country"], "ES");
    assert_eq!(body["available_now"], 0);
    assert_eq!(body["earliest_date"], in_days(12));
    assert_eq!(body["by_date"], json!([{"date": today().to_string(), "units": 0}, {"date": in_days(12), "units": 12}]));
    assert_eq!(
        body["warehouses"][0]["later"],
        json!([{"source": "batch", "batch": "po-1", "date": in_days(12), "quantity": 12}])
    );
    let (_, body) = api.get(STOREFRONT, "/products/HEADPHONES/availability?country=ES&qty=13").await;
    assert_eq!(body["earliest_date"], Value::Null);

    // Uncapped lead time: unlimited, ready today plus its days.
    let (_, body) = api.get(STOREFRONT, "/products/SOFA-3/availability?country=ES&qty=1000").await;
    assert_eq!(body["earliest_date"], in_days(21));
    assert_eq!(body["warehouses"][0]["total"], Value::Null);

    // The batch arrives short: the receipt names the batch and closes it.
    let (status, body) = api
        .post(ADMIN, "/warehouses/wh-madrid/receipts", json!({"sku": "HEADPHONES", "quantity": 11, "batch": "po-1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let types: Vec<&str> =
        body["events"].as_array().expect("a list").iter().map(|e| e["type"].as_str().unwrap_or("")).collect();
    assert_eq!(types, ["batch_arrived", "batch_closed"]);
    assert_eq!((body["stock"]["on_hand"].clone(), body["stock"]["batches"].clone()), (json!(11), json!([])));
}

// Proves bad quantities, unknown SKUs, batches and warehouses, past or malformed dates,
// unknown fields and over-large corrections get clear 4xx answers and change nothing.
#[actix_rt::test]
async fn bad_back_office_requests_change_nothing() {
    let api = api!();
    api.post(ADMIN, "/warehouses/wh-madrid/receipts", json!({"sku": "KEYBOARD", "quantity": 5})).await;
    let yesterday = today().pred_opt().expect("a date").to_string();
    let cases = [
        (
            "/warehouses/wh-madrid/receipts",
            json!({"sku": "KEYBOARD", "quantity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
            "quantity 0",
        ),
        (
            "/warehouses/wh-madrid/receipts",
            json!({"sku": "KEYBOARD", "quantity": -3}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
            "quantity -3",
        ),
        (
            "/warehouses/wh-madrid/receipts",
            json!({"sku": "KEYBOARD", "quantity": 5_000_000_000_i64}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
            "5000000000",
        ),
        (
            "/warehouses/wh-madrid/receipts",
            json!({"sku": "NOPE", "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_sku",
            "\"NOPE\"",
        ),
        (
            "/warehouses/wh-madrid/receipts",
            json!({"sku": "KEYBOARD", "quantity": 1, "batch": "po-9"}),
            StatusCode::NOT_FOUND,
            "unknown_batch",
            "\"po-9\"",
        ),
        (
            "/warehouses/wh-nowhere/receipts",
            json!({"sku": "KEYBOARD", "quantity": 1}),
            StatusCode::NOT_FOUND,
            "warehouse_not_found",
            "\"wh-nowhere\"",
        ),
        (
            "/warehouses/wh-madrid/receipts",
            json!({"sku": "KEYBOARD", "quantity": 1, "colour": "red"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "colour",
        ),
        (
            "/warehouses/wh-madrid/batches",
            json!({"sku": "KEYBOARD", "batch": "b", "quantity": 1, "expected_date": yesterday}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "date_in_past",
            &yesterday,
        ),
        (
            "/warehouses/wh-madrid/batches",
            json!({"sku": "KEYBOARD", "batch": "b", "quantity": 1, "expected_date": "next week"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_date",
            "\"next week\"",
        ),
        (
            "/warehouses/wh-madrid/adjustments",
            json!({"sku": "KEYBOARD", "delta": -6, "reason": "loss"}),
            StatusCode::CONFLICT,
            "adjustment_below_committed",
            "-6",
        ),
        (
            "/warehouses/wh-madrid/adjustments",
            json!({"sku": "KEYBOARD", "delta": 0, "reason": "loss"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
            "quantity 0",
        ),
        (
            "/warehouses/wh-madrid/adjustments",
            json!({"sku": "KEYBOARD", "delta": 1, "reason": "theft"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "theft",
        ),
        // Ids a client chooses: 1 to 64 visible characters, no path separator.
        (
            "/warehouses/wh-madrid/batches",
            json!({"sku": "KEYBOARD", "batch": "", "quantity": 1, "expected_date": in_days(1)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
            "batch \"\"",
        ),
        (
            "/warehouses/wh-madrid/batches",
            json!({"sku": "KEYBOARD", "batch": "po/1", "quantity": 1, "expected_date": in_days(1)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
            "po/1",
        ),
        (
            "/warehouses/wh-madrid/batches",
            json!({"sku": "KEYBOARD", "batch": "po\u{7}1", "quantity": 1, "expected_date": in_days(1)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
            "po\\u{7}1",
        ),
        (
            "/warehouses/wh-madrid/batches",
            json!({"sku": "KEYBOARD", "batch": "x".repeat(60_000), "quantity": 1, "expected_date": in_days(1)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
            "…",
        ),
        // A body must be an object: serde would read an array into the struct field by
        // field, a receipt of two keyboards.
        (
            "/warehouses/wh-madrid/receipts",
            json!(["KEYBOARD", 2, null]),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "expected a JSON object",
        ),
        (
            "/warehouses/wh-madrid/adjustments",
            json!("KEYBOARD"),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "a JSON object",
        ),
    ];
    for (path, body, status, code, named) in cases {
        let (got, problem) = api.post(ADMIN, path, body.clone()).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{path} {body}: {problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(named), "{path} {body}: the detail {detail:?} names {named:?}");
    }
    // Nor within a body: a cart's line given as an array is refused, not read as a line
    // of two keyboards.
    let (got, problem) = api.post(STOREFRONT, "/carts", json!({"lines": [["KEYBOARD", 2]]})).await;
    assert_eq!((got, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")), "{problem}");
    let (status, problem) = api
        .patch(
            ADMIN,
            "/warehouses/wh-madrid/batches/po-9",
            json!({"sku": "KEYBOARD", "quantity": 1, "expected_date": in_days(1)}),
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_batch")));
    let stock = api.stock("wh-madrid", "KEYBOARD").await;
    assert_eq!((stock["on_hand"].clone(), stock["batches"].clone()), (json!(5), json!([])));
    let (status, problem) = api.get(ADMIN, "/warehouses/wh-madrid/stock/NOPE").await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_sku")));

    let availability = [
        ("/products/KEYBOARD/availability", StatusCode::UNPROCESSABLE_ENTITY, "country_required"),
        ("/products/KEYBOARD/availability?country=Spain", StatusCode::UNPROCESSABLE_ENTITY, "invalid_country"),
        ("/products/KEYBOARD/availability?country=ES&channel=tv", StatusCode::UNPROCESSABLE_ENTITY, "unknown_channel"),
        ("/products/KEYBOARD/availability?country=ES&qty=0", StatusCode::UNPROCESSABLE_ENTITY, "invalid_quantity"),
        // A parameter that does not read as its type: problem details naming it.
        ("/products/KEYBOARD/availability?country=ES&qty=two", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/products/NOPE/availability?country=ES", StatusCode::NOT_FOUND, "unknown_sku"),
        ("/products?limit=0", StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit"),
        ("/products?language=de", StatusCode::UNPROCESSABLE_ENTITY, "unknown_language"),
    ];
    for (path, status, code) in availability {
        let (got, problem) = api.get(STOREFRONT, path).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{path}: {problem}");
    }
    let (_, problem) = api.get(STOREFRONT, "/products/KEYBOARD/availability?country=ES&qty=two").await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("\"qty\""), "the refusal names the parameter: {detail}");
}

// Proves the roles: writes need admin (or a merchant on its own warehouse and products),
// storefront keys read products and availability only, and a merchant sees only its own.
#[actix_rt::test]
async fn roles_and_listings() {
    let api = api!();
    let receipt = |sku: &str| json!({"sku": sku, "quantity": 2});
    let (status, _) = api.post(STOREFRONT, "/warehouses/wh-madrid/receipts", receipt("KEYBOARD")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api.post(MERCHANT, "/warehouses/wh-madrid/receipts", receipt("CERAMIC-MUG")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("warehouse_not_found")));
    let (status, body) = api.post(MERCHANT, "/warehouses/wh-dropship/receipts", receipt("KEYBOARD")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_sku")));
    let (status, body) = api.post(MERCHANT, "/warehouses/wh-dropship/receipts", receipt("CERAMIC-MUG")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["stock"]["on_hand"], 2);
    let (status, _) = api.get(MERCHANT, "/warehouses/wh-madrid/stock/KEYBOARD").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = api.get(ADMIN, "/warehouses").await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<&str> =
        body["warehouses"].as_array().expect("a list").iter().map(|w| w["code"].as_str().unwrap_or("")).collect();
    assert_eq!(codes, ["wh-madrid", "wh-dropship", "wh-lyon"]);
    let (_, body) = api.get(MERCHANT, "/warehouses").await;
    assert_eq!(
        body["warehouses"],
        json!([{"code": "wh-dropship", "kind": "virtual", "logistic_center": "lc-iberia", "area": null, "merchant": "artisan-co"}])
    );
    let (status, _) = api.get(STOREFRONT, "/warehouses").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, page) = api.get(STOREFRONT, "/products?limit=20&language=es").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["products"].as_array().expect("a list").len(), 20);
    let last = page["next_after"].as_str().expect("more pages").to_owned();
    let mut seen = 20;
    let mut after = last;
    loop {
        let (_, page) = api.get(STOREFRONT, &format!("/products?limit=20&after={after}")).await;
        seen += page["products"].as_array().expect("a list").len();
        match page["next_after"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, 54, "every product once across pages");
    let (_, page) = api.get(MERCHANT, "/products").await;
    let skus: Vec<&str> =
        page["products"].as_array().expect("a list").iter().map(|p| p["sku"].as_str().unwrap_or("")).collect();
    assert_eq!(skus, ["CERAMIC-BOWL", "CERAMIC-MUG", "WOVEN-BASKET"]);
    let (_, page) = api.get(STOREFRONT, "/products?limit=500&after=BOOK-SIGNED").await;
    let book = &page["products"][0];
    assert_eq!(book["sku"], "BOOK-SRE");
    let (_, page) = api.get(STOREFRONT, "/products?limit=1&after=BOOK-RUST&language=fr").await;
    assert_eq!(
        page["products"][0]["stock_policy"],
        json!({"kind": "preorder", "cap": 50, "release_date": "2027-01-20"})
    );
}

// Proves a retried change with the same Idempotency-Key is made once and answered with the
// original status and body, byte for byte; the same key on another request answers 422 and
// changes nothing; a refused request leaves its key free; a malformed key answers 400.
#[actix_rt::test]
async fn idempotency_keys_replay_and_refuse() {
    let api = api!();
    let receipt = json!({"sku": "KEYBOARD", "quantity": 5});
    let first = api.post_keyed(ADMIN, "receipt-1", "/warehouses/wh-madrid/receipts", receipt.clone()).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", String::from_utf8_lossy(&first.1));
    let again = api.post_keyed(ADMIN, "receipt-1", "/warehouses/wh-madrid/receipts", receipt.clone()).await;
    assert_eq!(again, first, "the original answer, byte for byte");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["on_hand"], 5, "made once");

    let other = json!({"sku": "KEYBOARD", "quantity": 6});
    let (status, body) = api.post_keyed(ADMIN, "receipt-1", "/warehouses/wh-madrid/receipts", other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = serde_json::from_slice(&body).expect("problem json");
    assert_eq!(body["code"], "idempotency_key_reused");
    assert!(body["detail"].as_str().expect("detail").contains("receipt-1"), "{body}");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["on_hand"], 5);

    // A refusal remembers nothing: the same key runs again (and is refused again).
    let unknown = json!({"sku": "NO-SUCH-SKU", "quantity": 1});
    for _ in 0..2 {
        let (status, body) =
            api.post_keyed(ADMIN, "receipt-2", "/warehouses/wh-madrid/receipts", unknown.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&body));
    }
    let (status, _) = api.post_keyed(ADMIN, "receipt-2", "/warehouses/wh-madrid/receipts", receipt.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "a refused request leaves its key free");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["on_hand"], 10);

    let long = "k".repeat(256);
    let (status, body) = api.post_keyed(ADMIN, &long, "/warehouses/wh-madrid/receipts", receipt).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&body).expect("problem json");
    assert_eq!(body["code"], "invalid_idempotency_key");
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["on_hand"], 10);
}

// Proves a merchant key reads the stock of its own products only: another merchant's SKU,
// or the commerce's own, read through the merchant's own warehouse is 404 `unknown_sku`,
// exactly as a SKU that does not exist (it answered 200 with the other's stock).
#[actix_rt::test]
async fn a_merchant_reads_only_its_own_products_stock() {
    let api = api!();
    let (status, body) = api.get(MERCHANT, "/warehouses/wh-dropship/stock/CERAMIC-MUG").await;
    assert_eq!(status, StatusCode::OK, "its own product: {body}");
    for sku in ["SOAP-SET", "KEYBOARD", "NO-SUCH-SKU"] {
        let (status, body) = api.get(MERCHANT, &format!("/warehouses/wh-dropship/stock/{sku}")).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_sku")), "{sku}: {body}");
    }
    let (status, _) = api.get(ADMIN, "/warehouses/wh-dropship/stock/SOAP-SET").await;
    assert_eq!(status, StatusCode::OK, "the admin sees every product");
}

// Proves the role check comes before any value is looked at: a key whose role may not use
// a route is 403 whatever its body or query holds (a malformed body, a quantity of 0, a
// country that does not exist, a query that does not read), never 400 or 422, and nothing
// changes.
#[actix_rt::test]
async fn the_role_check_comes_before_the_values() {
    use actix_web::test::TestRequest;
    let api = api!();
    let bad_bodies = [json!(["KEYBOARD", 2, null]), json!({"sku": "KEYBOARD", "quantity": 0}), json!({"nope": 1})];
    for body in bad_bodies {
        let (status, answer) = api.post(STOREFRONT, "/warehouses/wh-madrid/receipts", body.clone()).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}: {answer}");
    }
    let batch = json!({"sku": "KEYBOARD", "batch": "po-1", "quantity": 0, "expected_date": "yesterday"});
    let (status, _) = api.post(STOREFRONT, "/warehouses/wh-madrid/batches", batch.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.patch(STOREFRONT, "/warehouses/wh-madrid/batches/po-1", batch).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let address = json!({"name": "A", "line": "B", "city": "C", "postal_code": "1", "country": "ZZZ"});
    let (status, _) = api.put(MERCHANT, "/carts/some-cart/address", address).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.post(MERCHANT, "/carts/some-cart/checkout", json!("not an object")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.post(MERCHANT, "/carts/some-cart/lines", json!({"sku": "KEYBOARD", "qty": -1})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let query = TestRequest::get().uri("/v1/commerces/demo/products/KEYBOARD/price?qty=two");
    let (status, _) = api.call(MERCHANT, query).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let query = TestRequest::get().uri("/v1/commerces/demo/products/KEYBOARD/availability?qty=two&country=ES");
    let (status, _) = api.call(MERCHANT, query).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The same requests from a key that may use the routes are refused on their values.
    let (status, answer) = api.post(ADMIN, "/warehouses/wh-madrid/receipts", json!(["KEYBOARD", 2, null])).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")));
    let query = TestRequest::get().uri("/v1/commerces/demo/products/KEYBOARD/price?qty=two");
    let (status, answer) = api.call(STOREFRONT, query).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
    assert_eq!(api.stock("wh-madrid", "KEYBOARD").await["on_hand"], 0, "nothing was received");
}

// Proves a SKU the commerce does not sell is 404 `unknown_sku` on every route whose path
// names it (its price was 422), before its query is looked at.
#[actix_rt::test]
async fn an_unknown_sku_in_the_path_is_404_everywhere() {
    let api = api!();
    for (key, path) in [
        (STOREFRONT, "/products/NO-SUCH-SKU/price"),
        (STOREFRONT, "/products/NO-SUCH-SKU/price?qty=two"),
        (STOREFRONT, "/products/NO-SUCH-SKU/availability?country=ES"),
        (ADMIN, "/warehouses/wh-madrid/stock/NO-SUCH-SKU"),
    ] {
        let (status, body) = api.get(key, path).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_sku")), "{path}: {body}");
    }
}
