//! Merchants' lifecycle (DESIGN.md section 7): the back office invites a merchant
//! (`POST …/merchants`: its invitation token is in that answer only, the node keeps its
//! SHA-256, and it expires); the merchant onboards with that token as its bearer
//! (`POST …/merchants/{m}/onboarding`: the terms in force accepted by version, its legal
//! data given; the answer holds its API key, shown once, to load its products); the back
//! office approves, blocks with a reason and unblocks. Each step is decided by the
//! commerce actor against the merchant as it stands then, recorded in the log with who
//! made it, and an event (`merchant.invited`, …). A merchant key reads its own merchant
//! only: another's answers 404, exactly as one that does not exist.

mod dto;
pub mod ledger;
pub mod orders;
pub mod returns;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use mercato_actors::settings::Author;
use mercato_engine::commerce::data::{key_digest, DataItem, DataKind};
use mercato_engine::commerce::merchants::MerchantStep;
use mercato_engine::commerce::model::{ApiKey, ApiRole, Merchant, MerchantAction};
use mercato_engine::time::Timestamp;
use mercato_engine::DomainError;
use serde::Deserialize;

pub use dto::{
    ActionDto, BlockBody, InvitationDto, InviteBody, InvitedDto, LegalDto, MerchantDto, OnboardedDto, OnboardingBody,
    RatingDto, RatingPartDto, StatusDto, TransitionDto,
};
pub use ledger::*;
pub use orders::*;
pub use returns::*;

use super::carts::timestamp;
use super::data::keys::{random_secret, with_secret};
use super::data::unreadable;
use crate::http::auth::Principal;
use crate::http::body::Json;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// The commerce, for its administrator only (the role and tenant check comes first).
fn admin<'a>(
    state: &'a AppState,
    principal: &Principal,
    code: &str,
) -> Result<&'a mercato_actors::CommerceHandle, Problem> {
    principal.authorize(code, &[ApiRole::Admin])?;
    state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))
}

fn unknown(code: &str) -> Problem {
    DomainError::UnknownData { kind: DataKind::Merchant, code: code.to_owned() }.into()
}

fn merchant_of(item: DataItem) -> Result<Merchant, Problem> {
    match item {
        DataItem::Merchant(merchant) => Ok(merchant),
        other => Err(Problem::unavailable(&format!("a merchant step answered {:?}", other.kind()))),
    }
}

/// Decides `step` for merchant `code` on the commerce actor, as `by`; the merchant after it.
async fn step(
    handle: &mercato_actors::CommerceHandle,
    code: &str,
    step: MerchantStep,
    by: Author,
) -> Result<Merchant, Problem> {
    let (merchant, name) = (code.to_owned(), by.name.clone());
    let decide = Box::new(move |commerce: &mercato_engine::Commerce, now: Timestamp| {
        commerce.decide_merchant(&merchant, step, &name, now).map(DataItem::Merchant)
    });
    merchant_of(handle.decide_data(decide, by).await?)
}

/// The most days a rating reads (the longest window).
const RATING_DAYS_MAX: usize = 366;

/// `merchant`'s rating now, from the days the events kept; none on a node without a log.
fn rating(
    state: &AppState,
    commerce: &mercato_engine::Commerce,
    merchant: &str,
    today: chrono::NaiveDate,
) -> Option<RatingDto> {
    let store = &state.events.as_ref()?.store;
    let rules = &commerce.config().merchant_rating;
    let first = today.checked_sub_days(chrono::Days::new(u64::from(rules.window().saturating_sub(1))))?;
    let prefix = crate::events::reports::merchant_days_prefix(commerce.code(), merchant);
    let start = format!("{prefix}{first}");
    let rows = store.notes(prefix.as_bytes(), Some(start.as_bytes()), RATING_DAYS_MAX).ok()?;
    let mut counts = mercato_engine::commerce::merchants::RatingCounts::default();
    for (_, bytes) in rows {
        let Ok(day) = serde_json::from_slice::<crate::events::reports::MerchantDay>(&bytes) else { continue };
        counts.units += day.units;
        counts.delivered += day.delivered;
        counts.late += day.late;
        counts.cancelled_units += day.cancelled_units;
        counts.returned_units += day.returned_units;
    }
    Some(RatingDto::of(&rules.rate(counts)))
}

/// A merchant as read, with its rating.
fn read_dto(state: &AppState, handle: &mercato_actors::CommerceHandle, merchant: &Merchant) -> MerchantDto {
    let commerce = handle.snapshot();
    MerchantDto {
        rating: rating(state, &commerce, &merchant.code, handle.clock().today()),
        ..MerchantDto::of(merchant)
    }
}

