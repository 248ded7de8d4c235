//! A cart's money: each line's unit price and product discount, the cart discounts, the
//! invoicing company and tax rates for the destination, and the totals.
//!
//! Everything is computed exactly before tax (configured amounts are before tax) and
//! rounded only where shown. In a tax-inclusive channel, shown amounts include tax and
//! the breakdown says how much of the total is tax; in an exclusive one, taxes are added.
//! Either way the total is the sum of the rounded parts shown, so the figures add up.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{from_main, minor_units, round, to_main, unit_price, Shopper};
use crate::commerce::model::{Discount, DiscountKind, InvoicingCompany, Place};
use crate::commerce::Commerce;
use crate::error::DomainError;

/// The largest amount a line may come to (10^20 in any currency): far beyond any real
/// order, and far enough below `Decimal`'s limit (about 7.9 * 10^28) that totals, taxes
/// and shares of it cannot overflow.
pub const AMOUNT_MAX: Decimal = Decimal::from_parts(1_661_992_960, 1_808_227_885, 5, false, 0);

/// What a cart's money is computed from.
pub struct CartPricing<'a> {
    pub commerce: &'a Commerce,
    pub channel: &'a str,
    pub currency: &'a str,
    pub shopper: Shopper<'a>,
    pub destination: &'a Place,
    /// (line id, SKU, quantity), in the cart's order.
    pub lines: Vec<(&'a str, &'a str, u32)>,
    pub promo_code: Option<&'a str>,
    pub today: NaiveDate,
}

/// One line, priced: exact amounts before tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    pub unit: Decimal,
    pub price_rule: Option<String>,
    /// The product discount per unit, and the discount that gave it.
    pub unit_discount: Decimal,
    pub product_discount: Option<String>,
    /// This line's share of the cart discounts.
    pub cart_discount: Decimal,
    pub tax_name: String,
    pub tax_rate: Decimal,
}

impl PricedLine {
    /// Before discounts.
    pub fn gross_of_discounts(&self) -> Decimal {
        self.unit * Decimal::from(self.quantity)
    }

    pub fn discount(&self) -> Decimal {
        self.unit_discount * Decimal::from(self.quantity) + self.cart_discount
    }

    /// What the line costs before tax, after every discount.
    pub fn net(&self) -> Decimal {
        self.gross_of_discounts() - self.discount()
    }
}

/// A cart priced: its lines, the discounts that apply, and where its taxes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCart {
    pub currency: String,
    pub minor_units: u32,
    pub tax_inclusive: bool,
    pub invoicing_company: String,
    pub lines: Vec<PricedLine>,
    /// Codes of the discounts applied, product discounts first.
    pub applied: Vec<String>,
    pub free_shipping: bool,
    /// Shipping's tax (name and rate), when the commerce taxes shipping.
    pub shipping_tax: Option<(String, Decimal)>,
}

/// One rate of the tax breakdown (rounded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxAmount {
    pub name: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
    /// What the rate applies to, before tax.
    #[serde(with = "rust_decimal::serde::str")]
    pub base: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub tax: Decimal,
}

/// A line as shown (rounded, on the channel's basis: with tax when inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmount {
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub discount: Decimal,
    /// Quantity times unit price, less the discount.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub tax_rate: Decimal,
}

/// The cart's totals as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub currency: String,
    pub tax_inclusive: bool,
    pub lines: Vec<LineAmount>,
    /// The lines before any discount.
    #[serde(with = "rust_decimal::serde::str")]
    pub subtotal: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub discounts: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub shipping: Decimal,
    pub taxes: Vec<TaxAmount>,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    pub applied_discounts: Vec<String>,
}

/// The invoicing company of `channel` for `destination`: the first the channel lists whose
/// area takes the destination.
pub fn invoicing_company<'c>(
    commerce: &'c Commerce,
    channel: &str,
    destination: &Place,
) -> Result<&'c InvoicingCompany, DomainError> {
    let listed = commerce.channel(channel).ok_or_else(|| DomainError::UnknownChannel { code: channel.to_owned() })?;
    listed
        .invoicing_companies
        .iter()
        .filter_map(|code| commerce.config().invoicing_companies.iter().find(|c| &c.code == code))
        .find(|company| match company.area.as_deref().and_then(|a| commerce.area(a)) {
            None => company.area.is_none(),
            Some(area) if destination.region.is_none() && destination.postal_code.is_none() => {
                area.touches_country(&destination.country)
            }
            Some(area) => area.contains(destination),
        })
        .ok_or_else(|| DomainError::NoInvoicingCompany {
            channel: channel.to_owned(),
            country: destination.country.clone(),
        })
}

