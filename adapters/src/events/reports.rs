//! Live reports and to-do queues, kept as events are derived (never recounted): sales
//! rows per day, channel, merchant and currency; refund rows per day, channel and
//! currency; and the queues of work to do (orders to ship, returns to receive, shipments
//! not yet delivered with their promised date, of which the late ones are those past it).
//! Everything is a note, written in the same batch as the events that moved it.

use mercato_engine::inventory::Timestamp;
use mercato_engine::order::{Order, OrderEvent};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::derive::{Notes, OrderNote};

/// The to-do queues.
pub const ORDERS_TO_SHIP: &str = "orders_to_ship";
pub const RETURNS_TO_RECEIVE: &str = "returns_to_receive";
/// Shipments not yet delivered, returned or cancelled, with their promised date.
pub const OPEN_SHIPMENTS: &str = "open_shipments";
pub const QUEUES: [&str; 3] = [ORDERS_TO_SHIP, RETURNS_TO_RECEIVE, OPEN_SHIPMENTS];

/// One sales row: a day's orders of a channel, for one merchant's lines ("" for the
/// commerce's own), in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalesRow {
    /// Orders placed with at least one of its lines.
    pub orders: u64,
    pub units: u64,
    /// The lines' amounts (after discounts, as the order shows them).
    #[serde(with = "rust_decimal::serde::str")]
    pub sales: Decimal,
    pub cancelled_units: u64,
    pub returned_units: u64,
    /// Return receipts.
    pub returns: u64,
}

/// One refunds row: a day's refunds of a channel in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundRow {
    pub refunds: u64,
    #[serde(with = "rust_decimal::serde::str")]
    pub refunded: Decimal,
}

/// One merchant's day, for its rating: units sold, shipments delivered and those delivered
/// after their promised day, units cancelled and units returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MerchantDay {
    pub units: u64,
    pub delivered: u64,
    pub late: u64,
    pub cancelled_units: u64,
    pub returned_units: u64,
}

/// The key prefix of a merchant's days.
pub fn merchant_days_prefix(commerce: &str, merchant: &str) -> String {
    format!("report\u{1f}merchant\u{1f}{commerce}\u{1f}{merchant}\u{1f}")
}

/// The day (UTC) of a time, `YYYY-MM-DD`.
pub fn day(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(at.0).map(|t| t.date_naive().to_string()).unwrap_or_default()
}

pub fn sales_prefix(commerce: &str) -> String {
    format!("report\u{1f}sales\u{1f}{commerce}\u{1f}")
}

pub fn refunds_prefix(commerce: &str) -> String {
    format!("report\u{1f}refunds\u{1f}{commerce}\u{1f}")
}

pub fn queue_prefix(commerce: &str, queue: &str) -> String {
    format!("queue\u{1f}{commerce}\u{1f}{queue}\u{1f}")
}

pub fn count_key(commerce: &str, queue: &str) -> String {
    format!("count\u{1f}{commerce}\u{1f}{queue}")
}

fn update<T: Default + Serialize + DeserializeOwned>(notes: &mut dyn Notes, key: &str, change: impl FnOnce(&mut T)) {
    let mut value: T = notes.get(key).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    change(&mut value);
    notes.set(key, Some(serde_json::to_vec(&value).unwrap_or_default()));
}

fn queue_put(notes: &mut dyn Notes, commerce: &str, queue: &str, member: &str, value: &Value) {
    let key = format!("{}{member}", queue_prefix(commerce, queue));
    if notes.get(&key).is_none() {
        update(notes, &count_key(commerce, queue), |count: &mut u64| *count += 1);
    }
    notes.set(&key, Some(serde_json::to_vec(value).unwrap_or_default()));
}

fn queue_remove(notes: &mut dyn Notes, commerce: &str, queue: &str, member: &str) {
    let key = format!("{}{member}", queue_prefix(commerce, queue));
    if notes.get(&key).is_some() {
        update(notes, &count_key(commerce, queue), |count: &mut u64| *count = count.saturating_sub(1));
        notes.set(&key, None);
    }
}

/// Where one order's change lands in the reports.
struct Fold<'a> {
    commerce: &'a str,
    order: &'a str,
    /// The change's day.
    day: String,
    notes: &'a mut dyn Notes,
}

