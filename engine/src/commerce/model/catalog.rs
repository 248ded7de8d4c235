//! Products: what is sold, how it is taxed and shipped, how its stock is controlled and in
//! what quantities it may be bought.

use std::collections::BTreeMap;

use litemap::LiteMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A product on sale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Product {
    /// Stock-keeping unit: the product's code, 1 to 64 of A-Z, a-z, 0-9, '-', '_', '.'.
    /// Required; unique among the commerce's products.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
    pub sku: String,
    /// Name per language code. Required: the commerce's default language must have one;
    /// every other language falls back to it until it has its own (`GET …/products/
    /// translations` lists what is missing). Each name is non-blank and each key a language
    /// code of the commerce.
    #[schemars(extend("x-required" = true))]
    #[serde(serialize_with = "map")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub names: LiteMap<String, String>,
    /// The tax class its lines are taxed as. Required; must be one of the commerce's
    /// `tax_classes`.
    #[schemars(extend("x-required" = true))]
    pub tax_class: String,
    /// Weight of one unit, in grams. Required unless `weight` gives it in another unit; 0
    /// for goods that weigh nothing (gift cards, downloads).
    pub weight_grams: Option<u32>,
    /// The weight of one unit in a unit of its own (`{ value = "1.2", unit = "kg" }`),
    /// converted to `weight_grams` when read (rounded to the nearest gram); not kept
    /// apart. Not together with `weight_grams`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<Weight>,
    /// Description per language code; none by default. Each key a language code of the
    /// commerce, each text 1 to 20,000 characters.
    #[serde(serialize_with = "map")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub descriptions: LiteMap<String, String>,
    /// Attributes (`colour = "red"`), by code; none by default. Each code 1 to 64 of a-z,
    /// 0-9, '_', '-', each value 1 to 1,000 characters; at most 100.
    #[serde(serialize_with = "map")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub attributes: LiteMap<String, String>,
    /// Media references, in display order (the assets stay in the DAM); none by default.
    /// At most 50.
    pub media: Vec<Media>,
    /// The family it belongs to, which price rules and discounts can target; none by
    /// default. When set, must be one of the commerce's `families`.
    pub family: Option<String>,
    /// The "shipping calculation type": carriers' shipping types accept some classes.
    /// Required; must be one of the commerce's `shipping_classes`, and at least one carrier's
    /// shipping type must accept it.
    #[schemars(extend("x-required" = true))]
    pub shipping_class: String,
    /// The merchant that sells it (marketplace); none means the commerce itself. When set,
    /// must be the code of a merchant of the commerce.
    pub merchant: Option<String>,
    /// Base price per currency code; the main currency's is required. Each is a unit price
    /// before tax, a decimal string (`"19.90"`) in its key's currency, not negative; each key
    /// must be a currency of the commerce. A currency without a price converts from the main
    /// currency's at its rate.
    #[schemars(extend("x-required" = true))]
    #[serde(serialize_with = "map")]
    #[schemars(with = "BTreeMap<String, Decimal>")]
    pub prices: LiteMap<String, Decimal>,
    /// How it sells beyond what is on hand, in every warehouse without an override; none
    /// means `stock_only`. A cap set here is one budget shared by all those warehouses.
    pub stock_policy: Option<StockPolicyConfig>,
    /// Per-warehouse overrides of `stock_policy`, by warehouse code; none by default. Each
    /// key must be a warehouse code of the commerce; an override's cap is that warehouse's
    /// alone.
    #[serde(serialize_with = "map")]
    #[schemars(with = "BTreeMap<String, StockPolicyConfig>")]
    pub stock_policy_overrides: LiteMap<String, StockPolicyConfig>,
    /// The quantities a cart line of it may hold; by default any quantity from 1.
    pub quantity: QuantityRules,
    /// Related products, by SKU; none by default. Each must be a product of the commerce,
    /// listed once, and not this product itself.
    pub related: Vec<String>,
}

/// A small map written as the map it is (an empty one too: `{}`, not `[]`).
fn map<V: Serialize, S: serde::Serializer>(map: &LiteMap<String, V>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(map.iter())
}

/// A weight as given, in a unit of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Weight {
    /// The weight, a decimal string (`"1.25"`), not negative.
    pub value: Decimal,
    /// Its unit.
    pub unit: WeightUnit,
}

/// A unit of weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeightUnit {
    G,
    Kg,
    Lb,
    Oz,
}

impl Weight {
    /// The weight in whole grams (half a gram rounds up), or none when it is negative or
    /// does not fit.
    pub fn grams(&self) -> Option<u32> {
        use rust_decimal::prelude::ToPrimitive;
        let per_unit = match self.unit {
            WeightUnit::G => Decimal::ONE,
            WeightUnit::Kg => Decimal::from(1000),
            WeightUnit::Lb => Decimal::new(45_359_237, 5),
            WeightUnit::Oz => Decimal::new(28_349_523_125, 9),
        };
        if self.value.is_sign_negative() {
            return None;
        }
        let grams = self.value.checked_mul(per_unit)?;
        grams.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero).to_u32()
    }
}

