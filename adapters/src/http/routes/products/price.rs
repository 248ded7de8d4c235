//! `GET …/products/{sku}/price`: a product's price for a shopper.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use mercato_engine::pricing::{minor_units, unit_price, Shopper};
use mercato_engine::resolution::normalize_country;
use mercato_engine::DomainError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::http::auth::Principal;
use crate::http::problem::{Problem, Refusals};
use crate::http::routes::carts::{commerce_of, money};
use crate::http::routes::warehouses::quantity;
use crate::http::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PriceQuery {
    pub currency: Option<String>,
    /// The quantity the price is for (default 1).
    #[param(minimum = 1, maximum = 4_294_967_295_i64)]
    pub qty: Option<i64>,
    /// ISO 3166-1 alpha-2, either case.
    #[param(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    pub group: Option<String>,
    pub user: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PriceResponse {
    pub sku: String,
    pub currency: String,
    pub quantity: u32,
    /// Before tax and discounts.
    pub unit_price: String,
    pub amount: String,
    pub base_unit_price: String,
    /// The price rule that set it, if any.
    pub rule: Option<String>,
    /// Whether it was converted from the main currency at the configured rate.
    pub converted: bool,
}

#[utoipa::path(
    tag = "catalog",
    summary = "A product's unit price for a shopper, quantity and currency (before tax and discounts).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("sku" = String, Path, description = "The SKU."),
        PriceQuery
    ),
    responses(
        (status = 200, description = "Success", body = PriceResponse),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/products/{sku}/price")]
pub async fn get_price(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<PriceQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, sku) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let commerce = handle.snapshot();
    if commerce.product(&sku).is_none() {
        return Err(Problem::unknown_sku(&sku));
    }
    let query = query.read()?;
    let units = quantity(query.qty.unwrap_or(1))?;
    let currency = query.currency.unwrap_or_else(|| commerce.config().main_currency.clone());
    let place = match &query.country {
        Some(country) => Some(mercato_engine::commerce::model::Place {
            country: normalize_country(country)?,
            region: None,
            postal_code: None,
        }),
        None => None,
    };
    if let Some(group) = &query.group {
        if !commerce.config().user_groups.iter().any(|g| &g.code == group) {
            return Err(DomainError::UnknownUserGroup { code: group.clone() }.into());
        }
    }
    if let Some(user) = &query.user {
        if !commerce.config().users.iter().any(|u| &u.id == user) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_user",
                format!("user \"{user}\" does not exist"),
            ));
        }
    }
    let shopper = Shopper::of(&commerce, query.user.as_deref(), query.group.as_deref(), place.as_ref());
    let price = unit_price(&commerce, &sku, units, &currency, &shopper)?;
    let minor = minor_units(&commerce, &currency);
    Ok(HttpResponse::Ok().json(PriceResponse {
        sku,
        currency,
        quantity: units,
        unit_price: money(price.unit, minor),
        amount: money(price.unit.checked_mul(Decimal::from(units)).ok_or(DomainError::AmountTooLarge)?, minor),
        base_unit_price: money(price.base, minor),
        rule: price.rule,
        converted: price.converted,
    }))
}
