//! Boot: configuration, data folder, actors, metrics, the HTTP listener, readiness.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, HttpServer};
use mercato_actors::idempotency::Idempotency;
use mercato_actors::{Journal, Recovered, Registry};
use mercato_persistence::events::EventStore;
use mercato_persistence::log::{Log, LogHandle, LogOptions, LogThread, SyncMode, Tap};
use mercato_persistence::snapshot::{SnapshotOptions, SnapshotStore};
use mercato_persistence::storage::OsStorage;

use crate::cli::{Durability, ServeArgs};
use crate::configs::{load_all, LoadError};
use crate::events::outbox::Outbox;
use crate::events::webhooks::notify::SmtpSettings;
use crate::events::webhooks::{DeliveryOptions, Webhooks};
use crate::events::{Commerces, Events};
use crate::http::auth::KeyTable;
use crate::http::{self, AppState};
use crate::imports::Imports;
use crate::priority::lower_priority;
use crate::snapshots::{archive_loop, snapshot_loop, SnapshotTurns, Snapshotter};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] LoadError),
    #[error("data folder {path}: {error}")]
    DataFolder { path: String, error: std::io::Error },
    #[error("cannot listen on {address}: {error}")]
    Listen { address: String, error: std::io::Error },
    #[error("server stopped: {0}")]
    Stopped(std::io::Error),
    #[error("{0}")]
    Start(String),
    #[error("recovery from the log in {path} failed: {error}")]
    Recovery { path: String, error: mercato_persistence::PersistenceError },
    #[error("the log failed: {0}; restart the node to recover from the log")]
    LogFailed(String),
}

/// How long a stopping node waits for the outbox to write its last events.
const OUTBOX_STOP_WAIT: Duration = Duration::from_secs(10);

/// How often the node checks that its log still runs.
const LOG_WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// Logs go to standard error; `MERCATO_LOG` filters them (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MERCATO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}

/// Builds the shared state: starts one actor per commerce on the current arbiter, in
/// memory only.
pub fn build_state(commerces: Vec<mercato_engine::Commerce>) -> Result<web::Data<AppState>, ServerError> {
    build_durable_state(commerces, &Journal::Memory, &mut Recovered::default(), (None, None), Imports::default())
}

/// As `build_state`, with the actors starting from the recovered state and logging every
/// change to `journal`.
pub fn build_durable_state(
    commerces: Vec<mercato_engine::Commerce>,
    journal: &Journal,
    recovered: &mut Recovered,
    (events, webhooks): (Option<Events>, Option<Webhooks>),
    imports: Imports,
) -> Result<web::Data<AppState>, ServerError> {
    assemble(commerces, mercato_actors::Clock::system(), journal, recovered, (events, webhooks, imports))
}

/// The shared state over actors started on `clock`; a frozen clock (an audit replay)
/// makes the node read only.
pub(crate) fn assemble(
    commerces: Vec<mercato_engine::Commerce>,
    clock: mercato_actors::Clock,
    journal: &Journal,
    recovered: &mut Recovered,
    (events, webhooks, imports): (Option<Events>, Option<Webhooks>, Imports),
) -> Result<web::Data<AppState>, ServerError> {
    let idempotency = Idempotency::default();
    let registry = Registry::start_durable(commerces, clock, journal, recovered, &idempotency)
        .map_err(|e| ServerError::Start(e.to_string()))?;
    // The keys in force are the log's (data), not necessarily the file's.
    let published: Vec<_> = registry.iter().map(|(_, handle)| handle.snapshot()).collect();
    let keys = KeyTable::build(published.iter().map(AsRef::as_ref)).map_err(ServerError::Start)?;
    Ok(web::Data::new(AppState {
        registry,
        idempotency,
        keys,
        ready: Arc::new(AtomicBool::new(false)),
        metrics: http::metrics::handle(),
        events,
        webhooks,
        read_only: clock.is_frozen(),
        imports,
        sources: std::sync::OnceLock::new(),
    }))
}

/// Each commerce's configuration source, by code.
type Sources = std::collections::BTreeMap<String, crate::configs::Source>;

