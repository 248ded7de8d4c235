//! Prices: a product's unit price for a shopper, quantity and currency, from its base
//! price and the commerce's price rules; money rounding and currency conversion; and, in
//! `totals`, a cart's discounts, taxes and totals.
//!
//! Amounts stay exact (`Decimal`) through every step and are rounded to the currency's
//! minor unit, half away from zero, only when shown or totalled (`round`).

pub mod totals;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::commerce::model::{Place, PriceRule, Product};
use crate::commerce::Commerce;
use crate::error::DomainError;

/// Who is buying and where: what price rules filter by.
#[derive(Debug, Clone, Default)]
pub struct Shopper<'a> {
    pub user: Option<&'a str>,
    /// The shopper's groups (the context's group and the user's own).
    pub groups: Vec<&'a str>,
    pub place: Option<&'a Place>,
}

impl<'a> Shopper<'a> {
    /// The shopper a cart context describes: its user (and the user's groups), its group
    /// and its country (or the full destination once known).
    pub fn of(commerce: &'a Commerce, user: Option<&'a str>, group: Option<&'a str>, place: Option<&'a Place>) -> Self {
        let mut groups: Vec<&str> = group.into_iter().collect();
        if let Some(user) = user.and_then(|id| commerce.config().users.iter().find(|u| u.id == id)) {
            groups.extend(user.groups.iter().map(String::as_str));
        }
        Self { user, groups, place }
    }
}

/// A product's unit price, exact, before tax and discounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPrice {
    pub currency: String,
    /// The base price in this currency.
    pub base: Decimal,
    /// The price after the winning rule.
    pub unit: Decimal,
    /// The rule that set it, if any.
    pub rule: Option<String>,
    /// Whether it was converted from the main currency.
    pub converted: bool,
}

/// Rounds an amount to `minor_units` decimals, half away from zero.
/// The result always carries exactly `minor_units` decimals (`0.00`, not `0`).
pub fn round(amount: Decimal, minor_units: u32) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(minor_units, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(minor_units);
    rounded
}

/// The minor units of a currency of the commerce (2 when not configured).
pub fn minor_units(commerce: &Commerce, currency: &str) -> u32 {
    commerce.currency(currency).and_then(|c| c.minor_units).unwrap_or(2)
}

/// Converts a main-currency amount into `currency` at its configured rate.
pub fn from_main(commerce: &Commerce, amount: Decimal, currency: &str) -> Result<Decimal, DomainError> {
    if currency == commerce.config().main_currency {
        return Ok(amount);
    }
    let rate = commerce
        .currency(currency)
        .and_then(|c| c.rate)
        .ok_or_else(|| DomainError::UnknownCurrency { code: currency.to_owned() })?;
    amount.checked_mul(rate).ok_or(DomainError::AmountTooLarge)
}

/// Converts an amount in `currency` into the main currency.
pub fn to_main(commerce: &Commerce, amount: Decimal, currency: &str) -> Result<Decimal, DomainError> {
    if currency == commerce.config().main_currency {
        return Ok(amount);
    }
    let rate = commerce
        .currency(currency)
        .and_then(|c| c.rate)
        .filter(|r| !r.is_zero())
        .ok_or_else(|| DomainError::UnknownCurrency { code: currency.to_owned() })?;
    amount.checked_div(rate).ok_or(DomainError::AmountTooLarge)
}

/// A price list in `currency`: its own entry, else the main currency's converted.
fn priced_in(
    commerce: &Commerce,
    prices: impl Fn(&str) -> Option<Decimal>,
    currency: &str,
) -> Result<Option<(Decimal, bool)>, DomainError> {
    if let Some(price) = prices(currency) {
        return Ok(Some((price, false)));
    }
    match prices(&commerce.config().main_currency) {
        Some(main) => Ok(Some((from_main(commerce, main, currency)?, true))),
        None => Ok(None),
    }
}

