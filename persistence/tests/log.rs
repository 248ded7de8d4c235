//! The write-ahead log: round trips through real files, rotation and retention, recovery
//! of torn tails and refusal of damage, and a fault injected at every file operation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mercato_persistence::log::{AppendError, Log, LogOptions, Lsn, Recovered, SyncMode, LOG_PREALLOCATE_STEP};
use mercato_persistence::sim::{FaultPoint, SimStorage};
use mercato_persistence::storage::{OsStorage, Storage};
use mercato_persistence::PersistenceError;

type Replayed = Vec<(Lsn, u8, Vec<u8>)>;

fn open(
    storage: Arc<dyn Storage>,
    options: &LogOptions,
    after: Lsn,
) -> Result<(Log, Recovered, Replayed), PersistenceError> {
    let mut replayed = Vec::new();
    let (log, recovered) = Log::open(storage, options.clone(), after, |record| {
        assert_eq!(record.format, mercato_persistence::codec::FORMAT_VERSION);
        replayed.push((record.lsn, record.kind, record.payload.to_vec()));
        Ok(())
    })?;
    Ok((log, recovered, replayed))
}

fn payload(i: u64) -> Vec<u8> {
    format!("event {i} {}", "x".repeat(usize::try_from(i % 40).expect("small"))).into_bytes()
}

