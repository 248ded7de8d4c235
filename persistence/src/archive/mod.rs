//! The archive of finished orders: bytes by commerce and order id, with the indexes the
//! reads need, apart from the snapshots and the log. The orders' bytes are in segment files
//! of bounded size (`segments`); the index (`DIR/store.redb`, one table) holds where each
//! is, the list, the invoices and the series.
//!
//! An order is written here once nothing can change it any more, and only then leaves
//! memory; the next snapshot no longer holds it and the log segments that did are
//! trimmed. A batch of orders is one durable transaction (the order, its place in the
//! list, its invoices, its series' last numbers): the orders' bytes are written in the
//! newest segment first, durably, then the index, durably. An order is archived once the
//! index holds it; bytes a crash left in a segment without their index entry are never
//! read. Writing the same order again (a crash came between the archive's write and the
//! order leaving memory) puts the same keys: nothing is duplicated.
//!
//! Keys, each after its commerce and a unit separator:
//! - `p` id → the segment holding it (little-endian `u32`) and the LSN it was archived at
//!   (little-endian `u64`); in that segment, `o` id → the
//!   LSN it was archived at and the order's bytes, framed with their CRC32C;
//! - `o` id → the same frame, in the index itself: orders archived before the segments,
//!   read as before;
//! - `l` placement time (20 digits, offset so that it sorts) and id → nothing: the list,
//!   in the back office's order (newest last);
//! - `i` invoice number → order id;
//! - `s` series → its last number (little-endian `u32`), only ever raised.

use std::ops::Bound;
use std::path::Path;
use std::time::Instant;

use crate::error::PersistenceError;
use crate::kv::Kv;

mod segments;

pub use segments::SEGMENT_BYTES;
use segments::{Segments, ORDERS};

const TABLE: &str = "archive";

/// One finished order as the archive takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedOrder {
    pub id: String,
    /// When it was placed (milliseconds): its place in the list.
    pub placed_at: i64,
    /// Its invoices' and credit notes' numbers, with each series' number.
    pub invoices: Vec<(String, String, u32)>,
    /// The order, encoded by its owner.
    pub bytes: Vec<u8>,
    /// The last LSN the log had handed out when it was taken for the archive: a snapshot
    /// covering this LSN (or a later one) no longer needs to hold it, and an audit replay
    /// from an older snapshot does not show it.
    pub lsn: u64,
}

/// An order that left memory for the archive, as the archive tells whoever follows it:
/// its commerce, its id and its last record's LSN (it takes no record after).
pub type Left = (String, String, u64);

/// What the archive tells: the tell's number (from 1, counted from the start) and the
/// orders that left memory.
pub type Told = (u64, Vec<Left>);

pub struct Archive {
    kv: Kv,
    segments: Segments,
    /// Told of every order that left memory for the archive (`tell_left`): the outbox,
    /// which then lets go of what it kept to derive the order's events.
    tell: Option<crossbeam_channel::Sender<Told>>,
    /// How many tells so far.
    told: std::sync::atomic::AtomicU64,
    /// The next `put` fails before it writes anything (tests).
    fail_next: std::sync::atomic::AtomicBool,
    /// The next `put` fails after its segment's write, before the index's (tests).
    fail_index_next: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive").field("dir", &self.kv.dir()).finish()
    }
}

const SEP: char = '\u{1f}';

fn key(kind: char, commerce: &str, rest: &str) -> Vec<u8> {
    format!("{kind}{SEP}{commerce}{SEP}{rest}").into_bytes()
}

/// A placement time as 20 digits that sort as the times do (negative ones included).
fn placed_digits(placed_at: i64) -> String {
    format!("{:020}", placed_at.cast_unsigned() ^ (1 << 63))
}

fn unplaced(digits: &str) -> Option<i64> {
    let offset: u64 = digits.parse().ok()?;
    Some((offset ^ (1 << 63)).cast_signed())
}

/// CRC32C, then the LSN, then the bytes.
fn frame(lsn: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0; 4];
    out.extend_from_slice(&lsn.to_le_bytes());
    out.extend_from_slice(bytes);
    let crc = crc32c::crc32c(&out[4..]);
    out[..4].copy_from_slice(&crc.to_le_bytes());
    out
}

