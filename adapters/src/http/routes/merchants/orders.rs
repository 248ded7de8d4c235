//! A merchant's part of the orders (DESIGN.md section 7): the orders holding its products,
//! each with its lines and its shipments only (a shipment never mixes merchants), the
//! shipping address and its own status derived from its shipments; and shipping its own
//! shipments. The administrator reads any merchant's part; a merchant key its own, and
//! another merchant's, an order without its lines or a shipment not its own answer 404
//! exactly as what does not exist.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use mercato_actors::order::{ListOrders, Request};
use mercato_engine::commerce::merchants::part_status;
use mercato_engine::commerce::model::{ApiRole, DataKind};
use mercato_engine::order::listing::OrderFilter;
use mercato_engine::order::{Order, OrderEvent};
use mercato_engine::pricing::minor_units;
use mercato_engine::{Commerce, DomainError};
use serde::{Deserialize, Serialize};

use crate::http::auth::Principal;
use crate::http::idempotency;
use crate::http::problem::{Problem, Refusals};
use crate::http::routes::carts::{address_dto, timestamp, AddressDto};
use crate::http::routes::orders::{
    begin_change, end_change, order_line_dto, page_limit, shipment_dto, OrderLineDto, OrderShipmentDto, ShipBody,
};
use crate::http::AppState;

/// A merchant's part of an order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantOrderDto {
    pub order: String,
    pub merchant: String,
    pub placed_at: String,
    pub currency: String,
    /// The merchant's own status, from its shipments: `awaiting_stock`, `ready`,
    /// `partially_sent`, `sent`, `delivered`, `returned` or `cancelled`.
    pub status: &'static str,
    /// Where its shipments go.
    pub address: AddressDto,
    /// Its lines only.
    pub lines: Vec<OrderLineDto>,
    /// Its shipments only.
    pub shipments: Vec<OrderShipmentDto>,
    /// The returns of its lines, its lines only.
    pub returns: Vec<super::MerchantReturnDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantOrderPageDto {
    pub orders: Vec<MerchantOrderDto>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<String>,
}

/// A page of a merchant's orders.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MerchantOrdersQuery {
    /// The last order id of the previous page.
    pub after: Option<String>,
    /// 1 to 500 (50 when not given), as the order list takes it.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// `merchant`'s part of `order`; none when the order holds none of its products.
pub(crate) fn part(order: &Order, commerce: &Commerce, merchant: &str) -> Option<MerchantOrderDto> {
    let lines: Vec<OrderLineDto> = order
        .lines
        .iter()
        .filter(|l| l.merchant(commerce) == Some(merchant))
        .map(|l| order_line_dto(order, l, commerce))
        .collect();
    if lines.is_empty() {
        return None;
    }
    let units = minor_units(commerce, &order.context.currency);
    let shipments: Vec<_> = order.shipments.iter().filter(|s| s.merchant(order, commerce) == Some(merchant)).collect();
    let statuses: Vec<_> = shipments.iter().map(|s| s.status).collect();
    Some(MerchantOrderDto {
        order: order.id.clone(),
        merchant: merchant.to_owned(),
        placed_at: timestamp(order.placed_at),
        currency: order.context.currency.clone(),
        status: part_status(&statuses),
        address: address_dto(&order.address),
        lines,
        shipments: shipments.into_iter().map(|s| shipment_dto(order, s, units, commerce)).collect(),
        returns: order.returns.iter().filter_map(|r| super::merchant_return(order, r, commerce, merchant)).collect(),
    })
}

/// The commerce, for its administrator or merchant `merchant`'s own key (the role and
/// tenant check comes first; another merchant's answers as one that does not exist).
pub(crate) fn scope<'a>(
    state: &'a AppState,
    principal: &Principal,
    code: &str,
    merchant: &str,
) -> Result<&'a mercato_actors::CommerceHandle, Problem> {
    principal.authorize(code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let handle = state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))?;
    let own = principal.role == ApiRole::Admin || principal.merchant.as_deref() == Some(merchant);
    if !own || handle.snapshot().merchant(merchant).is_none() {
        return Err(DomainError::UnknownData { kind: DataKind::Merchant, code: merchant.to_owned() }.into());
    }
    Ok(handle)
}

