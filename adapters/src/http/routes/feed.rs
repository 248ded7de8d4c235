//! `GET …/channels/{channel}/feed`: the channel's catalogue for comparison sites and
//! marketplaces the commerce publishes to: every product with its name in a language, its
//! price as the channel shows it (tax included in a tax-inclusive channel) in a currency,
//! and its availability for a destination country across the channel's warehouses. NDJSON
//! (a JSON object a line) or CSV (a header, then a row a product), sent in chunks.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::web::Bytes;
use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use futures_util::StreamExt;
use mercato_actors::warehouse::{GetAvailability, WarehouseHandle};
use mercato_engine::commerce::model::{ApiRole, Channel, Place, Product};
use mercato_engine::inventory::{candidate_warehouses, Across, Availability};
use mercato_engine::pricing::totals::{invoicing_company, tax_rate};
use mercato_engine::pricing::{minor_units, round, unit_price, Shopper};
use mercato_engine::resolution::normalize_country;
use mercato_engine::{Commerce, DomainError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::warehouses::ask;
use crate::http::auth::Principal;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// Products written per chunk of the body.
const FEED_CHUNK_PRODUCTS: usize = 256;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedFormat {
    /// A JSON object a line (`application/x-ndjson`).
    #[default]
    Ndjson,
    /// A header line, then a row a product (`text/csv`).
    Csv,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// `ndjson` (default) or `csv`.
    pub format: Option<FeedFormat>,
    /// The language of the names (default: the destination country's default language,
    /// else the commerce's); a product without a name in it gives its default-language
    /// name, and `language` says which.
    pub language: Option<String>,
    /// The currency of the prices (default: the destination country's default currency,
    /// else the commerce's main currency).
    pub currency: Option<String>,
    /// The destination country availability and taxes are for (default: the commerce's
    /// default country where the channel sells there, else the first country the channel
    /// is chosen for, else the first of its area), ISO 3166-1 alpha-2, either case.
    #[param(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
}

/// One product of the feed: a line of NDJSON, or a row of CSV with these columns.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedItem {
    pub sku: String,
    pub name: Option<String>,
    pub language: Option<String>,
    pub family: Option<String>,
    pub merchant: Option<String>,
    pub currency: String,
    /// The unit price as the channel shows it: tax included in a tax-inclusive channel,
    /// before tax otherwise; null when the product has no price or tax for the destination.
    pub price: Option<String>,
    pub tax_inclusive: bool,
    /// Units available now across the channel's warehouses serving the destination.
    pub available_now: u64,
    /// The earliest day one unit can be had; null when it cannot.
    pub earliest_date: Option<String>,
}

#[utoipa::path(
    tag = "catalog",
    summary = "The channel's catalogue as a feed (admin): name, price and availability per product, NDJSON or CSV.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("channel" = String, Path, description = "The channel code."),
        FeedQuery
    ),
    responses(
        (status = 200, description = "One `FeedItem` (see components) a line as NDJSON, or a CSV with its fields as columns",
            content((String = "application/x-ndjson"), (String = "text/csv"))),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/channels/{channel}/feed")]
pub async fn channel_feed(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<FeedQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, channel) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let commerce = handle.snapshot();
    let Some(listed) = commerce.channel(&channel) else {
        let detail = format!("channel \"{channel}\" is not a channel of this commerce");
        return Err(Problem::new(actix_web::http::StatusCode::NOT_FOUND, "unknown_channel", detail));
    };
    let query = query.read()?;
    let format = query.format.unwrap_or_default();
    let (destination, language, currency) = asked(&commerce, listed, query)?;
    let today = handle.clock().today();

    // A retired product, or one of a merchant not trading, is sold nowhere: the feed
    // leaves it out. The rest is written a chunk at a time, each chunk's availability
    // asked of the warehouses serving the destination as it is written, so the feed's
    // memory is one chunk's whatever the catalogue's size.
    let skus: Vec<String> =
        commerce.catalog().iter().filter_map(|h| commerce.sold(&h.product().sku)).map(|p| p.sku.clone()).collect();
    let warehouses = candidate_warehouses(&commerce, &listed.code, &destination)
        .into_iter()
        .filter_map(|(code, _)| handle.warehouses().handle(&code).cloned().map(|warehouse| (code, warehouse)))
        .collect();
    let channel = listed.code.clone();
    let feed = Arc::new(Feed { commerce, channel, language, currency, destination, today, format, warehouses });
    let header = matches!(format, FeedFormat::Csv).then(|| Ok(csv_header()));
    let rows = futures_util::stream::unfold((feed, skus, 0), |(feed, skus, at)| async move {
        let end = skus.len().min(at + FEED_CHUNK_PRODUCTS);
        if at >= end {
            return None;
        }
        let chunk = feed.chunk(&skus[at..end]).await.map_err(|problem| {
            tracing::warn!(%problem, "a channel feed stopped short");
            std::io::Error::other(problem.to_string())
        });
        Some((chunk, (feed, skus, end)))
    });
    let body = futures_util::stream::iter(header).chain(rows);
    let content_type = match format {
        FeedFormat::Ndjson => "application/x-ndjson",
        FeedFormat::Csv => "text/csv; charset=utf-8",
    };
    Ok(HttpResponse::Ok().content_type(content_type).streaming(body))
}

