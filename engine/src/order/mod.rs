//! Orders: what checkout makes of a cart, and everything that happens to it after. An
//! order fixes the prices, the shipments and their shipping types, where each unit comes
//! from (the warehouse allocations or promises its reservations became), the payment and
//! the order document; later it is paid, invoiced, shipped, reported on by carriers and
//! cancelled in part or whole, each change an event with who made it and when.
//!
//! `place` builds the order from a priced, planned cart; later changes go through
//! `decide`/`apply` like every other aggregate, and its status is derived from its
//! shipments after every event, never set by hand.
//!
//! # Layout
//! - `documents.rs`: invoices, credit notes and delivery notes.
//! - `money.rs`: what the order is worth for the units it keeps, and its balance.
//! - `fulfil.rs`: shipping a shipment and carriers' reports.
//! - `cancel.rs`: cancellation of units not yet sent.
//! - `ready.rs`: shipments waiting for stock becoming ready, promised dates following it.
//! - `returns.rs`: returns requested, decided and received.
//! - `place.rs`: the order a checkout places.
//! - `settlement.rs`: what an order owes its merchants, event by event.
//! - `quote.rs`: a cart's prices, delivery and totals; `listing.rs`: the back office's list.

pub mod cancel;
pub mod documents;
pub mod fulfil;
pub mod listing;
pub mod money;
mod place;
pub mod quote;
mod ready;
pub mod retention;
pub mod returns;
pub mod settlement;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::cart::{CartContext, DeliveryChoice, ShippingAddress};
use crate::commerce::commissions::Commission;
use crate::commerce::model::ShipmentStatus;
use crate::commerce::Commerce;
use crate::delivery::ShipmentItem;
use crate::error::DomainError;
use crate::inventory::Timestamp;
use crate::pricing::totals::{LineAmount, Totals};

pub use cancel::{Cancellation, ItemCut};
pub use documents::{DeliveryNote, Invoice, InvoiceLine, NationalTaxes, NoteItem};
pub use fulfil::{CarrierReport, KeyStock, Pick};
pub use money::Balance;
pub use place::{place, Checkout};
pub use returns::{ReceivedUnits, Return, ReturnDecision, ReturnLine, ReturnReceipt};
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    PartiallyShipped,
    Shipped,
    Delivered,
    Cancelled,
    PartiallyReturned,
    Returned,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::PartiallyShipped => "partially_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::PartiallyReturned => "partially_returned",
            OrderStatus::Returned => "returned",
        }
    }
}

/// Units of an order line a warehouse keeps for it (allocated now or promised later),
/// under the warehouse's order-line key, and how many of them have left since: shipped,
/// or released by a cancellation. The warehouse counts the same under the same key, so
/// an effect a crash cut short is finished at start by comparing the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub warehouse: String,
    pub key: String,
    pub quantity: u32,
    pub shipped: u32,
    pub released: u32,
}

impl Allocation {
    /// Units the warehouse still keeps for the line under this key.
    pub fn held(&self) -> u32 {
        self.quantity.saturating_sub(self.shipped).saturating_sub(self.released)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// The cart line it comes from.
    pub id: String,
    pub sku: String,
    pub name: String,
    /// The price shown for it, fixed at checkout.
    pub amount: LineAmount,
    pub allocations: Vec<Allocation>,
    /// Units cancelled before they were sent.
    pub cancelled: u32,
    /// Units returned and received back.
    pub returned: u32,
    /// Its merchant and the commission it pays, fixed when it was placed (none for the
    /// commerce's own goods, and for lines placed before format 7, whose seller is the
    /// product's merchant as it is now).
    pub seller: Option<Seller>,
}

/// Who sells an order line and what it pays the commerce, as they were when it was placed:
/// a rule changed later never changes what an order already owes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub merchant: String,
    pub commission: Commission,
}

impl OrderLine {
    /// Its merchant: the one it was placed with (for a line placed before sellers were
    /// kept, the product's merchant now); none for the commerce's own goods.
    pub fn merchant<'a>(&'a self, commerce: &'a Commerce) -> Option<&'a str> {
        match &self.seller {
            Some(seller) => Some(&seller.merchant),
            None => commerce.seller(&self.sku),
        }
    }

