//! The back office of the crash test: between kills it takes acknowledged orders through
//! their life after checkout, one step per order per turn, each request with its own
//! `Idempotency-Key`: ship the shipment or cancel a unit, report it delivered (the
//! carrier), ask a unit back (the customer), accept the return, receive the unit for sale.
//! What it was acknowledged is the model; a request left without an answer is retried with
//! its key after the restart and must then be answered (made once, or replayed). After
//! every restart each order shows exactly the steps acknowledged, every refund is settled
//! and every receipt restocked (the start-up repair finishes those a kill cut short), and
//! the invoice and credit-note numbers run without a gap.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::crash_shoppers::json;
use crate::support::{http, http_keyed};

const ORDERS: &str = "/v1/commerces/demo/orders";

/// What the model knows of an order's life after checkout.
#[derive(Debug, Clone, Default)]
pub struct Booked {
    /// The tracking number it was shipped with.
    pub shipped: Option<String>,
    pub cancelled: u64,
    pub delivered: bool,
    /// The return asked, once acknowledged.
    pub returned: Option<String>,
    pub accepted: bool,
    /// Units received back for sale.
    pub received: u64,
}

/// One step of an order's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Ship,
    Cancel,
    Deliver,
    Return,
    Accept,
    Receive,
}

/// One back-office request: which order and step, the key, where and what it sends.
#[derive(Debug, Clone)]
pub struct Action {
    pub order: String,
    pub step: Step,
    pub key: String,
    pub path: String,
    pub body: String,
}

/// What the back office saw in one cycle: each step done with its answer, and the one
/// left without an answer.
pub struct Office {
    pub done: Vec<(Action, serde_json::Value)>,
    pub open: Option<Action>,
}

/// Sends an action; its status and answer, or none when no answer came.
pub fn send(address: SocketAddr, action: &Action) -> Option<(u16, serde_json::Value)> {
    let answer = http_keyed(address, "POST", &action.path, Some("demo-admin"), Some(&action.key), &action.body);
    answer.map(|(status, body)| {
        assert!(matches!(status, 200 | 201) || status >= 500, "{action:?}: {status} {body}");
        (status, if status < 300 { json(&body) } else { serde_json::Value::Null })
    })
}

/// The next step of an order, as its model stands; none once it has lived it all.
fn next(booked: &Booked, quantity: u64, turn: usize) -> Option<Step> {
    let kept = quantity - booked.cancelled;
    match booked {
        Booked { shipped: None, .. } if kept == 0 => None,
        Booked { shipped: None, .. } if kept == 1 || turn.is_multiple_of(2) => Some(Step::Ship),
        Booked { shipped: None, .. } => Some(Step::Cancel),
        Booked { delivered: false, .. } => Some(Step::Deliver),
        Booked { returned: None, .. } => Some(Step::Return),
        Booked { accepted: false, .. } => Some(Step::Accept),
        Booked { received: 0, .. } => Some(Step::Receive),
        _ => None,
    }
}