fn unknown_order(id: &str) -> Problem {
    DomainError::UnknownOrder { id: id.to_owned() }.into()
}

#[utoipa::path(
    tag = "merchants",
    summary = "A merchant's part of the orders holding its products, newest first (admin; a merchant key, its own).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code."),
        MerchantOrdersQuery
    ),
    responses((status = 200, description = "A page", body = MerchantOrderPageDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/merchants/{merchant}/orders")]
pub async fn list_merchant_orders(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<MerchantOrdersQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant) = path.into_inner();
    let handle = scope(&state, &principal, &code, &merchant)?;
    let query = query.read()?;
    let limit = page_limit(query.limit)?;
    let commerce = handle.snapshot();
    let filter = OrderFilter { merchant: Some(merchant.clone()), ..OrderFilter::default() };
    let list = ListOrders { filter, commerce: Arc::clone(&commerce), after: query.after.clone(), limit };
    let page = handle.orders().list(list).await.map_err(|error| match error {
        mercato_actors::ActorError::Refused(DomainError::UnknownOrder { id }) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_cursor",
            format!("after \"{id}\" is not an order of this commerce"),
        ),
        other => other.into(),
    })?;
    let orders = page.orders.iter().filter_map(|order| part(order, &commerce, &merchant)).collect();
    Ok(HttpResponse::Ok().json(MerchantOrderPageDto { orders, next_after: page.next_after }))
}

#[utoipa::path(
    tag = "merchants",
    summary = "A merchant's part of one order: its lines, its shipments, the address, its status (admin; a merchant key, its own).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code."),
        ("order" = String, Path, description = "The order id.")
    ),
    responses((status = 200, description = "Its part", body = MerchantOrderDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/merchants/{merchant}/orders/{order}")]
pub async fn get_merchant_order(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant, id) = path.into_inner();
    let handle = scope(&state, &principal, &code, &merchant)?;
    let order = handle.orders().read(&id).await?;
    let part = part(&order, &handle.snapshot(), &merchant).ok_or_else(|| unknown_order(&id))?;
    Ok(HttpResponse::Ok().json(part))
}

#[utoipa::path(
    tag = "merchants",
    summary = "Ships one of the merchant's own ready shipments with its tracking numbers (admin; a merchant key, its own); the answer is its part of the order.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code."),
        ("order" = String, Path, description = "The order id."),
        ("shipment" = String, Path, description = "The shipment id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = ShipBody,
    responses((status = 200, description = "Sent: its part as it left it", body = MerchantOrderDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/merchants/{merchant}/orders/{order}/shipments/{shipment}/ship")]
pub async fn ship_merchant_shipment(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String, String)>,
    body: crate::http::body::Json<ShipBody>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant, id, shipment) = path.into_inner();
    let handle = scope(&state, &principal, &code, &merchant)?;
    let order = handle.orders().read(&id).await?;
    let commerce = handle.snapshot();
    // An order without its goods answers as one that does not exist.
    if part(&order, &commerce, &merchant).is_none() {
        return Err(unknown_order(&id));
    }
    let own = order
        .shipments
        .iter()
        .find(|s| s.id == shipment)
        .is_some_and(|s| s.merchant(&order, &commerce) == Some(merchant.as_str()));
    if !own {
        return Err(DomainError::UnknownShipment { id: shipment }.into());
    }
    let body = body.read()?;
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let run = Request { id, by: principal.name.to_string(), preview: false, remember: None };
    let seller = merchant.clone();
    let respond: crate::http::routes::orders::Respond =
        Arc::new(move |order: &Order, _: &[OrderEvent], c: &Commerce| {
            (StatusCode::OK, serde_json::to_value(part(order, c, &seller)).unwrap_or_default())
        });
    let run = match begin_change(&state, handle, stamp.clone(), run, &respond)? {
        Ok(run) => run,
        Err(replay) => return Ok(replay),
    };
    let outcome = handle.orders().ship(run, shipment, body.tracking).await;
    end_change(&state, &handle.snapshot(), stamp.as_ref(), outcome, &respond)
}
