//! One file per route group; `configure` mounts them all.

pub(crate) mod carts;
mod context;
pub mod data;
pub mod events;
mod feed;
mod health;
mod imports;
pub mod merchants;
pub mod openapi;
pub(crate) mod orders;
pub(crate) mod products;
pub mod reports;
mod stock_dto;
pub mod warehouses;
pub mod webhooks;

use actix_web::web;

pub fn configure(config: &mut web::ServiceConfig) {
    // The router (and the metrics' route label) tries patterns in this order, a regex
    // each: the storefront's busiest routes come first.
    config
        .service(carts::add_line)
        .service(carts::create_cart)
        .service(carts::get_cart)
        .service(orders::checkout)
        .service(orders::buy_now)
        .service(carts::put_address)
        .service(carts::put_delivery)
        .service(carts::delivery_options)
        .service(carts::change_line)
        .service(carts::remove_line)
        .service(products::get_availability)
        .service(products::get_price)
        .service(context::resolve_context)
        .service(carts::list_payment_systems)
        .service(carts::put_promo_code)
        .service(carts::delete_promo_code)
        .service(orders::list_orders)
        .service(orders::get_order)
        .service(orders::get_order_documents)
        .service(orders::confirm_payment)
        .service(orders::ship_shipment)
        .service(orders::carrier_event)
        .service(orders::cancel_order)
        .service(orders::settle_refund)
        .service(orders::order_history)
        .service(orders::list_invoices)
        .service(orders::get_invoice)
        .service(orders::request_return)
        .service(orders::return_points)
        .service(orders::decide_return)
        .service(orders::receive_return)
        .service(events::list_events)
        .service(events::stream_events);
    back_office(config);
    marketplace(config);
}

/// A marketplace's merchants: their lifecycle and their part of the orders.
fn marketplace(config: &mut web::ServiceConfig) {
    config
        .service(data::preview_commission_rule)
        .service(data::list_commission_rules)
        .service(data::get_commission_rule)
        .service(data::put_commission_rule)
        .service(data::delete_commission_rule)
        .service(merchants::list_merchants)
        .service(merchants::invite_merchant)
        .service(merchants::get_merchant)
        .service(merchants::onboard_merchant)
        .service(merchants::approve_merchant)
        .service(merchants::block_merchant)
        .service(merchants::unblock_merchant)
        .service(merchants::list_merchant_orders)
        .service(merchants::get_merchant_order)
        .service(merchants::ship_merchant_shipment)
        .service(merchants::read_ledger)
        .service(merchants::list_ledger_entries)
        .service(merchants::read_statement)
        .service(merchants::list_low_balances)
        .service(merchants::make_payouts)
        .service(products::list_proposals)
        .service(products::get_proposal)
        .service(products::accept_proposal)
        .service(products::reject_proposal)
        .service(merchants::list_merchant_returns)
        .service(merchants::receive_merchant_return);
}

/// The back office's routes, after the storefront's (tried in this order).
fn back_office(config: &mut web::ServiceConfig) {
    config
        .service(webhooks::create_webhook)
        .service(webhooks::list_webhooks)
        .service(webhooks::get_webhook)
        .service(webhooks::patch_webhook)
        .service(webhooks::delete_webhook)
        .service(webhooks::rotate_secret)
        .service(webhooks::list_attempts)
        .service(webhooks::redeliver)
        .service(webhooks::notifications::create_notification)
        .service(webhooks::notifications::list_notifications)
        .service(webhooks::notifications::get_notification)
        .service(webhooks::notifications::patch_notification)
        .service(webhooks::notifications::delete_notification)
        .service(webhooks::notifications::list_notification_attempts)
        .service(reports::sales_report)
        .service(reports::refunds_report)
        .service(reports::todo_queue)
        .service(products::list_products)
        .service(feed::channel_feed)
        .service(products::get_translations)
        .service(products::get_product)
        .service(products::put_product)
        .service(products::patch_product)
        .service(products::delete_product)
        .service(products::product_history)
        .service(products::revert_product)
        .service(data::list_price_rules)
        .service(data::get_price_rule)
        .service(data::put_price_rule)
        .service(data::delete_price_rule)
        .service(data::list_discounts)
        .service(data::get_discount)
        .service(data::put_discount)
        .service(data::delete_discount)
        .service(data::list_users)
        .service(data::get_user)
        .service(data::put_user)
        .service(data::delete_user)
        .service(data::list_user_groups)
        .service(data::get_user_group)
        .service(data::put_user_group)
        .service(data::delete_user_group)
        .service(data::keys::list_keys)
        .service(data::keys::create_key)
        .service(data::keys::rotate_key)
        .service(data::keys::revoke_key)
        .service(data::reload_settings)
        .service(imports::post_import)
        .service(imports::get_import)
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