    /// Units the customer keeps (ordered less cancelled and returned).
    pub fn kept(&self) -> u32 {
        self.amount.quantity.saturating_sub(self.cancelled).saturating_sub(self.returned)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderShipment {
    pub id: String,
    /// The logistic center it leaves from, or none for a pick-up order's single parcel
    /// when its units come from several centers.
    pub center: String,
    pub carrier: Option<String>,
    pub shipping_type: Option<String>,
    /// Pick-up point, for pick-up orders.
    pub pickup_location: Option<String>,
    pub price: Decimal,
    pub delivery_date: NaiveDate,
    pub status: ShipmentStatus,
    /// Its units per line; a cancellation lowers them (a shipment left with none is
    /// cancelled).
    pub items: Vec<ShipmentItem>,
    /// The carrier's tracking numbers, given when it is shipped.
    pub tracking: Vec<String>,
    pub sent_at: Option<Timestamp>,
    /// When the carrier says it was delivered (the return window counts from it).
    pub delivered_at: Option<Timestamp>,
    /// The carrier's own status code, kept apart from `status`: the code of its furthest
    /// report, only ever moving forward.
    pub carrier_status: Option<String>,
    /// Every report of its carrier, unknown codes included, in the order they came.
    pub carrier_events: Vec<CarrierReport>,
}

impl OrderShipment {
    /// The merchant whose goods it carries (a shipment never mixes merchants); none for
    /// the commerce's own.
    pub fn merchant<'a>(&'a self, order: &'a Order, commerce: &'a Commerce) -> Option<&'a str> {
        let item = self.items.first()?;
        match order.lines.iter().find(|l| l.id == item.line) {
            Some(line) => line.merchant(commerce),
            None => commerce.seller(&item.sku),
        }
    }

    pub fn units(&self) -> u32 {
        self.items.iter().map(|i| i.quantity).sum()
    }

    /// Whether its units have left (sent, delivered or returned to the commerce).
    pub fn has_left(&self) -> bool {
        matches!(self.status, ShipmentStatus::Sent | ShipmentStatus::Delivered | ShipmentStatus::Returned)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub system: String,
    pub online: bool,
    /// The gateway's reference once approved, or the administrator's confirmation.
    pub reference: Option<String>,
    /// What the customer owes (the total, less what was cancelled before payment), and
    /// what was captured once the payment is approved.
    pub amount: Decimal,
}

/// Why money goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundReason {
    Cancellation,
    Return,
}

/// Money owed back to the customer: through the gateway for an online payment (settled
/// when the gateway answers), or by hand for an offline one (settled when an
/// administrator confirms it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub amount: Decimal,
    pub reason: RefundReason,
    pub online: bool,
    pub requested_at: Timestamp,
    /// The gateway's or the administrator's reference, once settled.
    pub reference: Option<String>,
    pub settled_at: Option<Timestamp>,
}

/// The document issued when an order is placed: who sells, who buys, what and for how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDocument {
    pub number: String,
    pub issued_at: Timestamp,
    pub seller_legal_name: String,
    pub seller_tax_id: String,
    pub buyer: ShippingAddress,
    pub language: String,
    pub totals: Totals,
}

/// One entry of an order's history: what happened, who did it (the key's principal, or
/// `system` for the node's own steps, `carrier:{code}` for a carrier's report) and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at: Timestamp,
    pub by: String,
    /// The event's kind (`payment_confirmed`, `shipment_sent`, ...).
    pub what: String,
    /// What it named: the shipment, lines and units, the document number, the amount.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub cart: String,
    pub placed_at: Timestamp,
    /// Who placed it: the storefront's key, or an administrator for a phone order.
    pub placed_by: String,
    pub context: CartContext,
    pub address: ShippingAddress,
    pub delivery: DeliveryChoice,
    pub invoicing_company: String,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub shipments: Vec<OrderShipment>,
    pub totals: Totals,
    /// The tax rate shipping was taxed at, when it was.
    pub shipping_tax_rate: Option<Decimal>,
    pub payment: Payment,
    pub document: OrderDocument,
    /// Invoices and credit notes, in the order they were issued.
    pub invoices: Vec<Invoice>,
    pub delivery_notes: Vec<DeliveryNote>,
    pub refunds: Vec<Refund>,
    pub returns: Vec<Return>,
    /// Every change after placement.
    pub history: Vec<Change>,
}

