//! The shapes of an order's life after checkout: invoices and credit notes, delivery
//! notes, refunds, carrier reports, its money and its history.

use mercato_engine::order::{Balance, Change, DeliveryNote, Invoice, Refund, RefundReason, Return};
use mercato_engine::pricing::totals::TaxAmount;

use super::*;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceLineDto {
    pub line: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    /// On the channel's basis (with tax when its prices show tax), in the invoice's
    /// currency; negative on a credit note.
    pub amount: String,
}

/// The tax totals in the invoicing company's national currency (EU VAT directive, article
/// 230), when the invoice is in another.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NationalTaxesDto {
    pub currency: String,
    /// Units of it for one unit of the order's currency.
    pub rate: String,
    pub taxes: Vec<TaxDto>,
    pub tax_total: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceDto {
    /// `{prefix}-{year}-{seq:06}` in the company's series (its corrective series for a
    /// credit note): no number skipped or used twice.
    pub number: String,
    /// `invoice` or `credit_note`.
    pub kind: &'static str,
    /// The invoice a credit note corrects.
    pub corrects: Option<String>,
    pub order: String,
    pub issued_at: String,
    pub seller: SellerDto,
    pub buyer: AddressDto,
    pub currency: String,
    /// Units of the invoice's currency for one unit of the order's.
    pub rate: String,
    pub tax_inclusive: bool,
    pub lines: Vec<InvoiceLineDto>,
    pub shipping: String,
    pub taxes: Vec<TaxDto>,
    pub total: String,
    /// The total in the order's currency.
    pub order_amount: String,
    pub order_currency: String,
    pub national: Option<NationalTaxesDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoteItemDto {
    pub line: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
}

/// What left in a shipment: lines and units, no prices.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryNoteDto {
    pub number: String,
    pub shipment: String,
    pub issued_at: String,
    pub tracking: Vec<String>,
    pub items: Vec<NoteItemDto>,
}

/// Every document of an order: the order document, its invoices and credit notes, and a
/// delivery note per shipment sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentsDto {
    pub order: DocumentDto,
    pub invoices: Vec<InvoiceDto>,
    pub delivery_notes: Vec<DeliveryNoteDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefundDto {
    pub id: String,
    pub amount: String,
    /// `cancellation` or `return`.
    pub reason: &'static str,
    /// `online` (the gateway pays it back) or `offline` (an administrator confirms it).
    pub kind: &'static str,
    /// `pending` or `settled`.
    pub status: &'static str,
    pub reference: Option<String>,
    pub requested_at: String,
    pub settled_at: Option<String>,
}

/// The order's money in its currency: `captured - refunded = invoiced - credited` once
/// invoiced.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MoneyDto {
    /// What the customer still owes (an order not paid yet).
    pub owed: String,
    pub captured: String,
    /// Refunds decided, pending or settled.
    pub refunded: String,
    pub refunded_settled: String,
    pub invoiced: String,
    pub credited: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CarrierEventDto {
    pub id: String,
    pub code: String,
    pub at: String,
    pub received_at: String,
    /// The shipment status the carrier's map gives the code; null for a code it lacks.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeDto {
    pub at: String,
    /// The key's principal, `system` for the node's own steps, `carrier:{code}` for a
    /// carrier's report.
    pub by: String,
    /// `placed`, `payment_confirmed`, `invoice_issued`, `credit_note_issued`,
    /// `shipment_sent`, `carrier_reported`, `units_cancelled`, `refund_settled`,
    /// `shipment_ready`, `promise_changed`, `return_requested`, `return_decided`,
    /// `return_received` or `return_restocked`.
    pub what: String,
    pub detail: String,
}

/// An order's history: its placement, then every change, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryDto {
    pub order: String,
    pub status: &'static str,
    pub changes: Vec<ChangeDto>,
}

fn tax_dtos(taxes: &[TaxAmount]) -> Vec<TaxDto> {
    taxes
        .iter()
        .map(|x| TaxDto {
            name: x.name.clone(),
            rate: x.rate.normalize().to_string(),
            base: x.base.to_string(),
            tax: x.tax.to_string(),
        })
        .collect()
}

pub fn invoice_dto(invoice: &Invoice, order: &str, order_currency: &str) -> InvoiceDto {
    InvoiceDto {
        number: invoice.number.clone(),
        kind: if invoice.corrects.is_some() { "credit_note" } else { "invoice" },
        corrects: invoice.corrects.clone(),
        order: order.to_owned(),
        issued_at: timestamp(invoice.issued_at),
        seller: SellerDto {
            invoicing_company: invoice.company.clone(),
            legal_name: invoice.seller_legal_name.clone(),
            tax_id: invoice.seller_tax_id.clone(),
        },
        buyer: address_dto(&invoice.buyer),
        currency: invoice.currency.clone(),
        rate: invoice.rate.normalize().to_string(),
        tax_inclusive: invoice.tax_inclusive,
        lines: invoice
            .lines
            .iter()
            .map(|l| InvoiceLineDto {
                line: l.line.clone(),
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                amount: l.amount.to_string(),
            })
            .collect(),
        shipping: invoice.shipping.to_string(),
        taxes: tax_dtos(&invoice.taxes),
        total: invoice.total.to_string(),
        order_amount: invoice.order_amount.to_string(),
        order_currency: order_currency.to_owned(),
        national: invoice.national.as_ref().map(|n| NationalTaxesDto {
            currency: n.currency.clone(),
            rate: n.rate.normalize().to_string(),
            taxes: tax_dtos(&n.taxes),
            tax_total: n.tax_total.to_string(),
        }),
    }
}

