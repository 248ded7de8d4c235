//! `POST …/carts/{id}/checkout`: the cart becomes an order; and how a checkout's answer
//! (the order) is built and kept under its key, shared with the purchase in one request.

use super::*;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    pub payment_system: String,
    /// For online payment systems: the gateway's token for the customer's means of payment.
    pub payment_token: Option<String>,
    /// The total the customer was shown; checkout refuses (409 `price_changed`) if the
    /// total is now different. Digits, optionally a point and up to 10 more.
    #[schema(pattern = r"^[0-9]{1,18}(\.[0-9]{1,10})?$")]
    pub expected_total: Option<String>,
}

#[utoipa::path(
    tag = "checkout",
    summary = "Places the order: revalidates, pays, turns reservations into allocations.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = CheckoutBody,
    responses(
        (status = 201, description = "Success", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/carts/{cart}/checkout")]
pub async fn checkout(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<CheckoutBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let body = body.read()?;
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let expected_total = expected_total(body.expected_total.as_deref())?;
    let stamp = match begin(&state, handle, stamp)? {
        Ok(stamp) => stamp,
        Err(answer) => return Ok(idempotency::replay(answer)),
    };
    let cart = match cart_of(handle, &id) {
        Ok(cart) => cart,
        Err(problem) => {
            if let Some(stamp) = &stamp {
                state.idempotency.abandon(stamp);
            }
            return Err(problem);
        }
    };
    let commerce = handle.snapshot();
    let remember = stamp.map(|stamp| CartRemember { stamp, frees_key: true, respond: order_respond(&commerce) });
    let message = CheckOut {
        payment_system: body.payment_system,
        token: body.payment_token,
        expected_total,
        remember,
        by: principal.name.to_string(),
    };
    let reply = ask_within(&cart, message, CHECKOUT_REPLY_TIMEOUT).await??;
    order_answer(&reply, &commerce)
}

pub(crate) fn expected_total(text: Option<&str>) -> Result<Option<Decimal>, Problem> {
    text.map(|text| {
        let refused = || {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_amount",
                format!(
                    "expected_total \"{text}\" is not a decimal amount (digits, optionally a point and up to 10 more)"
                ),
            )
        };
        if !crate::http::wire::is_amount(text) {
            return Err(refused());
        }
        text.parse::<Decimal>().map_err(|_| refused())
    })
    .transpose()
}

/// How a checkout keeps its answer under a key: the order, as the route sends it.
pub(crate) fn order_respond(commerce: &Arc<Commerce>) -> CartRespond {
    let commerce = Arc::clone(commerce);
    Box::new(move |reply: &CartReply| mercato_actors::idempotency::Answer {
        status: StatusCode::CREATED.as_u16(),
        body: reply.order.as_deref().map(|o| order_body(o, &commerce)).unwrap_or_default(),
    })
}

/// A checkout's answer: the one kept under its key, or the order it placed.
pub(crate) fn order_answer(reply: &CartReply, commerce: &Commerce) -> Result<HttpResponse, Problem> {
    if let Some(answer) = &reply.answer {
        return Ok(idempotency::replay(answer.clone()));
    }
    let order = reply.order.as_deref().ok_or_else(|| Problem::unavailable("the order was not returned"))?;
    Ok(HttpResponse::Created().content_type("application/json").body(order_body(order, commerce)))
}
