//! The commerce actor's settings and back-office data (DESIGN.md section 12): a data
//! change (a price rule, a discount, a user, a user group or an API key put or removed) is
//! decided by the engine against the whole document, recorded as one log record
//! (`RECORD_SETTINGS`) with who made it, published at once and answered once durable. A
//! settings reload is checked off the actor's thread against the commerce as published
//! (the catalogue may hold a million products), then installed by the actor, which checks
//! again only if something changed in between. A fresh folder's seed, or a start whose
//! file's settings differ from those recorded, is recorded before the node answers.

use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::commerce::data::{DataChange, DataItem};
use mercato_engine::commerce::model::CommerceConfig;
use mercato_engine::time::Timestamp;
use mercato_engine::{Commerce, DomainError, Violation};
use mercato_persistence::log::Receipt;

use crate::catalog::durable;
use crate::commerce::{CommerceActor, CommerceHandle, ReplaceError};
use crate::error::ActorError;
use crate::journal::NotDurable;
use crate::stored::{self, SettingsChange, SettingsEntry, RECORD_SETTINGS};

/// Whether the item a change puts must exist first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Created or replaced.
    Any,
    /// A creation: refused (`already_exists`) when the item exists.
    Absent,
    /// A replacement (a key rotated): refused (`unknown_…`) when the item is gone, so a
    /// rotation racing a revocation never brings the key back.
    Present,
}

/// Who makes a data change: the name of the key that asks and, when the change comes
/// through a key, the SHA-256 (hex) it had when the request was let in. The change is
/// refused (`unauthenticated`) if that key was revoked or rotated meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub key_sha256: Option<String>,
}

/// Puts or removes one item of data; answers whether it changed anything, once durable.
#[derive(Message)]
#[rtype(result = "Result<bool, ActorError>")]
pub struct ChangeData {
    pub change: DataChange,
    pub by: Author,
    pub presence: Presence,
}

/// How an item of data is decided from the commerce as the actor holds it when it takes
/// the message, and the time then.
pub type Decide = Box<dyn FnOnce(&Commerce, Timestamp) -> Result<DataItem, DomainError> + Send>;

/// Puts the item `decide` makes from the commerce as it is when the actor takes it (a
/// merchant's lifecycle step, which depends on the merchant's status then): answers the
/// item put, once durable.
#[derive(Message)]
#[rtype(result = "Result<DataItem, ActorError>")]
pub struct DecideData {
    pub decide: Decide,
    pub by: Author,
}

/// Whether the key that asks still stands as it was when its request was let in.
fn author_stands(current: &Commerce, by: &Author) -> Result<(), DomainError> {
    if let Some(digest) = &by.key_sha256 {
        let keys = &current.config().api_keys;
        let stands = keys.iter().any(|key| key.name == by.name && key.key_sha256.as_ref() == Some(digest));
        if !stands {
            return Err(DomainError::KeyRevoked { name: by.name.clone() });
        }
    }
    Ok(())
}

/// Whether `change` may be decided at all against `current`: its author's key still
/// stands and the item is there or not as `presence` asks.
fn admissible(current: &Commerce, message: &ChangeData) -> Result<(), DomainError> {
    author_stands(current, &message.by)?;
    let (kind, code) = (message.change.kind(), message.change.code().to_owned());
    let exists = current.config().data_item(kind, &code).is_some();
    match message.presence {
        Presence::Absent if exists => Err(DomainError::DataExists { kind, code }),
        Presence::Present if !exists => Err(DomainError::UnknownData { kind, code }),
        _ => Ok(()),
    }
}

/// Installs settings checked against `checked` (the commerce as published then) into
/// `next`, recording `document` (the file's settings) as a reload. When the commerce
/// changed since (an import's batch, an item of data), it answers `false` and installs
/// nothing, unless `last_try`, when it checks again on its own thread.
#[derive(Message)]
#[rtype(result = "Result<bool, ReplaceError>")]
pub(crate) struct InstallSettings {
    pub(crate) checked: Arc<Commerce>,
    pub(crate) next: Commerce,
    pub(crate) document: CommerceConfig,
    pub(crate) by: String,
    pub(crate) last_try: bool,
}

/// How many times a reload is checked off the actor's thread before the actor checks it
/// itself (the commerce kept changing under it: an import running).
const RELOAD_TRIES: usize = 8;

/// Records a change the start decided (a seed, or the file's settings when they differ
/// from the log's), already in force.
#[derive(Message)]
#[rtype(result = "Result<(), ActorError>")]
pub(crate) struct RecordSettings(pub(crate) SettingsChange);

