//! Cart routes: create a cart for a visit's context (or whole: lines, address, delivery),
//! read it, add, change or remove its lines, then the way to an order: shipping address,
//! promo code, delivery options and choice, payment systems, checkout. Each line answers
//! with what the customer should be told (backorder, preorder, delayed with the date, low
//! stock) and the product's related products. Creating a cart, adding a line and
//! checking out take an `Idempotency-Key`.
//!
//! # Layout
//! - `dto.rs`: request bodies and answers.
//! - `create.rs`, `lines.rs`, `address.rs`, `delivery.rs`, `payment_systems.rs`: one route
//!   group each (checkout, which makes an order, is with the order routes).

mod address;
mod create;
mod delivery;
mod dto;
mod lines;
mod payment_systems;

pub use address::*;
pub use create::*;
pub use delivery::*;
pub use dto::*;
pub use lines::*;
pub use payment_systems::*;

use std::collections::BTreeMap;

use actix::{Addr, Message};
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat};
use mercato_actors::cart::{
    Abandon, AddLine, Answering, CartActor, CartRemember, CartReply, CartRespond, ChangeLine, CheckOut, ChooseDelivery,
    DeliveryOptions, GetCart, Keeping, RemoveLine, SetAddress, SetPromoCode,
};
use mercato_actors::idempotency::{Answer, Begin, Stamp};
use mercato_actors::CommerceHandle;
use mercato_engine::cart::{Alert, CartContext, CartLine, Hold, Supply};
use mercato_engine::cart::{DeliveryChoice, ShippingAddress};
use mercato_engine::commerce::model::{ApiRole, Device, ShipmentPreference};
use mercato_engine::delivery::{payment_systems, PlannedShipment};
use mercato_engine::inventory::Timestamp;
use mercato_engine::order::quote::{price, quote};
use mercato_engine::pricing::totals::Totals;
use mercato_engine::pricing::{minor_units, round};
use mercato_engine::resolution::{normalize_country, Access, ContextRequest};
use mercato_engine::workflow::create::{
    Answering as CreationAnswering, Created, Creation, Effect, Outcome, Part, Step,
};
use mercato_engine::{Commerce, DomainError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::context::DeviceDto;
use super::warehouses::{quantity, ACTOR_REPLY_TIMEOUT};
use crate::http::auth::Principal;
use crate::http::idempotency;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

pub(super) fn commerce_of<'a>(
    state: &'a AppState,
    principal: &Principal,
    code: &str,
) -> Result<&'a CommerceHandle, Problem> {
    principal.authorize(code, &[ApiRole::Admin, ApiRole::Storefront])?;
    state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))
}

pub(super) fn cart_of(handle: &CommerceHandle, id: &str) -> Result<Addr<CartActor>, Problem> {
    handle.carts().get(id).ok_or_else(|| DomainError::UnknownCart { id: id.to_owned() }.into())
}

/// Sends a request to a cart and waits for its answer, bounded.
pub(super) async fn ask<M>(cart: &Addr<CartActor>, message: M) -> Result<M::Result, Problem>
where
    M: Message + Send + 'static,
    M::Result: Send,
    CartActor: actix::Handler<M>,
{
    ask_within(cart, message, ACTOR_REPLY_TIMEOUT).await
}

/// How long a checkout may take: the payment gateway's own time, then the warehouses'.
pub(super) const CHECKOUT_REPLY_TIMEOUT: std::time::Duration =
    mercato_actors::payment::GATEWAY_TIMEOUT.saturating_add(ACTOR_REPLY_TIMEOUT);

/// As `ask`, waiting at most `timeout`.
pub(super) async fn ask_within<M>(
    cart: &Addr<CartActor>,
    message: M,
    timeout: std::time::Duration,
) -> Result<M::Result, Problem>
where
    M: Message + Send + 'static,
    M::Result: Send,
    CartActor: actix::Handler<M>,
{
    cart.send(message).timeout(timeout).await.map_err(|error| {
        tracing::warn!(%error, "a cart did not answer");
        Problem::unavailable("the cart is busy; retry shortly")
    })
}

/// What to do with a request's idempotency key: go ahead (with the stamp), send the
/// answer kept under it again, or refuse (in flight, or used for another request).
pub(super) fn begin(
    state: &AppState,
    handle: &CommerceHandle,
    stamp: Option<Stamp>,
) -> Result<Result<Option<Stamp>, Answer>, Problem> {
    let Some(stamp) = stamp else { return Ok(Ok(None)) };
    match state.idempotency.begin(&stamp, handle.clock().now()) {
        Begin::Fresh => Ok(Ok(Some(stamp))),
        Begin::Replay(answer) => Ok(Err(answer)),
        Begin::InFlight => Err(idempotency::in_flight(&stamp.key)),
        Begin::Mismatch => Err(idempotency::mismatch(&stamp.key)),
    }
}

/// How a cart builds the answer it keeps under a key: the body the route sends.
fn respond_with(
    commerce: std::sync::Arc<Commerce>,
    today: NaiveDate,
    status: StatusCode,
    as_line: bool,
) -> CartRespond {
    Box::new(move |reply| Answer { status: status.as_u16(), body: body(reply, &commerce, today, as_line) })
}

fn body(reply: &CartReply, commerce: &Commerce, today: NaiveDate, as_line: bool) -> Vec<u8> {
    let cart = cart_dto(reply, commerce, today);
    let encoded = if as_line {
        serde_json::to_vec(&LineChangeResponse { line: reply.line.as_deref(), cart })
    } else {
        serde_json::to_vec(&cart)
    };
    encoded.unwrap_or_default()
}

pub(super) fn answer(
    reply: &CartReply,
    commerce: &Commerce,
    today: NaiveDate,
    status: StatusCode,
    as_line: bool,
) -> HttpResponse {
    if let Some(answer) = &reply.answer {
        return idempotency::replay(answer.clone());
    }
    HttpResponse::build(status).content_type("application/json").body(body(reply, commerce, today, as_line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        for (y, m, d) in
            [(2026, 11, 22), (2026, 1, 5), (1, 1, 1), (999, 12, 31), (9999, 12, 31), (10_000, 1, 1), (-5, 3, 4)]
        {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("a date");
            assert_eq!(date_text(date), date.to_string(), "{y}-{m}-{d}");
        }
    }
}
