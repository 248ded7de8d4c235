//! The OpenAPI 3.1 document, generated from the routes' annotations and the DTOs' schemas
//! (utoipa), served at `GET /openapi.json`.

use std::sync::OnceLock;

use actix_web::{get, HttpResponse};
use mercato_actors::idempotency::IDEMPOTENCY_KEY_BYTES_MAX;
use serde_json::{json, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    carts, context, data, events, feed, health, imports, merchants, orders, products, reports, warehouses, webhooks,
};
use crate::http::idempotency::IDEMPOTENCY_HEADER;
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
        let invitation = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("A merchant's invitation token, from the answer that invited it (onboarding only)."))
            .build();
        components.add_security_scheme("invitation", SecurityScheme::Http(invitation));
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
        feed::channel_feed,
        products::get_translations,
        products::get_product,
        products::put_product,
        products::patch_product,
        products::delete_product,
        products::product_history,
        products::revert_product,
        imports::post_import,
        imports::get_import,
        data::list_price_rules,
        data::get_price_rule,
        data::put_price_rule,
        data::delete_price_rule,
        data::list_discounts,
        data::get_discount,
        data::put_discount,
        data::delete_discount,
        data::list_users,
        data::get_user,
        data::put_user,
        data::delete_user,
        data::list_user_groups,
        data::get_user_group,
        data::put_user_group,
        data::delete_user_group,
        data::keys::list_keys,
        data::keys::create_key,
        data::keys::rotate_key,
        data::keys::revoke_key,
        data::reload_settings,
        data::list_commission_rules,
        data::get_commission_rule,
        data::put_commission_rule,
        data::delete_commission_rule,
        data::preview_commission_rule,
        merchants::list_merchants,
        merchants::get_merchant,
        merchants::invite_merchant,
        merchants::onboard_merchant,
        merchants::approve_merchant,
        merchants::block_merchant,
        merchants::unblock_merchant,
        merchants::list_merchant_orders,
        merchants::get_merchant_order,
        merchants::ship_merchant_shipment,
        merchants::read_ledger,
        merchants::list_ledger_entries,
        merchants::read_statement,
        merchants::list_low_balances,
        merchants::make_payouts,
        merchants::list_merchant_returns,
        products::list_proposals,
        products::get_proposal,
        products::accept_proposal,
        products::reject_proposal,
        merchants::receive_merchant_return,
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
        orders::list_orders,
        orders::get_order,
        orders::get_order_documents,
        orders::confirm_payment,
        orders::ship_shipment,
        orders::carrier_event,
        orders::cancel_order,
        orders::settle_refund,
        orders::order_history,
        orders::list_invoices,
        orders::get_invoice,
        orders::request_return,
        orders::return_points,
        orders::decide_return,
        orders::receive_return,
        warehouses::list_warehouses,
        warehouses::get_stock,
        warehouses::post_receipt,
        warehouses::post_batch,
        warehouses::patch_batch,
        warehouses::post_adjustment,
        events::list_events,
        events::stream_events,
        webhooks::create_webhook,
        webhooks::list_webhooks,
        webhooks::get_webhook,
        webhooks::patch_webhook,
        webhooks::delete_webhook,
        webhooks::rotate_secret,
        webhooks::list_attempts,
        webhooks::redeliver,
        webhooks::notifications::create_notification,
        webhooks::notifications::list_notifications,
        webhooks::notifications::get_notification,
        webhooks::notifications::patch_notification,
        webhooks::notifications::delete_notification,
        webhooks::notifications::list_notification_attempts,
        reports::sales_report,
        reports::refunds_report,
        reports::todo_queue,
    ),
    components(schemas(
        Problem,
        feed::FeedItem,
        feed::FeedFormat,
        orders::OrderStatusDto,
        reports::ReportFormat,
        reports::TodoQueue,
        merchants::StatusFilter,
        products::ProposalStatusFilter
    )),
    modifiers(&Bearer),
    security(("bearer" = [])),
    tags(
        (name = "operations", description = "Health, readiness, metrics and this document; no key."),
        (name = "storefront", description = "A visit's context."),
        (name = "catalog", description = "Products, availability and prices."),
        (name = "pricing", description = "Price rules and discounts, changed while the node runs (admin)."),
        (name = "back office", description = "Users, user groups, API keys and settings reloads (admin)."),
        (name = "merchants", description = "A marketplace's merchants: invited, onboarded with their invitation, approved, blocked and unblocked (admin; a merchant reads its own)."),
        (name = "carts", description = "Carts and their lines (each line reserves stock)."),
        (name = "checkout", description = "Address, promo code, delivery, payment systems, checkout."),
        (name = "orders", description = "Orders, their documents and payments."),
        (name = "fulfilment", description = "After checkout: shipping, carriers' reports, cancellations and refunds."),
        (name = "stock", description = "Warehouses and stock (admin, or a merchant for its own)."),
        (name = "reports", description = "Live reports and to-do queues, kept as events happen (admin; a merchant, its own sales)."),
        (name = "events", description = "Events out of the log: pages, a server-sent-event stream and webhooks (admin; a merchant, its own).")
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let Ok(mut document) = serde_json::to_value(ApiDoc::openapi()) else { return String::new() };
        state_rules(&mut document);
        state_webhooks(&mut document);
        widen_formats(&mut document);
        serde_json::to_string(&document).unwrap_or_default()
    })
}

