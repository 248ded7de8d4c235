//! The order a checkout places: its lines with the allocations their holds became, its
//! shipments, its totals, its payment and the order document.

use rust_decimal::Decimal;

use super::{Allocation, Order, OrderDocument, OrderLine, OrderShipment, OrderStatus, Payment};
use crate::cart::{Cart, DeliveryChoice, ShippingAddress};
use crate::inventory::Timestamp;
use crate::pricing::totals::Totals;

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
    /// The seller of a SKU in the order's currency and the commission it pays.
    pub sellers: &'a dyn Fn(&str) -> Option<super::Seller>,
    /// The tax rate shipping is taxed at, when it is.
    pub shipping_tax_rate: Option<Decimal>,
    /// Who places it (the key's principal).
    pub by: String,
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
            cancelled: 0,
            returned: 0,
            seller: (checkout.sellers)(&amount.sku),
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
        placed_by: checkout.by,
        context: checkout.cart.context.clone(),
        address: checkout.address,
        delivery: checkout.delivery,
        invoicing_company: checkout.invoicing_company.code.clone(),
        status: if checkout.payment.reference.is_some() { OrderStatus::Paid } else { OrderStatus::PendingPayment },
        lines,
        shipments: checkout.shipments,
        totals: checkout.totals,
        shipping_tax_rate: checkout.shipping_tax_rate,
        payment: checkout.payment,
        document,
        invoices: Vec::new(),
        delivery_notes: Vec::new(),
        refunds: Vec::new(),
        returns: Vec::new(),
        history: Vec::new(),
    }
}
