//! `Carts`: a commerce's open carts by id, started on one arbiter; opens and creates carts
//! and copies them for snapshots.

use super::*;

/// The carts of one commerce: its open carts' actors by id.
#[derive(Clone)]
pub struct Carts {
    pub(super) shared: Arc<Shared>,
}

/// Where a commerce's carts start from and what they use.
pub struct CartsSetup {
    pub commerce: String,
    pub published: Arc<ArcSwap<Commerce>>,
    pub warehouses: Warehouses,
    pub clock: Clock,
    pub journal: Journal,
    pub idempotency: Idempotency,
    /// Where checkout places orders.
    pub orders: Orders,
    /// The payment gateways checkout asks.
    pub gateways: Gateways,
    /// Open carts recovered from the snapshot and the log.
    pub recovered: Vec<CartCopy>,
    /// Answers carts gave under idempotency keys, recovered.
    pub answers: Vec<Remembered>,
}

impl Carts {
    /// Starts an actor for every recovered open cart on the current arbiter; a cart whose
    /// time passed while the node was down expires as soon as it runs.
    pub fn start(setup: CartsSetup) -> Self {
        let labels = [("commerce", setup.commerce.clone())];
        let shared = Arc::new(Shared {
            commerce: setup.commerce,
            published: setup.published,
            warehouses: setup.warehouses,
            clock: setup.clock,
            journal: setup.journal,
            idempotency: setup.idempotency,
            orders: setup.orders,
            gateways: setup.gateways,
            actors: DashMap::new(),
            remembered: Mutex::new(VecDeque::new()),
            ids: Ids::new(),
            arbiter: Arbiter::current(),
            creating: Mutex::new(()),
            meters: Meters {
                active: metrics::gauge!("mercato_carts_active", &labels),
                created: metrics::counter!("mercato_carts_created_total", &labels),
                expired: metrics::counter!("mercato_carts_expired_total", &labels),
            },
        });
        let now = shared.clock.now();
        let mut answers = setup.answers;
        answers.sort_by_key(|r| r.at);
        answers.dedup();
        for answer in answers.into_iter().filter(|r| !r.expired(now)) {
            shared.idempotency.remember(answer.clone());
            shared.remembered().push_back(answer);
        }
        let carts = Self { shared };
        let lifetime = carts.shared.published.load().config().cart_lifetime_ms();
        for copy in setup.recovered {
            // An ended cart whose time is over is not kept (its holds are gone already);
            // one that ended lately answers for `ENDED_CART_KEPT` more, then leaves.
            if copy.cart.status == CartStatus::Open || kept_until(&copy.cart, lifetime) > now {
                carts.run(Arc::new(copy.cart), copy.covers);
            }
        }
        carts
    }

    pub(super) fn run(&self, cart: Arc<Cart>, last_lsn: Lsn) {
        let id = cart.id.clone();
        let shared = Arc::clone(&self.shared);
        let addr = CartActor::start_in_arbiter(&self.shared.arbiter, move |context: &mut Context<CartActor>| {
            context.set_mailbox_capacity(CART_MAILBOX_CAPACITY_MAX);
            CartActor { cart, shared, last_lsn }
        });
        self.shared.actors.insert(id, addr);
        self.shared.meters.active.set(self.shared.actors.len() as f64);
    }

    /// The arbiter (thread) the carts run on: work that asks a cart several things in turn
    /// runs there, so each ask stays on one thread.
    pub fn arbiter(&self) -> &ArbiterHandle {
        &self.shared.arbiter
    }

    /// The actor of an open cart.
    pub fn get(&self, id: &str) -> Option<Addr<CartActor>> {
        self.shared.actors.get(id).map(|entry| entry.value().clone())
    }

    /// How many carts are open.
    pub fn len(&self) -> usize {
        self.shared.actors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shared.actors.is_empty()
    }

    /// Creates a cart for `context` (validated against the commerce) and answers as
    /// `answering` says.
    pub fn open(
        &self,
        context: CartContext,
        answering: Answering,
    ) -> impl Future<Output = Result<CartReply, ActorError>> + 'static {
        let stamp = answering.key_to_free();
        let created = self.create(context, answering);
        let shared = Arc::clone(&self.shared);
        async move {
            match created {
                Ok((reply, receipt, remembered)) => settle(&shared, reply, receipt, remembered, stamp).await,
                Err(error) => {
                    if let (true, Some(stamp)) = (error.nothing_changed(), &stamp) {
                        shared.idempotency.abandon(stamp);
                    }
                    Err(error)
                }
            }
        }
    }

    pub(super) fn create(
        &self,
        context: CartContext,
        answering: Answering,
    ) -> Result<(CartReply, Option<Receipt>, Option<Remembered>), ActorError> {
        let (remember, waits) = answering.split();
        let shared = &self.shared;
        let now = shared.clock.now();
        let id = shared.ids.cart();
        let commerce = shared.published.load();
        let expires_at = Timestamp(now.0.saturating_add(commerce.config().cart_lifetime_ms()));
        let event = Cart::create(&id, context, &commerce, expires_at)?;
        let cart = Cart::from_created(&event).ok_or_else(|| DomainError::UnknownCart { id: id.clone() })?;
        let events = [event];
        let record = |remembered: Option<&Remembered>| {
            shared.journal.encode(|| stored::cart_record(&shared.commerce, &id, &events, remembered))
        };
        let creating = shared.creating();
        let committed = shared.journal.commit(RECORD_CART, record, || {
            let reply = CartReply { cart: Arc::new(cart), line: None, low_stock: None, answer: None, order: None };
            let remembered = remember.map(|r| Remembered { stamp: r.stamp, answer: (r.respond)(&reply), at: now });
            (reply, remembered)
        });
        let Committed { applied: reply, receipt, remembered } = committed.map_err(|refused| refused.error)?;
        if let Some(remembered) = &remembered {
            shared.keep(remembered);
        }
        shared.meters.created.increment(1);
        self.run(Arc::clone(&reply.cart), receipt.as_ref().map_or(0, Receipt::lsn));
        drop(creating);
        let reply = CartReply { answer: remembered.as_ref().map(|r| r.answer.clone()), ..reply };
        Ok((reply, receipt.filter(|_| waits), remembered))
    }

    /// Every open cart's state for a snapshot, with the LSN the part covers: every cart
    /// change at or below it is in the copies (a cart that ended by then is left out).
    pub async fn snapshot(&self) -> (CartsSnapshot, Lsn) {
        let (covers, actors) = {
            let _creating = self.shared.creating();
            let covers = self.shared.journal.covers();
            let actors: Vec<Addr<CartActor>> = self.shared.actors.iter().map(|entry| entry.value().clone()).collect();
            (covers, actors)
        };
        let mut carts = Vec::with_capacity(actors.len());
        for actor in actors {
            // A cart that stopped meanwhile recorded its end; it is left out.
            if let Ok(copy) = actor.send(CopyCart).await {
                carts.push(copy);
            }
        }
        carts.sort_by(|a, b| a.cart.id.cmp(&b.cart.id));
        // Copied after the carts, so it holds every answer their copies include.
        let now = self.shared.clock.now();
        let remembered = {
            let mut kept = self.shared.remembered();
            while kept.front().is_some_and(|r| r.expired(now)) {
                kept.pop_front();
            }
            kept.iter().cloned().collect()
        };
        (CartsSnapshot { commerce: self.shared.commerce.clone(), carts, remembered }, covers)
    }
}
