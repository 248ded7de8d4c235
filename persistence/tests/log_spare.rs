//! The next segment made ahead: the writer moves into it once its segment needs more zeros,
//! the segment it leaves is cut to its records, a crash anywhere loses no acknowledged
//! record, and a spare that fails to be made or adopted never loses one either.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mercato_persistence::log::{Log, LogOptions, LogThread, Lsn, Recovered, LOG_PREALLOCATE_STEP};
use mercato_persistence::sim::{FaultPoint, SimStorage};
use mercato_persistence::storage::{OsStorage, Storage};
use mercato_persistence::PersistenceError;

const SPARE: &str = "next.spare";

type Replayed = Vec<(Lsn, Vec<u8>)>;

fn open(storage: Arc<dyn Storage>, options: &LogOptions) -> Result<(Log, Replayed), PersistenceError> {
    open_recovered(storage, options).map(|(log, replayed, _)| (log, replayed))
}

fn open_recovered(
    storage: Arc<dyn Storage>,
    options: &LogOptions,
) -> Result<(Log, Replayed, Recovered), PersistenceError> {
    let mut replayed = Vec::new();
    let (log, recovered) = Log::open(storage, options.clone(), 0, |record| {
        replayed.push((record.lsn, record.payload.to_vec()));
        Ok(())
    })?;
    Ok((log, replayed, recovered))
}

/// Every record replayed is the one appended under its LSN, they run from 1 without a gap,
/// and every acknowledged one is among them.
fn assert_recovered(replayed: &Replayed, acked: &[Lsn], case: &str) {
    let lsns: Vec<Lsn> = replayed.iter().map(|(lsn, _)| *lsn).collect();
    assert_eq!(lsns, (1..=lsns.len() as u64).collect::<Vec<_>>(), "{case}: no gap");
    assert!(lsns.len() >= acked.len(), "{case}: {} acknowledged, {} recovered", acked.len(), lsns.len());
    for (lsn, payload) in replayed {
        assert_eq!(payload, &record(*lsn), "{case}: record {lsn}");
    }
}

fn record(i: u64) -> Vec<u8> {
    (0..20_000 + i % 7_000).map(|n| u8::try_from((n + i) % 251).expect("a byte")).collect()
}

/// Appends records numbered from `from` one at a time until `count` are acknowledged or
/// the log refuses one; the LSNs acknowledged.
fn append(log: &Log, from: u64, count: u64) -> Vec<Lsn> {
    let handle = log.handle();
    let mut acked = Vec::new();
    for i in from..from + count {
        match handle.append(1, record(i)).map(|receipt| receipt.wait()) {
            Ok(Ok(lsn)) => acked.push(lsn),
            _ => break,
        }
    }
    acked
}

fn segments(names: &[String]) -> Vec<String> {
    let mut segments: Vec<String> = names.iter().filter(|n| n.ends_with(".wal")).cloned().collect();
    segments.sort();
    segments
}

fn listed(storage: &dyn Storage, dir: &Path) -> Vec<String> {
    storage.list(dir).expect("listed")
}

// Proves that once a segment needs more zeros the writer moves into the spare made ahead
// (several segments well before the segment size is reached), and that a crash after any
// number of records keeps every acknowledged one, in order, with no spare left behind.
#[test]
fn the_writer_moves_into_the_spare_and_a_crash_loses_nothing() {
    let options = LogOptions { segment_bytes: 4 * LOG_PREALLOCATE_STEP, ..LogOptions::new("/wal") };
    for crash_after in [10, 45, 90, 160, 260] {
        let sim = SimStorage::default();
        let (log, _) = open(Arc::new(sim.clone()), &options).expect("opens");
        let acked = append(&log, 1, crash_after);
        assert_eq!(acked.len() as u64, crash_after);
        let names = listed(&sim, Path::new("/wal"));
        if crash_after >= 90 {
            // About 2 MB written into 4 MB segments: moved into a spare at least once.
            assert!(segments(&names).len() >= 2, "{crash_after}: {names:?}");
        }
        sim.crash(|_, _| Vec::new());
        drop(log);
        let (_log, replayed) = open(Arc::new(sim.clone()), &options).expect("reopens after the crash");
        let lsns: Vec<Lsn> = replayed.iter().map(|(lsn, _)| *lsn).collect();
        assert_eq!(lsns, acked, "{crash_after}: every acknowledged record, once, in order");
        assert_recovered(&replayed, &acked, &format!("crash after {crash_after}"));
    }
}

