//! An order's money, derived from its state (the fold of its events), never kept apart.
//!
//! `worth` is what the order is worth for the units it keeps: each line, the shipping of
//! the shipments not cancelled, each tax row and the total, on the channel's basis and in
//! the order's currency. Every part is the order's own figure scaled by the share kept and
//! rounded once, so it is the order's totals when everything is kept, nothing when
//! nothing is, and never grows as units go. A refund or a credit note is the difference
//! of two `worth`s (before and after), so they add up exactly to what was paid and
//! invoiced, whatever the order in which units go.
//!
//! `balance` is the ledger: after every event `captured - refunded = invoiced - credited`
//! once an invoice is issued.

use rust_decimal::Decimal;

use super::Order;
use crate::pricing::round;
use crate::pricing::totals::TaxAmount;

/// What an order is worth for some of its units, part by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worth {
    /// Per order line, in the order's line order.
    pub lines: Vec<Decimal>,
    pub shipping: Decimal,
    pub taxes: Vec<TaxAmount>,
    pub total: Decimal,
}

impl Worth {
    /// `self - other`, part by part (what goes when `other` is what is left).
    pub fn less(&self, other: &Worth) -> Worth {
        Worth {
            lines: self.lines.iter().zip(&other.lines).map(|(a, b)| a - b).collect(),
            shipping: self.shipping - other.shipping,
            taxes: self
                .taxes
                .iter()
                .zip(&other.taxes)
                .map(|(a, b)| TaxAmount {
                    name: a.name.clone(),
                    rate: a.rate,
                    base: a.base - b.base,
                    tax: a.tax - b.tax,
                })
                .collect(),
            total: self.total - other.total,
        }
    }
}

/// `amount * part / whole`, rounded to `units`; all of it when `whole` is zero and
/// something is kept.
fn share(amount: Decimal, part: Decimal, whole: Decimal, units: u32) -> Decimal {
    if part >= whole {
        return amount;
    }
    if whole.is_zero() || part.is_zero() {
        return round(Decimal::ZERO, units);
    }
    // The ratio first: it is below 1, so the product cannot overflow.
    round(amount * (part / whole), units)
}

/// What `order` is worth keeping `kept[i]` units of line `i` and the shipping of the
/// shipments `ships[j]` says are kept.
pub fn worth(order: &Order, kept: &[u32], ships: &[bool], units: u32) -> Worth {
    let totals = &order.totals;
    let lines: Vec<Decimal> = order
        .lines
        .iter()
        .zip(kept)
        .map(|(line, &k)| share(line.amount.amount, Decimal::from(k), Decimal::from(line.amount.quantity), units))
        .collect();
    let prices = |keep: bool| -> Decimal {
        order.shipments.iter().zip(ships).filter(|(_, &s)| s || !keep).map(|(s, _)| s.price).sum()
    };
    let any_shipment = ships.iter().any(|&s| s);
    let shipping = match (any_shipment, prices(false).is_zero()) {
        (false, _) => round(Decimal::ZERO, units),
        (true, true) => totals.shipping,
        (true, false) => share(totals.shipping, prices(true), prices(false), units),
    };
    let taxes: Vec<TaxAmount> = totals
        .taxes
        .iter()
        .map(|row| {
            let of_row = |values: &[Decimal], ship: Decimal| -> Decimal {
                let lines: Decimal = order
                    .lines
                    .iter()
                    .zip(values)
                    .filter(|(l, _)| l.amount.tax_rate == row.rate)
                    .map(|(_, v)| *v)
                    .sum();
                let ship = if order.shipping_tax_rate == Some(row.rate) { ship } else { Decimal::ZERO };
                lines + ship
            };
            let full: Vec<Decimal> = order.lines.iter().map(|l| l.amount.amount).collect();
            let whole = of_row(&full, totals.shipping);
            let part = of_row(&lines, shipping);
            let kept_any = kept.iter().any(|&k| k > 0) || any_shipment;
            let (base, tax) = if whole.is_zero() && kept_any {
                (row.base, row.tax)
            } else {
                (share(row.base, part, whole, units), share(row.tax, part, whole, units))
            };
            TaxAmount { name: row.name.clone(), rate: row.rate, base, tax }
        })
        .collect();
    let mut total = lines.iter().copied().sum::<Decimal>() + shipping;
    if !totals.tax_inclusive {
        total += taxes.iter().map(|t| t.tax).sum::<Decimal>();
    }
    Worth { lines, shipping, taxes, total }
}

impl Order {
    /// The units each line keeps now.
    pub fn kept_units(&self) -> Vec<u32> {
        self.lines.iter().map(|l| l.kept()).collect()
    }

    /// Whether each shipment's shipping is still owed (it is not cancelled).
    pub fn kept_shipments(&self) -> Vec<bool> {
        self.shipments.iter().map(|s| s.status != crate::commerce::model::ShipmentStatus::Cancelled).collect()
    }

    /// What the order is worth now.
    pub fn worth_now(&self, units: u32) -> Worth {
        worth(self, &self.kept_units(), &self.kept_shipments(), units)
    }

    /// The order's ledger.
    pub fn balance(&self) -> Balance {
        let captured = if self.is_paid() { self.payment.amount } else { Decimal::ZERO };
        let refunded = self.refunds.iter().map(|r| r.amount).sum();
        let refunded_settled = self.refunds.iter().filter(|r| r.reference.is_some()).map(|r| r.amount).sum();
        let invoiced = self.invoices.iter().filter(|i| i.corrects.is_none()).map(|i| i.order_amount).sum();
        let credited = -self.invoices.iter().filter(|i| i.corrects.is_some()).map(|i| i.order_amount).sum::<Decimal>();
        Balance { captured, refunded, refunded_settled, invoiced, credited }
    }
}

/// An order's money in its currency: what was captured and refunded, invoiced and
/// credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    pub captured: Decimal,
    /// Refunds decided, settled or not.
    pub refunded: Decimal,
    /// Refunds the gateway or an administrator confirmed.
    pub refunded_settled: Decimal,
    pub invoiced: Decimal,
    pub credited: Decimal,
}

impl Balance {
    /// `captured - refunded = invoiced - credited` once invoiced; never more refunded
    /// than captured.
    pub fn holds(&self) -> bool {
        let books = self.invoiced.is_zero() && self.credited.is_zero()
            || self.captured - self.refunded == self.invoiced - self.credited;
        books && self.refunded <= self.captured && !self.refunded.is_sign_negative()
    }
}
