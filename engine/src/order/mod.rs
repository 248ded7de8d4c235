//! Orders: what checkout makes of a cart. An order fixes the prices, the shipments and
//! their shipping types, where each unit comes from (the warehouse allocations or promises
//! its reservations became), the payment and the order document.
//!
//! `place` builds the order from a priced, planned cart; later changes (a payment
//! confirmed) go through `decide`/`apply` like every other aggregate. `quote` computes a
//! cart's prices, delivery and totals, which checkout fixes into the order.

pub mod listing;
pub mod quote;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::cart::{Cart, CartContext, DeliveryChoice, ShippingAddress};
use crate::commerce::model::ShipmentStatus;
use crate::delivery::ShipmentItem;
use crate::error::DomainError;
use crate::inventory::Timestamp;
use crate::pricing::totals::{LineAmount, Totals};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    PartiallyShipped,
    Shipped,
    Delivered,
    Cancelled,
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
            OrderStatus::Returned => "returned",
        }
    }
}

/// Units of an order line a warehouse keeps for it (allocated now or promised later),
/// under the warehouse's order-line key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub warehouse: String,
    pub key: String,
    pub quantity: u32,
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
    pub items: Vec<ShipmentItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub system: String,
    pub online: bool,
    /// The gateway's reference once approved, or the administrator's confirmation.
    pub reference: Option<String>,
    pub amount: Decimal,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub cart: String,
    pub placed_at: Timestamp,
    pub context: CartContext,
    pub address: ShippingAddress,
    pub delivery: DeliveryChoice,
    pub invoicing_company: String,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub shipments: Vec<OrderShipment>,
    pub totals: Totals,
    pub payment: Payment,
    pub document: OrderDocument,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    /// An offline payment arrived (an administrator confirms it).
    ConfirmPayment { reference: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    Placed { order: Box<Order> },
    PaymentConfirmed { reference: String },
}

impl Order {
    /// The order a `Placed` event starts.
    pub fn from_placed(event: &OrderEvent) -> Option<Order> {
        match event {
            OrderEvent::Placed { order } => Some((**order).clone()),
            _ => None,
        }
    }

    pub fn decide(&self, command: &OrderCommand) -> Result<Vec<OrderEvent>, DomainError> {
        match command {
            OrderCommand::ConfirmPayment { reference } => {
                if self.status != OrderStatus::PendingPayment {
                    return Err(DomainError::OrderStatus {
                        id: self.id.clone(),
                        status: self.status.as_str(),
                        action: "paid",
                    });
                }
                if reference.trim().is_empty() || reference.chars().count() > 128 {
                    return Err(DomainError::InvalidReference { value: reference.clone() });
                }
                Ok(vec![OrderEvent::PaymentConfirmed { reference: reference.clone() }])
            }
        }
    }

    /// Folds one event in; one that does not fit was never decided, so it asserts.
    pub fn apply(&mut self, event: &OrderEvent) {
        match event {
            OrderEvent::Placed { .. } => {}
            OrderEvent::PaymentConfirmed { reference } => {
                assert_eq!(self.status, OrderStatus::PendingPayment, "order {}: a payment confirmed twice", self.id);
                self.status = OrderStatus::Paid;
                self.payment.reference = Some(reference.clone());
            }
        }
    }
}

/// What the checkout of a cart needs besides the cart.
pub struct Checkout<'a> {
    pub id: String,
    pub cart: &'a Cart,
    pub now: Timestamp,
    pub address: ShippingAddress,
    pub delivery: DeliveryChoice,
    pub invoicing_company: &'a crate::commerce::model::InvoicingCompany,
    pub totals: Totals,
    pub shipments: Vec<OrderShipment>,
    pub allocations: Vec<(String, Allocation)>,
    /// Approved already (online gateway) when it carries a reference.
    pub payment: Payment,
    pub names: &'a dyn Fn(&str) -> String,
}

/// Builds the order a checkout places.
pub fn place(checkout: Checkout<'_>) -> Order {
    let lines = checkout
        .totals
        .lines
        .iter()
        .map(|amount| OrderLine {
            id: amount.line.clone(),
            sku: amount.sku.clone(),
            name: (checkout.names)(&amount.sku),
            amount: amount.clone(),
            allocations: checkout
                .allocations
                .iter()
                .filter(|(line, _)| *line == amount.line)
                .map(|(_, a)| a.clone())
                .collect(),
        })
        .collect();
    let document = OrderDocument {
        number: checkout.id.clone(),
        issued_at: checkout.now,
        seller_legal_name: checkout.invoicing_company.legal_name.clone(),
        seller_tax_id: checkout.invoicing_company.tax_id.clone(),
        buyer: checkout.address.clone(),
        language: checkout.cart.context.language.clone(),
        totals: checkout.totals.clone(),
    };
    Order {
        id: checkout.id,
        cart: checkout.cart.id.clone(),
        placed_at: checkout.now,
        context: checkout.cart.context.clone(),
        address: checkout.address,
        delivery: checkout.delivery,
        invoicing_company: checkout.invoicing_company.code.clone(),
        status: if checkout.payment.reference.is_some() { OrderStatus::Paid } else { OrderStatus::PendingPayment },
        lines,
        shipments: checkout.shipments,
        totals: checkout.totals,
        payment: checkout.payment,
        document,
    }
}