/// How specific a rule's filters are: user 4, group 3, area 2, country 1, none 0. None
/// when a filter does not match the shopper.
fn specificity(commerce: &Commerce, rule: &PriceRule, shopper: &Shopper<'_>) -> Option<u8> {
    let mut rank = 0;
    if let Some(user) = &rule.user {
        if shopper.user != Some(user.as_str()) {
            return None;
        }
        rank = rank.max(4);
    }
    if let Some(group) = &rule.group {
        if !shopper.groups.contains(&group.as_str()) {
            return None;
        }
        rank = rank.max(3);
    }
    if let Some(area) = &rule.area {
        let place = shopper.place?;
        let area = commerce.area(area)?;
        let inside = if place.region.is_none() && place.postal_code.is_none() {
            // Known by its country only: in the area when the whole country is.
            area.members
                .iter()
                .any(|m| m.country == place.country && m.regions.is_empty() && m.postal_prefixes.is_empty())
        } else {
            area.contains(place)
        };
        if !inside {
            return None;
        }
        rank = rank.max(2);
    }
    if let Some(country) = &rule.country {
        if shopper.place.map(|p| p.country.as_str()) != Some(country.as_str()) {
            return None;
        }
        rank = rank.max(1);
    }
    Some(rank)
}

fn targets(rule: &PriceRule, product: &Product) -> bool {
    match (&rule.sku, &rule.family) {
        (Some(sku), _) => *sku == product.sku,
        (None, Some(family)) => product.family.as_ref() == Some(family),
        (None, None) => false,
    }
}

/// The unit price of `quantity` units of `sku` in `currency` for `shopper`. The rules
/// that target the product (by SKU or family), whose tier the quantity reaches and whose
/// filters match compete: the most specific filter wins, then the higher priority, then
/// the higher tier, then a SKU rule over a family rule, then the first written.
pub fn unit_price(
    commerce: &Commerce,
    sku: &str,
    quantity: u32,
    currency: &str,
    shopper: &Shopper<'_>,
) -> Result<UnitPrice, DomainError> {
    let product = commerce.product(sku).ok_or_else(|| DomainError::UnknownSku { sku: sku.to_owned() })?;
    if commerce.currency(currency).is_none() {
        return Err(DomainError::UnknownCurrency { code: currency.to_owned() });
    }
    let (base, base_converted) = priced_in(commerce, |c| product.prices.get(c).copied(), currency)?
        .ok_or_else(|| DomainError::NoPrice { sku: sku.to_owned(), currency: currency.to_owned() })?;
    // Ranked by (specificity, priority, tier, by SKU).
    type Rank = (u8, i32, u32, bool);
    let mut best: Option<(Rank, &PriceRule)> = None;
    for rule in &commerce.config().price_rules {
        if !targets(rule, product) || quantity < rule.min_quantity {
            continue;
        }
        let Some(rank) = specificity(commerce, rule, shopper) else { continue };
        let key = (rank, rule.priority, rule.min_quantity, rule.sku.is_some());
        if best.as_ref().is_none_or(|(k, _)| key > *k) {
            best = Some((key, rule));
        }
    }
    let Some((_, rule)) = best else {
        return Ok(UnitPrice {
            currency: currency.to_owned(),
            base,
            unit: base,
            rule: None,
            converted: base_converted,
        });
    };
    let (unit, converted) = match rule.percent {
        Some(percent) => {
            let factor = Decimal::ONE + percent / Decimal::ONE_HUNDRED;
            (base.checked_mul(factor).ok_or(DomainError::AmountTooLarge)?.max(Decimal::ZERO), base_converted)
        }
        None => priced_in(commerce, |c| rule.prices.get(c).copied(), currency)?.unwrap_or((base, base_converted)),
    };
    Ok(UnitPrice { currency: currency.to_owned(), base, unit, rule: Some(rule.code.clone()), converted })
}
