//! `CheckOut`: the cart runs the engine's checkout workflow (`workflow::checkout`). The
//! engine decides; this file only runs its effects: the gateway's authorisation (off the
//! actors' thread), each hold's commit in its warehouse, the order's record, and, when
//! the checkout fails, the clean-up it asks for (uncommit, void) without waiting for it.
//!
//! The cart takes no other message until its checkout is over, so nothing changes the
//! cart between the workflow's start and the order's record.

use std::sync::Arc;

use actix::fut::{wrap_future, ActorFutureExt};
use actix::prelude::*;
use mercato_engine::cart::{Cart, CartEvent};
use mercato_engine::inventory::{InventoryCommand, Timestamp};
use mercato_engine::order::Order;
use mercato_engine::workflow::checkout::{
    Checkout, CheckoutRequest, Committed, Effect, HoldCommit, Outcome, Placed, Step,
};
use mercato_engine::DomainError;
use mercato_persistence::log::Receipt;
use rust_decimal::Decimal;

use super::{ask, held_until, send_all, settle, CartActor, CartRemember, CartReply, Pending, Shared};
use crate::error::ActorError;
use crate::idempotency::{Remembered, Stamp};
use crate::journal::NotDurable;
use crate::warehouse::ExecuteQueued;

#[derive(Message)]
#[rtype(result = "Result<CartReply, ActorError>")]
pub struct CheckOut {
    pub payment_system: String,
    pub token: Option<String>,
    /// The total the customer saw; a different total now refuses the checkout.
    pub expected_total: Option<Decimal>,
    pub remember: Option<CartRemember>,
    /// Who checks out (the key's principal).
    pub by: String,
}

impl Handler<CheckOut> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, ActorError>>;

    fn handle(&mut self, message: CheckOut, _: &mut Self::Context) -> Self::Result {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let stamp = message.remember.as_ref().and_then(CartRemember::key_to_free);
        let request = CheckoutRequest {
            order: self.shared.ids.cart(),
            payment_system: message.payment_system,
            token: message.token,
            expected_total: message.expected_total,
            by: message.by,
        };
        let (machine, step) = match Checkout::start(request, &self.cart, &commerce, now, self.shared.clock.today()) {
            Ok(started) => started,
            Err(error) => return self.refuse(error.into(), stamp),
        };
        let remember = message.remember;
        let outside = run_outside(Arc::clone(&self.shared), machine, step);
        AtomicResponse::new(Box::pin(wrap_future::<_, Self>(outside).then(
            move |(machine, step), actor, _| match step {
                Step::Run(Effect::Place { order, cart_events }) => {
                    actor.place_order(machine, *order, cart_events, now, remember, stamp)
                }
                step => actor.end_checkout(step, None, stamp),
            },
        )))
    }
}

/// An order recorded by its checkout: the reply, the record's receipt and the answer kept.
type Recorded = (CartReply, Option<Receipt>, Option<Remembered>);

impl CartActor {
    /// Hands the order to the order actor (one record that also ends the cart), ends the
    /// cart in memory once the record is queued, and gives the workflow the outcome.
    fn place_order(
        &mut self,
        mut machine: Checkout,
        order: Order,
        cart_events: Vec<CartEvent>,
        now: Timestamp,
        remember: Option<CartRemember>,
        stamp: Option<Stamp>,
    ) -> ResponseActFuture<Self, Result<CartReply, ActorError>> {
        let mut changed = Cart::clone(&self.cart);
        for event in &cart_events {
            changed.apply(event);
        }
        let changed = Arc::new(changed);
        let reply = CartReply { cart: Arc::clone(&changed), line: None, low_stock: None, answer: None, order: None };
        let remember = remember.map(|r| {
            let respond = r.respond;
            let proto = reply.clone();
            crate::order::PlaceRemember {
                stamp: r.stamp,
                at: now,
                respond: Box::new(move |order: &Arc<Order>, _: &[mercato_engine::order::OrderEvent]| {
                    respond(&CartReply { order: Some(Arc::clone(order)), ..proto })
                }),
            }
        });
        let orders = self.shared.orders.clone();
        let placing = async move { orders.place(order, remember).await };
        Box::pin(wrap_future::<_, Self>(placing).then(move |placed, actor, ctx| {
            let (outcome, recorded) = match placed {
                Ok((order, receipt, remembered)) => {
                    actor.cart = changed;
                    actor.leave_later(ctx);
                    if let Some(receipt) = &receipt {
                        actor.last_lsn = receipt.lsn();
                    }
                    let answer = remembered.as_ref().map(|r| r.answer.clone());
                    let reply = CartReply { answer, order: Some(order), ..reply };
                    (Placed::Placed, Some((reply, receipt, remembered)))
                }
                Err(error @ NotDurable { queued: false, .. }) => (Placed::NotRecorded(error.into()), None),
                Err(error) => (Placed::Unknown(error.into()), None),
            };
            let step = machine.resume(Outcome::Placed(outcome));
            actor.end_checkout(step, recorded, stamp)
        }))
    }