impl CommerceActor {
    /// Records a settings change, publishes `next` and returns the receipt.
    pub(crate) fn record_settings(
        &mut self,
        change: SettingsChange,
        by: &str,
        next: Commerce,
    ) -> Result<Option<Receipt>, NotDurable> {
        let entry = SettingsEntry { commerce: next.code().to_owned(), at: self.clock.now(), by: by.to_owned(), change };
        let journal = self.journal.clone();
        let record = |_: Option<&crate::idempotency::Remembered>| journal.encode(|| stored::settings_record(&entry));
        let committed =
            self.journal.commit(RECORD_SETTINGS, record, || (next, None)).map_err(|uncommitted| uncommitted.error)?;
        self.published.store(Arc::new(committed.applied));
        if let Some(receipt) = &committed.receipt {
            self.last = receipt.lsn();
        }
        Ok(committed.receipt)
    }
}

impl Handler<ChangeData> for CommerceActor {
    type Result = ResponseFuture<Result<bool, ActorError>>;

    fn handle(&mut self, message: ChangeData, _: &mut Self::Context) -> Self::Result {
        let current = self.published.load_full();
        let decided = admissible(&current, &message).and_then(|()| current.decide_data(&message.change));
        let outcome = match decided {
            Ok(Some(next)) => {
                match self.record_settings(SettingsChange::Data(message.change), &message.by.name, next) {
                    Ok(receipt) => return Box::pin(durable(true, receipt)),
                    Err(error) => Err(ActorError::NotDurable(error)),
                }
            }
            Ok(None) => Ok(false),
            Err(error) => Err(ActorError::Refused(error)),
        };
        self.settled(outcome)
    }
}

impl Handler<DecideData> for CommerceActor {
    type Result = ResponseFuture<Result<DataItem, ActorError>>;

    fn handle(&mut self, message: DecideData, _: &mut Self::Context) -> Self::Result {
        let current = self.published.load_full();
        let now = self.clock.now();
        let decided = author_stands(&current, &message.by).and_then(|()| (message.decide)(&current, now));
        let outcome = match decided.and_then(|item| {
            let change = DataChange::Put(Box::new(item.clone()));
            current.decide_data(&change).map(|next| (item, change, next))
        }) {
            Ok((item, change, Some(next))) => {
                match self.record_settings(SettingsChange::Data(change), &message.by.name, next) {
                    Ok(receipt) => return Box::pin(durable(item, receipt)),
                    Err(error) => Err(ActorError::NotDurable(error)),
                }
            }
            Ok((item, _, None)) => Ok(item),
            Err(error) => Err(ActorError::Refused(error)),
        };
        self.settled(outcome)
    }
}

impl Handler<InstallSettings> for CommerceActor {
    type Result = ResponseFuture<Result<bool, ReplaceError>>;

    fn handle(&mut self, message: InstallSettings, _: &mut Self::Context) -> Self::Result {
        let current = self.published.load_full();
        let unchanged = Arc::ptr_eq(&current, &message.checked);
        if !unchanged && !message.last_try {
            return Box::pin(async { Ok(false) });
        }
        // Changed since it was checked, again and again: checked here, once.
        let next = if unchanged {
            Ok(message.next)
        } else {
            current.with_settings_of(&message.document).map_err(|violations| ReplaceError::OrphanedData { violations })
        };
        let recorded = next.and_then(|next| {
            self.record_settings(SettingsChange::Reload(Box::new(message.document)), &message.by, next)
                .map_err(|error| ReplaceError::NotDurable(error.to_string()))
        });
        Box::pin(async move {
            if let Some(receipt) = recorded? {
                receipt.await.map_err(|failure| ReplaceError::NotDurable(failure.reason))?;
            }
            Ok(true)
        })
    }
}

impl Handler<RecordSettings> for CommerceActor {
    type Result = ResponseFuture<Result<(), ActorError>>;

    fn handle(&mut self, message: RecordSettings, _: &mut Self::Context) -> Self::Result {
        let current = self.published.load_full().as_ref().clone();
        let by = mercato_engine::catalog::SEED_AUTHOR;
        match self.record_settings(message.0, by, current) {
            Ok(receipt) => Box::pin(durable((), receipt)),
            Err(error) => Box::pin(async move { Err(ActorError::NotDurable(error)) }),
        }
    }
}

/// The rules a reload must keep that the engine's document rules do not: the warehouses
/// are the ones the node started with (each has its own actor, started at start).
fn same_warehouses(current: &Commerce, file: &CommerceConfig) -> Vec<Violation> {
    let codes = |config: &CommerceConfig| config.warehouses.iter().map(|w| w.code.clone()).collect::<Vec<_>>();
    let (before, after) = (codes(current.config()), codes(file));
    let added = after.iter().filter(|code| !before.contains(code)).map(|code| (code, "added"));
    let removed = before.iter().filter(|code| !after.contains(code)).map(|code| (code, "removed"));
    added
        .chain(removed)
        .map(|(code, what)| Violation {
            entity: format!("warehouse \"{code}\""),
            rule: "restart_required",
            message: format!("a warehouse {what} takes a restart, not a reload"),
        })
        .collect()
}

