//! The sled snapshot store: generations round-trip, a damaged or unfinished newest
//! generation falls back to the previous one, a fault at every step of a write leaves a
//! loadable store, and pruning keeps the two newest whole generations.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mercato_persistence::snapshot::{Part, SnapshotOptions, SnapshotStep, SnapshotStore};
use mercato_persistence::PersistenceError;

fn options(name: &str) -> SnapshotOptions {
    let dir = std::env::temp_dir().join(format!("mercato-snapshot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SnapshotOptions { dir, cache_capacity_bytes: 8 * 1024 * 1024 }
}

fn parts(lsns: &[(&str, u64)]) -> BTreeMap<String, Part> {
    lsns.iter()
        .map(|&(actor, lsn)| (actor.to_owned(), Part { lsn, bytes: format!("{actor} at {lsn}").into_bytes() }))
        .collect()
}

fn cleanup(dir: PathBuf) {
    let _ = std::fs::remove_dir_all(dir);
}

// Proves a generation reads back whole after the store is reopened, with the format version
// it was written in, and the log is kept from one past the lowest LSN of the generation
// before it.
#[test]
fn generations_round_trip_and_name_the_log_to_keep() {
    let options = options("round-trip");
    {
        let store = SnapshotStore::open(&options).expect("opens");
        assert_eq!(store.load().expect("loads"), None);
        assert_eq!(store.write(&parts(&[("demo/wh-a", 10), ("demo/wh-b", 7)])).expect("written"), 1);
        assert_eq!(store.write(&parts(&[("demo/wh-a", 30), ("demo/wh-b", 25)])).expect("written"), 2);
    }
    let store = SnapshotStore::open(&options).expect("reopens");
    let loaded = store.load().expect("loads").expect("a generation");
    assert_eq!(loaded.generation, 2);
    assert_eq!(loaded.parts, parts(&[("demo/wh-a", 30), ("demo/wh-b", 25)]));
    assert_eq!(loaded.log_from, 8, "back to the previous generation's lowest LSN");
    assert_eq!(loaded.format, mercato_persistence::codec::FORMAT_VERSION, "the version its parts are read with");
    assert!(loaded.skipped.is_empty());
    drop(store);
    cleanup(options.dir);
}

// Proves a damaged newest generation is skipped, with the reason, and the previous one
// loads; the log must then be kept from that one.
#[test]
fn a_damaged_newest_generation_falls_back_to_the_previous() {
    let options = options("damaged");
    let store = SnapshotStore::open(&options).expect("opens");
    store.write(&parts(&[("demo/wh-a", 10)])).expect("written");
    store.write(&parts(&[("demo/wh-a", 30)])).expect("written");
    store.damage(2, "demo/wh-a").expect("damaged");
    let loaded = store.load().expect("loads").expect("a generation");
    assert_eq!((loaded.generation, loaded.log_from), (1, 11));
    assert_eq!(loaded.skipped.len(), 1);
    assert!(loaded.skipped[0].1.contains("part demo/wh-a"), "{:?}", loaded.skipped);
    drop(store);
    cleanup(options.dir);
}

// Proves a whole generation of another format version is refused with an error naming
// both versions, rather than skipped for an older one or misread.
#[test]
fn a_generation_of_another_format_version_is_refused() {
    let options = options("format");
    let store = SnapshotStore::open(&options).expect("opens");
    store.write(&parts(&[("demo/wh-a", 10)])).expect("written");
    store.write(&parts(&[("demo/wh-a", 30)])).expect("written");
    store.stamp_format(2, Some(8)).expect("restamped");
    let error = store.load().map(|_| ()).expect_err("refused");
    let named = |error: &PersistenceError, version: u8, generation: &str| matches!(error, PersistenceError::Format { found, newest: 7, file, .. } if *found == version && file.contains(generation));
    assert!(named(&error, 8, "generation 2"), "{error}");
    // As the builds before format versions wrote it: no marker, version 1.
    store.stamp_format(2, None).expect("restamped");
    let error = store.load().map(|_| ()).expect_err("refused");
    assert!(named(&error, 1, "generation 2"), "{error}");
    // An older generation of another version is refused too (the log kept for it would
    // be counted from it), and pruning does not delete it.
    store.stamp_format(2, Some(2)).expect("restamped");
    store.stamp_format(1, Some(8)).expect("restamped");
    let error = store.load().map(|_| ()).expect_err("refused");
    assert!(named(&error, 8, "generation 1"), "{error}");
    store.write(&parts(&[("demo/wh-a", 40)])).expect("written");
    store.write(&parts(&[("demo/wh-a", 50)])).expect("written");
    store.prune().expect("pruned");
    for generation in [3, 4] {
        store.damage(generation, "demo/wh-a").expect("damaged");
    }
    let error = store.load().map(|_| ()).expect_err("refused");
    assert!(named(&error, 8, "generation 1"), "{error}");
    drop(store);
    cleanup(options.dir);
}

// Proves a fault at any step of writing a generation fails the write, and the store still
// loads: the previous generation when the new one was never finished, either one when only
// the flush or fsync failed (a whole generation the log still covers is as good).
#[test]
fn a_fault_at_any_step_leaves_a_loadable_store() {
    for step in [SnapshotStep::Part, SnapshotStep::Manifest, SnapshotStep::Flush, SnapshotStep::Fsync] {
        let options = options(&format!("fault-{step:?}"));
        {
            let store = SnapshotStore::open(&options).expect("opens");
            store.write(&parts(&[("demo/wh-a", 10), ("demo/wh-b", 12)])).expect("written");
            store.fail_at(step);
            let error = store.write(&parts(&[("demo/wh-a", 30), ("demo/wh-b", 31)])).expect_err("the fault");
            assert!(error.to_string().contains("injected"), "{step:?}: {error}");
        }
        let store = SnapshotStore::open(&options).expect("reopens");
        let loaded = store.load().expect("loads").expect("a generation");
        match step {
            // The first part failed: nothing of the new generation exists.
            SnapshotStep::Part => assert_eq!((loaded.generation, loaded.skipped.len()), (1, 0)),
            SnapshotStep::Manifest => {
                assert_eq!(loaded.generation, 1);
                assert_eq!(loaded.skipped.len(), 1, "the unfinished one is named");
                assert!(loaded.skipped[0].1.contains("no manifest"), "{:?}", loaded.skipped);
            }
            SnapshotStep::Flush | SnapshotStep::Fsync => assert!(loaded.generation <= 2, "{step:?}"),
        }
        assert_eq!(loaded.log_from, 11, "{step:?}");
        // The next write succeeds and becomes the newest.
        let next = store.write(&parts(&[("demo/wh-a", 40), ("demo/wh-b", 41)])).expect("written");
        assert_eq!(store.load().expect("loads").expect("a generation").generation, next, "{step:?}");
        drop(store);
        cleanup(options.dir);
    }
}

// Proves pruning keeps the two newest whole generations and removes the rest.
#[test]
fn pruning_keeps_the_two_newest_whole_generations() {
    let options = options("prune");
    let store = SnapshotStore::open(&options).expect("opens");
    for lsn in [10, 20, 30, 40] {
        store.write(&parts(&[("demo/wh-a", lsn)])).expect("written");
    }
    assert_eq!(store.prune().expect("pruned"), 2);
    let loaded = store.load().expect("loads").expect("a generation");
    assert_eq!((loaded.generation, loaded.log_from), (4, 31));
    store.damage(4, "demo/wh-a").expect("damaged");
    let loaded = store.load().expect("loads").expect("a generation");
    assert_eq!((loaded.generation, loaded.log_from), (3, 31));
    drop(store);
    cleanup(options.dir);
}

mod model {
    //! A model test of the snapshot store: random writes (some failing at a step), damage,
    //! pruning and reopening, against a reference list of generations.

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        /// Writes a generation of two parts at LSNs `base` and `base + 1`.
        Write(u8),
        /// The same, failing at a step.
        WriteFailing(u8, u8),
        /// Damages a part of the `n`th whole generation from the newest.
        Damage(u8),
        Prune,
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<u8>().prop_map(Op::Write),
            2 => (any::<u8>(), 0u8..4).prop_map(|(b, s)| Op::WriteFailing(b, s)),
            1 => (0u8..3).prop_map(Op::Damage),
            1 => Just(Op::Prune),
            1 => Just(Op::Reopen),
        ]
    }

    #[derive(Debug, Clone)]
    struct Generation {
        number: u64,
        lowest: u64,
        /// Loads whole: finished and undamaged.
        whole: bool,
    }

    fn step(s: u8) -> SnapshotStep {
        [SnapshotStep::Part, SnapshotStep::Manifest, SnapshotStep::Flush, SnapshotStep::Fsync][usize::from(s % 4)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        // Proves `load` always gives the newest whole generation, and `log_from` always
        // reaches back to the whole generation before it, whatever writes failed, parts
        // were damaged, generations pruned or the store reopened.
        #[test]
        fn load_gives_the_newest_whole_generation(ops in prop::collection::vec(op(), 1..16)) {
            let options = options(&format!("model-{}", case_number()));
            let mut store = Some(SnapshotStore::open(&options).expect("opens"));
            let mut reference: Vec<Generation> = Vec::new();
            let mut next = 1u64;
            for op in ops {
                let current = store.as_ref().expect("open");
                match op {
                    Op::Write(base) | Op::WriteFailing(base, _) => {
                        let base = u64::from(base) * 10;
                        if let Op::WriteFailing(_, s) = op {
                            current.fail_at(step(s));
                        }
                        let failing = matches!(op, Op::WriteFailing(..));
                        let written = current.write(&parts(&[("demo/wh-a", base + 1), ("demo/wh-b", base)]));
                        prop_assert_eq!(written.is_err(), failing);
                        let unfinished = matches!(op, Op::WriteFailing(_, s) if s % 4 < 2);
                        // A fault before the first part leaves nothing behind.
                        let nothing = matches!(op, Op::WriteFailing(_, s) if s % 4 == 0);
                        if !nothing {
                            reference.push(Generation { number: next, lowest: base, whole: !unfinished });
                            next += 1;
                        }
                    }
                    Op::Damage(n) => {
                        let whole: Vec<usize> = (0..reference.len()).rev().filter(|&i| reference[i].whole).collect();
                        if let Some(&i) = whole.get(usize::from(n)) {
                            current.damage(reference[i].number, "demo/wh-a").expect("damaged");
                            reference[i].whole = false;
                        }
                    }
                    Op::Prune => {
                        current.prune().expect("pruned");
                        let whole: Vec<u64> = reference.iter().rev().filter(|g| g.whole).take(2).map(|g| g.number).collect();
                        let newest_whole = whole.first().copied().unwrap_or(0);
                        reference.retain(|g| whole.contains(&g.number) || g.number > newest_whole);
                    }
                    Op::Reopen => {
                        drop(store.take());
                        store = Some(SnapshotStore::open(&options).expect("reopens"));
                    }
                }
                let loaded = store.as_ref().expect("open").load().expect("loads");
                let mut whole = reference.iter().rev().filter(|g| g.whole);
                match (loaded, whole.next()) {
                    (None, None) => {}
                    (Some(loaded), Some(newest)) => {
                        prop_assert_eq!(loaded.generation, newest.number);
                        let before = whole.next().unwrap_or(newest);
                        prop_assert_eq!(loaded.log_from, before.lowest + 1);
                    }
                    (loaded, newest) => {
                        return Err(TestCaseError::fail(format!("loaded {loaded:?}, expected {newest:?}")));
                    }
                }
            }
            drop(store);
            cleanup(options.dir);
        }
    }

    /// Distinct folders for the cases of one run.
    fn case_number() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
}

// Proves the store closes in bounded time with its folder pulled from under it (the sled
// store of earlier versions flushed when its last handle dropped and, after an i/o error,
// waited there for ever, which hung the node's shutdown after a failed snapshot).
#[test]
fn the_store_closes_after_an_io_failure() {
    let options = options("io-failure");
    let store = SnapshotStore::open(&options).expect("opens");
    store.write(&parts(&[("demo/wh-a", 10)])).expect("written");
    std::fs::remove_dir_all(&options.dir).expect("the folder removed under the store");
    let big = BTreeMap::from([("demo/wh-a".to_owned(), Part { lsn: 20, bytes: vec![7; 1 << 20] })]);
    // The file is still open: the write may land in it or fail, but must return.
    let _ = store.write(&big);
    let (closed, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(store);
        let _ = closed.send(());
    });
    assert!(done.recv_timeout(std::time::Duration::from_secs(20)).is_ok(), "the store did not close");
    cleanup(options.dir);
}

