//! `POST /v1/commerces/{c}/context`: resolve a visit to its channel, language, currency,
//! country and access (full, browse only, blocked, or a redirect to another version).

use actix_web::{post, web, HttpResponse};
use mercato_engine::commerce::model::{ApiRole, Device};
use mercato_engine::resolution::{Access, ContextRequest, ResolvedContext};
use serde::{Deserialize, Serialize};

use crate::http::auth::Principal;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// What the storefront knows about the visitor; every field is optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextBody {
    pub domain: Option<String>,
    pub device: Option<DeviceDto>,
    /// ISO 3166-1 alpha-2, either case.
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    pub language: Option<String>,
    pub currency: Option<String>,
    #[serde(default)]
    pub user_groups: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceDto {
    Desktop,
    Mobile,
    Tablet,
    App,
}

impl From<DeviceDto> for Device {
    fn from(device: DeviceDto) -> Self {
        match device {
            DeviceDto::Desktop => Device::Desktop,
            DeviceDto::Mobile => Device::Mobile,
            DeviceDto::Tablet => Device::Tablet,
            DeviceDto::App => Device::App,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContextResponse {
    pub commerce: String,
    pub channel: String,
    pub language: String,
    pub languages: Vec<String>,
    pub currency: String,
    pub currencies: Vec<String>,
    pub country: String,
    pub domain: Option<String>,
    pub tax_inclusive: bool,
    pub sellable_countries: Vec<String>,
    pub access: AccessDto,
}

/// `full`, `browse_only`, `blocked`, or `redirect` with the version to send the visitor to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AccessDto {
    Full,
    BrowseOnly,
    Blocked,
    Redirect { commerce: String, url: String },
}

impl From<ResolvedContext> for ContextResponse {
    fn from(context: ResolvedContext) -> Self {
        let access = match context.access {
            Access::Full => AccessDto::Full,
            Access::BrowseOnly => AccessDto::BrowseOnly,
            Access::Blocked => AccessDto::Blocked,
            Access::Redirect { commerce, url } => AccessDto::Redirect { commerce, url },
        };
        Self {
            commerce: context.commerce,
            channel: context.channel,
            language: context.language,
            languages: context.languages,
            currency: context.currency,
            currencies: context.currencies,
            country: context.country,
            domain: context.domain,
            tax_inclusive: context.tax_inclusive,
            sellable_countries: context.sellable_countries,
            access,
        }
    }
}

#[utoipa::path(
    tag = "storefront",
    summary = "Resolves a visit to its channel, language, currency, country and access.",
    params(
        ("commerce" = String, Path, description = "The commerce code.")
    ),
    request_body = ContextBody,
    responses(
        (status = 200, description = "Success", body = ContextResponse),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/context")]
pub async fn resolve_context(
    state: web::Data<AppState>,
    principal: Principal,
    commerce: web::Path<String>,
    body: crate::http::body::Json<ContextBody>,
) -> Result<HttpResponse, Problem> {
    principal.authorize(&commerce, &[ApiRole::Storefront, ApiRole::Admin])?;
    let handle = state.registry.get(&commerce).ok_or_else(|| Problem::commerce_not_found(&commerce))?;
    let body = body.read()?;
    let request = ContextRequest {
        domain: body.domain,
        device: body.device.map(Device::from),
        country: body.country,
        language: body.language,
        currency: body.currency,
        user_groups: body.user_groups,
    };
    let context = handle.resolve(&request)?;
    Ok(HttpResponse::Ok().json(ContextResponse::from(context)))
}
