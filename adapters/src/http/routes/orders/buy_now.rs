//! `POST …/orders`: a purchase in one request (a cart draft and its checkout).

use super::*;

/// A purchase in one request: the cart as `POST …/carts` creates it whole (its lines,
/// address and delivery are required here), then its checkout.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyNowBody {
    pub cart: CreateCartBody,
    pub checkout: CheckoutBody,
}

#[utoipa::path(
    tag = "checkout",
    summary = "Buys now: creates the cart whole (lines, address, delivery) and checks it out in one request; a refused purchase ends the cart and holds nothing.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = BuyNowBody,
    responses(
        (status = 201, description = "Success", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders")]
pub async fn buy_now(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: crate::http::body::Json<BuyNowBody>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let commerce = handle.snapshot();
    let body = body.read()?;
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let BuyNowBody { mut cart, checkout: pay } = body;
    let expected_total = expected_total(pay.expected_total.as_deref())?;
    let pay = CheckOut {
        payment_system: pay.payment_system,
        token: pay.payment_token,
        expected_total,
        remember: None,
        by: principal.name.to_string(),
    };
    let parts = Parts::of(&mut cart, handle)?.checking_out(pay)?;
    let context = visit_context(handle, &commerce, cart)?;
    let stamp = match begin(&state, handle, stamp)? {
        Ok(stamp) => stamp,
        Err(answer) => return Ok(idempotency::replay(answer)),
    };
    let reply = create_whole(&state, handle, context, parts, stamp, order_respond(&commerce)).await?;
    order_answer(&reply, &commerce)
}
