//! A durable log record's business events, in the API's JSON shapes. Deriving is a pure
//! function of the record, the commerce's configuration and a small note per order that
//! derivation keeps itself (its merchants, currency, units and cancelled units, and how
//! far each shipment has gone), so the same log always gives the same events.

use mercato_actors::stored::{
    CatalogEntry, OrderEntry, Record, SettingsChange, SettingsEntry, StockLevel, WarehouseEntry,
};
use mercato_engine::cart::LOW_STOCK_UNITS;
use mercato_engine::catalog::CatalogEvent;
use mercato_engine::commerce::data::{DataChange, DataItem, DataKind};
use mercato_engine::commerce::model::MerchantAction;
use mercato_engine::inventory::{InventoryEvent, Timestamp};
use mercato_engine::order::{Order, OrderEvent};
use mercato_engine::pricing::minor_units;
use mercato_engine::Commerce;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::envelope::EventData;
use crate::http::routes::carts::{money, timestamp};
use crate::http::routes::orders::{
    delivery_note_dto, invoice_dto, order_dto, receipt_dto, refund_dto, return_dto, CarrierEventDto,
};

/// An event before it has its position and sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub kind: &'static str,
    /// The aggregate's type and id.
    pub aggregate: (&'static str, String),
    pub time: Timestamp,
    /// The merchants it concerns (none for the commerce's own).
    pub merchants: Vec<String>,
    pub data: EventData,
}

/// What derivation remembers of an order between its records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderNote {
    pub merchants: Vec<String>,
    pub currency: String,
    pub units: u32,
    pub cancelled: u32,
    /// Each shipment's carrier rank: 0 before it leaves, 1 sent, 2 delivered or returned.
    pub shipments: Vec<(String, u8)>,
    pub channel: String,
    /// The day it was placed (UTC, `YYYY-MM-DD`).
    pub day: String,
    /// Each line's merchant ("" for the commerce's own).
    pub lines: Vec<(String, String)>,
    /// Each shipment's units not cancelled.
    pub open: Vec<(String, u32)>,
    /// Each return's lines and units asked for.
    pub returns: Vec<(String, Vec<(String, u32)>)>,
    /// Each shipment's seller and promised delivery day, for the merchants' ratings.
    pub promises: Vec<Promise>,
    /// Its merchant lines, for the merchants' ledgers.
    pub sales: mercato_engine::order::settlement::OrderSales,
}

/// A shipment's seller ("" for the commerce's own), its promised delivery day
/// (`YYYY-MM-DD`) and whether its delivery was counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Promise {
    pub shipment: String,
    pub merchant: String,
    pub date: String,
    pub counted: bool,
}

impl OrderNote {
    /// The merchant of a line ("" for the commerce's own).
    pub fn merchant_of(&self, line: &str) -> &str {
        self.lines.iter().find(|(id, _)| id == line).map_or("", |(_, m)| m.as_str())
    }
}

/// Where derivation keeps what it remembers between records (its notes: orders, the live
/// reports and to-do queues), by key; `None` removes.
pub trait Notes {
    fn get(&mut self, key: &str) -> Option<Vec<u8>>;
    fn set(&mut self, key: &str, bytes: Option<Vec<u8>>);
}

fn order_key(commerce: &str, order: &str) -> String {
    format!("order\u{1f}{commerce}\u{1f}{order}")
}

/// Where the orders' notes start (`order_key`'s prefix).
pub const ORDER_NOTES: &str = "order\u{1f}";

/// The commerce and order a note's key names, when it is an order's.
pub fn order_of_key(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix(ORDER_NOTES)?.split_once('\u{1f}')
}

/// Lets go of an order that takes no more records (archived): removes its note and
/// answers the aggregates whose sequences go with it (the order's and its shipments').
pub fn forget_order(commerce: &str, order: &str, notes: &mut dyn Notes) -> Vec<(&'static str, String)> {
    let key = order_key(commerce, order);
    let note: OrderNote = notes.get(&key).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    notes.set(&key, None);
    let shipments = note.shipments.iter().map(|(shipment, _)| ("shipment", format!("{order}/{shipment}")));
    std::iter::once(("order", order.to_owned())).chain(shipments).collect()
}

