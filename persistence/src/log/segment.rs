//! The bytes of a log segment.
//!
//! A segment file is named by the LSN of its first record (`00000000000000000001.wal`) and
//! starts with a header: magic (`MRCTWAL` and the format version as an ASCII digit, 8
//! bytes), that first LSN (u64 LE) and a CRC32C of both (u32 LE). Records follow back to
//! back, each a frame:
//!
//! ```text
//! length u32 LE | crc u32 LE | lsn u64 LE | synced u64 LE | kind u8 | payload (length bytes)
//! ```
//!
//! The CRC32C covers the frame without its own field. `synced` is the highest LSN known
//! durable when the frame was written: recovery uses it to tell a torn, never-synced tail
//! (which it truncates) from damage to records that were synced (which it refuses).
//!
//! The newest segment may end in zeros after its last frame: space the writer zeroed ahead
//! of its records (see `LOG_PREALLOCATE_STEP`), which recovery reads as the end of the log.

use crate::codec::{readable, FORMAT_VERSION, RECORD_PAYLOAD_BYTES_MAX};

const MAGIC: &[u8; 7] = b"MRCTWAL";
pub(crate) const SEGMENT_HEADER_BYTES: usize = 20;
pub(crate) const FRAME_HEADER_BYTES: usize = 25;
const SUFFIX: &str = ".wal";

/// A log sequence number: records are numbered 1, 2, 3, ... without gaps.
pub type Lsn = u64;

/// One record as the log stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub lsn: Lsn,
    /// What the payload is, for whoever decodes it (a small tag chosen by the caller).
    pub kind: u8,
    pub payload: Vec<u8>,
}

pub(crate) fn segment_name(first: Lsn) -> String {
    format!("{first:020}{SUFFIX}")
}

/// The first LSN a segment file name states, or none for a file that is not a segment.
pub(crate) fn parse_segment_name(name: &str) -> Option<Lsn> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Records are numbered from 1: a segment starting at 0 is not one of ours.
    digits.parse().ok().filter(|&first| first > 0)
}

pub(crate) fn segment_header(first: Lsn) -> [u8; SEGMENT_HEADER_BYTES] {
    let mut header = [0u8; SEGMENT_HEADER_BYTES];
    header[..7].copy_from_slice(MAGIC);
    header[7] = b'0' + FORMAT_VERSION;
    header[8..16].copy_from_slice(&first.to_le_bytes());
    let crc = crc32c::crc32c(&header[..16]);
    header[16..].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Why a segment header cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// Missing or damaged bytes.
    Damaged(&'static str),
    /// A whole header of another format version (the version it states).
    Format(u8),
}

/// The first LSN a segment header states and the format version its records are written
/// in, or why it is not a valid header of a version this build reads.
pub(crate) fn read_segment_header(bytes: &[u8]) -> Result<(Lsn, u8), HeaderError> {
    let header = bytes.get(..SEGMENT_HEADER_BYTES).ok_or(HeaderError::Damaged("the segment header is incomplete"))?;
    if header[..7] != *MAGIC {
        return Err(HeaderError::Damaged("the segment header has the wrong magic"));
    }
    if crc32c::crc32c(&header[..16]).to_le_bytes() != header[16..] {
        return Err(HeaderError::Damaged("the segment header fails its checksum"));
    }
    let version = header[7].wrapping_sub(b'0');
    if !readable(version) {
        return Err(HeaderError::Format(version));
    }
    Ok((u64_at(header, 8), version))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Appends one frame to `out`. The payload must be at most `RECORD_PAYLOAD_BYTES_MAX`
/// bytes (the log checks before it calls this).
pub(crate) fn encode_frame(out: &mut Vec<u8>, lsn: Lsn, synced: Lsn, kind: u8, payload: &[u8]) {
    let length = u32::try_from(payload.len()).expect("payload bounded by RECORD_PAYLOAD_BYTES_MAX");
    let start = out.len();
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&lsn.to_le_bytes());
    out.extend_from_slice(&synced.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
    let mut crc = crc32c::crc32c(&out[start..start + 4]);
    crc = crc32c::crc32c_append(crc, &out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// A frame read at some offset.
pub(crate) struct Frame<'a> {
    pub lsn: Lsn,
    pub synced: Lsn,
    pub kind: u8,
    pub payload: &'a [u8],
    /// Bytes the frame takes, header included.
    pub len: usize,
}

/// Reads the frame at the start of `bytes`, or says why there is no valid frame there.
pub(crate) fn decode_frame(bytes: &[u8]) -> Result<Frame<'_>, &'static str> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Err("a frame header is incomplete");
    }
    let length = usize::try_from(u32_at(bytes, 0)).map_err(|_| "the frame length does not fit")?;
    if length > RECORD_PAYLOAD_BYTES_MAX {
        return Err("the frame length exceeds the payload limit");
    }
    let end = FRAME_HEADER_BYTES + length;
    if bytes.len() < end {
        return Err("the frame's payload is incomplete");
    }
    let mut crc = crc32c::crc32c(&bytes[..4]);
    crc = crc32c::crc32c_append(crc, &bytes[8..end]);
    if crc != u32_at(bytes, 4) {
        return Err("the frame fails its checksum");
    }
    Ok(Frame {
        lsn: u64_at(bytes, 8),
        synced: u64_at(bytes, 16),
        kind: bytes[24],
        payload: &bytes[FRAME_HEADER_BYTES..end],
        len: end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a frame decodes to what was encoded, and any single flipped bit anywhere in it
    // is caught by the checksum or the framing.
    #[test]
    fn frames_round_trip_and_every_bit_flip_is_caught() {
        let mut out = Vec::new();
        encode_frame(&mut out, 42, 40, 7, b"reserve KEYBOARD");
        let frame = decode_frame(&out).expect("valid");
        assert_eq!(
            (frame.lsn, frame.synced, frame.kind, frame.payload, frame.len),
            (42, 40, 7, &b"reserve KEYBOARD"[..], out.len())
        );
        for bit in 0..out.len() * 8 {
            let mut bad = out.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_frame(&bad).is_err(), "bit {bit} flipped unnoticed");
        }
        assert!(decode_frame(&out[..out.len() - 1]).is_err());
        // Space a segment was zeroed with is never a frame.
        assert!(decode_frame(&[0u8; 64]).is_err());
    }

    #[test]
    fn names_and_headers() {
        assert_eq!(segment_name(17), "00000000000000000017.wal");
        assert_eq!(parse_segment_name(&segment_name(17)), Some(17));
        assert_eq!(parse_segment_name(&segment_name(0)), None, "records are numbered from 1");
        for other in ["17.wal", "0000000000000000001x.wal", "00000000000000000017.log", "snap"] {
            assert_eq!(parse_segment_name(other), None, "{other}");
        }
        let header = segment_header(99);
        assert_eq!(&header[..8], format!("MRCTWAL{FORMAT_VERSION}").as_bytes());
        assert_eq!(read_segment_header(&header), Ok((99, FORMAT_VERSION)));
        let mut bad = header;
        bad[9] ^= 1;
        assert!(matches!(read_segment_header(&bad), Err(HeaderError::Damaged(_))));
        assert!(matches!(read_segment_header(&header[..19]), Err(HeaderError::Damaged(_))));
        // A whole header of another version is told apart from damage.
        let mut newer = header;
        newer[7] = b'0' + FORMAT_VERSION + 1;
        let crc = crc32c::crc32c(&newer[..16]);
        newer[16..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(read_segment_header(&newer), Err(HeaderError::Format(FORMAT_VERSION + 1)));
    }
}
