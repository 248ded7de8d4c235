//! Warehouse routes: the listing, one SKU's stock, and the back-office changes (receipts,
//! batches, adjustments). Writes need an admin key, or a merchant key for the merchant's own
//! warehouses; a warehouse the key may not see answers 404 like one that does not exist.

use std::time::Duration;

use actix::{Handler, Message};
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use mercato_actors::idempotency::{Answer, Begin};
use mercato_actors::warehouse::{ExecuteAndView, Gated, GetStock, Remember, Respond, StockView, WarehouseHandle};
use mercato_actors::{CommerceHandle, WarehouseActor};
use mercato_engine::commerce::model::{ApiRole, Warehouse};
use mercato_engine::inventory::{AdjustmentReason, InventoryCommand, InventoryEvent};
use mercato_engine::DomainError;
use serde::{Deserialize, Serialize};

use super::stock_dto::{EventDto, StockDto};
use crate::http::auth::Principal;
use crate::http::idempotency;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// How long a request waits for an actor's answer before giving up with 503.
pub const ACTOR_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends a request through the warehouse's gate and waits for the answer, bounded: a full
/// mailbox answers 503 at once, a stopped or slow actor after `ACTOR_REPLY_TIMEOUT`, both
/// with `Retry-After`.
pub async fn ask<M>(warehouse: &WarehouseHandle, message: M) -> Result<M::Result, Problem>
where
    M: Message + Send + 'static,
    M::Result: Send,
    WarehouseActor: Handler<Gated<M>>,
{
    let request = warehouse.send(message)?;
    request.timeout(ACTOR_REPLY_TIMEOUT).await.map_err(|error| {
        tracing::warn!(%error, "an actor did not answer");
        Problem::unavailable("the service is busy; retry shortly")
    })
}

/// The warehouse addressed by the path, if the key may see it.
fn warehouse<'a>(
    handle: &'a CommerceHandle,
    commerce: &'a mercato_engine::Commerce,
    principal: &Principal,
    code: &str,
) -> Result<(&'a Warehouse, &'a WarehouseHandle), Problem> {
    let not_found =
        || Problem::new(StatusCode::NOT_FOUND, "warehouse_not_found", format!("warehouse \"{code}\" not found"));
    let config = commerce.warehouse(code).ok_or_else(not_found)?;
    if principal.role == ApiRole::Merchant && config.merchant.as_deref() != principal.merchant.as_deref() {
        return Err(not_found());
    }
    let addr = handle.warehouses().handle(code).ok_or_else(not_found)?;
    Ok((config, addr))
}

fn commerce_of<'a>(state: &'a AppState, code: &str) -> Result<&'a CommerceHandle, Problem> {
    state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))
}

/// A quantity from JSON: a whole number from 1 up, named in the error when it is not.
pub(crate) fn quantity(value: i64) -> Result<u32, Problem> {
    if value < 1 {
        return Err(DomainError::InvalidQuantity { quantity: value, reason: "it must be at least 1" }.into());
    }
    u32::try_from(value)
        .map_err(|_| DomainError::InvalidQuantity { quantity: value, reason: "it exceeds the largest quantity" }.into())
}