/// The events of one record. `now` dates the events of records that carry no time of
/// their own (a warehouse's, written before format 4).
pub fn derive(
    record: &Record,
    commerces: &std::collections::HashMap<String, std::sync::Arc<Commerce>>,
    notes: &mut dyn Notes,
    now: Timestamp,
) -> Vec<Draft> {
    match record {
        Record::Order(entry) => {
            let Some(commerce) = commerces.get(&entry.commerce) else { return Vec::new() };
            order_events(entry, commerce, notes)
        }
        Record::Warehouse(entry) => {
            let Some(commerce) = commerces.get(&entry.commerce) else { return Vec::new() };
            stock_events(entry, commerce, now)
        }
        Record::Cart(_) => Vec::new(),
        Record::Catalog(entry) => product_events(entry),
        Record::Settings(entry) => match &entry.change {
            SettingsChange::Payouts(batch) => {
                let hold = commerces.get(&entry.commerce).map_or(0, |c| c.config().payout_hold_days());
                payout_events(entry, batch, hold, notes)
            }
            _ => settings_events(entry),
        },
    }
}

/// A settings record's event: a reload, or an item of data put or removed (a seed tells
/// nothing: the file's data were there from the start). An API key's item never holds a
/// key: only its name, role and merchant.
fn settings_events(entry: &SettingsEntry) -> Vec<Draft> {
    let (kind, aggregate, data) = match &entry.change {
        SettingsChange::Seed(_) | SettingsChange::Payouts(_) => return Vec::new(),
        SettingsChange::Reload(_) => {
            ("settings.reloaded", ("settings", entry.commerce.clone()), json!({ "by": entry.by }))
        }
        SettingsChange::Data(DataChange::Put(item)) if item.kind() == DataKind::Merchant => {
            return merchant_events(entry, item);
        }
        SettingsChange::Data(DataChange::Put(item)) => {
            let value = match item.as_ref() {
                DataItem::PriceRule(x) => serde_json::to_value(x),
                DataItem::Discount(x) => serde_json::to_value(x),
                DataItem::User(x) => serde_json::to_value(x),
                DataItem::UserGroup(x) => serde_json::to_value(x),
                DataItem::ApiKey(x) => Ok(json!({ "name": x.name, "role": x.role, "merchant": x.merchant })),
                DataItem::Merchant(_) => Ok(Value::Null),
                DataItem::CommissionRule(x) => serde_json::to_value(x),
                DataItem::ProductProposal(x) => serde_json::to_value(x),
            };
            let (name, _) = data_names(item.kind());
            let code = item.code().to_owned();
            let data = json!({ "code": code, "by": entry.by, "item": value.unwrap_or(Value::Null) });
            (name, (data_aggregate(item.kind()), code), data)
        }
        SettingsChange::Data(DataChange::Remove { kind, code }) => {
            let (_, name) = data_names(*kind);
            (name, (data_aggregate(*kind), code.clone()), json!({ "code": code, "by": entry.by }))
        }
    };
    // A merchant reads the events of its own proposals.
    let merchants = match &entry.change {
        SettingsChange::Data(DataChange::Put(item)) => match item.as_ref() {
            DataItem::ProductProposal(proposal) => vec![proposal.merchant.clone()],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    vec![Draft { kind, aggregate, time: entry.at, merchants, data: data.into() }]
}

fn data_aggregate(kind: DataKind) -> &'static str {
    match kind {
        DataKind::PriceRule => "price_rule",
        DataKind::Discount => "discount",
        DataKind::User => "user",
        DataKind::UserGroup => "user_group",
        DataKind::ApiKey => "api_key",
        DataKind::Merchant => "merchant",
        DataKind::CommissionRule => "commission_rule",
        DataKind::ProductProposal => "product_proposal",
    }
}

/// A merchant's lifecycle step: `merchant.{action}` (invited, onboarded, approved, blocked,
/// unblocked) with who, when, from and to which status, why, and the merchant as
/// `GET …/merchants/{m}` answers it; the merchant reads its own. A merchant put without a
/// step (none does today) makes no event.
fn merchant_events(entry: &SettingsEntry, item: &DataItem) -> Vec<Draft> {
    let DataItem::Merchant(merchant) = item else { return Vec::new() };
    let Some(step) = merchant.history.last() else { return Vec::new() };
    let kind = match step.action {
        MerchantAction::Invited => "merchant.invited",
        MerchantAction::Onboarded => "merchant.onboarded",
        MerchantAction::Approved => "merchant.approved",
        MerchantAction::Blocked => "merchant.blocked",
        MerchantAction::Unblocked => "merchant.unblocked",
    };
    let data = json!({
        "code": merchant.code,
        "by": entry.by,
        "from": step.from.map(|s| s.as_str()),
        "to": step.to.as_str(),
        "reason": step.reason,
        "merchant": crate::http::routes::merchants::MerchantDto::of(merchant),
    });
    let aggregate = ("merchant", merchant.code.clone());
    vec![Draft { kind, aggregate, time: entry.at, merchants: vec![merchant.code.clone()], data: data.into() }]
}

/// A payout batch's events, one `payout.made` per merchant and currency paid, in its
/// merchant's sequence; the ledgers take them.
fn payout_events(
    entry: &SettingsEntry,
    batch: &mercato_actors::stored::PayoutBatch,
    hold_days: u32,
    notes: &mut dyn Notes,
) -> Vec<Draft> {
    super::ledger::payouts((&entry.commerce, hold_days), (entry.at, &entry.by), batch, notes);
    batch
        .payouts
        .iter()
        .map(|payout| Draft {
            kind: "payout.made",
            aggregate: ("merchant", payout.merchant.clone()),
            time: entry.at,
            merchants: vec![payout.merchant.clone()],
            data: json!({
                "payout": payout.id,
                "batch": batch.id,
                "merchant": payout.merchant,
                "currency": payout.currency,
                "amount": payout.amount.to_string(),
                "by": entry.by,
            })
            .into(),
        })
        .collect()
}

/// The event types of a kind of data: put, removed.
fn data_names(kind: DataKind) -> (&'static str, &'static str) {
    match kind {
        DataKind::PriceRule => ("price_rule.changed", "price_rule.removed"),
        DataKind::Discount => ("discount.changed", "discount.removed"),
        DataKind::User => ("user.changed", "user.removed"),
        DataKind::UserGroup => ("user_group.changed", "user_group.removed"),
        DataKind::ApiKey => ("api_key.changed", "api_key.revoked"),
        DataKind::Merchant => ("merchant.changed", "merchant.removed"),
        DataKind::CommissionRule => ("commission_rule.changed", "commission_rule.removed"),
        DataKind::ProductProposal => ("product_proposal.changed", "product_proposal.removed"),
    }
}

/// A product event's `data`, written straight from the product.
#[derive(Serialize)]
struct ProductEventData<'a> {
    by: &'a str,
    product: &'a mercato_engine::commerce::model::Product,
    retired: bool,
    sku: &'a str,
    version: u32,
}

