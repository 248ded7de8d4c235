//! Events out, pulled: `GET …/events` pages a commerce's events after a position, and
//! `GET …/events/stream` streams them as server-sent events whose ids are positions
//! (`Last-Event-ID` resumes exactly after one, across restarts too). The administrator
//! sees every event; a merchant, those of its products and of orders holding them.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse, Responder};
use actix_web_lab::sse;
use mercato_engine::commerce::model::ApiRole;
use mercato_persistence::events::Position;
use serde::{Deserialize, Serialize};

use crate::events::catalogue;
use crate::events::envelope::{EventPosition, PublishedEventDto};
use crate::events::{Envelope, Events};
use crate::http::auth::Principal;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// Default page size of the event list.
pub const EVENT_PAGE_DEFAULT: usize = 100;
/// Largest page of the event list.
pub const EVENT_PAGE_MAX: i64 = 1000;
/// Events a page or a stream's read looks at, at most, when a filter keeps few.
const EVENT_SCAN_BUDGET: usize = 10_000;
/// How often an idle stream sends a comment, so proxies keep it open.
const STREAM_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Events a stream reads from the store at a time.
const STREAM_READ: usize = 256;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The position (`{lsn}.{index}`, or `{lsn}` for after all of a record's events) the
    /// list continues after; the beginning when not given.
    #[param(pattern = r"^[0-9]{1,20}(\.[0-9]{1,5})?$")]
    pub after: Option<String>,
    /// Only these types, comma-separated (see the document's webhooks for the catalogue).
    pub types: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Where the stream starts, as `after` of the list; the `Last-Event-ID` header wins.
    /// Without either, the stream starts with the next event.
    #[param(pattern = r"^[0-9]{1,20}(\.[0-9]{1,5})?$")]
    pub after: Option<String>,
    /// Only these types, comma-separated.
    pub types: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPageDto {
    /// The events after `after`, in log order; fewer than `limit` (even none) when the page
    /// looked at 10,000 events before it filled or reached the newest.
    pub events: Vec<PublishedEventDto>,
    /// Pass as `after` for the next page (the last position looked at).
    pub next_after: String,
}

/// Which events a reader gets: the types asked for, and a merchant's own.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub types: Option<Vec<&'static str>>,
    pub merchant: Option<String>,
}

impl EventFilter {
    pub fn keeps(&self, stored: &[u8]) -> bool {
        let Some(envelope) = Envelope::parse(stored) else { return false };
        self.types.as_ref().is_none_or(|types| types.contains(&envelope.kind))
            && self.merchant.as_deref().is_none_or(|merchant| envelope.concerns(merchant))
    }
}

/// The types a query names, each one of the catalogue's.
pub fn event_types(types: Option<&str>) -> Result<Option<Vec<&'static str>>, Problem> {
    let Some(types) = types else { return Ok(None) };
    let named = types.split(',').map(str::trim).filter(|t| !t.is_empty());
    let found: Result<Vec<_>, _> = named
        .map(|name| {
            catalogue::find(name).map(|t| t.name).ok_or_else(|| {
                let detail = format!("event type \"{name}\" is not one of the catalogue's");
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_event_type", detail)
            })
        })
        .collect();
    Ok(Some(found?))
}

/// A position a query or header names.
pub fn position(field: &str, text: &str) -> Result<Position, Problem> {
    text.parse::<EventPosition>().map(|p| p.0).map_err(|()| {
        let detail = format!("{field} \"{text}\" is not an event position ({{lsn}}.{{index}})");
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_cursor", detail)
    })
}

pub(crate) fn events_of(state: &AppState) -> Result<&Events, Problem> {
    state.events.as_ref().ok_or_else(|| {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "events_unavailable", "this node keeps no log, so no events")
    })
}

/// Checks the caller and the commerce: the administrator, or a merchant (its own events).
fn reader(state: &AppState, principal: &Principal, code: &str) -> Result<Option<String>, Problem> {
    principal.authorize(code, &[ApiRole::Admin, ApiRole::Merchant])?;
    state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))?;
    Ok(principal.merchant.as_deref().filter(|_| principal.role == ApiRole::Merchant).map(str::to_owned))
}