/// What a command on an order is decided with besides the order.
pub struct OrderCtx<'a> {
    pub now: Timestamp,
    pub commerce: &'a Commerce,
    /// The next number of an invoice series (`{prefix}-{year}`): the order actor, the one
    /// writer of its commerce's series, knows it.
    pub next_number: &'a dyn Fn(&str) -> u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    /// An offline payment arrived (an administrator confirms it).
    ConfirmPayment { reference: String },
    /// A ready shipment leaves with its tracking numbers; `allocated` is what the
    /// warehouses hold under each of the order's keys.
    Ship { shipment: String, tracking: Vec<String>, allocated: Vec<KeyStock> },
    /// A carrier reports on a shipment it carries.
    CarrierReport { shipment: String, report: CarrierReport },
    /// Units not yet sent are cancelled: the lines and quantities named, or every unit not
    /// sent (none named).
    Cancel { lines: Option<Vec<(String, u32)>> },
    /// A refund was made: by the gateway, or by hand (an administrator confirms it).
    SettleRefund { refund: String, reference: String },
    /// The warehouses served or moved the order's units: what each key holds now.
    Refresh { stock: Vec<KeyStock> },
    /// A customer (or the back office for one) asks to return units sent or delivered.
    RequestReturn { lines: Vec<returns::Requested>, return_point: Option<String>, by: String },
    /// The back office accepts or rejects lines of a return.
    DecideReturn { id: String, decisions: Vec<(String, bool)> },
    /// Returned units arrive: (line, units, resellable), resellable ones into `warehouse`.
    ReceiveReturn { id: String, units: Vec<(String, u32, bool)>, warehouse: Option<String> },
    /// The warehouse took a receipt's resellable units back on hand.
    Restocked { receipt: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    Placed {
        order: Box<Order>,
    },
    PaymentConfirmed {
        reference: String,
    },
    InvoiceIssued {
        invoice: Box<Invoice>,
    },
    ShipmentSent {
        shipment: String,
        tracking: Vec<String>,
        picks: Vec<Pick>,
        note: Box<DeliveryNote>,
    },
    CarrierReported {
        shipment: String,
        report: CarrierReport,
    },
    UnitsCancelled {
        cancellation: Box<Cancellation>,
    },
    RefundSettled {
        refund: String,
        reference: String,
    },
    /// Every unit of a shipment waiting for stock is allocated: it can leave.
    ShipmentReady {
        shipment: String,
    },
    /// The stock a waiting shipment counts on moved: its ready and delivery dates follow.
    PromiseChanged {
        shipment: String,
        ready_date: NaiveDate,
        delivery_date: NaiveDate,
    },
    ReturnRequested {
        request: Box<Return>,
    },
    ReturnDecided {
        id: String,
        decisions: Vec<(String, bool)>,
    },
    ReturnReceived {
        id: String,
        receipt: Box<ReturnReceipt>,
    },
    ReturnRestocked {
        receipt: String,
    },
}