fn unframe(id: &str, framed: &[u8]) -> Result<(u64, Vec<u8>), PersistenceError> {
    let damaged = || PersistenceError::Codec(format!("the archived order {id} fails its checksum"));
    let (crc, rest) = framed.split_first_chunk::<4>().ok_or_else(damaged)?;
    if u32::from_le_bytes(*crc) != crc32c::crc32c(rest) {
        return Err(damaged());
    }
    let (lsn, bytes) = rest.split_first_chunk::<8>().ok_or_else(damaged)?;
    Ok((u64::from_le_bytes(*lsn), bytes.to_vec()))
}

impl Archive {
    /// Opens (or creates) the archive in `dir`, with a page cache of `cache_bytes` for the
    /// index and a quarter of it for each open segment, segments of `SEGMENT_BYTES`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Self, PersistenceError> {
        Self::open_sized(dir, cache_bytes, SEGMENT_BYTES)
    }

    /// Opens (or creates) the archive in `dir`, starting a new segment once one's file
    /// passes `segment_bytes`.
    pub fn open_sized(dir: &Path, cache_bytes: u64, segment_bytes: u64) -> Result<Self, PersistenceError> {
        let kv = Kv::open(dir, &[TABLE], cache_bytes)?;
        let segments = Segments::open(&dir.join("segments"), (cache_bytes / 4).max(1 << 20), segment_bytes)?;
        Ok(Self {
            kv,
            segments,
            tell: None,
            told: std::sync::atomic::AtomicU64::new(0),
            fail_next: std::sync::atomic::AtomicBool::new(false),
            fail_index_next: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The archive, telling `to` of the orders that leave memory for it (`tell_left`). A
    /// receiver gone is ignored.
    #[must_use]
    pub fn telling(mut self, to: crossbeam_channel::Sender<Told>) -> Self {
        self.tell = Some(to);
        self
    }

    /// Writes `orders` of `commerce` in one atomic batch and makes it durable.
    pub fn put(&self, commerce: &str, orders: &[ArchivedOrder]) -> Result<(), PersistenceError> {
        if orders.is_empty() {
            return Ok(());
        }
        if self.fail_next.swap(false, std::sync::atomic::Ordering::AcqRel) {
            return Err(PersistenceError::Io(std::io::Error::other("injected fault: the archive's write")));
        }
        let started = Instant::now();
        let segment = self.segments.write(|batch| {
            for order in orders {
                batch.insert(ORDERS, &key('o', commerce, &order.id), &frame(order.lsn, &order.bytes))?;
            }
            Ok(())
        })?;
        if self.fail_index_next.swap(false, std::sync::atomic::Ordering::AcqRel) {
            return Err(PersistenceError::Io(std::io::Error::other("injected fault: the archive index's write")));
        }
        self.kv.write(true, |batch| {
            let mut series: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
            for order in orders {
                let mut at = segment.to_le_bytes().to_vec();
                at.extend_from_slice(&order.lsn.to_le_bytes());
                batch.insert(TABLE, &key('p', commerce, &order.id), &at)?;
                batch.remove(TABLE, &key('o', commerce, &order.id))?;
                let place = format!("{}{SEP}{}", placed_digits(order.placed_at), order.id);
                batch.insert(TABLE, &key('l', commerce, &place), &[])?;
                for (number, name, seq) in &order.invoices {
                    batch.insert(TABLE, &key('i', commerce, number), order.id.as_bytes())?;
                    let last = series.entry(name).or_insert(0);
                    *last = (*last).max(*seq);
                }
            }
            for (name, seq) in series {
                let stored = batch.get(TABLE, &key('s', commerce, name))?;
                let last = stored.and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok()).map_or(0, u32::from_le_bytes);
                batch.insert(TABLE, &key('s', commerce, name), &last.max(seq).to_le_bytes())?;
            }
            Ok(())
        })?;
        metrics::histogram!("mercato_archive_write_seconds").record(started.elapsed().as_secs_f64());
        metrics::counter!("mercato_archive_orders_total").increment(orders.len() as u64);
        Ok(())
    }

    /// Tells whoever follows the archive that these orders of `commerce` (id, last record's
    /// LSN), archived, left memory.
    /// The tell is numbered after the orders left: whatever starts after `told` answers
    /// that number saw memory without them.
    pub fn tell_left(&self, commerce: &str, left: impl IntoIterator<Item = (String, u64)>) {
        let number = self.told.fetch_add(1, std::sync::atomic::Ordering::AcqRel) + 1;
        if let Some(tell) = &self.tell {
            let _ = tell.send((number, left.into_iter().map(|(id, lsn)| (commerce.to_owned(), id, lsn)).collect()));
        }
    }

    /// How many tells so far (`tell_left`).
    pub fn told(&self) -> u64 {
        self.told.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Makes the next `put` fail, writing nothing (tests).
    pub fn fail_next_put(&self) {
        self.fail_next.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Makes the next `put` fail after it wrote its orders' bytes in a segment, before the
    /// index (a crash between the two; tests).
    pub fn fail_next_index(&self) {
        self.fail_index_next.store(true, std::sync::atomic::Ordering::Release);
    }

    /// How many segment files there are, and how many of the older ones are open now.
    pub fn segments(&self) -> (u32, usize) {
        (self.segments.count(), self.segments.open_sealed())
    }

    /// The order `id` of `commerce`, as its owner encoded it, with the LSN it was
    /// archived at.
    pub fn get(&self, commerce: &str, id: &str) -> Result<Option<(u64, Vec<u8>)>, PersistenceError> {
        let order = key('o', commerce, id);
        // Both keys in one read: an order archived before the segments and written again
        // moves from `o` to `p` in one transaction.
        let framed = match self.kv.get_first(TABLE, &[&key('p', commerce, id), &order])? {
            Some((0, at)) => {
                let number = at.first_chunk::<4>().map(|n| u32::from_le_bytes(*n)).ok_or_else(|| {
                    PersistenceError::Codec(format!("the archived order {id} has a segment number of no known shape"))
                })?;
                let found = self.segments.get(number, &order)?;
                Some(found.ok_or_else(|| {
                    PersistenceError::Codec(format!("the archived order {id} is missing from segment {number}"))
                })?)
            }
            Some((_, framed)) => Some(framed),
            None => None,
        };
        framed.map(|framed| unframe(id, &framed)).transpose()
    }

    /// The LSN the order `id` of `commerce` was archived at, if archived, read from the
    /// index alone (no segment is opened).
    pub fn lsn(&self, commerce: &str, id: &str) -> Result<Option<u64>, PersistenceError> {
        match self.kv.get_first(TABLE, &[&key('p', commerce, id), &key('o', commerce, id)])? {
            Some((0, at)) => match at.get(4..).and_then(|lsn| <[u8; 8]>::try_from(lsn).ok()) {
                Some(lsn) => Ok(Some(u64::from_le_bytes(lsn))),
                None => Err(PersistenceError::Codec(format!("the archived order {id} has a place of no known shape"))),
            },
            Some((_, framed)) => unframe(id, &framed).map(|(lsn, _)| Some(lsn)),
            None => Ok(None),
        }
    }

    /// Whether the order `id` of `commerce` is archived.
    pub fn contains(&self, commerce: &str, id: &str) -> Result<bool, PersistenceError> {
        Ok(self.kv.get_first(TABLE, &[&key('p', commerce, id), &key('o', commerce, id)])?.is_some())
    }

    /// The archived orders' places in the list (placement time, id), newest first, below
    /// `upper` (exclusive) and at or after `from`.
    pub fn listed_before(
        &self,
        commerce: &str,
        upper: Option<(i64, &str)>,
        from: Option<i64>,
    ) -> impl Iterator<Item = Result<(i64, String), PersistenceError>> + '_ {
        let start = key('l', commerce, "");
        let end = match upper {
            Some((placed_at, id)) => key('l', commerce, &format!("{}{SEP}{id}", placed_digits(placed_at))),
            None => {
                let mut end = key('l', commerce, "");
                end.push(0xff);
                end
            }
        };
        let prefix = start.len();
        entries(self.kv.range(TABLE, Bound::Included(&start), Bound::Excluded(&end)))
            .rev()
            .map(move |entry| {
                let (k, _) = entry?;
                let rest = std::str::from_utf8(&k[prefix..]).ok();
                let parsed =
                    rest.and_then(|r| r.split_once(SEP)).and_then(|(d, id)| Some((unplaced(d)?, id.to_owned())));
                parsed.ok_or_else(|| PersistenceError::Codec("an archive list key of no known shape".into()))
            })
            .take_while(move |entry| match (entry, from) {
                (Ok((placed_at, _)), Some(from)) => *placed_at >= from,
                _ => true,
            })
    }

    /// The order an invoice or credit note of `commerce` is in.
    pub fn invoice(&self, commerce: &str, number: &str) -> Result<Option<String>, PersistenceError> {
        let found = self.kv.get(TABLE, &key('i', commerce, number))?;
        Ok(found.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The archived invoice numbers of `commerce` at or after `start` (exclusive when
    /// `exclusive`) that begin with `prefix`, in their order, with their orders.
    pub fn invoices_from(
        &self,
        commerce: &str,
        prefix: &str,
        start: &str,
        exclusive: bool,
    ) -> impl Iterator<Item = Result<(String, String), PersistenceError>> + '_ {
        let head = key('i', commerce, "").len();
        let from = key('i', commerce, start);
        let within = key('i', commerce, prefix);
        entries(self.kv.range(TABLE, Bound::Included(&from), Bound::Unbounded))
            .map(move |entry| {
                let (k, v) = entry?;
                Ok((k, String::from_utf8_lossy(&v).into_owned()))
            })
            .skip_while(move |entry| exclusive && matches!(entry, Ok((k, _)) if *k == from))
            .take_while(move |entry| !matches!(entry, Ok((k, _)) if !k.starts_with(&within)))
            .map(move |entry| entry.map(|(k, v)| (String::from_utf8_lossy(&k[head..]).into_owned(), v)))
    }

    /// The last number of each of `commerce`'s series the archive holds.
    pub fn series(&self, commerce: &str) -> Result<Vec<(String, u32)>, PersistenceError> {
        let prefix = key('s', commerce, "");
        let mut out = Vec::new();
        for entry in self.kv.prefixed(TABLE, &prefix)? {
            let (k, v) = entry?;
            let name = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            if let Ok(bytes) = <[u8; 4]>::try_from(v.as_ref()) {
                out.push((name, u32::from_le_bytes(bytes)));
            }
        }
        Ok(out)
    }

    /// How many orders of `commerce` are archived (a scan: tests and benchmarks).
    pub fn count(&self, commerce: &str) -> usize {
        let count = |kind| self.kv.prefixed(TABLE, &key(kind, commerce, "")).map_or(0, Iterator::count);
        count('p') + count('o')
    }
}

/// A range's entries, or its one error when it could not be opened.
fn entries(range: Result<crate::kv::Entries, PersistenceError>) -> crate::kv::Entries {
    range.unwrap_or_else(|error| Box::new(std::iter::once(Err(error))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, placed_at: i64, invoices: &[(&str, &str, u32)]) -> ArchivedOrder {
        ArchivedOrder {
            id: id.into(),
            placed_at,
            invoices: invoices.iter().map(|(n, s, q)| ((*n).into(), (*s).into(), *q)).collect(),
            bytes: format!("order {id}").into_bytes(),
            lsn: 7,
        }
    }

    // Proves orders come back as written, once each however often written, listed newest
    // first within bounds, with their invoices and the series' highest numbers, and that
    // all of it survives reopening the archive.
    #[test]
    fn orders_come_back_listed_and_indexed() {
        let dir = std::env::temp_dir().join(format!("mercato-archive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let archive = Archive::open(&dir, 1 << 20).unwrap();
            archive.put("c", &[order("a", 10, &[("INV-2026-3", "INV-2026", 3)]), order("b", -5, &[])]).unwrap();
            archive.put("c", &[order("a", 10, &[("INV-2026-3", "INV-2026", 3)]), order("d", 30, &[])]).unwrap();
            archive.put("c", &[order("e", 20, &[("INV-2026-1", "INV-2026", 1)])]).unwrap();
            archive.put("other", &[order("z", 15, &[])]).unwrap();
        }
        let archive = Archive::open(&dir, 1 << 20).unwrap();
        assert_eq!(archive.get("c", "a").unwrap(), Some((7, b"order a".to_vec())));
        assert_eq!(archive.get("c", "z").unwrap(), None);
        assert_eq!(archive.count("c"), 4);
        let all: Vec<_> = archive.listed_before("c", None, None).map(Result::unwrap).collect();
        let ids: Vec<_> = all.iter().map(|(t, id)| (*t, id.as_str())).collect();
        assert_eq!(ids, vec![(30, "d"), (20, "e"), (10, "a"), (-5, "b")]);
        let page: Vec<_> = archive.listed_before("c", Some((20, "e")), Some(0)).map(Result::unwrap).collect();
        assert_eq!(page, vec![(10, "a".to_owned())]);
        assert_eq!(archive.invoice("c", "INV-2026-3").unwrap(), Some("a".into()));
        assert_eq!(archive.series("c").unwrap(), vec![("INV-2026".to_owned(), 3)]);
        let numbers: Vec<_> =
            archive.invoices_from("c", "INV-2026-", "INV-2026-", false).map(|e| e.unwrap().0).collect();
        assert_eq!(numbers, vec!["INV-2026-1", "INV-2026-3"]);
        let after: Vec<_> = archive.invoices_from("c", "INV-2026-", "INV-2026-1", true).map(|e| e.unwrap().0).collect();
        assert_eq!(after, vec!["INV-2026-3"]);
        drop(archive);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mercato-archive-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    // Proves the orders go to segment files of bounded size, each read back from its own
    // segment however many there are (more than stay open), before and after reopening,
    // with the newest segment taking the writes and older ones opened only to be read.
    #[test]
    fn orders_spread_over_segments_come_back() {
        let dir = scratch("segments");
        let mut written = Vec::new();
        {
            let archive = Archive::open_sized(&dir, 1 << 20, 64 * 1024).unwrap();
            for batch in 0..40 {
                let orders: Vec<_> = (0..10)
                    .map(|n| {
                        let id = format!("o{batch:03}-{n}");
                        let mut order = order(&id, batch * 10 + n, &[]);
                        order.bytes = format!("{id} ").repeat(200).into_bytes();
                        order
                    })
                    .collect();
                archive.put("c", &orders).unwrap();
                written.extend(orders);
            }
            let (segments, open) = archive.segments();
            assert!(segments >= 6, "{segments} segments for 400 orders of 1.2 KB in 64 KiB files");
            assert!(open <= 4);
        }
        let archive = Archive::open_sized(&dir, 1 << 20, 64 * 1024).unwrap();
        assert_eq!(archive.segments().1, 0, "no older segment is opened until it is read");
        for order in written.iter().rev().chain(&written) {
            assert_eq!(archive.get("c", &order.id).unwrap(), Some((7, order.bytes.clone())), "{}", order.id);
            assert!(archive.contains("c", &order.id).unwrap());
            assert_eq!(archive.lsn("c", &order.id).unwrap(), Some(7));
        }
        assert!(archive.segments().1 <= 4);
        assert_eq!(archive.count("c"), 400);
        assert_eq!(archive.listed_before("c", None, None).count(), 400);
        let entries = std::fs::read_dir(dir.join("segments")).unwrap().count();
        assert_eq!(u32::try_from(entries).unwrap(), archive.segments().0);
        drop(archive);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Proves a crash between the segment's write and the index's leaves the order not
    // archived (not read, not counted, not listed), and writing it again archives it once;
    // a segment a crash left half made is removed at open.
    #[test]
    fn an_order_is_archived_only_once_the_index_holds_it() {
        let dir = scratch("index-crash");
        {
            let archive = Archive::open(&dir, 1 << 20).unwrap();
            archive.fail_next_index();
            assert!(archive.put("c", &[order("a", 1, &[("INV-1", "INV", 1)])]).is_err());
            assert_eq!(archive.get("c", "a").unwrap(), None);
            assert!(!archive.contains("c", "a").unwrap());
            assert_eq!(archive.count("c"), 0);
            assert_eq!(archive.listed_before("c", None, None).count(), 0);
            assert_eq!(archive.invoice("c", "INV-1").unwrap(), None);
        }
        std::fs::create_dir_all(dir.join("segments").join("00000002.new")).unwrap();
        let archive = Archive::open(&dir, 1 << 20).unwrap();
        assert!(!dir.join("segments").join("00000002.new").exists());
        assert_eq!(archive.segments().0, 1);
        archive.put("c", &[order("a", 1, &[("INV-1", "INV", 1)])]).unwrap();
        assert_eq!(archive.get("c", "a").unwrap(), Some((7, b"order a".to_vec())));
        assert_eq!(archive.count("c"), 1);
        assert_eq!(archive.invoice("c", "INV-1").unwrap(), Some("a".into()));
        drop(archive);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Proves orders archived before the segments (their bytes in the index) are still
    // read, counted and listed, and one written again is then read from its segment and
    // counted once.
    #[test]
    fn orders_archived_before_the_segments_are_read() {
        let dir = scratch("legacy");
        {
            let kv = Kv::open(&dir, &[TABLE], 1 << 20).unwrap();
            kv.write(true, |batch| {
                for id in ["a", "b"] {
                    batch.insert(TABLE, &key('o', "c", id), &frame(5, format!("old {id}").as_bytes()))?;
                    batch.insert(TABLE, &key('l', "c", &format!("{}{SEP}{id}", placed_digits(1))), &[])?;
                }
                Ok(())
            })
            .unwrap();
        }
        let archive = Archive::open(&dir, 1 << 20).unwrap();
        assert_eq!(archive.get("c", "a").unwrap(), Some((5, b"old a".to_vec())));
        assert_eq!(archive.lsn("c", "a").unwrap(), Some(5));
        assert_eq!(archive.lsn("c", "z").unwrap(), None);
        assert!(archive.contains("c", "b").unwrap());
        assert_eq!(archive.count("c"), 2);
        archive.put("c", &[order("a", 1, &[])]).unwrap();
        assert_eq!(archive.get("c", "a").unwrap(), Some((7, b"order a".to_vec())));
        assert_eq!(archive.get("c", "b").unwrap(), Some((5, b"old b".to_vec())));
        assert_eq!(archive.count("c"), 2);
        assert_eq!(archive.listed_before("c", None, None).count(), 2);
        drop(archive);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn sized(id: &str, text: &str) -> ArchivedOrder {
        let mut order = order(id, 1, &[]);
        order.bytes = format!("{text} ").repeat(200).into_bytes();
        order
    }

    // Proves readers of older segments never fail while the writer starts new segments
    // and the ones read longest ago are closed (a file opened twice, or while it closes,
    // would fail a read), and an order written again after a new segment began is read
    // from the newer one, counted once.
    #[test]
    fn segments_roll_and_close_under_readers() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let dir = scratch("readers");
        let archive = std::sync::Arc::new(Archive::open_sized(&dir, 1 << 20, 64 * 1024).unwrap());
        let written = std::sync::Arc::new(AtomicUsize::new(0));
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..4)
            .map(|reader| {
                let (archive, written, done) = (archive.clone(), written.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut reads = 0usize;
                    let mut at = reader * 7;
                    while !done.load(Ordering::Acquire) || reads < 50 {
                        let upto = written.load(Ordering::Acquire);
                        if upto == 0 {
                            std::thread::yield_now();
                            continue;
                        }
                        at = (at * 31 + 17) % upto;
                        let id = format!("r{at:04}");
                        let found = archive.get("c", &id).unwrap_or_else(|e| panic!("{id}: {e}"));
                        assert_eq!(found, Some((7, sized(&id, &id).bytes)), "{id}");
                        reads += 1;
                    }
                })
            })
            .collect();
        for batch in 0..60 {
            let orders: Vec<_> = (0..10)
                .map(|n| sized(&format!("r{:04}", batch * 10 + n), &format!("r{:04}", batch * 10 + n)))
                .collect();
            archive.put("c", &orders).unwrap();
            written.store((batch + 1) * 10, Ordering::Release);
        }
        done.store(true, Ordering::Release);
        for reader in readers {
            reader.join().unwrap();
        }
        assert!(archive.segments().0 >= 8, "{} segments", archive.segments().0);
        archive.put("c", &[sized("r0000", "again")]).unwrap();
        assert_eq!(archive.get("c", "r0000").unwrap(), Some((7, sized("r0000", "again").bytes)));
        assert_eq!(archive.count("c"), 600);
        drop(archive);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Proves a segment that cannot be started fails no write: the orders are durable in
    // the full one, read back, and the next segment is started once it can be.
    #[test]
    fn a_segment_that_cannot_start_fails_no_write() {
        let dir = scratch("no-next");
        let archive = Archive::open_sized(&dir, 1 << 20, 64 * 1024).unwrap();
        let blocker = dir.join("segments").join("00000002");
        std::fs::write(&blocker, b"in the way").unwrap();
        for batch in 0..10 {
            let orders: Vec<_> = (0..10).map(|n| sized(&format!("n{batch}-{n}"), "x")).collect();
            archive.put("c", &orders).unwrap();
        }
        assert_eq!(archive.segments().0, 1);
        assert_eq!(archive.get("c", "n9-9").unwrap(), Some((7, sized("n9-9", "x").bytes)));
        std::fs::remove_file(&blocker).unwrap();
        archive.put("c", &[sized("after", "x")]).unwrap();
        assert_eq!(archive.segments().0, 2);
        archive.put("c", &[sized("later", "x")]).unwrap();
        assert_eq!(archive.get("c", "n0-0").unwrap(), Some((7, sized("n0-0", "x").bytes)));
        assert_eq!(archive.get("c", "later").unwrap(), Some((7, sized("later", "x").bytes)));
        assert_eq!(archive.count("c"), 102);
        drop(archive);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
