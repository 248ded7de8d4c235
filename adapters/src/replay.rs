//! Audit replay: `mercato replay --data DIR --until MOMENT` rebuilds the node as of a past
//! moment from its snapshots and its log, changes nothing in the folder, and serves the
//! reads the node answered then (orders, stock, events, reports) over the same API.
//!
//! The state starts from the newest snapshot generation that holds nothing after the
//! moment (or from nothing), and the log's records are applied up to the moment. Events
//! and reports are derived again, from the log's first record, into a scratch store that
//! is deleted at exit: they are exact when the log reaches back to record 1 (a node that
//! ran with `--keep-log`, or a young one). The clock stands at the moment and nothing
//! expires; every request but a read answers 405 `read_only`. Stock events of warehouse
//! records written before format 4 (which carry no time) are dated when derived, so a
//! replay dates those with its own time.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::DateTime;
use mercato_actors::stored::{self, Record};
use mercato_actors::{Clock, Journal, Recovered};
use mercato_engine::inventory::Timestamp;
use mercato_persistence::events::EventStore;
use mercato_persistence::log::{self, Lsn, Replayed};
use mercato_persistence::snapshot::{SnapshotOptions, SnapshotStore};
use mercato_persistence::storage::ReadOnlyStorage;

use crate::cli::ServeArgs;
use crate::configs::load_all;
use crate::events::outbox::Outbox;
use crate::events::Events;
use crate::server::ServerError;

/// The moment a replay rebuilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Every record up to and including this one.
    Position(Lsn),
    /// Every record up to the last one stamped at or before this time (milliseconds):
    /// order and warehouse changes carry their time, and a record without one counts when a stamped
    /// record after it is at or before the time. Nothing made after it is included.
    Time(i64),
}

impl Until {
    /// Reads `{lsn}`, `{lsn}.{index}` or an RFC 3339 time.
    pub fn parse(text: &str) -> Result<Self, String> {
        let lsn = text.split_once('.').map_or(text, |(lsn, index)| {
            if index.bytes().all(|b| b.is_ascii_digit()) && !index.is_empty() {
                lsn
            } else {
                text
            }
        });
        if let Ok(lsn) = lsn.parse::<Lsn>() {
            return Ok(Until::Position(lsn));
        }
        DateTime::parse_from_rfc3339(text).map(|t| Until::Time(t.timestamp_millis())).map_err(|_| {
            format!("--until \"{text}\" is neither a log position ({{lsn}} or {{lsn}}.{{index}}) nor an RFC 3339 time")
        })
    }
}

/// The time a record carries, where it carries one (an order's change; a warehouse's,
/// from format 4).
fn stamp_of(record: &Replayed<'_>) -> Option<i64> {
    match stored::decode_record(record.format, record.kind, record.payload) {
        Ok(Record::Order(entry)) => Some(entry.at.0),
        Ok(Record::Warehouse(entry)) => entry.at.map(|at| at.0),
        _ => None,
    }
}

/// Where a replay stops: the last record it holds, and the time its clock stands at.
#[derive(Debug, Clone, Copy)]
struct Moment {
    through: Lsn,
    at: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

/// Reads the log once (read only) to find the moment's last record and its time.
fn resolve(wal: &Path, until: Until) -> Result<Moment, ServerError> {
    let failed = |error| ServerError::Recovery { path: wal.display().to_string(), error };
    let oldest = log::oldest_record(&ReadOnlyStorage, wal).map_err(failed)?.unwrap_or(1);
    let mut through = 0;
    let mut last_stamp: Option<i64> = None;
    let mut passed = false;
    log::recover(&ReadOnlyStorage, wal, oldest.saturating_sub(1), |record| {
        if passed {
            return Ok(());
        }
        let stamp = stamp_of(&record);
        match (until, stamp) {
            (Until::Position(lsn), _) if record.lsn > lsn => passed = true,
            (Until::Position(_), _) => {
                through = record.lsn;
                last_stamp = stamp.or(last_stamp);
            }
            (Until::Time(at), Some(stamp)) if stamp > at => passed = true,
            (Until::Time(_), Some(_)) => through = record.lsn,
            // An unstamped record counts only once a stamped one after it shows it was
            // made by then.
            (Until::Time(_), None) => {}
        }
        Ok(())
    })
    .map_err(failed)?;
    match until {
        // A position before the log's first record: `rebuild` finds whether a snapshot
        // still reaches it.
        Until::Position(lsn) if lsn < oldest => Ok(Moment { through: lsn, at: now_ms() }),
        Until::Position(_) => Ok(Moment { through, at: last_stamp.unwrap_or_else(now_ms) }),
        Until::Time(_) if through == 0 && oldest > 1 => Err(ServerError::Start(format!(
            "the log no longer holds the records made before the time given (it starts at record {oldest}); a node \
             started with --keep-log keeps every record"
        ))),
        Until::Time(at) => Ok(Moment { through, at }),
    }
}

/// A folder for the replay's scratch event store, deleted when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_folder() -> Result<Scratch, ServerError> {
    let mut random = [0_u8; 8];
    getrandom::fill(&mut random).map_err(|e| ServerError::Start(format!("randomness: {e}")))?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let path = std::env::temp_dir().join(format!("mercato-replay-{name}"));
    // It holds a copy of the commerce's data: readable by this user only.
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&path)
        .map_err(|error| ServerError::DataFolder { path: path.display().to_string(), error })?;
    Ok(Scratch(path))
}