/// A catalogue record's events: `product.created` for a first version, `product.retired`
/// for a retirement, `product.changed` for any other version (a retired product put again
/// is changed, its `retired` false); each with the whole product as `PUT` takes it.
fn product_events(entry: &CatalogEntry) -> Vec<Draft> {
    entry
        .events
        .iter()
        .map(|event| {
            let CatalogEvent::Saved { version, retired, product } = event;
            let kind = match (*version, *retired) {
                (_, true) => "product.retired",
                (1, false) => "product.created",
                _ => "product.changed",
            };
            Draft {
                kind,
                aggregate: ("product", product.sku.clone()),
                time: entry.at,
                merchants: product.merchant.clone().into_iter().collect(),
                data: EventData::text(&ProductEventData {
                    by: &entry.by,
                    product: product.as_ref(),
                    retired: *retired,
                    sku: &product.sku,
                    version: *version,
                }),
            }
        })
        .collect()
}

fn merchants_of(order: &Order, commerce: &Commerce) -> Vec<String> {
    let mut merchants: Vec<String> = order
        .lines
        .iter()
        .filter_map(|l| match &l.seller {
            Some(seller) => Some(seller.merchant.clone()),
            None => commerce.product(&l.sku).and_then(|p| p.merchant.clone()),
        })
        .collect();
    merchants.sort();
    merchants.dedup();
    merchants
}

