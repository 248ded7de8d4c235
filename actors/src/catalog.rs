//! The commerce actor's catalogue changes (DESIGN.md section 12): each decided by the
//! engine against the commerce as published, recorded as one log record (`RECORD_CATALOG`)
//! with who made it and when, applied to a copy that shares all it did not change (the
//! catalogue is a persistent map) and published at once; the answer waits until the record
//! is durable. A fresh data folder's catalogue (the file's products) is seeded through the
//! log in records of `SEED_PRODUCTS_PER_RECORD`, so the file is never read for data again.

use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::catalog::{CatalogCommand, CatalogEvent, SEED_AUTHOR};
use mercato_engine::commerce::model::Product;
use mercato_engine::inventory::Timestamp;
use mercato_engine::{Commerce, DomainError, ProductRules};
use mercato_persistence::log::{Lsn, Receipt};

use crate::commerce::CommerceActor;
use crate::error::ActorError;
use crate::journal::NotDurable;
use crate::stored::{self, CatalogSnapshot, ImportMark, ImportProgress, RowRefusal, RECORD_CATALOG};

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
            imports: self.imports.values().cloned().collect(),
            settings: Some(Box::new(commerce.config().clone())),
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
                match self.record(&events, now, &message.by, None) {
                    Ok(receipt) => return Box::pin(durable(events, receipt)),
                    Err(error) => Err(ActorError::NotDurable(error)),
                }
            }
            Ok(events) => Ok(events),
            Err(error) => Err(ActorError::Refused(error)),
        };
        self.settled(outcome)
    }
}

impl CommerceActor {
    /// Answers `outcome` (a refusal, or a change that changed nothing) once the changes it
    /// was decided against are durable.
    pub(crate) fn settled<T: 'static>(&self, outcome: Result<T, ActorError>) -> ResponseFuture<Result<T, ActorError>> {
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
            match self.record(&events, now, SEED_AUTHOR, None) {
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
    fn record(
        &mut self,
        events: &[CatalogEvent],
        at: Timestamp,
        by: &str,
        import: Option<&ImportMark>,
    ) -> Result<Option<Receipt>, NotDurable> {
        let current: Arc<Commerce> = self.published.load_full();
        self.record_onto(&current, events, (at, by), (import, None), |next| {
            let by: Arc<str> = Arc::from(by);
            for event in events {
                next.apply_catalog(event, at, &by);
            }
        })
    }

    /// Records catalogue events already applied to `next` by `apply` (or applied by it now)
    /// and publishes what it leaves; the receipt.
    fn record_onto(
        &mut self,
        current: &Commerce,
        events: &[CatalogEvent],
        (at, by): (Timestamp, &str),
        (import, encoded): (Option<&ImportMark>, Option<&[u8]>),
        apply: impl FnOnce(&mut Commerce),
    ) -> Result<Option<Receipt>, NotDurable> {
        let code = current.code().to_owned();
        let journal = self.journal.clone();
        let record = |remembered: Option<&crate::idempotency::Remembered>| {
            journal.encode(|| match (encoded, remembered) {
                // Encoded off the actor's thread, with no answer to keep (an import's batch).
                (Some(bytes), None) => Ok(bytes.to_vec()),
                _ => stored::catalog_record(&code, (at, by), events, (remembered, import)),
            })
        };
        let committed = self
            .journal
            .commit(RECORD_CATALOG, record, || {
                let mut next = current.clone();
                apply(&mut next);
                (next, None)
            })
            .map_err(|uncommitted| uncommitted.error)?;
        if let Some(mark) = import {
            self.imports.entry(mark.job.clone()).or_default().fold(mark);
        }
        self.published.store(Arc::new(committed.applied));
        if let Some(receipt) = &committed.receipt {
            self.last = receipt.lsn();
        }
        Ok(committed.receipt)
    }
}

/// One row of an import: its number and the product it reads as, or why it reads as none.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub row: u64,
    pub sku: String,
    pub product: Result<Product, Vec<String>>,
    /// A row whose values did not all read: the product with a stand-in for each, checked
    /// by the rules too, so that its refusal names every violation at once.
    pub stand_in: Option<Box<Product>>,
}