/// Loads every commerce's configuration and makes the data folder: each commerce's
/// source, and the commerces.
fn load_commerces(args: &ServeArgs) -> Result<(Sources, Vec<mercato_engine::Commerce>), ServerError> {
    let loaded = load_all(&args.configs)?;
    loaded.iter().for_each(|(source, c)| tracing::info!(commerce = c.code(), %source, "configuration loaded"));
    std::fs::create_dir_all(&args.data)
        .map_err(|error| ServerError::DataFolder { path: args.data.display().to_string(), error })?;
    let sources = loaded.iter().map(|(source, commerce)| (commerce.code().to_owned(), source.clone())).collect();
    Ok((sources, loaded.into_iter().map(|(_, commerce)| commerce).collect()))
}

/// Serves until the process is asked to stop (SIGINT or SIGTERM stop it gracefully).
pub fn run(args: ServeArgs) -> Result<(), ServerError> {
    crate::priority::configure(args.realtime_requests);
    let system = system();
    let hangups = system.block_on(async { crate::reload::listen_for_hangups() });
    let (sources, commerces) = load_commerces(&args)?;
    // The recorder is installed before recovery, so its figures are kept.
    let _ = http::metrics::handle();
    let store = Arc::new(open_snapshots(&args)?);
    let turns = Arc::new(SnapshotTurns::default());
    let (log, mut recovered, fresh, events, outbox) = recover_on_a_thread(&args, &commerces, &store, &turns)?;
    let (handle, event_store) = (log.handle(), Arc::clone(&events.store));
    let webhooks = start_webhooks(&args, &events)?;
    let (snapshot_every, archive_every) =
        (Duration::from_millis(args.snapshot_interval_ms), Duration::from_millis(args.archive_interval_ms));
    let outcome = system.block_on(async move {
        let imports = imports_in(&args)?;
        let state = build_durable_state(
            commerces,
            &Journal::Log(handle.clone()),
            &mut recovered,
            (Some(events), Some(webhooks)),
            imports,
        )?;
        let _ = state.sources.set(sources);
        // Warehouses no longer configured keep their stock in every snapshot.
        let orphans = Arc::new(recovered.into_orphans());
        crate::seed::seed_and_resume(&state, fresh).await?;
        let server = listen(&args, &state)?;
        // The actors' thread; the acceptor and HTTP workers it starts next inherit the class.
        crate::priority::raise_request_thread();
        let watch = watch_log(handle.clone(), server.handle());
        finish_recovery(&state.registry).await?;
        state.keys.refresh(&state.registry);
        state.ready.store(true, Ordering::Release);
        let hangups = actix_web::rt::spawn(crate::reload::on_hangup(state.clone(), hangups));
        let snapshotter = Snapshotter {
            registry: state.registry.clone(),
            log: handle.clone(),
            store: Arc::clone(&store),
            orphans,
            events: event_store,
            keep_log: args.keep_log,
            nice: args.background_nice,
            turns: Arc::clone(&turns),
        };
        let loops = [
            actix_web::rt::spawn(snapshot_loop(snapshotter.clone(), state.idempotency.clone(), snapshot_every)),
            actix_web::rt::spawn(archive_loop(state.registry.clone(), handle.clone(), turns, archive_every)),
            hangups,
        ];
        let (served, failure) = futures_join(server, watch).await;
        loops.iter().for_each(tokio::task::JoinHandle::abort);
        match failure {
            Some(reason) => Err(ServerError::LogFailed(reason)),
            None => {
                // A clean stop: one last snapshot, so the next start replays little.
                if let Err(reason) = snapshotter.take().await {
                    tracing::warn!(%reason, "the shutdown snapshot failed; the next start replays the log");
                }
                served.map_err(ServerError::Stopped)
            }
        }
    });
    // Whatever is queued is written and synced before the process ends, and its events
    // derived.
    log.close();
    wait_for_outbox(outbox);
    outcome
}

/// The actors' runtime; blocking tasks run on threads it starts, in the usual class.
fn system() -> actix_web::rt::SystemRunner {
    actix_web::rt::System::with_tokio_rt(|| {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().on_thread_start(crate::priority::usual).build();
        runtime.unwrap_or_else(|error| panic!("the node's runtime cannot start: {error}"))
    })
}

/// The import jobs' folder, `DIR/imports`.
fn imports_in(args: &ServeArgs) -> Result<Imports, ServerError> {
    let dir = args.data.join("imports");
    let imports = Imports::in_folder(dir.clone())
        .map_err(|error| ServerError::DataFolder { path: dir.display().to_string(), error })?;
    Ok(imports.yielding(args.background_nice))
}

