//! The warehouse actor's own steps: deciding and recording a command on the log (with the
//! answer kept under a key), expiry on its timer, and availability reads.

use super::*;

impl WarehouseActor {
    /// An actor whose changes live only in memory.
    pub fn new(warehouse: &str, commerce: Arc<ArcSwap<Commerce>>, clock: Clock) -> Self {
        Self::recovered(WarehouseStock::new(warehouse), commerce, clock, Journal::Memory)
    }

    /// An actor that starts from `stock` (recovered from the log) and logs every change.
    pub fn recovered(stock: WarehouseStock, commerce: Arc<ArcSwap<Commerce>>, clock: Clock, journal: Journal) -> Self {
        Self {
            stock,
            commerce,
            clock,
            journal,
            last_lsn: 0,
            remembered: std::collections::VecDeque::new(),
            idempotency: Idempotency::default(),
            meters: Meters::default(),
            caps: Arc::new(CapLedger::default()),
            orders: None,
        }
    }

    /// Shares the caps of its products with the commerce's other warehouses through
    /// `caps`, publishing what it has committed of each at once (before any message).
    pub fn sharing(mut self, caps: Arc<CapLedger>) -> Self {
        let commerce = self.commerce.load();
        caps.publish(&self.stock, &commerce, self.stock.records().map(|(sku, _)| sku));
        self.caps = caps;
        self
    }

    /// Takes the answers this warehouse gave under idempotency keys (recovered), and the
    /// node's table to tell of new ones; the table learns the recovered ones at once.
    pub fn remembering(mut self, remembered: Vec<Remembered>, idempotency: Idempotency) -> Self {
        let now = self.clock.now();
        for answer in remembered.into_iter().filter(|r| !r.expired(now)) {
            idempotency.remember(answer.clone());
            self.remembered.push_back(answer);
        }
        self.idempotency = idempotency;
        self
    }