/// The request of `step` for an order whose line and shipment are known.
fn action(order: &str, step: Step, key: String, booked: &Booked, line: &str, shipment: &str) -> Action {
    let (path, body) = match step {
        Step::Ship => {
            (format!("{ORDERS}/{order}/shipments/{shipment}/ship"), format!(r#"{{"tracking": ["T-{key}"]}}"#))
        }
        Step::Cancel => (
            format!("{ORDERS}/{order}/cancellations"),
            format!(r#"{{"lines": [{{"line": "{line}", "quantity": 1}}]}}"#),
        ),
        Step::Deliver => {
            let tracking = booked.shipped.clone().unwrap_or_default();
            let body = format!(
                r#"{{"id": "{key}", "tracking": "{tracking}", "code": "delivered", "at": "2026-12-03T10:00:00Z"}}"#
            );
            ("/v1/commerces/demo/carriers/iberpost/events".to_owned(), body)
        }
        Step::Return => {
            let body = format!(r#"{{"lines": [{{"line": "{line}", "quantity": 1, "reason": "crash test"}}]}}"#);
            (format!("{ORDERS}/{order}/returns"), body)
        }
        Step::Accept => {
            let request = booked.returned.clone().unwrap_or_default();
            let body = format!(r#"{{"lines": [{{"line": "{line}", "accept": true}}]}}"#);
            (format!("{ORDERS}/{order}/returns/{request}/decisions"), body)
        }
        Step::Receive => {
            let request = booked.returned.clone().unwrap_or_default();
            let body = format!(
                r#"{{"lines": [{{"line": "{line}", "quantity": 1, "condition": "resellable"}}], "warehouse": "wh-madrid"}}"#
            );
            (format!("{ORDERS}/{order}/returns/{request}/receipts"), body)
        }
    };
    Action { order: order.to_owned(), step, key, path, body }
}

/// Takes each order it is given (id, mice ordered) one step on, until `stop` or a
/// request goes unanswered.
pub fn office(
    address: SocketAddr,
    cycle: usize,
    orders: Vec<(String, u64)>,
    booked: &BTreeMap<String, Booked>,
    stop: Arc<AtomicBool>,
) -> Office {
    let mut seen = Office { done: Vec::new(), open: None };
    for (turn, (order, quantity)) in orders.into_iter().enumerate() {
        let model = booked.get(&order).cloned().unwrap_or_default();
        let Some(step) = next(&model, quantity, cycle + turn) else { continue };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Some((status, body)) = http(address, "GET", &format!("{ORDERS}/{order}"), Some("demo-admin"), "") else {
            break;
        };
        if status != 200 {
            break;
        }
        let read = json(&body);
        let line = read["lines"][0]["id"].as_str().expect("a line").to_owned();
        let shipment = read["shipments"][0]["id"].as_str().expect("a shipment").to_owned();
        let action = action(&order, step, format!("office-{cycle}-{turn}"), &model, &line, &shipment);
        match send(address, &action) {
            Some((200 | 201, answer)) => seen.done.push((action, answer)),
            _ => {
                seen.open = Some(action);
                break;
            }
        }
    }
    seen
}

/// Folds an acknowledged step, with its answer, into the model.
pub fn book(booked: &mut BTreeMap<String, Booked>, action: &Action, answer: &serde_json::Value) {
    let entry = booked.entry(action.order.clone()).or_default();
    match action.step {
        Step::Ship => entry.shipped = Some(format!("T-{}", action.key)),
        Step::Cancel => entry.cancelled += 1,
        Step::Deliver => entry.delivered = true,
        Step::Return => entry.returned = answer["returns"][0]["id"].as_str().map(str::to_owned),
        Step::Accept => entry.accepted = true,
        Step::Receive => entry.received += 1,
    }
}

/// Every invoice or credit-note number of the demo's Spanish company, by series.
fn numbers(address: SocketAddr) -> BTreeMap<String, Vec<u32>> {
    let mut series: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let path = format!("/v1/commerces/demo/invoices?company=demo-es&limit=500{cursor}");
        let (status, body) = http(address, "GET", &path, Some("demo-admin"), "").expect("an answer");
        assert_eq!(status, 200, "{body}");
        let page = json(&body);
        for invoice in page["invoices"].as_array().expect("invoices") {
            let number = invoice["number"].as_str().expect("a number");
            let (name, seq) = number.rsplit_once('-').expect("series-seq");
            series.entry(name.to_owned()).or_default().push(seq.parse().expect("a sequence"));
        }
        match page["next_after"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return series,
        }
    }
}

/// Mice shipped out and received back in all, as the model has them.
pub fn mice_moved(orders: &BTreeMap<String, u64>, booked: &BTreeMap<String, Booked>) -> (u64, u64) {
    let shipped = orders
        .iter()
        .filter_map(|(order, quantity)| {
            booked.get(order).filter(|b| b.shipped.is_some()).map(|b| quantity - b.cancelled)
        })
        .sum();
    (shipped, booked.values().map(|b| b.received).sum())
}

/// After a restart and the retries: each order as acknowledged, refunds settled, receipts
/// restocked, and the numbers gapless: one invoice per order, one credit note per
/// cancellation and per receipt.
pub fn check_orders(
    address: SocketAddr,
    cycle: usize,
    orders: &BTreeMap<String, u64>,
    booked: &BTreeMap<String, Booked>,
) {
    for (order, quantity) in orders {
        let (status, body) =
            http(address, "GET", &format!("{ORDERS}/{order}"), Some("demo-admin"), "").expect("an answer");
        assert_eq!(status, 200, "cycle {cycle}: order {order}: {body}");
        let read = json(&body);
        let model = booked.get(order).cloned().unwrap_or_default();
        let line = &read["lines"][0];
        assert_eq!(line["cancelled"].as_u64(), Some(model.cancelled), "cycle {cycle}: order {order}: {read}");
        assert_eq!(line["returned"].as_u64(), Some(model.received), "cycle {cycle}: order {order}: {read}");
        let expected = match (&model.shipped, model.delivered, model.cancelled == *quantity) {
            (Some(_), true, _) => "delivered",
            (Some(_), false, _) => "sent",
            (None, _, true) => "cancelled",
            (None, _, false) => "ready",
        };
        assert_eq!(read["shipments"][0]["status"], expected, "cycle {cycle}: order {order}: {read}");
        let asked = read["returns"].as_array().map_or(0, Vec::len);
        assert_eq!(asked, usize::from(model.returned.is_some()), "cycle {cycle}: order {order}: {read}");
        for refund in read["refunds"].as_array().expect("refunds") {
            assert_eq!(refund["status"], "settled", "cycle {cycle}: order {order}: {refund}");
        }
        for receipt in read["returns"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["receipts"].as_array().into_iter().flatten())
        {
            assert_eq!(receipt["restocked"], true, "cycle {cycle}: order {order}: {receipt}");
        }
        let money = &read["money"];
        let amount = |field: &str| {
            money[field].as_str().and_then(|v| v.parse::<rust_decimal::Decimal>().ok()).expect("an amount")
        };
        assert_eq!(
            amount("captured") - amount("refunded"),
            amount("invoiced") - amount("credited"),
            "cycle {cycle}: {money}"
        );
    }
    let series = numbers(address);
    let credits: u64 = booked.values().map(|b| b.cancelled + b.received).sum();
    let count = |prefix: &str| -> usize {
        series
            .iter()
            .filter(|(name, _)| name.split('-').next() == Some(prefix))
            .map(|(name, seqs)| {
                let expected: Vec<u32> = (1..=u32::try_from(seqs.len()).expect("few")).collect();
                assert_eq!(seqs, &expected, "cycle {cycle}: series {name} has a gap or a duplicate");
                seqs.len()
            })
            .sum()
    };
    assert_eq!(count("ES"), orders.len(), "cycle {cycle}: one invoice per order");
    assert_eq!(count("ESR") as u64, credits, "cycle {cycle}: one credit note per cancellation and receipt");
}
