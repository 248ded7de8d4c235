//! Orders after checkout over HTTP: an invoice when paid (gapless per company series), a
//! shipment shipped with its tracking numbers and delivery note (units leave on-hand and
//! allocated), carriers' reports (mapped, forward only, unknown codes kept, idempotent by
//! event id), cancellations of units not sent (stock back, refund, credit note, preview),
//! refunds confirmed by hand, the history, and the refusals.

mod support;

use actix_web::http::StatusCode;
use serde_json::{json, Value};
use support::api::{Api, ADMIN, STOREFRONT};

fn purchase(lines: Value, payment: Value) -> Value {
    json!({
        "cart": {"country": "ES", "lines": lines,
                 "address": {"name": "Ana García", "line": "Gran Vía 1", "city": "Madrid", "postal_code": "28013",
                             "country": "ES", "email": "ana@example.com"},
                 "delivery": {"method": "home"}},
        "checkout": payment
    })
}

fn card() -> Value {
    json!({"payment_system": "card", "payment_token": "tok_visa"})
}

fn transfer() -> Value {
    json!({"payment_system": "bank-transfer"})
}

fn dec(value: &Value) -> rust_decimal::Decimal {
    value.as_str().unwrap_or_else(|| panic!("a decimal string: {value}")).parse().expect("a decimal")
}

/// `captured - refunded = invoiced - credited` once invoiced, refunds within captured.
fn books_balance(order: &Value) {
    let money = &order["money"];
    let (captured, refunded) = (dec(&money["captured"]), dec(&money["refunded"]));
    let (invoiced, credited) = (dec(&money["invoiced"]), dec(&money["credited"]));
    assert!(refunded <= captured, "{money}");
    if !invoiced.is_zero() {
        assert_eq!(captured - refunded, invoiced - credited, "{money}");
    }
}

async fn buy<S, B>(api: &Api<S>, lines: Value, payment: Value) -> Value
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let (status, order) = api.post(STOREFRONT, "/orders", purchase(lines, payment)).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    order
}

