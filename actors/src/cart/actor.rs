//! The cart actor's own steps: expiry on its timer, renewal, recording a change on the log
//! (with the answer kept under a key), and answering once durable or refusing.

use super::*;

/// Waits until a change is durable, then tells the key table its answer and replies.
pub(super) async fn settle(
    shared: &Shared,
    reply: CartReply,
    receipt: Option<Receipt>,
    remembered: Option<Remembered>,
    stamp: Option<Stamp>,
) -> Result<CartReply, ActorError> {
    if let Some(receipt) = receipt {
        // The change was applied: its outcome is unknown until the log says; the key stays
        // in flight if the log fails.
        receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
    }
    match remembered {
        Some(remembered) => shared.idempotency.remember(remembered),
        None => {
            if let Some(stamp) = &stamp {
                shared.idempotency.abandon(stamp);
            }
        }
    }
    Ok(reply)
}

impl CartActor {
    pub(super) fn schedule_expiry(&self, ctx: &mut Context<Self>) {
        if self.shared.clock.is_frozen() {
            return;
        }
        let left = self.cart.expires_at.0.saturating_sub(self.shared.clock.now().0).max(0);
        let wait = Duration::from_millis(u64::try_from(left).unwrap_or(0));
        ctx.run_later(wait, |actor, ctx| actor.expire_if_due(ctx));
    }

    /// At its time the cart records its expiry and lets its holds go; a renewed cart waits
    /// for its new time. An ended cart stays to answer (as checked out, with its order, or
    /// as expired) until `kept_until`, then stops.
    pub(super) fn expire_if_due(&mut self, ctx: &mut Context<Self>) {
        let now = self.shared.clock.now();
        if self.cart.expires_at > now {
            self.schedule_expiry(ctx);
            return;
        }
        let commerce = self.shared.published.load_full();
        if self.cart.status != CartStatus::Open {
            let until = kept_until(&self.cart, commerce.config().cart_lifetime_ms());
            match u64::try_from(until.0.saturating_sub(now.0)) {
                Ok(left) if left > 0 => {
                    ctx.run_later(Duration::from_millis(left), |actor, ctx| actor.expire_if_due(ctx));
                }
                _ => ctx.stop(),
            }
            return;
        }
        let events = match self.cart.decide(&CartCommand::Expire, &commerce, now) {
            Ok(events) => events,
            Err(_) => {
                ctx.stop();
                return;
            }
        };
        let holds: Vec<Hold> = self.cart.holds().cloned().collect();
        match self.record(events, now, None, None::<fn(&Arc<Cart>) -> Remembered>) {
            Ok(_) => {
                self.shared.meters.expired.increment(1);
                tracing::debug!(cart = %self.cart.id, holds = holds.len(), "cart expired");
                actix::spawn(send_all(self.shared.warehouses.clone(), releases(&holds)));
                self.leave_later(ctx);
            }
            Err(error) => {
                tracing::warn!(cart = %self.cart.id, %error, "cart expiry not recorded; retried");
                ctx.run_later(CART_EXPIRY_RETRY, |actor, ctx| actor.expire_if_due(ctx));
            }
        }
    }

    /// An ended cart (checked out or expired) answers a little longer, for a read or a
    /// retry right after its end, then leaves memory: `ENDED_CART_KEPT`, or its lifetime
    /// when that is shorter. A request for it after that is refused `unknown_cart`.
    pub(super) fn leave_later(&self, ctx: &mut Context<Self>) {
        let lifetime = self.shared.published.load().config().cart_lifetime_ms();
        let lifetime = Duration::from_millis(u64::try_from(lifetime).unwrap_or(0));
        ctx.run_later(ENDED_CART_KEPT.min(lifetime), |actor, ctx| {
            if actor.cart.status != CartStatus::Open {
                ctx.stop();
            }
        });
    }

    /// The time the cart is renewed to by a change at `now`, when it is due.
    pub(super) fn renewal(&self, now: Timestamp) -> Option<Timestamp> {
        let lifetime = self.shared.published.load().config().cart_lifetime_ms();
        (self.cart.expires_at.0.saturating_sub(now.0) < renew_below_ms(lifetime))
            .then(|| Timestamp(now.0.saturating_add(lifetime)))
    }

