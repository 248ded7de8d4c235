//! An order's life after checkout: shipping a shipment, carriers' reports, cancelling
//! units (or previewing it), confirming a refund made by hand, the order's history, and
//! the invoices of a company.
//!
//! Every change is made once under an `Idempotency-Key`: the answer is kept in the same
//! record as the change and replayed to a retry.

use mercato_actors::idempotency::{Answer, Begin, Stamp};
use mercato_actors::order::{Done, PlaceRemember, Request};
use mercato_actors::ActorError;
use mercato_engine::order::{CarrierReport, OrderEvent};
use mercato_engine::DomainError;

use super::*;

/// How a route's answer is built from the order a change left and its events.
pub(crate) type Respond =
    Arc<dyn Fn(&Order, &[OrderEvent], &Commerce) -> (StatusCode, serde_json::Value) + Send + Sync>;

/// Starts a change under the request's key: a replay or a refusal when the key was used,
/// else the request to run with the answer it keeps.
pub(crate) fn begin_change(
    state: &AppState,
    handle: &mercato_actors::CommerceHandle,
    stamp: Option<Stamp>,
    request: Request,
    respond: &Respond,
) -> Result<Result<Request, HttpResponse>, Problem> {
    let Some(stamp) = stamp else { return Ok(Ok(request)) };
    match state.idempotency.begin(&stamp, handle.clock().now()) {
        Begin::Fresh => {}
        Begin::Replay(answer) => return Ok(Err(idempotency::replay(answer))),
        Begin::InFlight => return Err(idempotency::in_flight(&stamp.key)),
        Begin::Mismatch => return Err(idempotency::mismatch(&stamp.key)),
    }
    let commerce = handle.snapshot();
    let respond = Arc::clone(respond);
    let remember = PlaceRemember {
        stamp,
        at: handle.clock().now(),
        respond: Box::new(move |order: &Arc<Order>, events: &[OrderEvent]| {
            let (status, body) = respond(order, events, &commerce);
            Answer { status: status.as_u16(), body: serde_json::to_vec(&body).unwrap_or_default() }
        }),
    };
    Ok(Ok(Request { remember: Some(remember), ..request }))
}

/// Answers a change: the kept answer once recorded, the key freed when it was refused, and
/// left in flight when the outcome is unknown (a retry must not run it twice).
pub(crate) fn end_change(
    state: &AppState,
    commerce: &Commerce,
    stamp: Option<&Stamp>,
    outcome: Result<Done, ActorError>,
    respond: &Respond,
) -> Result<HttpResponse, Problem> {
    match outcome {
        Ok(done) => {
            if let Some(remembered) = done.remembered {
                state.idempotency.remember(remembered.clone());
                return Ok(idempotency::replay(remembered.answer));
            }
            if let Some(stamp) = stamp {
                // Nothing was recorded (a report already had): the key is free again.
                state.idempotency.abandon(stamp);
            }
            let (status, body) = respond(&done.order, &done.events, commerce);
            Ok(HttpResponse::build(status).json(body))
        }
        Err(error) => {
            let unknown = matches!(&error, ActorError::NotDurable(n) if n.queued);
            if let (Some(stamp), false) = (stamp, unknown) {
                state.idempotency.abandon(stamp);
            }
            Err(error.into())
        }
    }
}