/// The tax a company charges on `tax_class` for a destination country: the rate listed
/// for the country, else the class's default rate.
pub fn tax_rate(company: &InvoicingCompany, tax_class: &str, country: &str) -> Result<(String, Decimal), DomainError> {
    let of_class = || company.taxes.iter().filter(|t| t.tax_class == tax_class);
    of_class()
        .find(|t| t.countries.iter().any(|c| c == country))
        .or_else(|| of_class().find(|t| t.countries.is_empty()))
        .and_then(|t| t.rate.map(|rate| (t.name.clone(), rate)))
        .ok_or_else(|| DomainError::NoTaxRate {
            company: company.code.clone(),
            tax_class: tax_class.to_owned(),
            country: country.to_owned(),
        })
}

/// Prices a cart's lines and applies its discounts.
pub fn price_cart(input: &CartPricing<'_>) -> Result<PricedCart, DomainError> {
    let commerce = input.commerce;
    let channel = commerce
        .channel(input.channel)
        .ok_or_else(|| DomainError::UnknownChannel { code: input.channel.to_owned() })?;
    let company = invoicing_company(commerce, input.channel, input.destination)?;
    let mut applied = Vec::new();
    let mut lines = Vec::with_capacity(input.lines.len());
    for &(line, sku, quantity) in &input.lines {
        lines.push(price_line(input, company, line, sku, quantity, &mut applied)?);
    }
    let free_shipping = apply_cart_discounts(input, &mut lines, &mut applied)?;
    let shipping_tax = match &commerce.config().shipping_tax_class {
        Some(class) => Some(tax_rate(company, class, &input.destination.country)?),
        None => None,
    };
    Ok(PricedCart {
        currency: input.currency.to_owned(),
        minor_units: minor_units(commerce, input.currency),
        tax_inclusive: channel.tax_inclusive,
        invoicing_company: company.code.clone(),
        lines,
        applied,
        free_shipping,
        shipping_tax,
    })
}

/// The discounts of `kind` in force on the cart's day.
fn current_discounts<'c>(input: &'c CartPricing<'_>, kind: DiscountKind) -> impl Iterator<Item = &'c Discount> + 'c {
    let today = input.today;
    input.commerce.config().discounts.iter().filter(move |d| d.kind == Some(kind) && d.current(today))
}

/// One line's unit price, its best product discount (they do not stack; its code joins
/// `applied`) and its tax.
fn price_line(
    input: &CartPricing<'_>,
    company: &InvoicingCompany,
    line: &str,
    sku: &str,
    quantity: u32,
    applied: &mut Vec<String>,
) -> Result<PricedLine, DomainError> {
    let commerce = input.commerce;
    let product = commerce.product(sku).ok_or_else(|| DomainError::UnknownSku { sku: sku.to_owned() })?;
    let price = unit_price(commerce, sku, quantity, input.currency, &input.shopper)?;
    let gross = price.unit.checked_mul(Decimal::from(quantity)).ok_or(DomainError::AmountTooLarge)?;
    if gross > AMOUNT_MAX {
        return Err(DomainError::AmountTooLarge);
    }
    let mut best: Option<(Decimal, &str)> = None;
    for discount in current_discounts(input, DiscountKind::Product) {
        let targets = match (&discount.sku, &discount.family) {
            (Some(s), _) => s == sku,
            (None, Some(f)) => product.family.as_ref() == Some(f),
            _ => false,
        };
        if !targets {
            continue;
        }
        let off = match (discount.percent, discount.amount) {
            (Some(percent), _) => price.unit / Decimal::ONE_HUNDRED * percent,
            (None, Some(amount)) => from_main(commerce, amount, input.currency)?,
            (None, None) => Decimal::ZERO,
        }
        .min(price.unit);
        if best.is_none_or(|(b, _)| off > b) {
            best = Some((off, &discount.code));
        }
    }
    if let Some((_, code)) = best {
        if !applied.iter().any(|a| a == code) {
            applied.push(code.to_owned());
        }
    }
    let (tax_name, tax_rate) = tax_rate(company, &product.tax_class, &input.destination.country)?;
    Ok(PricedLine {
        line: line.to_owned(),
        sku: sku.to_owned(),
        quantity,
        unit: price.unit,
        price_rule: price.rule,
        unit_discount: best.map_or(Decimal::ZERO, |(off, _)| off),
        product_discount: best.map(|(_, code)| code.to_owned()),
        cart_discount: Decimal::ZERO,
        tax_name,
        tax_rate,
    })
}