    /// Takes a place on the log, applies `events` (with the renewal, when due) and queues
    /// their record with the answer `remember` builds from the cart they left.
    pub(super) fn record(
        &mut self,
        mut events: Vec<CartEvent>,
        now: Timestamp,
        renew_to: Option<Timestamp>,
        remember: Option<impl FnOnce(&Arc<Cart>) -> Remembered>,
    ) -> Result<(Option<Receipt>, Option<Remembered>), ActorError> {
        if let Some(expires_at) = renew_to {
            let commerce = self.shared.published.load_full();
            if let Ok(renewed) = self.cart.decide(&CartCommand::Renew { expires_at }, &commerce, now) {
                events.extend(renewed);
            }
        }
        let shared = Arc::clone(&self.shared);
        let id = self.cart.id.clone();
        let record = |remembered: Option<&Remembered>| {
            shared.journal.encode(|| stored::cart_record(&shared.commerce, &id, &events, remembered))
        };
        // The cart changes only once its record is queued: a log that stops before the
        // append leaves the cart as the log has it (nothing changed), never a change
        // without a record that reads would then show as durable. With an answer to keep,
        // the change is made on a copy the answer is built from; without one, in place
        // once queued.
        let cart = &self.cart;
        let committed = shared.journal.commit(RECORD_CART, record, || match remember {
            Some(remember) => {
                let mut changed = Cart::clone(cart);
                for event in &events {
                    changed.apply(event);
                }
                let changed = Arc::new(changed);
                let remembered = remember(&changed);
                (Some(changed), Some(remembered))
            }
            None => (None, None),
        });
        let Committed { applied, receipt, remembered } = committed.map_err(|refused| refused.error)?;
        match applied {
            Some(changed) => self.cart = changed,
            None => {
                let cart = Arc::make_mut(&mut self.cart);
                for event in &events {
                    cart.apply(event);
                }
            }
        }
        if let Some(receipt) = &receipt {
            self.last_lsn = receipt.lsn();
        }
        if let Some(remembered) = &remembered {
            shared.keep(remembered);
        }
        Ok((receipt, remembered))
    }