impl OrderEvent {
    /// The event's kind as its history shows it.
    pub fn kind(&self) -> &'static str {
        match self {
            OrderEvent::Placed { .. } => "placed",
            OrderEvent::PaymentConfirmed { .. } => "payment_confirmed",
            OrderEvent::InvoiceIssued { invoice } if invoice.corrects.is_some() => "credit_note_issued",
            OrderEvent::InvoiceIssued { .. } => "invoice_issued",
            OrderEvent::ShipmentSent { .. } => "shipment_sent",
            OrderEvent::CarrierReported { .. } => "carrier_reported",
            OrderEvent::UnitsCancelled { .. } => "units_cancelled",
            OrderEvent::RefundSettled { .. } => "refund_settled",
            OrderEvent::ShipmentReady { .. } => "shipment_ready",
            OrderEvent::PromiseChanged { .. } => "promise_changed",
            OrderEvent::ReturnRequested { .. } => "return_requested",
            OrderEvent::ReturnDecided { .. } => "return_decided",
            OrderEvent::ReturnReceived { .. } => "return_received",
            OrderEvent::ReturnRestocked { .. } => "return_restocked",
        }
    }

    fn detail(&self) -> String {
        match self {
            OrderEvent::Placed { order } => format!("order {}", order.id),
            OrderEvent::PaymentConfirmed { reference } => format!("reference {reference}"),
            OrderEvent::InvoiceIssued { invoice } => {
                format!("{} {} {}", invoice.number, invoice.total, invoice.currency)
            }
            OrderEvent::ShipmentSent { shipment, tracking, note, .. } => {
                format!("shipment {shipment}, tracking {}, delivery note {}", tracking.join(" "), note.number)
            }
            OrderEvent::CarrierReported { shipment, report } => {
                format!("shipment {shipment}: {} ({})", report.code, report.status.map_or("unknown", |s| s.as_str()))
            }
            OrderEvent::UnitsCancelled { cancellation } => cancellation.describe(),
            OrderEvent::RefundSettled { refund, reference } => format!("refund {refund}, reference {reference}"),
            OrderEvent::ShipmentReady { shipment } => format!("shipment {shipment}"),
            OrderEvent::PromiseChanged { shipment, ready_date, delivery_date } => {
                format!("shipment {shipment}: ready {ready_date}, delivery {delivery_date}")
            }
            OrderEvent::ReturnRequested { request } => {
                let lines: Vec<String> =
                    request.lines.iter().map(|l| format!("{} of line {}", l.quantity, l.line)).collect();
                format!("return {}: {}", request.id, lines.join(", "))
            }
            OrderEvent::ReturnDecided { id, decisions } => {
                let lines: Vec<String> = decisions
                    .iter()
                    .map(|(line, accept)| format!("line {line} {}", if *accept { "accepted" } else { "rejected" }))
                    .collect();
                format!("return {id}: {}", lines.join(", "))
            }
            OrderEvent::ReturnReceived { receipt, .. } => {
                let units: Vec<String> = receipt
                    .units
                    .iter()
                    .map(|u| {
                        format!(
                            "{} of line {} {}",
                            u.quantity,
                            u.line,
                            if u.resellable { "resellable" } else { "damaged" }
                        )
                    })
                    .collect();
                format!("receipt {}: {}", receipt.number, units.join(", "))
            }
            OrderEvent::ReturnRestocked { receipt } => format!("receipt {receipt}"),
        }
    }
}

impl Order {
    /// The order a `Placed` event starts.
    pub fn from_placed(event: &OrderEvent) -> Option<Order> {
        match event {
            OrderEvent::Placed { order } => Some((**order).clone()),
            _ => None,
        }
    }

    pub fn line(&self, id: &str) -> Option<&OrderLine> {
        self.lines.iter().find(|l| l.id == id)
    }