/// A media reference: where the asset is, what it is, and its alternative text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Media {
    /// The asset's address, `https://` or `http://`, at most 2,048 characters. Required.
    #[schemars(extend("x-required" = true))]
    pub url: String,
    /// What the asset is. Required.
    #[schemars(extend("x-required" = true))]
    pub kind: Option<MediaKind>,
    /// Alternative text per language code; each key a language code of the commerce, each
    /// text 1 to 1,000 characters.
    #[serde(serialize_with = "map")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub alt: LiteMap<String, String>,
}

/// The kind of a media asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum MediaKind {
    #[serde(rename = "image")]
    Image,
    #[serde(rename = "video")]
    Video,
    #[serde(rename = "3d")]
    Model3d,
}

impl Product {
    /// Turns a `weight` given in a unit of its own into `weight_grams`; the refusal says
    /// why it cannot be (given together with `weight_grams`, negative, or too large).
    /// Gives back what its maps and lists hold beyond their entries (a catalogue keeps
    /// millions of products).
    pub fn compact(&mut self) {
        fn tight<V>(map: &mut LiteMap<String, V>) {
            let mut entries = std::mem::take(map).into_tuple_vec();
            entries.shrink_to_fit();
            // Taken from a map: sorted and without duplicates already.
            *map = LiteMap::from_sorted_store_unchecked(entries);
        }
        tight(&mut self.names);
        tight(&mut self.descriptions);
        tight(&mut self.attributes);
        tight(&mut self.prices);
        tight(&mut self.stock_policy_overrides);
        self.related.shrink_to_fit();
        self.media.shrink_to_fit();
        for media in &mut self.media {
            tight(&mut media.alt);
        }
    }

    pub fn normalize_weight(&mut self) -> Result<(), String> {
        let Some(weight) = self.weight.take() else { return Ok(()) };
        if self.weight_grams.is_some() {
            return Err("weight and weight_grams cannot both be given".into());
        }
        let grams = weight.grams().ok_or_else(|| format!("weight {} is negative or too large", weight.value))?;
        self.weight_grams = Some(grams);
        Ok(())
    }

    /// The product's name in `language`, or in `default_language` when it has none there
    /// yet: the language the name is in, and the name.
    pub fn name_in<'a>(&'a self, language: &'a str, default_language: &'a str) -> Option<(&'a str, &'a str)> {
        let named = |code: &'a str| self.names.get(code).map(|name| (code, name.as_str()));
        named(language).or_else(|| named(default_language))
    }
}

/// How a product may be sold beyond what is on hand now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
        /// Lead time, in days: units sold against it are ready `days` days from today.
        days: u32,
        /// The most units that may be committed against the lead time; none means unlimited.
        cap: Option<u32>,
    },
    /// Not released yet: sells up to `cap` units, ships on `release_date`.
    /// Before that day it sells only against `cap`, never from on-hand stock.
    Preorder {
        /// The day the product is released and preordered units ship.
        release_date: NaiveDate,
        /// The most units that may be committed as preorders.
        cap: u32,
    },
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct StockPolicyConfig {
    /// Which policy. Required.
    #[schemars(extend("x-required" = true))]
    pub kind: Option<StockPolicyKind>,
    /// Lead time, in days, 1 to 3650: units sold against it are ready `days` days from today.
    /// Required for `backorder_lead_time`; not allowed for any other kind.
    #[schemars(range(min = 1, max = 3650))]
    pub days: Option<u32>,
    /// The most units that may be committed as lead-time units or preorders, at least 1.
    /// Required for `preorder`; optional for `backorder_lead_time`, where none means
    /// unlimited; not allowed for any other kind.
    #[schemars(range(min = 1))]
    pub cap: Option<u32>,
    /// The release day (`YYYY-MM-DD`): preorders ship on it, and before it the product sells
    /// only against `cap`. Required for `preorder`; not allowed for any other kind.
    pub release_date: Option<NaiveDate>,
}

/// The kind of a stock policy, as `kind` of a stock policy table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockPolicyKind {
    /// Sell only what is available now. Takes no other field.
    StockOnly,
    /// Once on-hand is exhausted, sell against announced incoming batches, earliest first,
    /// never more than each batch brings. Takes no other field.
    BackorderIncoming,
    /// Made to order or bought from a supplier: once on-hand is exhausted, sell for delivery
    /// `days` from today, without limit unless `cap` is set. Takes `days` (required) and
    /// `cap`.
    BackorderLeadTime,
    /// Not released yet: until `release_date`, sell up to `cap` units, which ship on that
    /// day; from that day, sell what is on hand. Takes `release_date` and `cap`, both
    /// required.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QuantityRules {
    /// The fewest units a line may hold; default 1. At least 1, and a multiple of
    /// `multiple_of`.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub min: u32,
    /// The most units a line may hold; none (the default) means no maximum. Not below
    /// `min`, and a multiple of `multiple_of`.
    #[schemars(range(min = 1))]
    pub max: Option<u32>,
    /// The step a line's quantity must be a multiple of (6 sells by the half dozen);
    /// default 1. At least 1.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
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
