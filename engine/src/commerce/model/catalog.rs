//! Products: what is sold, how it is taxed and shipped, how its stock is controlled and in
//! what quantities it may be bought.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A product on sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub sku: String,
    /// Name per language code; every language of the commerce must have one.
    pub names: BTreeMap<String, String>,
    pub tax_class: String,
    pub weight_grams: u32,
    #[serde(default)]
    pub family: Option<String>,
    /// The "shipping calculation type": carriers' shipping types accept some classes.
    pub shipping_class: String,
    /// The merchant that sells it (marketplace); none means the commerce itself.
    #[serde(default)]
    pub merchant: Option<String>,
    /// Base price per currency code; the main currency's is required.
    pub prices: BTreeMap<String, Decimal>,
    #[serde(default)]
    pub stock_policy: StockPolicy,
    /// Per-warehouse overrides of `stock_policy`, by warehouse code.
    #[serde(default)]
    pub stock_policy_overrides: BTreeMap<String, StockPolicy>,
    #[serde(default)]
    pub quantity: QuantityRules,
    #[serde(default)]
    pub related: Vec<String>,
}

/// How a product may be sold beyond what is on hand now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StockPolicy {
    /// Sell only what is available now.
    #[default]
    StockOnly,
    /// Once on-hand is exhausted, sell against announced incoming batches, earliest first,
    /// never more than each batch brings.
    BackorderIncoming,
    /// Made to order or bought from a supplier: delivery is today plus `days`; unlimited
    /// unless capped.
    BackorderLeadTime {
        days: u32,
        #[serde(default)]
        cap: Option<u32>,
    },
    /// Not released yet: sells up to `cap` units, ships on `release_date`.
    Preorder { release_date: NaiveDate, cap: u32 },
}

impl StockPolicy {
    pub fn name(&self) -> &'static str {
        match self {
            StockPolicy::StockOnly => "stock_only",
            StockPolicy::BackorderIncoming => "backorder_incoming",
            StockPolicy::BackorderLeadTime { .. } => "backorder_lead_time",
            StockPolicy::Preorder { .. } => "preorder",
        }
    }
}

/// The quantities a cart line may hold: at least `min`, at most `max`, a multiple of
/// `multiple_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantityRules {
    #[serde(default = "one")]
    pub min: u32,
    #[serde(default)]
    pub max: Option<u32>,
    #[serde(default = "one")]
    pub multiple_of: u32,
}

fn one() -> u32 {
    1
}

impl Default for QuantityRules {
    fn default() -> Self {
        Self {
            min: 1,
            max: None,
            multiple_of: 1,
        }
    }
}
