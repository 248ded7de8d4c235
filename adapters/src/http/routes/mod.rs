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
    // The router (and the metrics' route label) tries patterns in this order, a regex
    // each: the storefront's busiest routes come first.
    config
        .service(carts::add_line)
        .service(carts::create_cart)
        .service(carts::get_cart)
        .service(checkout::checkout)
        .service(checkout::buy_now)
        .service(checkout::put_address)
        .service(checkout::put_delivery)
        .service(checkout::delivery_options)
        .service(carts::change_line)
        .service(carts::remove_line)
        .service(products::get_availability)
        .service(checkout::get_price)
        .service(context::resolve_context)
        .service(checkout::list_payment_systems)
        .service(checkout::put_promo_code)
        .service(checkout::delete_promo_code)
        .service(checkout::get_order)
        .service(checkout::get_order_documents)
        .service(checkout::confirm_payment)
        .service(products::list_products)
        .service(warehouses::get_stock)
        .service(warehouses::post_receipt)
        .service(warehouses::post_batch)
        .service(warehouses::patch_batch)
        .service(warehouses::post_adjustment)
        .service(warehouses::list_warehouses)
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(openapi::openapi_json);
}
