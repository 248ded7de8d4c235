//! The ordered key-value file under the snapshot store, the archive and the event store:
//! one redb database per store (`DIR/store.redb`), tables of bytes to bytes.
//!
//! redb keeps its B-trees on disk and in memory only a page cache of a set size, so a
//! store's memory does not follow how much it holds (sled 0.34, used before, keeps a
//! table entry per page in memory, and its first open after a long run replays its whole
//! log). A write is one transaction: atomic, and durable when it returns if asked
//! (`fsync`); a transaction that is not durable is made so by the next one that is. After
//! a crash the store is as its last durable transaction left it.
//!
//! A folder still holding a sled store (`conf` and `db`, from before) is copied into a new
//! redb file at open, which is made durable and put in place by a rename before the sled
//! files are deleted: a crash at any step leaves one whole copy to open.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::error::PersistenceError;

/// The file a store's folder holds.
const FILE: &str = "store.redb";

/// The name sled gives its default tree; its entries go to the store's first table.
const SLED_DEFAULT: &[u8] = b"__sled__default";

type Def = redb::TableDefinition<'static, &'static [u8], &'static [u8]>;

fn def(name: &'static str) -> Def {
    redb::TableDefinition::new(name)
}

fn failed(error: impl std::fmt::Display) -> PersistenceError {
    PersistenceError::Io(std::io::Error::other(error.to_string()))
}

/// Entries of a range, in key order either way, holding the read transaction they came
/// from while they last.
pub type Entries = Box<dyn DoubleEndedIterator<Item = Result<(Vec<u8>, Vec<u8>), PersistenceError>> + Send>;

/// One store (see the module's documentation).
pub struct Kv {
    db: Arc<redb::Database>,
    dir: PathBuf,
    /// A write that is not durable yet was made.
    dirty: Arc<AtomicBool>,
    /// The thread that makes writes durable on a timer, and its stop flag.
    flusher: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

impl Drop for Kv {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.flusher.take() {
            stop.store(true, Ordering::Release);
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kv").field("dir", &self.dir).finish()
    }
}

type BytesTable<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

/// The writes of one transaction.
pub struct Batch<'t> {
    tx: &'t redb::WriteTransaction,
    open: Vec<(&'static str, BytesTable<'t>)>,
}

impl<'t> Batch<'t> {
    fn table(
        &mut self,
        name: &'static str,
    ) -> Result<&mut redb::Table<'t, &'static [u8], &'static [u8]>, PersistenceError> {
        let at = match self.open.iter().position(|(n, _)| *n == name) {
            Some(at) => at,
            None => {
                self.open.push((name, self.tx.open_table(def(name)).map_err(failed)?));
                self.open.len() - 1
            }
        };
        Ok(&mut self.open[at].1)
    }

    pub fn insert(&mut self, table: &'static str, key: &[u8], value: &[u8]) -> Result<(), PersistenceError> {
        self.table(table)?.insert(key, value).map(|_| ()).map_err(failed)
    }

    pub fn remove(&mut self, table: &'static str, key: &[u8]) -> Result<(), PersistenceError> {
        self.table(table)?.remove(key).map(|_| ()).map_err(failed)
    }

    /// A value as this transaction sees it (its own writes included).
    pub fn get(&mut self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, PersistenceError> {
        Ok(self.table(table)?.get(key).map_err(failed)?.map(|v| v.value().to_vec()))
    }
}