    pub fn shipment(&self, id: &str) -> Result<&OrderShipment, DomainError> {
        self.shipments
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| DomainError::UnknownOrderShipment { order: self.id.clone(), id: id.to_owned() })
    }

    pub fn is_paid(&self) -> bool {
        self.payment.reference.is_some()
    }

    /// Decides a command. Events that issue a document take their numbers from `ctx`.
    pub fn decide(&self, command: &OrderCommand, ctx: &OrderCtx<'_>) -> Result<Vec<OrderEvent>, DomainError> {
        match command {
            OrderCommand::ConfirmPayment { reference } => self.decide_payment(reference, ctx),
            OrderCommand::Ship { shipment, tracking, allocated } => {
                self.decide_ship(shipment, tracking, allocated, ctx)
            }
            OrderCommand::CarrierReport { shipment, report } => self.decide_report(shipment, report),
            OrderCommand::Cancel { lines } => self.decide_cancel(lines.as_deref(), ctx),
            OrderCommand::SettleRefund { refund, reference } => self.decide_settle(refund, reference),
            OrderCommand::Refresh { stock } => Ok(self.decide_refresh(stock, ctx)),
            OrderCommand::RequestReturn { lines, return_point, by } => {
                self.decide_request_return(lines, return_point.as_deref(), by, ctx)
            }
            OrderCommand::DecideReturn { id, decisions } => self.decide_return_decision(id, decisions),
            OrderCommand::ReceiveReturn { id, units, warehouse } => {
                self.decide_receive_return(id, units, warehouse.as_deref(), ctx)
            }
            OrderCommand::Restocked { receipt } => self.decide_restocked(receipt),
        }
    }

    fn decide_payment(&self, reference: &str, ctx: &OrderCtx<'_>) -> Result<Vec<OrderEvent>, DomainError> {
        if self.status != OrderStatus::PendingPayment {
            return Err(DomainError::OrderStatus { id: self.id.clone(), status: self.status.as_str(), action: "paid" });
        }
        if reference.trim().is_empty() || reference.chars().count() > 128 {
            return Err(DomainError::InvalidReference { value: reference.to_owned() });
        }
        let mut paid = self.clone();
        let confirmed = OrderEvent::PaymentConfirmed { reference: reference.to_owned() };
        paid.apply(&confirmed, ctx.now, "");
        let invoice = documents::invoice(&paid, ctx)?;
        Ok(vec![confirmed, OrderEvent::InvoiceIssued { invoice: Box::new(invoice) }])
    }

    fn decide_settle(&self, refund: &str, reference: &str) -> Result<Vec<OrderEvent>, DomainError> {
        let found = self
            .refunds
            .iter()
            .find(|r| r.id == refund)
            .ok_or_else(|| DomainError::UnknownRefund { order: self.id.clone(), id: refund.to_owned() })?;
        if found.reference.is_some() {
            return Err(DomainError::RefundSettled { id: refund.to_owned(), status: "settled" });
        }
        if reference.trim().is_empty() || reference.chars().count() > 128 {
            return Err(DomainError::InvalidReference { value: reference.to_owned() });
        }
        Ok(vec![OrderEvent::RefundSettled { refund: refund.to_owned(), reference: reference.to_owned() }])
    }

    /// Folds one event in, made at `at` by `by`; one that does not fit was never decided,
    /// so it asserts.
    pub fn apply(&mut self, event: &OrderEvent, at: Timestamp, by: &str) {
        match event {
            OrderEvent::Placed { .. } => return,
            OrderEvent::PaymentConfirmed { reference } => {
                assert!(self.payment.reference.is_none(), "order {}: a payment confirmed twice", self.id);
                self.payment.reference = Some(reference.clone());
            }
            OrderEvent::InvoiceIssued { invoice } => self.invoices.push((**invoice).clone()),
            OrderEvent::ShipmentSent { shipment, tracking, picks, note } => {
                self.apply_sent(shipment, tracking, picks, note, at)
            }
            OrderEvent::CarrierReported { shipment, report } => self.apply_report(shipment, report),
            OrderEvent::UnitsCancelled { cancellation } => self.apply_cancel(cancellation, at),
            OrderEvent::RefundSettled { refund, reference } => {
                let refund = self.refunds.iter_mut().find(|r| &r.id == refund).expect("decide found the refund");
                assert!(refund.reference.is_none(), "refund {} settled twice", refund.id);
                refund.reference = Some(reference.clone());
                refund.settled_at = Some(at);
            }
            OrderEvent::ShipmentReady { shipment } => self.apply_ready(shipment),
            OrderEvent::PromiseChanged { shipment, ready_date, delivery_date } => {
                self.apply_promise(shipment, *ready_date, *delivery_date)
            }
            OrderEvent::ReturnRequested { request } => self.returns.push((**request).clone()),
            OrderEvent::ReturnDecided { id, decisions } => self.apply_decided(id, decisions),
            OrderEvent::ReturnReceived { id, receipt } => self.apply_received(id, receipt),
            OrderEvent::ReturnRestocked { receipt } => self.apply_restocked(receipt),
        }
        self.status = self.derived_status();
        self.history.push(Change { at, by: by.to_owned(), what: event.kind().to_owned(), detail: event.detail() });
    }

    /// The status its lines, payment and shipments make.
    pub fn derived_status(&self) -> OrderStatus {
        if let Some(status) = self.returned_status() {
            return status;
        }
        if self.lines.iter().all(|l| l.kept() == 0) {
            return OrderStatus::Cancelled;
        }
        if !self.is_paid() {
            return OrderStatus::PendingPayment;
        }
        let live: Vec<&OrderShipment> =
            self.shipments.iter().filter(|s| s.status != ShipmentStatus::Cancelled && s.units() > 0).collect();
        if !live.is_empty() && live.iter().all(|s| s.status == ShipmentStatus::Delivered) {
            OrderStatus::Delivered
        } else if !live.is_empty() && live.iter().all(|s| s.has_left()) {
            OrderStatus::Shipped
        } else if live.iter().any(|s| s.has_left()) {
            OrderStatus::PartiallyShipped
        } else {
            OrderStatus::Paid
        }
    }
}