// Proves the whole path of a paid order: its invoice at placement, numbered next in the
// company's series; shipping a ready shipment takes its units out of on-hand and
// allocated and issues a delivery note; carriers' reports move it forward only, keep
// unknown codes without effect and are had once per event id; the history lists it all.
#[actix_rt::test]
async fn a_paid_order_is_invoiced_shipped_and_delivered() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    let order = buy(&api, json!([{"sku": "MOUSE", "qty": 2}]), card()).await;
    let id = order["id"].as_str().expect("an id").to_owned();
    assert_eq!(order["status"], "paid", "{order}");
    let invoice = &order["invoices"][0];
    let year = support::api::today().format("%Y").to_string();
    assert_eq!(invoice["number"], format!("ES-{year}-000001"), "{invoice}");
    assert_eq!((&invoice["kind"], &invoice["total"]), (&json!("invoice"), &order["totals"]["total"]), "{invoice}");
    books_balance(&order);
    let second = buy(&api, json!([{"sku": "MOUSE", "qty": 1}]), card()).await;
    assert_eq!(second["invoices"][0]["number"], format!("ES-{year}-000002"), "the series has no gap");

    let shipment = order["shipments"][0]["id"].as_str().expect("a shipment").to_owned();
    assert_eq!(order["shipments"][0]["status"], "ready");
    let ship = format!("/orders/{id}/shipments/{shipment}/ship");
    let (status, body) = api.post(STOREFRONT, &ship, json!({"tracking": ["IB1"]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, sent) = api.post(ADMIN, &ship, json!({"tracking": ["IB1", "IB2"]})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!((&sent["status"], &sent["shipments"][0]["status"]), (&json!("shipped"), &json!("sent")), "{sent}");
    assert_eq!(sent["shipments"][0]["tracking"], json!(["IB1", "IB2"]));
    assert_eq!(sent["delivery_notes"][0]["items"][0]["quantity"], 2, "{sent}");
    let mouse = api.stock("wh-madrid", "MOUSE").await;
    assert_eq!((mouse["on_hand"].as_u64(), mouse["allocated"].as_u64()), (Some(8), Some(1)), "{mouse}");
    let (status, again) = api.post(ADMIN, &ship, json!({"tracking": ["IB3"]})).await;
    assert_eq!((status, &again["code"]), (StatusCode::CONFLICT, &json!("invalid_shipment_status")), "{again}");

    let report = |event: &str, code: &str, at: &str| json!({"id": event, "tracking": "IB2", "code": code, "at": at});
    let events = "/carriers/iberpost/events";
    let (status, seen) = api.post(ADMIN, events, report("e1", "in_transit", "2026-12-01T10:00:00Z")).await;
    assert_eq!((status, &seen["status"], &seen["recorded"]), (StatusCode::OK, &json!("sent"), &json!(true)), "{seen}");
    let (_, seen) = api.post(ADMIN, events, report("e2", "delivered", "2026-12-02T10:00:00Z")).await;
    assert_eq!((&seen["status"], &seen["carrier_status"]), (&json!("delivered"), &json!("delivered")), "{seen}");
    // Late and out of order: kept, moves nothing.
    let (_, seen) = api.post(ADMIN, events, report("e0", "picked_up", "2026-11-30T10:00:00Z")).await;
    assert_eq!(
        (&seen["status"], &seen["carrier_status"], &seen["recorded"]),
        (&json!("delivered"), &json!("delivered"), &json!(true))
    );
    let (_, seen) = api.post(ADMIN, events, report("e3", "weird_code", "2026-12-03T10:00:00Z")).await;
    assert_eq!((&seen["status"], &seen["recorded"]), (&json!("delivered"), &json!(true)), "{seen}");
    let (status, seen) = api.post(ADMIN, events, report("e2", "delivered", "2026-12-02T10:00:00Z")).await;
    assert_eq!((status, &seen["recorded"]), (StatusCode::OK, &json!(false)), "the same event is had once: {seen}");
    let (status, body) =
        api.post(ADMIN, "/carriers/nope/events", report("e9", "delivered", "2026-12-02T10:00:00Z")).await;
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &json!("unknown_carrier")), "{body}");
    let unknown = json!({"id": "e9", "tracking": "NOPE", "code": "delivered", "at": "2026-12-02T10:00:00Z"});
    let (status, body) = api.post(ADMIN, events, unknown).await;
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &json!("unknown_tracking")), "{body}");

    let (_, delivered) = api.get(ADMIN, &format!("/orders/{id}")).await;
    assert_eq!(delivered["status"], "delivered", "{delivered}");
    assert_eq!(delivered["shipments"][0]["carrier_events"].as_array().map(Vec::len), Some(4));
    let (status, history) = api.get(ADMIN, &format!("/orders/{id}/history")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let what: Vec<&str> =
        history["changes"].as_array().expect("changes").iter().filter_map(|c| c["what"].as_str()).collect();
    assert_eq!(
        what,
        [
            "placed",
            "invoice_issued",
            "shipment_sent",
            "carrier_reported",
            "carrier_reported",
            "carrier_reported",
            "carrier_reported"
        ]
    );
    assert_eq!(history["changes"][2]["by"], "demo admin", "{history}");
    assert_eq!(history["changes"][3]["by"], "carrier:iberpost", "{history}");
    let (status, documents) = api.get(STOREFRONT, &format!("/orders/{id}/documents")).await;
    assert_eq!(status, StatusCode::OK, "{documents}");
    assert_eq!(
        (&documents["order"]["number"], &documents["delivery_notes"][0]["shipment"]),
        (&json!(id), &json!(shipment))
    );
    let (status, found) = api.get(ADMIN, &format!("/invoices/ES-{year}-000001")).await;
    assert_eq!((status, &found["order"]), (StatusCode::OK, &json!(id)), "{found}");
    let (status, page) = api.get(ADMIN, "/invoices?company=demo-es").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let numbers: Vec<&str> =
        page["invoices"].as_array().expect("invoices").iter().filter_map(|i| i["number"].as_str()).collect();
    assert_eq!(numbers, [format!("ES-{year}-000001"), format!("ES-{year}-000002")]);
    let (status, body) = api.get(ADMIN, "/invoices/ES-1999-000001").await;
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &json!("unknown_invoice")), "{body}");
}