impl Kv {
    /// Opens (or creates) the store in `dir` with these tables and a page cache of
    /// `cache_bytes`; a sled store found there is copied in first.
    pub fn open(dir: &Path, tables: &[&'static str], cache_bytes: u64) -> Result<Self, PersistenceError> {
        std::fs::create_dir_all(dir)?;
        let file = dir.join(FILE);
        let sled_there = dir.join("conf").exists() && dir.join("db").exists();
        if sled_there && !file.exists() {
            migrate_from_sled(dir, tables, cache_bytes)?;
        }
        if sled_there {
            remove_sled_files(dir)?;
        }
        let db = builder(cache_bytes).create(&file).map_err(failed)?;
        let kv = Self { db: Arc::new(db), dir: dir.to_owned(), dirty: Arc::new(AtomicBool::new(false)), flusher: None };
        kv.write(true, |batch| {
            for table in tables {
                batch.table(table)?;
            }
            Ok(())
        })?;
        Ok(kv)
    }

    /// Opens the store in `dir`, which must exist, without creating any table (nothing is
    /// written unless a crash left the file to repair).
    pub fn open_existing(dir: &Path, cache_bytes: u64) -> Result<Self, PersistenceError> {
        let file = dir.join(FILE);
        if !file.exists() {
            return Err(PersistenceError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no store in {}", dir.display()),
            )));
        }
        let db = builder(cache_bytes).create(&file).map_err(failed)?;
        Ok(Self { db: Arc::new(db), dir: dir.to_owned(), dirty: Arc::new(AtomicBool::new(false)), flusher: None })
    }

    /// The size of the store's file on disk.
    pub fn file_bytes(&self) -> u64 {
        std::fs::metadata(self.dir.join(FILE)).map_or(0, |m| m.len())
    }

    /// Makes the writes that were not durable so far durable every `every` (sled's flush
    /// timer, which the event store's delivery tables counted on: a crash loses at most
    /// that much of them).
    pub fn flushing_every(mut self, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (db, dirty, stopped) = (Arc::clone(&self.db), Arc::clone(&self.dirty), Arc::clone(&stop));
        let thread = std::thread::Builder::new().name("kv-flush".into()).spawn(move || {
            while !stopped.load(Ordering::Acquire) {
                std::thread::park_timeout(every);
                if dirty.swap(false, Ordering::AcqRel) {
                    if let Err(error) = durable_commit(&db) {
                        tracing::error!(%error, "a store's timed flush failed");
                    }
                }
            }
        });
        match thread {
            Ok(thread) => self.flusher = Some((stop, thread)),
            Err(error) => {
                tracing::error!(%error, "a store's flush thread did not start: writes become durable at sync")
            }
        }
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One transaction's writes, made durable before this returns when `durable`;
    /// nothing of them when `writes` fails.
    pub fn write(
        &self,
        durable: bool,
        writes: impl FnOnce(&mut Batch<'_>) -> Result<(), PersistenceError>,
    ) -> Result<(), PersistenceError> {
        if durable {
            // Whatever commits before this one is made durable by it.
            self.dirty.store(false, Ordering::Release);
        }
        let mut tx = self.db.begin_write().map_err(failed)?;
        if !durable {
            tx.set_durability(redb::Durability::None).map_err(failed)?;
        }
        tx.set_quick_repair(true);
        {
            let mut batch = Batch { tx: &tx, open: Vec::new() };
            writes(&mut batch)?;
        }
        tx.commit().map_err(failed)?;
        if !durable {
            self.dirty.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<(), PersistenceError> {
        self.write(true, |_| Ok(()))
    }

    pub fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, PersistenceError> {
        let tx = self.db.begin_read().map_err(failed)?;
        let table = tx.open_table(def(table)).map_err(failed)?;
        let found = table.get(key).map_err(failed)?.map(|v| v.value().to_vec());
        Ok(found)
    }

    /// The first of `keys` found, in one read (which of them, and its value).
    pub fn get_first(&self, table: &'static str, keys: &[&[u8]]) -> Result<Option<(usize, Vec<u8>)>, PersistenceError> {
        let tx = self.db.begin_read().map_err(failed)?;
        let table = tx.open_table(def(table)).map_err(failed)?;
        for (at, key) in keys.iter().enumerate() {
            if let Some(value) = table.get(*key).map_err(failed)? {
                return Ok(Some((at, value.value().to_vec())));
            }
        }
        Ok(None)
    }

    /// The entries between two bounds, in key order (reversible).
    pub fn range(
        &self,
        table: &'static str,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> Result<Entries, PersistenceError> {
        let tx = self.db.begin_read().map_err(failed)?;
        let table = tx.open_table(def(table)).map_err(failed)?;
        let range = table.range_owned((lower, upper)).map_err(failed)?;
        Ok(Box::new(range.map(|entry| {
            let (key, value) = entry.map_err(failed)?;
            Ok((key.value().to_vec(), value.value().to_vec()))
        })))
    }

    /// The entries whose key starts with `prefix`, in key order.
    pub fn prefixed(&self, table: &'static str, prefix: &[u8]) -> Result<Entries, PersistenceError> {
        let end = prefix_end(prefix);
        let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        self.range(table, Bound::Included(prefix), upper)
    }

    /// How many entries a table holds.
    pub fn len(&self, table: &'static str) -> Result<u64, PersistenceError> {
        let tx = self.db.begin_read().map_err(failed)?;
        tx.open_table(def(table)).map_err(failed)?.len().map_err(failed)
    }
}

/// The first key after every key that starts with `prefix` (none: no such key).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn durable_commit(db: &redb::Database) -> Result<(), PersistenceError> {
    let mut tx = db.begin_write().map_err(failed)?;
    tx.set_quick_repair(true);
    tx.commit().map_err(failed)
}

fn builder(cache_bytes: u64) -> redb::Builder {
    let mut builder = redb::Database::builder();
    builder.set_cache_size(usize::try_from(cache_bytes).unwrap_or(usize::MAX));
    builder
}

/// Copies every tree of the sled store in `dir` into a new redb file beside it (sled's
/// default tree into the first table, the others into the tables of their names), makes
/// it durable, then renames it into place.
fn migrate_from_sled(dir: &Path, tables: &[&'static str], cache_bytes: u64) -> Result<(), PersistenceError> {
    let started = std::time::Instant::now();
    let fresh = dir.join(format!("{FILE}.new"));
    let _ = std::fs::remove_file(&fresh);
    let sled = sled::Config::new().path(dir).open().map_err(failed)?;
    let db = builder(cache_bytes).create(&fresh).map_err(failed)?;
    let mut copied = 0u64;
    for name in sled.tree_names() {
        let table = if name.as_ref() == SLED_DEFAULT {
            tables.first().copied()
        } else {
            tables.iter().copied().find(|t| t.as_bytes() == name.as_ref())
        };
        let (Some(table), Ok(tree)) = (table, sled.open_tree(&name)) else { continue };
        let mut entries = tree.iter().peekable();
        while entries.peek().is_some() {
            let tx = db.begin_write().map_err(failed)?;
            {
                let mut out = tx.open_table(def(table)).map_err(failed)?;
                for entry in entries.by_ref().take(10_000) {
                    let (key, value) = entry.map_err(failed)?;
                    out.insert(key.as_ref(), value.as_ref()).map_err(failed)?;
                    copied += 1;
                }
            }
            tx.commit().map_err(failed)?;
        }
    }
    drop(db);
    drop(sled);
    std::fs::File::open(&fresh)?.sync_all()?;
    std::fs::rename(&fresh, dir.join(FILE))?;
    std::fs::File::open(dir)?.sync_all()?;
    tracing::info!(dir = %dir.display(), entries = copied, seconds = started.elapsed().as_secs_f64(), "a sled store was copied to redb");
    Ok(())
}

/// Deletes what sled 0.34 keeps in a folder (its configuration, its log, its blobs and
/// its snapshots of the page table), once the redb file holds a copy.
fn remove_sled_files(dir: &Path) -> Result<(), PersistenceError> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "blobs" {
            std::fs::remove_dir_all(entry.path())?;
        } else if name == "conf" || name == "db" || name.starts_with("snap.") {
            std::fs::remove_file(entry.path())?;
        }
    }
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mercato-kv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn keys(entries: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), PersistenceError>>) -> Vec<Vec<u8>> {
        entries.map(|e| e.unwrap().0).collect()
    }

    // Proves writes come back in key order both ways, a failed transaction writes
    // nothing, and what was written survives reopening.
    #[test]
    fn writes_are_whole_ordered_and_kept() {
        let dir = scratch("basic");
        {
            let kv = Kv::open(&dir, &["a", "b"], 1 << 20).unwrap();
            kv.write(false, |b| {
                b.insert("a", b"k2", b"2")?;
                b.insert("a", b"k1", b"1")?;
                b.insert("b", b"k1", b"other")
            })
            .unwrap();
            let refused = kv.write(true, |b| {
                b.insert("a", b"k3", b"3")?;
                Err(PersistenceError::Codec("no".into()))
            });
            assert!(refused.is_err());
            kv.sync().unwrap();
        }
        let kv = Kv::open(&dir, &["a", "b"], 1 << 20).unwrap();
        assert_eq!(keys(kv.prefixed("a", b"k").unwrap()), vec![b"k1".to_vec(), b"k2".to_vec()]);
        assert_eq!(keys(kv.prefixed("a", b"k").unwrap().rev()), vec![b"k2".to_vec(), b"k1".to_vec()]);
        assert_eq!(kv.get("b", b"k1").unwrap(), Some(b"other".to_vec()));
        assert_eq!(kv.get("a", b"k3").unwrap(), None);
        assert_eq!(kv.len("a").unwrap(), 2);
        drop(kv);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Proves a folder left by the sled store of earlier versions is carried over whole
    // (default tree and named trees) and its files are removed.
    #[test]
    fn a_sled_store_is_carried_over() {
        let dir = scratch("sled");
        {
            let sled = sled::Config::new().path(&dir).open().unwrap();
            sled.insert(b"x", b"default").unwrap();
            sled.open_tree("named").unwrap().insert(b"y", b"named").unwrap();
            sled.open_tree("unknown").unwrap().insert(b"z", b"dropped").unwrap();
            sled.flush().unwrap();
        }
        let kv = Kv::open(&dir, &["first", "named"], 1 << 20).unwrap();
        assert_eq!(kv.get("first", b"x").unwrap(), Some(b"default".to_vec()));
        assert_eq!(kv.get("named", b"y").unwrap(), Some(b"named".to_vec()));
        assert!(!dir.join("conf").exists() && !dir.join("db").exists());
        drop(kv);
        let kv = Kv::open(&dir, &["first", "named"], 1 << 20).unwrap();
        assert_eq!(kv.len("first").unwrap(), 1);
        drop(kv);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn prefix_end_is_the_next_key_after_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }
}
