//! Commissions on merchants' sales (DESIGN.md section 7): which rule a line pays (the most
//! specific that matches: product, then family, then merchant, then none; then priority,
//! then code; none matching, the merchant's own `commission_percent`), what it comes to
//! (a percent of the line's amount plus a fixed amount per unit, in the order's currency,
//! rounded to its minor units), and a change previewed over orders before it is made.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use super::model::CommissionRule;
use super::Commerce;
use crate::order::Order;
use crate::pricing::minor_units;

/// What a line pays: the rule that matched (none: the merchant's own percent), its
/// percent and its fixed amount per unit in the line's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commission {
    pub rule: Option<String>,
    pub percent: Decimal,
    pub fixed_per_unit: Decimal,
}

impl Commission {
    /// The commission on a line of `amount` for `quantity` units, rounded to `minor` digits.
    pub fn on(&self, amount: Decimal, quantity: u32, minor: u32) -> Decimal {
        let due = amount * self.percent / Decimal::ONE_HUNDRED + self.fixed_per_unit * Decimal::from(quantity);
        due.round_dp_with_strategy(minor, RoundingStrategy::MidpointAwayFromZero)
    }
}

impl Commerce {
    /// The commission a line of `sku` in `currency` pays; none for the commerce's own
    /// products (or a product it does not know).
    pub fn commission(&self, sku: &str, currency: &str) -> Option<Commission> {
        let product = self.product(sku)?;
        let merchant = product.merchant.as_deref()?;
        let specificity = |rule: &CommissionRule| -> Option<u8> {
            match (&rule.sku, &rule.family, &rule.merchant) {
                (Some(s), _, _) => (s == sku).then_some(3),
                (_, Some(f), _) => (product.family.as_ref() == Some(f)).then_some(2),
                (_, _, Some(m)) => (m == merchant).then_some(1),
                _ => Some(0),
            }
        };
        let best = self
            .config()
            .commission_rules
            .iter()
            .filter_map(|rule| specificity(rule).map(|rank| (rank, rule)))
            .max_by(|(a, x), (b, y)| a.cmp(b).then(x.priority.cmp(&y.priority)).then(y.code.cmp(&x.code)));
        Some(match best {
            Some((_, rule)) => Commission {
                rule: Some(rule.code.clone()),
                percent: rule.percent.unwrap_or_default(),
                fixed_per_unit: rule.fixed_per_unit.get(currency).copied().unwrap_or_default(),
            },
            None => Commission {
                rule: None,
                percent: self.merchant(merchant).and_then(|m| m.commission_percent).unwrap_or_default(),
                fixed_per_unit: Decimal::ZERO,
            },
        })
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
        let minor = minor_units(before, currency);
        let mut seen: Vec<String> = Vec::new();
        for line in &order.lines {
            let Some(merchant) = before.seller(&line.sku).map(str::to_owned) else { continue };
            let (Some(was), Some(will)) =
                (before.commission(&line.sku, currency), after.commission(&line.sku, currency))
            else {
                continue;
            };
            let row = rows.entry((merchant.clone(), currency.clone())).or_default();
            let (amount, quantity) = (line.amount.amount, line.amount.quantity);
            row.lines += 1;
            row.before += was.on(amount, quantity, minor);
            row.after += will.on(amount, quantity, minor);
            if !seen.contains(&merchant) {
                row.orders += 1;
                seen.push(merchant);
            }
        }
    }
    rows
}
