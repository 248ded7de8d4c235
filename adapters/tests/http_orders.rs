//! The back office's orders: a phone order (a cart made with the admin key for a customer,
//! paid offline and confirmed by the administrator), and the order list, newest first,
//! filtered by status, channel, merchant, days and e-mail, in cursor pages.

mod support;

use actix_web::http::StatusCode;
use serde_json::{json, Value};
use support::api::{today, Api, ADMIN, STOREFRONT};

fn address(email: &str) -> Value {
    json!({"name": "Ana García", "line": "Gran Vía 1", "city": "Madrid", "postal_code": "28013", "country": "ES",
           "email": email})
}

/// Places a purchase in one request and answers the order's id.
async fn buy<S, B>(api: &Api<S>, key: &str, sku: &str, email: &str, payment: Value) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let purchase = json!({
        "cart": {"country": "ES", "lines": [{"sku": sku, "qty": 1}], "address": address(email),
                 "delivery": {"method": "home"}},
        "checkout": payment
    });
    let (status, order) = api.post(key, "/orders", purchase).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    order["id"].as_str().expect("an order id").to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["orders"].as_array().expect("orders").iter().filter_map(|o| o["id"].as_str().map(str::to_owned)).collect()
}

// Proves the back office can take an order by phone and list orders: newest first, each
// filter keeping exactly the orders it names, pages that chain through every order once,
// and refusals for a bad cursor, a bad day, an unknown channel or merchant, and any key
// but the administrator's (checked before the query is read).
#[actix_rt::test]
async fn the_back_office_takes_and_lists_orders() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    api.receive("wh-dropship", "CERAMIC-MUG", 10).await;
    let card = json!({"payment_system": "card", "payment_token": "tok_visa"});
    let transfer = json!({"payment_system": "bank-transfer"});
    let first = buy(&api, STOREFRONT, "MOUSE", "ana@example.com", card.clone()).await;
    let phone = buy(&api, ADMIN, "MOUSE", "Luis@Example.com", transfer.clone()).await;
    let mug = buy(&api, STOREFRONT, "CERAMIC-MUG", "eva@example.com", card).await;
    let (status, order) = api.get(ADMIN, &format!("/orders/{phone}")).await;
    assert_eq!((status, &order["status"]), (StatusCode::OK, &json!("pending_payment")), "{order}");

    // Newest first: by placement time, then by id (orders of one millisecond).
    let mut placed = Vec::new();
    for id in [&first, &phone, &mug] {
        let (_, order) = api.get(ADMIN, &format!("/orders/{id}")).await;
        placed.push((order["placed_at"].as_str().expect("placed_at").to_owned(), id.clone()));
    }
    placed.sort();
    placed.reverse();
    let newest_first: Vec<String> = placed.into_iter().map(|(_, id)| id).collect();
    let only = |members: &[&String]| -> Vec<String> {
        newest_first.iter().filter(|id| members.contains(id)).cloned().collect()
    };
    let (status, page) = api.get(ADMIN, "/orders").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), newest_first, "newest first");
    assert_eq!(page["next_after"], Value::Null);
    let shown = page["orders"].as_array().expect("orders").iter().find(|o| o["id"] == phone.as_str()).expect("listed");
    assert_eq!((&shown["status"], &shown["units"]), (&json!("pending_payment"), &json!(1)), "{shown}");

    let day = today().to_string();
    let tomorrow = today().succ_opt().expect("a day").to_string();
    let yesterday = today().pred_opt().expect("a day").to_string();
    for (query, expected) in [
        ("status=pending_payment", only(&[&phone])),
        ("status=paid", only(&[&mug, &first])),
        ("status=shipped", vec![]),
        ("email=luis@example.COM", only(&[&phone])),
        ("merchant=artisan-co", only(&[&mug])),
        ("channel=web", newest_first.clone()),
        ("channel=mobile", vec![]),
        (&format!("from={day}&to={day}") as &str, newest_first.clone()),
        (&format!("from={tomorrow}"), vec![]),
        (&format!("to={yesterday}"), vec![]),
        ("status=paid&email=ana@example.com", only(&[&first])),
    ] {
        let (status, page) = api.get(ADMIN, &format!("/orders?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(ids(&page), expected, "{query}");
    }

    // Pages of one chain through every order once.
    let mut seen = Vec::new();
    let mut path = "/orders?limit=1".to_owned();
    loop {
        let (status, page) = api.get(ADMIN, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids(&page));
        match page["next_after"].as_str() {
            Some(after) => path = format!("/orders?limit=1&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);
    // A cursor with a day bound continues within the day.
    let (_, page) = api.get(ADMIN, &format!("/orders?to={day}&after={}", newest_first[0])).await;
    assert_eq!(ids(&page), newest_first[1..].to_vec());

    // The phone order is paid once the administrator confirms the transfer.
    let confirmation = json!({"reference": "TRANSFER-2211"});
    let (status, order) = api.post(ADMIN, &format!("/orders/{phone}/payments"), confirmation).await;
    assert_eq!((status, &order["status"]), (StatusCode::OK, &json!("paid")), "{order}");
    let (_, page) = api.get(ADMIN, "/orders?status=pending_payment").await;
    assert_eq!(ids(&page), Vec::<String>::new());

    for (key, query, status, code) in [
        (ADMIN, "after=nope", StatusCode::UNPROCESSABLE_ENTITY, "invalid_cursor"),
        (ADMIN, "from=2026-02-30", StatusCode::UNPROCESSABLE_ENTITY, "invalid_date"),
        (ADMIN, "channel=nope", StatusCode::UNPROCESSABLE_ENTITY, "unknown_channel"),
        (ADMIN, "merchant=nope", StatusCode::UNPROCESSABLE_ENTITY, "unknown_merchant"),
        (ADMIN, "limit=0", StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit"),
        (ADMIN, "status=lost", StatusCode::BAD_REQUEST, "invalid_query"),
        (STOREFRONT, "status=lost", StatusCode::FORBIDDEN, "forbidden"),
        (support::api::MERCHANT, "", StatusCode::FORBIDDEN, "forbidden"),
    ] {
        let (got, problem) = api.get(key, &format!("/orders?{query}")).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{query}: {problem}");
    }
}

// Proves a filter that keeps few orders answers within its budget (100 orders looked at
// per order a page may show): a short page, even an empty one, with where to go on, and
// the next page finds the order further back.
#[actix_rt::test]
async fn a_sparse_filter_pages_within_its_budget() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 200).await;
    let transfer = json!({"payment_system": "bank-transfer"});
    let wanted = buy(&api, STOREFRONT, "MOUSE", "rare@example.com", transfer.clone()).await;
    for _ in 0..101 {
        buy(&api, STOREFRONT, "MOUSE", "common@example.com", transfer.clone()).await;
    }
    let (status, first) = api.get(ADMIN, "/orders?email=rare@example.com&limit=1").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(ids(&first), Vec::<String>::new(), "100 orders looked at, none kept");
    let after = first["next_after"].as_str().expect("where to go on").to_owned();
    let (_, second) = api.get(ADMIN, &format!("/orders?email=rare@example.com&limit=1&after={after}")).await;
    assert_eq!(ids(&second), [wanted]);
    assert_eq!(second["next_after"], Value::Null, "{second}");
}
