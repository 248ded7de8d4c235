//! Live reports through the binary: sales, refunds and the to-do queues follow an order's
//! life (placed, shipped, delivered, returned; another cancelled), agree with a recount
//! from the orders themselves, show a merchant only its rows, come as CSV, and are the same
//! after SIGKILL and after the event store is derived again from the log.

mod support;

use serde_json::{json, Value};
use support::{free_port, http, serve, temp_dir, Served};

const ADMIN: &str = "demo-admin";
const BASE: &str = "/v1/commerces/demo";

fn start(address: std::net::SocketAddr, data: &std::path::Path) -> Served {
    serve(address, |command| {
        command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
        command.env_remove("MERCATO_CONFIG");
    })
}

fn call(address: std::net::SocketAddr, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let (status, text) = http(address, method, &format!("{BASE}{path}"), Some(key), &body.to_string()).expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn buy(address: std::net::SocketAddr, sku: &str, qty: u32) -> Value {
    let purchase = json!({
        "cart": {"country": "ES", "lines": [{"sku": sku, "qty": qty}],
                 "address": {"name": "Ana García", "line": "Gran Vía 1", "city": "Madrid",
                             "postal_code": "28013", "country": "ES", "latitude": 40.42, "longitude": -3.70},
                 "delivery": {"method": "home"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}});
    let (status, order) = call(address, "POST", "/orders", "demo-storefront", purchase);
    assert_eq!(status, 201, "{order}");
    order
}

/// The report's rows once the outbox has caught up with `ready`.
fn report(address: std::net::SocketAddr, path: &str, key: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, body) = call(address, "GET", path, key, json!({}));
        assert_eq!(status, 200, "{body}");
        if ready(&body) || std::time::Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn ids(queue: &Value) -> Vec<String> {
    queue["items"].as_array().expect("items").iter().map(|i| i["id"].as_str().expect("an id").to_owned()).collect()
}

fn sum(rows: &Value, field: &str) -> rust_decimal::Decimal {
    rows["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[field].as_str().expect("an amount").parse::<rust_decimal::Decimal>().expect("a decimal"))
        .sum()
}

// Proves the reports and queues move with each change and agree with the orders.
#[test]
fn reports_follow_orders_and_survive_a_crash() {
    let dir = temp_dir("reports");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &data);
    let mouse = buy(address, "MOUSE", 3);
    let mug = buy(address, "CERAMIC-MUG", 1);
    let (id, mug_id) = (mouse["id"].as_str().expect("id").to_owned(), mug["id"].as_str().expect("id").to_owned());

    let to_ship = report(address, "/reports/todo/orders_to_ship", ADMIN, |q| q["total"] == 2);
    assert_eq!(ids(&to_ship).len(), 2, "{to_ship}");
    assert!(ids(&to_ship).contains(&id) && ids(&to_ship).contains(&mug_id));
    let (_, metrics) = http(address, "GET", "/metrics", None, "").expect("answer");
    assert!(
        metrics.contains("mercato_todo_items{commerce=\"demo\",queue=\"orders_to_ship\"} 2"),
        "the queue is a gauge"
    );

    // Ship and deliver the mouse order; cancel the mug order.
    let shipment = mouse["shipments"][0]["id"].as_str().expect("a shipment");
    let (status, _) =
        call(address, "POST", &format!("/orders/{id}/shipments/{shipment}/ship"), ADMIN, json!({"tracking": ["R1"]}));
    assert_eq!(status, 200);
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let now = chrono::DateTime::from_timestamp(i64::try_from(seconds).expect("small"), 0)
        .expect("a time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let delivered = json!({"id": "d1", "tracking": "R1", "code": "delivered", "at": now});
    assert_eq!(call(address, "POST", "/carriers/iberpost/events", ADMIN, delivered).0, 200);
    let (status, cancelled) = call(address, "POST", &format!("/orders/{mug_id}/cancellations"), ADMIN, json!({}));
    assert_eq!(status, 200, "{cancelled}");
    let to_ship = report(address, "/reports/todo/orders_to_ship", ADMIN, |q| q["total"] == 0);
    assert_eq!(ids(&to_ship), Vec::<String>::new(), "{to_ship}");
    let open = report(address, "/reports/todo/open_shipments", ADMIN, |q| q["total"] == 0);
    assert_eq!(open["total"], 0, "delivered and cancelled shipments are no longer open: {open}");

    // A return: asked, accepted (to receive), received (off the queue).
    let line = mouse["lines"][0]["id"].as_str().expect("a line");
    let ask = json!({"lines": [{"line": line, "quantity": 2, "reason": "too loud"}]});
    let (status, asked) = call(address, "POST", &format!("/orders/{id}/returns"), "demo-storefront", ask);
    assert_eq!(status, 201, "{asked}");
    let request = asked["returns"][0]["id"].as_str().expect("a return").to_owned();
    let accept = json!({"lines": [{"line": line, "accept": true}]});
    assert_eq!(call(address, "POST", &format!("/orders/{id}/returns/{request}/decisions"), ADMIN, accept).0, 200);
    let waiting = report(address, "/reports/todo/returns_to_receive", ADMIN, |q| q["total"] == 1);
    assert_eq!(waiting["items"][0]["units"], 2, "{waiting}");
    let receive =
        json!({"lines": [{"line": line, "quantity": 2, "condition": "resellable"}], "warehouse": "wh-madrid"});
    let (status, received) = call(address, "POST", &format!("/orders/{id}/returns/{request}/receipts"), ADMIN, receive);
    assert_eq!(status, 200, "{received}");
    report(address, "/reports/todo/returns_to_receive", ADMIN, |q| q["total"] == 0);

    // Sales agree with a recount of the orders: amounts, units, cancelled and returned.
    let sales = report(address, "/reports/sales", ADMIN, |r| {
        r["rows"].as_array().is_some_and(|rows| rows.iter().any(|x| x["returns"] == 1))
    });
    let rows = sales["rows"].as_array().expect("rows");
    let own = rows.iter().find(|r| r["merchant"].is_null()).expect("the commerce's own row");
    let artisan = rows.iter().find(|r| r["merchant"] == "artisan-co").expect("the merchant's row");
    assert_eq!(
        (&own["orders"], &own["units"], &own["returned_units"], &own["returns"]),
        (&json!(1), &json!(3), &json!(2), &json!(1)),
        "{own}"
    );
    assert_eq!(own["sales"], mouse["lines"][0]["amount"], "{own}");
    assert_eq!(
        (&artisan["orders"], &artisan["units"], &artisan["cancelled_units"]),
        (&json!(1), &json!(1), &json!(1)),
        "{artisan}"
    );
    assert_eq!(artisan["sales"], mug["lines"][0]["amount"]);
    let refunds = report(address, "/reports/refunds", ADMIN, |r| r["rows"][0]["refunds"] == 2);
    let (_, mouse_now) = call(address, "GET", &format!("/orders/{id}"), ADMIN, json!({}));
    let (_, mug_now) = call(address, "GET", &format!("/orders/{mug_id}"), ADMIN, json!({}));
    let refunded = |order: &Value| {
        order["money"]["refunded"].as_str().expect("refunded").parse::<rust_decimal::Decimal>().expect("a decimal")
    };
    assert_eq!(sum(&refunds, "refunded"), refunded(&mouse_now) + refunded(&mug_now), "{refunds}");

    // A merchant sees its own rows only; CSV has a header and a row per row.
    let theirs = report(address, "/reports/sales", "demo-merchant-artisan", |_| true);
    assert!(theirs["rows"].as_array().expect("rows").iter().all(|r| r["merchant"] == "artisan-co"), "{theirs}");
    let (status, refused) = call(address, "GET", "/reports/sales?merchant=other", "demo-merchant-artisan", json!({}));
    assert_eq!((status, &refused["code"]), (422, &json!("unknown_merchant")), "{refused}");
    let (status, csv) =
        http(address, "GET", &format!("{BASE}/reports/sales?format=csv"), Some(ADMIN), "").expect("answer");
    assert_eq!(status, 200);
    assert!(csv.starts_with("day,channel,merchant,currency,orders,units,sales"), "{csv}");
    assert_eq!(csv.lines().count(), rows.len() + 1, "{csv}");
    let (status, refused) = call(address, "GET", "/reports/sales?from=2026-01-01&to=2025-01-01", ADMIN, json!({}));
    assert_eq!((status, &refused["code"]), (422, &json!("invalid_range")), "{refused}");
    let (status, refused) = call(address, "GET", "/reports/todo/nope", ADMIN, json!({}));
    assert_eq!((status, &refused["code"]), (404, &json!("unknown_queue")), "{refused}");

    // The same after SIGKILL, and after deriving everything again from the log.
    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    let served = start(address, &data);
    assert_eq!(report(address, "/reports/sales", ADMIN, |_| true), sales);
    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    std::fs::remove_dir_all(data.join("events")).expect("the event store removed");
    let served = start(address, &data);
    assert_eq!(report(address, "/reports/sales", ADMIN, |r| r == &sales), sales, "derived again, the same");
    assert_eq!(report(address, "/reports/refunds", ADMIN, |r| r == &refunds), refunds);

    // A merchant's delivery after its promised day counts against its rating, kept as
    // events happen and the same once derived again.
    let receipt = json!({"sku": "CERAMIC-MUG", "quantity": 5});
    assert_eq!(call(address, "POST", "/warehouses/wh-dropship/receipts", ADMIN, receipt).0, 201);
    let late = buy(address, "CERAMIC-MUG", 1);
    let (order, shipment) = (late["id"].as_str().expect("id"), &late["shipments"][0]);
    let (promised, carrier) =
        (shipment["delivery_date"].as_str().expect("a date"), shipment["carrier"].as_str().expect("a carrier"));
    let path = format!("/orders/{order}/shipments/{}/ship", shipment["id"].as_str().expect("an id"));
    let (status, body) = call(address, "POST", &path, ADMIN, json!({"tracking": ["R9"]}));
    assert_eq!(status, 200, "{body}");
    let after = chrono::NaiveDate::parse_from_str(promised, "%Y-%m-%d").expect("a date") + chrono::Days::new(2);
    let delivered = json!({"id": "d9", "tracking": "R9", "code": "delivered", "at": format!("{after}T12:00:00Z")});
    let (status, body) = call(address, "POST", &format!("/carriers/{carrier}/events"), ADMIN, delivered);
    assert_eq!(status, 200, "{body}");
    let rated = |ready: &dyn Fn(&Value) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, merchant) = call(address, "GET", "/merchants/artisan-co", ADMIN, json!({}));
            if ready(&merchant["rating"]) || std::time::Instant::now() > deadline {
                return merchant["rating"].clone();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let rating = rated(&|r| r["late"]["count"] == 1);
    assert_eq!((&rating["shipments_delivered"], &rating["late"]["share"]), (&json!(1), &json!("1")), "{rating}");
    // Late 1 of 1 (weight 50), cancelled 1 of 2 units (25): 100 × (1 − (50 + 12.5) / 100).
    assert_eq!(rating["score"], "37.5", "{rating}");
    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    std::fs::remove_dir_all(data.join("events")).expect("the event store removed");
    let served = start(address, &data);
    assert_eq!(rated(&|r| r == &rating), rating, "derived again, the same");
    drop(served);
}