/// Applies one batch of an import job: each row a put (checked by the same rules, every
/// violation kept as the row's refusal), the batch one record with the job's mark, so a
/// batch is applied whole or not at all, and once: a batch the job's progress has passed
/// already (a job resumed after a crash) changes nothing. Answers once the batch is
/// installed with what answers the job's progress once it is durable, so that the job can
/// decide its next batch against this one meanwhile.
#[derive(Message)]
#[rtype(result = "Result<PendingImport, ActorError>")]
pub struct ImportBatch {
    pub job: String,
    pub by: String,
    /// A merchant's import: its own products only.
    pub merchant: Option<String>,
    pub rows: Vec<ImportRow>,
    /// The last row of the batch (rows read so far).
    pub through_row: u64,
    /// Whether it is the job's last batch.
    pub done: bool,
    /// The batch decided off the actor's thread (`CommerceHandle::import_batch` does it on
    /// the caller's), which the actor records as it is while the commerce it was decided
    /// against is still the one published.
    pub prepared: Option<Prepared>,
}

/// An import batch installed, answering the job's progress once durable.
pub type PendingImport =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<ImportProgress, ActorError>> + Send>>;

/// An import batch decided against `base`: the commerce it leaves, its events, its mark
/// and its record, encoded.
pub struct Prepared {
    base: Arc<Commerce>,
    now: Timestamp,
    working: Commerce,
    events: Vec<CatalogEvent>,
    mark: ImportMark,
    encoded: Option<Vec<u8>>,
}

impl Prepared {
    /// Decides `batch` against the commerce `base` at `now` and encodes its record, on the
    /// caller's thread.
    pub fn new(base: Arc<Commerce>, batch: &ImportBatch, now: Timestamp, durable: bool) -> Self {
        let (working, events, mark) = import_batch(&base, batch, &batch.rows, now);
        let encoded = durable
            .then(|| stored::catalog_record(base.code(), (now, &batch.by), &events, (None, Some(&mark))).ok())
            .flatten();
        Prepared { base, now, working, events, mark, encoded }
    }
}

/// An import job's progress; none for a job the commerce never applied a batch of.
#[derive(Message)]
#[rtype(result = "Option<ImportProgress>")]
pub struct ImportStatus(pub String);

impl Handler<ImportStatus> for CommerceActor {
    type Result = MessageResult<ImportStatus>;

    fn handle(&mut self, message: ImportStatus, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.imports.get(&message.0).cloned())
    }
}

impl Handler<ImportBatch> for CommerceActor {
    type Result = Result<PendingImport, ActorError>;

    fn handle(&mut self, mut batch: ImportBatch, _: &mut Self::Context) -> Self::Result {
        // A batch the job's records passed already (a job resumed after a crash) changes
        // nothing; only the mark of its end is still to be made when it was not.
        let done_before = self.imports.get(&batch.job).filter(|p| {
            p.through_row >= batch.through_row
                && batch.through_row > 0
                && (p.done || !batch.done || !batch.rows.is_empty())
        });
        // The rows, a thousand products, go back with the answer: they are freed where the
        // job awaits it, on the import's thread, not here, where every cart waits behind
        // this handler.
        let rows = std::mem::take(&mut batch.rows);
        if let Some(progress) = done_before.cloned() {
            let unsettled = self.journal.unsettled(self.last);
            return Ok(Box::pin(async move {
                drop(rows);
                if let Some(unsettled) = unsettled {
                    unsettled.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
                }
                Ok(progress)
            }));
        }
        let base: Arc<Commerce> = self.published.load_full();
        // Prepared against the commerce still published: only recorded and installed here.
        // Otherwise (a change came in between) decided again on the actor's thread.
        let prepared = batch.prepared.take().filter(|prepared| Arc::ptr_eq(&prepared.base, &base));
        let (now, working, events, mark, encoded) = match prepared {
            Some(Prepared { now, working, events, mark, encoded, .. }) => (now, working, events, mark, encoded),
            None => {
                let now = self.clock.now();
                let (working, events, mark) = import_batch(&base, &batch, &rows, now);
                (now, working, events, mark, None)
            }
        };
        let recorded =
            self.record_onto(&base, &events, (now, &batch.by), (Some(&mark), encoded.as_deref()), move |next| {
                *next = working
            });
        let progress = self.imports.get(&batch.job).cloned().unwrap_or_default();
        match recorded {
            Ok(receipt) => Ok(Box::pin(async move {
                drop(rows);
                durable(progress, receipt).await
            })),
            Err(error) => Err(ActorError::NotDurable(error)),
        }
    }
}