/// An unsigned 32-bit field is generated as `format: int32` with its maximum of
/// 4294967295, which no int32 holds: such a field is stated as `int64`, its bounds kept.
fn widen_formats(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let wide = object.get("maximum").and_then(Value::as_i64).is_some_and(|max| max > i64::from(i32::MAX));
            if wide && object.get("format").and_then(Value::as_str) == Some("int32") {
                object.insert("format".to_owned(), Value::from("int64"));
            }
            object.values_mut().for_each(widen_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(widen_formats),
        _ => {}
    }
}

/// The event catalogue as the document's `webhooks` (OpenAPI 3.1): one operation per
/// event type, the request a subscriber receives, with the Standard Webhooks headers.
fn state_webhooks(document: &mut Value) {
    let mut webhooks = serde_json::Map::new();
    for event in crate::events::catalogue::CATALOGUE {
        let operation = json!({
            "post": {
                "tags": ["events"],
                "summary": event.summary,
                "description": format!(
                    "Delivered to subscriptions to `{}` (aggregate `{}`), and listed by `GET …/events`.",
                    event.name, event.aggregate
                ),
                "parameters": [
                    { "name": "webhook-id", "in": "header", "required": true, "schema": { "type": "string" },
                      "description": "The event's id: the same on every delivery of it." },
                    { "name": "webhook-timestamp", "in": "header", "required": true, "schema": { "type": "string" },
                      "description": "Seconds since the Unix epoch when this attempt was signed." },
                    { "name": "webhook-signature", "in": "header", "required": true, "schema": { "type": "string" },
                      "description": "`v1,{base64 HMAC-SHA256 of id.timestamp.body}`, one per secret in use, space-separated." },
                ],
                "requestBody": {
                    "required": true,
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PublishedEventDto" } } }
                },
                "responses": {
                    "2XX": { "description": "Delivered." },
                    "410": { "description": "The subscription is disabled: nothing more is sent to it." },
                    "default": { "description": "Retried with exponential backoff for about three days." }
                }
            }
        });
        webhooks.insert(event.name.to_owned(), operation);
    }
    if let Some(root) = document.as_object_mut() {
        root.insert("webhooks".to_owned(), Value::Object(webhooks));
    }
}

/// The rules the field annotations cannot state, written into the generated document:
/// the `Idempotency-Key` header's shape on every route that takes it, and the rules that
/// tie one field to another (the server refuses each with 400 or 422 as named).
fn state_rules(document: &mut Value) {
    state_parameters(document);
    let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    state_body_rules(schemas);
    state_catalog_rules(schemas);
}

/// A schema as a JSON merge patch (RFC 7396) of it may state it: every member of an
/// object may also be null (it removes the member), objects (and the structs they refer
/// to) are patches themselves with nothing required, arrays and texts are whole values.
fn patch_of(schema: &Value, schemas: &serde_json::Map<String, Value>, depth: usize) -> Value {
    let referred = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"));
    if let (Some(name), true) = (referred, depth < 4) {
        return schemas.get(name).map_or_else(|| schema.clone(), |s| patch_of(s, schemas, depth + 1));
    }
    let mut patched = schema.clone();
    for key in ["oneOf", "anyOf"] {
        if let Some(members) = schema.get(key).and_then(Value::as_array) {
            patched[key] = Value::Array(members.iter().map(|m| patch_of(m, schemas, depth + 1)).collect());
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let nullable = properties
            .iter()
            .map(|(name, p)| (name.clone(), json!({ "anyOf": [patch_of(p, schemas, depth + 1), { "type": "null" }] })))
            .collect();
        patched["properties"] = Value::Object(nullable);
        if let Some(object) = patched.as_object_mut() {
            object.remove("required");
        }
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        patched["additionalProperties"] =
            json!({ "anyOf": [patch_of(values, schemas, depth + 1), { "type": "null" }] });
    }
    patched
}

/// The rules that tie a catalogue body's fields together.
fn state_catalog_rules(schemas: &mut serde_json::Map<String, Value>) {
    // 422 invalid_product: a price is a decimal string.
    if let Some(prices) = schemas.get_mut("ProductBody").and_then(|s| s.pointer_mut("/properties/prices")) {
        prices["additionalProperties"] = json!({ "type": "string", "pattern": crate::http::wire::AMOUNT_PATTERN });
    }
    // A product's merge patch: its document's members, each nullable.
    if let Some(body) = schemas.get("ProductBody").cloned() {
        let mut patch = patch_of(&body, schemas, 0);
        patch["description"] = json!(
            "A JSON merge patch (RFC 7396) of a product's `document`: each member given replaces its value, null removes it, objects merge member by member."
        );
        schemas.insert("ProductPatch".to_owned(), patch);
    }
    let mut rule = |name: &str, key: &str, rule: Value| {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            schema.insert(key.to_owned(), rule);
        }
    };
    // 422 invalid_revert: a version or a moment, one of them.
    rule(
        "RevertBody",
        "oneOf",
        json!([
            { "required": ["version"], "properties": { "version": { "type": "integer" }, "at": { "type": "null" } } },
            { "required": ["at"], "properties": { "at": { "type": "string" }, "version": { "type": "null" } } }
        ]),
    );
    // 422 invalid_product: a weight in grams or in a unit of its own, not both.
    rule(
        "ProductBody",
        "not",
        json!({ "required": ["weight", "weight_grams"],
                "properties": { "weight": { "type": "object" }, "weight_grams": { "type": "integer" } } }),
    );
}