/// Listing filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MerchantsQuery {
    /// Only merchants in this status.
    pub status: Option<StatusFilter>,
}

/// A merchant's status, as a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Invited,
    Onboarding,
    Active,
    Blocked,
}

impl StatusFilter {
    fn status(self) -> mercato_engine::commerce::model::MerchantStatus {
        use mercato_engine::commerce::model::MerchantStatus as S;
        match self {
            StatusFilter::Invited => S::Invited,
            StatusFilter::Onboarding => S::Onboarding,
            StatusFilter::Active => S::Active,
            StatusFilter::Blocked => S::Blocked,
        }
    }
}

#[utoipa::path(
    tag = "merchants",
    summary = "Lists the commerce's merchants (admin), optionally of one status.",
    params(("commerce" = String, Path, description = "The commerce code."), MerchantsQuery),
    responses((status = 200, description = "The merchants, by code", body = Vec<MerchantDto>), Refusals)
)]
#[get("/v1/commerces/{commerce}/merchants")]
pub async fn list_merchants(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<MerchantsQuery>,
) -> Result<HttpResponse, Problem> {
    let handle = admin(&state, &principal, &path)?;
    let status = query.read()?.status.map(StatusFilter::status);
    let commerce = handle.snapshot();
    let mut merchants: Vec<&Merchant> =
        commerce.config().merchants.iter().filter(|m| status.is_none_or(|s| m.status == Some(s))).collect();
    merchants.sort_by(|a, b| a.code.cmp(&b.code));
    let listed: Vec<MerchantDto> = merchants.into_iter().map(|m| read_dto(&state, handle, m)).collect();
    Ok(HttpResponse::Ok().json(listed))
}

#[utoipa::path(
    tag = "merchants",
    summary = "A merchant with its status, legal data and history (admin; a merchant key, its own).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code.")
    ),
    responses((status = 200, description = "The merchant", body = MerchantDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/merchants/{merchant}")]
pub async fn get_merchant(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Merchant])?;
    // Another merchant's answers exactly as one that does not exist.
    if principal.role == ApiRole::Merchant && principal.merchant.as_deref() != Some(merchant.as_str()) {
        return Err(unknown(&merchant));
    }
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let commerce = handle.snapshot();
    let found = commerce.merchant(&merchant).ok_or_else(|| unknown(&merchant))?;
    Ok(HttpResponse::Ok().json(read_dto(&state, handle, found)))
}

#[utoipa::path(
    tag = "merchants",
    summary = "Invites a merchant (admin), or invites again one that has not onboarded: the token is in this answer only.",
    params(("commerce" = String, Path, description = "The commerce code.")),
    request_body = InviteBody,
    responses(
        (status = 201, description = "Invited", body = InvitedDto),
        (status = 200, description = "Invited again: a new token, the old one fails", body = InvitedDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/merchants")]
pub async fn invite_merchant(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: Json<InviteBody>,
) -> Result<HttpResponse, Problem> {
    let handle = admin(&state, &principal, &path)?;
    let body = body.read()?;
    // The document's shape: up to 3 digits, a point and up to 10 more.
    let text = body.commission_percent.as_str();
    let whole_digits = text.split('.').next().map_or(0, str::len);
    let Some(commission_percent) = crate::http::wire::amount(text).filter(|_| whole_digits <= 3) else {
        let detail = format!(
            "commission_percent \"{text}\" is not a decimal number of up to 3 digits, a point and up to 10 more"
        );
        return Err(unreadable(DataKind::Merchant, &body.code, &[detail]));
    };
    let existed = handle.snapshot().merchant(&body.code).is_some();
    let token = random_secret("mi_")?;
    let invite = MerchantStep::Invite {
        name: body.name,
        email: body.email,
        commission_percent,
        token_sha256: key_digest(&token),
    };
    let merchant = step(handle, &body.code, invite, principal.author()).await?;
    let expires_at = merchant.invitation_expires_at.map(|at| timestamp(Timestamp(at))).unwrap_or_default();
    let answer = InvitedDto { merchant: MerchantDto::of(&merchant), invitation: InvitationDto { token, expires_at } };
    let status = if existed { actix_web::http::StatusCode::OK } else { actix_web::http::StatusCode::CREATED };
    Ok(HttpResponse::build(status).json(answer))
}

/// The invitation token presented as the bearer: the SHA-256 (hex) of the token.
fn invitation(request: &HttpRequest) -> Result<String, Problem> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Problem::unauthenticated("an Authorization: Bearer <invitation token> header is required"))?;
    let value = value.to_str().map_err(|_| Problem::unauthenticated("the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(key_digest(token.trim()))
        }
        _ => Err(Problem::unauthenticated("the Authorization header must be \"Bearer <invitation token>\"")),
    }
}

