//! Reading the log back at start.
//!
//! Segments are read in LSN order from the one holding the first record after the state
//! being recovered. Records must follow each other without gaps. A damaged frame in the
//! newest segment is a torn tail, cut off durably, unless a later intact frame states that
//! the damaged record had already been synced (`synced` in its header): that, or damage in
//! any older segment (a segment is wholly synced before the next one starts), refuses the
//! start with the segment and offset named. The writer zeros a segment ahead of its
//! records: zeros from a frame boundary to the end of the newest segment are space not yet
//! written, the clean end of the log, not a tear.

use std::path::Path;

use super::segment::{
    decode_frame, parse_segment_name, read_segment_header, HeaderError, Lsn, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES,
};
use crate::codec::RECORD_PAYLOAD_BYTES_MAX;
use crate::error::PersistenceError;
use crate::storage::Storage;

/// A record as recovery hands it on: its LSN, the format version its segment was written
/// in (its payload is decoded with that version's types), its kind and its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed<'a> {
    pub lsn: Lsn,
    pub format: u8,
    pub kind: u8,
    pub payload: &'a [u8],
}

/// A torn tail recovery cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedTail {
    pub segment: String,
    pub offset: u64,
    pub bytes: u64,
}

/// What recovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The LSN the next record gets.
    pub next_lsn: Lsn,
    /// Records handed to the visitor (those after the recovered state).
    pub records_replayed: u64,
    pub truncated: Option<TruncatedTail>,
    /// The segments kept, by first LSN, oldest first.
    pub(crate) segments: Vec<Lsn>,
}

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// How much of a segment recovery holds in memory at a time (more only for a frame that
/// is larger): a start never reads a whole segment into memory, whose pages the allocator
/// would keep after it is dropped.
const READ_PIECE_BYTES: usize = 1024 * 1024;

/// One segment, read in pieces.
struct Window<'s> {
    storage: &'s dyn Storage,
    dir: &'s Path,
    name: &'s str,
    size: usize,
    /// Where in the segment `piece` starts.
    start: usize,
    piece: Vec<u8>,
}

impl<'s> Window<'s> {
    fn open(storage: &'s dyn Storage, dir: &'s Path, name: &'s str) -> std::io::Result<Self> {
        let size = usize::try_from(storage.size(dir, name)?).unwrap_or(usize::MAX);
        Ok(Self { storage, dir, name, size, start: 0, piece: Vec::new() })
    }

    /// The segment's bytes from `offset` on, at least `want` of them where the segment
    /// has them.
    fn at(&mut self, offset: usize, want: usize) -> std::io::Result<&[u8]> {
        let end = offset.saturating_add(want).min(self.size);
        if offset < self.start || end > self.start + self.piece.len() {
            let len = want.max(READ_PIECE_BYTES).min(self.size.saturating_sub(offset));
            self.piece = self.storage.read_range(self.dir, self.name, offset as u64, len)?;
            self.start = offset;
        }
        Ok(&self.piece[offset - self.start..])
    }

    /// Where the bytes after `offset` that can matter end: past the last byte that is not
    /// zero (read a piece at a time from the end), by as much as one frame can reach from
    /// it. A segment made ahead is zeros up to its full size: a damaged frame near its
    /// start must not bring the whole of it into memory.
    fn end_of_data(&mut self, offset: usize) -> std::io::Result<usize> {
        let mut end = self.size;
        while end > offset {
            let from = end.saturating_sub(READ_PIECE_BYTES).max(offset);
            let piece = self.storage.read_range(self.dir, self.name, from as u64, end - from)?;
            if let Some(last) = piece.iter().rposition(|&b| b != 0) {
                let reach = FRAME_HEADER_BYTES + RECORD_PAYLOAD_BYTES_MAX;
                return Ok((from + last + 1).saturating_add(reach).min(self.size));
            }
            end = from;
        }
        Ok(offset)
    }

    /// Whether everything from `offset` to the end is zeros (read a piece at a time).
    fn zeros_from(&mut self, offset: usize) -> std::io::Result<bool> {
        let mut at = offset;
        while at < self.size {
            let piece = self.at(at, READ_PIECE_BYTES)?;
            if piece.is_empty() {
                break;
            }
            if !all_zero(piece) {
                return Ok(false);
            }
            at += piece.len();
        }
        Ok(true)
    }
}

fn corruption(segment: &str, offset: usize, reason: impl Into<String>) -> PersistenceError {
    PersistenceError::Corruption { file: segment.to_owned(), offset: offset as u64, reason: reason.into() }
}

