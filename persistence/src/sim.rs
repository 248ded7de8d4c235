//! A simulated disk for tests: files live in memory, written bytes stay volatile until
//! `sync_data`, created and removed names stay volatile until `sync_dir`, and a crash keeps
//! only what was made durable plus whatever part of the volatile tail the test chooses.
//! Any operation can be made to fail, so tests reach every error path of the log.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::storage::{AppendFile, Storage};

/// An operation a fault can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultPoint {
    /// Appending bytes. A failed write still leaves the first half of its bytes written,
    /// as a real short write would.
    Write,
    Sync,
    Create,
    SyncDir,
    Remove,
    Rename,
    Truncate,
    Read,
    /// Zeroing a file ahead of its writes.
    Preallocate,
}

type Key = (PathBuf, String);

#[derive(Debug, Clone, Default)]
struct FileState {
    bytes: Vec<u8>,
    /// Bytes `[..synced]` survive a crash.
    synced: usize,
    /// Which file this is (an open file follows it through renames, as an inode would).
    id: u64,
}

#[derive(Debug, Default)]
struct Disk {
    live: BTreeMap<Key, FileState>,
    /// Names whose existence survives a crash (as of the last `sync_dir` of their folder).
    durable_names: BTreeMap<Key, ()>,
    /// Files removed since their folder was last synced: a crash brings them back.
    removed: BTreeMap<Key, FileState>,
    /// Fault point -> successful calls left before one fails.
    faults: BTreeMap<FaultPoint, u32>,
    /// Crashes so far: a file opened before the last crash belongs to a dead process.
    epoch: u64,
    /// The last file id given.
    ids: u64,
}

impl Disk {
    /// The live file `id`, under whatever name it has now (`key` first: its name when
    /// opened).
    fn file_mut(&mut self, key: &Key, id: u64) -> io::Result<&mut FileState> {
        let renamed = match self.live.get(key) {
            Some(state) if state.id == id => None,
            _ => self.live.iter().find(|(_, state)| state.id == id).map(|(key, _)| key.clone()),
        };
        let key = renamed.as_ref().unwrap_or(key);
        self.live.get_mut(key).filter(|state| state.id == id).ok_or_else(|| not_found(&key.1))
    }