    /// Answers a checkout the workflow ended: the order once durable, or the failure once
    /// its clean-up is on its way.
    fn end_checkout(
        &mut self,
        step: Step<ActorError>,
        recorded: Option<Recorded>,
        stamp: Option<Stamp>,
    ) -> ResponseActFuture<Self, Result<CartReply, ActorError>> {
        let pending: Pending = match (step, recorded) {
            (Step::Done { result: Ok(_), .. }, Some((reply, receipt, remembered))) => {
                let shared = Arc::clone(&self.shared);
                Box::pin(async move { settle(&shared, reply, receipt, remembered, stamp).await })
            }
            (Step::Done { result: Err(error), cleanup }, _) => {
                // The holds go back to the cart before it answers or takes another message
                // (a retry would find them still committed, and a release sent after the
                // answer could reach a warehouse before them); a void needs no waiting.
                let (uncommits, voids): (Vec<Effect>, Vec<Effect>) =
                    cleanup.into_iter().partition(|effect| matches!(effect, Effect::Uncommit { .. }));
                actix::spawn(clean_up(Arc::clone(&self.shared), voids));
                let finished = self.finish(Err(error), stamp);
                let shared = Arc::clone(&self.shared);
                Box::pin(async move {
                    clean_up(shared, uncommits).await;
                    finished.await
                })
            }
            (step, _) => unreachable!("checkout: {step:?} when it should be over"),
        };
        Box::pin(wrap_future::<_, Self>(pending))
    }
}

/// Runs the effects that need nobody's state (the gateway, the warehouses) until the
/// workflow asks for the order's record or is over.
async fn run_outside(
    shared: Arc<Shared>,
    mut machine: Checkout,
    mut step: Step<ActorError>,
) -> (Checkout, Step<ActorError>) {
    loop {
        let outcome = match &step {
            Step::Run(Effect::Authorise(authorisation)) => {
                Outcome::Authorised(shared.gateways.authorise(authorisation.clone()).await)
            }
            Step::Run(Effect::Commit(hold)) => Outcome::Committed(commit(&shared, hold).await),
            _ => return (machine, step),
        };
        step = machine.resume(outcome);
    }
}

/// Commits one hold to its order line in its warehouse.
async fn commit(shared: &Shared, hold: &HoldCommit) -> Committed<ActorError> {
    let Some(handle) = shared.warehouses.handle(&hold.warehouse) else {
        return Committed::Refused(ActorError::Unavailable(hold.warehouse.clone()));
    };
    let command = InventoryCommand::CommitReservation {
        reservation: hold.reservation.clone(),
        order_line: hold.key.clone(),
        quantity: Some(hold.quantity),
    };
    match ask(handle, &hold.warehouse, ExecuteQueued(command)).await {
        Ok(Ok(_)) => Committed::Committed,
        Ok(Err(ActorError::Refused(
            DomainError::UnknownReservation { .. }
            | DomainError::ReservationExpired { .. }
            | DomainError::ReservationChanged { .. },
        ))) => Committed::Lost,
        Ok(Err(error @ ActorError::NotDurable(NotDurable { queued: true, .. }))) => Committed::Unknown(error),
        Ok(Err(error)) => Committed::Refused(error),
        // No answer in time: the warehouse may still commit it.
        Err(error @ ActorError::Unavailable(_)) => Committed::Unknown(error),
        Err(error) => Committed::Refused(error),
    }
}

/// Runs what a failed checkout undoes: the uncommits before the checkout answers, the
/// voids in the background.
async fn clean_up(shared: Arc<Shared>, cleanup: Vec<Effect>) {
    for effect in cleanup {
        match effect {
            Effect::Uncommit { holds, expires_at } => uncommit(&shared, holds, expires_at).await,
            Effect::Void { gateway, reference } => shared.gateways.void(&gateway, reference).await,
            other => tracing::error!(effect = ?other, "checkout asked for an effect as clean-up that is not one"),
        }
    }
}

/// Gives committed holds back to the cart: each order line becomes its reservation again
/// (same id, same sources, until `expires_at`). A line that cannot go back (some units
/// went at risk meanwhile) is cancelled instead, so nothing stays allocated to an order
/// that does not exist.
async fn uncommit(shared: &Shared, holds: Vec<HoldCommit>, expires_at: Timestamp) {
    let expires_at = held_until(expires_at, shared.published.load().config().cart_lifetime_ms());
    for hold in holds {
        let Some(addr) = shared.warehouses.get(&hold.warehouse) else { continue };
        let undo = InventoryCommand::UncommitReservation {
            order_line: hold.key.clone(),
            reservation: hold.reservation.clone(),
            expires_at,
        };
        match addr.send(ExecuteQueued(undo)).await {
            Ok(Ok(_)) | Ok(Err(ActorError::Refused(DomainError::UnknownOrderLine { .. }))) => {}
            Ok(Err(error)) => {
                tracing::warn!(warehouse = %hold.warehouse, %error, "a commit could not go back to its cart; cancelled");
                let cancel = InventoryCommand::CancelOrderLine { order_line: hold.key.clone() };
                send_all(shared.warehouses.clone(), vec![(hold.warehouse.clone(), cancel)]).await;
            }
            Err(error) => tracing::warn!(warehouse = %hold.warehouse, %error, "a commit's undo was not delivered"),
        }
    }
}