/// Waits for the outbox to write what the log handed it last; a store that keeps failing
/// is not waited for past a bound (the next start derives those events again).
fn wait_for_outbox(outbox: std::thread::JoinHandle<()>) {
    let deadline = Instant::now() + OUTBOX_STOP_WAIT;
    while !outbox.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if !outbox.is_finished() {
        tracing::error!("events: the outbox did not finish in time; the next start derives its last events again");
    } else if outbox.join().is_err() {
        tracing::error!("events: the outbox thread panicked; the next start derives its events again");
    }
}

/// Recovery is done and the actors hold its state: reservations whose time passed while
/// the node was down are released, and what a crash cut short is finished (durably),
/// before the node reports ready.
async fn finish_recovery(registry: &Registry) -> Result<(), ServerError> {
    let expired = expire_while_down(registry).await?;
    tracing::info!(expired, "reservations that expired while the node was down released");
    let repaired = repair_unplaced_commits(registry).await?;
    if repaired > 0 {
        tracing::warn!(repaired, "order lines a crash left without their order given back or cancelled");
    }
    let finished = repair_order_stock(registry).await?;
    if finished > 0 {
        tracing::warn!(finished, "shipments, cancellations and refunds a crash cut short finished");
    }
    let mut swept = 0;
    for (_, commerce) in registry.iter() {
        swept += commerce.orders().sweep_spent_lines().await;
    }
    if swept > 0 {
        tracing::info!(swept, "warehouse lines of archived orders let go of");
    }
    Ok(())
}

async fn expire_while_down(registry: &Registry) -> Result<usize, ServerError> {
    let mut expired = 0;
    for (_, commerce) in registry.iter() {
        for (code, warehouse) in commerce.warehouses().iter() {
            let outcome = warehouse.send(mercato_actors::warehouse::ExpireNow).await;
            expired += outcome
                .map_err(|error| ServerError::Start(format!("warehouse {code}: {error}")))?
                .map_err(|error| ServerError::Start(format!("warehouse {code}: {error}")))?;
        }
    }
    Ok(expired)
}

/// Gives back to their carts (or cancels) the order lines a checkout committed before a
/// crash cut it short of recording its order (`CommerceHandle::repair_unplaced_commits`).
async fn repair_unplaced_commits(registry: &Registry) -> Result<usize, ServerError> {
    let mut repaired = 0;
    for (code, commerce) in registry.iter() {
        repaired += commerce.repair_unplaced_commits().await.map_err(|e| ServerError::Start(format!("{code}: {e}")))?;
    }
    Ok(repaired)
}

/// Finishes what orders recorded and a crash kept from their warehouses and gateways
/// (`Orders::repair_stock`).
async fn repair_order_stock(registry: &Registry) -> Result<usize, ServerError> {
    let mut finished = 0;
    for (code, commerce) in registry.iter() {
        finished += commerce.orders().repair_stock().await.map_err(|e| ServerError::Start(format!("{code}: {e}")))?;
    }
    Ok(finished)
}

/// The archive of finished orders, in `DIR/archive`.
fn open_archive(args: &ServeArgs) -> Result<mercato_persistence::archive::Archive, ServerError> {
    let dir = args.data.join("archive");
    mercato_persistence::archive::Archive::open(&dir, args.archive_cache_mb * 1024 * 1024)
        .map_err(|error| ServerError::Recovery { path: dir.display().to_string(), error })
}

fn open_snapshots(args: &ServeArgs) -> Result<SnapshotStore, ServerError> {
    let dir = args.data.join("snapshots");
    let options = SnapshotOptions { dir: dir.clone(), cache_capacity_bytes: args.snapshot_cache_mb * 1024 * 1024 };
    SnapshotStore::open(&options).map_err(|error| ServerError::Recovery { path: dir.display().to_string(), error })
}

