//! Rules for price rules and discounts.

use std::collections::HashSet;

use rust_decimal::Decimal;

use super::{declare, entity, Declared, Report};
use crate::commerce::model::{CommerceConfig, CommissionRule, Discount, DiscountKind, PriceRule};

pub(super) fn check(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    declare(report, "price rule", c.price_rules.iter().map(|r| r.code.as_str()));
    declare(report, "discount", c.discounts.iter().map(|r| r.code.as_str()));
    let users: HashSet<&str> = c.users.iter().map(|u| u.id.as_str()).collect();
    for rule in &c.price_rules {
        price_rule(c, d, &users, rule, report);
    }
    let mut promo_codes = HashSet::new();
    for discount in &c.discounts {
        let at = entity("discount", &discount.code);
        if let Some(code) = &discount.promo_code {
            if !promo_codes.insert(code.to_lowercase()) {
                report.push(&at, "duplicate", format!("promo code \"{code}\" is used by another discount"));
            }
        }
        self::discount(d, discount, &at, report);
    }
    declare(report, "commission rule", c.commission_rules.iter().map(|r| r.code.as_str()));
    for rule in &c.commission_rules {
        commission_rule(d, rule, report);
    }
    crate::commerce::proposals::check(c, &d.merchants, report);
    if let Some(class) = &c.shipping_tax_class {
        report.refs("commerce", "shipping_tax_class", [class], &d.tax_classes);
    }
}

/// Exactly one of `sku` and `family`, each defined.
fn target(d: &Declared, sku: &Option<String>, family: &Option<String>, at: &str, report: &mut Report) {
    match (sku, family) {
        (Some(sku), None) => d.product_ref(report, at, sku),
        (None, Some(family)) => report.refs(at, "family", [family], &d.families),
        _ => report.push(at, "conflict", "exactly one of sku and family is required".into()),
    }
}

fn price_rule(c: &CommerceConfig, d: &Declared, users: &HashSet<&str>, rule: &PriceRule, report: &mut Report) {
    let at = entity("price rule", &rule.code);
    target(d, &rule.sku, &rule.family, &at, report);
    match (rule.prices.is_empty(), rule.percent) {
        (false, None) => {
            if !c.main_currency.is_empty() && !rule.prices.contains_key(&c.main_currency) {
                report.push(
                    &at,
                    "missing",
                    format!("a price in the main currency \"{}\" is required", c.main_currency),
                );
            }
            for (currency, price) in &rule.prices {
                report.refs(&at, "currency", [currency], &d.currencies);
                if *price < Decimal::ZERO {
                    report.push(&at, "invalid_value", format!("price {price} {currency} is negative"));
                }
            }
        }
        (true, Some(percent)) => {
            if percent <= -Decimal::ONE_HUNDRED {
                report.push(&at, "invalid_value", format!("percent {percent} must be above -100"));
            }
        }
        _ => report.push(&at, "conflict", "exactly one of prices and percent is required".into()),
    }
    if rule.min_quantity == 0 {
        report.push(&at, "invalid_value", "min_quantity must be at least 1".into());
    }
    if let Some(user) = &rule.user {
        if !users.contains(user.as_str()) {
            report.push(&at, "undefined_reference", format!("user \"{user}\" is not defined"));
        }
    }
    if let Some(group) = &rule.group {
        report.refs(&at, "user group", [group], &d.user_groups);
    }
    if let Some(area) = &rule.area {
        report.refs(&at, "area", [area], &d.areas);
    }
    if let Some(country) = &rule.country {
        report.refs(&at, "country", [country], &d.countries);
    }
}

fn discount(d: &Declared, discount: &Discount, at: &str, report: &mut Report) {
    let Some(kind) = report.required(at, "kind", &discount.kind).copied() else { return };
    if let Some(percent) = discount.percent {
        if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
            report.push(at, "invalid_value", format!("percent {percent} must be above 0 and at most 100"));
        }
    }
    if let Some(amount) = discount.amount {
        if amount <= Decimal::ZERO {
            report.push(at, "invalid_value", format!("amount {amount} must be positive"));
        }
    }
    if discount.percent.is_some() && discount.amount.is_some() {
        report.push(at, "conflict", "percent and amount cannot both be set".into());
    }
    if let (Some(starts), Some(ends)) = (discount.starts, discount.ends) {
        if ends < starts {
            report.push(at, "conflict", format!("ends {ends} is before starts {starts}"));
        }
    }
    match kind {
        DiscountKind::Product => {
            target(d, &discount.sku, &discount.family, at, report);
            if discount.percent.is_none() && discount.amount.is_none() {
                report.push(at, "missing", "a product discount needs percent or amount".into());
            }
            if discount.min_subtotal.is_some() || discount.promo_code.is_some() || discount.free_shipping {
                let message = "min_subtotal, promo_code and free_shipping apply to cart discounts only".into();
                report.push(at, "conflict", message);
            }
        }
        DiscountKind::Cart => {
            if discount.sku.is_some() || discount.family.is_some() {
                report.push(at, "conflict", "sku and family apply to product discounts only".into());
            }
            if discount.percent.is_none() && discount.amount.is_none() && !discount.free_shipping {
                report.push(at, "missing", "a cart discount needs percent, amount or free_shipping".into());
            }
            if discount.min_subtotal.is_some_and(|m| m < Decimal::ZERO) {
                report.push(at, "invalid_value", "min_subtotal cannot be negative".into());
            }
            if discount.promo_code.as_ref().is_some_and(|code| code.trim().is_empty() || code.len() > 64) {
                report.push(at, "invalid_value", "promo_code must be 1 to 64 characters".into());
            }
        }
    }
}

/// At most one target, each defined; a percent from 0 to 100 or fixed amounts of the
/// commerce's currencies, at least 0; at least one of the two.
fn commission_rule(d: &Declared, rule: &CommissionRule, report: &mut Report) {
    let at = entity("commission rule", &rule.code);
    if !super::is_code(&rule.code) {
        report.push(&at, "invalid_format", format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", rule.code));
    }
    let targets = [rule.sku.is_some(), rule.family.is_some(), rule.merchant.is_some()];
    if targets.iter().filter(|t| **t).count() > 1 {
        report.push(&at, "conflict", "at most one of sku, family and merchant".into());
    }
    if let Some(sku) = &rule.sku {
        d.product_ref(report, &at, sku);
    }
    if let Some(family) = &rule.family {
        report.refs(&at, "family", [family], &d.families);
    }
    if let Some(merchant) = &rule.merchant {
        report.refs(&at, "merchant", [merchant], &d.merchants);
    }
    if rule.percent.is_none() && rule.fixed_per_unit.is_empty() {
        report.push(&at, "missing", "a percent or a fixed_per_unit is required".into());
    }
    if let Some(percent) = rule.percent.filter(|p| *p < Decimal::ZERO || *p > Decimal::ONE_HUNDRED) {
        report.push(&at, "invalid_value", format!("percent {percent} must be between 0 and 100"));
    }
    for (currency, amount) in &rule.fixed_per_unit {
        report.refs(&at, "currency", [currency], &d.currencies);
        if *amount < Decimal::ZERO {
            report.push(&at, "invalid_value", format!("fixed_per_unit {amount} {currency} is negative"));
        }
    }
}
