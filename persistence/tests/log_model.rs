//! A model test of the log on the simulated disk: random appends, syncs, retention, clean
//! restarts, crashes with torn tails, injected faults and bit flips, checked against an
//! in-memory reference of what was written and what was acknowledged.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mercato_persistence::log::{Log, LogOptions, Lsn, SyncMode};
use mercato_persistence::sim::{FaultPoint, SimStorage};
use mercato_persistence::storage::Storage;
use mercato_persistence::PersistenceError;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Torn {
    Nothing,
    /// Keeps this share (in 256ths) of each unsynced tail.
    Prefix(u8),
    /// Keeps garbage of this length.
    Garbage(u8),
}

#[derive(Debug, Clone)]
enum Op {
    /// Payload lengths of records appended together.
    Append(Vec<u8>),
    Sync,
    /// Deletes segments below a point chosen (in 256ths) among the durable records; the
    /// reference then recovers from just below that point, as after a snapshot.
    Retain(u8),
    Restart,
    Crash(Torn),
    /// The next `after` calls of a point succeed, then one fails.
    Fault(FaultPoint, u32),
    /// Flips a bit in an older segment: the next start must refuse, naming it.
    FlipOlder(u16, u8),
}

fn torn() -> impl Strategy<Value = Torn> {
    prop_oneof![Just(Torn::Nothing), any::<u8>().prop_map(Torn::Prefix), any::<u8>().prop_map(Torn::Garbage)]
}

fn point() -> impl Strategy<Value = FaultPoint> {
    prop_oneof![
        Just(FaultPoint::Write),
        Just(FaultPoint::Sync),
        Just(FaultPoint::Create),
        Just(FaultPoint::SyncDir),
        Just(FaultPoint::Remove),
        Just(FaultPoint::Rename),
        Just(FaultPoint::Truncate),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => prop::collection::vec(0u8..120, 1..12).prop_map(Op::Append),
        2 => Just(Op::Sync),
        1 => any::<u8>().prop_map(Op::Retain),
        1 => Just(Op::Restart),
        2 => torn().prop_map(Op::Crash),
        1 => (point(), 0u32..4).prop_map(|(p, n)| Op::Fault(p, n)),
        1 => (any::<u16>(), any::<u8>()).prop_map(|(at, bit)| Op::FlipOlder(at, bit)),
    ]
}

fn payload(serial: u64, len: u8) -> Vec<u8> {
    let mut bytes = serial.to_le_bytes().to_vec();
    bytes.resize(8 + usize::from(len), u8::try_from(serial % 251).expect("below 251"));
    bytes
}

const DIR: &str = "/wal";

struct Harness {
    sim: SimStorage,
    options: LogOptions,
    log: Option<Log>,
    /// Records the log took, by LSN - 1: acknowledged ones first, then any whose fate is
    /// unknown (their batch failed, or the log stopped with them queued).
    written: Vec<Vec<u8>>,
    /// Records known durable (sync mode: acknowledged; async: explicitly synced).
    durable: u64,
    /// The LSN the recovered state includes (as if a snapshot covered it).
    after: Lsn,
    serial: u64,
}

impl Harness {
    fn open(&mut self) -> Result<(), TestCaseError> {
        let mut replayed: Vec<(Lsn, Vec<u8>)> = Vec::new();
        let attempt = |replayed: &mut Vec<(Lsn, Vec<u8>)>| {
            replayed.clear();
            Log::open(Arc::new(self.sim.clone()), self.options.clone(), self.after, |record| {
                assert_eq!(record.kind, 7);
                replayed.push((record.lsn, record.payload.to_vec()));
                Ok(())
            })
        };
        let opened = match attempt(&mut replayed) {
            // A fault still armed hit the start: the start fails, and the next one works.
            Err(PersistenceError::Io(error)) if error.to_string().contains("injected") => {
                self.sim.clear_faults();
                attempt(&mut replayed)
            }
            other => other,
        };
        let (log, recovered) = opened.map_err(|e| TestCaseError::fail(format!("recovery failed: {e}")))?;
        let last = recovered.next_lsn - 1;
        prop_assert!(last >= self.durable, "durable record {} lost: the log ends at {last}", self.durable);
        prop_assert!(
            last <= self.written.len() as u64,
            "the log holds {last} records, only {} written",
            self.written.len()
        );
        let expected: Vec<(Lsn, Vec<u8>)> = (self.after + 1..=last)
            .map(|lsn| (lsn, self.written[usize::try_from(lsn - 1).expect("small")].clone()))
            .collect();
        prop_assert_eq!(replayed, expected, "every record after {} exactly once, in order", self.after);
        self.written.truncate(usize::try_from(last).expect("small"));
        self.durable = last;
        self.log = Some(log);
        Ok(())
    }

