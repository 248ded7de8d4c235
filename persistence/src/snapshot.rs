//! Snapshots in the store's `kv` file: each actor's state as bytes, with the LSN of the last log record it
//! includes, taken together as one generation.
//!
//! A generation is written part by part (`g{generation}/p/{actor}`: CRC32C, LSN, bytes),
//! then its manifest (`g{generation}/m`: every part's actor, LSN and CRC, itself checked),
//! each chunk in a transaction of its own, and only then made durable (one durable
//! transaction, `fsync`). A generation without a manifest (a crash while writing) or with a part that
//! fails its check is skipped at load, which falls back to the generation before it; the
//! log is therefore kept back to the previous generation (see [`Loaded::log_from`]).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::codec::{self, FORMAT_VERSION};
use crate::error::PersistenceError;
use crate::kv::Kv;
use crate::log::Lsn;

const TABLE: &str = "snapshots";

/// The largest value a part is written as: a larger part is cut into chunks of this size,
/// so no state is too large to snapshot.
pub const SNAPSHOT_CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// Generations kept: the newest and the one before it, to fall back on.
pub const SNAPSHOT_GENERATIONS_KEPT: usize = 2;

#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    pub dir: PathBuf,
    /// The store's page cache, in bytes.
    pub cache_capacity_bytes: u64,
}

/// The steps of writing a generation, where tests inject faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotStep {
    Part,
    Manifest,
    Flush,
    Fsync,
}

/// One actor's state in a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub lsn: Lsn,
    pub bytes: Vec<u8>,
}

/// The newest generation that loaded whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub generation: u64,
    pub parts: BTreeMap<String, Part>,
    /// Newer generations that were incomplete or damaged, with why.
    pub skipped: Vec<(u64, String)>,
    /// The first LSN the log must still hold: one past the lowest LSN of the generation
    /// before this one (or of this one when it is the only one), so this generation can
    /// itself be lost and the node still recover.
    pub log_from: Lsn,
    /// The format version its parts are written in (they are decoded with that version's
    /// types).
    pub format: u8,
}

/// Starts every manifest, followed by the format version as an ASCII digit.
const MANIFEST_MAGIC: &[u8; 7] = b"MRCTSNP";

/// What a generation holds: each part's actor, LSN and checksum. It is stored after
/// `MANIFEST_MAGIC` and the format version.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    parts: Vec<(String, Lsn, u32)>,
}

/// Why a generation cannot be used.
enum Unreadable {
    /// Unfinished or damaged: loading falls back on an older generation.
    Damaged(String),
    /// Whole, but of another format version (the one it states): loading refuses it.
    Format(u8),
}

impl From<String> for Unreadable {
    fn from(reason: String) -> Self {
        Unreadable::Damaged(reason)
    }
}

impl From<&str> for Unreadable {
    fn from(reason: &str) -> Self {
        Unreadable::Damaged(reason.to_owned())
    }
}

pub struct SnapshotStore {
    kv: Kv,
    dir: PathBuf,
    fail_at: Mutex<Option<SnapshotStep>>,
    /// One write or prune at a time: two writers would pick the same generation number.
    writing: Mutex<()>,
    /// The largest value a part is written as (`SNAPSHOT_CHUNK_BYTES`, smaller in tests).
    chunk_bytes: usize,
}

/// How a fault a test injected begins.
const INJECTED: &str = "injected fault";

fn prefix(generation: u64) -> String {
    format!("g{generation:020}/")
}

fn part_key(generation: u64, actor: &str) -> String {
    format!("{}p/{actor}", prefix(generation))
}

/// The key of a part's chunk after its first (which is at `part_key`).
fn chunk_key(part_key: &str, chunk: usize) -> String {
    format!("{part_key}\u{0}{chunk:08}")
}

fn manifest_key(generation: u64) -> String {
    format!("{}m", prefix(generation))
}

/// CRC32C, then the LSN, then the bytes.
fn frame(lsn: Lsn, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + bytes.len());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&lsn.to_le_bytes());
    out.extend_from_slice(bytes);
    let crc = crc32c::crc32c(&out[4..]);
    out[..4].copy_from_slice(&crc.to_le_bytes());
    out
}

