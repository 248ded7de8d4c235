//! Products: what is sold, how it is taxed and shipped, how its stock is controlled and in
//! what quantities it may be bought.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A product on sale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Product {
    pub sku: String,
    /// Name per language code; every language of the commerce must have one.
    pub names: BTreeMap<String, String>,
    pub tax_class: String,
    /// Required; 0 for goods that weigh nothing (gift cards, downloads).
    pub weight_grams: Option<u32>,
    pub family: Option<String>,
    /// The "shipping calculation type": carriers' shipping types accept some classes.
    pub shipping_class: String,
    /// The merchant that sells it (marketplace); none means the commerce itself.
    pub merchant: Option<String>,
    /// Base price per currency code; the main currency's is required.
    pub prices: BTreeMap<String, Decimal>,
    /// None means `stock_only`.
    pub stock_policy: Option<StockPolicyConfig>,
    /// Per-warehouse overrides of `stock_policy`, by warehouse code.
    pub stock_policy_overrides: BTreeMap<String, StockPolicyConfig>,
    pub quantity: QuantityRules,
    pub related: Vec<String>,
}

/// How a product may be sold beyond what is on hand now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockPolicy {
    /// Sell only what is available now.
    #[default]
    StockOnly,
    /// Once on-hand is exhausted, sell against announced incoming batches, earliest first,
    /// never more than each batch brings.
    BackorderIncoming,
    /// Made to order or bought from a supplier: delivery is today plus `days`; unlimited
    /// unless capped.
    BackorderLeadTime { days: u32, cap: Option<u32> },
    /// Not released yet: sells up to `cap` units, ships on `release_date`.
    Preorder { release_date: NaiveDate, cap: u32 },
}

impl StockPolicy {
    /// The policy as one warehouse may use it when `used` units of its cap are committed in
    /// the commerce's other warehouses (a product's cap is one budget for all of them).
    pub fn with_cap_used_elsewhere(self, used: u64) -> StockPolicy {
        let left = |cap: u32| u32::try_from(u64::from(cap).saturating_sub(used)).unwrap_or(0);
        match self {
            StockPolicy::BackorderLeadTime { days, cap: Some(cap) } => {
                StockPolicy::BackorderLeadTime { days, cap: Some(left(cap)) }
            }
            StockPolicy::Preorder { release_date, cap } => StockPolicy::Preorder { release_date, cap: left(cap) },
            other => other,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            StockPolicy::StockOnly => "stock_only",
            StockPolicy::BackorderIncoming => "backorder_incoming",
            StockPolicy::BackorderLeadTime { .. } => "backorder_lead_time",
            StockPolicy::Preorder { .. } => "preorder",
        }
    }
}

/// A stock policy as written: `kind` and the fields that kind takes
/// (`{ kind = "preorder", release_date = "2027-03-15", cap = 500 }`). A flat table rather
/// than a tagged enum, so that a field the kind does not take is reported, never dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StockPolicyConfig {
    pub kind: Option<StockPolicyKind>,
    pub days: Option<u32>,
    pub cap: Option<u32>,
    pub release_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockPolicyKind {
    StockOnly,
    BackorderIncoming,
    BackorderLeadTime,
    Preorder,
}

impl StockPolicyConfig {
    /// The policy this table describes, or why it describes none.
    pub fn policy(&self) -> Result<StockPolicy, String> {
        let Some(kind) = self.kind else {
            return Err("kind is required".into());
        };
        let unexpected = |field: &str, present: bool| {
            if present {
                Err(format!("{field} does not apply to {}", kind_name(kind)))
            } else {
                Ok(())
            }
        };
        match kind {
            StockPolicyKind::StockOnly | StockPolicyKind::BackorderIncoming => {
                unexpected("days", self.days.is_some())?;
                unexpected("cap", self.cap.is_some())?;
                unexpected("release_date", self.release_date.is_some())?;
                Ok(if kind == StockPolicyKind::StockOnly {
                    StockPolicy::StockOnly
                } else {
                    StockPolicy::BackorderIncoming
                })
            }
            StockPolicyKind::BackorderLeadTime => {
                unexpected("release_date", self.release_date.is_some())?;
                let days = self.days.ok_or("days is required")?;
                Ok(StockPolicy::BackorderLeadTime { days, cap: self.cap })
            }
            StockPolicyKind::Preorder => {
                unexpected("days", self.days.is_some())?;
                let release_date = self.release_date.ok_or("release_date is required")?;
                let cap = self.cap.ok_or("cap is required")?;
                Ok(StockPolicy::Preorder { release_date, cap })
            }
        }
    }
}

fn kind_name(kind: StockPolicyKind) -> &'static str {
    match kind {
        StockPolicyKind::StockOnly => "stock_only",
        StockPolicyKind::BackorderIncoming => "backorder_incoming",
        StockPolicyKind::BackorderLeadTime => "backorder_lead_time",
        StockPolicyKind::Preorder => "preorder",
    }
}

/// The quantities a cart line may hold: at least `min`, at most `max`, a multiple of
/// `multiple_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantityRules {
    #[serde(default = "one")]
    pub min: u32,
    pub max: Option<u32>,
    #[serde(default = "one")]
    pub multiple_of: u32,
}

fn one() -> u32 {
    1
}

impl QuantityRules {
    /// Whether `quantity` of `sku` may be ordered; the refusal names the allowed values.
    pub fn check(&self, sku: &str, quantity: u32) -> Result<(), crate::DomainError> {
        if quantity < self.min.max(1) {
            return Err(crate::DomainError::QuantityBelowMinimum {
                sku: sku.to_owned(),
                quantity,
                min: self.min.max(1),
            });
        }
        if let Some(max) = self.max.filter(|&max| quantity > max) {
            return Err(crate::DomainError::QuantityAboveMaximum { sku: sku.to_owned(), quantity, max });
        }
        let step = self.multiple_of.max(1);
        if !quantity.is_multiple_of(step) {
            let lower = quantity - quantity % step;
            let higher = lower.checked_add(step);
            let fits = |q: &u32| *q >= self.min.max(1) && self.max.is_none_or(|max| *q <= max);
            let allowed: Vec<String> =
                [Some(lower), higher].into_iter().flatten().filter(fits).map(|q| q.to_string()).collect();
            let allowed = if allowed.is_empty() {
                format!("order a multiple of {step}")
            } else {
                format!("order {}", allowed.join(" or "))
            };
            return Err(crate::DomainError::NotAMultiple { sku: sku.to_owned(), quantity, multiple_of: step, allowed });
        }
        Ok(())
    }
}

impl Default for QuantityRules {
    fn default() -> Self {
        Self { min: 1, max: None, multiple_of: 1 }
    }
}