    fn append(&mut self, lengths: &[u8]) {
        let log = self.log.as_ref().expect("open");
        let handle = log.handle();
        let mut receipts = Vec::new();
        for &len in lengths {
            self.serial += 1;
            let bytes = payload(self.serial, len);
            if let Ok(receipt) = handle.append(7, bytes.clone()) {
                receipts.push((bytes, receipt));
            }
        }
        let mut unknown = false;
        for (bytes, receipt) in receipts {
            match receipt.wait() {
                Ok(lsn) => {
                    assert!(!unknown, "a record acknowledged after one that failed");
                    assert_eq!(lsn, self.written.len() as u64 + 1, "LSNs follow the order of appends");
                    self.written.push(bytes);
                    if self.options.mode == SyncMode::Sync {
                        self.durable = lsn;
                    }
                }
                Err(_) => {
                    unknown = true;
                    self.written.push(bytes);
                }
            }
        }
    }

    fn crash(&mut self, torn: &Torn) {
        self.sim.crash(|_, unsynced| match torn {
            Torn::Nothing => Vec::new(),
            Torn::Prefix(share) => unsynced[..unsynced.len() * usize::from(*share) / 256].to_vec(),
            // Only bytes that were written can come back damaged.
            Torn::Garbage(_) if unsynced.is_empty() => Vec::new(),
            Torn::Garbage(len) => (0..*len).map(|i| i.wrapping_mul(37)).collect(),
        });
        self.log = None;
    }

    fn older_segments(&self) -> Vec<String> {
        let mut firsts: Vec<Lsn> = self
            .sim
            .list(Path::new(DIR))
            .expect("listed")
            .iter()
            .filter_map(|n| n.strip_suffix(".wal").and_then(|d| d.parse().ok()))
            .collect();
        firsts.sort_unstable();
        let start = firsts.iter().rposition(|&f| f <= self.after + 1).unwrap_or(0);
        let in_range = &firsts[start..];
        in_range[..in_range.len().saturating_sub(1)].iter().map(|f| format!("{f:020}.wal")).collect()
    }
}

fn run(ops: Vec<Op>, mode: SyncMode) -> Result<(), TestCaseError> {
    let mut harness = Harness {
        sim: SimStorage::default(),
        options: LogOptions { segment_bytes: 400, mode, ..LogOptions::new(DIR) },
        log: None,
        written: Vec::new(),
        durable: 0,
        after: 0,
        serial: 0,
    };
    harness.open()?;
    for op in ops {
        if harness.log.as_ref().is_some_and(|log| log.handle().failure().is_some()) {
            // A stopped log means a stopped node: it crashes and restarts.
            harness.crash(&Torn::Nothing);
            harness.open()?;
        }
        match op {
            Op::Append(lengths) => harness.append(&lengths),
            Op::Sync => {
                let log = harness.log.as_ref().expect("open");
                if let Ok(Ok(lsn)) = log.handle().sync().map(|r| r.wait()) {
                    harness.durable = harness.durable.max(lsn);
                }
            }
            Op::Retain(share) => {
                let point = harness.durable * u64::from(share) / 256;
                let log = harness.log.as_ref().expect("open");
                if point > harness.after {
                    // The snapshot covering `point` exists before anything is deleted, so
                    // recovery starts there whether or not every deletion succeeds.
                    harness.after = point;
                    if let Ok(answer) = log.handle().retain_from(point + 1) {
                        let _ = answer.blocking_recv();
                    }
                }
            }
            Op::Restart => {
                harness.log.take().expect("open").close();
                harness.open()?;
            }
            Op::Crash(torn) => {
                harness.crash(&torn);
                harness.open()?;
            }
            Op::Fault(point, after) => harness.sim.fail(point, after),
            Op::FlipOlder(at, bit) => {
                let older = harness.older_segments();
                if older.is_empty() {
                    continue;
                }
                harness.log.take().expect("open").close();
                harness.sim.clear_faults();
                let name = &older[usize::from(at) % older.len()];
                let len = harness.sim.len(Path::new(DIR), name).expect("exists");
                let offset = usize::from(at) % len;
                harness.sim.flip_bit(Path::new(DIR), name, offset, bit);
                let refused =
                    Log::open(Arc::new(harness.sim.clone()), harness.options.clone(), harness.after, |_| Ok(()));
                match refused {
                    Err(PersistenceError::Corruption { file, .. }) => prop_assert_eq!(&file, name),
                    Err(other) => return Err(TestCaseError::fail(format!("expected corruption, got {other}"))),
                    Ok(_) => {
                        return Err(TestCaseError::fail(format!("a flipped bit at {name}:{offset} went unnoticed")))
                    }
                }
                harness.sim.flip_bit(Path::new(DIR), name, offset, bit);
                harness.open()?;
            }
        }
    }
    harness.sim.clear_faults();
    if let Some(log) = harness.log.take() {
        log.close();
    }
    harness.open()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    // Proves, in sync mode, every acknowledged record survives any crash, torn tail, fault
    // or restart exactly once and in order, nothing unwritten ever appears, and damage to
    // an older segment is always refused by name.
    #[test]
    fn sync_mode_keeps_every_acknowledged_record(ops in prop::collection::vec(op(), 1..40)) {
        run(ops, SyncMode::Sync)?;
    }

    // Proves, in async mode, every explicitly synced record survives, and what comes back
    // is always an exact prefix of what was written.
    #[test]
    fn async_mode_keeps_every_synced_record(ops in prop::collection::vec(op(), 1..40)) {
        run(ops, SyncMode::Async { interval: Duration::from_secs(3600) })?;
    }
}