fn placed_note(order: &Order, commerce: &Commerce) -> OrderNote {
    let merchant = |sku: &str| commerce.product(sku).and_then(|p| p.merchant.clone()).unwrap_or_default();
    let seller = |line: &mercato_engine::order::OrderLine| match &line.seller {
        Some(seller) => seller.merchant.clone(),
        None => merchant(&line.sku),
    };
    OrderNote {
        merchants: merchants_of(order, commerce),
        currency: order.context.currency.clone(),
        units: order.lines.iter().map(|l| l.amount.quantity).sum(),
        cancelled: order.lines.iter().map(|l| l.cancelled).sum(),
        shipments: order.shipments.iter().map(|s| (s.id.clone(), s.status.carrier_rank())).collect(),
        channel: order.context.channel.clone(),
        day: super::reports::day(order.placed_at),
        lines: order.lines.iter().map(|l| (l.id.clone(), seller(l))).collect(),
        open: order.shipments.iter().map(|s| (s.id.clone(), s.items.iter().map(|i| i.quantity).sum())).collect(),
        returns: Vec::new(),
        promises: order
            .shipments
            .iter()
            .map(|s| Promise {
                shipment: s.id.clone(),
                merchant: s
                    .items
                    .first()
                    .map(|i| order.lines.iter().find(|l| l.id == i.line).map_or_else(|| merchant(&i.sku), seller))
                    .unwrap_or_default(),
                date: s.delivery_date.to_string(),
                counted: false,
            })
            .collect(),
        sales: mercato_engine::order::settlement::OrderSales::of(order, commerce),
    }
}

/// The events an order's record stands for.
fn order_events(entry: &OrderEntry, commerce: &Commerce, notes: &mut dyn Notes) -> Vec<Draft> {
    let key = order_key(&entry.commerce, &entry.order);
    let mut note: OrderNote = notes.get(&key).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let mut out = Vec::new();
    for event in &entry.events {
        if let OrderEvent::Placed { order } = event {
            note = placed_note(order, commerce);
        }
        let units = minor_units(commerce, &note.currency);
        let drafted = order_event(&entry.order, event, &mut note, commerce, units);
        super::reports::fold(&entry.commerce, &entry.order, entry.at, event, &mut note, notes);
        let hold = commerce.config().payout_hold_days();
        super::ledger::fold((&entry.commerce, hold), &entry.order, entry.at, event, &mut note, notes);
        out.extend(drafted.into_iter().map(|(kind, shipment, data)| Draft {
            kind,
            aggregate: match shipment {
                Some(shipment) => ("shipment", format!("{}/{shipment}", entry.order)),
                None => ("order", entry.order.clone()),
            },
            time: entry.at,
            merchants: note.merchants.clone(),
            data,
        }));
    }
    notes.set(&key, Some(serde_json::to_vec(&note).unwrap_or_default()));
    out
}

