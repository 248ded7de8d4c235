//! The archive of finished orders (`kv`, one table): bytes by commerce and order id, with the
//! indexes the reads need, apart from the snapshots and the log.
//!
//! An order is written here once nothing can change it any more, and only then leaves
//! memory; the next snapshot no longer holds it and the log segments that did are
//! trimmed. A batch of orders is one durable transaction (the order, its place in the
//! list, its invoices, its series' last numbers). Writing the same order again (a crash came between
//! the archive's write and the order leaving memory) puts the same keys: nothing is
//! duplicated.
//!
//! Keys, each after its commerce and a unit separator:
//! - `o` id → the LSN it was archived at and the order's bytes, framed with their CRC32C;
//! - `l` placement time (20 digits, offset so that it sorts) and id → nothing: the list,
//!   in the back office's order (newest last);
//! - `i` invoice number → order id;
//! - `s` series → its last number (little-endian `u32`), only ever raised.

use std::ops::Bound;
use std::path::Path;
use std::time::Instant;

use crate::error::PersistenceError;
use crate::kv::Kv;

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
    /// Told of every order that left memory for the archive (`tell_left`): the outbox,
    /// which then lets go of what it kept to derive the order's events.
    tell: Option<crossbeam_channel::Sender<Told>>,
    /// How many tells so far.
    told: std::sync::atomic::AtomicU64,
    /// The next `put` fails before it writes anything (tests).
    fail_next: std::sync::atomic::AtomicBool,
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
    /// Opens (or creates) the archive in `dir`, with a page cache of `cache_bytes`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Self, PersistenceError> {
        let kv = Kv::open(dir, &[TABLE], cache_bytes)?;
        Ok(Self {
            kv,
            tell: None,
            told: std::sync::atomic::AtomicU64::new(0),
            fail_next: std::sync::atomic::AtomicBool::new(false),
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
        self.kv.write(true, |batch| {
            let mut series: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
            for order in orders {
                batch.insert(TABLE, &key('o', commerce, &order.id), &frame(order.lsn, &order.bytes))?;
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

    /// The order `id` of `commerce`, as its owner encoded it, with the LSN it was
    /// archived at.
    pub fn get(&self, commerce: &str, id: &str) -> Result<Option<(u64, Vec<u8>)>, PersistenceError> {
        match self.kv.get(TABLE, &key('o', commerce, id))? {
            Some(framed) => unframe(id, &framed).map(Some),
            None => Ok(None),
        }
    }

    /// Whether the order `id` of `commerce` is archived.
    pub fn contains(&self, commerce: &str, id: &str) -> Result<bool, PersistenceError> {
        Ok(self.kv.get(TABLE, &key('o', commerce, id))?.is_some())
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
        self.kv.prefixed(TABLE, &key('o', commerce, "")).map_or(0, Iterator::count)
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
}