// Proves a cancellation of some units not sent: previewed first (nothing changes), then
// made: the units go back to stock, a paid order is refunded through the gateway (settled)
// for exactly what they were worth, a credit note corrects the invoice, the books
// balance; cancelling the rest cancels the order and refunds the whole total in all; sent
// units cannot be cancelled.
#[actix_rt::test]
async fn cancelling_units_releases_refunds_and_credits() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    let order = buy(&api, json!([{"sku": "MOUSE", "qty": 3}]), card()).await;
    let id = order["id"].as_str().expect("an id").to_owned();
    let line = order["lines"][0]["id"].as_str().expect("a line").to_owned();
    let cancel = format!("/orders/{id}/cancellations");
    let one = json!({"lines": [{"line": line, "quantity": 1}]});
    let (status, preview) = api.post(ADMIN, &format!("{cancel}?preview=true"), one.clone()).await;
    assert_eq!((status, &preview["preview"]), (StatusCode::OK, &json!(true)), "{preview}");
    let refund = dec(&preview["refund"]["amount"]);
    assert!(refund > rust_decimal::Decimal::ZERO, "{preview}");
    let (_, unchanged) = api.get(ADMIN, &format!("/orders/{id}")).await;
    assert_eq!(unchanged["lines"][0]["cancelled"], 0, "a preview changes nothing");
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["allocated"], 3);

    let (status, done) = api.post(ADMIN, &cancel, one).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(dec(&done["refund"]["amount"]), refund, "the preview said what it did");
    assert_eq!(done["refund"]["status"], "pending", "asked of the gateway once recorded: {done}");
    let year = support::api::today().format("%Y").to_string();
    assert_eq!(done["credit_note"]["number"], format!("ESR-{year}-000001"), "{done}");
    assert_eq!(dec(&done["credit_note"]["total"]), -refund);
    assert_eq!(api.stock("wh-madrid", "MOUSE").await["allocated"], 2, "one unit back for sale");
    let (_, now) = api.get(ADMIN, &format!("/orders/{id}")).await;
    let settled = (&now["lines"][0]["cancelled"], &now["refunds"][0]["status"]);
    assert_eq!(settled, (&json!(1), &json!("settled")), "the sandbox refunded: {now}");
    books_balance(&now);

    let too_many = json!({"lines": [{"line": line, "quantity": 5}]});
    let (status, body) = api.post(ADMIN, &cancel, too_many).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("units_not_available")), "{body}");
    let (status, body) = api.post(ADMIN, &cancel, json!({"lines": [{"line": "nope", "quantity": 1}]})).await;
    assert_eq!((status, &body["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("unknown_line")), "{body}");

    let (status, all) = api.post(ADMIN, &cancel, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(
        (&all["order"]["status"], &all["order"]["shipments"][0]["status"]),
        (&json!("cancelled"), &json!("cancelled"))
    );
    let total = dec(&order["totals"]["total"]);
    assert_eq!(refund + dec(&all["refund"]["amount"]), total, "refunds add up to what was paid");
    books_balance(&all["order"]);
    let mouse = api.stock("wh-madrid", "MOUSE").await;
    assert_eq!((mouse["on_hand"].as_u64(), mouse["allocated"].as_u64()), (Some(10), Some(0)), "{mouse}");
    let (status, body) = api.post(ADMIN, &cancel, json!({})).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("invalid_order_status")), "{body}");

    // Sent units stay.
    let sent = buy(&api, json!([{"sku": "MOUSE", "qty": 1}]), card()).await;
    let sid = sent["id"].as_str().expect("an id");
    let shipment = sent["shipments"][0]["id"].as_str().expect("a shipment");
    let (status, _) = api.post(ADMIN, &format!("/orders/{sid}/shipments/{shipment}/ship"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.post(ADMIN, &format!("/orders/{sid}/cancellations"), json!({})).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("invalid_order_status")), "{body}");
}

// Proves an offline order: cancelling before payment lowers what is owed and refunds
// nothing; the payment confirmed invoices the units kept; a later cancellation's refund
// waits for an administrator, who confirms it once; an unpaid order cannot be shipped.
#[actix_rt::test]
async fn an_offline_order_owes_less_and_is_refunded_by_hand() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    let order = buy(&api, json!([{"sku": "MOUSE", "qty": 2}]), transfer()).await;
    let id = order["id"].as_str().expect("an id").to_owned();
    let line = order["lines"][0]["id"].as_str().expect("a line").to_owned();
    let shipment = order["shipments"][0]["id"].as_str().expect("a shipment").to_owned();
    let (status, body) = api.post(ADMIN, &format!("/orders/{id}/shipments/{shipment}/ship"), json!({})).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("invalid_order_status")), "{body}");
    let one = json!({"lines": [{"line": line, "quantity": 1}]});
    let (status, done) = api.post(ADMIN, &format!("/orders/{id}/cancellations"), one.clone()).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((&done["refund"], &done["credit_note"]), (&Value::Null, &Value::Null), "{done}");
    let owed = dec(&done["order"]["money"]["owed"]);
    assert_eq!(owed + dec(&done["owed_less"]), dec(&order["totals"]["total"]));

    let (status, paid) = api.post(ADMIN, &format!("/orders/{id}/payments"), json!({"reference": "TR-1"})).await;
    assert_eq!((status, &paid["status"]), (StatusCode::OK, &json!("paid")), "{paid}");
    assert_eq!(dec(&paid["invoices"][0]["total"]), owed, "the invoice covers the units kept");
    assert_eq!(paid["invoices"][0]["lines"][0]["quantity"], 1);
    books_balance(&paid);

    let (status, done) = api.post(ADMIN, &format!("/orders/{id}/cancellations"), one).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((&done["refund"]["status"], &done["refund"]["kind"]), (&json!("pending"), &json!("offline")), "{done}");
    books_balance(&done["order"]);
    let refund = done["refund"]["id"].as_str().expect("a refund id");
    let confirm = format!("/orders/{id}/refunds/{refund}");
    let (status, settled) = api.post(ADMIN, &confirm, json!({"reference": "BACK-1"})).await;
    assert_eq!((status, &settled["refunds"][0]["status"]), (StatusCode::OK, &json!("settled")), "{settled}");
    let (status, body) = api.post(ADMIN, &confirm, json!({"reference": "BACK-1"})).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("refund_settled")), "{body}");
}

