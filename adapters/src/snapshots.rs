//! Snapshots while the node runs: the actors' states copied, written as a generation on a
//! thread of its own at the background priority, verified by loading, old generations and
//! log segments pruned.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mercato_actors::idempotency::Idempotency;
use mercato_actors::order::OrdersCopy;
use mercato_actors::stored::{
    self, carts_part_key, orders_part_key, warehouse_part_key, CartsSnapshot, WarehouseSnapshot,
};
use mercato_actors::warehouse::{SnapshotCopy, TakeSnapshot};
use mercato_actors::Registry;
use mercato_persistence::archive::Archive;
use mercato_persistence::events::EventStore;
use mercato_persistence::log::LogHandle;
use mercato_persistence::snapshot::{Part, SnapshotStore};

/// What the written snapshots no longer hold of the orders that left memory for the
/// archive: the archive's tells (`Archive::tell_left`) each snapshot began after. The
/// outbox lets go of an archived order only once a snapshot begun after it left is written:
/// until then a crash brings the order back from the previous snapshot, open to records
/// again. Also whether orders left memory since the last snapshot began.
#[derive(Debug, Default)]
pub struct SnapshotTurns {
    archive: OnceLock<Arc<Archive>>,
    written: AtomicU64,
    wanted: AtomicBool,
}

impl SnapshotTurns {
    /// Follows `archive`'s tells.
    pub fn follow(&self, archive: Arc<Archive>) {
        let _ = self.archive.set(archive);
    }

    /// The archive's tells a written snapshot began after (the orders they name are in
    /// no snapshot the node would start from).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Orders left memory: the next turn takes a snapshot even if nothing was logged.
    pub fn want(&self) {
        self.wanted.store(true, Ordering::Release);
    }

    /// A snapshot begins, before it copies anything: the archive's tells so far.
    pub(crate) fn begin(&self) -> u64 {
        self.wanted.store(false, Ordering::Release);
        self.archive.get().map_or(0, |archive| archive.told())
    }

    /// The snapshot begun after `told` tells is written whole.
    pub(crate) fn mark_written(&self, told: u64) {
        self.written.fetch_max(told, Ordering::AcqRel);
    }
}

/// Takes a snapshot every `every` while the node runs. A failed snapshot is logged and
/// retried at the next turn: the log still holds everything.
pub(crate) async fn snapshot_loop(snapshotter: Snapshotter, idempotency: Idempotency, every: Duration) {
    let log = &snapshotter.log;
    let mut tick = actix_web::rt::time::interval(every);
    tick.tick().await;
    let mut taken_at = None;
    loop {
        tick.tick().await;
        if log.failure().is_some() {
            return;
        }
        idempotency.purge(mercato_actors::Clock::system().now());
        // Nothing was logged and no order left memory since the last snapshot: it still
        // stands.
        if taken_at == Some(log.last_assigned()) && !snapshotter.turns.wanted.load(Ordering::Acquire) {
            continue;
        }
        let covers = log.last_assigned();
        match snapshotter.take().await {
            Ok(_) => taken_at = Some(covers),
            Err(reason) => tracing::warn!(%reason, "snapshot failed; the log keeps everything until the next one"),
        }
    }
}

/// Moves finished orders to the archive every `every` while the node runs.
pub(crate) async fn archive_loop(registry: Registry, log: LogHandle, turns: Arc<SnapshotTurns>, every: Duration) {
    let mut tick = actix_web::rt::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if log.failure().is_some() {
            return;
        }
        if archive_finished(&registry).await > 0 {
            turns.want();
        }
    }
}

/// Moves every commerce's finished orders to the archive; how many left memory. A
/// failure is logged: the orders stay in memory until the next turn.
pub(crate) async fn archive_finished(registry: &Registry) -> usize {
    let mut moved = 0;
    for (commerce, handle) in registry.iter() {
        match handle.orders().archive_finished().await {
            Ok(count) => moved += count,
            Err(reason) => tracing::warn!(commerce, %reason, "finished orders not archived; retried at the next turn"),
        }
    }
    if moved > 0 {
        tracing::info!(moved, "finished orders archived");
    }
    moved
}

