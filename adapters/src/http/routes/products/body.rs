//! The product as `PUT …/products/{sku}` takes it and the administrator reads it whole
//! (`document`): the configuration file's product table in JSON, every field checked by
//! the same rules as the file (all violations at once, `invalid_product`). Unknown fields
//! are refused naming the field.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use mercato_engine::commerce::model;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A product, whole.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProductBody {
    /// The SKU: the path's (given here, it must be the same).
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub sku: Option<String>,
    /// Name per language code; the default language's is required; no control character
    /// (a line break, a tab), at most 500 characters.
    pub names: BTreeMap<String, String>,
    /// Description per language code.
    pub descriptions: BTreeMap<String, String>,
    /// Attributes by code (1 to 64 of a-z, 0-9, '_', '-'), at most 100.
    pub attributes: BTreeMap<String, String>,
    /// One of the commerce's tax classes. Required.
    pub tax_class: String,
    /// Weight of one unit in grams; required unless `weight` gives it.
    #[schema(minimum = 0, maximum = 4_294_967_295_i64)]
    #[serde(deserialize_with = "crate::http::wire::whole_u32_or_null")]
    pub weight_grams: Option<u32>,
    /// Weight in a unit of its own, converted to grams (not with `weight_grams`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<WeightBody>,
    pub family: Option<String>,
    /// One of the commerce's shipping classes. Required.
    pub shipping_class: String,
    /// The merchant selling it; a merchant key's products are its own.
    pub merchant: Option<String>,
    /// Base price per currency code, a decimal string before tax; the main currency's is
    /// required.
    pub prices: BTreeMap<String, String>,
    pub stock_policy: Option<StockPolicyBody>,
    /// Per-warehouse overrides of `stock_policy`, by warehouse code.
    pub stock_policy_overrides: BTreeMap<String, StockPolicyBody>,
    pub quantity: QuantityBody,
    /// Related products by SKU.
    pub related: Vec<String>,
    /// Media references in display order, at most 50.
    pub media: Vec<MediaBody>,
}

/// A weight in a unit of its own.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightBody {
    /// A decimal string, not negative.
    #[schema(pattern = r"^[0-9]{1,18}(\.[0-9]{1,10})?$")]
    pub value: String,
    pub unit: WeightUnitBody,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeightUnitBody {
    G,
    Kg,
    Lb,
    Oz,
}

/// A stock policy: `kind` and the fields that kind takes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StockPolicyBody {
    pub kind: Option<StockPolicyKindBody>,
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(deserialize_with = "crate::http::wire::whole_u32_or_null")]
    pub days: Option<u32>,
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    #[serde(deserialize_with = "crate::http::wire::whole_u32_or_null")]
    pub cap: Option<u32>,
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub release_date: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockPolicyKindBody {
    StockOnly,
    BackorderIncoming,
    BackorderLeadTime,
    Preorder,
}

/// The quantities a cart line may hold.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct QuantityBody {
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    #[serde(deserialize_with = "crate::http::wire::whole_u32")]
    pub min: u32,
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    #[serde(deserialize_with = "crate::http::wire::whole_u32_or_null")]
    pub max: Option<u32>,
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    #[serde(deserialize_with = "crate::http::wire::whole_u32")]
    pub multiple_of: u32,
}

impl Default for QuantityBody {
    fn default() -> Self {
        Self { min: 1, max: None, multiple_of: 1 }
    }
}

/// A media reference.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MediaBody {
    /// An http(s) address, at most 2,048 characters. Required.
    pub url: String,
    /// `image`, `video` or `3d`. Required.
    pub kind: Option<MediaKindBody>,
    /// Alternative text per language code.
    pub alt: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
pub enum MediaKindBody {
    #[serde(rename = "image")]
    Image,
    #[serde(rename = "video")]
    Video,
    #[serde(rename = "3d")]
    Model3d,
}

/// A medium's kind as the API writes it.
pub fn media_kind(kind: model::MediaKind) -> MediaKindBody {
    match kind {
        model::MediaKind::Image => MediaKindBody::Image,
        model::MediaKind::Video => MediaKindBody::Video,
        model::MediaKind::Model3d => MediaKindBody::Model3d,
    }
}

/// The policy `body` describes; a release date that does not read is named in `problems`
/// and stands in as `STAND_IN_DATE`.
fn policy(body: StockPolicyBody, what: &str, problems: &mut Vec<String>) -> model::StockPolicyConfig {
    let release_date = body.release_date.map(|date| {
        NaiveDate::parse_from_str(&date, "%Y-%m-%d")
            .ok()
            .filter(|_| crate::http::wire::is_date_shaped(&date))
            .unwrap_or_else(|| {
                problems.push(format!("{what}: release_date \"{date}\" is not a date (YYYY-MM-DD)"));
                STAND_IN_DATE
            })
    });
    model::StockPolicyConfig {
        kind: body.kind.map(|kind| match kind {
            StockPolicyKindBody::StockOnly => model::StockPolicyKind::StockOnly,
            StockPolicyKindBody::BackorderIncoming => model::StockPolicyKind::BackorderIncoming,
            StockPolicyKindBody::BackorderLeadTime => model::StockPolicyKind::BackorderLeadTime,
            StockPolicyKindBody::Preorder => model::StockPolicyKind::Preorder,
        }),
        days: body.days,
        cap: body.cap,
        release_date,
    }
}

/// What stands in for a value that does not read while the rest is checked by the rules
/// (so a refusal names every violation at once, not only the unreadable value).
const STAND_IN_AMOUNT: Decimal = Decimal::ONE;
const STAND_IN_DATE: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");