pub fn delivery_note_dto(note: &DeliveryNote) -> DeliveryNoteDto {
    DeliveryNoteDto {
        number: note.number.clone(),
        shipment: note.shipment.clone(),
        issued_at: timestamp(note.issued_at),
        tracking: note.tracking.clone(),
        items: note
            .items
            .iter()
            .map(|i| NoteItemDto {
                line: i.line.clone(),
                sku: i.sku.clone(),
                name: i.name.clone(),
                quantity: i.quantity,
            })
            .collect(),
    }
}

pub fn refund_dto(refund: &Refund, units: u32) -> RefundDto {
    RefundDto {
        id: refund.id.clone(),
        amount: money(refund.amount, units),
        reason: match refund.reason {
            RefundReason::Cancellation => "cancellation",
            RefundReason::Return => "return",
        },
        kind: if refund.online { "online" } else { "offline" },
        status: if refund.reference.is_some() { "settled" } else { "pending" },
        reference: refund.reference.clone(),
        requested_at: timestamp(refund.requested_at),
        settled_at: refund.settled_at.map(timestamp),
    }
}

pub fn money_dto(order: &Order, units: u32) -> MoneyDto {
    let Balance { captured, refunded, refunded_settled, invoiced, credited, .. } = order.balance();
    let owed = if order.is_paid() { Decimal::ZERO } else { order.payment.amount };
    MoneyDto {
        owed: money(owed, units),
        captured: money(captured, units),
        refunded: money(refunded, units),
        refunded_settled: money(refunded_settled, units),
        invoiced: money(invoiced, units),
        credited: money(credited, units),
    }
}

pub fn documents_dto(order: &Order) -> DocumentsDto {
    DocumentsDto {
        order: document_dto(order),
        invoices: order.invoices.iter().map(|i| invoice_dto(i, &order.id, &order.context.currency)).collect(),
        delivery_notes: order.delivery_notes.iter().map(delivery_note_dto).collect(),
    }
}

pub fn history_dto(order: &Order) -> HistoryDto {
    let placed = ChangeDto {
        at: timestamp(order.placed_at),
        by: order.placed_by.clone(),
        what: "placed".into(),
        detail: format!(
            "{} units, {} {}",
            order.lines.iter().map(|l| u64::from(l.amount.quantity)).sum::<u64>(),
            order.totals.total,
            order.totals.currency
        ),
    };
    let changes = std::iter::once(placed)
        .chain(order.history.iter().map(|c: &Change| ChangeDto {
            at: timestamp(c.at),
            by: c.by.clone(),
            what: c.what.clone(),
            detail: c.detail.clone(),
        }))
        .collect();
    HistoryDto { order: order.id.clone(), status: order.status.as_str(), changes }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReturnLineDto {
    pub line: String,
    pub quantity: u32,
    pub reason: String,
    /// `requested`, `accepted` or `rejected`.
    pub status: &'static str,
    /// Units received back so far.
    pub received: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceivedUnitsDto {
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    /// `resellable` (back on hand) or `damaged`.
    pub condition: &'static str,
}

/// The return order document of one receipt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReturnReceiptDto {
    pub number: String,
    pub received_at: String,
    /// Where resellable units went back on hand.
    pub warehouse: Option<String>,
    pub units: Vec<ReceivedUnitsDto>,
    /// The refund it made (a paid order).
    pub refund: Option<String>,
    /// Whether the warehouse has the resellable units back on hand.
    pub restocked: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReturnDto {
    pub id: String,
    pub requested_at: String,
    pub requested_by: String,
    pub return_point: Option<String>,
    pub lines: Vec<ReturnLineDto>,
    pub receipts: Vec<ReturnReceiptDto>,
}

pub fn return_dto(request: &Return) -> ReturnDto {
    ReturnDto {
        id: request.id.clone(),
        requested_at: timestamp(request.requested_at),
        requested_by: request.requested_by.clone(),
        return_point: request.return_point.clone(),
        lines: request
            .lines
            .iter()
            .map(|l| ReturnLineDto {
                line: l.line.clone(),
                quantity: l.quantity,
                reason: l.reason.clone(),
                status: l.decision.as_str(),
                received: l.received,
            })
            .collect(),
        receipts: request.receipts.iter().map(receipt_dto).collect(),
    }
}

pub fn receipt_dto(r: &mercato_engine::order::ReturnReceipt) -> ReturnReceiptDto {
    ReturnReceiptDto {
        number: r.number.clone(),
        received_at: timestamp(r.received_at),
        warehouse: r.warehouse.clone(),
        units: r
            .units
            .iter()
            .map(|u| ReceivedUnitsDto {
                line: u.line.clone(),
                sku: u.sku.clone(),
                quantity: u.quantity,
                condition: if u.resellable { "resellable" } else { "damaged" },
            })
            .collect(),
        refund: r.refund.as_ref().map(|f| f.id.clone()),
        restocked: r.restocked,
    }
}
