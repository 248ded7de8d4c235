//! One file per route group; `configure` mounts them all.

mod carts;
mod checkout;
mod context;
mod health;
pub mod openapi;
mod products;
mod stock_dto;
pub mod warehouses;

use actix_web::web;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(openapi::openapi_json)
        .service(context::resolve_context)
        .service(products::list_products)
        .service(products::get_availability)
        .service(carts::create_cart)
        .service(carts::get_cart)
        .service(carts::add_line)
        .service(carts::change_line)
        .service(carts::remove_line)
        .service(checkout::put_address)
        .service(checkout::put_promo_code)
        .service(checkout::delete_promo_code)
        .service(checkout::delivery_options)
        .service(checkout::put_delivery)
        .service(checkout::list_payment_systems)
        .service(checkout::checkout)
        .service(checkout::get_order)
        .service(checkout::get_order_documents)
        .service(checkout::confirm_payment)
        .service(checkout::get_price)
        .service(warehouses::list_warehouses)
        .service(warehouses::get_stock)
        .service(warehouses::post_receipt)
        .service(warehouses::post_batch)
        .service(warehouses::patch_batch)
        .service(warehouses::post_adjustment);
}
