//! The write-ahead log on this machine's disk: durable appends per second and commit
//! latency with 1, 64 and 1,024 writers in flight (sync mode: each acknowledged after its
//! batch's `fdatasync`), the same with every `fdatasync` slowed to at least 4 ms,
//! recovery time for a million records, and a snapshot of a million stock records written
//! to and loaded from the snapshot store.
//!
//! Run: `cargo bench -p mercato-benches --bench log`. Figures go to RESULTS.md. Data goes
//! under cargo's target folder (the project's disk, not a tmpfs).

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mercato_persistence::log::{Log, LogOptions, SyncMode};
use mercato_persistence::storage::{AppendFile, OsStorage, Storage};
use mercato_persistence::PersistenceError;

/// About the size of an encoded reservation event.
const PAYLOAD_BYTES: usize = 120;
const RUN: Duration = Duration::from_secs(4);
const RECOVERY_RECORDS: u64 = 1_000_000;
const SNAPSHOT_RECORDS: u64 = 1_000_000;

/// The real disk, recording how long each `fdatasync` takes, and making each take at
/// least `floor` (zero: the disk as it is). With `growing`, segments are not zeroed ahead
/// of their records (as before the log preallocated them): every sync also commits the
/// file's new size and blocks.
struct Timed {
    floor: Duration,
    growing: bool,
    syncs: Arc<Mutex<Vec<Duration>>>,
}

impl Timed {
    fn new(floor: Duration) -> Self {
        Self { floor, growing: false, syncs: Arc::default() }
    }

    fn growing(self) -> Self {
        Self { growing: true, ..self }
    }
}

struct TimedFile {
    inner: Box<dyn AppendFile>,
    floor: Duration,
    growing: bool,
    syncs: Arc<Mutex<Vec<Duration>>>,
}

impl AppendFile for TimedFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let started = Instant::now();
        self.inner.sync_data()?;
        std::thread::sleep(self.floor.saturating_sub(started.elapsed()));
        self.syncs.lock().expect("sync times").push(started.elapsed());
        Ok(())
    }

    fn preallocate(&mut self, len: u64) -> io::Result<()> {
        if self.growing {
            Ok(())
        } else {
            self.inner.preallocate(len)
        }
    }
}