impl Fold<'_> {
    fn sales(&mut self, note: &OrderNote, merchant: &str, change: impl FnOnce(&mut SalesRow)) {
        let key = format!(
            "{}{}\u{1f}{}\u{1f}{merchant}\u{1f}{}",
            sales_prefix(self.commerce),
            self.day,
            note.channel,
            note.currency
        );
        update(self.notes, &key, change);
    }

    /// A merchant's day row (none for the commerce's own goods).
    fn merchant_day(&mut self, merchant: &str, change: impl FnOnce(&mut MerchantDay)) {
        if merchant.is_empty() {
            return;
        }
        let key = format!("{}{}", merchant_days_prefix(self.commerce, merchant), self.day);
        update(self.notes, &key, change);
    }

    fn refund(&mut self, note: &OrderNote, amount: Decimal) {
        let key = format!("{}{}\u{1f}{}\u{1f}{}", refunds_prefix(self.commerce), self.day, note.channel, note.currency);
        update(self.notes, &key, |row: &mut RefundRow| {
            row.refunds += 1;
            row.refunded += amount;
        });
    }

    fn shipment(&mut self, shipment: &str) -> String {
        format!("{}/{shipment}", self.order)
    }

    /// The order leaves the queue of orders to ship once no shipment with units is left to
    /// send.
    fn settle_to_ship(&mut self, note: &OrderNote) {
        let left = note
            .shipments
            .iter()
            .any(|(id, rank)| *rank == 0 && note.open.iter().any(|(open, units)| open == id && *units > 0));
        if !left {
            queue_remove(self.notes, self.commerce, ORDERS_TO_SHIP, self.order);
        }
    }
}

fn placed(fold: &mut Fold<'_>, order: &Order, note: &OrderNote) {
    let mut merchants: Vec<&str> = Vec::new();
    for line in &order.lines {
        let merchant = note.merchant_of(&line.id).to_owned();
        let first = !merchants.contains(&merchant.as_str());
        fold.sales(note, &merchant, |row| {
            row.orders += u64::from(first);
            row.units += u64::from(line.amount.quantity);
            row.sales += line.amount.amount;
        });
        fold.merchant_day(&merchant, |day| day.units += u64::from(line.amount.quantity));
        if first {
            merchants.push(note.merchant_of(&line.id));
        }
    }
    let to_ship =
        json!({ "order": order.id, "placed_at": super::super::http::routes::carts::timestamp(order.placed_at) });
    queue_put(fold.notes, fold.commerce, ORDERS_TO_SHIP, &order.id, &to_ship);
    for shipment in &order.shipments {
        let member = fold.shipment(&shipment.id);
        let value =
            json!({ "order": order.id, "shipment": shipment.id, "delivery_date": shipment.delivery_date.to_string() });
        queue_put(fold.notes, fold.commerce, OPEN_SHIPMENTS, &member, &value);
    }
    fold.settle_to_ship(note);
}

/// Folds one order event into the reports and queues; `note` is the order as the event
/// left it.
pub fn fold(
    commerce: &str,
    order: &str,
    at: Timestamp,
    event: &OrderEvent,
    note: &mut OrderNote,
    notes: &mut dyn Notes,
) {
    let day = if matches!(event, OrderEvent::Placed { .. }) { note.day.clone() } else { day(at) };
    let mut fold = Fold { commerce, order, day, notes };
    match event {
        OrderEvent::Placed { order } => placed(&mut fold, order, note),
        OrderEvent::ShipmentSent { .. } => fold.settle_to_ship(note),
        OrderEvent::CarrierReported { shipment, report }
            if note.shipments.iter().any(|(id, rank)| id == shipment && *rank >= 2) =>
        {
            let member = fold.shipment(shipment);
            queue_remove(fold.notes, commerce, OPEN_SHIPMENTS, &member);
            delivered(&mut fold, shipment, report, note);
        }
        OrderEvent::CarrierReported { shipment, report } => delivered(&mut fold, shipment, report, note),
        OrderEvent::PromiseChanged { shipment, delivery_date, .. } => {
            if let Some(promise) = note.promises.iter_mut().find(|p| p.shipment == *shipment) {
                promise.date = delivery_date.to_string();
            }
            let member = fold.shipment(shipment);
            let value = json!({ "order": order, "shipment": shipment, "delivery_date": delivery_date.to_string() });
            queue_put(fold.notes, commerce, OPEN_SHIPMENTS, &member, &value);
        }
        OrderEvent::UnitsCancelled { cancellation } => cancelled(&mut fold, cancellation, note),
        OrderEvent::ReturnRequested { request } => {
            note.returns
                .push((request.id.clone(), request.lines.iter().map(|l| (l.line.clone(), l.quantity)).collect()));
        }
        OrderEvent::ReturnDecided { id, decisions } => {
            let asked = note.returns.iter().find(|(r, _)| r == id).map(|(_, lines)| lines.clone()).unwrap_or_default();
            let expected: u32 = asked
                .iter()
                .filter(|(line, _)| decisions.iter().any(|(l, accepted)| l == line && *accepted))
                .map(|(_, units)| units)
                .sum();
            if expected > 0 {
                let value = json!({ "order": order, "return": id, "units": expected });
                queue_put(fold.notes, commerce, RETURNS_TO_RECEIVE, &format!("{order}/{id}"), &value);
            }
        }
        OrderEvent::ReturnReceived { id, receipt } => return_received(&mut fold, id, receipt, note),
        _ => {}
    }
}