/// The destination, the language and the currency a feed is asked for, each defaulted
/// from the channel's country when not given.
fn asked(commerce: &Commerce, channel: &Channel, query: FeedQuery) -> Result<(Place, String, String), DomainError> {
    let country = match query.country {
        Some(country) => country,
        None => channel_country(commerce, channel).ok_or(DomainError::CountryRequired)?,
    };
    let destination = Place { country: normalize_country(&country)?, region: None, postal_code: None };
    let known = commerce.country(&destination.country);
    let config = commerce.config();
    let language = query
        .language
        .or_else(|| known.and_then(|c| c.default_language.clone()))
        .unwrap_or_else(|| config.default_language.clone());
    commerce.language(&language).ok_or(DomainError::UnknownLanguage { code: language.clone() })?;
    let currency = query
        .currency
        .or_else(|| known.and_then(|c| c.default_currency.clone()))
        .unwrap_or_else(|| config.main_currency.clone());
    commerce.currency(&currency).ok_or(DomainError::UnknownCurrency { code: currency.clone() })?;
    Ok((destination, language, currency))
}

/// The country a channel's feed is for when the request names none: the commerce's
/// default country when the channel sells there, else the first country the channel is
/// chosen for, else the first of its area.
fn channel_country(commerce: &Commerce, channel: &Channel) -> Option<String> {
    let area = channel.area.as_deref().and_then(|code| commerce.area(code));
    let sells_in = |country: &str| area.is_none_or(|area| area.touches_country(country));
    let default = commerce.config().default_country.clone().filter(|country| sells_in(country));
    default
        .or_else(|| channel.criteria.countries.iter().find(|country| sells_in(country)).cloned())
        .or_else(|| area.and_then(|area| area.members.first()).map(|member| member.country.clone()))
}

/// What every row of one feed shares.
struct Feed {
    commerce: Arc<Commerce>,
    channel: String,
    language: String,
    currency: String,
    destination: Place,
    today: NaiveDate,
    format: FeedFormat,
    /// The warehouses serving the destination.
    warehouses: Vec<(String, WarehouseHandle)>,
}

impl Feed {
    /// The rows of `skus`, written: their availability asked of each warehouse at once.
    async fn chunk(&self, skus: &[String]) -> Result<Bytes, Problem> {
        let mut found = Vec::with_capacity(self.warehouses.len());
        for (code, warehouse) in &self.warehouses {
            found.push((code.clone(), ask(warehouse, GetAvailability { skus: skus.to_vec() }).await?));
        }
        let items: Vec<FeedItem> = skus
            .iter()
            .filter_map(|sku| self.commerce.product(sku))
            .map(|product| self.item(product, &found))
            .collect();
        Ok(match self.format {
            FeedFormat::Ndjson => ndjson(&items),
            FeedFormat::Csv => csv_rows(&items),
        })
    }

    fn item(&self, product: &Product, found: &[(String, BTreeMap<String, Availability>)]) -> FeedItem {
        let default_language = &self.commerce.config().default_language;
        let named = product.name_in(&self.language, default_language);
        let warehouses = found.iter().filter_map(|(warehouse, availability)| {
            let shares = self.commerce.shares_cap(&product.sku, warehouse);
            availability.get(&product.sku).map(|a| (a, shares))
        });
        let across = Across::new(warehouses, self.today);
        let tax_inclusive = self.commerce.channel(&self.channel).is_some_and(|c| c.tax_inclusive);
        FeedItem {
            sku: product.sku.clone(),
            name: named.map(|(_, name)| name.to_owned()),
            language: named.map(|(language, _)| language.to_owned()),
            family: product.family.clone(),
            merchant: product.merchant.clone(),
            currency: self.currency.clone(),
            price: self.price(product, tax_inclusive).ok(),
            tax_inclusive,
            available_now: found
                .iter()
                .filter_map(|(_, availability)| availability.get(&product.sku))
                .map(|a| u64::from(a.now))
                .sum(),
            earliest_date: across.earliest_date(1).map(|d| d.to_string()),
        }
    }

    /// One unit's price for an anonymous shopper in the destination country, as the
    /// channel shows it.
    fn price(&self, product: &Product, tax_inclusive: bool) -> Result<String, DomainError> {
        let shopper = Shopper::of(&self.commerce, None, None, Some(&self.destination));
        let unit = unit_price(&self.commerce, &product.sku, 1, &self.currency, &shopper)?.unit;
        let shown = if tax_inclusive {
            let company = invoicing_company(&self.commerce, &self.channel, &self.destination)?;
            let (_, rate) = tax_rate(company, &product.tax_class, &self.destination.country)?;
            // A price near Decimal's bound would overflow: no price rather than a panic.
            let tax = unit.checked_mul(rate).and_then(|t| t.checked_div(Decimal::ONE_HUNDRED));
            tax.and_then(|tax| unit.checked_add(tax)).ok_or(DomainError::AmountTooLarge)?
        } else {
            unit
        };
        Ok(round(shown, minor_units(&self.commerce, &self.currency)).to_string())
    }
}

fn ndjson(items: &[FeedItem]) -> Bytes {
    let mut out = Vec::new();
    for item in items {
        // A `FeedItem` is strings, numbers and booleans: it always serialises.
        if serde_json::to_writer(&mut out, item).is_ok() {
            out.push(b'\n');
        }
    }
    Bytes::from(out)
}

const CSV_COLUMNS: [&str; 10] = [
    "sku",
    "name",
    "language",
    "family",
    "merchant",
    "currency",
    "price",
    "tax_inclusive",
    "available_now",
    "earliest_date",
];

fn csv_header() -> Bytes {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(CSV_COLUMNS);
    Bytes::from(writer.into_inner().unwrap_or_default())
}

fn csv_rows(items: &[FeedItem]) -> Bytes {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for item in items {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let _ = writer.write_record([
            item.sku.clone(),
            text(&item.name),
            text(&item.language),
            text(&item.family),
            text(&item.merchant),
            item.currency.clone(),
            text(&item.price),
            item.tax_inclusive.to_string(),
            item.available_now.to_string(),
            text(&item.earliest_date),
        ]);
    }
    Bytes::from(writer.into_inner().unwrap_or_default())
}