// Proves a spare a crash left behind (durably named) is removed when the log opens.
#[test]
fn a_spare_left_by_a_crash_is_removed_at_open() {
    let sim = SimStorage::default();
    let dir = Path::new("/wal");
    let mut spare = sim.create(dir, SPARE).expect("created");
    spare.write_all(&[0; 4096]).expect("written");
    spare.sync_data().expect("synced");
    sim.sync_dir(dir).expect("named");
    let options = LogOptions { segment_bytes: 4 * LOG_PREALLOCATE_STEP, ..LogOptions::new(dir) };
    let (_log, _) = open(Arc::new(sim.clone()), &options).expect("opens");
    assert!(!listed(&sim, dir).contains(&SPARE.to_owned()), "the leftover spare is removed");
}

// Proves a fault at any point of making, adopting or leaving segments, followed by a crash
// that tears the unsynced tail, loses no acknowledged record and recovery starts.
#[test]
fn a_fault_then_a_crash_anywhere_around_spares_loses_nothing() {
    let options = LogOptions { segment_bytes: 2 * LOG_PREALLOCATE_STEP, ..LogOptions::new("/wal") };
    let points = [
        FaultPoint::Write,
        FaultPoint::Sync,
        FaultPoint::Create,
        FaultPoint::SyncDir,
        FaultPoint::Rename,
        FaultPoint::Truncate,
        FaultPoint::Preallocate,
    ];
    for point in points {
        for after in [0, 1, 2, 4, 8, 40, 120] {
            let case = format!("{point:?} after {after}");
            let sim = SimStorage::default();
            let (log, _) = open(Arc::new(sim.clone()), &options).expect("opens");
            sim.fail(point, after);
            let acked = append(&log, 1, 200);
            sim.crash(|_, tail| tail[..tail.len() / 2].to_vec());
            drop(log);
            let (_log, replayed) = open(Arc::new(sim.clone()), &options).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_recovered(&replayed, &acked, &case);
        }
    }
}