/// Decides a batch's rows one after another on a copy of the commerce (a row sees the
/// rows before it), applying each put that changes something: the copy, the events and
/// the batch's mark.
fn import_batch(
    base: &Commerce,
    batch: &ImportBatch,
    rows: &[ImportRow],
    now: Timestamp,
) -> (Commerce, Vec<CatalogEvent>, ImportMark) {
    let rules = ProductRules::new(base.config());
    let mut working = base.clone();
    let by: Arc<str> = Arc::from(batch.by.as_str());
    let mut events = Vec::new();
    let mut mark = ImportMark {
        job: batch.job.clone(),
        through_row: batch.through_row,
        applied: 0,
        unchanged: 0,
        refused: Vec::new(),
        done: batch.done,
    };
    // A merchant's job the back office now reviews (its settings reloaded since it began)
    // applies nothing: its rows would bypass the review.
    let reviewed = batch.merchant.is_some() && base.config().reviews_products();
    for row in rows {
        let refuse = |problems: Vec<String>| RowRefusal { row: row.row, sku: row.sku.clone(), problems };
        if reviewed {
            let problem = "the commerce reviews merchants' product changes: a merchant's import applies nothing";
            mark.refused.push(refuse(vec![problem.to_owned()]));
            continue;
        }
        let mut product = match &row.product {
            Ok(product) => product.clone(),
            Err(problems) => {
                let mut problems = problems.clone();
                let checked =
                    row.stand_in.as_ref().map(|stand_in| working.check_product_with(&rules, (**stand_in).clone()));
                if let Some(Err(DomainError::InvalidProduct { violations, .. })) = checked {
                    problems.extend(violations.iter().map(|v| format!("{} [{}]", v.message, v.rule)));
                }
                mark.refused.push(refuse(problems));
                continue;
            }
        };
        if let Some(merchant) = &batch.merchant {
            let owner = working.product(&product.sku).map(|p| p.merchant.as_deref() == Some(merchant.as_str()));
            if owner == Some(false) || product.merchant.as_ref().is_some_and(|m| m != merchant) {
                let problem = format!("product \"{}\": a merchant imports its own products only", product.sku);
                mark.refused.push(refuse(vec![problem]));
                continue;
            }
            product.merchant = Some(merchant.clone());
        }
        match working.decide_put(&rules, product, None) {
            Ok(made) if made.is_empty() => mark.unchanged += 1,
            Ok(made) => {
                for event in &made {
                    working.apply_catalog(event, now, &by);
                }
                mark.applied += 1;
                events.extend(made);
            }
            Err(DomainError::InvalidProduct { violations, .. }) => {
                mark.refused.push(refuse(violations.iter().map(|v| format!("{} [{}]", v.message, v.rule)).collect()));
            }
            Err(error) => mark.refused.push(refuse(vec![error.to_string()])),
        }
    }
    (working, events, mark)
}

pub(crate) async fn durable<T>(value: T, receipt: Option<Receipt>) -> Result<T, ActorError> {
    if let Some(receipt) = receipt {
        receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
    }
    Ok(value)
}
