//! `POST …/orders/{id}/payments`: an offline payment confirmed.

use super::*;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// The bank transfer's or cash receipt's reference: 1 to 128 characters, not all
    /// whitespace.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub reference: String,
}

/// An administrator confirms an offline payment: the order becomes `paid`.
#[utoipa::path(
    tag = "orders",
    summary = "Confirms an offline payment (admin): the order becomes paid.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id.")
    ),
    request_body = PaymentBody,
    responses(
        (status = 200, description = "Success", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders/{order}/payments")]
pub async fn confirm_payment(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<PaymentBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let order =
        handle.orders().execute(&id, OrderCommand::ConfirmPayment { reference: body.read()?.reference }).await?;
    Ok(HttpResponse::Ok().json(order_dto(&order, &handle.snapshot())))
}
