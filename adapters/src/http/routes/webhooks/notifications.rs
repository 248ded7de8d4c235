//! Notification rules (administrator only): event types routed to people, by e-mail to
//! recipients in their languages or to a chat-style webhook, with a subject and body
//! template per language. Create, list, read, change, delete, and read the delivery log;
//! delivery, retries and durability are the webhooks' (`events/webhooks/notify.rs`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use mercato_engine::Commerce;
use serde::{Deserialize, Serialize};

use super::shared::{
    admin, apply_common, attempts_page, change, check_description, check_types, check_url, dto_delivery, new_secret,
    next_event_cursor, now_ms, of_kind, random_hex, remove, rfc3339, CommonChange,
};
use super::{AttemptPageDto, AttemptsQuery, WebhookDeliveryDto};
use crate::events::webhooks::notify::{self, Channel, Notify, Recipient, Template};
use crate::events::webhooks::subscription::{self, Subscription};
use crate::events::webhooks::Webhooks;
use crate::http::auth::Principal;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// Rules a commerce may have.
pub const NOTIFICATIONS_MAX: usize = 200;
/// Recipients of one rule, and languages it has templates for.
pub const RECIPIENTS_MAX: usize = 50;
pub const TEMPLATES_MAX: usize = 20;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationBody {
    /// `email` (to `recipients`, through the node's SMTP server) or `webhook` (a signed
    /// `POST` of `{"subject", "text", "event"}` to `url`).
    pub channel: Channel,
    /// The event types it routes (each one of the catalogue's); every type when empty.
    pub types: Option<Vec<String>>,
    /// E-mail recipients (1 to 50; only for `email`).
    #[schema(min_items = 1, max_items = 50)]
    pub recipients: Option<Vec<Recipient>>,
    /// The webhook's URL (only for `webhook`).
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// Subject and body templates by language (1 to 20; languages of the commerce); one
    /// for `default_language` is required.
    pub templates: BTreeMap<String, Template>,
    /// The language of recipients without one, or whose has no template (the commerce's
    /// default language when not given).
    pub default_language: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPatch {
    pub types: Option<Vec<String>>,
    #[schema(min_items = 1, max_items = 50)]
    pub recipients: Option<Vec<Recipient>>,
    /// Only for a `webhook` rule.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    pub templates: Option<BTreeMap<String, Template>>,
    pub default_language: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// False stops notifications; true (re)starts them from where they stopped.
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationDto {
    pub id: String,
    pub channel: Channel,
    pub types: Vec<String>,
    pub recipients: Vec<Recipient>,
    pub url: Option<String>,
    pub templates: BTreeMap<String, Template>,
    pub default_language: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub delivery: WebhookDeliveryDto,
    /// A webhook rule's signing secret: in the creation's answer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationListDto {
    pub notifications: Vec<NotificationDto>,
}

fn dto(webhooks: &Webhooks, hook: &Subscription) -> NotificationDto {
    let notify = hook.notify.clone().unwrap_or(Notify {
        channel: Channel::Webhook,
        recipients: Vec::new(),
        templates: BTreeMap::new(),
        default_language: String::new(),
    });
    let cursor = subscription::cursor(&webhooks.store, &hook.commerce, &hook.id).ok().flatten().unwrap_or_default();
    NotificationDto {
        id: hook.id.clone(),
        channel: notify.channel,
        types: hook.types.clone(),
        url: (notify.channel == Channel::Webhook).then(|| hook.url.clone()),
        recipients: notify.recipients,
        templates: notify.templates,
        default_language: notify.default_language,
        description: hook.description.clone(),
        enabled: hook.enabled,
        disabled_reason: hook.disabled_reason.clone(),
        created_at: rfc3339(hook.created_at),
        created_by: hook.created_by.clone(),
        delivery: dto_delivery(&cursor),
        secret: None,
    }
}

fn unknown_rule(id: &str) -> Problem {
    let detail = format!("notification rule \"{id}\" is not a notification rule of this commerce");
    Problem::new(StatusCode::NOT_FOUND, "unknown_notification", detail)
}

fn found(webhooks: &Webhooks, code: &str, id: &str) -> Result<Subscription, Problem> {
    subscription::load(&webhooks.store, code, id).filter(|h| h.notify.is_some()).ok_or_else(|| unknown_rule(id))
}

fn invalid(code: &'static str, detail: String) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
}

/// Checks a rule whole against the commerce: its channel's fields, recipients, languages
/// and templates. The URL of a `webhook` rule is checked by the caller.
fn check_rule(commerce: &Commerce, notify: &Notify, url: Option<&str>, mails: bool) -> Result<(), Problem> {
    match notify.channel {
        Channel::Email => {
            if url.is_some() {
                return Err(invalid("invalid_notification", "an email rule takes recipients, not a url".into()));
            }
            if !mails {
                let detail = "this node sends no e-mail: start it with --smtp-url to route events by e-mail";
                return Err(Problem::new(StatusCode::CONFLICT, "email_unavailable", detail));
            }
            if notify.recipients.is_empty() || notify.recipients.len() > RECIPIENTS_MAX {
                let detail = format!("recipients must be 1 to {RECIPIENTS_MAX} (given {})", notify.recipients.len());
                return Err(invalid("invalid_recipients", detail));
            }
        }
        Channel::Webhook => {
            if !notify.recipients.is_empty() || url.is_none() {
                return Err(invalid("invalid_notification", "a webhook rule takes a url, not recipients".into()));
            }
        }
    }
    for recipient in &notify.recipients {
        if recipient.address.chars().count() > 254 || recipient.address.parse::<lettre::Address>().is_err() {
            let shown: String = recipient.address.chars().take(254).collect();
            return Err(invalid("invalid_recipients", format!("recipient \"{shown}\" is not an e-mail address")));
        }
        if let Some(language) = &recipient.language {
            if commerce.language(language).is_none() {
                let detail = format!(
                    "recipient {}'s language \"{language}\" is not a language of the commerce",
                    recipient.address
                );
                return Err(invalid("unknown_language", detail));
            }
        }
    }
    if notify.templates.is_empty() || notify.templates.len() > TEMPLATES_MAX {
        let detail = format!("templates must hold 1 to {TEMPLATES_MAX} languages (given {})", notify.templates.len());
        return Err(invalid("invalid_template", detail));
    }
    for (language, template) in &notify.templates {
        if commerce.language(language).is_none() {
            let detail = format!("templates.{language}: \"{language}\" is not a language of the commerce");
            return Err(invalid("unknown_language", detail));
        }
        notify::check(language, template).map_err(|detail| invalid("invalid_template", detail))?;
    }
    if !notify.templates.contains_key(&notify.default_language) {
        let detail = format!("templates has no template for the default language \"{}\"", notify.default_language);
        return Err(invalid("invalid_template", detail));
    }
    Ok(())
}

fn commerce_of(state: &AppState, code: &str) -> Result<std::sync::Arc<Commerce>, Problem> {
    Ok(state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))?.snapshot())
}

