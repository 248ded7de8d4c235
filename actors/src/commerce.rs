//! `CommerceActor`: the owner of one commerce's configuration. Changes arrive as messages
//! and are applied in order; every change publishes a new immutable snapshot, which
//! readers (context resolution, prices) load without a round trip through the mailbox.

use std::collections::HashSet;
use std::sync::Arc;

use actix::prelude::*;
use arc_swap::ArcSwap;
use mercato_engine::cart::CartStatus;
use mercato_engine::inventory::{InventoryCommand, OrderLineStock, Timestamp};
use mercato_engine::resolution::{resolve, ContextRequest, ResolvedContext};
use mercato_engine::{Commerce, DomainError};

use crate::cart::{Carts, CartsSetup};
use crate::clock::Clock;
use crate::error::ActorError;
use crate::idempotency::Idempotency;
use crate::journal::{Journal, Recovered};
use crate::order::Orders;
use crate::payment::Gateways;
use crate::stored::CartCopy;
use crate::warehouse::{Execute, FindUnplaced, Unplaced, WarehouseActor, Warehouses};

/// Messages a commerce actor may queue. Configuration changes are rare; the bound keeps a
/// runaway client from growing the mailbox without limit.
pub const COMMERCE_MAILBOX_CAPACITY_MAX: usize = 256;

pub struct CommerceActor {
    pub(crate) published: Arc<ArcSwap<Commerce>>,
    pub(crate) journal: Journal,
    pub(crate) clock: Clock,
    /// The LSN of its last record: a refusal waits until it is durable.
    pub(crate) last: mercato_persistence::log::Lsn,
    /// The import jobs' progress, by job.
    pub(crate) imports: std::collections::BTreeMap<String, crate::stored::ImportProgress>,
}

impl Actor for CommerceActor {
    type Context = Context<Self>;
}

/// Replaces the configuration with a newly validated one for the same commerce.
#[derive(Message)]
#[rtype(result = "Result<(), ReplaceError>")]
pub struct ReplaceConfig(pub Commerce);

/// Asks the actor for the configuration it owns (the same one it publishes).
#[derive(Message)]
#[rtype(result = "Arc<Commerce>")]
pub struct CurrentConfig;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplaceError {
    #[error("configuration for commerce \"{given}\" cannot replace commerce \"{current}\"")]
    WrongCommerce { current: String, given: String },
    /// The new settings would orphan data (a product, a price rule, a key...) or break a
    /// rule of their own: every such rule.
    #[error("the settings would break {} rule(s): {}", violations.len(), violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "))]
    OrphanedData { violations: Vec<mercato_engine::Violation> },
    #[error("the reload is not durable: {0}")]
    NotDurable(String),
}

impl Handler<ReplaceConfig> for CommerceActor {
    type Result = Result<(), ReplaceError>;

    /// Checks on the actor's thread (`CommerceHandle::reload_settings` checks off it) and
    /// records the reload; answers before it is durable.
    fn handle(&mut self, message: ReplaceConfig, _: &mut Self::Context) -> Self::Result {
        let current = self.published.load();
        if current.code() != message.0.code() {
            return Err(ReplaceError::WrongCommerce {
                current: current.code().to_owned(),
                given: message.0.code().to_owned(),
            });
        }
        // The settings change; the data (the catalogue, price rules, keys...) stays, and
        // must keep every rule of the new settings.
        let document = message.0.config().settings_only();
        let next =
            current.with_settings_of(&document).map_err(|violations| ReplaceError::OrphanedData { violations })?;
        let change = crate::stored::SettingsChange::Reload(Box::new(document));
        self.record_settings(change, mercato_engine::catalog::SEED_AUTHOR, next)
            .map_err(|error| ReplaceError::NotDurable(error.to_string()))?;
        tracing::info!(commerce = current.code(), "configuration replaced");
        Ok(())
    }
}

impl Handler<CurrentConfig> for CommerceActor {
    type Result = MessageResult<CurrentConfig>;

    fn handle(&mut self, _: CurrentConfig, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.published.load_full())
    }
}