/// Recovers the node: the newest whole snapshot generation, then the log after it; and
/// whether the data folder was fresh (no snapshot and no record).
fn open_log(
    args: &ServeArgs,
    store: &SnapshotStore,
    tap: Tap,
    outbox: &mut Outbox,
) -> Result<(Log, Recovered, bool), ServerError> {
    let dir = args.data.join("wal");
    let mode = match args.durability {
        Durability::Sync => SyncMode::Sync,
        Durability::Async => SyncMode::Async { interval: Duration::from_millis(args.sync_interval_ms) },
    };
    let segment_bytes = args.log_segment_mb * 1024 * 1024;
    let thread_start = Some(crate::priority::log_thread as fn(LogThread));
    let options = LogOptions { mode, tap: Some(tap), segment_bytes, thread_start, ..LogOptions::new(&dir) };
    let started = Instant::now();
    let snapshot_error =
        |error| ServerError::Recovery { path: args.data.join("snapshots").display().to_string(), error };
    let loaded = store.load().map_err(snapshot_error)?;
    let snapshot_found = loaded.is_some();
    let (mut recovered, after) = match loaded {
        Some(loaded) => {
            tracing::info!(generation = loaded.generation, skipped = loaded.skipped.len(), "snapshot loaded");
            Recovered::from_snapshot(loaded.format, &loaded.parts).map_err(snapshot_error)?
        }
        None => (Recovered::default(), 0),
    };
    // The outbox follows the commerces from the snapshot on, as the log changes them.
    outbox.start_from(&recovered);
    // The log is read from where the snapshot or the event store stops, whichever is
    // earlier: each takes only the records it lacks.
    // An event store behind the log's oldest record (new, or lost) takes the events of
    // the records the log still holds; those of older ones are gone with their segments.
    let oldest = mercato_persistence::log::oldest_record(&OsStorage, &dir)
        .map_err(|error| ServerError::Recovery { path: dir.display().to_string(), error })?;
    let mut derived = outbox.through();
    if let Some(oldest) = oldest.filter(|&oldest| oldest > derived + 1) {
        tracing::warn!(
            derived,
            oldest,
            "events: the event store is behind the log; events before record {oldest} are not derived"
        );
        derived = oldest - 1;
    }
    let visit = |record: mercato_persistence::log::Replayed<'_>| {
        if record.lsn > derived {
            outbox.recover(record.lsn, record.format, record.kind, record.payload)?;
        } else if record.lsn > after {
            outbox.follow_only(record.format, record.kind, record.payload);
        }
        if record.lsn > after {
            recovered.apply(record)?;
        }
        Ok(())
    };
    let (log, report) = Log::open(Arc::new(OsStorage), options, after.min(derived), visit)
        .map_err(|error| ServerError::Recovery { path: dir.display().to_string(), error })?;
    outbox
        .write()
        .map_err(|error| ServerError::Recovery { path: args.data.join("events").display().to_string(), error })?;
    tracing::info!(
        records = report.records_replayed,
        next_lsn = report.next_lsn,
        elapsed_ms = started.elapsed().as_millis(),
        "recovered from the log"
    );
    let fresh = !snapshot_found && report.next_lsn == 1;
    Ok((log, recovered, fresh))
}

/// What recovery hands the server: the log, the recovered state, whether the data folder
/// was fresh, the events and the outbox's thread.
type Recovery = (Log, Recovered, bool, Events, std::thread::JoinHandle<()>);

/// `recover` on a thread of its own that ends with it: the allocator gives back the pages
/// that decoding the snapshot and replaying the log left free only when the thread that
/// freed them allocates again or ends, and the main thread goes on to wait on the server
/// (benches/RESULTS.md: a catalogue's memory at rest after a restart halved).
fn recover_on_a_thread(
    args: &ServeArgs,
    commerces: &[mercato_engine::Commerce],
    store: &SnapshotStore,
    turns: &Arc<SnapshotTurns>,
) -> Result<Recovery, ServerError> {
    std::thread::scope(|scope| {
        let recovery = std::thread::Builder::new()
            .name("mercato-recovery".into())
            .spawn_scoped(scope, || recover(args, commerces, store, turns))
            .map_err(|error| ServerError::Start(format!("the recovery thread: {error}")))?;
        recovery.join().map_err(|_| ServerError::Start("recovery panicked".into()))?
    })
}

/// Recovers the node's state and its events from the snapshot, the event store and the
/// log, and starts the outbox on its thread: the log, the recovered state, whether the
/// data folder was fresh, the events and the outbox's thread.
fn recover(
    args: &ServeArgs,
    commerces: &[mercato_engine::Commerce],
    store: &SnapshotStore,
    turns: &Arc<SnapshotTurns>,
) -> Result<Recovery, ServerError> {
    let by_code = commerces.iter().map(|c| (c.code().to_owned(), Arc::new(c.clone()))).collect();
    let (outbox, events) = open_events(args, Arc::new(by_code))?;
    // The archive tells the outbox of the orders it takes: their notes leave the event store.
    let (tell, told) = crossbeam_channel::unbounded();
    let archive = Arc::new(open_archive(args)?.telling(tell));
    turns.follow(Arc::clone(&archive));
    let mut outbox = outbox.forgetting(Arc::clone(&archive), told, Arc::clone(turns));
    let (tap, tapped) = crossbeam_channel::unbounded();
    let (log, mut recovered, fresh) = open_log(args, store, tap, &mut outbox)?;
    outbox.holding(recovered.orders.keys().cloned().collect());
    recovered.archive = Some(archive);
    outbox.export_gauges();
    let nice = args.background_nice;
    let outbox = std::thread::Builder::new()
        .name("mercato-events".into())
        .spawn(move || {
            lower_priority(nice);
            outbox.run(tapped)
        })
        .map_err(|error| ServerError::Start(format!("the events thread: {error}")))?;
    Ok((log, recovered, fresh, events, outbox))
}