/// What taking a snapshot needs.
#[derive(Clone)]
pub(crate) struct Snapshotter {
    pub(crate) registry: Registry,
    pub(crate) log: LogHandle,
    pub(crate) store: Arc<SnapshotStore>,
    /// Recovered warehouses no longer configured: carried into every generation as they
    /// are (nothing changes them, so they cover any LSN).
    pub(crate) orphans: Arc<Vec<WarehouseSnapshot>>,
    /// The event store: the log keeps every record whose events it has not made durable.
    pub(crate) events: Arc<EventStore>,
    /// `--keep-log`: no segment is deleted.
    pub(crate) keep_log: bool,
    /// `--background-nice`: snapshots are written at this nice value.
    pub(crate) nice: i32,
    pub(crate) turns: Arc<SnapshotTurns>,
}

impl Snapshotter {
    pub(crate) async fn take(&self) -> Result<u64, String> {
        let turn = self.turns.begin();
        let taken = take_snapshot(self).await;
        if taken.is_ok() {
            self.turns.mark_written(turn);
        }
        taken
    }
}

/// What a snapshot copied from the actors: each warehouse's state, each commerce's carts
/// and orders with the LSN each covers, and the highest of those LSNs.
struct Copies {
    states: Vec<(String, String, SnapshotCopy)>,
    carts: Vec<(CartsSnapshot, u64)>,
    orders: Vec<(OrdersCopy, u64)>,
    catalogs: Vec<(stored::CatalogSnapshot, u64)>,
    covers_max: u64,
}

/// Encodes the copies into parts, writes them as a new generation, verifies it loads back
/// and prunes old generations: the generation and the LSN the log is needed from. Runs on
/// a blocking thread.
fn write_generation(
    writer: &SnapshotStore,
    orphans: &[WarehouseSnapshot],
    copies: Copies,
) -> Result<(u64, u64), String> {
    let Copies { states, carts, orders, catalogs, covers_max } = copies;
    let mut parts = std::collections::BTreeMap::new();
    for orphan in orphans {
        let bytes = stored::warehouse_part(orphan).map_err(|e| e.to_string())?;
        parts.insert(warehouse_part_key(&orphan.commerce, &orphan.warehouse), Part { lsn: covers_max, bytes });
    }
    for (commerce, warehouse, copy) in states {
        let key = warehouse_part_key(&commerce, &warehouse);
        let snapshot = WarehouseSnapshot { commerce, warehouse, stock: copy.stock, remembered: copy.remembered };
        let bytes = stored::warehouse_part(&snapshot).map_err(|e| e.to_string())?;
        parts.insert(key, Part { lsn: copy.covers, bytes });
    }
    for (open, covers) in carts {
        let bytes = stored::carts_part(&open).map_err(|e| e.to_string())?;
        parts.insert(carts_part_key(&open.commerce), Part { lsn: covers, bytes });
    }
    for (placed, covers) in orders {
        let placed = placed.into_snapshot();
        let bytes = stored::orders_part(&placed).map_err(|e| e.to_string())?;
        parts.insert(orders_part_key(&placed.commerce), Part { lsn: covers, bytes });
    }
    for (catalog, covers) in catalogs {
        let bytes = stored::catalog_part(&catalog).map_err(|e| e.to_string())?;
        parts.insert(stored::catalog_part_key(&catalog.commerce), Part { lsn: covers, bytes });
    }
    let generation = writer.write(&parts).map_err(|e| e.to_string())?;
    let loaded = writer.load().map_err(|e| e.to_string())?.ok_or("the snapshot just written does not load")?;
    if loaded.generation != generation {
        return Err(format!("snapshot {generation} does not load back ({:?})", loaded.skipped));
    }
    writer.prune().map_err(|e| e.to_string())?;
    Ok((generation, loaded.log_from))
}

