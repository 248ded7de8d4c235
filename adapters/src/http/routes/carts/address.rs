//! `PUT …/carts/{id}/address` and the promo code.

use super::*;

pub(crate) async fn cart_change<M>(
    state: &AppState,
    principal: &Principal,
    code: &str,
    id: &str,
    message: M,
) -> Result<HttpResponse, Problem>
where
    M: actix::Message<Result = Result<CartReply, mercato_actors::ActorError>> + Send + 'static,
    mercato_actors::cart::CartActor: actix::Handler<M>,
{
    let handle = commerce_of(state, principal, code)?;
    let reply = ask(&cart_of(handle, id)?, message).await??;
    Ok(answer(&reply, &handle.snapshot(), handle.clock().today(), StatusCode::OK, false))
}

#[utoipa::path(
    tag = "checkout",
    summary = "Sets the cart's shipping address.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    request_body = AddressBody,
    responses(
        (status = 200, description = "Success", body = CartDto),
        Refusals
    )
)]
#[put("/v1/commerces/{commerce}/carts/{cart}/address")]
pub async fn put_address(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<AddressBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    commerce_of(&state, &principal, &code)?;
    let address = shipping_address(body.read()?)?;
    cart_change(&state, &principal, &code, &id, SetAddress(address)).await
}

/// The address a body gives, its country code normalised.
pub(crate) fn shipping_address(b: AddressBody) -> Result<ShippingAddress, Problem> {
    let country = normalize_country(&b.country)?;
    Ok(ShippingAddress {
        name: b.name,
        line: b.line,
        city: b.city,
        region: b.region,
        postal_code: b.postal_code,
        country,
        phone: b.phone,
        email: b.email,
        latitude: b.latitude,
        longitude: b.longitude,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoCodeBody {
    pub code: String,
}

#[utoipa::path(
    tag = "checkout",
    summary = "Applies a promo code.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    request_body = PromoCodeBody,
    responses(
        (status = 200, description = "Success", body = CartDto),
        Refusals
    )
)]
#[put("/v1/commerces/{commerce}/carts/{cart}/promo-code")]
pub async fn put_promo_code(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<PromoCodeBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    // The role and tenant first: a key that may not use the route is 403 whatever it sent.
    commerce_of(&state, &principal, &code)?;
    cart_change(&state, &principal, &code, &id, SetPromoCode(Some(body.read()?.code))).await
}

#[utoipa::path(
    tag = "checkout",
    summary = "Takes the promo code off.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    responses(
        (status = 200, description = "Success", body = CartDto),
        Refusals
    )
)]
#[delete("/v1/commerces/{commerce}/carts/{cart}/promo-code")]
pub async fn delete_promo_code(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    cart_change(&state, &principal, &code, &id, SetPromoCode(None)).await
}