/// Records money paid out to merchants (decided by the caller from their ledgers, which
/// the events' fold keeps): the settings stay as they are. Answered once durable, with the
/// record's log position (0 in memory).
#[derive(Message)]
#[rtype(result = "Result<mercato_persistence::log::Lsn, ActorError>")]
pub(crate) struct RecordPayouts {
    pub(crate) batch: crate::stored::PayoutBatch,
    pub(crate) by: String,
}

impl Handler<RecordPayouts> for CommerceActor {
    type Result = ResponseFuture<Result<mercato_persistence::log::Lsn, ActorError>>;

    fn handle(&mut self, message: RecordPayouts, _: &mut Self::Context) -> Self::Result {
        let current = self.published.load_full().as_ref().clone();
        let change = SettingsChange::Payouts(Box::new(message.batch));
        match self.record_settings(change, &message.by, current) {
            Ok(receipt) => {
                let lsn = receipt.as_ref().map_or(0, |r| r.lsn());
                Box::pin(durable(lsn, receipt))
            }
            Err(error) => Box::pin(async move { Err(ActorError::NotDurable(error)) }),
        }
    }
}

impl CommerceHandle {
    /// Records a batch of payouts, answered once durable with its log position.
    pub async fn record_payouts(
        &self,
        batch: crate::stored::PayoutBatch,
        by: &str,
    ) -> Result<mercato_persistence::log::Lsn, ActorError> {
        let message = RecordPayouts { batch, by: by.to_owned() };
        self.addr().send(message).await.map_err(|_| ActorError::Stopped("the commerce".into()))?
    }

    /// Puts or removes one item of data, answered once durable: whether it changed.
    pub async fn change_data(&self, change: DataChange, by: Author, presence: Presence) -> Result<bool, ActorError> {
        let message = ChangeData { change, by, presence };
        self.addr().send(message).await.map_err(|_| ActorError::Stopped("the commerce".into()))?
    }

    /// Puts the item `decide` makes from the commerce as the actor holds it then, answered
    /// once durable with the item put.
    pub async fn decide_data(&self, decide: Decide, by: Author) -> Result<DataItem, ActorError> {
        let message = DecideData { decide, by };
        self.addr().send(message).await.map_err(|_| ActorError::Stopped("the commerce".into()))?
    }

    /// Reloads the settings from `file` (a configuration file read and validated again),
    /// keeping the data and the catalogue: checked whole off the actor's thread, then
    /// installed and recorded, answered once durable. False when the file's settings are
    /// those in force (nothing is recorded).
    pub async fn reload_settings(&self, file: &Commerce, by: &str) -> Result<bool, ReplaceError> {
        let current = self.snapshot();
        if current.code() != file.code() {
            let (current, given) = (current.code().to_owned(), file.code().to_owned());
            return Err(ReplaceError::WrongCommerce { current, given });
        }
        let document = file.config().settings_only();
        if document == current.config().settings_only() {
            return Ok(false);
        }
        let violations = same_warehouses(&current, &document);
        if !violations.is_empty() {
            return Err(ReplaceError::OrphanedData { violations });
        }
        for attempt in 1..=RELOAD_TRIES {
            let current = self.snapshot();
            let checked = Arc::clone(&current);
            let checking = document.clone();
            let next = crate::spawn_blocking(move || checked.with_settings_of(&checking))
                .await
                .map_err(|error| ReplaceError::NotDurable(error.to_string()))?
                .map_err(|violations| ReplaceError::OrphanedData { violations })?;
            let last_try = attempt == RELOAD_TRIES;
            let install =
                InstallSettings { checked: current, next, document: document.clone(), by: by.to_owned(), last_try };
            let stopped = |_| ReplaceError::NotDurable("the commerce has stopped".into());
            if self.addr().send(install).await.map_err(stopped)?? {
                return Ok(true);
            }
        }
        Err(ReplaceError::NotDurable("the commerce kept changing while the reload was checked".into()))
    }

    /// Records what the start decided about the settings (none: nothing to record).
    pub async fn record_start_settings(&self) -> Result<(), ActorError> {
        let Some(change) = self.start_settings() else { return Ok(()) };
        self.addr().send(RecordSettings(change)).await.map_err(|_| ActorError::Stopped("the commerce".into()))?
    }
}

/// What a start records about a commerce's settings: the file's whole document into a
/// folder that holds none (a seed), or the file's settings when they differ from those
/// the log holds (a reload at start); nothing otherwise.
pub(crate) fn start_change(file: &CommerceConfig, recorded: Option<&CommerceConfig>) -> Option<SettingsChange> {
    match recorded {
        None => {
            let mut seed = file.clone();
            seed.products.clear();
            // The opening stock is received once, into this fresh folder; it is not data.
            seed.opening_stock.clear();
            Some(SettingsChange::Seed(Box::new(seed)))
        }
        Some(recorded) if recorded.settings_only() != file.settings_only() => {
            Some(SettingsChange::Reload(Box::new(file.settings_only())))
        }
        Some(_) => None,
    }
}