// Proves a part far larger than the store's largest value is written in chunks and loads
// back byte for byte, next to small parts, after reopening; and that a chunk lost from
// the middle makes the generation fall back rather than load short.
#[test]
fn a_part_larger_than_any_chunk_is_written_and_loaded() {
    let options = options("chunked");
    let large: Vec<u8> = (0..3_000_000u32).flat_map(|n| n.to_le_bytes()).collect();
    let mut written = parts(&[("demo/wh-a", 10), ("demo/wh-b", 12)]);
    written.insert("demo/orders".into(), Part { lsn: 11, bytes: large.clone() });
    {
        let store = SnapshotStore::open(&options).expect("opens").with_chunk_bytes(64 * 1024);
        store.write(&parts(&[("demo/wh-a", 1)])).expect("written");
        assert_eq!(store.write(&written).expect("written"), 2);
    }
    let store = SnapshotStore::open(&options).expect("reopens");
    let loaded = store.load().expect("loads").expect("a generation");
    assert_eq!(loaded.generation, 2);
    assert_eq!(loaded.parts["demo/orders"].bytes.len(), large.len(), "12 MB in 64 KiB chunks");
    assert_eq!(loaded.parts, written);
    store.drop_chunk(2, "demo/orders", 100).expect("a chunk removed");
    let loaded = store.load().expect("loads").expect("a generation");
    assert_eq!(loaded.generation, 1, "a part missing a chunk fails its checksum");
    drop(store);
    cleanup(options.dir);
}
