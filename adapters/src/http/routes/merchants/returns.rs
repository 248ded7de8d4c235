//! A merchant's returns to receive: the returns whose accepted lines are its own and still
//! have units to come (`GET …/merchants/{m}/returns`), each also shown in its part of the
//! order, and receiving them (`POST …/merchants/{m}/orders/{order}/returns/{r}/receipts`:
//! its own lines only, resellable units into one of its own warehouses). Another's return,
//! line or warehouse answers as one that does not exist.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use mercato_actors::order::Request;
use mercato_engine::order::returns::ReturnDecision;
use mercato_engine::order::{Order, OrderEvent, Return};
use mercato_engine::{Commerce, DomainError};
use serde::Serialize;

use super::orders::{part, scope};
use crate::events::reports::{queue_prefix, RETURNS_TO_RECEIVE};
use crate::http::auth::Principal;
use crate::http::idempotency;
use crate::http::problem::{Problem, Refusals};
use crate::http::routes::carts::timestamp;
use crate::http::routes::events::events_of;
use crate::http::routes::orders::{begin_change, end_change, units, ConditionDto, ReturnReceiptBody};
use crate::http::AppState;

/// Returns a merchant's list answers at most.
const RETURNS_MAX: usize = 1_000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantReturnLineDto {
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    /// `requested`, `accepted` or `rejected`.
    pub decision: &'static str,
    pub received: u32,
    /// Accepted units still to come.
    pub to_receive: u32,
}

/// A return as its merchant sees it: its own lines only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantReturnDto {
    pub order: String,
    pub id: String,
    pub requested_at: String,
    pub return_point: Option<String>,
    pub lines: Vec<MerchantReturnLineDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantReturnsDto {
    pub returns: Vec<MerchantReturnDto>,
}

/// `merchant`'s lines of `request`; none when it holds none of them.
pub(crate) fn merchant_return(
    order: &Order,
    request: &Return,
    commerce: &Commerce,
    merchant: &str,
) -> Option<MerchantReturnDto> {
    let lines: Vec<MerchantReturnLineDto> = request
        .lines
        .iter()
        .filter_map(|asked| {
            let line = order.lines.iter().find(|l| l.id == asked.line)?;
            (line.merchant(commerce) == Some(merchant)).then(|| MerchantReturnLineDto {
                line: asked.line.clone(),
                sku: line.sku.clone(),
                quantity: asked.quantity,
                decision: asked.decision.as_str(),
                received: asked.received,
                to_receive: if asked.decision == ReturnDecision::Accepted {
                    asked.quantity.saturating_sub(asked.received)
                } else {
                    0
                },
            })
        })
        .collect();
    (!lines.is_empty()).then(|| MerchantReturnDto {
        order: order.id.clone(),
        id: request.id.clone(),
        requested_at: timestamp(request.requested_at),
        return_point: request.return_point.clone(),
        lines,
    })
}

#[utoipa::path(
    tag = "merchants",
    summary = "A merchant's returns to receive: accepted units of its own lines still to come (admin; a merchant key, its own).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code."),
    ),
    responses((status = 200, description = "Success", body = MerchantReturnsDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/merchants/{merchant}/returns")]
pub async fn list_merchant_returns(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant) = path.into_inner();
    let handle = scope(&state, &principal, &code, &merchant)?;
    let events = events_of(&state)?;
    let prefix = queue_prefix(&code, RETURNS_TO_RECEIVE);
    let queued =
        events.store.notes(prefix.as_bytes(), None, usize::MAX).map_err(|e| Problem::unavailable(&e.to_string()))?;
    let commerce = handle.snapshot();
    let mut returns = Vec::new();
    for (key, _) in queued {
        let Some((order, id)) = key.get(prefix.len()..).and_then(|k| std::str::from_utf8(k).ok()?.split_once('/'))
        else {
            continue;
        };
        let Ok(order) = handle.orders().read(order).await else { continue };
        let Some(request) = order.returns.iter().find(|r| r.id == id) else { continue };
        let Some(mine) = merchant_return(&order, request, &commerce, &merchant) else { continue };
        if mine.lines.iter().any(|l| l.to_receive > 0) {
            returns.push(mine);
        }
        if returns.len() >= RETURNS_MAX {
            break;
        }
    }
    Ok(HttpResponse::Ok().json(MerchantReturnsDto { returns }))
}

#[utoipa::path(
    tag = "merchants",
    summary = "Receives returned units of a merchant's own lines, resellable ones into one of its warehouses (admin; a merchant key, its own).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code."),
        ("order" = String, Path, description = "The order id."),
        ("return" = String, Path, description = "The return id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = ReturnReceiptBody,
    responses((status = 200, description = "Received: its part as it left it", body = super::MerchantOrderDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/merchants/{merchant}/orders/{order}/returns/{return}/receipts")]
pub async fn receive_merchant_return(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String, String)>,
    body: crate::http::body::Json<ReturnReceiptBody>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant, id, wanted) = path.into_inner();
    let handle = scope(&state, &principal, &code, &merchant)?;
    let order = handle.orders().read(&id).await?;
    let commerce = handle.snapshot();
    if part(&order, &commerce, &merchant).is_none() {
        return Err(DomainError::UnknownOrder { id }.into());
    }
    let unknown_return = || DomainError::UnknownReturn { order: id.clone(), id: wanted.clone() };
    let asked = order.returns.iter().find(|r| r.id == wanted).ok_or_else(unknown_return)?;
    merchant_return(&order, asked, &commerce, &merchant).ok_or_else(unknown_return)?;
    let body = body.read()?;
    let mut received = Vec::with_capacity(body.lines.len());
    for line in &body.lines {
        let own = order.lines.iter().any(|l| l.id == line.line && l.merchant(&commerce) == Some(merchant.as_str()));
        if !own {
            return Err(DomainError::UnknownOrderLineId { order: id.clone(), line: line.line.clone() }.into());
        }
        received.push((line.line.clone(), units(line.quantity)?, matches!(line.condition, ConditionDto::Resellable)));
    }
    if let Some(warehouse) = &body.warehouse {
        let ours = commerce.warehouse(warehouse).is_some_and(|w| w.merchant.as_deref() == Some(merchant.as_str()));
        if !ours {
            return Err(DomainError::UnknownWarehouse { code: warehouse.clone() }.into());
        }
    }
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let seller = merchant.clone();
    let respond: crate::http::routes::orders::Respond =
        Arc::new(move |order: &Order, _: &[OrderEvent], c: &Commerce| {
            (StatusCode::OK, serde_json::to_value(part(order, c, &seller)).unwrap_or_default())
        });
    let run = Request { id, by: principal.name.to_string(), preview: false, remember: None };
    let run = match begin_change(&state, handle, stamp.clone(), run, &respond)? {
        Ok(run) => run,
        Err(replay) => return Ok(replay),
    };
    let outcome = handle.orders().receive_return(run, wanted, received, body.warehouse.clone()).await;
    end_change(&state, &handle.snapshot(), stamp.as_ref(), outcome, &respond)
}