impl Storage for Timed {
    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        OsStorage.create_dir(dir)
    }
    fn create(&self, dir: &Path, name: &str) -> io::Result<Box<dyn AppendFile>> {
        let inner = OsStorage.create(dir, name)?;
        Ok(Box::new(TimedFile { inner, floor: self.floor, growing: self.growing, syncs: Arc::clone(&self.syncs) }))
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        OsStorage.list(dir)
    }
    fn read(&self, dir: &Path, name: &str) -> io::Result<Vec<u8>> {
        OsStorage.read(dir, name)
    }
    fn rename(&self, dir: &Path, from: &str, to: &str) -> io::Result<()> {
        OsStorage.rename(dir, from, to)
    }
    fn truncate(&self, dir: &Path, name: &str, len: u64) -> io::Result<()> {
        OsStorage.truncate(dir, name, len)
    }
    fn remove(&self, dir: &Path, name: &str) -> io::Result<()> {
        OsStorage.remove(dir, name)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        OsStorage.sync_dir(dir)
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("log-bench-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The value below which `per_mille` thousandths of `sorted` lie.
fn percentile(sorted: &[Duration], per_mille: usize) -> Duration {
    sorted.get(sorted.len().saturating_sub(1) * per_mille / 1000).copied().unwrap_or_default()
}

/// Keeps `writers` appends in flight for `RUN`: each writer appends, waits for its
/// receipt, and appends again. One thread drives them all (a second one only takes CPU
/// from the log's writer on two cores). Prints appends/s, commit latency and the disk's
/// own sync times.
fn appends(label: &str, storage: Timed, writers: usize) {
    let dir = fresh_dir(label);
    let options = LogOptions::new(&dir);
    let syncs = Arc::clone(&storage.syncs);
    let (log, _) = Log::open(Arc::new(storage), options, 0, |_| Ok(())).expect("opens");
    let started = Instant::now();
    let threads = 1;
    let drivers: Vec<_> = (0..threads)
        .map(|t| {
            let handle = log.handle();
            let mine = writers / threads + usize::from(t < writers % threads);
            std::thread::spawn(move || {
                let payload = vec![7u8; PAYLOAD_BYTES];
                let mut in_flight = VecDeque::with_capacity(mine);
                let mut latencies = Vec::new();
                for _ in 0..mine {
                    in_flight.push_back((Instant::now(), handle.append(1, payload.clone()).expect("queued")));
                }
                while started.elapsed() < RUN {
                    let (sent, receipt) = in_flight.pop_front().expect("writers in flight");
                    receipt.wait().expect("durable");
                    latencies.push(sent.elapsed());
                    in_flight.push_back((Instant::now(), handle.append(1, payload.clone()).expect("queued")));
                }
                for (_, receipt) in in_flight {
                    receipt.wait().expect("durable");
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = drivers.into_iter().flat_map(|d| d.join().expect("a driver")).collect();
    let elapsed = started.elapsed();
    let writer_cpu = writer_ticks();
    log.close();
    latencies.sort_unstable();
    let mut syncs = syncs.lock().expect("sync times").clone();
    syncs.sort_unstable();
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    println!(
        "log/appends/{label}: writers {writers:>5}  {:>9.0} appends/s  p50 {:>7.3} ms  p99 {:>7.3} ms  \
         ({} appends; {} syncs, {:.0} per sync, sync p50 {:.3} ms p99 {:.3} ms; writer CPU {:.0} µs per sync)",
        rate,
        percentile(&latencies, 500).as_secs_f64() * 1e3,
        percentile(&latencies, 990).as_secs_f64() * 1e3,
        latencies.len(),
        syncs.len(),
        latencies.len() as f64 / syncs.len().max(1) as f64,
        percentile(&syncs, 500).as_secs_f64() * 1e3,
        percentile(&syncs, 990).as_secs_f64() * 1e3,
        writer_cpu.unwrap_or(0) as f64 * 10_000.0 / syncs.len().max(1) as f64,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// CPU time the log's writer thread has used, in ticks of 10 ms (Linux `/proc`).
fn writer_ticks() -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == "mercato-log" {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // Fields after the command's closing parenthesis; utime and stime are 14 and 15.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            return Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?);
        }
    }
    None
}

/// Writes a million records, then times opening the log and replaying them all.
fn recovery() {
    let dir = fresh_dir("recovery");
    let options = LogOptions { mode: SyncMode::Async { interval: Duration::from_millis(50) }, ..LogOptions::new(&dir) };
    let (log, _) = Log::open(Arc::new(OsStorage), options.clone(), 0, |_| Ok(())).expect("opens");
    let handle = log.handle();
    let payload = vec![7u8; PAYLOAD_BYTES];
    let mut pending = VecDeque::new();
    for _ in 0..RECOVERY_RECORDS {
        pending.push_back(handle.append(1, payload.clone()).expect("queued"));
        if pending.len() >= 32_768 {
            pending.pop_front().expect("pending").wait().expect("written");
        }
    }
    for receipt in pending {
        receipt.wait().expect("written");
    }
    drop(handle);
    log.close();
    let bytes: u64 =
        std::fs::read_dir(&dir).expect("a folder").map(|e| e.expect("entry").metadata().expect("meta").len()).sum();
    let started = Instant::now();
    let mut replayed = 0u64;
    let mut payload_bytes = 0usize;
    let (log, recovered) = Log::open(Arc::new(OsStorage), options, 0, |record| {
        replayed += 1;
        payload_bytes += record.payload.len();
        Ok::<(), PersistenceError>(())
    })
    .expect("recovers");
    let elapsed = started.elapsed();
    assert_eq!((replayed, recovered.records_replayed), (RECOVERY_RECORDS, RECOVERY_RECORDS));
    assert_eq!(payload_bytes, PAYLOAD_BYTES * usize::try_from(RECOVERY_RECORDS).expect("fits"));
    println!(
        "log/recovery: {RECOVERY_RECORDS} records ({:.0} MiB in segments) read and checked in {:.3} s",
        bytes as f64 / (1024.0 * 1024.0),
        elapsed.as_secs_f64()
    );
    log.close();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes a warehouse of a million stock records as one snapshot generation, durably, then
/// reopens the store and loads and decodes it.
fn snapshots() {
    use mercato_actors::stored::{self, PartOf, WarehouseSnapshot};
    use mercato_engine::inventory::{InventoryEvent, WarehouseStock};
    use mercato_persistence::snapshot::{Part, SnapshotOptions, SnapshotStore};

    let mut stock = WarehouseStock::new("wh-bench");
    for i in 0..SNAPSHOT_RECORDS {
        stock.apply_owned(InventoryEvent::StockReceived { sku: format!("SKU-{i:07}"), quantity: 100 });
    }
    let options = SnapshotOptions { dir: fresh_dir("snapshot"), cache_capacity_bytes: 64 * 1024 * 1024 };
    let started = Instant::now();
    let snapshot =
        WarehouseSnapshot { commerce: "bench".into(), warehouse: "wh-bench".into(), stock, remembered: Vec::new() };
    let bytes = stored::warehouse_part(&snapshot).expect("encodes");
    let encoded = started.elapsed();
    let size = bytes.len();
    let store = SnapshotStore::open(&options).expect("opens");
    let key = stored::warehouse_part_key("bench", "wh-bench");
    let parts = [(key.clone(), Part { lsn: 1, bytes })].into_iter().collect();
    let started = Instant::now();
    store.write(&parts).expect("written");
    let written = started.elapsed();
    drop(store);
    let started = Instant::now();
    let store = SnapshotStore::open(&options).expect("reopens");
    let loaded = store.load().expect("loads").expect("a generation");
    let read = started.elapsed();
    let started = Instant::now();
    let back = stored::decode_part(loaded.format, &key, &loaded.parts[&key].bytes).expect("decodes");
    let decoded = started.elapsed();
    assert_eq!(back, PartOf::Warehouse(snapshot));
    println!(
        "snapshot: {SNAPSHOT_RECORDS} stock records, {:.1} MiB: encode {:.3} s, write+fsync {:.3} s, open+load+verify {:.3} s, decode {:.3} s",
        size as f64 / (1024.0 * 1024.0),
        encoded.as_secs_f64(),
        written.as_secs_f64(),
        read.as_secs_f64(),
        decoded.as_secs_f64()
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&options.dir);
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks runs by label.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |label: &str| filter.as_deref().is_none_or(|f| label.contains(f));
    for writers in [1, 64, 1024] {
        let label = format!("disk-{writers}");
        if wanted(&label) {
            appends(&label, Timed::new(Duration::ZERO), writers);
        }
        // The same without zeroing segments ahead, right after, on the same disk.
        let label = format!("growing-{writers}");
        if wanted(&label) {
            appends(&label, Timed::new(Duration::ZERO).growing(), writers);
        }
    }
    for writers in [64, 1024, 4096] {
        let label = format!("slow4ms-{writers}");
        if wanted(&label) {
            appends(&label, Timed::new(Duration::from_millis(4)), writers);
        }
    }
    if wanted("recovery") {
        recovery();
    }
    if wanted("snapshot") {
        snapshots();
    }
}
