//! What an order owes its merchants (DESIGN.md section 7), event by event: a merchant
//! line's sale is earned when a shipment carrying its units is delivered, its commission
//! charged with it, at the terms the line was placed with; a return received reverses both
//! in proportion to the units returned. Amounts are differences of the line's sale (and
//! commission) for the units earned before and after, each rounded once
//! (`commissions::sale`), so a line's postings always add up to what its earned units are
//! worth, whatever the order in which units come and go.
//!
//! Earned units are the units of the line's delivered shipments less the units returned:
//! a unit returned from a shipment still on its way lowers them until that shipment is
//! delivered, so nothing is earned early. The merchants' ledgers (the events' fold) keep
//! `OrderSales` with each order and post what `apply` answers.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Order, OrderEvent, Seller};
use crate::commerce::commissions::{sale, Commission};
use crate::commerce::model::ShipmentStatus;
use crate::commerce::Commerce;
use crate::pricing::totals::LineAmount;

/// One merchant line of an order: its seller, amount and terms, and its units earned and
/// returned so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SaleLine {
    pub line: String,
    pub merchant: String,
    pub quantity: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub tax_rate: Decimal,
    pub rule: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    pub percent: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub fixed_per_unit: Decimal,
    pub earned: u32,
    pub returned: u32,
}

impl SaleLine {
    fn amount(&self) -> LineAmount {
        LineAmount {
            line: self.line.clone(),
            sku: String::new(),
            quantity: self.quantity,
            unit_price: Decimal::ZERO,
            discount: Decimal::ZERO,
            amount: self.amount,
            tax_rate: self.tax_rate,
        }
    }

    /// The sale and the commission of `units` of its units.
    pub fn worth(&self, units: u32, tax_inclusive: bool, minor: u32) -> (Decimal, Decimal) {
        let amount = self.amount();
        let commission =
            Commission { rule: self.rule.clone(), percent: self.percent, fixed_per_unit: self.fixed_per_unit };
        (sale(&amount, units, tax_inclusive, minor), commission.for_units(&amount, units, tax_inclusive, minor))
    }
}

/// An order's merchant lines, what each shipment carries of them and which were delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderSales {
    pub tax_inclusive: bool,
    pub minor: u32,
    pub lines: Vec<SaleLine>,
    /// Each shipment's units per line, all its items of the line together: (shipment,
    /// line, units), less what was cancelled.
    pub items: Vec<(String, String, u32)>,
    pub delivered: Vec<String>,
    /// The shipments a carrier returned to the commerce before any delivery: never earned.
    pub sent_back: Vec<String>,
}

/// What a posting is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostingKind {
    Sale,
    Commission,
    SaleReversed,
    CommissionReversed,
}

impl PostingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostingKind::Sale => "sale",
            PostingKind::Commission => "commission",
            PostingKind::SaleReversed => "sale_reversed",
            PostingKind::CommissionReversed => "commission_reversed",
        }
    }
}

/// A move of a merchant's money: signed, what it adds to its balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub merchant: String,
    pub kind: PostingKind,
    pub line: String,
    pub units: u32,
    pub amount: Decimal,
}

impl OrderSales {
    /// The merchant lines of a placed order, each with the seller and terms it was placed
    /// with (a line placed before sellers were kept: the product's merchant and the
    /// commission its rules give now).
    pub fn of(order: &Order, commerce: &Commerce) -> OrderSales {
        let currency = &order.context.currency;
        let lines = order
            .lines
            .iter()
            .filter_map(|line| {
                let seller = line.seller.clone().or_else(|| {
                    let merchant = commerce.seller(&line.sku)?.to_owned();
                    Some(Seller { merchant, commission: commerce.commission(&line.sku, currency)? })
                })?;
                Some(SaleLine {
                    line: line.id.clone(),
                    merchant: seller.merchant,
                    quantity: line.amount.quantity,
                    amount: line.amount.amount,
                    tax_rate: line.amount.tax_rate,
                    rule: seller.commission.rule,
                    percent: seller.commission.percent,
                    fixed_per_unit: seller.commission.fixed_per_unit,
                    earned: 0,
                    returned: line.returned,
                })
            })
            .collect();
        // One total per shipment and line (a shipment holds one item per line and ready
        // date): a cancellation's cut names the shipment and line, not the item.
        let mut items: Vec<(String, String, u32)> = Vec::new();
        for shipment in &order.shipments {
            for item in &shipment.items {
                match items.iter_mut().find(|(s, l, _)| *s == shipment.id && *l == item.line) {
                    Some(total) => total.2 += item.quantity,
                    None => items.push((shipment.id.clone(), item.line.clone(), item.quantity)),
                }
            }
        }
        OrderSales {
            tax_inclusive: order.totals.tax_inclusive,
            minor: crate::pricing::minor_units(commerce, currency),
            lines,
            items,
            delivered: Vec::new(),
            sent_back: Vec::new(),
        }
    }