/// A small map as a B-tree, for the document.
fn copy<V: Clone>(map: &litemap::LiteMap<String, V>) -> BTreeMap<String, V> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// `STAND_IN_AMOUNT`, with `problem` kept.
fn stand_in(problems: &mut Vec<String>, problem: String) -> Decimal {
    problems.push(problem);
    STAND_IN_AMOUNT
}

/// A decimal of the shape the document states (`wire::AMOUNT_PATTERN`: up to 18 digits, a
/// point and up to 10 more), so no price or weight can overflow what is computed from it.
fn decimal(text: &str, what: &str) -> Result<Decimal, String> {
    crate::http::wire::amount(text).ok_or_else(|| {
        format!("{what} \"{text}\" is not a decimal number of up to 18 digits, a point and up to 10 more")
    })
}

fn policy_body(config: &model::StockPolicyConfig) -> StockPolicyBody {
    StockPolicyBody {
        kind: config.kind.map(|kind| match kind {
            model::StockPolicyKind::StockOnly => StockPolicyKindBody::StockOnly,
            model::StockPolicyKind::BackorderIncoming => StockPolicyKindBody::BackorderIncoming,
            model::StockPolicyKind::BackorderLeadTime => StockPolicyKindBody::BackorderLeadTime,
            model::StockPolicyKind::Preorder => StockPolicyKindBody::Preorder,
        }),
        days: config.days,
        cap: config.cap,
        release_date: config.release_date.map(|d| d.to_string()),
    }
}

impl ProductBody {
    /// The product this body describes, under `sku`, and the values that do not read (a
    /// price, a weight or a date), each named, with a stand-in in their place that keeps
    /// the rules, so that the rules may be checked on the rest.
    pub fn read(self, sku: &str) -> (model::Product, Vec<String>) {
        let mut problems = Vec::new();
        let prices: BTreeMap<String, Decimal> = self
            .prices
            .iter()
            .map(|(currency, price)| {
                let read = decimal(price, &format!("price in {currency}"));
                (currency.clone(), read.unwrap_or_else(|problem| stand_in(&mut problems, problem)))
            })
            .collect();
        let weight = self.weight.map(|w| {
            let read = decimal(&w.value, "weight value");
            (read.unwrap_or_else(|problem| stand_in(&mut problems, problem)), w.unit)
        });
        let stock_policy = self.stock_policy.map(|p| policy(p, "stock_policy", &mut problems));
        let overrides: BTreeMap<String, model::StockPolicyConfig> = self
            .stock_policy_overrides
            .into_iter()
            .map(|(w, p)| {
                let read = policy(p, &format!("stock policy override for \"{w}\""), &mut problems);
                (w, read)
            })
            .collect();
        let product = model::Product {
            sku: sku.to_owned(),
            names: self.names.into_iter().collect(),
            descriptions: self.descriptions.into_iter().collect(),
            attributes: self.attributes.into_iter().collect(),
            tax_class: self.tax_class,
            weight_grams: self.weight_grams,
            weight: weight.map(|(value, unit)| model::Weight {
                value,
                unit: match unit {
                    WeightUnitBody::G => model::WeightUnit::G,
                    WeightUnitBody::Kg => model::WeightUnit::Kg,
                    WeightUnitBody::Lb => model::WeightUnit::Lb,
                    WeightUnitBody::Oz => model::WeightUnit::Oz,
                },
            }),
            family: self.family,
            shipping_class: self.shipping_class,
            merchant: self.merchant,
            prices: prices.into_iter().collect(),
            stock_policy,
            stock_policy_overrides: overrides.into_iter().collect(),
            quantity: model::QuantityRules {
                min: self.quantity.min,
                max: self.quantity.max,
                multiple_of: self.quantity.multiple_of,
            },
            related: self.related,
            media: self
                .media
                .into_iter()
                .map(|m| model::Media {
                    url: m.url,
                    kind: m.kind.map(|k| match k {
                        MediaKindBody::Image => model::MediaKind::Image,
                        MediaKindBody::Video => model::MediaKind::Video,
                        MediaKindBody::Model3d => model::MediaKind::Model3d,
                    }),
                    alt: m.alt.into_iter().collect(),
                })
                .collect(),
        };
        (product, problems)
    }

    /// The body that describes `product` (what a `PATCH` merges into).
    pub fn of(product: &model::Product) -> Self {
        ProductBody {
            sku: Some(product.sku.clone()),
            names: copy(&product.names),
            descriptions: copy(&product.descriptions),
            attributes: copy(&product.attributes),
            tax_class: product.tax_class.clone(),
            weight_grams: product.weight_grams,
            weight: None,
            family: product.family.clone(),
            shipping_class: product.shipping_class.clone(),
            merchant: product.merchant.clone(),
            prices: product.prices.iter().map(|(c, p)| (c.clone(), p.to_string())).collect(),
            stock_policy: product.stock_policy.as_ref().map(policy_body),
            stock_policy_overrides: product
                .stock_policy_overrides
                .iter()
                .map(|(w, p)| (w.clone(), policy_body(p)))
                .collect(),
            quantity: QuantityBody {
                min: product.quantity.min,
                max: product.quantity.max,
                multiple_of: product.quantity.multiple_of,
            },
            related: product.related.clone(),
            media: product
                .media
                .iter()
                .map(|m| MediaBody { url: m.url.clone(), kind: m.kind.map(media_kind), alt: copy(&m.alt) })
                .collect(),
        }
    }
}