// Proves a shipment shipped under an Idempotency-Key ships once: the retry gets the same
// bytes and the stock moves once.
#[actix_rt::test]
async fn a_retried_shipment_ships_once() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    let order = buy(&api, json!([{"sku": "MOUSE", "qty": 2}]), card()).await;
    let id = order["id"].as_str().expect("an id");
    let shipment = order["shipments"][0]["id"].as_str().expect("a shipment");
    let path = format!("/orders/{id}/shipments/{shipment}/ship");
    let (status, first) = api.post_keyed(ADMIN, "ship-1", &path, json!({"tracking": ["T1"]})).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&first));
    let (status, again) = api.post_keyed(ADMIN, "ship-1", &path, json!({"tracking": ["T1"]})).await;
    assert_eq!((status, &again), (StatusCode::OK, &first), "the same answer");
    let mouse = api.stock("wh-madrid", "MOUSE").await;
    assert_eq!((mouse["on_hand"].as_u64(), mouse["allocated"].as_u64()), (Some(8), Some(0)), "{mouse}");
}

// Proves a shipment waiting for stock follows it by itself: its delivery date moves with
// its batch's date, it cannot leave while it waits, and it becomes ready once the batch
// arrives and its units are allocated; then it ships. The history names each move.
#[actix_rt::test]
async fn a_waiting_shipment_becomes_ready_when_its_batch_arrives() {
    let api = api!();
    let batch =
        json!({"sku": "HEADPHONES", "batch": "po-1", "quantity": 10, "expected_date": support::api::in_days(10)});
    let (status, body) = api.post(ADMIN, "/warehouses/wh-madrid/batches", batch).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order = buy(&api, json!([{"sku": "HEADPHONES", "qty": 2}]), card()).await;
    let id = order["id"].as_str().expect("an id").to_owned();
    let shipment = &order["shipments"][0];
    assert_eq!(shipment["status"], "awaiting_stock", "{order}");
    let sid = shipment["id"].as_str().expect("a shipment").to_owned();
    let first_date: chrono::NaiveDate = shipment["delivery_date"].as_str().expect("a date").parse().expect("a date");
    let ship = format!("/orders/{id}/shipments/{sid}/ship");
    let (status, body) = api.post(ADMIN, &ship, json!({})).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("invalid_shipment_status")), "{body}");

    let later = json!({"sku": "HEADPHONES", "quantity": 10, "expected_date": support::api::in_days(13)});
    let (status, body) = api.patch(ADMIN, "/warehouses/wh-madrid/batches/po-1", later).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let moved = settled(&api, &id, |o| o["shipments"][0]["delivery_date"] != json!(first_date.to_string())).await;
    let date: chrono::NaiveDate =
        moved["shipments"][0]["delivery_date"].as_str().expect("a date").parse().expect("a date");
    assert_eq!(date - first_date, chrono::Duration::days(3), "the promise moves with its batch: {moved}");

    let arrival = json!({"sku": "HEADPHONES", "quantity": 10, "batch": "po-1"});
    let (status, body) = api.post(ADMIN, "/warehouses/wh-madrid/receipts", arrival).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ready = settled(&api, &id, |o| o["shipments"][0]["status"] == "ready").await;
    assert_eq!(ready["shipments"][0]["items"][0]["awaiting_stock"], false, "{ready}");
    let (status, sent) = api.post(ADMIN, &ship, json!({"tracking": ["HP1"]})).await;
    assert_eq!((status, &sent["status"]), (StatusCode::OK, &json!("shipped")), "{sent}");
    let (_, history) = api.get(ADMIN, &format!("/orders/{id}/history")).await;
    let what: Vec<&str> =
        history["changes"].as_array().expect("changes").iter().filter_map(|c| c["what"].as_str()).collect();
    assert_eq!(what, ["placed", "invoice_issued", "promise_changed", "shipment_ready", "shipment_sent"], "{history}");
    assert_eq!(history["changes"][3]["by"], "system");
}

