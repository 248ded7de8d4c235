//! One file per route group; `configure` mounts them all.

mod carts;
mod context;
mod health;
mod products;
mod stock_dto;
pub mod warehouses;

use actix_web::web;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(context::resolve_context)
        .service(products::list_products)
        .service(products::get_availability)
        .service(carts::create_cart)
        .service(carts::get_cart)
        .service(carts::add_line)
        .service(carts::change_line)
        .service(carts::remove_line)
        .service(warehouses::list_warehouses)
        .service(warehouses::get_stock)
        .service(warehouses::post_receipt)
        .service(warehouses::post_batch)
        .service(warehouses::patch_batch)
        .service(warehouses::post_adjustment);
}
