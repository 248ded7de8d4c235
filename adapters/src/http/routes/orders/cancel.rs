//! `POST …/orders/{id}/cancellations` (units not yet sent, or `?preview=true` for what
//! would happen) and `POST …/orders/{id}/refunds/{refund}` (an administrator confirms a
//! refund made by hand).

use mercato_actors::order::Request;
use mercato_engine::order::OrderEvent;

use super::fulfil::{begin_change, changed_order, end_change, Respond};
use super::returns::units;
use super::*;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelLineBody {
    /// The order line's id.
    #[schema(min_length = 1)]
    pub line: String,
    /// Units to cancel: 1 to what is not sent yet.
    #[serde(deserialize_with = "crate::http::wire::whole")]
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub quantity: i64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// The units to cancel, each line named once; none (the field left out) cancels every
    /// unit not sent yet.
    #[schema(min_items = 1)]
    pub lines: Option<Vec<CancelLineBody>>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PreviewQuery {
    /// `true`: answer what would happen (amounts, refund, credit note) and change nothing.
    pub preview: Option<bool>,
}

/// What a cancellation did (or would do).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CancellationDto {
    pub preview: bool,
    /// Units cancelled per line.
    pub cancelled: Vec<CancelledLineDto>,
    /// What goes back to the customer (a paid order).
    pub refund: Option<RefundDto>,
    /// How much less an unpaid order owes.
    pub owed_less: String,
    /// The credit note (an invoiced order).
    pub credit_note: Option<InvoiceDto>,
    /// The order as the cancellation leaves it.
    pub order: OrderDto,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CancelledLineDto {
    pub line: String,
    pub quantity: u32,
}

fn cancellation_answer(preview: bool) -> Respond {
    Arc::new(move |order: &Order, events: &[OrderEvent], commerce: &Commerce| {
        let units = minor_units(commerce, &order.context.currency);
        let cancellation = events.iter().find_map(|e| match e {
            OrderEvent::UnitsCancelled { cancellation } => Some(cancellation),
            _ => None,
        });
        let credit_note = events.iter().find_map(|e| match e {
            OrderEvent::InvoiceIssued { invoice } => Some(invoice_dto(invoice, &order.id, &order.context.currency)),
            _ => None,
        });
        let answer = CancellationDto {
            preview,
            cancelled: cancellation
                .map(|c| {
                    c.lines
                        .iter()
                        .map(|(line, quantity)| CancelledLineDto { line: line.clone(), quantity: *quantity })
                        .collect()
                })
                .unwrap_or_default(),
            refund: cancellation.and_then(|c| c.refund.as_ref()).map(|r| refund_dto(r, units)),
            owed_less: money(cancellation.map_or(Decimal::ZERO, |c| c.owed_less), units),
            credit_note,
            order: order_dto(order, commerce),
        };
        (StatusCode::OK, serde_json::to_value(answer).unwrap_or_default())
    })
}

/// Cancels units not yet sent: what they held goes back to stock (serving at-risk lines),
/// a paid order is refunded for them, an invoiced one gets a credit note.
#[utoipa::path(
    tag = "fulfilment",
    summary = "Cancels units not yet sent, or the whole order (admin); ?preview=true changes nothing.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id."),
        PreviewQuery
    ),
    request_body = CancelBody,
    responses(
        (status = 200, description = "Cancelled, or what would be", body = CancellationDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders/{order}/cancellations")]
pub async fn cancel_order(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<PreviewQuery>,
    body: crate::http::body::Json<CancelBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let preview = query.read()?.preview.unwrap_or(false);
    let body = body.read()?;
    let respond = cancellation_answer(preview);
    let lines = match &body.lines {
        None => None,
        Some(lines) => {
            Some(lines.iter().map(|l| Ok((l.line.clone(), units(l.quantity)?))).collect::<Result<Vec<_>, Problem>>()?)
        }
    };
    let run = Request { id, by: principal.name.to_string(), preview, remember: None };
    let stamp = if preview { None } else { idempotency::stamp(&request, &principal, &body)? };
    let run = match begin_change(&state, handle, stamp.clone(), run, &respond)? {
        Ok(run) => run,
        Err(replay) => return Ok(replay),
    };
    let outcome = handle.orders().cancel(run, lines).await;
    end_change(&state, &handle.snapshot(), stamp.as_ref(), outcome, &respond)
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// The bank transfer's or cash voucher's reference: 1 to 128 characters, not all
    /// whitespace.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub reference: String,
}

/// An administrator confirms a refund paid back by hand (an offline payment's).
#[utoipa::path(
    tag = "fulfilment",
    summary = "Confirms a refund paid back by hand (admin): it becomes settled.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id."),
        ("refund" = String, Path, description = "The refund id.")
    ),
    request_body = RefundBody,
    responses(
        (status = 200, description = "Settled: the order as it left it", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders/{order}/refunds/{refund}")]
pub async fn settle_refund(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
    body: crate::http::body::Json<RefundBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id, refund) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let body = body.read()?;
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let respond = changed_order();
    let run = Request { id, by: principal.name.to_string(), preview: false, remember: None };
    let run = match begin_change(&state, handle, stamp.clone(), run, &respond)? {
        Ok(run) => run,
        Err(replay) => return Ok(replay),
    };
    let outcome = handle.orders().settle_refund(run, refund, body.reference).await;
    end_change(&state, &handle.snapshot(), stamp.as_ref(), outcome, &respond)
}
