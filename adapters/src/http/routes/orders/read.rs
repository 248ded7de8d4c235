//! `GET …/orders/{id}` and its documents.

use super::*;

#[utoipa::path(
    tag = "orders",
    summary = "An order with its shipments, payment and documents.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id.")
    ),
    responses(
        (status = 200, description = "Success", body = OrderDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/orders/{order}")]
pub async fn get_order(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    // Shown once its last record is durable.
    let order = handle.orders().read(&id).await?;
    Ok(HttpResponse::Ok().json(order_dto(&order, &handle.snapshot())))
}

#[utoipa::path(
    tag = "orders",
    summary = "An order's documents: the order document, invoices, credit notes, delivery notes.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id.")
    ),
    responses(
        (status = 200, description = "Success", body = DocumentsDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/orders/{order}/documents")]
pub async fn get_order_documents(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let order = commerce_of(&state, &principal, &code)?.orders().read(&id).await?;
    Ok(HttpResponse::Ok().json(documents_dto(&order)))
}
