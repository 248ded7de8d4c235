//! Returns: `POST …/orders/{id}/returns` (the storefront or the back office asks),
//! `GET …/orders/{id}/return-points` (where the customer may bring them, nearest first),
//! `POST …/returns/{return}/decisions` (accepted or rejected per line) and `POST
//! …/returns/{return}/receipts` (units received, resellable or damaged: the return order
//! document, the refund and the credit note).

use mercato_actors::order::Request;
use mercato_engine::order::OrderEvent;

use super::fulfil::{begin_change, changed_order, end_change, Respond};
use super::*;

/// Units of a line, read as the document states them: 1 to 4294967295.
pub(crate) fn units(quantity: i64) -> Result<u32, Problem> {
    match u32::try_from(quantity) {
        Ok(units) if units >= 1 => Ok(units),
        _ => Err(mercato_engine::DomainError::InvalidQuantity { quantity, reason: "units are 1 to 4294967295" }.into()),
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineBody {
    /// The order line's id.
    #[schema(min_length = 1)]
    pub line: String,
    /// Units to return: 1 to what was sent and not claimed by another return.
    #[serde(deserialize_with = "crate::http::wire::whole")]
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub quantity: i64,
    /// Why: 1 to 200 characters, not all whitespace.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// The units to return, each line named once.
    #[schema(min_items = 1)]
    pub lines: Vec<ReturnLineBody>,
    /// The return point the customer brings them to (a physical location taking returns).
    pub return_point: Option<String>,
}

/// Asks to return units sent or delivered, within the commerce's return window.
#[utoipa::path(
    tag = "fulfilment",
    summary = "Asks to return units sent or delivered (storefront or admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id.")
    ),
    request_body = ReturnBody,
    responses(
        (status = 201, description = "Requested: the order with its return", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders/{order}/returns")]
pub async fn request_return(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<ReturnBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Storefront])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let body = body.read()?;
    let mut lines = Vec::with_capacity(body.lines.len());
    for line in &body.lines {
        lines.push((line.line.clone(), units(line.quantity)?, line.reason.clone()));
    }
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let respond: Respond = Arc::new(|order: &Order, _: &[OrderEvent], commerce: &Commerce| {
        (StatusCode::CREATED, serde_json::to_value(order_dto(order, commerce)).unwrap_or_default())
    });
    let run = Request { id, by: principal.name.to_string(), preview: false, remember: None };
    let run = match begin_change(&state, handle, stamp.clone(), run, &respond)? {
        Ok(run) => run,
        Err(replay) => return Ok(replay),
    };
    let outcome = handle.orders().request_return(run, lines, body.return_point.clone()).await;
    end_change(&state, &handle.snapshot(), stamp.as_ref(), outcome, &respond)
}

/// The return points the customer of an order may bring units to: the channel's
/// locations taking returns within their radius of the shipping address, nearest first.
#[utoipa::path(
    tag = "fulfilment",
    summary = "Return points near the order's shipping address, nearest first (storefront or admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id.")
    ),
    responses(
        (status = 200, description = "Success", body = Vec<PickupPointDto>),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/orders/{order}/return-points")]
pub async fn return_points(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Storefront])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let order = handle.orders().read(&id).await?;
    let commerce = handle.snapshot();
    let points = match (order.address.latitude, order.address.longitude) {
        (Some(latitude), Some(longitude)) => {
            mercato_engine::delivery::return_points(&commerce, &order.context.channel, (latitude, longitude))
        }
        _ => Vec::new(),
    };
    let points: Vec<PickupPointDto> =
        points.into_iter().map(|p| PickupPointDto { code: p.code, name: p.name, distance_km: p.distance_km }).collect();
    Ok(HttpResponse::Ok().json(points))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub line: String,
    /// True accepts the line's units, false rejects them.
    pub accept: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionsBody {
    /// One decision per line of the return still requested, each line named once.
    #[schema(min_items = 1)]
    pub lines: Vec<DecisionBody>,
}

