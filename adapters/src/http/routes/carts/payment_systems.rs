//! `GET …/carts/{id}/payment-systems`: the payment systems a cart's channel offers.

use super::*;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentSystemDto {
    pub code: String,
    pub name: String,
    /// `online` (a gateway answers at checkout) or `offline` (an administrator confirms).
    pub kind: &'static str,
}

#[utoipa::path(
    tag = "checkout",
    summary = "The payment systems of the cart's channel.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    responses(
        (status = 200, description = "Success", body = Vec<PaymentSystemDto>),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/carts/{cart}/payment-systems")]
pub async fn list_payment_systems(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let reply = ask(&cart_of(handle, &id)?, mercato_actors::cart::GetCart).await??;
    let commerce = handle.snapshot();
    let systems: Vec<PaymentSystemDto> = payment_systems(&commerce, &reply.cart.context.channel)
        .into_iter()
        .map(|p| PaymentSystemDto {
            code: p.code.clone(),
            name: p.name.clone(),
            kind: if p.is_online() { "online" } else { "offline" },
        })
        .collect();
    Ok(HttpResponse::Ok().json(systems))
}
