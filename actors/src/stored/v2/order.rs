//! An order's stored types in format 2: its events and its state, with the amounts and
//! shipments checkout fixed into it. Only read: what the engine holds since is filled in.

use chrono::NaiveDate;
use mercato_engine::commerce::model as commerce;
use mercato_engine::delivery;
use mercato_engine::order as engine;
use mercato_engine::pricing::totals;
use rust_decimal::Decimal;

use super::cart::{CartContext, DeliveryChoice, ShippingAddress};
use crate::stored::convert::{stored_enum, stored_struct};

stored_enum! {
    OrderStatus => engine::OrderStatus {
        PendingPayment, Paid, PartiallyShipped, Shipped, Delivered, Cancelled, Returned,
    }
    newer { engine::OrderStatus::PartiallyReturned => Self::Returned }
}

stored_struct! {
    Allocation => engine::Allocation { warehouse: String, key: String, quantity: u32 }
    fill { shipped: 0, released: 0 }
}

stored_struct! {
    LineAmount => totals::LineAmount {
        line: String,
        sku: String,
        quantity: u32,
        #[serde(with = "rust_decimal::serde::str")]
        unit_price: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        discount: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        tax_rate: Decimal,
    }
}

stored_struct! {
    TaxAmount => totals::TaxAmount {
        name: String,
        #[serde(with = "rust_decimal::serde::str")]
        rate: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        base: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        tax: Decimal,
    }
}

stored_struct! {
    Totals => totals::Totals {
        currency: String,
        tax_inclusive: bool,
        lines: Vec<LineAmount>,
        #[serde(with = "rust_decimal::serde::str")]
        subtotal: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        discounts: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        shipping: Decimal,
        taxes: Vec<TaxAmount>,
        #[serde(with = "rust_decimal::serde::str")]
        total: Decimal,
        applied_discounts: Vec<String>,
    }
}

stored_struct! {
    OrderLine => engine::OrderLine {
        id: String,
        sku: String,
        name: String,
        amount: LineAmount,
        allocations: Vec<Allocation>,
    }
    fill { cancelled: 0, returned: 0, seller: None }
}

stored_enum! {
    ShipmentStatus => commerce::ShipmentStatus { AwaitingStock, Ready, Sent, Delivered, Returned }
    newer { commerce::ShipmentStatus::Cancelled => Self::Returned }
}

stored_struct! {
    ShipmentItem => delivery::ShipmentItem {
        line: String,
        sku: String,
        quantity: u32,
        ready_date: NaiveDate,
        awaiting_stock: bool,
    }
}

stored_struct! {
    OrderShipment => engine::OrderShipment {
        id: String,
        center: String,
        carrier: Option<String>,
        shipping_type: Option<String>,
        pickup_location: Option<String>,
        #[serde(with = "rust_decimal::serde::str")]
        price: Decimal,
        delivery_date: NaiveDate,
        status: ShipmentStatus,
        items: Vec<ShipmentItem>,
    }
    fill { tracking: Vec::new(), sent_at: None, delivered_at: None, carrier_status: None, carrier_events: Vec::new() }
}

stored_struct! {
    Payment => engine::Payment {
        system: String,
        online: bool,
        reference: Option<String>,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    }
}

stored_struct! {
    OrderDocument => engine::OrderDocument {
        number: String,
        issued_at: i64,
        seller_legal_name: String,
        seller_tax_id: String,
        buyer: ShippingAddress,
        language: String,
        totals: Totals,
    }
}

stored_struct! {
    Order => engine::Order {
        id: String,
        cart: String,
        placed_at: i64,
        context: CartContext,
        address: ShippingAddress,
        delivery: DeliveryChoice,
        invoicing_company: String,
        status: OrderStatus,
        lines: Vec<OrderLine>,
        shipments: Vec<OrderShipment>,
        totals: Totals,
        payment: Payment,
        document: OrderDocument,
    }
    fill {
        placed_by: String::new(),
        shipping_tax_rate: None,
        invoices: Vec::new(),
        delivery_notes: Vec::new(),
        refunds: Vec::new(),
        returns: Vec::new(),
        history: Vec::new(),
    }
}

stored_enum! {
    /// An order's event, in the engine's order of variants.
    OrderEvent => engine::OrderEvent {
        Placed { order: Box<Order> },
        PaymentConfirmed { reference: String },
    }
    newer { _ => Self::PaymentConfirmed { reference: String::new() } }
}
