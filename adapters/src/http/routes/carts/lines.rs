//! `GET …/carts/{id}` and its lines: add, change, remove.

use super::*;

#[utoipa::path(
    tag = "carts",
    summary = "A cart with its lines, holds, alerts and totals.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    responses(
        (status = 200, description = "Success", body = CartDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/carts/{cart}")]
pub async fn get_cart(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let reply = ask(&cart_of(handle, &id)?, GetCart).await??;
    Ok(answer(&reply, &handle.snapshot(), handle.clock().today(), StatusCode::OK, false))
}

#[utoipa::path(
    tag = "carts",
    summary = "Adds a line, or grows the line of a SKU the cart holds: checks quantity rules on the total, reserves the units, answers with alerts.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = AddLineBody,
    responses(
        (status = 201, description = "Success", body = LineChangeResponse),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/carts/{cart}/lines")]
pub async fn add_line(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<AddLineBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let body = body.read()?;
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let units = quantity(body.qty)?;
    let cart = cart_of(handle, &id)?;
    let stamp = match begin(&state, handle, stamp)? {
        Ok(stamp) => stamp,
        Err(answer) => return Ok(idempotency::replay(answer)),
    };
    let commerce = handle.snapshot();
    let today = handle.clock().today();
    let remember = stamp.map(|stamp| CartRemember {
        stamp,
        frees_key: true,
        respond: respond_with(std::sync::Arc::clone(&commerce), today, StatusCode::CREATED, true),
    });
    // The cart settles the key: it keeps the answer once the line is durable, frees the key
    // when nothing changed, and leaves it in flight while the outcome is unknown.
    let reply = ask(&cart, AddLine { sku: body.sku, quantity: units, answering: remember.into() }).await??;
    Ok(answer(&reply, &commerce, today, StatusCode::CREATED, true))
}

#[utoipa::path(
    tag = "carts",
    summary = "Changes a line's quantity (reserving or releasing the difference).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id."),
        ("line" = String, Path, description = "The line id (`l1`, `l2`, ...).")
    ),
    request_body = ChangeLineBody,
    responses(
        (status = 200, description = "Success", body = LineChangeResponse),
        Refusals
    )
)]
#[patch("/v1/commerces/{commerce}/carts/{cart}/lines/{line}")]
pub async fn change_line(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
    body: crate::http::body::Json<ChangeLineBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id, line) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let units = quantity(body.read()?.qty)?;
    let reply = ask(&cart_of(handle, &id)?, ChangeLine { line, quantity: units }).await??;
    Ok(answer(&reply, &handle.snapshot(), handle.clock().today(), StatusCode::OK, true))
}

#[utoipa::path(
    tag = "carts",
    summary = "Removes a line and releases its units.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id."),
        ("line" = String, Path, description = "The line id (`l1`, `l2`, ...).")
    ),
    responses(
        (status = 200, description = "Success", body = LineChangeResponse),
        Refusals
    )
)]
#[delete("/v1/commerces/{commerce}/carts/{cart}/lines/{line}")]
pub async fn remove_line(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id, line) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let reply = ask(&cart_of(handle, &id)?, RemoveLine { line: line.clone() }).await??;
    let reply = CartReply { line: Some(line), ..reply };
    Ok(answer(&reply, &handle.snapshot(), handle.clock().today(), StatusCode::OK, true))
}