/// A carrier's report of a delivery, counted once per shipment for its merchant's rating:
/// late when the carrier's day is after the promised one.
fn delivered(fold: &mut Fold<'_>, shipment: &str, report: &mercato_engine::order::CarrierReport, note: &mut OrderNote) {
    if report.status != Some(mercato_engine::commerce::model::ShipmentStatus::Delivered) {
        return;
    }
    let Some(promise) = note.promises.iter_mut().find(|p| p.shipment == shipment && !p.counted) else { return };
    promise.counted = true;
    let late = day(report.at) > promise.date;
    let merchant = promise.merchant.clone();
    fold.merchant_day(&merchant, |day| {
        day.delivered += 1;
        day.late += u64::from(late);
    });
}

/// Units cancelled: per merchant, the shipments they emptied, the refund.
fn cancelled(fold: &mut Fold<'_>, cancellation: &mercato_engine::order::Cancellation, note: &mut OrderNote) {
    for (line, units) in &cancellation.lines {
        let merchant = note.merchant_of(line).to_owned();
        fold.sales(note, &merchant, |row| row.cancelled_units += u64::from(*units));
        fold.merchant_day(&merchant, |day| day.cancelled_units += u64::from(*units));
    }
    for cut in &cancellation.cuts {
        if let Some((_, open)) = note.open.iter_mut().find(|(id, _)| *id == cut.shipment) {
            *open = open.saturating_sub(cut.quantity);
            if *open == 0 {
                let member = fold.shipment(&cut.shipment);
                queue_remove(fold.notes, fold.commerce, OPEN_SHIPMENTS, &member);
            }
        }
    }
    if let Some(refund) = &cancellation.refund {
        fold.refund(note, refund.amount);
    }
    fold.settle_to_ship(note);
}

/// A return receipt: units returned per merchant, the receipt, its refund.
fn return_received(fold: &mut Fold<'_>, id: &str, receipt: &mercato_engine::order::ReturnReceipt, note: &OrderNote) {
    for units in &receipt.units {
        let merchant = note.merchant_of(&units.line).to_owned();
        fold.sales(note, &merchant, |row| row.returned_units += u64::from(units.quantity));
        fold.merchant_day(&merchant, |day| day.returned_units += u64::from(units.quantity));
    }
    let merchant = receipt.units.first().map(|u| note.merchant_of(&u.line).to_owned()).unwrap_or_default();
    fold.sales(note, &merchant, |row| row.returns += 1);
    if let Some(refund) = &receipt.refund {
        fold.refund(note, refund.amount);
    }
    received(fold, id, receipt.units.iter().map(|u| u.quantity).sum());
}

/// Units received on a return: it leaves the queue once every unit expected came.
fn received(fold: &mut Fold<'_>, id: &str, units: u32) {
    let member = format!("{}/{id}", fold.order);
    let key = format!("{}{member}", queue_prefix(fold.commerce, RETURNS_TO_RECEIVE));
    let Some(mut value) = fold.notes.get(&key).and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else { return };
    let left = value["units"].as_u64().unwrap_or(0).saturating_sub(u64::from(units));
    if left == 0 {
        queue_remove(fold.notes, fold.commerce, RETURNS_TO_RECEIVE, &member);
    } else {
        value["units"] = json!(left);
        fold.notes.set(&key, Some(serde_json::to_vec(&value).unwrap_or_default()));
    }
}