// Proves a spare that cannot be made leaves the log writing (segments started on the
// writer instead), and one that cannot be adopted (its rename fails) stops the log without
// acknowledging what came after, every acknowledged record coming back after a crash.
#[test]
fn a_spare_that_fails_loses_nothing() {
    let options = LogOptions { segment_bytes: 4 * LOG_PREALLOCATE_STEP, ..LogOptions::new("/wal") };
    let sim = SimStorage::default();
    let (log, _) = open(Arc::new(sim.clone()), &options).expect("opens");
    sim.fail(FaultPoint::Create, 0);
    let acked = append(&log, 1, 300);
    assert_eq!(acked.len(), 300, "a spare failing to be made fails no record");
    drop(log);
    // The spare that failed was not moved into: the first segment was written to its size.
    let first = segments(&listed(&sim, Path::new("/wal")))[0].clone();
    let len = sim.len(Path::new("/wal"), &first).expect("exists") as u64;
    assert!(len >= options.segment_bytes, "the first segment was filled: {len} bytes");

    let sim = SimStorage::default();
    let (log, _) = open(Arc::new(sim.clone()), &options).expect("opens");
    sim.fail(FaultPoint::Rename, 0);
    let acked = append(&log, 1, 300);
    assert!(acked.len() < 300, "the failed adoption stops the log");
    assert!(log.handle().append(1, record(0)).is_err(), "later appends are refused");
    sim.crash(|_, _| Vec::new());
    drop(log);
    let (_log, replayed) = open(Arc::new(sim.clone()), &options).expect("reopens after the crash");
    assert_eq!(replayed.iter().map(|(lsn, _)| *lsn).collect::<Vec<_>>(), acked);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mercato-log-spare-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

// Proves through real files that the segment left for a spare is cut to its records (no
// zeros after them: recovery refuses an older segment that does not end with its last
// record), the spare is removed at a clean stop, and everything comes back.
#[test]
fn a_segment_left_for_the_spare_ends_with_its_records() {
    let dir = temp_dir("left");
    let options = LogOptions { segment_bytes: 8 * LOG_PREALLOCATE_STEP, ..LogOptions::new(&dir) };
    let (log, _) = open(Arc::new(OsStorage), &options).expect("opens");
    let mut acked = Vec::new();
    let mut from = 1;
    while segments(&listed(&OsStorage, &dir)).len() < 2 && from < 2_000 {
        acked.extend(append(&log, from, 10));
        from += 10;
    }
    log.close();
    let names = listed(&OsStorage, &dir);
    assert!(!names.contains(&SPARE.to_owned()), "no spare after a clean stop: {names:?}");
    let segments = segments(&names);
    assert!(segments.len() >= 2, "moved into another segment: {segments:?}");
    let second: u64 = segments[1].trim_end_matches(".wal").parse().expect("a segment name");
    let held: u64 = 20 + (1..second).map(|i| 25 + record(i).len() as u64).sum::<u64>();
    let size = std::fs::metadata(dir.join(&segments[0])).expect("exists").len();
    assert_eq!(size, held, "the first segment ends with its last record");
    // The newest segment (made ahead, zeros to its size after its records) torn after its
    // last record: a partial frame, then the zeros. Recovery cuts it there.
    let newest = segments.last().expect("a segment");
    let newest_first: u64 = newest.trim_end_matches(".wal").parse().expect("a segment name");
    let last = *acked.last().expect("records");
    let ends: u64 = 20 + (newest_first..=last).map(|i| 25 + record(i).len() as u64).sum::<u64>();
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new().write(true).open(dir.join(newest)).expect("opens");
        file.seek(SeekFrom::Start(ends)).expect("seeks");
        file.write_all(&[0x40, 0x9c, 0, 0, 0xAB, 0xCD, 0xEF]).expect("written");
    }
    let (_log, replayed, recovered) = open_recovered(Arc::new(OsStorage), &options).expect("reopens");
    assert_eq!(replayed.iter().map(|(lsn, _)| *lsn).collect::<Vec<_>>(), acked);
    let torn = recovered.truncated.expect("the torn frame is cut");
    assert_eq!((torn.segment.as_str(), torn.offset), (newest.as_str(), ends));
    std::fs::remove_dir_all(&dir).expect("cleaned");
}

/// The threads `thread_start` was run on: what it was told and the thread's name.
static STARTED: std::sync::Mutex<Vec<(LogThread, String)>> = std::sync::Mutex::new(Vec::new());

fn note_start(thread: LogThread) {
    let name = std::thread::current().name().unwrap_or_default().to_owned();
    STARTED.lock().expect("the list").push((thread, name));
}

// Proves the hook the node sets priorities with runs first on each of the log's threads,
// told which: the writer's at open, the spare's once a segment first needs more zeros
// (fails when either thread is started without it, or told the other's name).
#[test]
fn thread_start_runs_on_the_writer_and_on_the_spare() {
    let options = LogOptions {
        segment_bytes: 4 * LOG_PREALLOCATE_STEP,
        thread_start: Some(note_start),
        ..LogOptions::new("/wal")
    };
    let sim = SimStorage::default();
    let (log, _) = open(Arc::new(sim.clone()), &options).expect("opens");
    let acked = append(&log, 1, 120);
    assert_eq!(acked.len(), 120);
    log.close();
    let started = STARTED.lock().expect("the list").clone();
    assert!(started.contains(&(LogThread::Writer, "mercato-log".to_owned())), "{started:?}");
    assert!(started.contains(&(LogThread::Spare, "mercato-log-spare".to_owned())), "{started:?}");
    assert!(started.iter().all(|(thread, name)| match thread {
        LogThread::Writer => name == "mercato-log",
        LogThread::Spare => name == "mercato-log-spare",
    }));
}