/// An event's type, the shipment it belongs to (none: the order) and its data.
type Drafted = (&'static str, Option<String>, EventData);

fn order_event(order: &str, event: &OrderEvent, note: &mut OrderNote, commerce: &Commerce, units: u32) -> Vec<Drafted> {
    let currency = note.currency.clone();
    let one = |kind, data: Value| vec![(kind, None, EventData::from(data))];
    match event {
        OrderEvent::Placed { order: placed } => placed_events(placed, commerce),
        OrderEvent::PaymentConfirmed { reference } => {
            one("order.paid", json!({ "order": order, "reference": reference }))
        }
        OrderEvent::InvoiceIssued { invoice } => {
            let kind = if invoice.corrects.is_some() { "credit_note.issued" } else { "invoice.issued" };
            one(kind, json!({ "order": order, "invoice": invoice_dto(invoice, order, &currency) }))
        }
        OrderEvent::UnitsCancelled { cancellation } => {
            note.cancelled += cancellation.lines.iter().map(|(_, n)| n).sum::<u32>();
            let kind = if note.cancelled >= note.units { "order.cancelled" } else { "order.lines_cancelled" };
            let lines: Vec<Value> =
                cancellation.lines.iter().map(|(line, n)| json!({ "line": line, "quantity": n })).collect();
            one(
                kind,
                json!({
                    "order": order,
                    "cancelled": lines,
                    "refund": cancellation.refund.as_ref().map(|r| refund_dto(r, units)),
                    "owed_less": money(cancellation.owed_less, units),
                }),
            )
        }
        OrderEvent::RefundSettled { refund, reference } => {
            one("refund.settled", json!({ "order": order, "refund": refund, "reference": reference }))
        }
        OrderEvent::ReturnRequested { request } => {
            one("return.requested", json!({ "order": order, "return": return_dto(request) }))
        }
        OrderEvent::ReturnDecided { id, decisions } => {
            let decisions: Vec<Value> =
                decisions.iter().map(|(line, accepted)| json!({ "line": line, "accepted": accepted })).collect();
            one("return.decided", json!({ "order": order, "return": id, "decisions": decisions }))
        }
        OrderEvent::ReturnReceived { id, receipt } => {
            one("return.received", json!({ "order": order, "return": id, "receipt": receipt_dto(receipt) }))
        }
        OrderEvent::ReturnRestocked { receipt } => {
            one("return.restocked", json!({ "order": order, "receipt": receipt }))
        }
        _ => shipment_event(order, event, note),
    }
}

/// An order placed, and what came with it: a payment approved at checkout, its invoices.
fn placed_events(order: &Order, commerce: &Commerce) -> Vec<Drafted> {
    let mut out = vec![("order.placed", None, EventData::text(&order_dto(order, commerce)))];
    if let Some(reference) = &order.payment.reference {
        out.push(("order.paid", None, json!({ "order": order.id, "reference": reference }).into()));
    }
    for invoice in &order.invoices {
        let data = json!({ "order": order.id, "invoice": invoice_dto(invoice, &order.id, &order.context.currency) });
        out.push(("invoice.issued", None, data.into()));
    }
    out
}

fn shipment_event(order: &str, event: &OrderEvent, note: &mut OrderNote) -> Vec<Drafted> {
    fn rank<'a>(note: &'a mut OrderNote, shipment: &str) -> Option<&'a mut u8> {
        note.shipments.iter_mut().find(|(id, _)| id == shipment).map(|(_, r)| r)
    }
    let (kind, shipment, data) = match event {
        OrderEvent::ShipmentSent { shipment, tracking, note: delivery, .. } => {
            if let Some(r) = rank(note, shipment) {
                *r = 1;
            }
            let data = json!({
                "order": order,
                "shipment": shipment,
                "tracking": tracking,
                "delivery_note": delivery_note_dto(delivery),
            });
            ("shipment.sent", shipment, data)
        }
        OrderEvent::CarrierReported { shipment, report } => {
            let moved = match (report.status, rank(note, shipment)) {
                (Some(status), Some(r)) if *r >= 1 && status.carrier_rank() > *r => {
                    *r = status.carrier_rank();
                    Some(status)
                }
                _ => None,
            };
            let kind = match moved.map(|s| s.as_str()) {
                Some("delivered") => "shipment.delivered",
                Some("returned") => "shipment.returned",
                _ => "shipment.carrier_update",
            };
            let report = CarrierEventDto {
                id: report.id.clone(),
                code: report.code.clone(),
                at: timestamp(report.at),
                received_at: timestamp(report.received_at),
                status: report.status.map(|s| s.as_str().to_owned()),
            };
            (kind, shipment, json!({ "order": order, "shipment": shipment, "report": report }))
        }
        OrderEvent::ShipmentReady { shipment } => {
            ("shipment.ready", shipment, json!({ "order": order, "shipment": shipment }))
        }
        OrderEvent::PromiseChanged { shipment, ready_date, delivery_date } => {
            let data = json!({
                "order": order,
                "shipment": shipment,
                "ready_date": ready_date.to_string(),
                "delivery_date": delivery_date.to_string(),
            });
            ("shipment.promise_changed", shipment, data)
        }
        _ => return Vec::new(),
    };
    vec![(kind, Some(shipment.clone()), data.into())]
}