    /// The reply to one executed command: its value once its events are durable. A command
    /// that changed nothing (or was refused) still answers only once every change it was
    /// decided against is durable, so no answer rests on a change the log may lose.
    pub(super) fn answer<T: 'static>(
        &self,
        executed: Result<(T, Option<mercato_persistence::log::Receipt>), ActorError>,
    ) -> Reply<Result<T, ActorError>> {
        match executed {
            Ok((value, receipt @ Some(_))) => Reply::Durable(Box::pin(durable(value, receipt))),
            other => {
                let outcome = other.map(|(value, _)| value);
                match self.journal.unsettled(self.last_lsn) {
                    None => Reply::Ready(outcome),
                    Some(wait) => Reply::Durable(Box::pin(async move {
                        // What this answer rests on may or may not survive.
                        wait.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
                        outcome
                    })),
                }
            }
        }
    }

    /// A read's reply, once every change the state it shows includes is acknowledged.
    pub(super) fn settle<T: 'static>(&self, value: T) -> Reply<T> {
        match self.journal.unsettled(self.last_lsn) {
            None => Reply::Ready(value),
            Some(wait) => Reply::Durable(Box::pin(async move {
                // When the log fails the node stops; the read is answered either way.
                let _ = wait.await;
                value
            })),
        }
    }

    /// Starts the actor on the current arbiter with a bounded mailbox.
    pub fn start_bounded(self) -> Addr<Self> {
        // The capacity is set before the actor runs, so it bounds the very first messages.
        let mut context = Context::new();
        context.set_mailbox_capacity(WAREHOUSE_MAILBOX_CAPACITY_MAX);
        context.run(self)
    }

    /// Starts the actor on another arbiter (thread) with a bounded mailbox.
    pub fn start_bounded_in(self, arbiter: &ArbiterHandle) -> Addr<Self> {
        Self::start_in_arbiter(arbiter, move |context| {
            context.set_mailbox_capacity(WAREHOUSE_MAILBOX_CAPACITY_MAX);
            self
        })
    }

    /// Decides one command at `now`, takes a place on the log's queue, applies the events
    /// and queues their record, in one synchronous step. A change the log has no room for
    /// is not applied.
    pub(super) fn execute(&mut self, command: &InventoryCommand, now: Timestamp) -> Result<Executed, ActorError> {
        self.execute_then(command, now, |_, _| None).map(|(events, receipt, _)| (events, receipt))
    }

    /// `execute`, with `remember` building (from the state the change left) an answer to
    /// keep in the same record.
    pub(super) fn execute_then(
        &mut self,
        command: &InventoryCommand,
        now: Timestamp,
        remember: impl FnOnce(&Self, &[InventoryEvent]) -> Option<Remembered>,
    ) -> Result<ExecutedRemembering, ActorError> {
        let commerce = self.commerce.load();
        let caps = Arc::clone(&self.caps);
        // A reservation against a shared cap decides, applies and publishes alone.
        let _serial = match command {
            InventoryCommand::Reserve { sku, .. } if commerce.shares_cap(sku, &self.stock.warehouse) => {
                Some(caps.serial())
            }
            _ => None,
        };
        let elsewhere = caps::Elsewhere { ledger: &caps, warehouse: &self.stock.warehouse };
        let ctx = InventoryCtx { commerce: &commerce, now, today: date_of(now), shared: &elsewhere };
        let decided = self.stock.decide(command, &ctx);
        if let InventoryCommand::Reserve { sku, .. } = command {
            let refused = matches!(decided, Err(mercato_engine::DomainError::InsufficientStock { .. }));
            self.meters.contention.attempt(sku, refused);
        }
        let events = decided?;
        if events.is_empty() {
            return Ok((events, None, None));
        }
        // The change is applied in place: the answer to keep is built from the state it
        // left, and copying a warehouse for every change would cost more than it saves.
        let touched = caps::touched(&self.stock, &events);
        let journal = std::mem::take(&mut self.journal);
        let warehouse = self.stock.warehouse.clone();
        // The record states each touched SKU's level before and after: the size is checked
        // with the largest level (`commit_restated`), the record written with the real one.
        let levels = std::cell::RefCell::new(levels_before(&self.stock, &touched));
        let record = |remembered: Option<&Remembered>| {
            let levels = levels.borrow();
            journal
                .encode(|| stored::warehouse_record((commerce.code(), &warehouse), now, &events, &levels, remembered))
        };
        let committed = journal.commit_restated(RECORD_WAREHOUSE, record, || {
            for event in &events {
                self.stock.apply(event);
            }
            for moved in levels.borrow_mut().iter_mut() {
                moved.after = level(&self.stock, &moved.sku);
            }
            ((), remember(self, &events))
        });
        self.journal = journal;
        let Committed { receipt, remembered, .. } = match committed {
            Ok(committed) => committed,
            Err(Uncommitted { error, applied: Some(()) }) => return Err(self.applied_without_record(error)),
            Err(Uncommitted { error, applied: None }) => return Err(error.into()),
        };
        if let Some(receipt) = &receipt {
            self.last_lsn = receipt.lsn();
        }
        caps.publish(&self.stock, &commerce, touched.iter().map(|sku| &**sku));
        if let Some(remembered) = &remembered {
            self.remembered.push_back(remembered.clone());
        }
        self.meters.count(&events, &self.stock);
        self.tell_orders(&events);
        Ok((events, receipt, remembered))
    }

    /// A change applied in place without its record (the log stopped, or the record could
    /// not be made): the log stops for good, so the node stops and recovers without the
    /// change, and no snapshot keeps it; every later answer waits for a record that will
    /// never come, so each is refused.
    fn applied_without_record(&mut self, error: NotDurable) -> ActorError {
        self.journal
            .stop(format!("warehouse {}: a change applied without its record: {}", self.stock.warehouse, error.reason));
        self.last_lsn = mercato_persistence::log::Lsn::MAX;
        NotDurable::unknown(error.reason).into()
    }

    /// Tells the orders of the order lines whose units these events served or moved (they
    /// read the lines back once this change is durable).
    fn tell_orders(&self, events: &[InventoryEvent]) {
        let Some(orders) = &self.orders else { return };
        let mut keys: Vec<String> = Vec::new();
        for event in events {
            match event {
                InventoryEvent::PromiseAllocated { order_line, .. }
                | InventoryEvent::PromiseMoved { order_line, .. }
                | InventoryEvent::PromiseAtRisk { order_line, .. }
                | InventoryEvent::AtRiskAllocated { order_line, .. }
                | InventoryEvent::AtRiskPromised { order_line, .. } => keys.push(order_line.clone()),
                InventoryEvent::BatchChanged { sku, batch, .. } => {
                    keys.extend(self.stock.lines_promised_from(sku, batch).map(str::to_owned))
                }
                _ => {}
            }
        }
        if !keys.is_empty() {
            keys.sort_unstable();
            keys.dedup();
            orders.do_send(StockMoved { keys });
        }
    }

    /// One SKU's record and availability now; none for a SKU the commerce does not sell.
    /// Counting its reservations scans them all: a back-office read, not a cart path.
    pub(super) fn view(&self, sku: &str) -> Option<StockView> {
        let commerce = self.commerce.load();
        let elsewhere = caps::Elsewhere { ledger: &self.caps, warehouse: &self.stock.warehouse };
        let availability = self.stock.availability_shared(sku, &commerce, self.clock.today(), &elsewhere)?;
        let record = self.stock.record(sku).cloned().unwrap_or_default();
        let reservations = self.stock.reservations().filter(|r| &*r.sku == sku).count();
        Some(StockView { record, availability, reservations })
    }

    pub(super) fn expire_due(&mut self) {
        if self.clock.is_frozen() {
            return;
        }
        let now = self.clock.now();
        while self.remembered.front().is_some_and(|r| r.expired(now)) {
            self.remembered.pop_front();
        }
        // Nobody waits for an expiry to be durable; one the log cannot take now is retried
        // at the next tick.
        match self.execute(&InventoryCommand::ExpireReservations, now) {
            Ok((events, _)) if !events.is_empty() => {
                tracing::debug!(warehouse = %self.stock.warehouse, expired = events.len(), "reservations expired");
            }
            Ok(_) => {}
            // Expiry refuses nothing; a refusal here would be an engine defect worth a log line.
            Err(error) => tracing::error!(warehouse = %self.stock.warehouse, %error, "expiry refused"),
        }
    }
}

impl WarehouseActor {
    pub(super) fn availability(&self, skus: Vec<String>) -> BTreeMap<String, Availability> {
        let commerce = self.commerce.load();
        let today = self.clock.today();
        let elsewhere = caps::Elsewhere { ledger: &self.caps, warehouse: &self.stock.warehouse };
        skus.into_iter()
            .filter_map(|sku| self.stock.availability_shared(&sku, &commerce, today, &elsewhere).map(|a| (sku, a)))
            .collect()
    }
}

/// A SKU's units on hand nobody holds in this warehouse.
fn level(stock: &mercato_engine::inventory::WarehouseStock, sku: &str) -> u32 {
    stock.record(sku).map_or(0, mercato_engine::inventory::StockRecord::available)
}

/// The touched SKUs' levels before a change, with `after` at its largest until the change
/// is applied.
fn levels_before(stock: &mercato_engine::inventory::WarehouseStock, touched: &[Arc<str>]) -> Vec<stored::StockLevel> {
    touched
        .iter()
        .map(|sku| stored::StockLevel { sku: sku.to_string(), before: level(stock, sku), after: u32::MAX })
        .collect()
}
