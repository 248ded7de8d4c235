//! Mercato's actors: each owns a piece of engine state, applies changes to it one message
//! at a time, and publishes what readers need as immutable snapshots, so reads never queue
//! behind writes.
//!
//! # Layout
//! - `commerce`: `CommerceActor`, one per commerce: owns the validated configuration and
//!   publishes it as an `Arc` snapshot that context resolution reads.
//! - `warehouse`: `WarehouseActor`, one per warehouse: owns its stock, checks and reserves
//!   in one synchronous step, expires reservations on its own timer; `Warehouses` reserves
//!   across several in a fixed order with rollback.
//! - `cart`: `CartActor`, one per open cart: its lines and the warehouse holds behind
//!   them, changed atomically (reserve, then record; or record, then release); `Carts`
//!   finds a commerce's carts and creates new ones.
//!   A cart also takes its address, promo code and delivery choice, and checks itself out
//!   by running the engine's checkout workflow (`cart/checkout.rs`).
//! - `order`: `OrderActor`, one per commerce: every order and every command after
//!   placement (checkout hands the order over in one log record); `Orders`, its handle.
//! - `payment`: the payment `Gateway` plugins (`Sandbox`) and `Gateways`, which calls them
//!   off the actors' threads.
//! - `error`: `ActorError`, why an actor did not make a change or answer, with its code.
//! - `idempotency`: answers remembered under idempotency keys, and the node's table of them.
//! - `journal`: how changes reach the write-ahead log (`Journal`) and how they come back
//!   at start (`Recovered`).
//! - `stored`: the persisted formats, one module per version (`v2`): the types log
//!   records and snapshot parts are encoded with, apart from the engine's, and how they
//!   convert.
//! - `clock`: the node's clock, on the runtime's time so tests can pause and advance it.
//! - `registry`: `Registry`, the node's commerces by code, started together.

#![forbid(unsafe_code)]

pub mod cart;
pub mod catalog;
pub mod clock;
pub mod commerce;
pub mod error;
pub mod idempotency;
pub mod journal;
pub mod order;
pub mod payment;
pub mod registry;
pub mod settings;
pub mod stored;
pub mod warehouse;

pub use clock::Clock;
pub use commerce::{CommerceActor, CommerceHandle, CurrentConfig, ReplaceConfig, ReplaceError};
pub use error::ActorError;
pub use journal::{Journal, NotDurable, Recovered};
pub use registry::{Registry, RegistryError};
pub use warehouse::{Execute, ReserveRequest, WarehouseActor, Warehouses};

/// Run first on the thread of every blocking task the actors start (set once by the node:
/// a thread the blocking pool starts inherits the class of the thread that started it,
/// which may be a request thread in the real-time class).
static BLOCKING_START: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets what runs first in every blocking task the actors start; the first setting holds.
pub fn on_blocking_start(start: fn()) {
    let _ = BLOCKING_START.set(start);
}

/// `tokio::task::spawn_blocking`, with what `on_blocking_start` set run first.
pub(crate) fn spawn_blocking<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> tokio::task::JoinHandle<R> {
    tokio::task::spawn_blocking(move || {
        if let Some(start) = BLOCKING_START.get() {
            start();
        }
        work()
    })
}

#[cfg(test)]
mod blocking_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static STARTS: AtomicUsize = AtomicUsize::new(0);

    thread_local! {
        static STARTED_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    fn note() {
        STARTS.fetch_add(1, Ordering::AcqRel);
        STARTED_HERE.with(|here| here.set(true));
    }

    // Proves what `on_blocking_start` sets runs first, on the blocking task's own thread
    // (fails when the actors' blocking tasks skip it, or run it on the caller's thread).
    #[test]
    fn blocking_tasks_run_the_start_first_on_their_thread() {
        super::on_blocking_start(note);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        let (ran_here, started_there) = runtime.block_on(async {
            let there = super::spawn_blocking(|| STARTED_HERE.with(std::cell::Cell::get)).await.expect("ran");
            (STARTED_HERE.with(std::cell::Cell::get), there)
        });
        assert!(started_there, "the start ran on the blocking task's thread");
        assert!(!ran_here, "not on the caller's");
        assert!(STARTS.load(Ordering::Acquire) >= 1);
    }
}
