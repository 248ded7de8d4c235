//! An order's stored types in format 3: its life after checkout (invoices, credit notes,
//! delivery notes, refunds, carrier reports, cancelled units, returns, history). Amounts, shipment
//! items, the payment and the order document are format 2's.

use chrono::NaiveDate;
use mercato_engine::commerce::model as commerce;
use mercato_engine::order as engine;
use rust_decimal::Decimal;

use crate::stored::convert::{stored_enum, stored_struct};
pub use crate::stored::v2::cart::{CartContext, DeliveryChoice, ShippingAddress};
pub use crate::stored::v2::order::{LineAmount, OrderDocument, Payment, ShipmentItem, TaxAmount, Totals};

stored_enum! {
    OrderStatus => engine::OrderStatus {
        PendingPayment, Paid, PartiallyShipped, Shipped, Delivered, Cancelled, PartiallyReturned, Returned,
    }
}

stored_struct! {
    Allocation => engine::Allocation { warehouse: String, key: String, quantity: u32, shipped: u32, released: u32 }
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
    }
    fill { seller: None }
}

stored_enum! {
    ShipmentStatus => commerce::ShipmentStatus { AwaitingStock, Ready, Sent, Delivered, Returned, Cancelled }
}

stored_struct! {
    CarrierReport => engine::CarrierReport {
        id: String,
        code: String,
        at: i64,
        received_at: i64,
        status: Option<ShipmentStatus>,
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
        tracking: Vec<String>,
        sent_at: Option<i64>,
        delivered_at: Option<i64>,
        carrier_status: Option<String>,
        carrier_events: Vec<CarrierReport>,
    }
}

stored_enum! {
    RefundReason => engine::RefundReason { Cancellation, Return }
}

stored_struct! {
    Refund => engine::Refund {
        id: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
        reason: RefundReason,
        online: bool,
        requested_at: i64,
        reference: Option<String>,
        settled_at: Option<i64>,
    }
}

stored_struct! {
    InvoiceLine => engine::InvoiceLine {
        line: String,
        sku: String,
        name: String,
        quantity: u32,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    }
}

stored_struct! {
    NationalTaxes => engine::NationalTaxes {
        currency: String,
        #[serde(with = "rust_decimal::serde::str")]
        rate: Decimal,
        taxes: Vec<TaxAmount>,
        #[serde(with = "rust_decimal::serde::str")]
        tax_total: Decimal,
    }
}

stored_struct! {
    Invoice => engine::Invoice {
        number: String,
        corrects: Option<String>,
        company: String,
        seller_legal_name: String,
        seller_tax_id: String,
        buyer: ShippingAddress,
        issued_at: i64,
        currency: String,
        #[serde(with = "rust_decimal::serde::str")]
        rate: Decimal,
        tax_inclusive: bool,
        lines: Vec<InvoiceLine>,
        #[serde(with = "rust_decimal::serde::str")]
        shipping: Decimal,
        taxes: Vec<TaxAmount>,
        #[serde(with = "rust_decimal::serde::str")]
        total: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        order_amount: Decimal,
        national: Option<NationalTaxes>,
    }
}

stored_struct! {
    NoteItem => engine::NoteItem { line: String, sku: String, name: String, quantity: u32 }
}

stored_struct! {
    DeliveryNote => engine::DeliveryNote {
        number: String,
        shipment: String,
        issued_at: i64,
        tracking: Vec<String>,
        items: Vec<NoteItem>,
    }
}

stored_struct! {
    Change => engine::Change { at: i64, by: String, what: String, detail: String }
}

stored_struct! {
    Pick => engine::Pick { warehouse: String, key: String, quantity: u32 }
}

stored_struct! {
    ItemCut => engine::ItemCut { shipment: String, line: String, quantity: u32 }
}

stored_struct! {
    Cancellation => engine::Cancellation {
        lines: Vec<(String, u32)>,
        cuts: Vec<ItemCut>,
        releases: Vec<Pick>,
        refund: Option<Refund>,
        #[serde(with = "rust_decimal::serde::str")]
        owed_less: Decimal,
    }
}

stored_enum! {
    ReturnDecision => engine::ReturnDecision { Requested, Accepted, Rejected }
}

stored_struct! {
    ReturnLine => engine::ReturnLine { line: String, quantity: u32, reason: String, decision: ReturnDecision, received: u32 }
}

stored_struct! {
    ReceivedUnits => engine::ReceivedUnits { line: String, sku: String, quantity: u32, resellable: bool }
}

stored_struct! {
    ReturnReceipt => engine::ReturnReceipt {
        number: String,
        received_at: i64,
        warehouse: Option<String>,
        units: Vec<ReceivedUnits>,
        refund: Option<Refund>,
        restocked: bool,
    }
}

stored_struct! {
    Return => engine::Return {
        id: String,
        requested_at: i64,
        requested_by: String,
        return_point: Option<String>,
        lines: Vec<ReturnLine>,
        receipts: Vec<ReturnReceipt>,
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
    /// they were (bincode stores a variant's position), so format 3 may gain variants.
    OrderEvent => engine::OrderEvent {
        Placed { order: Box<Order> },
        PaymentConfirmed { reference: String },
        InvoiceIssued { invoice: Box<Invoice> },
        ShipmentSent { shipment: String, tracking: Vec<String>, picks: Vec<Pick>, note: Box<DeliveryNote> },
        CarrierReported { shipment: String, report: CarrierReport },
        UnitsCancelled { cancellation: Box<Cancellation> },
        RefundSettled { refund: String, reference: String },
        ShipmentReady { shipment: String },
        PromiseChanged { shipment: String, ready_date: NaiveDate, delivery_date: NaiveDate },
        ReturnRequested { request: Box<Return> },
        ReturnDecided { id: String, decisions: Vec<(String, bool)> },
        ReturnReceived { id: String, receipt: Box<ReturnReceipt> },
        ReturnRestocked { receipt: String },
    }
}
