//! Price rules and discounts: how a product's base price becomes what a shopper pays.
//!
//! Every amount written here (fixed prices, discount amounts, thresholds) is before tax,
//! like the products' base prices: a tax-inclusive channel adds the tax when it shows them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A price that replaces a product's base price for some shoppers, some quantities or a
/// whole family. Exactly one of `sku` and `family` says what it prices; exactly one of
/// `prices` (fixed, per currency) and `percent` (over the base price) says how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PriceRule {
    pub code: String,
    pub sku: Option<String>,
    pub family: Option<String>,
    /// Fixed unit prices per currency; the main currency's is required, the others
    /// convert from it when missing.
    pub prices: BTreeMap<String, Decimal>,
    /// Change over the base price, percent: -15 is 15 % off, 10 a 10 % surcharge.
    pub percent: Option<Decimal>,
    /// The rule applies from this many units of the line (quantity tiers); at least 1.
    #[serde(default = "one")]
    pub min_quantity: u32,
    /// Filters: a rule with none applies to everyone. The most specific filter a rule
    /// sets ranks it: user, then group, then area, then country.
    pub user: Option<String>,
    pub group: Option<String>,
    pub area: Option<String>,
    pub country: Option<String>,
    /// Among rules as specific, the higher priority wins.
    pub priority: i32,
}

fn one() -> u32 {
    1
}

/// A discount: on products (automatic, per unit) or on the cart (by threshold, promo code,
/// or free shipping).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Discount {
    pub code: String,
    pub name: String,
    /// Required.
    pub kind: Option<DiscountKind>,
    /// Product discounts: exactly one of `sku` and `family`.
    pub sku: Option<String>,
    pub family: Option<String>,
    /// Percent off, above 0 and at most 100.
    pub percent: Option<Decimal>,
    /// An amount off in the main currency (per unit for product discounts).
    pub amount: Option<Decimal>,
    /// First and last day it applies (both included); none means unbounded.
    pub starts: Option<NaiveDate>,
    pub ends: Option<NaiveDate>,
    /// Cart discounts: the subtotal (after product discounts, main currency) it needs.
    pub min_subtotal: Option<Decimal>,
    /// Cart discounts: the code a shopper must enter (matched without regard to case).
    pub promo_code: Option<String>,
    /// Cart discounts: shipping costs nothing.
    pub free_shipping: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscountKind {
    Product,
    Cart,
}

impl Discount {
    /// Whether it applies on `today`.
    pub fn current(&self, today: NaiveDate) -> bool {
        self.starts.is_none_or(|d| d <= today) && self.ends.is_none_or(|d| today <= d)
    }
}