/// Starts the webhooks' deliveries, paced as the flags say.
fn start_webhooks(args: &ServeArgs, events: &Events) -> Result<Webhooks, ServerError> {
    let options = DeliveryOptions {
        retry_base: Duration::from_millis(args.webhook_retry_base_ms),
        retry_for: Duration::from_secs(args.webhook_retry_for_s),
        timeout: Duration::from_millis(args.webhook_timeout_ms),
        log_kept_for: Duration::from_secs(args.webhook_log_keep_s),
        ..DeliveryOptions::default()
    };
    let smtp = args.smtp_url.as_ref().map(|url| SmtpSettings { url: url.clone(), from: args.smtp_from.clone() });
    if let Some(smtp) = &smtp {
        smtp.check().map_err(ServerError::Start)?;
    }
    Webhooks::start(Arc::clone(&events.store), events.head.clone(), options, smtp)
        .map_err(|error| ServerError::Start(format!("the webhooks thread: {error}")))
}

/// The HTTP server, bound and running (it answers 503 on `/readyz` until ready).
pub(crate) fn listen(args: &ServeArgs, state: &web::Data<AppState>) -> Result<actix_web::dev::Server, ServerError> {
    let factory_state = state.clone();
    // The factory runs on each worker's thread as it starts.
    let mut server = HttpServer::new(move || {
        crate::priority::raise_request_thread();
        http::app(factory_state.clone())
    });
    if args.http_workers > 0 {
        server = server.workers(usize::from(args.http_workers));
    }
    let server =
        server.bind(args.listen).map_err(|error| ServerError::Listen { address: args.listen.to_string(), error })?;
    for address in server.addrs() {
        tracing::info!("listening on http://{address}");
    }
    Ok(server.run())
}

/// Opens the event store and the outbox over it.
fn open_events(args: &ServeArgs, commerces: Commerces) -> Result<(Outbox, Events), ServerError> {
    if args.event_keep_s < args.webhook_retry_for_s {
        return Err(ServerError::Start(format!(
            "--event-keep-s {} is shorter than --webhook-retry-for-s {}: an event must be kept at least as long as webhooks retry it",
            args.event_keep_s, args.webhook_retry_for_s
        )));
    }
    let dir = args.data.join("events");
    let failed = |error| ServerError::Recovery { path: dir.display().to_string(), error };
    let store = EventStore::open(&dir, args.event_cache_mb * 1024 * 1024).map_err(failed)?;
    let (outbox, events) = Outbox::open(Arc::new(store), commerces).map_err(failed)?;
    Ok((outbox.keeping(Duration::from_secs(args.event_keep_s)), events))
}

/// Stops the server when the log stops: the node must not go on answering from a state
/// the log no longer follows. Returns the log's failure, or none when the server stopped
/// first.
async fn watch_log(log: LogHandle, server: actix_web::dev::ServerHandle) -> Option<String> {
    let mut tick = actix_web::rt::time::interval(LOG_WATCH_INTERVAL);
    loop {
        tick.tick().await;
        if let Some(reason) = log.failure() {
            tracing::error!(%reason, "the log failed; stopping the node");
            server.stop(false).await;
            return Some(reason);
        }
    }
}

/// Runs the server and the log watch together; ends when the server ends.
async fn futures_join(
    server: actix_web::dev::Server,
    watch: impl std::future::Future<Output = Option<String>>,
) -> (std::io::Result<()>, Option<String>) {
    tokio::pin!(watch);
    tokio::pin!(server);
    let mut failure = None;
    loop {
        tokio::select! {
            served = &mut server => return (served, failure),
            reason = &mut watch, if failure.is_none() => failure = reason,
        }
    }
}
