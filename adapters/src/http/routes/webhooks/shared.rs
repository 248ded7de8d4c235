//! What webhook subscriptions and notification rules share: the administrator's check,
//! the checks of URLs, types and descriptions, the delivery's figures, changes and
//! deletions made durable off the worker's thread, and the delivery log's pages.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use base64::Engine as _;
use mercato_engine::commerce::model::ApiRole;
use mercato_persistence::events::Table;

use super::{AttemptDto, AttemptPageDto, AttemptsQuery, WebhookDeliveryDto, ATTEMPT_PAGE_MAX, WEBHOOK_URL_BYTES_MAX};
use crate::events::webhooks::dispatch::Attempt;
use crate::events::webhooks::subscription::{self, Subscription};
use crate::events::webhooks::{self as hooks, hook_key, Control, Webhooks};
use crate::http::auth::Principal;
use crate::http::problem::Problem;
use crate::http::routes::events::{event_types, events_of};
use crate::http::AppState;

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

pub(crate) fn rfc3339(ms: i64) -> String {
    crate::http::routes::carts::timestamp(mercato_engine::inventory::Timestamp(ms))
}

pub(crate) fn unavailable(error: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", format!("the event store failed: {error}"))
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, Problem> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(unavailable)?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn new_secret() -> Result<String, Problem> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(unavailable)?;
    Ok(format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key)))
}

/// The webhooks, for the administrator of the commerce.
pub(crate) fn admin<'a>(state: &'a AppState, principal: &Principal, code: &str) -> Result<&'a Webhooks, Problem> {
    principal.authorize(code, &[ApiRole::Admin])?;
    state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))?;
    events_of(state)?;
    state.webhooks.as_ref().ok_or_else(|| {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "events_unavailable", "this node delivers no webhooks")
    })
}

