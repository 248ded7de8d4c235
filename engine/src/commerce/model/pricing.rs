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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct PriceRule {
    /// Identifies the rule (a unit price names the rule that set it). Required; unique among
    /// the commerce's price rules.
    #[schemars(extend("x-required" = true))]
    pub code: String,
    /// The product it prices, by SKU; must be a product of the commerce. Exactly one of
    /// `sku` and `family` is required.
    pub sku: Option<String>,
    /// The family it prices (every product of that family); must be one of the commerce's
    /// `families`. Exactly one of `sku` and `family` is required.
    pub family: Option<String>,
    /// Fixed unit prices per currency; the main currency's is required, the others
    /// convert from it when missing. Each is a decimal string before tax, not negative, and
    /// each key must be a currency of the commerce. Empty by default; exactly one of a
    /// non-empty `prices` and `percent` is required.
    pub prices: BTreeMap<String, Decimal>,
    /// Change over the base price, percent: -15 is 15 % off, 10 a 10 % surcharge. A decimal
    /// string above -100. Exactly one of a non-empty `prices` and `percent` is required.
    #[schemars(extend("exclusiveMinimum" = -100))]
    pub percent: Option<Decimal>,
    /// The rule applies from this many units of the line (quantity tiers); at least 1,
    /// default 1.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub min_quantity: u32,
    /// Filters: a rule with none applies to everyone. The most specific filter a rule
    /// sets ranks it: user, then group, then area, then country. This one: only the user
    /// with this `id`, which must be a user of the commerce.
    pub user: Option<String>,
    /// Filter: only shoppers in this user group; must be a user group code of the commerce.
    pub group: Option<String>,
    /// Filter: only shoppers whose place is inside this area; must be an area code of the
    /// commerce.
    pub area: Option<String>,
    /// Filter: only shoppers in this country; must be a country code of the commerce.
    pub country: Option<String>,
    /// Among rules as specific, the higher priority wins. Default 0; may be negative.
    pub priority: i32,
}

fn one() -> u32 {
    1
}

/// A discount: on products (automatic, per unit) or on the cart (by threshold, promo code,
/// or free shipping).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Discount {
    /// Identifies the discount (carts list the codes of the discounts applied). Required;
    /// unique among the commerce's discounts.
    #[schemars(extend("x-required" = true))]
    pub code: String,
    /// A label for people; free text, empty by default. No rule applies to it.
    pub name: String,
    /// Required: `product` or `cart`. A product discount needs `percent` or `amount`; a cart
    /// discount needs `percent`, `amount` or `free_shipping`.
    #[schemars(extend("x-required" = true))]
    pub kind: Option<DiscountKind>,
    /// Product discounts: exactly one of `sku` and `family`.
    /// The product it applies to, by SKU; must be a product of the commerce. Not allowed on
    /// cart discounts.
    pub sku: Option<String>,
    /// Product discounts: the family it applies to (every product of that family); must be
    /// one of the commerce's `families`. Exactly one of `sku` and `family`; not allowed on
    /// cart discounts.
    pub family: Option<String>,
    /// Percent off, above 0 and at most 100 (`"15"` is 15 % off): of the unit price for
    /// product discounts, of the lines' total after product discounts for cart discounts.
    /// Not with `amount`.
    #[schemars(range(max = 100), extend("exclusiveMinimum" = 0))]
    pub percent: Option<Decimal>,
    /// An amount off in the main currency (per unit for product discounts).
    /// A decimal string before tax, above 0; other currencies convert from it at their
    /// rate. Not with `percent`.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub amount: Option<Decimal>,
    /// First day it applies (included), `YYYY-MM-DD`; none means no start.
    pub starts: Option<NaiveDate>,
    /// Last day it applies (included), `YYYY-MM-DD`; none means no end. Not before
    /// `starts`.
    pub ends: Option<NaiveDate>,
    /// Cart discounts: the subtotal (after product discounts, main currency) it needs.
    /// A decimal string before tax, at least 0; none means no threshold. Not allowed on
    /// product discounts.
    #[schemars(range(min = 0))]
    pub min_subtotal: Option<Decimal>,
    /// Cart discounts: the code a shopper must enter (matched without regard to case).
    /// 1 to 64 bytes, not blank; unique among discounts regardless of case. None means it
    /// applies without a code. Not allowed on product discounts.
    #[schemars(length(min = 1, max = 64))]
    pub promo_code: Option<String>,
    /// Cart discounts: shipping costs nothing. Default false; must stay false on product
    /// discounts.
    pub free_shipping: bool,
}

/// Whether a discount applies to products or to the cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscountKind {
    /// Off each unit of the products it targets, automatically; a line takes only its
    /// largest product discount.
    Product,
    /// Off the lines' total after product discounts, when the cart meets its `min_subtotal`
    /// and `promo_code`; cart discounts add up, to at most that total.
    Cart,
}

impl Discount {
    /// Whether it applies on `today`.
    pub fn current(&self, today: NaiveDate) -> bool {
        self.starts.is_none_or(|d| d <= today) && self.ends.is_none_or(|d| today <= d)
    }
}

/// A commission the commerce charges on a merchant's sales: a percent of a line's amount,
/// a fixed amount per unit (per currency), or both. It targets one product (`sku`), one
/// family or one merchant, or with none of them every merchant's sale. For a line, the
/// most specific rule that matches wins (product, then family, then merchant, then none),
/// then the highest `priority`, then the first code; a line no rule matches pays its
/// merchant's `commission_percent`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct CommissionRule {
    /// 1 to 64 of a-z, 0-9, '-', '_'. Required; unique among the commission rules.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// The product it applies to. At most one of `sku`, `family` and `merchant`.
    pub sku: Option<String>,
    /// The family it applies to.
    pub family: Option<String>,
    /// The merchant it applies to.
    pub merchant: Option<String>,
    /// Percent of the line's amount (before tax), 0 to 100, as a decimal string.
    #[schemars(range(min = 0, max = 100))]
    pub percent: Option<Decimal>,
    /// A fixed amount per unit, by currency (each a currency of the commerce, at least 0).
    /// At least one of `percent` and `fixed_per_unit`.
    pub fixed_per_unit: BTreeMap<String, Decimal>,
    /// Among rules as specific, the higher wins. Defaults to 0.
    pub priority: i32,
}
