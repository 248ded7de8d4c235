//! The commerce actor's catalogue changes (DESIGN.md section 12): each decided by the
//! engine against the commerce as published, recorded as one log record (`RECORD_CATALOG`)
//! with who made it and when, applied to a copy that shares all it did not change (the
//! catalogue is a persistent map) and published at once; the answer waits until the record
//! is durable. A fresh data folder's catalogue (the file's products) is seeded through the
//! log in records of `SEED_PRODUCTS_PER_RECORD`, so the file is never read for data again.

use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::catalog::{CatalogCommand, CatalogEvent, SEED_AUTHOR};
use mercato_engine::inventory::Timestamp;
use mercato_engine::Commerce;
use mercato_persistence::log::{Lsn, Receipt};

use crate::commerce::CommerceActor;
use crate::error::ActorError;
use crate::journal::NotDurable;
use crate::stored::{self, CatalogSnapshot, RECORD_CATALOG};

/// Products per record when a fresh folder's catalogue is seeded.
pub const SEED_PRODUCTS_PER_RECORD: usize = 500;

/// Changes the catalogue; answers with the versions made (none when the change changed
/// nothing) once they are durable.
#[derive(Message)]
#[rtype(result = "Result<Vec<CatalogEvent>, ActorError>")]
pub struct ChangeCatalog {
    pub command: CatalogCommand,
    /// Who asks: the key's principal.
    pub by: String,
}

/// Seeds the catalogue from the configuration file's products, through the log (a fresh
/// data folder's only); answers with the products seeded once they are durable.
#[derive(Message)]
#[rtype(result = "Result<usize, ActorError>")]
pub struct SeedCatalog;

/// Copies the catalogue for a snapshot, with the LSN it covers: the last the log handed
/// out, since every catalogue record is applied in the step that queues it. O(1): the
/// catalogue is a persistent map, encoded off the actor.
#[derive(Message)]
#[rtype(result = "(CatalogSnapshot, Lsn)")]
pub struct CopyCatalog;

impl Handler<CopyCatalog> for CommerceActor {
    type Result = MessageResult<CopyCatalog>;

    fn handle(&mut self, _: CopyCatalog, _: &mut Self::Context) -> Self::Result {
        let commerce = self.published.load();
        let copy = CatalogSnapshot {
            commerce: commerce.code().to_owned(),
            catalog: commerce.catalog().clone(),
            remembered: Vec::new(),
        };
        MessageResult((copy, self.journal.covers()))
    }
}

impl Handler<ChangeCatalog> for CommerceActor {
    type Result = ResponseFuture<Result<Vec<CatalogEvent>, ActorError>>;

    fn handle(&mut self, message: ChangeCatalog, _: &mut Self::Context) -> Self::Result {
        let decided = self.published.load().decide_catalog(message.command);
        let outcome = match decided {
            Ok(events) if !events.is_empty() => {
                let now = self.clock.now();
                match self.record(&events, now, &message.by) {
                    Ok(receipt) => return Box::pin(durable(events, receipt)),
                    Err(error) => Err(ActorError::NotDurable(error)),
                }
            }
            Ok(events) => Ok(events),
            Err(error) => Err(ActorError::Refused(error)),
        };
        // A refusal, or a change that changed nothing, was decided against changes that
        // may not be durable yet: it waits for them.
        let unsettled = self.journal.unsettled(self.last);
        Box::pin(async move {
            if let Some(unsettled) = unsettled {
                unsettled.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
            }
            outcome
        })
    }
}

impl Handler<SeedCatalog> for CommerceActor {
    type Result = ResponseFuture<Result<usize, ActorError>>;

    fn handle(&mut self, _: SeedCatalog, _: &mut Self::Context) -> Self::Result {
        let seed = self.published.load_full();
        self.published.store(Arc::new(seed.without_products()));
        let now = self.clock.now();
        let products: Vec<_> = seed.catalog().iter().map(|history| Arc::clone(&history.current().product)).collect();
        let mut last = None;
        for chunk in products.chunks(SEED_PRODUCTS_PER_RECORD) {
            let events: Vec<CatalogEvent> = chunk
                .iter()
                .map(|product| CatalogEvent::Saved { version: 1, retired: false, product: Arc::clone(product) })
                .collect();
            match self.record(&events, now, SEED_AUTHOR) {
                Ok(receipt) => last = receipt.or(last),
                Err(error) => return Box::pin(async move { Err(ActorError::NotDurable(error)) }),
            }
        }
        let seeded = products.len();
        Box::pin(async move { durable(seeded, last).await })
    }
}

impl CommerceActor {
    /// Records catalogue events and publishes the commerce they leave; the record's
    /// receipt (none in memory).
    fn record(&mut self, events: &[CatalogEvent], at: Timestamp, by: &str) -> Result<Option<Receipt>, NotDurable> {
        let current: Arc<Commerce> = self.published.load_full();
        let code = current.code().to_owned();
        let journal = self.journal.clone();
        let record = |remembered: Option<&crate::idempotency::Remembered>| {
            journal.encode(|| stored::catalog_record(&code, (at, by), events, remembered))
        };
        let committed = self
            .journal
            .commit(RECORD_CATALOG, record, || {
                let mut next = (*current).clone();
                let by: Arc<str> = Arc::from(by);
                for event in events {
                    next.apply_catalog(event, at, &by);
                }
                (next, None)
            })
            .map_err(|uncommitted| uncommitted.error)?;
        self.published.store(Arc::new(committed.applied));
        if let Some(receipt) = &committed.receipt {
            self.last = receipt.lsn();
        }
        Ok(committed.receipt)
    }
}

async fn durable<T>(value: T, receipt: Option<Receipt>) -> Result<T, ActorError> {
    if let Some(receipt) = receipt {
        receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
    }
    Ok(value)
}