/// The order as a change left it.
pub(super) fn changed_order() -> Respond {
    Arc::new(|order: &Order, _: &[OrderEvent], commerce: &Commerce| {
        (StatusCode::OK, serde_json::to_value(order_dto(order, commerce)).unwrap_or_default())
    })
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipBody {
    /// The carrier's tracking numbers (none for a parcel without one, up to 20): each 1
    /// to 64 characters, no whitespace, control character or slash, listed once.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tracking: Vec<String>,
}

/// Ships a ready shipment: its units leave the warehouses' on-hand and allocated stock,
/// and a delivery note is issued.
#[utoipa::path(
    tag = "fulfilment",
    summary = "Ships a ready shipment with its tracking numbers (admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id."),
        ("shipment" = String, Path, description = "The shipment id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = ShipBody,
    responses(
        (status = 200, description = "Sent: the order as it left it", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders/{order}/shipments/{shipment}/ship")]
pub async fn ship_shipment(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
    body: crate::http::body::Json<ShipBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id, shipment) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let body = body.read()?;
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let run = Request { id, by: principal.name.to_string(), preview: false, remember: None };
    let respond = changed_order();
    let run = match begin_change(&state, handle, stamp.clone(), run, &respond)? {
        Ok(run) => run,
        Err(replay) => return Ok(replay),
    };
    let outcome = handle.orders().ship(run, shipment, body.tracking).await;
    end_change(&state, &handle.snapshot(), stamp.as_ref(), outcome, &respond)
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarrierEventBody {
    /// The carrier's id for this report: the same id again is the same report.
    #[schema(
        pattern = r"^[^\t\n\x0B\f\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000/\\\x00-\x1F\x7F-\x9F]{1,64}$"
    )]
    pub id: String,
    /// The tracking number the shipment was sent with.
    #[schema(
        pattern = r"^[^\t\n\x0B\f\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000/\\\x00-\x1F\x7F-\x9F]{1,64}$"
    )]
    pub tracking: String,
    /// The carrier's status code, mapped by its status map; one the map lacks is kept
    /// without effect.
    #[schema(
        pattern = r"^[^\t\n\x0B\f\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000/\\\x00-\x1F\x7F-\x9F]{1,64}$"
    )]
    pub code: String,
    /// When it happened, RFC 3339 (`2026-12-03T10:00:00Z`).
    #[schema(format = DateTime)]
    pub at: String,
}

/// What a carrier hears back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CarrierEventAnswerDto {
    pub event: String,
    pub order: String,
    pub shipment: String,
    /// The shipment's status after the report.
    pub status: String,
    pub carrier_status: Option<String>,
    /// False when the report was had before (nothing changed).
    pub recorded: bool,
}

/// A carrier reports on a shipment by tracking number.
#[utoipa::path(
    tag = "fulfilment",
    summary = "A carrier's report on a shipment, by tracking number (admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("carrier" = String, Path, description = "The carrier code.")
    ),
    request_body = CarrierEventBody,
    responses(
        (status = 200, description = "Recorded, or had before", body = CarrierEventAnswerDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/carriers/{carrier}/events")]
pub async fn carrier_event(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<CarrierEventBody>,
) -> Result<HttpResponse, Problem> {
    let (code, carrier) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let commerce = handle.snapshot();
    let known = commerce.config().carriers.iter().find(|c| c.code == carrier);
    let known = known.ok_or_else(|| DomainError::UnknownCarrier { code: carrier.clone() })?;
    let body = body.read()?;
    for (field, value) in [("id", &body.id), ("tracking", &body.tracking), ("code", &body.code)] {
        mercato_engine::error::client_id(field, value)?;
    }
    let at = chrono::DateTime::parse_from_rfc3339(&body.at).map_err(|_| {
        let detail = format!("at \"{}\" is not an RFC 3339 date and time", body.at);
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_date", detail)
    })?;
    let report = CarrierReport {
        id: body.id.clone(),
        code: body.code.clone(),
        at: mercato_engine::inventory::Timestamp(at.timestamp_millis()),
        received_at: handle.clock().now(),
        status: known.status_map.get(&body.code).copied(),
    };
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let respond = carrier_answer(body.id.clone());
    let run = Request { id: String::new(), by: String::new(), preview: false, remember: None };
    let remember = match begin_change(&state, handle, stamp.clone(), run, &respond)? {
        Ok(run) => run.remember,
        Err(replay) => return Ok(replay),
    };
    let outcome = handle.orders().report(&carrier, &body.tracking, report, remember).await;
    end_change(&state, &commerce, stamp.as_ref(), outcome, &respond)
}

/// What a carrier hears back about its report `event`.
fn carrier_answer(event: String) -> Respond {
    Arc::new(move |order: &Order, events: &[OrderEvent], _: &Commerce| {
        let found = order.shipments.iter().find(|s| s.carrier_events.iter().any(|e| e.id == event));
        let answer = CarrierEventAnswerDto {
            event: event.clone(),
            order: order.id.clone(),
            shipment: found.map(|s| s.id.clone()).unwrap_or_default(),
            status: found.map(|s| s.status.as_str().to_owned()).unwrap_or_default(),
            carrier_status: found.and_then(|s| s.carrier_status.clone()),
            recorded: !events.is_empty(),
        };
        (StatusCode::OK, serde_json::to_value(answer).unwrap_or_default())
    })
}