    /// Folds one of the order's events in: what it moves of its merchants' money.
    pub fn apply(&mut self, event: &OrderEvent) -> Vec<Posting> {
        match event {
            OrderEvent::UnitsCancelled { cancellation } => {
                for cut in &cancellation.cuts {
                    if let Some(item) =
                        self.items.iter_mut().find(|(shipment, line, _)| *shipment == cut.shipment && *line == cut.line)
                    {
                        item.2 = item.2.saturating_sub(cut.quantity);
                    }
                }
                return Vec::new();
            }
            OrderEvent::CarrierReported { shipment, report }
                if report.status == Some(ShipmentStatus::Returned) && !self.delivered.contains(shipment) =>
            {
                self.sent_back.push(shipment.clone());
                return Vec::new();
            }
            OrderEvent::CarrierReported { shipment, report }
                if report.status == Some(ShipmentStatus::Delivered)
                    && !self.delivered.contains(shipment)
                    && !self.sent_back.contains(shipment) =>
            {
                self.delivered.push(shipment.clone());
            }
            OrderEvent::ReturnReceived { receipt, .. } => {
                for units in &receipt.units {
                    if let Some(line) = self.lines.iter_mut().find(|l| l.line == units.line) {
                        line.returned += units.quantity;
                    }
                }
            }
            _ => return Vec::new(),
        }
        let mut postings = Vec::new();
        for index in 0..self.lines.len() {
            let earned = self.earnable(&self.lines[index]);
            let line = &self.lines[index];
            if earned == line.earned {
                continue;
            }
            let (sale_before, commission_before) = line.worth(line.earned, self.tax_inclusive, self.minor);
            let (sale_after, commission_after) = line.worth(earned, self.tax_inclusive, self.minor);
            let (sale_kind, commission_kind) = if earned > line.earned {
                (PostingKind::Sale, PostingKind::Commission)
            } else {
                (PostingKind::SaleReversed, PostingKind::CommissionReversed)
            };
            let units = earned.abs_diff(line.earned);
            let post = |kind, amount| Posting {
                merchant: line.merchant.clone(),
                kind,
                line: line.line.clone(),
                units,
                amount,
            };
            postings.push(post(sale_kind, sale_after - sale_before));
            postings.push(post(commission_kind, commission_before - commission_after));
            self.lines[index].earned = earned;
        }
        postings.retain(|p| !p.amount.is_zero());
        postings
    }

    /// The units of `line` its delivered shipments carried, less those returned.
    fn earnable(&self, line: &SaleLine) -> u32 {
        let delivered: u32 = self
            .items
            .iter()
            .filter(|(shipment, id, _)| *id == line.line && self.delivered.contains(shipment))
            .map(|(_, _, units)| units)
            .sum();
        delivered.saturating_sub(line.returned).min(line.quantity)
    }
}

/// One merchant's commissions in one currency over the previewed orders: as the rules
/// are and as the change would make them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreviewRow {
    pub orders: u64,
    pub lines: u64,
    pub before: Decimal,
    pub after: Decimal,
}

/// What a change of the commission rules (`after`, against `before`) would move over
/// `orders`, per merchant and currency: every merchant line's commission both ways.
pub fn preview<'a>(
    orders: impl Iterator<Item = &'a Order>,
    before: &Commerce,
    after: &Commerce,
) -> BTreeMap<(String, String), PreviewRow> {
    let mut rows: BTreeMap<(String, String), PreviewRow> = BTreeMap::new();
    for order in orders {
        let currency = &order.context.currency;
        let minor = crate::pricing::minor_units(before, currency);
        let mut seen: Vec<String> = Vec::new();
        for line in &order.lines {
            let Some(merchant) = line.merchant(before).map(str::to_owned) else { continue };
            let (Some(was), Some(will)) =
                (before.commission(&line.sku, currency), after.commission(&line.sku, currency))
            else {
                continue;
            };
            let row = rows.entry((merchant.clone(), currency.clone())).or_default();
            let (inclusive, quantity) = (order.totals.tax_inclusive, line.amount.quantity);
            row.lines += 1;
            row.before += was.for_units(&line.amount, quantity, inclusive, minor);
            row.after += will.for_units(&line.amount, quantity, inclusive, minor);
            if !seen.contains(&merchant) {
                row.orders += 1;
                seen.push(merchant);
            }
        }
    }
    rows
}