/// Whether an intact frame after `from` says record `lsn` was already synced when it was
/// written. Only frames numbered after `lsn` (and not absurdly far) are tried.
fn synced_later(bytes: &[u8], from: usize, lsn: Lsn) -> bool {
    if bytes.len() < from.saturating_add(FRAME_HEADER_BYTES) {
        return false;
    }
    let last_start = bytes.len() - FRAME_HEADER_BYTES;
    (from..=last_start).any(|at| {
        // A frame `k` records past `lsn` starts at least `k - 1` headers further on: a
        // claim beyond that is not tried, which keeps a crafted tail from costing a
        // checksum of the payload limit at every offset.
        let reach = ((at - from) / FRAME_HEADER_BYTES + 1) as u64;
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[at + 8..at + 16]);
        let claimed = u64::from_le_bytes(word);
        let mut length = [0u8; 4];
        length.copy_from_slice(&bytes[at..at + 4]);
        let plausible = claimed > lsn
            && claimed - lsn <= reach
            && usize::try_from(u32::from_le_bytes(length)).is_ok_and(|l| l <= RECORD_PAYLOAD_BYTES_MAX);
        plausible && decode_frame(&bytes[at..]).is_ok_and(|frame| frame.synced >= lsn)
    })
}

/// Writes `bytes` to a fresh file, syncs it and renames it over `name`. What recovery read
/// of the newest segment may be a failed run's unsynced pages, which a new `fdatasync` of
/// the same file can report as done without writing them; a new file's pages are written
/// for certain, so nothing is built on bytes that are not on disk.
fn rewrite(
    storage: &dyn Storage,
    dir: &Path,
    name: &str,
    window: &mut Window<'_>,
    len: usize,
) -> Result<(), PersistenceError> {
    let temporary = format!("{name}.rewrite");
    // A leftover of a crash during the last rewrite.
    if storage.list(dir)?.contains(&temporary) {
        storage.remove(dir, &temporary)?;
    }
    let mut file = storage.create(dir, &temporary)?;
    let mut at = 0;
    while at < len {
        let piece = window.at(at, READ_PIECE_BYTES.min(len - at))?;
        let piece = &piece[..piece.len().min(len - at)];
        if piece.is_empty() {
            return Err(corruption(name, at, "the segment ended while it was rewritten"));
        }
        file.write_all(piece)?;
        at += piece.len();
    }
    file.sync_data()?;
    storage.rename(dir, &temporary, name)?;
    storage.sync_dir(dir)?;
    Ok(())
}

/// Checks a segment's place in the log: its header names its first record, it follows the
/// segment before it, and the first one read holds the first record needed.
fn check_sequence(
    name: &str,
    first: Lsn,
    stated: Lsn,
    expected: Option<Lsn>,
    after: Lsn,
) -> Result<(), PersistenceError> {
    if stated != first {
        return Err(corruption(name, 8, format!("the header says the segment starts at {stated}")));
    }
    match expected {
        None if first > after.saturating_add(1) => {
            Err(corruption(name, 0, format!("the log starts at record {first} but records after {after} are needed")))
        }
        Some(next) if first != next => {
            Err(corruption(name, 0, format!("the segment starts at {first}, not at {next}")))
        }
        _ => Ok(()),
    }
}