/// Copies every warehouse's state, every commerce's open carts and its orders with the LSN each
/// covers, waits until those LSNs are
/// durable, writes the generation (on a blocking thread), verifies it by loading, prunes
/// old generations and deletes the log segments the previous generation no longer needs.
async fn take_snapshot(snapshotter: &Snapshotter) -> Result<u64, String> {
    let Snapshotter { registry, log, store, orphans, events, keep_log, nice, .. } = snapshotter;
    let started = Instant::now();
    let mut states = Vec::new();
    let mut covers_max = 0;
    let mut carts = Vec::new();
    let mut orders = Vec::new();
    let mut catalogs = Vec::new();
    for (commerce, handle) in registry.iter() {
        let (catalog, covers) = handle.catalog_snapshot().await.map_err(|e| format!("catalogue of {commerce}: {e}"))?;
        covers_max = covers_max.max(covers);
        catalogs.push((catalog, covers));
        for (warehouse, addr) in handle.warehouses().iter() {
            let copy = addr.send(TakeSnapshot).await.map_err(|e| format!("warehouse {warehouse}: {e}"))?;
            covers_max = covers_max.max(copy.covers);
            states.push((commerce.to_owned(), warehouse.to_owned(), copy));
        }
        let (open, covers) = handle.carts().snapshot().await;
        covers_max = covers_max.max(open.carts.iter().map(|c| c.covers).max().unwrap_or(covers));
        carts.push((open, covers));
        let (placed, covers) = handle.orders().snapshot().await.map_err(|e| format!("orders of {commerce}: {e}"))?;
        covers_max = covers_max.max(covers);
        orders.push((placed, covers));
    }
    // The carts' answers kept under idempotency keys were copied last and may belong to
    // records queued after every copy: the snapshot waits for those too.
    covers_max = covers_max.max(log.last_assigned());
    // A change applied whose record never reached the log stops the log before the actor
    // answers anything else: a copy taken after that may hold it, so it is not written.
    if let Some(reason) = log.failure() {
        return Err(format!("the log has stopped ({reason}); no snapshot is taken"));
    }
    log.reached(covers_max, true).await.map_err(|failure| failure.to_string())?;
    let copies = Copies { states, carts, orders, catalogs, covers_max };
    let writer = Arc::clone(store);
    let orphans = Arc::clone(orphans);
    let written = background(*nice, move || write_generation(&writer, &orphans, copies)).await??;
    let (generation, log_from) = written;
    // Records whose events the event store has not made durable stay in the log: a crash
    // derives them again.
    let events = Arc::clone(events);
    let derived = actix_web::rt::task::spawn_blocking(move || events.sync())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("syncing the event store: {e}"))?;
    // With `--keep-log`, nothing is deleted (an audit replay reaches every moment).
    let log_from = if *keep_log { 0 } else { log_from.min(derived + 1) };
    let deleted = match log.retain_from(log_from) {
        Ok(answer) => answer.await.map_err(|e| e.to_string())?.unwrap_or_else(|reason| {
            tracing::warn!(%reason, "old log segments not deleted; retried after the next snapshot");
            0
        }),
        Err(error) => return Err(error.to_string()),
    };
    tracing::info!(
        generation,
        covers = covers_max,
        segments_deleted = deleted,
        elapsed_ms = started.elapsed().as_millis(),
        "snapshot taken"
    );
    Ok(generation)
}

/// Runs `work` on a thread of its own at the nice value `nice` (not the runtime's blocking
/// pool, whose threads would keep it).
async fn background<T: Send + 'static>(nice: i32, work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (done, answer) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("mercato-background".into())
        .spawn(move || {
            crate::priority::lower_priority(nice);
            let _ = done.send(work());
        })
        .map_err(|error| format!("no thread: {error}"))?;
    answer.await.map_err(|_| "the background work stopped".to_owned())
}
