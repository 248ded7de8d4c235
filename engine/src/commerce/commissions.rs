//! Commissions on merchants' sales (DESIGN.md section 7): which rule a line pays (the most
//! specific that matches: product, then family, then merchant, then none; then priority,
//! then code; none matching, the merchant's own `commission_percent`), what it comes to
//! (a percent of the line's sale plus a fixed amount per unit, in the order's currency,
//! rounded to its minor units), and a line's sale to its seller (`sale`: its amount less
//! the tax in it). A change is previewed over orders by `order::settlement::preview`.

use rust_decimal::{Decimal, RoundingStrategy};

use super::model::CommissionRule;
use super::Commerce;
use crate::pricing::round;
use crate::pricing::totals::LineAmount;

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

/// A merchant line's sale for `units` of its `quantity` units: its share of the line's
/// amount (as an order's worth shares it, rounded once), less the tax in it when the
/// channel's prices include tax, in `minor` digits. It is what the seller's ledger earns;
/// the tax is the commerce's, which invoices it. Shares of growing unit counts never
/// shrink, and all the units give the whole line.
pub fn sale(line: &LineAmount, units: u32, tax_inclusive: bool, minor: u32) -> Decimal {
    let gross = if units >= line.quantity {
        line.amount
    } else if units == 0 || line.quantity == 0 {
        Decimal::ZERO
    } else {
        round(line.amount * (Decimal::from(units) / Decimal::from(line.quantity)), minor)
    };
    if !tax_inclusive || line.tax_rate.is_zero() {
        return round(gross, minor);
    }
    let tax = round(gross * line.tax_rate / (Decimal::ONE_HUNDRED + line.tax_rate), minor);
    round(gross - tax, minor)
}

impl Commission {
    /// The commission on `units` units of a line, on their sale (`sale`).
    pub fn for_units(&self, line: &LineAmount, units: u32, tax_inclusive: bool, minor: u32) -> Decimal {
        round(self.on(sale(line, units, tax_inclusive, minor), units, minor), minor)
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