fn unframe(framed: &[u8]) -> Result<(u32, Part), String> {
    if framed.len() < 12 {
        return Err("the part is shorter than its header".into());
    }
    let crc = crc32c::crc32c(&framed[4..]);
    if framed[..4] != crc.to_le_bytes() {
        return Err("the part fails its checksum".into());
    }
    let mut lsn = [0u8; 8];
    lsn.copy_from_slice(&framed[4..12]);
    Ok((crc, Part { lsn: u64::from_le_bytes(lsn), bytes: framed[12..].to_vec() }))
}

impl SnapshotStore {
    /// Opens (or creates) the store.
    pub fn open(options: &SnapshotOptions) -> Result<Self, PersistenceError> {
        Ok(Self {
            kv: Kv::open(&options.dir, &[TABLE], options.cache_capacity_bytes)?,
            dir: options.dir.clone(),
            fail_at: Mutex::new(None),
            writing: Mutex::new(()),
            chunk_bytes: SNAPSHOT_CHUNK_BYTES,
        })
    }

    /// Writes parts in chunks of at most `bytes` (tests: a state larger than a chunk).
    pub fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes.max(1);
        self
    }

    /// Makes the next write fail at `step` (tests).
    pub fn fail_at(&self, step: SnapshotStep) {
        *self.fail_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(step);
    }

    fn step(&self, step: SnapshotStep) -> Result<(), PersistenceError> {
        let mut armed = self.fail_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *armed == Some(step) {
            *armed = None;
            return Err(PersistenceError::Io(std::io::Error::other(format!("{INJECTED} at {step:?}"))));
        }
        Ok(())
    }

    /// Generations present, complete or not, oldest first.
    fn generations(&self) -> Result<Vec<u64>, PersistenceError> {
        let mut found = Vec::new();
        for entry in self.kv.range(TABLE, Bound::Unbounded, Bound::Unbounded)? {
            let (key, _) = entry?;
            let generation = std::str::from_utf8(&key)
                .ok()
                .and_then(|k| k.strip_prefix('g'))
                .and_then(|k| k.get(..20))
                .and_then(|digits| digits.parse::<u64>().ok());
            if let Some(generation) = generation {
                if found.last() != Some(&generation) {
                    found.push(generation);
                }
            }
        }
        Ok(found)
    }

    /// Writes a new generation and makes it durable; returns its number. On error the
    /// generation is incomplete and loading skips it.
    pub fn write(&self, parts: &BTreeMap<String, Part>) -> Result<u64, PersistenceError> {
        let _writing = self.writing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let started = Instant::now();
        let generation = self.generations()?.last().map_or(1, |g| g + 1);
        let mut manifest = Manifest { parts: Vec::with_capacity(parts.len()) };
        let mut bytes = 0u64;
        for (actor, part) in parts {
            self.step(SnapshotStep::Part)?;
            let framed = frame(part.lsn, &part.bytes);
            bytes += framed.len() as u64;
            let crc = u32::from_le_bytes([framed[0], framed[1], framed[2], framed[3]]);
            let key = part_key(generation, actor);
            for (n, chunk) in framed.chunks(self.chunk_bytes).enumerate() {
                let at = if n == 0 { key.clone() } else { chunk_key(&key, n) };
                self.kv.write(false, |batch| batch.insert(TABLE, at.as_bytes(), chunk))?;
            }
            manifest.parts.push((actor.clone(), part.lsn, crc));
        }
        self.step(SnapshotStep::Manifest)?;
        let mut encoded = MANIFEST_MAGIC.to_vec();
        encoded.push(b'0' + FORMAT_VERSION);
        encoded.extend(codec::encode(&manifest)?);
        self.kv.write(false, |batch| batch.insert(TABLE, manifest_key(generation).as_bytes(), &frame(0, &encoded)))?;
        self.step(SnapshotStep::Flush)?;
        self.kv.sync()?;
        self.step(SnapshotStep::Fsync)?;
        metrics::histogram!("mercato_snapshot_write_seconds").record(started.elapsed().as_secs_f64());
        metrics::gauge!("mercato_snapshot_bytes").set(bytes as f64);
        Ok(generation)
    }

    /// Reads one generation whole with the format version it was written in, or says why
    /// it cannot be used.
    fn read(&self, generation: u64) -> Result<(BTreeMap<String, Part>, u8), Unreadable> {
        let manifest = self
            .kv
            .get(TABLE, manifest_key(generation).as_bytes())
            .map_err(|e| e.to_string())?
            .ok_or("it has no manifest (it was never finished)")?;
        let (_, manifest) = unframe(&manifest).map_err(|reason| format!("manifest: {reason}"))?;
        // Whole (its checksum holds) but without the marker: written before versions
        // were kept, which counts as version 1.
        let Some(stamped) = manifest.bytes.strip_prefix(MANIFEST_MAGIC) else { return Err(Unreadable::Format(1)) };
        let (&version, encoded) = stamped.split_first().ok_or("the manifest has no version")?;
        let version = version.wrapping_sub(b'0');
        if !codec::readable(version) {
            return Err(Unreadable::Format(version));
        }
        let manifest: Manifest = codec::decode(encoded).map_err(|e| format!("manifest: {e}"))?;
        let mut parts = BTreeMap::new();
        for (actor, lsn, crc) in manifest.parts {
            let framed =
                self.read_chunks(&part_key(generation, &actor))?.ok_or_else(|| format!("part {actor} is missing"))?;
            let (found, part) = unframe(&framed).map_err(|reason| format!("part {actor}: {reason}"))?;
            if found != crc || part.lsn != lsn {
                return Err(format!("part {actor} is not the one the manifest names").into());
            }
            parts.insert(actor, part);
        }
        Ok((parts, version))
    }

    /// A part's bytes, its chunks put back together (none when its first is missing).
    fn read_chunks(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(mut framed) = self.kv.get(TABLE, key.as_bytes()).map_err(|e| e.to_string())? else { return Ok(None) };
        for n in 1.. {
            match self.kv.get(TABLE, chunk_key(key, n).as_bytes()).map_err(|e| e.to_string())? {
                Some(chunk) => framed.extend_from_slice(&chunk),
                None => break,
            }
        }
        Ok(Some(framed))
    }

    /// The newest generation that reads whole, falling back on older ones; none when no
    /// generation does (recovery then replays the whole log). A whole generation of
    /// another format version is refused (`PersistenceError::Format`), not skipped.
    pub fn load(&self) -> Result<Option<Loaded>, PersistenceError> {
        let started = Instant::now();
        let generations = self.generations()?;
        let mut skipped = Vec::new();
        let mut found: Option<(u64, BTreeMap<String, Part>, u8)> = None;
        let mut earlier = generations.iter().rev();
        for &generation in earlier.by_ref() {
            match self.read(generation) {
                Ok((parts, format)) => {
                    found = Some((generation, parts, format));
                    break;
                }
                Err(Unreadable::Format(found)) => return Err(self.other_format(generation, found)),
                Err(Unreadable::Damaged(reason)) => {
                    tracing::warn!(generation, %reason, "snapshot skipped");
                    skipped.push((generation, reason));
                }
            }
        }
        let Some((generation, parts, format)) = found else { return Ok(None) };
        let lowest = |parts: &BTreeMap<String, Part>| parts.values().map(|p| p.lsn).min().unwrap_or(0);
        let mut previous = None;
        for &older in earlier {
            match self.read(older) {
                Ok((parts, _)) => {
                    previous = Some(parts);
                    break;
                }
                Err(Unreadable::Format(found)) => return Err(self.other_format(older, found)),
                Err(Unreadable::Damaged(_)) => {}
            }
        }
        let log_from = lowest(previous.as_ref().unwrap_or(&parts)) + 1;
        metrics::histogram!("mercato_snapshot_load_seconds").record(started.elapsed().as_secs_f64());
        Ok(Some(Loaded { generation, parts, skipped, log_from, format }))
    }

    /// Every whole generation, newest first, each with its parts (an audit replay picks
    /// the newest one that covers nothing after the moment it rebuilds). A generation of
    /// another format version is refused, as `load` refuses it.
    pub fn whole(&self) -> Result<Vec<Loaded>, PersistenceError> {
        let mut found = Vec::new();
        for generation in self.generations()?.into_iter().rev() {
            match self.read(generation) {
                Ok((parts, format)) => {
                    let log_from = parts.values().map(|p| p.lsn).min().unwrap_or(0) + 1;
                    found.push(Loaded { generation, parts, skipped: Vec::new(), log_from, format });
                }
                Err(Unreadable::Format(version)) => return Err(self.other_format(generation, version)),
                Err(Unreadable::Damaged(_)) => {}
            }
        }
        Ok(found)
    }

    /// Deletes every generation but the newest `SNAPSHOT_GENERATIONS_KEPT` whole ones, and
    /// any unfinished one older than the newest whole one.
    pub fn prune(&self) -> Result<usize, PersistenceError> {
        let _writing = self.writing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Each generation is read once: whole, damaged, or of another version.
        let read: Vec<(u64, Result<(), Unreadable>)> =
            self.generations()?.into_iter().map(|g| (g, self.read(g).map(|_| ()))).collect();
        let whole = read.iter().filter(|(_, r)| r.is_ok()).map(|&(g, _)| g);
        let keep: Vec<u64> = whole.rev().take(SNAPSHOT_GENERATIONS_KEPT).collect();
        let newest_whole = keep.first().copied().unwrap_or(0);
        let mut removed = 0;
        for (generation, outcome) in read {
            // A generation of another version is not this build's to delete.
            if keep.contains(&generation) || generation > newest_whole || matches!(outcome, Err(Unreadable::Format(_)))
            {
                continue;
            }
            let keys: Vec<Vec<u8>> = self
                .kv
                .prefixed(TABLE, prefix(generation).as_bytes())?
                .map(|e| e.map(|(k, _)| k))
                .collect::<Result<_, _>>()?;
            self.kv.write(false, |batch| keys.iter().try_for_each(|key| batch.remove(TABLE, key)))?;
            removed += 1;
        }
        Ok(removed)
    }

    fn other_format(&self, generation: u64, found: u8) -> PersistenceError {
        let file = format!("snapshot generation {generation} in {}", self.dir.display());
        PersistenceError::other_format(file, found)
    }

    /// Rewrites a generation's manifest as if written in format `version`, or, with none,
    /// before versions were kept (tests: a snapshot of another version, whole and with
    /// valid checksums).
    pub fn stamp_format(&self, generation: u64, version: Option<u8>) -> Result<(), PersistenceError> {
        let key = manifest_key(generation);
        let stored = self.kv.get(TABLE, key.as_bytes())?;
        let framed =
            stored.ok_or_else(|| PersistenceError::Codec(format!("no manifest for generation {generation}")))?;
        let (_, manifest) = unframe(&framed).map_err(PersistenceError::Codec)?;
        let encoded = manifest.bytes.get(MANIFEST_MAGIC.len() + 1..).unwrap_or_default();
        let mut bytes = Vec::new();
        if let Some(version) = version {
            bytes.extend_from_slice(MANIFEST_MAGIC);
            bytes.push(b'0' + version);
        }
        bytes.extend_from_slice(encoded);
        self.kv.write(true, |batch| batch.insert(TABLE, key.as_bytes(), &frame(0, &bytes)))
    }

    /// Removes one chunk after a part's first (tests: a part cut short).
    pub fn drop_chunk(&self, generation: u64, actor: &str, chunk: usize) -> Result<(), PersistenceError> {
        let key = chunk_key(&part_key(generation, actor), chunk.max(1));
        self.kv.write(true, |batch| batch.remove(TABLE, key.as_bytes()))
    }

    /// Overwrites a part's stored bytes (tests: a damaged snapshot).
    pub fn damage(&self, generation: u64, actor: &str) -> Result<(), PersistenceError> {
        self.kv.write(true, |batch| batch.insert(TABLE, part_key(generation, actor).as_bytes(), b"damaged"))
    }
}
