//! The back office of the crash test: between kills it ships acknowledged orders and
//! cancels some of their units, each request with its own `Idempotency-Key`. What it was
//! acknowledged is the model; a request left without an answer is retried with its key
//! after the restart and must then be answered (made once, or replayed). After every
//! restart each order shows exactly the shipments and cancellations acknowledged, every
//! refund is settled (the start-up repair asks the gateway for those a kill cut short),
//! and the invoice and credit-note numbers run without a gap.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::crash_shoppers::json;
use crate::support::{http, http_keyed};

const ORDERS: &str = "/v1/commerces/demo/orders";

/// What the model knows of an order's life after checkout.
#[derive(Debug, Clone, Copy, Default)]
pub struct Booked {
    pub shipped: bool,
    pub cancelled: u64,
}

/// One back-office request: which order, the key, where and what it sends.
#[derive(Debug, Clone)]
pub struct Action {
    pub order: String,
    pub key: String,
    pub path: String,
    pub body: String,
    pub ship: bool,
}

/// What the back office saw in one cycle.
pub struct Office {
    pub done: Vec<Action>,
    pub open: Option<Action>,
}

/// Sends an action; its status, or none when no answer came.
pub fn send(address: SocketAddr, action: &Action) -> Option<u16> {
    let answer = http_keyed(address, "POST", &action.path, Some("demo-admin"), Some(&action.key), &action.body);
    answer.map(|(status, body)| {
        assert!(status == 200 || status >= 500, "{action:?}: {status} {body}");
        status
    })
}

/// Ships or cancels a unit of each order it is given (those with units not yet sent:
/// order id, mice ordered, mice cancelled), until `stop` or a request goes unanswered.
pub fn office(address: SocketAddr, cycle: usize, orders: Vec<(String, u64, u64)>, stop: Arc<AtomicBool>) -> Office {
    let mut seen = Office { done: Vec::new(), open: None };
    for (turn, (order, quantity, cancelled)) in orders.into_iter().enumerate() {
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
        let key = format!("office-{cycle}-{turn}");
        let ship = quantity - cancelled == 1 || (cycle + turn).is_multiple_of(2);
        let action = if ship {
            let body = format!(r#"{{"tracking": ["T-{key}"]}}"#);
            Action { path: format!("{ORDERS}/{order}/shipments/{shipment}/ship"), body, order, key, ship }
        } else {
            let body = format!(r#"{{"lines": [{{"line": "{line}", "quantity": 1}}]}}"#);
            Action { path: format!("{ORDERS}/{order}/cancellations"), body, order, key, ship }
        };
        match send(address, &action) {
            Some(200) => seen.done.push(action),
            _ => {
                seen.open = Some(action);
                break;
            }
        }
    }
    seen
}

/// Folds an acknowledged action into the model.
pub fn book(booked: &mut BTreeMap<String, Booked>, action: &Action) {
    let entry = booked.entry(action.order.clone()).or_default();
    if action.ship {
        entry.shipped = true;
    } else {
        entry.cancelled += 1;
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

/// After a restart and the retries: each order as acknowledged, refunds settled, and the
/// numbers gapless, one invoice per order and one credit note per cancellation.
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
        let model = booked.get(order).copied().unwrap_or_default();
        assert_eq!(
            read["lines"][0]["cancelled"].as_u64(),
            Some(model.cancelled),
            "cycle {cycle}: order {order}: {read}"
        );
        let expected = match (model.shipped, model.cancelled == *quantity) {
            (true, _) => "sent",
            (false, true) => "cancelled",
            (false, false) => "ready",
        };
        assert_eq!(read["shipments"][0]["status"], expected, "cycle {cycle}: order {order}: {read}");
        for refund in read["refunds"].as_array().expect("refunds") {
            assert_eq!(refund["status"], "settled", "cycle {cycle}: order {order}: {refund}");
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
    let cancellations: u64 = booked.values().map(|b| b.cancelled).sum();
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
    assert_eq!(count("ESR") as u64, cancellations, "cycle {cycle}: one credit note per cancellation");
}
