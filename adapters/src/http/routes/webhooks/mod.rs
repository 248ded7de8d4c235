//! Webhook subscriptions (administrator only): create one for a URL and the event types it
//! wants (its signing secret is shown on creation and rotation only), list, read, change
//! (re-enable after a 410), delete, rotate its secret (the old one still signs for 24
//! hours), read its delivery log, and send an event to it once more.

pub mod notifications;
mod shared;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use mercato_persistence::events::Table;
use serde::{Deserialize, Serialize};

use super::events::{events_of, position};
use crate::events::webhooks::subscription::{self, Secret, Subscription};
use crate::events::webhooks::{hook_key, Control, Webhooks};
use crate::http::auth::Principal;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;
use shared::{
    admin, apply_common, attempts_page, change, check_description, check_types, check_url, dto_delivery, new_secret,
    next_event_cursor, now_ms, of_kind, random_hex, remove, rfc3339, unavailable, CommonChange,
};

/// Subscriptions a commerce may have.
pub const WEBHOOKS_MAX: usize = 1_000;
/// The longest URL a subscription takes.
pub const WEBHOOK_URL_BYTES_MAX: usize = 2_048;
/// How long a rotated-out secret still signs.
pub const SECRET_OVERLAP_MS: i64 = 24 * 3600 * 1000;
const ATTEMPT_PAGE_MAX: i64 = 500;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// Where events are posted: an absolute `http` or `https` URL, at most 2048 bytes.
    #[schema(max_length = 2048)]
    pub url: String,
    /// The event types it receives (each one of the catalogue's); every type when empty or
    /// not given.
    pub types: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    pub types: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// False stops deliveries; true (re)starts them from where they stopped.
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookDeliveryDto {
    /// Every event at or before this position is delivered, given up or not of its types.
    pub after: String,
    /// Events read and not yet delivered or given up.
    pub pending: usize,
    pub delivered: u64,
    pub given_up: u64,
    pub attempts: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookDto {
    pub id: String,
    pub url: String,
    pub types: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub delivery: WebhookDeliveryDto,
}

/// A subscription with its signing secret, shown only here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookSecretDto {
    pub webhook: WebhookDto,
    /// `whsec_` and the key in base64: sign and verify per the Standard Webhooks
    /// specification.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookListDto {
    pub webhooks: Vec<WebhookDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptDto {
    pub number: u64,
    pub event: String,
    pub position: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub attempt: u32,
    pub at: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub took_ms: u64,
    /// `delivered`, `retrying`, `given_up`, `disabled` (410), or `redelivered` / `failed`
    /// for a manual redelivery.
    pub outcome: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptPageDto {
    pub attempts: Vec<AttemptDto>,
    /// Pass as `after` for the next page; null on the last.
    pub next_after: Option<u64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AttemptsQuery {
    /// The number of the last attempt of the previous page.
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliveryBody {
    /// The event's position (`{lsn}.{index}`).
    #[schema(pattern = r"^[0-9]{1,20}\.[0-9]{1,5}$")]
    pub event: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RedeliveryDto {
    pub event: String,
    /// The attempt is made at once, outside the subscription's order, and logged.
    pub queued: bool,
}

fn dto(webhooks: &Webhooks, hook: &Subscription) -> WebhookDto {
    let cursor = subscription::cursor(&webhooks.store, &hook.commerce, &hook.id).ok().flatten().unwrap_or_default();
    dto_with(hook, &cursor)
}

fn dto_with(hook: &Subscription, cursor: &subscription::Cursor) -> WebhookDto {
    WebhookDto {
        id: hook.id.clone(),
        url: hook.url.clone(),
        types: hook.types.clone(),
        description: hook.description.clone(),
        enabled: hook.enabled,
        disabled_reason: hook.disabled_reason.clone(),
        created_at: rfc3339(hook.created_at),
        created_by: hook.created_by.clone(),
        delivery: dto_delivery(cursor),
    }
}

fn unknown_webhook(id: &str) -> Problem {
    let detail = format!("webhook \"{id}\" is not a webhook of this commerce");
    Problem::new(StatusCode::NOT_FOUND, "unknown_webhook", detail)
}

/// A webhook (a notification rule is not one).
fn found(webhooks: &Webhooks, code: &str, id: &str) -> Result<Subscription, Problem> {
    subscription::load(&webhooks.store, code, id).filter(|h| h.notify.is_none()).ok_or_else(|| unknown_webhook(id))
}

/// The answer kept under an `Idempotency-Key` of a creation.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct KeptCreation {
    pub(super) request: String,
    pub(super) body: String,
}

pub(super) fn idempotency_row(stamp: &mercato_actors::idempotency::Stamp) -> Vec<u8> {
    format!("\u{0}idem\u{1f}{}\u{1f}{}", stamp.scope, stamp.key).into_bytes()
}

/// The digest of a keyed creation's request, kept with its answer.
pub(super) fn digest(stamp: Option<&mercato_actors::idempotency::Stamp>) -> String {
    stamp.map(|s| s.request.iter().map(|b| format!("{b:02x}")).collect()).unwrap_or_default()
}

/// Writes a new subscription or rule, its cursor and the answer kept under its
/// `Idempotency-Key` in one transaction, made durable off the worker's thread (a crash
/// keeps all or nothing), then starts its deliveries.
pub(super) async fn store_created(
    webhooks: &Webhooks,
    hook: &Subscription,
    cursor: &subscription::Cursor,
    kept: Option<(&mercato_actors::idempotency::Stamp, String, String)>,
) -> Result<(), Problem> {
    let key = hook_key(&hook.commerce, &hook.id);
    let mut rows = vec![
        (Table::Cursors, key.clone(), serde_json::to_vec(cursor).unwrap_or_default()),
        (Table::Hooks, key, serde_json::to_vec(hook).unwrap_or_default()),
    ];
    if let Some((stamp, request, body)) = kept {
        let kept = KeptCreation { request, body };
        rows.push((Table::Hooks, idempotency_row(stamp), serde_json::to_vec(&kept).unwrap_or_default()));
    }
    let store = Arc::clone(&webhooks.store);
    crate::priority::block(move || store.put_all(&rows)).await.map_err(unavailable)?.map_err(unavailable)?;
    webhooks.tell(Control::Changed { commerce: hook.commerce.clone(), id: hook.id.clone() });
    Ok(())
}

/// The answer a creation under the same key gave (the same request), or the refusal of
/// another request under it.
pub(super) fn kept_creation(
    webhooks: &Webhooks,
    stamp: Option<&mercato_actors::idempotency::Stamp>,
    digest: &str,
) -> Result<Option<String>, Problem> {
    let Some(stamp) = stamp else { return Ok(None) };
    let Some(kept) = webhooks.store.fetch(Table::Hooks, &idempotency_row(stamp)).map_err(unavailable)? else {
        return Ok(None);
    };
    let kept: KeptCreation = serde_json::from_slice(&kept).map_err(unavailable)?;
    if kept.request != digest {
        return Err(crate::http::idempotency::mismatch(&stamp.key));
    }
    Ok(Some(kept.body))
}

#[utoipa::path(
    tag = "events",
    summary = "Subscribes a URL to event types (admin): deliveries start with the next event.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer the same subscription.")
    ),
    request_body = WebhookBody,
    responses((status = 201, description = "Subscribed; the secret is shown only here and on rotation", body = WebhookSecretDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/webhooks")]
pub async fn create_webhook(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: crate::http::body::Json<WebhookBody>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    let body = body.read()?;
    let stamp = crate::http::idempotency::stamp(&request, &principal, &body)?;
    check_url(&body.url)?;
    let types = check_types(body.types.as_deref())?;
    check_description(body.description.as_ref())?;
    let _one_at_a_time = webhooks.creating.lock().await;
    let request_digest = digest(stamp.as_ref());
    if let Some(kept) = kept_creation(webhooks, stamp.as_ref(), &request_digest)? {
        return Ok(HttpResponse::Created().content_type("application/json").body(kept));
    }
    if of_kind(webhooks, &code, false).len() >= WEBHOOKS_MAX {
        let detail = format!("the commerce has {WEBHOOKS_MAX} webhooks, the most it may have");
        return Err(Problem::new(StatusCode::CONFLICT, "too_many_webhooks", detail));
    }
    let events = events_of(&state)?;
    let hook = Subscription {
        id: format!("wh_{}", random_hex(12)?),
        commerce: code.clone(),
        url: body.url.clone(),
        types,
        description: body.description.clone(),
        enabled: true,
        disabled_reason: None,
        secrets: vec![Secret { secret: new_secret()?, expires_at: None }],
        created_at: now_ms(),
        created_by: principal.name.to_string(),
        notify: None,
    };
    let cursor = next_event_cursor(events);
    let answer = WebhookSecretDto {
        webhook: dto_with(&hook, &cursor),
        secret: hook.secrets.first().map(|s| s.secret.clone()).unwrap_or_default(),
    };
    let answer = serde_json::to_string(&answer).unwrap_or_default();
    store_created(webhooks, &hook, &cursor, stamp.as_ref().map(|stamp| (stamp, request_digest, answer.clone())))
        .await?;
    Ok(HttpResponse::Created().content_type("application/json").body(answer))
}

#[utoipa::path(
    tag = "events",
    summary = "Lists the commerce's webhooks (admin).",
    params(("commerce" = String, Path, description = "The commerce code.")),
    responses((status = 200, description = "Success", body = WebhookListDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    let list = of_kind(webhooks, &code, false).iter().map(|h| dto(webhooks, h)).collect();
    Ok(HttpResponse::Ok().json(WebhookListDto { webhooks: list }))
}

#[utoipa::path(
    tag = "events",
    summary = "A webhook and where its delivery stands (admin).",
    params(("commerce" = String, Path, description = "The commerce code."), ("webhook" = String, Path, description = "The webhook's id.")),
    responses((status = 200, description = "Success", body = WebhookDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/webhooks/{webhook}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    let hook = found(webhooks, &code, &id)?;
    Ok(HttpResponse::Ok().json(dto(webhooks, &hook)))
}

#[utoipa::path(
    tag = "events",
    summary = "Changes a webhook's URL, types or description, or disables or re-enables it (admin).",
    params(("commerce" = String, Path, description = "The commerce code."), ("webhook" = String, Path, description = "The webhook's id.")),
    request_body = WebhookPatch,
    responses((status = 200, description = "Changed", body = WebhookDto), Refusals)
)]
#[patch("/v1/commerces/{commerce}/webhooks/{webhook}")]
pub async fn patch_webhook(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<WebhookPatch>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    let body = body.read()?;
    found(webhooks, &code, &id)?;
    if let Some(url) = &body.url {
        check_url(url)?;
    }
    let types = body.types.is_some().then(|| check_types(body.types.as_deref())).transpose()?;
    check_description(body.description.as_ref())?;
    let by = principal.name.to_string();
    let hook = change(
        webhooks,
        &code,
        &id,
        (unknown_webhook, move |hook| {
            let common =
                CommonChange { url: body.url, types, description: body.description, enabled: body.enabled, by };
            apply_common(hook, common);
        }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(dto(webhooks, &hook)))
}

#[utoipa::path(
    tag = "events",
    summary = "Deletes a webhook (admin): nothing more is delivered to it.",
    params(("commerce" = String, Path, description = "The commerce code."), ("webhook" = String, Path, description = "The webhook's id.")),
    responses((status = 204, description = "Deleted"), Refusals)
)]
#[delete("/v1/commerces/{commerce}/webhooks/{webhook}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    found(webhooks, &code, &id)?;
    remove(webhooks, &code, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "events",
    summary = "Rotates a webhook's secret (admin): the new one signs at once, the old one also for 24 hours.",
    params(("commerce" = String, Path, description = "The commerce code."), ("webhook" = String, Path, description = "The webhook's id.")),
    responses((status = 200, description = "The new secret, shown only here", body = WebhookSecretDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/webhooks/{webhook}/secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    found(webhooks, &code, &id)?;
    let secret = new_secret()?;
    let fresh = secret.clone();
    let hook = change(
        webhooks,
        &code,
        &id,
        (unknown_webhook, move |hook| {
            let now = now_ms();
            hook.secrets.retain(|s| s.expires_at.is_none_or(|at| at > now));
            for secret in &mut hook.secrets {
                secret.expires_at.get_or_insert(now + SECRET_OVERLAP_MS);
            }
            hook.secrets.insert(0, Secret { secret: fresh, expires_at: None });
        }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(WebhookSecretDto { webhook: dto(webhooks, &hook), secret }))
}

#[utoipa::path(
    tag = "events",
    summary = "A webhook's delivery log, oldest first (admin).",
    params(("commerce" = String, Path, description = "The commerce code."), ("webhook" = String, Path, description = "The webhook's id."), AttemptsQuery),
    responses((status = 200, description = "Success", body = AttemptPageDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/webhooks/{webhook}/attempts")]
pub async fn list_attempts(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<AttemptsQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    let query = query.read()?;
    found(webhooks, &code, &id)?;
    Ok(HttpResponse::Ok().json(attempts_page(webhooks, &code, &id, &query)?))
}

#[utoipa::path(
    tag = "events",
    summary = "Sends an event to a webhook once more, outside its order (admin).",
    params(("commerce" = String, Path, description = "The commerce code."), ("webhook" = String, Path, description = "The webhook's id.")),
    request_body = RedeliveryBody,
    responses((status = 202, description = "Queued; the attempt shows in the delivery log", body = RedeliveryDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/webhooks/{webhook}/redeliveries")]
pub async fn redeliver(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<RedeliveryBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    let body = body.read()?;
    found(webhooks, &code, &id)?;
    let at = position("event", &body.event)?;
    if webhooks.store.get(&code, at).map_err(unavailable)?.is_none() {
        let detail = format!("event \"{}\" is not an event of this commerce", body.event);
        return Err(Problem::new(StatusCode::NOT_FOUND, "unknown_event", detail));
    }
    webhooks.tell(Control::Redeliver { commerce: code, id, position: at });
    Ok(HttpResponse::Accepted().json(RedeliveryDto { event: body.event, queued: true }))
}