/// The order once `done` holds of it (the warehouses tell the orders after their own
/// change: a moment later), within a few seconds.
async fn settled<S, B>(api: &Api<S>, id: &str, done: impl Fn(&Value) -> bool) -> Value
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    for _ in 0..200 {
        let (_, order) = api.get(ADMIN, &format!("/orders/{id}")).await;
        if done(&order) {
            return order;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (_, order) = api.get(ADMIN, &format!("/orders/{id}")).await;
    panic!("the order never got there: {order}");
}

// Proves a return: units sent and delivered are asked back with a reason and a return
// point near the address; the back office accepts; each receipt is a return order
// document that refunds what the units were worth and credits the invoice; resellable
// units go back on hand, damaged ones do not; the order is partially returned; asking for
// more than was sent, units not sent, or receiving more than accepted is refused naming
// the line.
#[actix_rt::test]
async fn returned_units_are_received_restocked_refunded_and_credited() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    let mut bought = purchase(json!([{"sku": "MOUSE", "qty": 3}]), card());
    bought["cart"]["address"]["latitude"] = json!(40.42);
    bought["cart"]["address"]["longitude"] = json!(-3.70);
    let (status, order) = api.post(STOREFRONT, "/orders", bought).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_str().expect("an id").to_owned();
    let line = order["lines"][0]["id"].as_str().expect("a line").to_owned();
    let returns = format!("/orders/{id}/returns");
    let ask = |quantity: u32| json!({"lines": [{"line": line, "quantity": quantity, "reason": "too loud"}], "return_point": "store-madrid"});
    let (status, body) = api.post(STOREFRONT, &returns, ask(1)).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::CONFLICT, &json!("units_not_available")),
        "nothing sent yet: {body}"
    );

    let shipment = order["shipments"][0]["id"].as_str().expect("a shipment");
    let (status, _) =
        api.post(ADMIN, &format!("/orders/{id}/shipments/{shipment}/ship"), json!({"tracking": ["R1"]})).await;
    assert_eq!(status, StatusCode::OK);
    let delivered = json!({"id": "d1", "tracking": "R1", "code": "delivered", "at": "2026-12-03T09:00:00Z"});
    let (status, _) = api.post(ADMIN, "/carriers/iberpost/events", delivered).await;
    assert_eq!(status, StatusCode::OK);
    let (status, points) = api.get(STOREFRONT, &format!("/orders/{id}/return-points")).await;
    assert_eq!((status, &points[0]["code"]), (StatusCode::OK, &json!("store-madrid")), "{points}");

    let (status, asked) = api.post(STOREFRONT, &returns, ask(2)).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    let request = asked["returns"][0]["id"].as_str().expect("a return").to_owned();
    assert_eq!(asked["returns"][0]["lines"][0]["status"], "requested");
    let (status, body) = api.post(STOREFRONT, &returns, ask(2)).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("units_not_available")), "one left: {body}");
    let receipts = format!("/orders/{id}/returns/{request}/receipts");
    let receive = |quantity: u32, condition: &str| json!({"lines": [{"line": line, "quantity": quantity, "condition": condition}], "warehouse": "wh-madrid"});
    let (status, body) = api.post(ADMIN, &receipts, receive(1, "resellable")).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::CONFLICT, &json!("units_not_available")),
        "not accepted yet: {body}"
    );
    let accept = json!({"lines": [{"line": line, "accept": true}]});
    let (status, decided) = api.post(ADMIN, &format!("/orders/{id}/returns/{request}/decisions"), accept).await;
    assert_eq!(
        (status, &decided["returns"][0]["lines"][0]["status"]),
        (StatusCode::OK, &json!("accepted")),
        "{decided}"
    );

    let on_hand = api.stock("wh-madrid", "MOUSE").await["on_hand"].as_u64().expect("on hand");
    let (status, first) = api.post(ADMIN, &receipts, receive(1, "resellable")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["receipt"]["number"], format!("{request}-1"), "the return order document: {first}");
    let unit = dec(&first["refund"]["amount"]);
    assert!(unit > rust_decimal::Decimal::ZERO && dec(&first["credit_note"]["total"]) == -unit, "{first}");
    assert_eq!(first["order"]["status"], "partially_returned");
    let (status, second) = api.post(ADMIN, &receipts, receive(1, "damaged")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(dec(&second["refund"]["amount"]), unit, "each unit refunds what it was worth");
    let (status, body) = api.post(ADMIN, &receipts, receive(1, "damaged")).await;
    assert_eq!((status, &body["code"]), (StatusCode::CONFLICT, &json!("units_not_available")), "all received: {body}");

    let (_, now) = api.get(ADMIN, &format!("/orders/{id}")).await;
    assert_eq!(
        (&now["lines"][0]["returned"], &now["returns"][0]["receipts"][0]["restocked"]),
        (&json!(2), &json!(true)),
        "{now}"
    );
    books_balance(&now);
    let after = api.stock("wh-madrid", "MOUSE").await["on_hand"].as_u64().expect("on hand");
    assert_eq!(after, on_hand + 1, "the resellable unit is back on hand, the damaged one is not");
    let (_, history) = api.get(ADMIN, &format!("/orders/{id}/history")).await;
    let what: Vec<&str> =
        history["changes"].as_array().expect("changes").iter().filter_map(|c| c["what"].as_str()).collect();
    let count = |kind: &str| what.iter().filter(|w| **w == kind).count();
    let counts =
        [count("return_requested"), count("return_decided"), count("return_received"), count("credit_note_issued")];
    assert_eq!(counts, [1, 1, 2, 2], "{what:?}");
    assert_eq!((count("return_restocked"), count("refund_settled")), (1, 2), "{what:?}");
}