fn date(field: &str, value: &str) -> Result<NaiveDate, Problem> {
    let shaped = crate::http::wire::is_date_shaped(value).then_some(value).ok_or(());
    shaped.and_then(|v| v.parse().map_err(|_| ())).map_err(|_| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_date",
            format!("{field} \"{value}\" is not a date (YYYY-MM-DD)"),
        )
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WarehouseDto {
    pub code: String,
    pub kind: Option<&'static str>,
    pub logistic_center: String,
    pub area: Option<String>,
    pub merchant: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WarehouseList {
    pub warehouses: Vec<WarehouseDto>,
}

#[utoipa::path(
    tag = "stock",
    summary = "The warehouses the key may see.",
    params(
        ("commerce" = String, Path, description = "The commerce code.")
    ),
    responses(
        (status = 200, description = "Success", body = WarehouseList),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/warehouses")]
pub async fn list_warehouses(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let commerce = commerce_of(&state, &code)?.snapshot();
    let warehouses = commerce
        .config()
        .warehouses
        .iter()
        .filter(|w| principal.role != ApiRole::Merchant || w.merchant.as_deref() == principal.merchant.as_deref())
        .map(|w| WarehouseDto {
            code: w.code.clone(),
            kind: w.kind.map(|k| match k {
                mercato_engine::commerce::model::WarehouseKind::Physical => "physical",
                mercato_engine::commerce::model::WarehouseKind::Virtual => "virtual",
            }),
            logistic_center: w.logistic_center.clone(),
            area: w.area.clone(),
            merchant: w.merchant.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(WarehouseList { warehouses }))
}

#[utoipa::path(
    tag = "stock",
    summary = "A SKU's stock in a warehouse.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("warehouse" = String, Path, description = "The warehouse code."),
        ("sku" = String, Path, description = "The SKU.")
    ),
    responses(
        (status = 200, description = "Success", body = StockDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/warehouses/{warehouse}/stock/{sku}")]
pub async fn get_stock(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, warehouse_code, sku) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let handle = commerce_of(&state, &code)?;
    let commerce = handle.snapshot();
    let (_, addr) = warehouse(handle, &commerce, &principal, &warehouse_code)?;
    let unknown = || Problem::unknown_sku(&sku);
    // A merchant sees its own products only: another's is unknown to it, as one that does
    // not exist.
    if principal.role == ApiRole::Merchant
        && commerce.product(&sku).and_then(|p| p.merchant.as_deref()) != principal.merchant.as_deref()
    {
        return Err(unknown());
    }
    let view = ask(addr, GetStock { sku: sku.clone() }).await?.ok_or_else(unknown)?;
    Ok(HttpResponse::Ok().json(StockDto::new(
        &warehouse_code,
        &sku,
        &view.record,
        &view.availability,
        view.reservations,
    )))
}

/// What a change did: its events, then the SKU's stock after it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeResponse {
    pub events: Vec<EventDto>,
    pub stock: StockDto,
}

/// The role, tenant and warehouse checks of a stock change, made before its body is read:
/// a key that may not change this warehouse is answered so whatever it sent.
fn writer(state: &AppState, principal: &Principal, code: &str, warehouse_code: &str) -> Result<(), Problem> {
    principal.authorize(code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let handle = commerce_of(state, code)?;
    warehouse(handle, &handle.snapshot(), principal, warehouse_code).map(|_| ())
}

/// Runs a back-office command in the addressed warehouse and answers with its events and
/// the resulting stock.
#[allow(clippy::too_many_arguments)]
async fn change(
    request: &HttpRequest,
    state: &AppState,
    principal: &Principal,
    code: &str,
    warehouse_code: &str,
    sku: &str,
    command: InventoryCommand,
    status: StatusCode,
) -> Result<HttpResponse, Problem> {
    principal.authorize(code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let handle = commerce_of(state, code)?;
    let commerce = handle.snapshot();
    let (_, addr) = warehouse(handle, &commerce, principal, warehouse_code)?;
    if principal.role == ApiRole::Merchant {
        let owner = commerce.product(sku).and_then(|p| p.merchant.as_deref());
        if owner != principal.merchant.as_deref() {
            return Err(DomainError::UnknownSku { sku: sku.to_owned() }.into());
        }
    }
    let stamp = idempotency::stamp(request, principal, &command)?;

    if let Some(stamp) = &stamp {
        match state.idempotency.begin(stamp, handle.clock().now()) {
            Begin::Fresh => {}
            Begin::Replay(answer) => return Ok(idempotency::replay(answer)),
            Begin::InFlight => return Err(idempotency::in_flight(&stamp.key)),
            Begin::Mismatch => return Err(idempotency::mismatch(&stamp.key)),
        }
    }
    let remember = stamp
        .clone()
        .map(|stamp| Remember { stamp, respond: answer_with(warehouse_code.to_owned(), sku.to_owned(), status) });
    // The warehouse settles the key: it remembers the answer once the change is durable,
    // frees the key when nothing changed, and leaves it in flight while the outcome is
    // unknown (a timeout here included), so a retry can never run the change twice.
    // A full mailbox sent nothing: the key is free again.
    let request = addr.send(ExecuteAndView { command, sku: sku.to_owned(), remember }).map_err(|busy| {
        if let Some(stamp) = &stamp {
            state.idempotency.abandon(stamp);
        }
        Problem::from(busy)
    })?;
    let answered = request.timeout(ACTOR_REPLY_TIMEOUT).await.map_err(|error| {
        tracing::warn!(%error, "an actor did not answer");
        Problem::unavailable("the service is busy; retry shortly")
    });
    let (events, view, remembered) = answered??;
    if let Some(answer) = remembered {
        return Ok(idempotency::replay(answer));
    }
    let view = view.ok_or_else(|| Problem::from(DomainError::UnknownSku { sku: sku.to_owned() }))?;
    Ok(HttpResponse::build(status).json(change_response(warehouse_code, sku, &events, &view)))
}

fn change_response(warehouse_code: &str, sku: &str, events: &[InventoryEvent], view: &StockView) -> ChangeResponse {
    ChangeResponse {
        events: events.iter().map(EventDto::from).collect(),
        stock: StockDto::new(warehouse_code, sku, &view.record, &view.availability, view.reservations),
    }
}

/// How the warehouse actor builds the answer it keeps under an idempotency key: the same
/// body the route sends.
fn answer_with(warehouse_code: String, sku: String, status: StatusCode) -> Respond {
    Box::new(move |events, view| match view {
        Some(view) => Answer {
            status: status.as_u16(),
            body: serde_json::to_vec(&change_response(&warehouse_code, &sku, events, view)).unwrap_or_default(),
        },
        None => {
            let problem = Problem::from(DomainError::UnknownSku { sku: sku.clone() });
            Answer { status: problem.status, body: serde_json::to_vec(&problem).unwrap_or_default() }
        }
    })
}

/// Stock in: free units, or the arrival of an announced batch (`batch`), which allocates
/// the orders promised against it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    pub sku: String,
    /// Units received, 1 to 4294967295; 0 only for a batch that arrived empty.
    #[serde(deserialize_with = "crate::http::wire::whole")]
    #[schema(minimum = 0, maximum = 4294967295_i64)]
    pub quantity: i64,
    pub batch: Option<String>,
}

#[utoipa::path(
    tag = "stock",
    summary = "Receives units (free, or an announced batch arriving).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("warehouse" = String, Path, description = "The warehouse code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = ReceiptBody,
    responses(
        (status = 201, description = "Success", body = ChangeResponse),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/warehouses/{warehouse}/receipts")]
pub async fn post_receipt(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<ReceiptBody>,
) -> Result<HttpResponse, Problem> {
    let (code, warehouse_code) = path.into_inner();
    writer(&state, &principal, &code, &warehouse_code)?;
    let body = body.read()?;
    let command = match body.batch {
        // A batch may arrive empty: everything counting on it then moves or is at risk.
        Some(batch) => InventoryCommand::ReceiveBatch {
            sku: body.sku.clone(),
            batch,
            quantity: if body.quantity == 0 { 0 } else { quantity(body.quantity)? },
        },
        None => InventoryCommand::ReceiveStock { sku: body.sku.clone(), quantity: quantity(body.quantity)? },
    };
    change(&request, &state, &principal, &code, &warehouse_code, &body.sku, command, StatusCode::CREATED).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    pub sku: String,
    /// The batch's id, chosen by the client: 1 to 64 characters, none a control
    /// character, whitespace or a path separator.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\t\n\x0B\f\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000/\\\x00-\x1F\x7F-\x9F]{1,64}$"
    )]
    pub batch: String,
    /// Units announced, 1 to 4294967295.
    #[serde(deserialize_with = "crate::http::wire::whole")]
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub quantity: i64,
    /// `YYYY-MM-DD`.
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub expected_date: String,
}

#[utoipa::path(
    tag = "stock",
    summary = "Announces an incoming batch.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("warehouse" = String, Path, description = "The warehouse code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = BatchBody,
    responses(
        (status = 201, description = "Success", body = ChangeResponse),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/warehouses/{warehouse}/batches")]
pub async fn post_batch(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<BatchBody>,
) -> Result<HttpResponse, Problem> {
    let (code, warehouse_code) = path.into_inner();
    writer(&state, &principal, &code, &warehouse_code)?;
    let body = body.read()?;
    let command = InventoryCommand::AnnounceBatch {
        sku: body.sku.clone(),
        batch: body.batch,
        quantity: quantity(body.quantity)?,
        expected_date: date("expected_date", &body.expected_date)?,
    };
    change(&request, &state, &principal, &code, &warehouse_code, &body.sku, command, StatusCode::CREATED).await
}

/// A batch's new quantity and expected date (both required: the batch as it now stands).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchChangeBody {
    pub sku: String,
    /// Units now expected, 1 to 4294967295.
    #[serde(deserialize_with = "crate::http::wire::whole")]
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub quantity: i64,
    /// `YYYY-MM-DD`.
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub expected_date: String,
}

#[utoipa::path(
    tag = "stock",
    summary = "Changes an announced batch's quantity or date.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("warehouse" = String, Path, description = "The warehouse code."),
        ("batch" = String, Path, description = "The batch id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = BatchChangeBody,
    responses(
        (status = 200, description = "Success", body = ChangeResponse),
        Refusals
    )
)]
#[patch("/v1/commerces/{commerce}/warehouses/{warehouse}/batches/{batch}")]
pub async fn patch_batch(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
    body: crate::http::body::Json<BatchChangeBody>,
) -> Result<HttpResponse, Problem> {
    let (code, warehouse_code, batch) = path.into_inner();
    writer(&state, &principal, &code, &warehouse_code)?;
    let body = body.read()?;
    let command = InventoryCommand::ChangeBatch {
        sku: body.sku.clone(),
        batch,
        quantity: quantity(body.quantity)?,
        expected_date: date("expected_date", &body.expected_date)?,
    };
    change(&request, &state, &principal, &code, &warehouse_code, &body.sku, command, StatusCode::OK).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    pub sku: String,
    /// Units to add (positive) or remove (negative): never 0, at most 4294967295 either way.
    #[serde(deserialize_with = "crate::http::wire::whole")]
    #[schema(minimum = -4294967295_i64, maximum = 4294967295_i64)]
    pub delta: i64,
    pub reason: ReasonDto,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonDto {
    CountCorrection,
    Damage,
    Loss,
    Found,
}

impl From<ReasonDto> for AdjustmentReason {
    fn from(reason: ReasonDto) -> Self {
        match reason {
            ReasonDto::CountCorrection => AdjustmentReason::CountCorrection,
            ReasonDto::Damage => AdjustmentReason::Damage,
            ReasonDto::Loss => AdjustmentReason::Loss,
            ReasonDto::Found => AdjustmentReason::Found,
        }
    }
}

#[utoipa::path(
    tag = "stock",
    summary = "Adjusts on-hand units with a reason.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("warehouse" = String, Path, description = "The warehouse code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = AdjustmentBody,
    responses(
        (status = 201, description = "Success", body = ChangeResponse),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/warehouses/{warehouse}/adjustments")]
pub async fn post_adjustment(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<AdjustmentBody>,
) -> Result<HttpResponse, Problem> {
    let (code, warehouse_code) = path.into_inner();
    writer(&state, &principal, &code, &warehouse_code)?;
    let body = body.read()?;
    if body.delta.unsigned_abs() > crate::http::wire::QTY_MAX.unsigned_abs() {
        let reason = "an adjustment moves at most 4294967295 units";
        return Err(DomainError::InvalidQuantity { quantity: body.delta, reason }.into());
    }
    let command =
        InventoryCommand::AdjustStock { sku: body.sku.clone(), delta: body.delta, reason: body.reason.into() };
    change(&request, &state, &principal, &code, &warehouse_code, &body.sku, command, StatusCode::CREATED).await
}
