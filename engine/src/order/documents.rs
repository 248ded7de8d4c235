//! The documents an order issues after placement, immutable once issued: the invoice when
//! it is paid, credit notes (corrective invoices) when invoiced units go, and a delivery
//! note per shipment sent.
//!
//! An invoice is numbered `{prefix}-{year}-{seq:06}` in its company's series; the order
//! actor, the one writer of its commerce's series, hands out the next number and the
//! number is in the same log record as the invoice, so no number is skipped or used twice.
//! It is in the order's currency when the company accounts in it, else in the company's
//! first accounting currency at the configured rates; when that is not the company's
//! national currency, the tax totals are also stated in it. A credit note keeps its
//! invoice's currency and rates, in the company's corrective series, with negative
//! amounts.

use chrono::Datelike;
use rust_decimal::Decimal;

use super::money::Worth;
use super::{Order, OrderCtx};
use crate::cart::ShippingAddress;
use crate::commerce::model::InvoicingCompany;
use crate::commerce::Commerce;
use crate::error::DomainError;
use crate::inventory::Timestamp;
use crate::pricing::totals::TaxAmount;
use crate::pricing::{minor_units, round};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    pub line: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    /// On the channel's basis (with tax when it shows prices with tax), in the invoice's
    /// currency; negative on a credit note.
    pub amount: Decimal,
}

/// The tax totals in the company's national currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalTaxes {
    pub currency: String,
    /// Units of it for one unit of the order's currency.
    pub rate: Decimal,
    pub taxes: Vec<TaxAmount>,
    pub tax_total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub number: String,
    /// The invoice a credit note corrects; none for an invoice.
    pub corrects: Option<String>,
    pub company: String,
    pub seller_legal_name: String,
    pub seller_tax_id: String,
    pub buyer: ShippingAddress,
    pub issued_at: Timestamp,
    pub currency: String,
    /// Units of the invoice's currency for one unit of the order's.
    pub rate: Decimal,
    pub tax_inclusive: bool,
    pub lines: Vec<InvoiceLine>,
    pub shipping: Decimal,
    pub taxes: Vec<TaxAmount>,
    pub total: Decimal,
    /// The total in the order's currency (what the ledger counts).
    pub order_amount: Decimal,
    pub national: Option<NationalTaxes>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteItem {
    pub line: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
}

/// What leaves in a shipment: lines and units, no prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryNote {
    pub number: String,
    pub shipment: String,
    pub issued_at: Timestamp,
    pub tracking: Vec<String>,
    pub items: Vec<NoteItem>,
}

/// `-x`, never a negative zero.
fn negated(x: Decimal) -> Decimal {
    let mut n = -x;
    if n.is_zero() {
        n.set_sign_positive(true);
    }
    n
}

/// The year (UTC) of a moment.
fn year_of(at: Timestamp) -> i32 {
    chrono::DateTime::from_timestamp_millis(at.0).map_or(1970, |d| d.year())
}

/// The series an invoice issued at `at` with `prefix` is numbered in.
pub fn series(prefix: &str, at: Timestamp) -> String {
    format!("{prefix}-{}", year_of(at))
}

/// An invoice number: its series and its sequence in it.
pub fn number(series: &str, seq: u32) -> String {
    format!("{series}-{seq:06}")
}

/// The series and sequence of an invoice number (the inverse of `number`).
pub fn parse_number(number: &str) -> Option<(&str, u32)> {
    let (series, seq) = number.rsplit_once('-')?;
    Some((series, seq.parse().ok()?))
}

/// Units of `currency` for one unit of the commerce's main currency.
fn rate_of(commerce: &Commerce, currency: &str) -> Decimal {
    commerce.currency(currency).and_then(|c| c.rate).filter(|r| !r.is_zero()).unwrap_or(Decimal::ONE)
}

/// Units of `to` for one unit of `from`.
fn cross_rate(commerce: &Commerce, from: &str, to: &str) -> Decimal {
    if from == to {
        return Decimal::ONE;
    }
    rate_of(commerce, to) / rate_of(commerce, from)
}

fn company<'c>(order: &Order, commerce: &'c Commerce) -> Result<&'c InvoicingCompany, DomainError> {
    commerce.config().invoicing_companies.iter().find(|c| c.code == order.invoicing_company).ok_or_else(|| {
        DomainError::NoInvoicingCompany {
            channel: order.context.channel.clone(),
            country: order.address.country.clone(),
        }
    })
}

/// The parts of a `Worth` converted at `rate` and rounded to `units`.
fn converted(worth: &Worth, rate: Decimal, units: u32, tax_inclusive: bool) -> Worth {
    let at = |x: Decimal| round(x * rate, units);
    let lines: Vec<Decimal> = worth.lines.iter().map(|&x| at(x)).collect();
    let shipping = at(worth.shipping);
    let taxes: Vec<TaxAmount> = worth
        .taxes
        .iter()
        .map(|t| TaxAmount { name: t.name.clone(), rate: t.rate, base: at(t.base), tax: at(t.tax) })
        .collect();
    let mut total = lines.iter().copied().sum::<Decimal>() + shipping;
    if !tax_inclusive {
        total += taxes.iter().map(|t| t.tax).sum::<Decimal>();
    }
    Worth { lines, shipping, taxes, total }
}