/// What the rest of the node holds of a commerce: its actor's address, the snapshot the
/// actor publishes, and the commerce's warehouse actors.
#[derive(Clone)]
pub struct CommerceHandle {
    addr: Addr<CommerceActor>,
    published: Arc<ArcSwap<Commerce>>,
    warehouses: Warehouses,
    carts: Carts,
    orders: Orders,
    clock: Clock,
    /// Whether the catalogue is still to be seeded through the log.
    seed: bool,
    /// What the start records about the settings before the node answers.
    start_settings: Option<crate::stored::SettingsChange>,
    /// Whether changes go to the log (an import's batch is encoded before it is sent).
    durable: bool,
    journal: Journal,
}

impl CommerceHandle {
    /// Starts the commerce actor and one `WarehouseActor` per configured warehouse on the
    /// current arbiter, in memory only.
    pub fn start(commerce: Commerce, clock: Clock) -> Self {
        Self::start_durable(commerce, clock, &Journal::Memory, &mut Recovered::default(), &Idempotency::default())
    }

    /// As `start`, with each warehouse and cart starting from its state in `recovered` and
    /// logging every change to `journal`.
    pub fn start_durable(
        commerce: Commerce,
        clock: Clock,
        journal: &Journal,
        recovered: &mut Recovered,
        idempotency: &Idempotency,
    ) -> Self {
        Self::start_with_gateways(commerce, clock, journal, recovered, idempotency, Gateways::default())
    }

    /// As `start_durable`, with checkout asking `gateways` (a test's own, say).
    pub fn start_with_gateways(
        commerce: Commerce,
        clock: Clock,
        journal: &Journal,
        recovered: &mut Recovered,
        idempotency: &Idempotency,
        gateways: Gateways,
    ) -> Self {
        let codes: Vec<String> = commerce.config().warehouses.iter().map(|w| w.code.clone()).collect();
        let commerce_code = commerce.code().to_owned();
        let published = Arc::new(ArcSwap::from_pointee(commerce));
        // The capacity is set before the actor runs, so it bounds the very first messages.
        let mut context = Context::new();
        context.set_mailbox_capacity(COMMERCE_MAILBOX_CAPACITY_MAX);
        let imports = recovered.take_imports(&commerce_code).into_iter().map(|p| (p.job.clone(), p)).collect();
        let actor =
            CommerceActor { published: Arc::clone(&published), journal: journal.clone(), clock, last: 0, imports };
        let addr = context.run(actor);
        // The caps a product's warehouses share: one budget for the commerce.
        let caps = Arc::new(crate::warehouse::CapLedger::default());
        let warehouses = codes
            .into_iter()
            .map(|code| {
                let stock = recovered.take_warehouse(&commerce_code, &code);
                let remembered = recovered.take_remembered(&commerce_code, &code);
                let actor = WarehouseActor::recovered(stock, Arc::clone(&published), clock, journal.clone())
                    .remembering(remembered, idempotency.clone())
                    .sharing(Arc::clone(&caps))
                    .start_bounded();
                let handle = crate::warehouse::WarehouseHandle::metered(actor, &commerce_code, &code);
                (code, handle)
            })
            .collect();
        let warehouses = Warehouses::new(warehouses);
        let (placed, order_answers) = recovered.take_orders(&commerce_code);
        let now = clock.now();
        let order_answers: Vec<_> = order_answers.into_iter().filter(|r| !r.expired(now)).collect();
        for answer in &order_answers {
            idempotency.remember(answer.clone());
        }
        let orders = Orders::start(
            &commerce_code,
            journal.clone(),
            clock,
            Arc::clone(&published),
            (placed, order_answers),
            (recovered.archive.clone(), recovered.archive_through(&commerce_code)),
        )
        .reaching(warehouses.clone(), gateways.clone(), idempotency.clone(), clock);
        let (open, answers) = recovered.take_carts(&commerce_code);
        let carts = Carts::start(CartsSetup {
            commerce: commerce_code,
            published: Arc::clone(&published),
            warehouses: warehouses.clone(),
            clock,
            journal: journal.clone(),
            idempotency: idempotency.clone(),
            orders: orders.clone(),
            gateways,
            recovered: open,
            answers,
        });
        let durable = matches!(journal, Journal::Log(_));
        let journal = journal.clone();
        Self { addr, published, warehouses, carts, orders, clock, seed: false, start_settings: None, durable, journal }
    }

    /// Marks the commerce's catalogue as still to be seeded through the log (no snapshot
    /// or record held it).
    pub fn seeding(mut self, seed: bool) -> Self {
        self.seed = seed;
        self
    }

