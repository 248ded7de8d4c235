//! Live reports, read at once (they are kept as events happen, never recounted): sales
//! per day, channel, merchant and currency (the administrator; a merchant, its own rows),
//! refunds per day, channel and currency, and the to-do queues (orders to ship, returns to
//! receive, shipments not yet delivered and those past their promised date), as JSON or
//! CSV.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use mercato_engine::commerce::model::ApiRole;
use mercato_engine::pricing::minor_units;
use mercato_engine::Commerce;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::events_of;
use super::orders::query_day;
use crate::events::reports::{self, RefundRow, SalesRow};
use crate::http::auth::Principal;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// The longest span a report covers at once.
pub const REPORT_DAYS_MAX: i64 = 366;
/// The default span: the last 31 days, today included.
const REPORT_DAYS_DEFAULT: i64 = 31;
/// Rows a report answers at most.
const REPORT_ROWS_MAX: usize = 100_000;
const TODO_PAGE_MAX: i64 = 1_000;

#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    #[default]
    Json,
    Csv,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The first day (UTC, `YYYY-MM-DD`); 30 days before `to` when not given.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<String>,
    /// The last day (UTC, `YYYY-MM-DD`); today when not given. At most 366 days after `from`.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: Option<String>,
    pub channel: Option<String>,
    /// Only this merchant's rows (sales); `-` for the commerce's own lines.
    pub merchant: Option<String>,
    pub currency: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<ReportFormat>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SalesRowDto {
    pub day: String,
    pub channel: String,
    /// The merchant whose lines these are; null for the commerce's own.
    pub merchant: Option<String>,
    pub currency: String,
    pub orders: u64,
    pub units: u64,
    pub sales: String,
    pub cancelled_units: u64,
    pub returned_units: u64,
    pub returns: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SalesReportDto {
    pub from: String,
    pub to: String,
    pub rows: Vec<SalesRowDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefundRowDto {
    pub day: String,
    pub channel: String,
    pub currency: String,
    pub refunds: u64,
    pub refunded: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefundReportDto {
    pub from: String,
    pub to: String,
    pub rows: Vec<RefundRowDto>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TodoQueue {
    OrdersToShip,
    ReturnsToReceive,
    /// Shipments not yet delivered, returned or cancelled.
    OpenShipments,
    /// Open shipments whose promised delivery date is past.
    LateShipments,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TodoQuery {
    /// The `id` of the last item of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    pub format: Option<ReportFormat>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TodoDto {
    pub queue: String,
    /// Items in the queue now (for late shipments: open shipments, of which this page
    /// shows the late ones).
    pub total: u64,
    /// Each item: `id` (the order, `{order}/{shipment}` or `{order}/{return}`), and what
    /// it is waiting on.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    /// Pass as `after` for the next page; null on the last.
    pub next_after: Option<String>,
}

fn commerce_for(
    state: &AppState,
    principal: &Principal,
    code: &str,
    roles: &[ApiRole],
) -> Result<std::sync::Arc<Commerce>, Problem> {
    principal.authorize(code, roles)?;
    let handle = state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))?;
    Ok(handle.snapshot())
}

/// The days a query covers, checked.
fn span(query: &ReportQuery, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), Problem> {
    let to = query_day("to", &query.to)?.unwrap_or(today);
    let from = query_day("from", &query.from)?.unwrap_or(to - chrono::Duration::days(REPORT_DAYS_DEFAULT - 1));
    let days = (to - from).num_days();
    if !(0..REPORT_DAYS_MAX).contains(&days) {
        let detail = format!("from {from} to {to} must be 1 to {REPORT_DAYS_MAX} days, in order");
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_range", detail));
    }
    Ok((from, to))
}

fn filters(query: &ReportQuery, commerce: &Commerce, principal: &Principal) -> Result<Option<String>, Problem> {
    if let Some(channel) = &query.channel {
        commerce.channel(channel).ok_or(mercato_engine::DomainError::UnknownChannel { code: channel.clone() })?;
    }
    let own = principal.merchant.as_deref().filter(|_| principal.role == ApiRole::Merchant);
    let merchant = match (&query.merchant, own) {
        (Some(asked), Some(own)) if asked != own => None,
        (Some(asked), _) if asked != "-" && !commerce.config().merchants.iter().any(|m| m.code == *asked) => None,
        (asked, own) => Some(own.map(str::to_owned).or_else(|| asked.clone())),
    };
    merchant.ok_or_else(|| {
        let asked = query.merchant.as_deref().unwrap_or_default();
        let detail = format!("merchant \"{asked}\" is not a merchant of this commerce");
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_merchant", detail)
    })
}

/// Rows of a report between two days: (the key's fields after the day, the row).
fn rows<T: serde::de::DeserializeOwned>(
    state: &AppState,
    prefix: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, Vec<String>, T)>, Problem> {
    let store = &events_of(state)?.store;
    let start = format!("{prefix}{from}");
    let found = store
        .notes(prefix.as_bytes(), Some(start.as_bytes()), REPORT_ROWS_MAX)
        .map_err(|e| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()))?;
    let last = to.to_string();
    let mut out = Vec::new();
    for (key, bytes) in found {
        let key = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
        let mut fields = key.split('\u{1f}').map(str::to_owned);
        let day = fields.next().unwrap_or_default();
        if day > last {
            break;
        }
        let Ok(row) = serde_json::from_slice(&bytes) else { continue };
        out.push((day, fields.collect(), row));
    }
    Ok(out)
}

fn answer<T: Serialize>(format: ReportFormat, json: &impl Serialize, rows: &[T]) -> HttpResponse {
    match format {
        ReportFormat::Json => HttpResponse::Ok().json(json),
        ReportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            for row in rows {
                let _ = writer.serialize(row);
            }
            let body = writer.into_inner().unwrap_or_default();
            HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(body)
        }
    }
}

#[utoipa::path(
    tag = "reports",
    summary = "Sales per day, channel, merchant and currency (admin; a merchant, its own rows).",
    params(("commerce" = String, Path, description = "The commerce code."), ReportQuery),
    responses(
        (status = 200, description = "Success; with format=csv, the rows as CSV", content((SalesReportDto = "application/json"), (String = "text/csv"))),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/reports/sales")]
pub async fn sales_report(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<ReportQuery>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let commerce = commerce_for(&state, &principal, &code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let query = query.read()?;
    let today = state.registry.get(&code).map(|h| h.clock().today()).unwrap_or_default();
    let (from, to) = span(&query, today)?;
    let merchant = filters(&query, &commerce, &principal)?;
    let found: Vec<(String, Vec<String>, SalesRow)> = rows(&state, &reports::sales_prefix(&code), from, to)?;
    let rows: Vec<SalesRowDto> = found
        .into_iter()
        .filter_map(|(day, fields, row)| {
            let [channel, seller, currency] = <[String; 3]>::try_from(fields).ok()?;
            let kept = query.channel.as_ref().is_none_or(|c| *c == channel)
                && query.currency.as_ref().is_none_or(|c| *c == currency)
                && merchant.as_ref().is_none_or(|m| *m == seller || (m == "-" && seller.is_empty()));
            let units = minor_units(&commerce, &currency);
            kept.then(|| SalesRowDto {
                day,
                channel,
                merchant: Some(seller).filter(|s| !s.is_empty()),
                currency,
                orders: row.orders,
                units: row.units,
                sales: super::carts::money(row.sales, units),
                cancelled_units: row.cancelled_units,
                returned_units: row.returned_units,
                returns: row.returns,
            })
        })
        .collect();
    let report = SalesReportDto { from: from.to_string(), to: to.to_string(), rows: Vec::new() };
    let json = SalesReportDto { rows, ..report };
    Ok(answer(query.format.unwrap_or_default(), &json, &json.rows))
}

#[utoipa::path(
    tag = "reports",
    summary = "Refunds per day, channel and currency (admin).",
    params(("commerce" = String, Path, description = "The commerce code."), ReportQuery),
    responses(
        (status = 200, description = "Success; with format=csv, the rows as CSV", content((RefundReportDto = "application/json"), (String = "text/csv"))),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/reports/refunds")]
pub async fn refunds_report(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<ReportQuery>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let commerce = commerce_for(&state, &principal, &code, &[ApiRole::Admin])?;
    let query = query.read()?;
    let today = state.registry.get(&code).map(|h| h.clock().today()).unwrap_or_default();
    let (from, to) = span(&query, today)?;
    filters(&query, &commerce, &principal)?;
    let found: Vec<(String, Vec<String>, RefundRow)> = rows(&state, &reports::refunds_prefix(&code), from, to)?;
    let rows: Vec<RefundRowDto> = found
        .into_iter()
        .filter_map(|(day, fields, row)| {
            let [channel, currency] = <[String; 2]>::try_from(fields).ok()?;
            let kept = query.channel.as_ref().is_none_or(|c| *c == channel)
                && query.currency.as_ref().is_none_or(|c| *c == currency);
            let units = minor_units(&commerce, &currency);
            kept.then(|| RefundRowDto {
                day,
                channel,
                currency,
                refunds: row.refunds,
                refunded: super::carts::money(row.refunded, units),
            })
        })
        .collect();
    let json = RefundReportDto { from: from.to_string(), to: to.to_string(), rows };
    Ok(answer(query.format.unwrap_or_default(), &json, &json.rows))
}

#[utoipa::path(
    tag = "reports",
    summary = "A to-do queue (admin): orders to ship, returns to receive, open or late shipments.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("queue" = TodoQueue, Path, description = "The queue."),
        TodoQuery
    ),
    responses(
        (status = 200, description = "Success; with format=csv, the rows as CSV", content((TodoDto = "application/json"), (String = "text/csv"))),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/reports/todo/{queue}")]
pub async fn todo_queue(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<TodoQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, queue) = path.into_inner();
    commerce_for(&state, &principal, &code, &[ApiRole::Admin])?;
    let query = query.read()?;
    let kind: TodoQueue = serde_json::from_value(Value::String(queue.clone())).map_err(|_| {
        let detail = format!(
            "queue \"{queue}\" is not one of orders_to_ship, returns_to_receive, open_shipments, late_shipments"
        );
        Problem::new(StatusCode::NOT_FOUND, "unknown_queue", detail)
    })?;
    let limit = match query.limit {
        None => 100,
        Some(limit @ 1..=TODO_PAGE_MAX) => usize::try_from(limit).unwrap_or(100),
        Some(limit) => {
            let detail = format!("limit {limit} must be 1 to {TODO_PAGE_MAX}");
            return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit", detail));
        }
    };
    let (stored, late) = match kind {
        TodoQueue::OrdersToShip => (reports::ORDERS_TO_SHIP, false),
        TodoQueue::ReturnsToReceive => (reports::RETURNS_TO_RECEIVE, false),
        TodoQueue::OpenShipments => (reports::OPEN_SHIPMENTS, false),
        TodoQueue::LateShipments => (reports::OPEN_SHIPMENTS, true),
    };
    let today = state.registry.get(&code).map(|h| h.clock().today()).unwrap_or_default().to_string();
    let page = todo_page(&state, &code, stored, late.then_some(today.as_str()), query.after.as_deref(), limit)?;
    Ok(answer(query.format.unwrap_or_default(), &TodoDto { queue, ..page.0 }, &page.1))
}

/// A page of a queue (late: only items whose delivery date is before that day), and its
/// items flattened for CSV.
fn todo_page(
    state: &AppState,
    code: &str,
    queue: &str,
    late_before: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<(TodoDto, Vec<std::collections::BTreeMap<String, String>>), Problem> {
    let store = &events_of(state)?.store;
    let failed = |e: mercato_persistence::PersistenceError| {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string())
    };
    let prefix = reports::queue_prefix(code, queue);
    let total = store
        .note(reports::count_key(code, queue).as_bytes())
        .map_err(failed)?
        .and_then(|b| serde_json::from_slice::<u64>(&b).ok())
        .unwrap_or(0);
    let mut start = prefix.clone().into_bytes();
    if let Some(after) = after {
        start.extend_from_slice(after.as_bytes());
        start.push(0);
    }
    let mut items = Vec::new();
    let mut last = None;
    // A late page looks at the open shipments in order and keeps the late ones.
    for (key, bytes) in store
        .notes(prefix.as_bytes(), Some(&start), if late_before.is_some() { 10_000 } else { limit })
        .map_err(failed)?
    {
        if items.len() >= limit {
            break;
        }
        let id = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
        last = Some(id.clone());
        let Ok(mut item) = serde_json::from_slice::<Value>(&bytes) else { continue };
        if late_before.is_some_and(|today| item["delivery_date"].as_str().is_none_or(|d| d >= today)) {
            continue;
        }
        item["id"] = Value::String(id);
        items.push(item);
    }
    let flat = items
        .iter()
        .map(|item| {
            item.as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let next_after = if items.len() >= limit || (late_before.is_some() && last.is_some()) { last } else { None };
    Ok((TodoDto { queue: queue.to_owned(), total, items, next_after }, flat))
}