#[utoipa::path(
    tag = "events",
    summary = "Routes event types to people (admin): e-mail in each recipient's language, or a chat-style webhook.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer the same rule.")
    ),
    request_body = NotificationBody,
    responses((status = 201, description = "Created; notifications start with the next event (a webhook rule's signing secret is shown only here)", body = NotificationDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/notifications")]
pub async fn create_notification(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: crate::http::body::Json<NotificationBody>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    let body = body.read()?;
    let stamp = crate::http::idempotency::stamp(&request, &principal, &body)?;
    let commerce = commerce_of(&state, &code)?;
    if let Some(url) = &body.url {
        check_url(url)?;
    }
    let types = check_types(body.types.as_deref())?;
    check_description(body.description.as_ref())?;
    let notify = Notify {
        channel: body.channel,
        recipients: body.recipients.unwrap_or_default(),
        templates: body.templates,
        default_language: body.default_language.unwrap_or_else(|| commerce.config().default_language.clone()),
    };
    check_rule(&commerce, &notify, body.url.as_deref(), webhooks.mails)?;
    let _one_at_a_time = webhooks.creating.lock().await;
    let digest = super::digest(stamp.as_ref());
    if let Some(kept) = super::kept_creation(webhooks, stamp.as_ref(), &digest)? {
        return Ok(HttpResponse::Created().content_type("application/json").body(kept));
    }
    if of_kind(webhooks, &code, true).len() >= NOTIFICATIONS_MAX {
        let detail = format!("the commerce has {NOTIFICATIONS_MAX} notification rules, the most it may have");
        return Err(Problem::new(StatusCode::CONFLICT, "too_many_notifications", detail));
    }
    let cursor = next_event_cursor(crate::http::routes::events::events_of(&state)?);
    let hook = Subscription {
        id: format!("nt_{}", random_hex(12)?),
        commerce: code.clone(),
        url: body.url.unwrap_or_default(),
        types,
        description: body.description,
        enabled: true,
        disabled_reason: None,
        secrets: vec![crate::events::webhooks::Secret { secret: new_secret()?, expires_at: None }],
        created_at: now_ms(),
        created_by: principal.name.to_string(),
        notify: Some(notify),
    };
    let answer = serde_json::to_string(&NotificationDto { secret: secret_shown(&hook), ..dto(webhooks, &hook) });
    let answer = answer.unwrap_or_default();
    super::store_created(webhooks, &hook, &cursor, stamp.as_ref().map(|stamp| (stamp, digest, answer.clone()))).await?;
    Ok(HttpResponse::Created().content_type("application/json").body(answer))
}

/// A webhook rule's signing secret, shown on creation only (its receiver checks the
/// Standard Webhooks signature with it); an e-mail rule has none to show.
fn secret_shown(hook: &Subscription) -> Option<String> {
    let webhook = hook.notify.as_ref().is_some_and(|n| n.channel == Channel::Webhook);
    webhook.then(|| hook.secrets.first().map(|s| s.secret.clone())).flatten()
}

#[utoipa::path(
    tag = "events",
    summary = "Lists the commerce's notification rules (admin).",
    params(("commerce" = String, Path, description = "The commerce code.")),
    responses((status = 200, description = "Success", body = NotificationListDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    let notifications = of_kind(webhooks, &code, true).iter().map(|h| dto(webhooks, h)).collect();
    Ok(HttpResponse::Ok().json(NotificationListDto { notifications }))
}

#[utoipa::path(
    tag = "events",
    summary = "A notification rule and where its delivery stands (admin).",
    params(("commerce" = String, Path, description = "The commerce code."), ("rule" = String, Path, description = "The rule's id.")),
    responses((status = 200, description = "Success", body = NotificationDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/notifications/{rule}")]
pub async fn get_notification(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    Ok(HttpResponse::Ok().json(dto(webhooks, &found(webhooks, &code, &id)?)))
}

#[utoipa::path(
    tag = "events",
    summary = "Changes a notification rule (admin): checked whole, as on creation.",
    params(("commerce" = String, Path, description = "The commerce code."), ("rule" = String, Path, description = "The rule's id.")),
    request_body = NotificationPatch,
    responses((status = 200, description = "Changed", body = NotificationDto), Refusals)
)]
#[patch("/v1/commerces/{commerce}/notifications/{rule}")]
pub async fn patch_notification(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<NotificationPatch>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let webhooks = admin(&state, &principal, &code)?;
    let body = body.read()?;
    let commerce = commerce_of(&state, &code)?;
    let hook = found(webhooks, &code, &id)?;
    let mut notify = hook.notify.clone().ok_or_else(|| unknown_rule(&id))?;
    if let Some(url) = &body.url {
        if notify.channel == Channel::Email {
            return Err(invalid("invalid_notification", "an email rule takes recipients, not a url".into()));
        }
        check_url(url)?;
    }
    let types = body.types.is_some().then(|| check_types(body.types.as_deref())).transpose()?;
    check_description(body.description.as_ref())?;
    // The rule as it would be, checked whole (a node without SMTP still lets an e-mail
    // rule be changed or disabled).
    notify.recipients = body.recipients.clone().unwrap_or(notify.recipients);
    notify.templates = body.templates.clone().unwrap_or(notify.templates);
    notify.default_language = body.default_language.clone().unwrap_or(notify.default_language);
    let url = (notify.channel == Channel::Webhook).then(|| body.url.as_deref().unwrap_or(&hook.url));
    check_rule(&commerce, &notify, url, true)?;
    let by = principal.name.to_string();
    // Only the fields given change, on the rule as stored now.
    let hook = change(webhooks, &code, &id, (unknown_rule, move |hook| patch_rule(hook, body, types, &by))).await?;
    Ok(HttpResponse::Ok().json(dto(webhooks, &hook)))
}

fn patch_rule(hook: &mut Subscription, body: NotificationPatch, types: Option<Vec<String>>, by: &str) {
    if let Some(notify) = hook.notify.as_mut() {
        if let Some(recipients) = body.recipients {
            notify.recipients = recipients;
        }
        if let Some(templates) = body.templates {
            notify.templates = templates;
        }
        if let Some(language) = body.default_language {
            notify.default_language = language;
        }
    }
    let common =
        CommonChange { url: body.url, types, description: body.description, enabled: body.enabled, by: by.to_owned() };
    apply_common(hook, common);
}

#[utoipa::path(
    tag = "events",
    summary = "Deletes a notification rule (admin).",
    params(("commerce" = String, Path, description = "The commerce code."), ("rule" = String, Path, description = "The rule's id.")),
    responses((status = 204, description = "Deleted"), Refusals)
)]
#[delete("/v1/commerces/{commerce}/notifications/{rule}")]
pub async fn delete_notification(
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
    summary = "A notification rule's delivery log, oldest first (admin).",
    params(("commerce" = String, Path, description = "The commerce code."), ("rule" = String, Path, description = "The rule's id."), AttemptsQuery),
    responses((status = 200, description = "Success", body = AttemptPageDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/notifications/{rule}/attempts")]
pub async fn list_notification_attempts(
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