/// The newest whole snapshot generation holding nothing after `through`: its state and
/// the LSN the log is read after.
/// The store is opened on a copy in `scratch`: a store writes to its file when it opens
/// it, and a replay leaves the folder as it found it.
fn snapshot_before(data: &Path, through: Lsn, cache_mb: u64, scratch: &Path) -> Result<(Recovered, Lsn), ServerError> {
    let original = data.join("snapshots");
    if !original.is_dir() {
        return Ok((Recovered::default(), 0));
    }
    let dir = scratch.join("snapshots");
    copy_folder(&original, &dir)
        .map_err(|error| ServerError::DataFolder { path: original.display().to_string(), error })?;
    let failed = |error| ServerError::Recovery { path: original.display().to_string(), error };
    let options = SnapshotOptions { dir, cache_capacity_bytes: cache_mb * 1024 * 1024 };
    let store = SnapshotStore::open(&options).map_err(failed)?;
    for generation in store.whole().map_err(failed)? {
        let (recovered, after) = Recovered::from_snapshot(generation.format, &generation.parts).map_err(failed)?;
        let cart_reach = recovered.carts.values().map(|copy| copy.covers).max().unwrap_or(0);
        let reach = generation.parts.values().map(|p| p.lsn).max().unwrap_or(0).max(cart_reach);
        if reach <= through {
            tracing::info!(generation = generation.generation, covers = reach, "replay: starting from a snapshot");
            return Ok((recovered, after));
        }
    }
    Ok((Recovered::default(), 0))
}

/// A copy of the archive of finished orders, when the folder has one.
fn archive_copy(
    data: &Path,
    scratch: &Path,
) -> Result<Option<Arc<mercato_persistence::archive::Archive>>, ServerError> {
    let original = data.join("archive");
    if !original.is_dir() {
        return Ok(None);
    }
    let dir = scratch.join("archive");
    copy_folder(&original, &dir)
        .map_err(|error| ServerError::DataFolder { path: original.display().to_string(), error })?;
    let archive = mercato_persistence::archive::Archive::open(&dir, 16 * 1024 * 1024)
        .map_err(|error| ServerError::Recovery { path: original.display().to_string(), error })?;
    Ok(Some(Arc::new(archive)))
}