#[utoipa::path(
    tag = "events",
    summary = "Lists a commerce's events after a position (admin; a merchant, its own).",
    description = "Events are kept for `--event-keep-s` after their change (30 days by default); a position before the oldest kept goes on from it.",
    params(("commerce" = String, Path, description = "The commerce code."), EventsQuery),
    responses(
        (status = 200, description = "Success", body = EventPageDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<EventsQuery>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let merchant = reader(&state, &principal, &code)?;
    let query = query.read()?;
    let limit = match query.limit {
        None => EVENT_PAGE_DEFAULT,
        Some(limit @ 1..=EVENT_PAGE_MAX) => usize::try_from(limit).unwrap_or(EVENT_PAGE_DEFAULT),
        Some(limit) => {
            let detail = format!("limit {limit} must be 1 to {EVENT_PAGE_MAX}");
            return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit", detail));
        }
    };
    let after = query.after.as_deref().map(|a| position("after", a)).transpose()?.unwrap_or_default();
    let filter = EventFilter { types: event_types(query.types.as_deref())?, merchant };
    let events = events_of(&state)?;
    let (page, last) = read(events, code.clone(), after, limit, filter).await.ok_or_else(|| {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the event store could not be read")
    })?;
    // The events are answered as they were written, without parsing them again.
    let mut body = Vec::with_capacity(page.iter().map(|e| e.bytes.len()).sum::<usize>() + 64);
    body.extend_from_slice(b"{\"events\":[");
    for (i, event) in page.iter().filter_map(|e| Envelope::parse(&e.bytes)).enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(event.json);
    }
    let next = EventPosition(last.unwrap_or(after)).to_string();
    body.extend_from_slice(format!("],\"next_after\":\"{next}\"}}").as_bytes());
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

#[utoipa::path(
    tag = "events",
    summary = "Streams a commerce's events as server-sent events; Last-Event-ID resumes after one.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("Last-Event-ID" = Option<String>, Header, description = "The position of the last event received."),
        StreamQuery
    ),
    responses(
        (status = 200, description = "A text/event-stream: each event's id is its position, its event its type, its data the event", content_type = "text/event-stream", body = String),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/events/stream")]
pub async fn stream_events(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<StreamQuery>,
) -> Result<impl Responder, Problem> {
    let code = path.into_inner();
    let merchant = reader(&state, &principal, &code)?;
    let query = query.read()?;
    let filter = EventFilter { types: event_types(query.types.as_deref())?, merchant };
    let events = events_of(&state)?.clone();
    let header = request.headers().get("last-event-id").map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
    let after = match (header, query.after) {
        (Some(last), _) => position("Last-Event-ID", last.trim())?,
        (None, Some(after)) => position("after", &after)?,
        (None, None) => Position { lsn: *events.head.borrow(), index: u16::MAX },
    };
    let (sender, receiver) = tokio::sync::mpsc::channel(STREAM_READ);
    let reader = Reader { state: state.clone(), principal };
    actix_web::rt::spawn(feed(events, code, filter, after, sender, reader));
    Ok(sse::Sse::from_infallible_receiver(receiver).with_keep_alive(STREAM_KEEP_ALIVE))
}

/// Reads events off the worker's thread (the store's reads may touch the disk): the
/// events kept and the last position looked at; none when the store failed.
async fn read(
    events: &Events,
    commerce: String,
    after: Position,
    limit: usize,
    filter: EventFilter,
) -> Option<(Vec<mercato_persistence::events::StoredEvent>, Option<Position>)> {
    let store = std::sync::Arc::clone(&events.store);
    let read =
        crate::priority::block(move || store.read(&commerce, after, limit, EVENT_SCAN_BUDGET, |b| filter.keeps(b)));
    read.await.ok()?.ok()
}

/// Who reads a stream: its key is checked again whenever the key table changes.
struct Reader {
    state: web::Data<AppState>,
    principal: Principal,
}

/// Sends a stream its events from `after` on, then each new one as the store gets it,
/// until the client goes or the key it was opened with is revoked or rotated (the
/// stream ends; a new one needs a key that stands).
async fn feed(
    events: Events,
    commerce: String,
    filter: EventFilter,
    mut after: Position,
    out: tokio::sync::mpsc::Sender<sse::Event>,
    reader: Reader,
) {
    let mut head = events.head.clone();
    let mut rebuilds = reader.state.keys.rebuilds();
    loop {
        head.borrow_and_update();
        rebuilds.borrow_and_update();
        if !reader.state.keys.stands(&reader.principal) {
            return;
        }
        let Some((page, last)) = read(&events, commerce.clone(), after, STREAM_READ, filter.clone()).await else {
            return;
        };
        for event in &page {
            let Some(envelope) = Envelope::parse(&event.bytes) else { continue };
            let data = String::from_utf8_lossy(envelope.json).into_owned();
            let message = sse::Data::new(data).id(EventPosition(event.position).to_string()).event(envelope.kind);
            if out.send(message.into()).await.is_err() {
                return;
            }
        }
        match last {
            Some(last) if last != after => after = last,
            _ => {
                tokio::select! {
                    changed = head.changed() => if changed.is_err() { return },
                    changed = rebuilds.changed() => if changed.is_err() { return },
                    () = out.closed() => return,
                }
            }
        }
    }
}