/// Hands a segment's records after `after` to `visit` in order; a damaged or torn tail of
/// the newest segment is cut off (and noted), anywhere else it is corruption. The LSN after
/// the last record read and the offset where reading stopped.
fn replay_segment(
    storage: &dyn Storage,
    window: &mut Window<'_>,
    (first, newest, after, format): (Lsn, bool, Lsn, u8),
    visit: &mut impl FnMut(Replayed<'_>) -> Result<(), PersistenceError>,
    recovered: &mut Recovered,
) -> Result<(Lsn, usize), PersistenceError> {
    let (dir, name) = (window.dir, window.name);
    let mut lsn = first;
    let mut offset = SEGMENT_HEADER_BYTES;
    while offset < window.size {
        let head = window.at(offset, FRAME_HEADER_BYTES)?;
        let length = head.first_chunk::<4>().map_or(0, |l| u32::from_le_bytes(*l) as usize);
        let want = FRAME_HEADER_BYTES + length.min(RECORD_PAYLOAD_BYTES_MAX);
        let found = match decode_frame(window.at(offset, want)?) {
            Ok(frame) if frame.lsn == lsn => {
                if lsn > after {
                    visit(Replayed { lsn, format, kind: frame.kind, payload: frame.payload })?;
                    recovered.records_replayed += 1;
                }
                lsn += 1;
                offset += frame.len;
                continue;
            }
            Ok(frame) => Err(format!("record {} found where record {lsn} belongs", frame.lsn)),
            Err(reason) => Ok(reason),
        };
        let damage = match found {
            // Space zeroed ahead and never written: the log ends here.
            Ok(_) if newest && window.zeros_from(offset)? => break,
            Ok(reason) => reason.to_owned(),
            Err(damage) => damage,
        };
        // Damage: the rest of the segment is read at once (a tail, or a refusal to start), as
        // far as a frame can reach past its last byte that is not zero.
        let end = window.end_of_data(offset)?;
        let rest = window.at(offset, end - offset)?;
        let rest = &rest[..rest.len().min(end - offset)];
        if !newest || synced_later(rest, 0, lsn) {
            return Err(corruption(name, offset, damage));
        }
        let tail = window.size - offset;
        storage.truncate(dir, name, offset as u64)?;
        recovered.truncated =
            Some(TruncatedTail { segment: name.to_owned(), offset: offset as u64, bytes: tail as u64 });
        break;
    }
    Ok((lsn, offset))
}

/// The first record the log still holds (its oldest segment's first), or none for an
/// empty log.
pub fn oldest_record(storage: &dyn Storage, dir: &Path) -> Result<Option<Lsn>, PersistenceError> {
    match storage.list(dir) {
        Ok(names) => Ok(names.iter().filter_map(|name| parse_segment_name(name)).min()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Reads every record after `after` (the LSN the recovered state already includes) in
/// order, handing each to `visit` with its segment's format version; cuts off a torn tail. Segments
/// wholly at or below `after` are skipped unread.
pub fn recover(
    storage: &dyn Storage,
    dir: &Path,
    after: Lsn,
    mut visit: impl FnMut(Replayed<'_>) -> Result<(), PersistenceError>,
) -> Result<Recovered, PersistenceError> {
    storage.create_dir(dir)?;
    let mut firsts: Vec<Lsn> = storage.list(dir)?.iter().filter_map(|name| parse_segment_name(name)).collect();
    firsts.sort_unstable();
    // The newest segment whose first record is at or before the first one needed.
    let start = firsts.iter().rposition(|&first| first <= after.saturating_add(1)).unwrap_or(0);
    let mut recovered =
        Recovered { next_lsn: after.saturating_add(1), records_replayed: 0, truncated: None, segments: Vec::new() };
    recovered.segments.extend_from_slice(&firsts[..start]);
    let mut expected: Option<Lsn> = None;
    for (index, &first) in firsts.iter().enumerate().skip(start) {
        let name = super::segment::segment_name(first);
        let newest = index + 1 == firsts.len();
        let mut window = Window::open(storage, dir, &name)?;
        let size = window.size;
        let (stated, format) = match read_segment_header(window.at(0, SEGMENT_HEADER_BYTES)?) {
            Ok(header) => header,
            // A segment is created, its header synced and its name made durable before any
            // record goes in: a newest segment no longer than a header and without a valid
            // one holds nothing. A longer one held records, or was zeroed ahead after its
            // header was synced: its header is damaged.
            Err(HeaderError::Damaged(_)) if newest && size <= SEGMENT_HEADER_BYTES => {
                storage.remove(dir, &name)?;
                storage.sync_dir(dir)?;
                if size > 0 {
                    recovered.truncated = Some(TruncatedTail { segment: name.clone(), offset: 0, bytes: size as u64 });
                }
                break;
            }
            Err(HeaderError::Format(found)) => {
                return Err(PersistenceError::other_format(name, found));
            }
            Err(HeaderError::Damaged(reason)) => return Err(corruption(&name, 0, reason)),
        };
        check_sequence(&name, first, stated, expected, after)?;
        let (lsn, offset) =
            replay_segment(storage, &mut window, (first, newest, after, format), &mut visit, &mut recovered)?;
        if lsn == first && newest {
            // Nothing in it: the writer starts a fresh segment with this name.
            storage.remove(dir, &name)?;
            storage.sync_dir(dir)?;
        } else {
            if newest {
                rewrite(storage, dir, &name, &mut window, offset)?;
            }
            recovered.segments.push(first);
        }
        expected = Some(lsn);
    }
    if let Some(next) = expected {
        if next <= after {
            return Err(PersistenceError::Corruption {
                file: super::segment::segment_name(*recovered.segments.last().unwrap_or(&next)),
                offset: 0,
                reason: format!("the log ends at record {} but the recovered state includes {after}", next - 1),
            });
        }
        recovered.next_lsn = next;
    }
    Ok(recovered)
}