    /// Marks what the start records about the settings (a seed, or the file's settings).
    pub(crate) fn settling(mut self, change: Option<crate::stored::SettingsChange>) -> Self {
        self.start_settings = change;
        self
    }

    pub(crate) fn start_settings(&self) -> Option<crate::stored::SettingsChange> {
        self.start_settings.clone()
    }

    /// Seeds the catalogue from the file's products through the log, when no snapshot or
    /// record held it (a fresh data folder, or one from before catalogues were kept): the
    /// products seeded.
    pub async fn seed_catalog(&self) -> Result<usize, ActorError> {
        if !self.seed {
            return Ok(0);
        }
        self.addr.send(crate::catalog::SeedCatalog).await.map_err(|_| ActorError::Stopped("the commerce".into()))?
    }

    /// A copy of the catalogue for a snapshot, with the LSN it covers.
    pub async fn catalog_snapshot(&self) -> Result<(crate::stored::CatalogSnapshot, u64), ActorError> {
        self.addr.send(crate::catalog::CopyCatalog).await.map_err(|_| ActorError::Stopped("the commerce".into()))
    }

    /// Applies a batch of an import job, answered once installed (the next batch decided
    /// after this sees it) with what answers the job's progress once the batch is durable.
    /// The batch is decided (each row checked, the puts applied to a copy) and its record
    /// encoded here, on the caller's thread (an import's own), against the commerce as
    /// published; the actor only records and installs it, unless the commerce changed in
    /// between, when it decides the batch again itself.
    pub async fn import_batch(
        &self,
        mut batch: crate::catalog::ImportBatch,
    ) -> Result<crate::catalog::PendingImport, ActorError> {
        let base = self.published.load_full();
        batch.prepared = Some(crate::catalog::Prepared::new(base, &batch, self.clock.now(), self.durable));
        self.addr.send(batch).await.map_err(|_| ActorError::Stopped("the commerce".into()))?
    }

    /// An import job's progress (none before its first batch).
    pub async fn import_status(&self, job: &str) -> Result<Option<crate::stored::ImportProgress>, ActorError> {
        let status = crate::catalog::ImportStatus(job.to_owned());
        self.addr.send(status).await.map_err(|_| ActorError::Stopped("the commerce".into()))
    }

    /// Asks for a catalogue change, answered once durable.
    pub async fn change_catalog(
        &self,
        command: mercato_engine::catalog::CatalogCommand,
        by: &str,
    ) -> Result<Vec<mercato_engine::catalog::CatalogEvent>, ActorError> {
        let change = crate::catalog::ChangeCatalog { command, by: by.to_owned() };
        self.addr.send(change).await.map_err(|_| ActorError::Stopped("the commerce".into()))?
    }

    pub fn carts(&self) -> &Carts {
        &self.carts
    }

    pub fn orders(&self) -> &Orders {
        &self.orders
    }

    /// The last log position handed out to any change of the node (0 in memory): every
    /// change made so far is at or below it.
    pub fn log_covers(&self) -> mercato_persistence::log::Lsn {
        self.journal.covers()
    }

    pub fn addr(&self) -> &Addr<CommerceActor> {
        &self.addr
    }