    fn check(&mut self, point: FaultPoint) -> io::Result<()> {
        match self.faults.get_mut(&point) {
            Some(0) => {
                self.faults.remove(&point);
                Err(io::Error::other(format!("injected {point:?} fault")))
            }
            Some(left) => {
                *left -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// The simulated disk. Clones share one disk.
#[derive(Debug, Clone, Default)]
pub struct SimStorage {
    disk: Arc<Mutex<Disk>>,
}

fn key(dir: &Path, name: &str) -> Key {
    (dir.to_path_buf(), name.to_owned())
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such file"))
}

impl SimStorage {
    fn disk(&self) -> MutexGuard<'_, Disk> {
        // A test that panicked while holding the lock already failed; keep its state.
        self.disk.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next call of `point` after `after` successful ones fails, once.
    pub fn fail(&self, point: FaultPoint, after: u32) {
        self.disk().faults.insert(point, after);
    }

    pub fn clear_faults(&self) {
        self.disk().faults.clear();
    }

    /// Simulates power loss. Every file keeps its synced bytes plus what `torn` returns for
    /// its unsynced tail (nothing, a prefix, garbage: the test decides); files whose names
    /// were never made durable vanish and removals not yet made durable are undone.
    pub fn crash(&self, mut torn: impl FnMut(&str, &[u8]) -> Vec<u8>) {
        let mut disk = self.disk();
        let mut after = BTreeMap::new();
        let removed = std::mem::take(&mut disk.removed);
        let live = std::mem::take(&mut disk.live);
        for (name, state) in removed.into_iter().chain(live) {
            if !disk.durable_names.contains_key(&name) {
                continue;
            }
            let mut bytes = state.bytes[..state.synced].to_vec();
            bytes.extend(torn(&name.1, &state.bytes[state.synced..]));
            let synced = bytes.len();
            after.insert(name, FileState { bytes, synced, id: state.id });
        }
        disk.live = after;
        disk.faults.clear();
        disk.epoch += 1;
    }

    /// Flips one bit of a file in place, durably (a bad sector).
    pub fn flip_bit(&self, dir: &Path, name: &str, offset: usize, bit: u8) {
        let mut disk = self.disk();
        let state = disk.live.get_mut(&key(dir, name)).expect("the file exists");
        state.bytes[offset] ^= 1 << (bit % 8);
    }

    /// The length of a file, if it exists.
    pub fn len(&self, dir: &Path, name: &str) -> Option<usize> {
        self.disk().live.get(&key(dir, name)).map(|s| s.bytes.len())
    }
}

struct SimFile {
    storage: SimStorage,
    key: Key,
    id: u64,
    epoch: u64,
}

impl SimFile {
    fn alive(&self, disk: &Disk) -> io::Result<()> {
        if disk.epoch == self.epoch {
            Ok(())
        } else {
            Err(io::Error::other("the process that opened this file crashed"))
        }
    }
}

impl AppendFile for SimFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut disk = self.storage.disk();
        self.alive(&disk)?;
        let failed = disk.check(FaultPoint::Write);
        let state = disk.file_mut(&self.key, self.id)?;
        match failed {
            Ok(()) => {
                state.bytes.extend_from_slice(bytes);
                Ok(())
            }
            Err(error) => {
                state.bytes.extend_from_slice(&bytes[..bytes.len() / 2]);
                Err(error)
            }
        }
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut disk = self.storage.disk();
        self.alive(&disk)?;
        disk.check(FaultPoint::Sync)?;
        let state = disk.file_mut(&self.key, self.id)?;
        state.synced = state.bytes.len();
        Ok(())
    }

    /// The simulated disk keeps a file as its synced prefix and an unsynced tail: zeros
    /// ahead of the records would not fit that model, so it lets files grow (but fails when
    /// told to).
    fn preallocate(&mut self, _len: u64) -> io::Result<()> {
        let mut disk = self.storage.disk();
        self.alive(&disk)?;
        disk.check(FaultPoint::Preallocate)
    }
}

impl Storage for SimStorage {
    fn create_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn create(&self, dir: &Path, name: &str) -> io::Result<Box<dyn AppendFile>> {
        let mut disk = self.disk();
        disk.check(FaultPoint::Create)?;
        let key = key(dir, name);
        if disk.live.contains_key(&key) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{name} exists")));
        }
        disk.removed.remove(&key);
        disk.ids += 1;
        let id = disk.ids;
        disk.live.insert(key.clone(), FileState { id, ..FileState::default() });
        Ok(Box::new(SimFile { storage: self.clone(), key, id, epoch: disk.epoch }))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let disk = self.disk();
        Ok(disk.live.keys().filter(|(d, _)| d == dir).map(|(_, name)| name.clone()).collect())
    }

    fn read(&self, dir: &Path, name: &str) -> io::Result<Vec<u8>> {
        let mut disk = self.disk();
        disk.check(FaultPoint::Read)?;
        disk.live.get(&key(dir, name)).map(|s| s.bytes.clone()).ok_or_else(|| not_found(name))
    }

    fn rename(&self, dir: &Path, from: &str, to: &str) -> io::Result<()> {
        let mut disk = self.disk();
        disk.check(FaultPoint::Rename)?;
        let moved = disk.live.remove(&key(dir, from)).ok_or_else(|| not_found(from))?;
        // Until the folder is synced, a crash may bring back what `to` held before.
        if let Some(replaced) = disk.live.insert(key(dir, to), moved) {
            disk.removed.insert(key(dir, to), replaced);
        }
        Ok(())
    }

    fn truncate(&self, dir: &Path, name: &str, len: u64) -> io::Result<()> {
        let mut disk = self.disk();
        disk.check(FaultPoint::Truncate)?;
        let state = disk.live.get_mut(&key(dir, name)).ok_or_else(|| not_found(name))?;
        let len = usize::try_from(len).map_err(io::Error::other)?.min(state.bytes.len());
        state.bytes.truncate(len);
        state.synced = len;
        Ok(())
    }

    fn remove(&self, dir: &Path, name: &str) -> io::Result<()> {
        let mut disk = self.disk();
        disk.check(FaultPoint::Remove)?;
        let key = key(dir, name);
        let state = disk.live.remove(&key).ok_or_else(|| not_found(name))?;
        disk.removed.insert(key, state);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.check(FaultPoint::SyncDir)?;
        disk.durable_names.retain(|(d, _), ()| d != dir);
        disk.removed.retain(|(d, _), _| d != dir);
        let names: Vec<Key> = disk.live.keys().filter(|(d, _)| d == dir).cloned().collect();
        for name in names {
            disk.durable_names.insert(name, ());
        }
        Ok(())
    }
}