    /// Records a decided change and lists what the warehouses must do after it: `after`
    /// (releases), and every hold's renewal when the cart was renewed.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn commit(
        &mut self,
        events: Vec<CartEvent>,
        now: Timestamp,
        renew_to: Option<Timestamp>,
        line: Option<String>,
        low_stock: Option<u32>,
        answering: Answering,
        mut after: Vec<(String, InventoryCommand)>,
    ) -> Result<Recorded, ActorError> {
        let before = self.cart.expires_at;
        let (remember, waits) = answering.split();
        let build = remember.map(|r| {
            |cart: &Arc<Cart>| {
                let reply =
                    CartReply { cart: Arc::clone(cart), line: line.clone(), low_stock, answer: None, order: None };
                Remembered { stamp: r.stamp, answer: (r.respond)(&reply), at: now }
            }
        });
        let (receipt, remembered) = self.record(events, now, renew_to, build)?;
        if self.cart.expires_at != before {
            let expires_at = held_until(self.cart.expires_at, self.shared.published.load().config().cart_lifetime_ms());
            after.extend(self.cart.holds().map(|h| {
                (
                    h.warehouse.clone(),
                    InventoryCommand::RenewReservation { reservation: h.reservation.clone(), expires_at },
                )
            }));
        }
        let reply = CartReply {
            cart: Arc::clone(&self.cart),
            line,
            low_stock,
            answer: remembered.as_ref().map(|r| r.answer.clone()),
            order: None,
        };
        // A queued answer drops the receipt: the record stays queued, and the last part's
        // own record is what its client waits for.
        Ok(Recorded { reply, receipt: receipt.filter(|_| waits), remembered, after })
    }

    /// Sends what follows a recorded change to the warehouses, then answers once the
    /// change is durable. A refusal is answered, as `refuse` answers one, once every
    /// change the cart made before it is acknowledged: the parts of a cart created whole
    /// before it may only be queued.
    pub(super) fn finish(&self, recorded: Result<Recorded, ActorError>, stamp: Option<Stamp>) -> Pending {
        let shared = Arc::clone(&self.shared);
        let before = recorded.is_err().then(|| shared.journal.unsettled(self.last_lsn)).flatten();
        Box::pin(async move {
            match recorded {
                Ok(Recorded { reply, receipt, remembered, after }) => {
                    send_all(shared.warehouses.clone(), after).await;
                    settle(&shared, reply, receipt, remembered, stamp).await
                }
                Err(error) => {
                    if let (true, Some(stamp)) = (error.nothing_changed(), &stamp) {
                        shared.idempotency.abandon(stamp);
                    }
                    if let Some(wait) = before {
                        wait.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
                    }
                    Err(error)
                }
            }
        })
    }

    /// A refusal before anything was held: answered once every change the cart made is
    /// acknowledged, so no answer rests on a change the log may lose.
    pub(super) fn refuse(
        &self,
        error: ActorError,
        stamp: Option<Stamp>,
    ) -> AtomicResponse<Self, Result<CartReply, ActorError>> {
        if let (true, Some(stamp)) = (error.nothing_changed(), &stamp) {
            self.shared.idempotency.abandon(stamp);
        }
        let wait = self.shared.journal.unsettled(self.last_lsn);
        AtomicResponse::new(Box::pin(wrap_future(async move {
            if let Some(wait) = wait {
                wait.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
            }
            Err(error)
        })))
    }

    /// Holds a line's new units, then runs `then` on the cart with them, atomically.
    pub(super) fn holding(
        &self,
        request: HoldRequest,
        then: impl FnOnce(&mut Self, Result<Held, ActorError>) -> Pending + 'static,
    ) -> AtomicResponse<Self, Result<CartReply, ActorError>> {
        let held = hold(Arc::clone(&self.shared), request);
        AtomicResponse::new(Box::pin(
            wrap_future::<_, Self>(held).then(move |held, actor, _| wrap_future::<_, Self>(then(actor, held))),
        ))
    }

    /// What holding `quantity` units of `sku` for `line` asks the hold workflow.
    pub(super) fn hold_request(
        &self,
        line: &str,
        sku: &str,
        quantity: u32,
        expires_at: Timestamp,
        mode: Mode,
    ) -> HoldRequest {
        HoldRequest {
            cart: self.cart.id.clone(),
            line: line.to_owned(),
            sku: sku.to_owned(),
            quantity,
            channel: self.cart.context.channel.clone(),
            destination: self.cart.destination(),
            expires_at: held_until(expires_at, self.shared.published.load().config().cart_lifetime_ms()),
            today: self.shared.clock.today(),
            mode,
        }
    }

    /// Records a change whose new holds are `held`: when the cart refuses it (or the log
    /// cannot take it), what was held for it is let go.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record_holding(
        &mut self,
        command: CartCommand,
        held: Vec<Hold>,
        renew_to: Option<Timestamp>,
        line: String,
        low_stock: Option<u32>,
        answering: Answering,
        stamp: Option<Stamp>,
    ) -> Pending {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let recorded = self
            .cart
            .decide(&command, &commerce, now)
            .map_err(ActorError::from)
            .and_then(|events| self.commit(events, now, renew_to, Some(line), low_stock, answering, Vec::new()));
        if let Err(error) = &recorded {
            if error.nothing_changed() {
                actix::spawn(send_all(self.shared.warehouses.clone(), releases(&held)));
            }
        }
        self.finish(recorded, stamp)
    }
}

impl CartActor {
    /// Answers a read once every change the cart made is durable, or refuses it as not
    /// durable when the log failed: no client may see a change the log could still lose.
    pub(super) fn once_durable<T: 'static>(&self, read: Result<T, ActorError>) -> Reply<Result<T, ActorError>> {
        match self.shared.journal.unsettled(self.last_lsn) {
            None => Reply::Ready(read),
            // A read changes nothing: refused outright, not of unknown outcome.
            Some(wait) => Reply::Durable(Box::pin(async move {
                wait.await.map_err(|failure| NotDurable::refused(failure.reason))?;
                read
            })),
        }
    }
}