/// The alert a SKU's level crossing stands for, if any: out of stock when its units on
/// hand nobody holds reach 0, low when they fall to `LOW_STOCK_UNITS` or below, back in
/// stock when they rise from 0.
fn level_alert(level: &StockLevel) -> Option<&'static str> {
    let (before, after) = (level.before, level.after);
    if after == 0 && before > 0 {
        Some("stock.out")
    } else if after > 0 && after <= LOW_STOCK_UNITS && before > LOW_STOCK_UNITS {
        Some("stock.low")
    } else if before == 0 && after > 0 {
        Some("stock.back_in_stock")
    } else {
        None
    }
}

/// The events a warehouse's record stands for: stock received, adjusted, batches
/// announced or changed (reservations and allocations are the orders' and carts' own),
/// then the alerts of the levels it moved.
fn stock_events(entry: &WarehouseEntry, commerce: &Commerce, now: Timestamp) -> Vec<Draft> {
    let warehouse = &entry.warehouse;
    let time = entry.at.unwrap_or(now);
    let draft = |kind, sku: &str, data: Value| Draft {
        kind,
        aggregate: ("stock", format!("{warehouse}/{sku}")),
        time,
        merchants: commerce.product(sku).and_then(|p| p.merchant.clone()).into_iter().collect(),
        data: data.into(),
    };
    let alerts = entry.levels.iter().filter_map(|level| {
        let kind = level_alert(level)?;
        let data = json!({ "warehouse": warehouse, "sku": level.sku, "available": level.after,
                           "before": level.before, "low_at": LOW_STOCK_UNITS });
        Some(draft(kind, &level.sku, data))
    });
    entry
        .events
        .iter()
        .filter_map(|event| match event {
            InventoryEvent::StockReceived { sku, quantity } => {
                Some(draft("stock.received", sku, json!({ "warehouse": warehouse, "sku": sku, "quantity": quantity })))
            }
            InventoryEvent::StockAdjusted { sku, delta, reason } => Some(draft(
                "stock.adjusted",
                sku,
                json!({ "warehouse": warehouse, "sku": sku, "delta": delta, "reason": reason.as_str() }),
            )),
            InventoryEvent::BatchAnnounced { sku, batch, quantity, expected_date } => Some(draft(
                "stock.batch_announced",
                sku,
                json!({ "warehouse": warehouse, "sku": sku, "batch": batch, "quantity": quantity,
                        "expected_date": expected_date.to_string() }),
            )),
            InventoryEvent::BatchChanged { sku, batch, quantity, expected_date } => Some(draft(
                "stock.batch_changed",
                sku,
                json!({ "warehouse": warehouse, "sku": sku, "batch": batch, "quantity": quantity,
                        "expected_date": expected_date.to_string() }),
            )),
            _ => None,
        })
        .chain(alerts)
        .collect()
}