/// Query parameters are texts, never null; the `Idempotency-Key`'s shape.
fn state_parameters(document: &mut Value) {
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        let parameters = paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|operations| operations.values_mut())
            .filter_map(|operation| operation.get_mut("parameters").and_then(Value::as_array_mut))
            .flatten();
        for parameter in parameters {
            // A query parameter is absent or a text: `?country=null` is the text "null".
            if parameter["in"] == "query" {
                if let Some(types) = parameter.pointer_mut("/schema/type").and_then(Value::as_array_mut) {
                    types.retain(|t| t != "null");
                    if let [only] = types.as_slice() {
                        parameter["schema"]["type"] = only.clone();
                    }
                }
            }
            if parameter["in"] == "header" && parameter["name"] == IDEMPOTENCY_HEADER {
                parameter["schema"] = json!({
                    "type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_BYTES_MAX,
                    "pattern": "^[\\x21-\\x7E]+$"
                });
            }
        }
    }
}

/// The rules that tie one body field to another, or shape the items of a list.
fn state_body_rules(schemas: &mut serde_json::Map<String, Value>) {
    // 422 invalid_id, duplicate_tracking: each tracking number's shape, listed once.
    if let Some(tracking) = schemas.get_mut("ShipBody").and_then(|s| s.pointer_mut("/properties/tracking")) {
        tracking["items"] = json!({ "type": "string", "pattern": crate::http::wire::ID_PATTERN });
        tracking["uniqueItems"] = json!(true);
    }
    // 422 invalid_template: 1 to 20 languages; invalid_notification: a webhook rule takes
    // a url and no recipients, an e-mail rule recipients and no url.
    for name in ["NotificationBody", "NotificationPatch"] {
        if let Some(templates) = schemas.get_mut(name).and_then(|s| s.pointer_mut("/properties/templates")) {
            templates["minProperties"] = json!(1);
            templates["maxProperties"] = json!(20);
        }
    }
    if let Some(body) = schemas.get_mut("NotificationBody").and_then(Value::as_object_mut) {
        body.insert(
            "oneOf".to_owned(),
            json!([
                { "required": ["url"], "properties": { "channel": { "const": "webhook" }, "url": { "type": "string" },
                  "recipients": { "type": "null" } } },
                { "required": ["recipients"], "properties": { "channel": { "const": "email" },
                  "recipients": { "type": "array" }, "url": { "type": "null" } } }
            ]),
        );
    }
    let mut rule = |name: &str, key: &str, rule: Value| {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            schema.insert(key.to_owned(), rule);
        }
    };
    // 422 invalid_quantity: an adjustment changes on-hand.
    rule("AdjustmentBody", "not", json!({ "properties": { "delta": { "const": 0 } }, "required": ["delta"] }));
    // 422 invalid_quantity: only a batch may arrive empty.
    rule(
        "ReceiptBody",
        "anyOf",
        json!([
            { "required": ["batch"], "properties": { "batch": { "type": "string" } } },
            { "properties": { "quantity": { "minimum": 1 } } }
        ]),
    );
    // 422 invalid_address: coordinates come together or not at all.
    rule(
        "AddressBody",
        "anyOf",
        json!([
            { "required": ["latitude", "longitude"],
              "properties": { "latitude": { "type": "number" }, "longitude": { "type": "number" } } },
            { "properties": { "latitude": { "type": "null" }, "longitude": { "type": "null" } } }
        ]),
    );
    // 400 invalid_body: a pick-up point for pick-up, none for home delivery.
    rule(
        "DeliveryBody",
        "oneOf",
        json!([
            { "properties": { "method": { "const": "home" }, "location": { "type": "null" } } },
            { "required": ["location"],
              "properties": { "method": { "const": "pickup" }, "location": { "type": "string" } } }
        ]),
    );
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
