//! The OpenAPI 3.1 document, generated from the routes' annotations and the DTOs' schemas
//! (utoipa), served at `GET /openapi.json`.

use std::sync::OnceLock;

use actix_web::{get, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{carts, context, health, orders, products, warehouses};
use crate::http::problem::Problem;

/// Every `/v1` route takes `Authorization: Bearer <key>`.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API key of the commerce; its role (admin, storefront, merchant) decides the routes."))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mercato",
        description = "Order processing engine for online commerces and marketplaces: context, \
                       catalog availability and prices, carts, delivery, checkout, orders and stock. \
                       Errors are RFC 9457 problem details (`application/problem+json`) with a stable \
                       `code`. POSTs that create take an `Idempotency-Key`."
    ),
    paths(
        health::healthz,
        health::readyz,
        health::metrics,
        openapi_json,
        context::resolve_context,
        products::list_products,
        products::get_availability,
        products::get_price,
        carts::create_cart,
        carts::get_cart,
        carts::add_line,
        carts::change_line,
        carts::remove_line,
        carts::put_address,
        carts::put_promo_code,
        carts::delete_promo_code,
        carts::delivery_options,
        carts::put_delivery,
        carts::list_payment_systems,
        orders::checkout,
        orders::buy_now,
        orders::get_order,
        orders::get_order_documents,
        orders::confirm_payment,
        warehouses::list_warehouses,
        warehouses::get_stock,
        warehouses::post_receipt,
        warehouses::post_batch,
        warehouses::patch_batch,
        warehouses::post_adjustment,
    ),
    components(schemas(Problem)),
    modifiers(&Bearer),
    security(("bearer" = [])),
    tags(
        (name = "operations", description = "Health, readiness, metrics and this document; no key."),
        (name = "storefront", description = "A visit's context."),
        (name = "catalog", description = "Products, availability and prices."),
        (name = "carts", description = "Carts and their lines (each line reserves stock)."),
        (name = "checkout", description = "Address, promo code, delivery, payment systems, checkout."),
        (name = "orders", description = "Orders, their documents and payments."),
        (name = "stock", description = "Warehouses and stock (admin, or a merchant for its own).")
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default())
}

#[utoipa::path(
    tag = "operations",
    summary = "This OpenAPI 3.1 document.",
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json")),
    security(())
)]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document())
}