fn national(worth: &Worth, currency: &str, rate: Decimal, units: u32) -> NationalTaxes {
    let at = |x: Decimal| round(x * rate, units);
    let taxes: Vec<TaxAmount> = worth
        .taxes
        .iter()
        .map(|t| TaxAmount { name: t.name.clone(), rate: t.rate, base: at(t.base), tax: at(t.tax) })
        .collect();
    let tax_total = taxes.iter().map(|t| t.tax).sum();
    NationalTaxes { currency: currency.to_owned(), rate, taxes, tax_total }
}

/// The invoice of a paid order for the units it keeps, numbered in its company's series.
pub fn invoice(order: &Order, ctx: &OrderCtx<'_>) -> Result<Invoice, DomainError> {
    let commerce = ctx.commerce;
    let company = company(order, commerce)?;
    let ordered_in = order.context.currency.as_str();
    let currency = if company.accounting_currencies.iter().any(|c| c == ordered_in) {
        ordered_in
    } else {
        company.accounting_currencies.first().map_or(ordered_in, String::as_str)
    };
    let rate = cross_rate(commerce, ordered_in, currency);
    let worth = order.worth_now(minor_units(commerce, ordered_in));
    let shown = converted(&worth, rate, minor_units(commerce, currency), order.totals.tax_inclusive);
    let national_currency =
        company.national_currency.as_deref().or(company.accounting_currencies.first().map(String::as_str));
    let national = national_currency
        .filter(|n| *n != currency)
        .map(|n| national(&worth, n, cross_rate(commerce, ordered_in, n), minor_units(commerce, n)));
    let series = series(&company.invoice_series.prefix, ctx.now);
    let kept = order.kept_units();
    let lines = order
        .lines
        .iter()
        .zip(&kept)
        .zip(&shown.lines)
        .filter(|((_, &k), _)| k > 0)
        .map(|((line, &k), &amount)| InvoiceLine {
            line: line.id.clone(),
            sku: line.sku.clone(),
            name: line.name.clone(),
            quantity: k,
            amount,
        })
        .collect();
    Ok(Invoice {
        number: number(&series, (ctx.next_number)(&series)),
        corrects: None,
        company: company.code.clone(),
        seller_legal_name: company.legal_name.clone(),
        seller_tax_id: company.tax_id.clone(),
        buyer: order.address.clone(),
        issued_at: ctx.now,
        currency: currency.to_owned(),
        rate,
        tax_inclusive: order.totals.tax_inclusive,
        lines,
        shipping: shown.shipping,
        taxes: shown.taxes,
        total: shown.total,
        order_amount: worth.total,
        national,
    })
}

/// The credit note for what goes from `before` to `after` (the same order, fewer units or
/// shipments), correcting `before`'s invoice in its currency and at its rates; none when
/// the order was never invoiced or nothing of value goes.
pub fn credit_note(before: &Order, after: &Order, ctx: &OrderCtx<'_>) -> Result<Option<Invoice>, DomainError> {
    let Some(original) = before.invoices.iter().find(|i| i.corrects.is_none()) else { return Ok(None) };
    let commerce = ctx.commerce;
    let company = company(before, commerce)?;
    let order_units = minor_units(commerce, &before.context.currency);
    let (was, now) = (before.worth_now(order_units), after.worth_now(order_units));
    let gone = was.less(&now);
    if gone.total.is_zero() && gone.lines.iter().all(Decimal::is_zero) {
        return Ok(None);
    }
    let units = minor_units(commerce, &original.currency);
    let inclusive = original.tax_inclusive;
    let shown =
        converted(&was, original.rate, units, inclusive).less(&converted(&now, original.rate, units, inclusive));
    let national = original.national.as_ref().map(|n| {
        let units = minor_units(commerce, &n.currency);
        let (a, b) = (national(&was, &n.currency, n.rate, units), national(&now, &n.currency, n.rate, units));
        let taxes: Vec<TaxAmount> = a
            .taxes
            .iter()
            .zip(&b.taxes)
            .map(|(x, y)| TaxAmount { name: x.name.clone(), rate: x.rate, base: y.base - x.base, tax: y.tax - x.tax })
            .collect();
        NationalTaxes { currency: n.currency.clone(), rate: n.rate, tax_total: b.tax_total - a.tax_total, taxes }
    });
    let lines = before
        .lines
        .iter()
        .zip(after.lines.iter())
        .zip(&shown.lines)
        .filter(|((b, a), _)| b.kept() > a.kept())
        .map(|((b, a), &amount)| InvoiceLine {
            line: b.id.clone(),
            sku: b.sku.clone(),
            name: b.name.clone(),
            quantity: b.kept() - a.kept(),
            amount: negated(amount),
        })
        .collect();
    let series = series(&company.invoice_series.corrective_prefix, ctx.now);
    Ok(Some(Invoice {
        number: number(&series, (ctx.next_number)(&series)),
        corrects: Some(original.number.clone()),
        company: original.company.clone(),
        seller_legal_name: original.seller_legal_name.clone(),
        seller_tax_id: original.seller_tax_id.clone(),
        buyer: original.buyer.clone(),
        issued_at: ctx.now,
        currency: original.currency.clone(),
        rate: original.rate,
        tax_inclusive: inclusive,
        lines,
        shipping: negated(shown.shipping),
        taxes: shown
            .taxes
            .iter()
            .map(|t| TaxAmount { name: t.name.clone(), rate: t.rate, base: negated(t.base), tax: negated(t.tax) })
            .collect(),
        total: negated(shown.total),
        order_amount: negated(gone.total),
        national,
    }))
}