/// Copies a folder's files (one level of sub-folders and below).
fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Rebuilds the state and the events as of the moment.
fn rebuild(
    args: &ServeArgs,
    moment: Moment,
    commerces: &[mercato_engine::Commerce],
    scratch: &Path,
) -> Result<(Recovered, Option<Events>), ServerError> {
    let wal = args.data.join("wal");
    let (mut recovered, after) = snapshot_before(&args.data, moment.through, args.snapshot_cache_mb, scratch)?;
    let log_failed = |error| ServerError::Recovery { path: wal.display().to_string(), error };
    let oldest = log::oldest_record(&ReadOnlyStorage, &wal).map_err(log_failed)?.unwrap_or(moment.through + 1);
    if oldest > after + 1 && moment.through > after {
        return Err(ServerError::Start(format!(
            "record {} is no longer in the log (it starts at record {oldest}) and no snapshot holds the state \
             before it: this folder replays moments from record {} on; a node started with --keep-log keeps \
             every record",
            after + 1,
            oldest - 1
        )));
    }
    // Events and reports are derived from the log's first record, when it still holds it.
    let mut outbox = None;
    let mut events = None;
    if oldest <= 1 {
        let by_code = commerces.iter().map(|c| (c.code().to_owned(), Arc::new(c.clone()))).collect();
        let store = EventStore::open(&scratch.join("events"), 16 * 1024 * 1024).map_err(log_failed)?;
        let (opened, read) = Outbox::open(Arc::new(store), Arc::new(by_code)).map_err(log_failed)?;
        outbox = Some(opened);
        events = Some(read);
    } else {
        tracing::warn!(oldest, "replay: the log no longer holds its first records; events and reports are not served");
    }
    if outbox.is_none() && moment.through <= after {
        // The snapshot is the moment: no record is read.
        return Ok((recovered, events));
    }
    let from = if outbox.is_some() { 0 } else { after };
    log::recover(&ReadOnlyStorage, &wal, from, |record| {
        if record.lsn > moment.through {
            return Ok(());
        }
        if let Some(outbox) = outbox.as_mut() {
            outbox.recover(record.lsn, record.format, record.kind, record.payload)?;
        }
        if record.lsn > after {
            recovered.apply(record)?;
        }
        Ok(())
    })
    .map_err(log_failed)?;
    if let Some(outbox) = outbox.as_mut() {
        outbox.write().map_err(log_failed)?;
    }
    Ok((recovered, events))
}

/// Rebuilds the node in `args.data` as of `until` and serves its reads until stopped.
pub fn run(args: &ServeArgs, until: &str) -> Result<(), ServerError> {
    let until = Until::parse(until).map_err(ServerError::Start)?;
    let wal = args.data.join("wal");
    if !wal.is_dir() {
        return Err(ServerError::Start(format!("{} holds no log (no {} folder)", args.data.display(), wal.display())));
    }
    let commerces: Vec<mercato_engine::Commerce> = load_all(&args.configs)?.into_iter().map(|(_, c)| c).collect();
    let moment = resolve(&wal, until)?;
    let scratch = scratch_folder()?;
    let (mut recovered, events) = rebuild(args, moment, &commerces, &scratch.0)?;
    recovered.archive = archive_copy(&args.data, &scratch.0)?;
    recovered.archive_replay = true;
    // The settings and data in force then are the log's, not the file's of today; the keys
    // that open the replay are the file's of today (a key revoked since opens nothing).
    let commerces = commerces
        .into_iter()
        .map(|file| match recovered.settings.get(file.code()) {
            Some(recorded) => {
                let mut then = recorded.clone();
                then.api_keys.clone_from(&file.config().api_keys);
                mercato_engine::Commerce::from_recorded(then).with_catalog(file.catalog().clone())
            }
            None => file,
        })
        .collect();
    let _ = crate::http::metrics::handle();
    let outcome = actix_web::rt::System::new().block_on(async move {
        let clock = Clock::frozen_at(Timestamp(moment.at));
        let services = (events, None, crate::imports::Imports::default());
        let state = crate::server::assemble(commerces, clock, &Journal::Memory, &mut recovered, services)?;
        let server = crate::server::listen(args, &state)?;
        state.ready.store(true, Ordering::Release);
        let time = crate::http::routes::carts::timestamp(Timestamp(moment.at));
        tracing::info!(through = moment.through, %time, "replay: serving reads as of record {} ({time})", moment.through);
        eprintln!("mercato replay: as of record {} ({time}); reads only on http://{}", moment.through, args.listen);
        server.await.map_err(ServerError::Stopped)
    });
    drop(scratch);
    outcome
}

#[cfg(test)]
mod tests {
    use super::Until;

    #[test]
    fn a_moment_is_a_position_or_a_time() {
        assert_eq!(Until::parse("42"), Ok(Until::Position(42)));
        assert_eq!(Until::parse("42.3"), Ok(Until::Position(42)));
        assert_eq!(Until::parse("2026-12-03T10:00:00Z"), Ok(Until::Time(1_796_292_000_000)));
        for bad in ["", "42.", "4x", "yesterday", "42.3.1", "-1"] {
            let error = Until::parse(bad).expect_err(bad);
            assert!(error.contains(&format!("\"{bad}\"")), "{error}");
        }
    }
}
