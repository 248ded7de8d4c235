//! An order's stored types in format 7: a line keeps its seller and the commission it
//! pays, fixed at placement. Every other order type is format 3's.

use mercato_engine::commerce::commissions as engine_commissions;
use mercato_engine::order as engine;
use rust_decimal::Decimal;

use crate::stored::convert::{stored_enum, stored_struct};
use crate::stored::v3::order::{
    Allocation, Cancellation, CarrierReport, CartContext, Change, DeliveryChoice, DeliveryNote, Invoice, LineAmount,
    OrderDocument, OrderShipment, OrderStatus, Payment, Pick, Refund, Return, ReturnReceipt, ShippingAddress, Totals,
};

stored_struct! {
    Commission => engine_commissions::Commission {
        rule: Option<String>,
        #[serde(with = "rust_decimal::serde::str")]
        percent: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        fixed_per_unit: Decimal,
    }
}

stored_struct! {
    Seller => engine::Seller { merchant: String, commission: Commission }
}

stored_struct! {
    OrderLine => engine::OrderLine {
        id: String,
        sku: String,
        name: String,
        amount: LineAmount,
        allocations: Vec<Allocation>,
        cancelled: u32,
        returned: u32,
        seller: Option<Seller>,
    }
}

stored_struct! {
    Order => engine::Order {
        id: String,
        cart: String,
        placed_at: i64,
        placed_by: String,
        context: CartContext,
        address: ShippingAddress,
        delivery: DeliveryChoice,
        invoicing_company: String,
        status: OrderStatus,
        lines: Vec<OrderLine>,
        shipments: Vec<OrderShipment>,
        totals: Totals,
        #[serde(with = "rust_decimal::serde::str_option")]
        shipping_tax_rate: Option<Decimal>,
        payment: Payment,
        document: OrderDocument,
        invoices: Vec<Invoice>,
        delivery_notes: Vec<DeliveryNote>,
        refunds: Vec<Refund>,
        returns: Vec<Return>,
        history: Vec<Change>,
    }
}

stored_enum! {
    /// An order's event. A variant appended at the end leaves the bytes of the others as
    /// they were (bincode stores a variant's position), so format 7 may gain variants.
    OrderEvent => engine::OrderEvent {
        Placed { order: Box<Order> },
        PaymentConfirmed { reference: String },
        InvoiceIssued { invoice: Box<Invoice> },
        ShipmentSent { shipment: String, tracking: Vec<String>, picks: Vec<Pick>, note: Box<DeliveryNote> },
        CarrierReported { shipment: String, report: CarrierReport },
        UnitsCancelled { cancellation: Box<Cancellation> },
        RefundSettled { refund: String, reference: String },
        ShipmentReady { shipment: String },
        PromiseChanged { shipment: String, ready_date: chrono::NaiveDate, delivery_date: chrono::NaiveDate },
        ReturnRequested { request: Box<Return> },
        ReturnDecided { id: String, decisions: Vec<(String, bool)> },
        ReturnReceived { id: String, receipt: Box<ReturnReceipt> },
        ReturnRestocked { receipt: String },
    }
}