/// Appends `count` records numbered from `from`, ten at a time, waiting for every receipt.
fn append_all(log: &Log, from: u64, count: u64) -> Vec<Lsn> {
    let handle = log.handle();
    let mut lsns = Vec::new();
    for chunk in (from..from + count).collect::<Vec<_>>().chunks(10) {
        let receipts: Vec<_> = chunk.iter().map(|&i| handle.append(1, payload(i)).expect("queued")).collect();
        lsns.extend(receipts.into_iter().map(|r| r.wait().expect("durable")));
    }
    lsns
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mercato-log-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn segments(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a folder")
        .map(|e| e.expect("an entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    names
}

// Proves records written through real files come back in order with their LSNs after a
// clean close, across several segments, and numbering carries on after the restart.
#[test]
fn round_trip_through_files_across_segments() {
    let dir = temp_dir("round-trip");
    let options = LogOptions { segment_bytes: 2_000, ..LogOptions::new(&dir) };
    let (log, recovered, replayed) = open(Arc::new(OsStorage), &options, 0).expect("opens");
    assert_eq!((recovered.next_lsn, replayed.len()), (1, 0));
    assert_eq!(append_all(&log, 1, 300), (1..=300).collect::<Vec<_>>());
    log.close();
    assert!(segments(&dir).len() > 5, "rotated: {:?}", segments(&dir));

    let (log, recovered, replayed) = open(Arc::new(OsStorage), &options, 0).expect("reopens");
    assert_eq!((recovered.next_lsn, recovered.records_replayed, &recovered.truncated), (301, 300, &None));
    for (i, (lsn, kind, bytes)) in replayed.iter().enumerate() {
        let i = i as u64 + 1;
        assert_eq!((*lsn, *kind, bytes), (i, 1, &payload(i)));
    }
    assert_eq!(append_all(&log, 301, 1), vec![301]);
    drop(log);
    let (_, recovered, _) = open(Arc::new(OsStorage), &options, 250).expect("reopens after 250");
    assert_eq!((recovered.next_lsn, recovered.records_replayed), (302, 51));
    std::fs::remove_dir_all(&dir).expect("cleaned");
}

// Proves a segment several times larger than what recovery reads at once comes back whole
// through real files: records cross the pieces' edges, one is larger than a piece, and a
// torn tail after them is cut off at the right offset.
#[test]
fn segments_larger_than_a_read_piece_recover_whole() {
    let dir = temp_dir("pieces");
    let options = LogOptions { segment_bytes: 64 * 1024 * 1024, ..LogOptions::new(&dir) };
    let sized = |i: u64| -> Vec<u8> {
        let len = if i == 40 { 1_500_000 } else { 30_000 + usize::try_from(i * 977 % 50_000).expect("small") };
        (0..len).map(|n| u8::try_from((n as u64 + i) % 251).expect("a byte")).collect()
    };
    let (log, _, _) = open(Arc::new(OsStorage), &options, 0).expect("opens");
    let handle = log.handle();
    for i in 1..=120 {
        handle.append(1, sized(i)).expect("queued").wait().expect("durable");
    }
    log.close();
    // The first segment may end early, where the next one made ahead was started.
    let mut names = segments(&dir);
    names.sort();
    assert!(names.len() <= 2, "at most a short first segment and one more: {names:?}");
    let last = names.last().expect("a segment");
    let file = dir.join(last);
    let first: u64 = last.trim_end_matches(".wal").parse().expect("a segment name");
    // Where the records end: the segment's header, then each frame's header and payload.
    let used: u64 = 20 + (first..=120).map(|i| 25 + sized(i).len() as u64).sum::<u64>();
    // Over at most two segments, one holds at least half of it: several read pieces.
    let total: u64 = (1..=120).map(|i| 25 + sized(i).len() as u64).sum();
    assert!(total > 5 * 1024 * 1024, "several read pieces: {total} bytes");
    // A torn tail: after the records and the space zeroed ahead of them, garbage.
    {
        use std::io::Write;
        let mut tail = std::fs::OpenOptions::new().append(true).open(&file).expect("opens");
        tail.write_all(&[0xAB; 3_000]).expect("written");
    }
    let (_, recovered, replayed) = open(Arc::new(OsStorage), &options, 0).expect("reopens after a tear");
    assert_eq!(replayed.len(), 120);
    for (lsn, kind, bytes) in &replayed {
        assert_eq!((*kind, bytes), (1, &sized(*lsn)), "record {lsn}");
    }
    let torn = recovered.truncated.expect("the torn tail is cut");
    assert_eq!(torn.offset, used);
    std::fs::remove_dir_all(&dir).expect("cleaned");
}

// Proves retention deletes only segments wholly below the point, keeps the newest, and
// recovery from that point still finds every later record.
#[test]
fn retention_deletes_only_whole_segments_below_the_point() {
    let dir = temp_dir("retain");
    let options = LogOptions { segment_bytes: 1_000, ..LogOptions::new(&dir) };
    let (log, _, _) = open(Arc::new(OsStorage), &options, 0).expect("opens");
    append_all(&log, 1, 200);
    let before = segments(&dir);
    let removed = log.handle().retain_from(120).expect("queued").blocking_recv().expect("answered").expect("deleted");
    let after = segments(&dir);
    assert_eq!(before.len() - after.len(), removed);
    assert!(removed > 0);
    let first_kept: Lsn = after[0].trim_end_matches(".wal").parse().expect("a segment name");
    assert!(first_kept <= 120, "the segment holding record 120 stays: {after:?}");
    log.close();
    let (_, recovered, replayed) = open(Arc::new(OsStorage), &options, 119).expect("reopens");
    assert_eq!(replayed.first().map(|r| r.0), Some(120));
    assert_eq!(recovered.next_lsn, 201);
    let error = open(Arc::new(OsStorage), &options, 0).map(|_| ()).expect_err("records 1.. are gone");
    assert!(error.to_string().contains("records after 0 are needed"), "{error}");
    std::fs::remove_dir_all(&dir).expect("cleaned");
}

// Proves a segment is zeroed ahead of its records on disk, records overwrite the zeros,
// and at the next start the zeros are the clean end of the log (no torn tail reported),
// while a torn frame followed by zeros is still cut off as a torn tail.
#[test]
fn space_zeroed_ahead_is_the_clean_end_and_a_tear_in_it_is_cut() {
    let dir = temp_dir("zeroed");
    let options = LogOptions::new(&dir);
    let (log, _, _) = open(Arc::new(OsStorage), &options, 0).expect("opens");
    let first = dir.join(&segments(&dir)[0]);
    let zeroed = std::fs::metadata(&first).expect("a segment").len();
    assert_eq!(zeroed, 20 + LOG_PREALLOCATE_STEP, "the new segment is zeroed a step ahead");
    append_all(&log, 1, 100);
    log.close();
    let bytes = std::fs::read(&first).expect("readable");
    assert_eq!(bytes.len() as u64, zeroed, "the records went over the zeros");
    let end = bytes.iter().rposition(|&b| b != 0).expect("records") + 1;

    let (log, recovered, replayed) = open(Arc::new(OsStorage), &options, 0).expect("reopens");
    assert_eq!((recovered.next_lsn, replayed.len(), &recovered.truncated), (101, 100, &None));
    assert_eq!(std::fs::metadata(&first).expect("kept").len() as u64, end as u64, "the zeros are cut at the start");
    append_all(&log, 101, 10);
    log.close();

    // A tear: half a frame header written into the zeros of the newest segment.
    let newest = dir.join(segments(&dir).last().expect("a newest segment"));
    let mut bytes = std::fs::read(&newest).expect("readable");
    let end = bytes.iter().rposition(|&b| b != 0).expect("records") + 1;
    bytes[end..end + 12].copy_from_slice(&[9, 0, 0, 0, 1, 2, 3, 4, 111, 0, 0, 0]);
    std::fs::write(&newest, &bytes).expect("written");
    let (_, recovered, replayed) = open(Arc::new(OsStorage), &options, 0).expect("recovers");
    assert_eq!((recovered.next_lsn, replayed.len()), (111, 110));
    let torn = recovered.truncated.expect("a torn tail");
    assert_eq!((torn.offset, torn.bytes), (end as u64, (bytes.len() - end) as u64));

    // The header is synced before any zero is written: a damaged header with zeros after
    // it is damage, not a crash while starting the segment, and refuses the start.
    let (log, _, _) = open(Arc::new(OsStorage), &options, 0).expect("reopens");
    log.close();
    let empty = dir.join(segments(&dir).last().expect("the empty segment"));
    let mut bytes = std::fs::read(&empty).expect("readable");
    assert!(bytes[20..].iter().all(|&b| b == 0));
    bytes[3] ^= 0x10;
    std::fs::write(&empty, &bytes).expect("written");
    let error = open(Arc::new(OsStorage), &options, 0).map(|_| ()).expect_err("refused");
    assert!(matches!(error, PersistenceError::Corruption { offset: 0, .. }), "{error}");
    assert!(empty.exists(), "kept");
    std::fs::remove_dir_all(&dir).expect("cleaned");
}

fn sim_options(segment_bytes: u64) -> LogOptions {
    LogOptions { segment_bytes, ..LogOptions::new("/wal") }
}

// Proves a torn tail (the unsynced end of the last batch, half written) is cut off and
// counted, and every acknowledged record survives.
#[test]
fn torn_tail_is_truncated_and_acknowledged_records_survive() {
    let sim = SimStorage::default();
    let options = LogOptions { mode: SyncMode::Async { interval: Duration::from_secs(3600) }, ..sim_options(1 << 20) };
    let (log, _, _) = open(Arc::new(sim.clone()), &options, 0).expect("opens");
    append_all(&log, 1, 10);
    log.handle().sync().expect("queued").wait().expect("synced");
    append_all(&log, 11, 5); // written, acknowledged in async mode, never synced
    sim.crash(|_, unsynced| unsynced[..unsynced.len() / 2].to_vec());
    drop(log); // the process died: its writer can reach the disk no more

    let (_, recovered, replayed) = open(Arc::new(sim.clone()), &sim_options(1 << 20), 0).expect("recovers");
    let tail = recovered.truncated.expect("a torn tail");
    assert!(tail.bytes > 0);
    assert!(replayed.len() >= 10 && replayed.len() < 15, "{} records", replayed.len());
    assert!(replayed.iter().enumerate().all(|(i, r)| r.0 == i as u64 + 1 && r.2 == payload(r.0)));
}

// Proves a flipped bit in a record that a later record says was synced refuses the start,
// naming the segment and the offset, instead of silently dropping acknowledged records.
#[test]
fn damage_before_the_synced_point_refuses_to_start() {
    let sim = SimStorage::default();
    let options = sim_options(1 << 20);
    let (log, _, _) = open(Arc::new(sim.clone()), &options, 0).expect("opens");
    append_all(&log, 1, 3);
    append_all(&log, 4, 3);
    log.close();
    let segment = "00000000000000000001.wal";
    // The second record starts after the 20-byte header and the first frame.
    let second = 20 + 25 + payload(1).len();
    sim.flip_bit(Path::new("/wal"), segment, second + 30, 3);
    let error = open(Arc::new(sim.clone()), &options, 0).map(|_| ()).expect_err("refused");
    match error {
        PersistenceError::Corruption { file, offset, .. } => {
            assert_eq!((file.as_str(), offset), (segment, second as u64));
        }
        other => panic!("expected corruption, got {other}"),
    }
}

// Proves damage in an older segment (always wholly synced) refuses the start even in its
// last record.
#[test]
fn damage_in_an_older_segment_refuses_to_start() {
    let sim = SimStorage::default();
    let options = sim_options(200);
    let (log, _, _) = open(Arc::new(sim.clone()), &options, 0).expect("opens");
    for i in 1..=20 {
        append_all(&log, i, 1);
    }
    log.close();
    let mut names = sim_segment_names(&sim);
    names.sort();
    assert!(names.len() > 2);
    let len = sim.len(Path::new("/wal"), &names[0]).expect("exists");
    sim.flip_bit(Path::new("/wal"), &names[0], len - 1, 0);
    let error = open(Arc::new(sim.clone()), &options, 0).map(|_| ()).expect_err("refused");
    assert!(matches!(&error, PersistenceError::Corruption { file, .. } if *file == names[0]), "{error}");
}

fn sim_segment_names(sim: &SimStorage) -> Vec<String> {
    sim.list(Path::new("/wal")).expect("listed")
}

/// Runs `fault` while appending 40 single-record batches into small segments; returns
/// the LSNs acknowledged and the first append error seen.
fn append_through_fault(sim: &SimStorage, point: FaultPoint, after: u32) -> (Vec<Lsn>, Option<String>) {
    let (log, _, _) = open(Arc::new(sim.clone()), &sim_options(300), 0).expect("opens");
    sim.fail(point, after);
    let handle = log.handle();
    let mut acked = Vec::new();
    let mut failure = None;
    for i in 1..=40 {
        match handle.append(1, payload(i)).map(|r| r.wait()) {
            Ok(Ok(lsn)) => acked.push(lsn),
            Ok(Err(error)) => failure = failure.or(Some(error.to_string())),
            Err(error) => failure = failure.or(Some(error.to_string())),
        }
    }
    drop(log);
    (acked, failure)
}

// Proves a failed write, fsync, segment creation, folder sync or zeroing of a new segment
// acknowledges nothing of its batch, stops the log for good (later appends are refused),
// and after a crash and restart every acknowledged record is there exactly once, in order.
#[test]
fn a_failed_write_or_sync_acknowledges_nothing_and_stops_the_log() {
    let points =
        [FaultPoint::Write, FaultPoint::Sync, FaultPoint::Create, FaultPoint::SyncDir, FaultPoint::Preallocate];
    for point in points {
        let sim = SimStorage::default();
        let (acked, failure) = append_through_fault(&sim, point, 2);
        let failure = failure.unwrap_or_else(|| panic!("{point:?}: the fault was never hit"));
        assert!(failure.contains("injected"), "{point:?}: {failure}");
        assert!(acked.len() < 40, "{point:?}: nothing after the failure is acknowledged");
        assert_eq!(acked, (1..=acked.len() as u64).collect::<Vec<_>>(), "{point:?}");
        sim.crash(|_, _| Vec::new());
        let (log, recovered, replayed) = open(Arc::new(sim.clone()), &sim_options(300), 0).expect("recovers");
        let lsns: Vec<Lsn> = replayed.iter().map(|r| r.0).collect();
        assert!(lsns.starts_with(&acked), "{point:?}: acked {acked:?}, recovered {lsns:?}");
        assert!(lsns.len() <= acked.len() + 1, "{point:?}: at most the failed record was written whole");
        assert_eq!(append_all(&log, recovered.next_lsn, 1), vec![recovered.next_lsn], "{point:?}: works again");
    }
}

// Proves appends after a failure are refused with the reason, not queued.
#[test]
fn appends_after_a_failure_are_refused() {
    let sim = SimStorage::default();
    let (log, _, _) = open(Arc::new(sim.clone()), &sim_options(1 << 20), 0).expect("opens");
    sim.fail(FaultPoint::Sync, 0);
    let error = log.handle().append(1, b"a".to_vec()).expect("queued").wait().expect_err("not durable");
    assert!(error.reason.contains("syncing segment"), "{error}");
    match log.handle().append(1, b"b".to_vec()) {
        Err(AppendError::Stopped { reason }) => assert!(reason.contains("injected"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(log.handle().failure().is_some());
}

// Proves a failed deletion is reported to the caller and does not stop the log.
#[test]
fn a_failed_deletion_is_reported_and_the_log_goes_on() {
    let sim = SimStorage::default();
    let (log, _, _) = open(Arc::new(sim.clone()), &sim_options(300), 0).expect("opens");
    for i in 1..=30 {
        append_all(&log, i, 1);
    }
    sim.fail(FaultPoint::Remove, 0);
    let answer = log.handle().retain_from(25).expect("queued").blocking_recv().expect("answered");
    assert!(answer.expect_err("failed").contains("injected"));
    assert_eq!(append_all(&log, 31, 1), vec![31]);
    let removed = log.handle().retain_from(25).expect("queued").blocking_recv().expect("answered").expect("deleted");
    assert!(removed > 0);
}

// Proves a failed truncation or read during recovery fails the start with the error,
// and a retry without the fault recovers.
#[test]
fn faults_during_recovery_fail_the_start() {
    for point in [FaultPoint::Read, FaultPoint::Truncate] {
        let sim = SimStorage::default();
        let options =
            LogOptions { mode: SyncMode::Async { interval: Duration::from_secs(3600) }, ..sim_options(1 << 20) };
        let (log, _, _) = open(Arc::new(sim.clone()), &options, 0).expect("opens");
        append_all(&log, 1, 4);
        log.handle().sync().expect("queued").wait().expect("synced");
        append_all(&log, 5, 4);
        sim.crash(|_, unsynced| unsynced[..unsynced.len() / 2].to_vec());
        drop(log);
        sim.fail(point, 0);
        let error = open(Arc::new(sim.clone()), &options, 0).map(|_| ()).expect_err("the fault fails the start");
        assert!(error.to_string().contains("injected"), "{point:?}: {error}");
        let (_, recovered, replayed) = open(Arc::new(sim.clone()), &options, 0).expect("recovers without the fault");
        assert!(replayed.len() >= 4, "{point:?}");
        assert!(recovered.truncated.is_some(), "{point:?}");
    }
}

// Proves a queue at capacity refuses appends at once instead of blocking.
#[test]
fn a_full_queue_refuses_at_once() {
    let sim = SimStorage::default();
    let options = LogOptions { queue_capacity: 4, ..sim_options(1 << 20) };
    let (log, _, _) = open(Arc::new(sim.clone()), &options, 0).expect("opens");
    let handle = log.handle();
    let mut full = 0;
    let mut receipts = Vec::new();
    for i in 0..10_000 {
        match handle.append(1, payload(i)) {
            Ok(receipt) => receipts.push(receipt),
            Err(AppendError::Full { capacity: 4 }) => full += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert!(full > 0, "the writer never fell behind 10,000 appends");
    for receipt in receipts {
        receipt.wait().expect("durable");
    }
}

// Proves a damaged header on the newest segment, when records follow it, refuses the
// start instead of deleting the records as if the segment were only torn at creation.
#[test]
fn a_damaged_header_with_records_after_it_refuses_to_start() {
    let sim = SimStorage::default();
    let options = sim_options(1 << 20);
    let (log, _, _) = open(Arc::new(sim.clone()), &options, 0).expect("opens");
    append_all(&log, 1, 3);
    log.close();
    sim.flip_bit(Path::new("/wal"), "00000000000000000001.wal", 2, 1);
    let error = open(Arc::new(sim.clone()), &options, 0).map(|_| ()).expect_err("refused");
    assert!(
        matches!(&error, PersistenceError::Corruption { file, offset: 0, .. } if file == "00000000000000000001.wal"),
        "{error}"
    );
}

// Proves a segment whose whole header states another format version refuses the start
// with an error naming both versions: it is neither read as damage nor misread.
#[test]
fn a_segment_of_another_format_version_refuses_to_start() {
    let dir = temp_dir("format");
    let options = LogOptions::new(&dir);
    let (log, _, _) = open(Arc::new(OsStorage), &options, 0).expect("opens");
    append_all(&log, 1, 3);
    log.close();
    let path = dir.join("00000000000000000001.wal");
    let mut bytes = std::fs::read(&path).expect("the segment");
    assert_eq!(&bytes[..8], b"MRCTWAL7");
    // As the builds before format versions wrote it.
    restamp(&mut bytes, b'1');
    std::fs::write(&path, &bytes).expect("rewritten");
    let error = open(Arc::new(OsStorage), &options, 0).map(|_| ()).expect_err("refused");
    assert!(
        matches!(&error, PersistenceError::Format { file, found: 1, oldest: 2, newest: 7 } if file == "00000000000000000001.wal"),
        "{error}"
    );
    assert!(error.to_string().contains("format version 1; this build reads versions 2 to 7"), "{error}");
    // A newest segment holding only a header is not deleted as torn when it is whole and
    // of another version: it is refused too.
    std::fs::remove_dir_all(&dir).expect("cleaned");
    let (log, _, _) = open(Arc::new(OsStorage), &options, 0).expect("opens");
    log.close();
    let mut empty = std::fs::read(&path).expect("the segment");
    assert_eq!(empty.len() as u64, 20 + LOG_PREALLOCATE_STEP, "a header and the zeros ahead");
    restamp(&mut empty, b'8');
    for len in [empty.len(), 20] {
        std::fs::write(&path, &empty[..len]).expect("rewritten");
        let error = open(Arc::new(OsStorage), &options, 0).map(|_| ()).expect_err("refused");
        assert!(matches!(&error, PersistenceError::Format { found: 8, .. }), "{error}");
        assert!(path.exists(), "kept");
    }
    std::fs::remove_dir_all(&dir).expect("cleaned");
}

/// Sets a segment header's version digit and makes its checksum whole again.
fn restamp(header: &mut [u8], digit: u8) {
    header[7] = digit;
    let crc = crc32c::crc32c(&header[..16]);
    header[16..20].copy_from_slice(&crc.to_le_bytes());
}

// Proves a sync or retention request with no records never rotates onto the same segment
// name, even with a segment size below a header's.
#[test]
fn requests_without_records_do_not_rotate() {
    let sim = SimStorage::default();
    let (log, _, _) = open(Arc::new(sim.clone()), &sim_options(10), 0).expect("opens");
    append_all(&log, 1, 1);
    for _ in 0..3 {
        log.handle().sync().expect("queued").wait().expect("synced");
    }
    assert_eq!(append_all(&log, 2, 2), vec![2, 3]);
    assert!(log.handle().failure().is_none());
}

// Proves the tap hands on every record in LSN order and only once it is durable: in async
// mode nothing written reaches it before a sync, and what a crash loses never reached it.
#[test]
fn the_tap_sees_only_durable_records_in_order() {
    let sim = SimStorage::default();
    let (tap, tapped) = crossbeam_channel::unbounded();
    let options = LogOptions {
        mode: SyncMode::Async { interval: Duration::from_secs(3600) },
        tap: Some(tap),
        ..sim_options(1 << 20)
    };
    let (log, _, _) = open(Arc::new(sim.clone()), &options, 0).expect("opens");
    append_all(&log, 1, 10);
    assert!(tapped.try_recv().is_err(), "written, acknowledged, not durable: not handed on");
    log.handle().sync().expect("queued").wait().expect("synced");
    let seen: Vec<_> = tapped.try_iter().flatten().collect();
    assert_eq!(seen.iter().map(|d| d.lsn).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
    assert!(seen.iter().all(|d| d.kind == 1 && d.payload == payload(d.lsn)));
    append_all(&log, 11, 5); // never synced
    sim.crash(|_, _| Vec::new());
    drop(log);
    assert!(tapped.try_iter().flatten().all(|d| d.lsn <= 10), "what the crash lost was never handed on");

    let (tap, tapped) = crossbeam_channel::unbounded();
    let (log, _, replayed) =
        open(Arc::new(sim.clone()), &LogOptions { tap: Some(tap), ..sim_options(1 << 20) }, 0).expect("recovers");
    assert_eq!(replayed.len(), 10);
    append_all(&log, 11, 3);
    let seen: Vec<_> = tapped.try_iter().flatten().map(|d| d.lsn).collect();
    assert_eq!(seen, vec![11, 12, 13], "in sync mode each record is handed on once durable");
}