/// Applies the cart discounts (threshold, promo code) to what the lines cost after product
/// discounts, shared out over the lines by what each costs so each rate's base is right;
/// whether one of them makes shipping free.
fn apply_cart_discounts(
    input: &CartPricing<'_>,
    lines: &mut [PricedLine],
    applied: &mut Vec<String>,
) -> Result<bool, DomainError> {
    let commerce = input.commerce;
    let after_products: Decimal = lines.iter().map(PricedLine::net).sum();
    let after_products_main = to_main(commerce, after_products, input.currency)?;
    let promo = input.promo_code.map(str::to_lowercase);
    if let Some(code) = &promo {
        let discounts = &commerce.config().discounts;
        let known = discounts.iter().any(|d| d.promo_code.as_ref().is_some_and(|p| p.to_lowercase() == *code));
        if !known {
            return Err(DomainError::UnknownPromoCode { code: input.promo_code.unwrap_or_default().to_owned() });
        }
    }
    let mut cart_off = Decimal::ZERO;
    let mut free_shipping = false;
    for discount in current_discounts(input, DiscountKind::Cart) {
        if discount.promo_code.as_ref().is_some_and(|p| Some(p.to_lowercase()) != promo) {
            continue;
        }
        if discount.min_subtotal.is_some_and(|min| after_products_main < min) {
            continue;
        }
        let off = match (discount.percent, discount.amount) {
            (Some(percent), _) => after_products * percent / Decimal::ONE_HUNDRED,
            (None, Some(amount)) => from_main(commerce, amount, input.currency)?,
            (None, None) => Decimal::ZERO,
        };
        cart_off += off;
        free_shipping |= discount.free_shipping;
        applied.push(discount.code.clone());
    }
    let cart_off = cart_off.min(after_products);
    if !cart_off.is_zero() && !after_products.is_zero() {
        for line in lines.iter_mut() {
            // The share first: it is at most 1, so the product cannot overflow.
            line.cart_discount = cart_off * (line.net() / after_products);
        }
    }
    Ok(free_shipping)
}

impl PricedCart {
    /// One row per tax rate (name and rate) with its exact base, lines then shipping,
    /// rounded once.
    fn tax_rows(&self, shipping: Decimal) -> Vec<TaxAmount> {
        let units = self.minor_units;
        let mut bases: BTreeMap<(String, Decimal), Decimal> = BTreeMap::new();
        for line in &self.lines {
            *bases.entry((line.tax_name.clone(), line.tax_rate)).or_default() += line.net();
        }
        if let Some((name, rate)) = &self.shipping_tax {
            if !shipping.is_zero() {
                *bases.entry((name.clone(), *rate)).or_default() += shipping;
            }
        }
        bases
            .into_iter()
            .map(|((name, rate), base)| TaxAmount {
                name,
                rate,
                base: round(base, units),
                tax: round(base * rate / Decimal::ONE_HUNDRED, units),
            })
            .collect()
    }

    /// What the lines cost before tax, after discounts.
    pub fn net(&self) -> Decimal {
        self.lines.iter().map(PricedLine::net).sum()
    }

    /// The totals with `shipping` (before tax, before the free-shipping discount).
    pub fn totals(&self, shipping: Decimal) -> Totals {
        let shipping = if self.free_shipping { Decimal::ZERO } else { shipping };
        let units = self.minor_units;
        let shown = |amount: Decimal, rate: Decimal| {
            if self.tax_inclusive {
                amount * (Decimal::ONE + rate / Decimal::ONE_HUNDRED)
            } else {
                amount
            }
        };
        let shipping_rate = self.shipping_tax.as_ref().map_or(Decimal::ZERO, |(_, rate)| *rate);
        let taxes = self.tax_rows(shipping);
        // Each line is rounded once, and the subtotal and discounts are the sums of the
        // rounded lines: the lines shown add up to them.
        let lines: Vec<LineAmount> = self
            .lines
            .iter()
            .map(|line| {
                let gross = round(shown(line.gross_of_discounts(), line.tax_rate), units);
                let discount = round(shown(line.discount(), line.tax_rate), units);
                LineAmount {
                    line: line.line.clone(),
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                    unit_price: round(shown(line.unit, line.tax_rate), units),
                    discount,
                    amount: gross - discount,
                    tax_rate: line.tax_rate,
                }
            })
            .collect();
        let subtotal: Decimal = lines.iter().map(|l| l.amount + l.discount).sum();
        let discounts: Decimal = lines.iter().map(|l| l.discount).sum();
        let shipping = round(shown(shipping, shipping_rate), units);
        let tax_total: Decimal = taxes.iter().map(|t| t.tax).sum();
        let total = if self.tax_inclusive {
            subtotal - discounts + shipping
        } else {
            subtotal - discounts + shipping + tax_total
        };
        Totals {
            currency: self.currency.clone(),
            tax_inclusive: self.tax_inclusive,
            lines,
            subtotal,
            discounts,
            shipping,
            taxes,
            total,
            applied_discounts: self.applied.clone(),
        }
    }
}