#[utoipa::path(
    tag = "merchants",
    summary = "Onboards a merchant with its invitation token as the bearer: the terms accepted by version, its legal data; the answer holds its API key, shown once.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code.")
    ),
    request_body = OnboardingBody,
    security(("invitation" = [])),
    responses((status = 200, description = "Onboarded: waiting for approval", body = OnboardedDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/merchants/{merchant}/onboarding")]
pub async fn onboard_merchant(
    request: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Json<OnboardingBody>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant) = path.into_inner();
    // The invitation is the credential: checked before anything the body says. An unknown
    // merchant answers as a wrong token.
    let digest = invitation(&request)?;
    // An unknown commerce answers as a wrong token: the route takes no API key, so it
    // tells nothing of which commerces a node holds.
    let handle = state.registry.get(&code);
    let opens = handle.is_some_and(|h| {
        h.snapshot().merchant(&merchant).is_some_and(|m| m.invitation_sha256.as_deref() == Some(&digest))
    });
    let Some(handle) = handle.filter(|_| opens) else {
        return Err(DomainError::InvalidInvitation { merchant }.into());
    };
    let body = body.read()?;
    let by = Author { name: format!("invitation of merchant {merchant}"), key_sha256: None };
    let onboard =
        MerchantStep::Onboard { token_sha256: digest, terms_version: body.terms_version, legal: body.legal.legal() };
    let onboarded = step(handle, &merchant, onboard, by.clone()).await?;
    // Its key: made at the first onboarding only. A repeated onboarding (to correct the
    // legal data) makes none, so a key the back office revoked stays revoked; a lost first
    // answer is recovered by the back office rotating the key.
    let name = format!("merchant-{merchant}");
    let plain = random_secret("mk_")?;
    let key = ApiKey {
        name: name.clone(),
        key: None,
        key_sha256: Some(key_digest(&plain)),
        role: Some(ApiRole::Merchant),
        merchant: Some(merchant.clone()),
    };
    if onboarded.history.iter().filter(|t| t.action == MerchantAction::Onboarded).count() > 1
        || handle.snapshot().config().api_keys.iter().any(|k| k.name == name)
    {
        return Ok(HttpResponse::Ok().json(OnboardedDto { merchant: MerchantDto::of(&onboarded), key: None }));
    }
    let put = key.clone();
    let decide = Box::new(move |commerce: &mercato_engine::Commerce, _: Timestamp| {
        if commerce.config().api_keys.iter().any(|k| k.name == put.name) {
            return Err(DomainError::DataExists { kind: DataKind::ApiKey, code: put.name.clone() });
        }
        Ok(DataItem::ApiKey(put))
    });
    handle.decide_data(decide, by).await?;
    state.keys.refresh(&state.registry);
    let key = Some(with_secret(&key, plain));
    Ok(HttpResponse::Ok().json(OnboardedDto { merchant: MerchantDto::of(&onboarded), key }))
}

async fn admin_step(
    state: &AppState,
    principal: &Principal,
    (code, merchant): (String, String),
    make: MerchantStep,
) -> Result<HttpResponse, Problem> {
    let handle = admin(state, principal, &code)?;
    let merchant = step(handle, &merchant, make, principal.author()).await?;
    Ok(HttpResponse::Ok().json(MerchantDto::of(&merchant)))
}

#[utoipa::path(
    tag = "merchants",
    summary = "Approves an onboarded merchant (admin): its products are sold.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code.")
    ),
    responses((status = 200, description = "Active", body = MerchantDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/merchants/{merchant}/approve")]
pub async fn approve_merchant(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    admin_step(&state, &principal, path.into_inner(), MerchantStep::Approve).await
}

#[utoipa::path(
    tag = "merchants",
    summary = "Blocks a merchant with a reason (admin): its products cannot be added to carts, checkout refuses carts holding them; orders placed go on.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code.")
    ),
    request_body = BlockBody,
    responses((status = 200, description = "Blocked", body = MerchantDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/merchants/{merchant}/block")]
pub async fn block_merchant(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: Json<BlockBody>,
) -> Result<HttpResponse, Problem> {
    let path = path.into_inner();
    admin(&state, &principal, &path.0)?;
    let reason = body.read()?.reason;
    admin_step(&state, &principal, path, MerchantStep::Block { reason }).await
}

#[utoipa::path(
    tag = "merchants",
    summary = "Lifts a merchant's block (admin): it is back where it was before.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code.")
    ),
    responses((status = 200, description = "Unblocked", body = MerchantDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/merchants/{merchant}/unblock")]
pub async fn unblock_merchant(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    admin_step(&state, &principal, path.into_inner(), MerchantStep::Unblock).await
}