// Proves an invoice's currency: in the order's currency when the company accounts in it
// (demo-es keeps USD), with the tax totals also in its national currency (EUR, its first
// accounting currency); else in the company's first accounting currency at the configured
// rates (a GBP order invoiced in EUR), whose total is the order's converted.
#[actix_rt::test]
async fn invoices_are_in_a_currency_the_company_accounts_in() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 10).await;
    let in_currency = |currency: &str| {
        let mut body = purchase(json!([{"sku": "MOUSE", "qty": 1}]), card());
        body["cart"]["currency"] = json!(currency);
        body
    };
    let (status, usd) = api.post(STOREFRONT, "/orders", in_currency("USD")).await;
    assert_eq!(status, StatusCode::CREATED, "{usd}");
    let invoice = &usd["invoices"][0];
    assert_eq!((&invoice["currency"], &invoice["rate"]), (&json!("USD"), &json!("1")), "{invoice}");
    assert_eq!(invoice["total"], usd["totals"]["total"]);
    let national = &invoice["national"];
    assert_eq!(national["currency"], "EUR", "{invoice}");
    let usd_tax: rust_decimal::Decimal =
        usd["totals"]["taxes"].as_array().expect("taxes").iter().map(|t| dec(&t["tax"])).sum();
    let eur_tax = dec(&national["tax_total"]);
    let rate = dec(&national["rate"]);
    assert!(
        (usd_tax * rate - eur_tax).abs() <= rust_decimal::Decimal::new(1, 2),
        "{usd_tax} USD at {rate} is {eur_tax} EUR"
    );

    let (status, gbp) = api.post(STOREFRONT, "/orders", in_currency("GBP")).await;
    assert_eq!(status, StatusCode::CREATED, "{gbp}");
    let invoice = &gbp["invoices"][0];
    assert_eq!((&invoice["currency"], &invoice["national"]), (&json!("EUR"), &Value::Null), "{invoice}");
    let (total, rate) = (dec(&gbp["totals"]["total"]), dec(&invoice["rate"]));
    assert!((total * rate - dec(&invoice["total"])).abs() <= rust_decimal::Decimal::new(3, 2), "{invoice}");
    assert_eq!(invoice["order_amount"], gbp["totals"]["total"], "the ledger counts the order's currency");
}

