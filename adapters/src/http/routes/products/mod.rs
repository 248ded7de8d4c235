//! Product routes: the catalog listing, a product read in a language or whole and what
//! each language lacks (`read.rs`), a SKU's availability for a channel and destination
//! (per warehouse and in total, now and by date), and its price for a shopper
//! (`price.rs`).

mod body;
mod price;
mod proposals;
mod read;
mod write;

pub use body::*;
pub use price::*;
pub use proposals::*;
pub use read::*;
pub use write::*;

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use mercato_actors::warehouse::GetAvailability;
use mercato_engine::catalog::{ProductHistory, ProductVersion};
use mercato_engine::commerce::model::{ApiRole, Place, Product};
use mercato_engine::inventory::Timestamp;
use mercato_engine::inventory::{candidate_warehouses, Across, Availability};
use mercato_engine::resolution::normalize_country;
use mercato_engine::Commerce;
use mercato_engine::DomainError;
use serde::{Deserialize, Serialize};

use super::stock_dto::{AvailabilityDto, PolicyDto};
use super::warehouses::ask;
use crate::http::auth::Principal;
use crate::http::problem::{Problem, Refusals};
use crate::http::routes::carts::timestamp;
use crate::http::AppState;

/// The most products one listing page returns.
pub const PRODUCT_PAGE_SIZE_MAX: usize = 500;
const PRODUCT_PAGE_SIZE_DEFAULT: usize = 100;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// The last SKU of the previous page: the listing continues after it.
    pub after: Option<String>,
    /// The language of the names (default: the commerce's).
    pub language: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuantityRulesDto {
    pub min: u32,
    pub max: Option<u32>,
    pub multiple_of: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductDto {
    pub sku: String,
    /// The product's version: 1 when made, one more at each change.
    pub version: u32,
    /// Whether it is retired: no longer sold (a storefront never sees it).
    pub retired: bool,
    pub name: Option<String>,
    pub family: Option<String>,
    pub merchant: Option<String>,
    pub tax_class: String,
    pub shipping_class: String,
    pub weight_grams: Option<u32>,
    pub stock_policy: PolicyDto,
    pub quantity: QuantityRulesDto,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductPage {
    pub products: Vec<ProductDto>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<String>,
}

fn product_dto(history: &ProductHistory, language: &str, default_language: &str) -> ProductDto {
    version_dto(history.current(), language, default_language)
}

fn version_dto(version: &ProductVersion, language: &str, default_language: &str) -> ProductDto {
    let product = version.product.as_ref();
    let policy = product.stock_policy.as_ref().and_then(|c| c.policy().ok()).unwrap_or_default();
    ProductDto {
        sku: product.sku.clone(),
        version: version.version,
        retired: version.retired,
        name: product.name_in(language, default_language).map(|(_, name)| name.to_owned()),
        family: product.family.clone(),
        merchant: product.merchant.clone(),
        tax_class: product.tax_class.clone(),
        shipping_class: product.shipping_class.clone(),
        weight_grams: product.weight_grams,
        stock_policy: policy.into(),
        quantity: QuantityRulesDto {
            min: product.quantity.min,
            max: product.quantity.max,
            multiple_of: product.quantity.multiple_of,
        },
    }
}

/// Products in SKU order, a page at a time. A merchant key sees its own products only.
#[utoipa::path(
    tag = "catalog",
    summary = "Lists products, a page at a time, by SKU.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ListQuery
    ),
    responses(
        (status = 200, description = "Success", body = ProductPage),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<ListQuery>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Storefront, ApiRole::Merchant])?;
    let commerce = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?.snapshot();
    let query = query.read()?;
    let limit = query.limit.unwrap_or(PRODUCT_PAGE_SIZE_DEFAULT);
    if !(1..=PRODUCT_PAGE_SIZE_MAX).contains(&limit) {
        return Err(Problem::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_limit",
            format!("limit {limit} is not valid: it must be from 1 to {PRODUCT_PAGE_SIZE_MAX}"),
        ));
    }
    let language = match query.language {
        Some(language) => {
            commerce.language(&language).ok_or(DomainError::UnknownLanguage { code: language.clone() })?;
            language
        }
        None => commerce.config().default_language.clone(),
    };
    // The catalogue is kept by SKU: a page reads only its own products and the one after.
    // A storefront sees what is sold; the administrator and a merchant see retired
    // products too.
    let mut visible: Vec<&ProductHistory> = commerce
        .catalog()
        .after(query.after.as_deref())
        .filter(|h| principal.role != ApiRole::Storefront || !h.retired())
        .filter(|h| {
            principal.role != ApiRole::Merchant || h.product().merchant.as_deref() == principal.merchant.as_deref()
        })
        .take(limit + 1)
        .collect();
    let more = visible.len() > limit;
    visible.truncate(limit);
    let next_after = if more { visible.last().map(|h| h.product().sku.clone()) } else { None };
    let default_language = &commerce.config().default_language;
    let products = visible.into_iter().map(|h| product_dto(h, &language, default_language)).collect();
    Ok(HttpResponse::Ok().json(ProductPage { products, next_after }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityQuery {
    /// The destination country (ISO 3166-1 alpha-2, any case); required.
    #[param(required = true, pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// The channel (default: the commerce's default channel).
    pub channel: Option<String>,
    /// The quantity to find the earliest date for (default 1).
    #[param(minimum = 1, maximum = 4_294_967_295_i64)]
    pub qty: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WarehouseAvailabilityDto {
    pub warehouse: String,
    pub logistic_center: String,
    #[serde(flatten)]
    pub availability: AvailabilityDto,
    pub policy: PolicyDto,
    /// The earliest day this warehouse alone can supply `quantity`; null when it cannot.
    pub earliest_date: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CumulativeDto {
    pub date: String,
    /// Units sellable by this date across warehouses; null means unlimited.
    pub units: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AvailabilityResponse {
    pub sku: String,
    pub channel: String,
    pub country: String,
    pub quantity: u32,
    /// Units on hand now across the warehouses that may serve this destination.
    pub available_now: u64,
    /// The earliest day `quantity` units can be ready, splitting across warehouses; null
    /// when they cannot be had at all.
    pub earliest_date: Option<String>,
    pub by_date: Vec<CumulativeDto>,
    pub warehouses: Vec<WarehouseAvailabilityDto>,
}

/// Units by each date a source becomes ready, across warehouses (a shared cap counted once).
fn cumulative(across: &Across) -> Vec<CumulativeDto> {
    across.dates().into_iter().map(|date| CumulativeDto { date: date.to_string(), units: across.by(date) }).collect()
}

/// The quantity an availability query asks about: 1 unless given, at least 1.
fn availability_quantity(qty: Option<i64>) -> Result<u32, DomainError> {
    match qty {
        None => Ok(1),
        Some(qty) if qty >= 1 => u32::try_from(qty)
            .map_err(|_| DomainError::InvalidQuantity { quantity: qty, reason: "it exceeds the largest quantity" }),
        Some(qty) => Err(DomainError::InvalidQuantity { quantity: qty, reason: "it must be at least 1" }),
    }
}

/// What each warehouse that serves the destination in the channel has of `sku`, with its
/// logistic center.
async fn availability_by_warehouse(
    handle: &mercato_actors::CommerceHandle,
    channel: &str,
    destination: &Place,
    sku: &str,
) -> Result<Vec<(String, String, Availability)>, Problem> {
    let mut found = Vec::new();
    for (warehouse, center) in candidate_warehouses(&handle.snapshot(), channel, destination) {
        let Some(addr) = handle.warehouses().handle(&warehouse) else { continue };
        let mut answer: BTreeMap<String, Availability> =
            ask(addr, GetAvailability { skus: vec![sku.to_owned()] }).await?;
        if let Some(availability) = answer.remove(sku) {
            found.push((warehouse, center, availability));
        }
    }
    Ok(found)
}

#[utoipa::path(
    tag = "catalog",
    summary = "A SKU's availability for a destination: per warehouse, in total, by date.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("sku" = String, Path, description = "The SKU."),
        AvailabilityQuery
    ),
    responses(
        (status = 200, description = "Success", body = AvailabilityResponse),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/products/{sku}/availability")]
pub async fn get_availability(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<AvailabilityQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, sku) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Storefront])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let commerce = handle.snapshot();
    let query = query.read()?;
    if commerce.product(&sku).is_none() {
        return Err(Problem::unknown_sku(&sku));
    }
    let channel = match query.channel {
        Some(channel) => commerce.channel(&channel).ok_or(DomainError::UnknownChannel { code: channel.clone() })?,
        None => commerce.default_channel(),
    };
    let country = normalize_country(query.country.as_deref().ok_or(DomainError::CountryRequired)?)?;
    let quantity = availability_quantity(query.qty)?;
    let destination = Place { country: country.clone(), region: query.region, postal_code: query.postal_code };
    let today = handle.clock().today();

    let found = availability_by_warehouse(handle, &channel.code, &destination, &sku).await?;
    let across = Across::new(found.iter().map(|(warehouse, _, a)| (a, commerce.shares_cap(&sku, warehouse))), today);
    let response = AvailabilityResponse {
        sku,
        channel: channel.code.clone(),
        country,
        quantity,
        available_now: found.iter().map(|(_, _, a)| u64::from(a.now)).sum(),
        earliest_date: across.earliest_date(quantity).map(|d| d.to_string()),
        by_date: cumulative(&across),
        warehouses: found
            .iter()
            .map(|(warehouse, center, availability)| WarehouseAvailabilityDto {
                warehouse: warehouse.clone(),
                logistic_center: center.clone(),
                availability: availability.into(),
                policy: availability.policy.into(),
                earliest_date: availability.earliest_date(quantity, today).map(|d| d.to_string()),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(response))
}