pub(crate) fn check_url(url: &str) -> Result<(), Problem> {
    let refused = |why: &str| {
        let shown: String = url.chars().take(200).collect();
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_url", format!("url \"{shown}\" {why}"))
    };
    if url.len() > WEBHOOK_URL_BYTES_MAX {
        return Err(refused("is longer than 2048 bytes"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| refused(&format!("is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(refused("must be an absolute http or https URL"));
    }
    Ok(())
}

pub(crate) fn check_types(types: Option<&[String]>) -> Result<Vec<String>, Problem> {
    let Some(types) = types else { return Ok(Vec::new()) };
    let joined = types.join(",");
    if types.iter().any(|t| t.contains(',') || t.trim().is_empty()) {
        let detail = format!("types {types:?} must each name one event type");
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_event_type", detail));
    }
    let mut found: Vec<String> =
        event_types(Some(&joined))?.unwrap_or_default().into_iter().map(str::to_owned).collect();
    found.sort();
    found.dedup();
    Ok(found)
}

pub(crate) fn check_description(description: Option<&String>) -> Result<(), Problem> {
    match description {
        Some(d) if d.chars().count() > 500 => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_description",
            format!("description of {} characters is longer than 500", d.chars().count()),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn dto_delivery(cursor: &subscription::Cursor) -> WebhookDeliveryDto {
    WebhookDeliveryDto {
        after: format!("{}.{}", cursor.after.0, cursor.after.1),
        pending: cursor.pending.len(),
        delivered: cursor.delivered,
        given_up: cursor.given_up,
        attempts: cursor.attempts,
    }
}

/// Changes a subscription as the store holds it now (one change at a time, made durable
/// off the worker's thread), then restarts its deliveries.
pub(crate) async fn change(
    webhooks: &Webhooks,
    code: &str,
    id: &str,
    (missing, apply): (fn(&str) -> Problem, impl FnOnce(&mut Subscription) + Send + 'static),
) -> Result<Subscription, Problem> {
    let store = Arc::clone(&webhooks.store);
    let (commerce, hook_id) = (code.to_owned(), id.to_owned());
    let changed = crate::priority::block(move || hooks::update(&store, &commerce, &hook_id, apply))
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
    let hook = changed.ok_or_else(|| missing(id))?;
    webhooks.tell(Control::Changed { commerce: code.to_owned(), id: id.to_owned() });
    Ok(hook)
}

/// Deletes a subscription or a rule, durably; its deliveries stop, then its cursor goes
/// (after the dispatcher, which writes it).
pub(crate) async fn remove(webhooks: &Webhooks, code: &str, id: &str) -> Result<(), Problem> {
    let store = Arc::clone(&webhooks.store);
    let key = hook_key(code, id);
    let removed = crate::priority::block(move || store.remove(Table::Hooks, &key).and_then(|()| store.flush()));
    removed.await.map_err(unavailable)?.map_err(unavailable)?;
    webhooks.tell(Control::Removed { commerce: code.to_owned(), id: id.to_owned() });
    Ok(())
}

/// A page of a subscription's or a rule's delivery log.
pub(crate) fn attempts_page(
    webhooks: &Webhooks,
    code: &str,
    id: &str,
    query: &AttemptsQuery,
) -> Result<AttemptPageDto, Problem> {
    let limit = match query.limit {
        None => 100,
        Some(limit @ 1..=ATTEMPT_PAGE_MAX) => usize::try_from(limit).unwrap_or(100),
        Some(limit) => {
            let detail = format!("limit {limit} must be 1 to {ATTEMPT_PAGE_MAX}");
            return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit", detail));
        }
    };
    let mut prefix = hook_key(code, id);
    prefix.push(0x1f);
    let after = query.after.map(|n| {
        let mut key = prefix.clone();
        key.extend_from_slice(&n.to_be_bytes());
        key
    });
    let rows = webhooks.store.scan(Table::Attempts, &prefix, after.as_deref(), limit + 1).map_err(unavailable)?;
    let more = rows.len() > limit;
    let attempts: Vec<AttemptDto> = rows
        .into_iter()
        .take(limit)
        .filter_map(|(_, v)| serde_json::from_slice::<Attempt>(&v).ok())
        .map(|a| AttemptDto {
            number: a.number,
            event: a.event,
            position: a.position,
            kind: a.kind,
            attempt: a.attempt,
            at: rfc3339(a.at),
            status: a.status,
            error: a.error,
            took_ms: a.took_ms,
            outcome: a.outcome,
        })
        .collect();
    let next_after = if more { attempts.last().map(|a| a.number) } else { None };
    Ok(AttemptPageDto { attempts, next_after })
}

/// A commerce's webhooks (`rules` false) or notification rules (`rules` true).
pub(crate) fn of_kind(webhooks: &Webhooks, code: &str, rules: bool) -> Vec<Subscription> {
    subscription::of_commerce(&webhooks.store, code).into_iter().filter(|h| h.notify.is_some() == rules).collect()
}

/// A new subscription's or rule's cursor: deliveries start with the next event.
pub(crate) fn next_event_cursor(events: &crate::events::Events) -> subscription::Cursor {
    subscription::Cursor { after: (*events.head.borrow(), u16::MAX), ..Default::default() }
}

/// What a change to a webhook or a rule may set on both: its URL, types, description,
/// and whether it runs (with who stopped it).
pub(crate) struct CommonChange {
    pub url: Option<String>,
    pub types: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub by: String,
}

/// Applies the fields given, on the subscription as stored now.
pub(crate) fn apply_common(hook: &mut Subscription, change: CommonChange) {
    if let Some(url) = change.url {
        hook.url = url;
    }
    if let Some(types) = change.types {
        hook.types = types;
    }
    if let Some(description) = change.description {
        hook.description = Some(description);
    }
    match change.enabled {
        Some(true) => {
            hook.enabled = true;
            hook.disabled_reason = None;
        }
        Some(false) => {
            hook.enabled = false;
            hook.disabled_reason = Some(format!("disabled by {}", change.by));
        }
        None => {}
    }
}