    pub fn warehouses(&self) -> &Warehouses {
        &self.warehouses
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The configuration as last published; never waits for the actor.
    pub fn snapshot(&self) -> Arc<Commerce> {
        self.published.load_full()
    }

    /// Resolves a visit against the current snapshot.
    pub fn resolve(&self, request: &ContextRequest) -> Result<ResolvedContext, DomainError> {
        resolve(&self.published.load(), request)
    }

    /// Repairs what a crash in the middle of a checkout leaves: order lines the warehouses
    /// committed for an order whose record never reached the log. Checkout commits every
    /// hold (`{order}/{line}/{n}`) before it records the order, so after such a crash the
    /// units sit allocated to no order while the cart, still open, holds reservations the
    /// warehouse no longer has. Each such order line goes back to its cart as the same
    /// reservation (`UncommitReservation`), matched by warehouse, line, hold, SKU and
    /// units (line ids restart in every cart, so only carts still in time are
    /// candidates); one no such cart claims is cancelled, its units back in stock. Run at
    /// start, before the node answers. The number repaired.
    pub async fn repair_unplaced_commits(&self) -> Result<usize, String> {
        let (mut carts, _) = self.carts.snapshot().await;
        let now = self.clock.now();
        // Only a cart still open and in time can be the one a checkout was cut from: an
        // ended cart (checked out, its holds now another order's) misses its reservations
        // too, and must never be given units.
        carts.carts.retain(|copy| copy.cart.expires_at > now && copy.cart.status == CartStatus::Open);
        let mut given_back: HashSet<String> = HashSet::new();
        let mut repaired = 0;
        let placed = Arc::new(self.orders.ids().await.map_err(|error| error.to_string())?);
        for (code, addr) in self.warehouses.iter() {
            let placed = Arc::clone(&placed);
            let holds = carts
                .carts
                .iter()
                .flat_map(|copy| copy.cart.holds())
                .filter(|hold| hold.warehouse == code)
                .map(|hold| hold.reservation.clone())
                .collect();
            let find = FindUnplaced {
                placed: Box::new(move |key| placed.contains(key.split('/').next().unwrap_or_default())),
                holds,
            };
            let Unplaced { lines, missing } = addr.send(find).await.map_err(|e| format!("warehouse {code}: {e}"))?;
            for line in &lines {
                let claimed = claimant(&carts.carts, code, line, &missing, &given_back);
                let order_line = line.order_line.clone();
                let uncommitted = match claimed {
                    Some((reservation, expires_at)) => {
                        given_back.insert(reservation.clone());
                        give_back(addr, code, &order_line, reservation, expires_at).await?
                    }
                    None => false,
                };
                if !uncommitted {
                    let cancel = InventoryCommand::CancelOrderLine { order_line: order_line.clone() };
                    match addr.send(Execute(cancel)).await {
                        // Already gone: nothing left to repair.
                        Ok(Ok(_)) | Ok(Err(ActorError::Refused(DomainError::UnknownOrderLine { .. }))) => {}
                        Ok(Err(error)) => return Err(format!("warehouse {code}: order line {order_line}: {error}")),
                        Err(error) => return Err(format!("warehouse {code}: {error}")),
                    }
                }
                tracing::warn!(warehouse = code, %order_line, back_to_cart = uncommitted, "an order line without its order repaired");
                repaired += 1;
            }
        }
        Ok(repaired)
    }
}

/// The open cart an order line without its order goes back to: the one whose line and
/// hold (from the key `{order}/{line}/{n}`) are in `warehouse` with the same SKU and units,
/// and whose reservation the warehouse no longer has and nobody took back yet; with its
/// reservation and expiry.
fn claimant(
    carts: &[CartCopy],
    warehouse: &str,
    line: &OrderLineStock,
    missing: &HashSet<String>,
    given_back: &HashSet<String>,
) -> Option<(String, Timestamp)> {
    let units: u32 = line.parts.iter().map(|p| p.quantity).sum();
    let mut key = line.order_line.splitn(3, '/').skip(1);
    let (cart_line, hold) = (key.next().unwrap_or_default(), key.next().unwrap_or_default());
    let hold = hold.parse::<usize>().ok().and_then(|n| n.checked_sub(1));
    carts.iter().find_map(|copy| {
        let held = copy.cart.lines.get(cart_line).filter(|l| *l.sku == *line.sku)?;
        let hold = held.holds.get(hold?)?;
        (hold.warehouse == warehouse
            && hold.quantity == units
            && missing.contains(&hold.reservation)
            && !given_back.contains(&hold.reservation))
        .then(|| (hold.reservation.clone(), copy.cart.expires_at))
    })
}

/// Turns an order line back into its cart's reservation; false when the warehouse refuses
/// (the caller cancels the line instead).
async fn give_back(
    addr: &Addr<WarehouseActor>,
    code: &str,
    order_line: &str,
    reservation: String,
    expires_at: Timestamp,
) -> Result<bool, String> {
    let back = InventoryCommand::UncommitReservation { order_line: order_line.to_owned(), reservation, expires_at };
    match addr.send(Execute(back)).await {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(error)) => {
            tracing::warn!(warehouse = code, %order_line, %error, "not given back to its cart; cancelled");
            Ok(false)
        }
        Err(error) => Err(format!("warehouse {code}: {error}")),
    }
}
