//! The order's shapes on the wire.

use super::*;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AllocationDto {
    pub warehouse: String,
    pub quantity: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderLineDto {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: String,
    pub discount: String,
    pub amount: String,
    pub tax_rate: String,
    pub allocations: Vec<AllocationDto>,
    /// Units cancelled before they were sent.
    pub cancelled: u32,
    /// Units returned and received back.
    pub returned: u32,
    /// The merchant who sells it, fixed when the order was placed; none for the
    /// commerce's own goods.
    pub merchant: Option<String>,
    /// What the line pays the commerce, fixed when the order was placed; none for the
    /// commerce's own goods.
    pub commission: Option<LineCommissionDto>,
}

/// A line's commission: the rule that matched (none: the merchant's own percent), its
/// terms, and what they come to on the whole line's sale (its amount less the tax in it).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineCommissionDto {
    pub rule: Option<String>,
    pub percent: String,
    pub fixed_per_unit: String,
    pub amount: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderShipmentDto {
    pub id: String,
    /// The merchant whose goods it carries; none for the commerce's own. A shipment never
    /// mixes merchants.
    pub merchant: Option<String>,
    pub logistic_center: String,
    pub carrier: Option<String>,
    pub shipping_type: Option<String>,
    pub pickup_location: Option<String>,
    pub price: String,
    pub delivery_date: String,
    /// `awaiting_stock`, `ready`, `sent`, `delivered`, `returned` or `cancelled`.
    pub status: String,
    pub items: Vec<ShipmentItemDto>,
    pub tracking: Vec<String>,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    /// The carrier's own status code: that of its furthest report.
    pub carrier_status: Option<String>,
    pub carrier_events: Vec<CarrierEventDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentDto {
    pub system: String,
    pub kind: &'static str,
    /// `approved` or `pending`.
    pub status: &'static str,
    pub reference: Option<String>,
    pub amount: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentDto {
    pub kind: &'static str,
    pub number: String,
    pub issued_at: String,
    pub seller: SellerDto,
    pub buyer: AddressDto,
    pub language: String,
    pub totals: TotalsDto,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SellerDto {
    pub invoicing_company: String,
    pub legal_name: String,
    pub tax_id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderDto {
    pub id: String,
    pub cart: String,
    pub status: &'static str,
    pub placed_at: String,
    pub channel: String,
    pub language: String,
    pub currency: String,
    pub address: AddressDto,
    pub delivery: DeliveryDto,
    pub lines: Vec<OrderLineDto>,
    pub shipments: Vec<OrderShipmentDto>,
    pub totals: TotalsDto,
    pub payment: PaymentDto,
    pub documents: Vec<DocumentDto>,
    pub invoices: Vec<InvoiceDto>,
    pub delivery_notes: Vec<DeliveryNoteDto>,
    pub refunds: Vec<RefundDto>,
    pub returns: Vec<ReturnDto>,
    pub money: MoneyDto,
}

pub(crate) fn document_dto(order: &Order) -> DocumentDto {
    let d = &order.document;
    DocumentDto {
        kind: "order",
        number: d.number.clone(),
        issued_at: timestamp(d.issued_at),
        seller: SellerDto {
            invoicing_company: order.invoicing_company.clone(),
            legal_name: d.seller_legal_name.clone(),
            tax_id: d.seller_tax_id.clone(),
        },
        buyer: address_dto(&d.buyer),
        language: d.language.clone(),
        totals: totals_dto(&d.totals),
    }
}

pub(crate) fn shipment_status(status: mercato_engine::commerce::model::ShipmentStatus) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub(crate) fn order_line_dto(order: &Order, l: &mercato_engine::order::OrderLine, commerce: &Commerce) -> OrderLineDto {
    let units = minor_units(commerce, &order.context.currency);
    let commission = l.seller.as_ref().map(|seller| LineCommissionDto {
        rule: seller.commission.rule.clone(),
        percent: seller.commission.percent.normalize().to_string(),
        fixed_per_unit: seller.commission.fixed_per_unit.to_string(),
        amount: seller
            .commission
            .for_units(&l.amount, l.amount.quantity, order.totals.tax_inclusive, units)
            .to_string(),
    });
    OrderLineDto {
        id: l.id.clone(),
        sku: l.sku.clone(),
        name: l.name.clone(),
        quantity: l.amount.quantity,
        unit_price: l.amount.unit_price.to_string(),
        discount: l.amount.discount.to_string(),
        amount: l.amount.amount.to_string(),
        tax_rate: l.amount.tax_rate.normalize().to_string(),
        allocations: l
            .allocations
            .iter()
            .map(|a| AllocationDto { warehouse: a.warehouse.clone(), quantity: a.quantity })
            .collect(),
        cancelled: l.cancelled,
        returned: l.returned,
        merchant: l.merchant(commerce).map(str::to_owned),
        commission,
    }
}

pub fn order_dto(order: &Order, commerce: &Commerce) -> OrderDto {
    let units = minor_units(commerce, &order.context.currency);
    OrderDto {
        id: order.id.clone(),
        cart: order.cart.clone(),
        status: order.status.as_str(),
        placed_at: timestamp(order.placed_at),
        channel: order.context.channel.clone(),
        language: order.context.language.clone(),
        currency: order.context.currency.clone(),
        address: address_dto(&order.address),
        delivery: delivery_dto(&order.delivery),
        lines: order.lines.iter().map(|l| order_line_dto(order, l, commerce)).collect(),
        shipments: order.shipments.iter().map(|s| shipment_dto(order, s, units, commerce)).collect(),
        totals: totals_dto(&order.totals),
        payment: PaymentDto {
            system: order.payment.system.clone(),
            kind: if order.payment.online { "online" } else { "offline" },
            status: if order.payment.reference.is_some() { "approved" } else { "pending" },
            reference: order.payment.reference.clone(),
            amount: money(order.payment.amount, units),
        },
        documents: vec![document_dto(order)],
        invoices: order.invoices.iter().map(|i| invoice_dto(i, &order.id, &order.context.currency)).collect(),
        delivery_notes: order.delivery_notes.iter().map(delivery_note_dto).collect(),
        refunds: order.refunds.iter().map(|r| refund_dto(r, units)).collect(),
        returns: order.returns.iter().map(return_dto).collect(),
        money: money_dto(order, units),
    }
}

pub(crate) fn shipment_dto(
    order: &Order,
    s: &mercato_engine::order::OrderShipment,
    units: u32,
    commerce: &Commerce,
) -> OrderShipmentDto {
    OrderShipmentDto {
        id: s.id.clone(),
        merchant: s.merchant(order, commerce).map(str::to_owned),
        logistic_center: s.center.clone(),
        carrier: s.carrier.clone(),
        shipping_type: s.shipping_type.clone(),
        pickup_location: s.pickup_location.clone(),
        price: money(s.price, units),
        delivery_date: s.delivery_date.to_string(),
        status: shipment_status(s.status),
        items: s.items.iter().map(item_dto).collect(),
        tracking: s.tracking.clone(),
        sent_at: s.sent_at.map(timestamp),
        delivered_at: s.delivered_at.map(timestamp),
        carrier_status: s.carrier_status.clone(),
        carrier_events: s
            .carrier_events
            .iter()
            .map(|e| CarrierEventDto {
                id: e.id.clone(),
                code: e.code.clone(),
                at: timestamp(e.at),
                received_at: timestamp(e.received_at),
                status: e.status.map(|s| s.as_str().to_owned()),
            })
            .collect(),
    }
}

pub(crate) fn order_body(order: &Order, commerce: &Commerce) -> Vec<u8> {
    serde_json::to_vec(&order_dto(order, commerce)).unwrap_or_default()
}