/// The back office accepts or rejects lines of a return.
#[utoipa::path(
    tag = "fulfilment",
    summary = "Accepts or rejects lines of a return (admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id."),
        ("return" = String, Path, description = "The return id.")
    ),
    request_body = DecisionsBody,
    responses(
        (status = 200, description = "Decided: the order as it left it", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders/{order}/returns/{return}/decisions")]
pub async fn decide_return(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
    body: crate::http::body::Json<DecisionsBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id, wanted) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let body = body.read()?;
    let decisions = body.lines.iter().map(|d| (d.line.clone(), d.accept)).collect();
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let respond = changed_order();
    let run = Request { id, by: principal.name.to_string(), preview: false, remember: None };
    let run = match begin_change(&state, handle, stamp.clone(), run, &respond)? {
        Ok(run) => run,
        Err(replay) => return Ok(replay),
    };
    let outcome = handle.orders().decide_return(run, wanted, decisions).await;
    end_change(&state, &handle.snapshot(), stamp.as_ref(), outcome, &respond)
}

/// The condition returned units arrive in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionDto {
    /// Back on hand in the receipt's warehouse, for sale again.
    Resellable,
    /// Not restocked.
    Damaged,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLineBody {
    pub line: String,
    /// Units received: 1 to what was accepted and not received yet.
    #[serde(deserialize_with = "crate::http::wire::whole")]
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub quantity: i64,
    pub condition: ConditionDto,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnReceiptBody {
    /// Each line named once.
    #[schema(min_items = 1)]
    pub lines: Vec<ReceivedLineBody>,
    /// Where resellable units go back on hand; required when any is resellable.
    pub warehouse: Option<String>,
}

/// What a receipt of returned units did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReturnReceivedDto {
    /// The return order document.
    pub receipt: Option<ReturnReceiptDto>,
    pub refund: Option<RefundDto>,
    pub credit_note: Option<InvoiceDto>,
    pub order: OrderDto,
}

/// Returned units arrive: resellable ones go back on hand (serving at-risk lines), a paid
/// order is refunded for them and an invoiced one credited.
#[utoipa::path(
    tag = "fulfilment",
    summary = "Receives returned units, resellable or damaged (admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id."),
        ("return" = String, Path, description = "The return id.")
    ),
    request_body = ReturnReceiptBody,
    responses(
        (status = 200, description = "Received", body = ReturnReceivedDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders/{order}/returns/{return}/receipts")]
pub async fn receive_return(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
    body: crate::http::body::Json<ReturnReceiptBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id, wanted) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let body = body.read()?;
    let mut received = Vec::with_capacity(body.lines.len());
    for line in &body.lines {
        received.push((line.line.clone(), units(line.quantity)?, matches!(line.condition, ConditionDto::Resellable)));
    }
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let respond: Respond = Arc::new(|order: &Order, events: &[OrderEvent], commerce: &Commerce| {
        let units = minor_units(commerce, &order.context.currency);
        let receipt = events.iter().find_map(|e| match e {
            OrderEvent::ReturnReceived { receipt, .. } => Some(receipt),
            _ => None,
        });
        let credit_note = events.iter().find_map(|e| match e {
            OrderEvent::InvoiceIssued { invoice } => Some(invoice_dto(invoice, &order.id, &order.context.currency)),
            _ => None,
        });
        let shown = order.returns.iter().find_map(|r| {
            let number = &receipt?.number;
            r.receipts.iter().any(|x| &x.number == number).then(|| return_dto(r))
        });
        let answer = ReturnReceivedDto {
            receipt: shown.and_then(|r| r.receipts.into_iter().last()),
            refund: receipt.and_then(|r| r.refund.as_ref()).map(|r| refund_dto(r, units)),
            credit_note,
            order: order_dto(order, commerce),
        };
        (StatusCode::OK, serde_json::to_value(answer).unwrap_or_default())
    });
    let run = Request { id, by: principal.name.to_string(), preview: false, remember: None };
    let run = match begin_change(&state, handle, stamp.clone(), run, &respond)? {
        Ok(run) => run,
        Err(replay) => return Ok(replay),
    };
    let outcome = handle.orders().receive_return(run, wanted, received, body.warehouse.clone()).await;
    end_change(&state, &handle.snapshot(), stamp.as_ref(), outcome, &respond)
}