// Proves the invoice list's pages chain through a company's invoices and credit notes
// once each, series by series, whatever the page size.
#[actix_rt::test]
async fn invoice_pages_chain_through_every_series_once() {
    let api = api!();
    api.receive("wh-madrid", "MOUSE", 20).await;
    for cancelled in [true, false, true] {
        let order = buy(&api, json!([{"sku": "MOUSE", "qty": 2}]), card()).await;
        if cancelled {
            let id = order["id"].as_str().expect("an id");
            let one = json!({"lines": [{"line": order["lines"][0]["id"], "quantity": 1}]});
            let (status, body) = api.post(ADMIN, &format!("/orders/{id}/cancellations"), one).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    let (_, whole) = api.get(ADMIN, "/invoices?company=demo-es&limit=500").await;
    let all: Vec<Value> = whole["invoices"].as_array().expect("invoices").iter().map(|i| i["number"].clone()).collect();
    assert_eq!(all.len(), 5, "{whole}");
    let mut paged = Vec::new();
    let mut after = String::new();
    for _ in 0..10 {
        let (status, page) = api.get(ADMIN, &format!("/invoices?company=demo-es&limit=2{after}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(page["invoices"].as_array().expect("invoices").iter().map(|i| i["number"].clone()));
        match page["next_after"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(paged, all, "every document once, in order");
}
