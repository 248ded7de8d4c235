//! Values to bytes and back with bincode 2 through serde. Money must cross this boundary
//! as strings (`rust_decimal::serde::str`): bincode cannot decode `Decimal`'s default serde
//! form, which asks for `deserialize_any`.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::PersistenceError;

/// The version of the bytes the log and snapshots hold: segment and frame layouts, and the
/// payloads' encoding (the stored types of `mercato_actors::stored`). Segment headers and
/// snapshot manifests carry it; recovery reads every version from `FORMAT_OLDEST` to this
/// one, handing each record and part to its reader with the version it was written in,
/// and refuses files of any other version (`PersistenceError::Format`) rather than misread
/// them. Bump it whenever an encoding changes (the event-codec test's digest says when),
/// with a new set of stored types that still read the old ones. Version 1 stands for every
/// file written before versions were kept (segments already said `MRCTWAL1`; manifests had
/// no marker): their encodings vary, so they are refused.
pub const FORMAT_VERSION: u8 = 7;

/// The oldest format version this build still reads.
pub const FORMAT_OLDEST: u8 = 2;

/// Whether this build reads files of format `version`.
pub fn readable(version: u8) -> bool {
    (FORMAT_OLDEST..=FORMAT_VERSION).contains(&version)
}

/// The largest record payload: 16 MiB holds any one actor's batch of events many times
/// over. `encode` refuses to produce more and `decode` to read more, so the log never
/// writes a record it could not read back.
pub const RECORD_PAYLOAD_BYTES_MAX: usize = 16 * 1024 * 1024;

/// bincode's own limit counts what a value claims to allocate (a length prefix counts as 8
/// bytes whatever its encoding), so it cannot state the payload edge exactly. It stays as
/// the guard that keeps a corrupt length from allocating more than twice the payload cap.
const CLAIMED_BYTES_MAX: usize = 2 * RECORD_PAYLOAD_BYTES_MAX;

type Config = Configuration<LittleEndian, Varint, Limit<CLAIMED_BYTES_MAX>>;

fn config() -> Config {
    bincode::config::standard().with_limit::<CLAIMED_BYTES_MAX>()
}

fn too_large(len: usize) -> PersistenceError {
    PersistenceError::Codec(format!("a payload of {len} bytes exceeds {RECORD_PAYLOAD_BYTES_MAX}"))
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, PersistenceError> {
    let bytes = bincode::serde::encode_to_vec(value, config()).map_err(|e| PersistenceError::Codec(e.to_string()))?;
    if bytes.len() > RECORD_PAYLOAD_BYTES_MAX {
        return Err(too_large(bytes.len()));
    }
    Ok(bytes)
}

/// What bincode lets a snapshot part's decoding claim. A part has no size limit of its
/// own (a state is as large as it is; the store writes it in bounded chunks), and its bytes
/// pass their checksums before they are decoded, so a length they state is one that was
/// written.
const PART_CLAIM_MAX: usize = 1 << 40;

type LargeConfig = Configuration<LittleEndian, Varint, Limit<PART_CLAIM_MAX>>;

fn large_config() -> LargeConfig {
    bincode::config::standard().with_limit::<PART_CLAIM_MAX>()
}

/// `encode` for a snapshot part, of any size.
pub fn encode_part<T: Serialize>(value: &T) -> Result<Vec<u8>, PersistenceError> {
    bincode::serde::encode_to_vec(value, large_config()).map_err(|e| PersistenceError::Codec(e.to_string()))
}

/// `decode` for a snapshot part: exactly one value.
pub fn decode_part<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PersistenceError> {
    let (value, read) =
        bincode::serde::decode_from_slice(bytes, large_config()).map_err(|e| PersistenceError::Codec(e.to_string()))?;
    if read != bytes.len() {
        return Err(PersistenceError::Codec(format!(
            "{} trailing bytes after a {read}-byte value",
            bytes.len() - read
        )));
    }
    Ok(value)
}

/// Decodes exactly one value; trailing bytes are an error, not ignored.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PersistenceError> {
    if bytes.len() > RECORD_PAYLOAD_BYTES_MAX {
        return Err(too_large(bytes.len()));
    }
    let (value, read) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| PersistenceError::Codec(e.to_string()))?;
    if read != bytes.len() {
        return Err(PersistenceError::Codec(format!(
            "{} trailing bytes after a {read}-byte value",
            bytes.len() - read
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Sample {
        Priced {
            sku: String,
            #[serde(with = "rust_decimal::serde::str")]
            price: Decimal,
            quantities: Vec<u32>,
        },
        Nothing,
    }

    // Proves values, money among them, come back exactly as they went in.
    #[test]
    fn round_trip() {
        let values = [
            Sample::Priced { sku: "SKU-1".into(), price: Decimal::new(1990, 2), quantities: vec![1, 6, 600] },
            Sample::Nothing,
        ];
        for value in values {
            let bytes = encode(&value).expect("encodes");
            assert_eq!(decode::<Sample>(&bytes).expect("decodes"), value);
        }
    }

    // Proves truncated input and trailing bytes are codec errors, never a wrong value.
    #[test]
    fn truncated_and_trailing_bytes_are_errors() {
        let bytes =
            encode(&Sample::Priced { sku: "A".into(), price: Decimal::ONE, quantities: vec![] }).expect("encodes");
        assert!(decode::<Sample>(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(decode::<Sample>(&longer), Err(PersistenceError::Codec(m)) if m.contains("trailing")));
    }

    // Proves the payload limit holds at its edge: exactly RECORD_PAYLOAD_BYTES_MAX bytes
    // encode and decode, one byte more is refused both ways, and a length far beyond the
    // limit is refused before anything is allocated.
    #[test]
    fn payload_limit_at_its_edge() {
        // A string's encoding is a 5-byte varint length (0xFC marker + u32) plus its bytes.
        let at_limit = "a".repeat(RECORD_PAYLOAD_BYTES_MAX - 5);
        let bytes = encode(&at_limit).expect("encodes at the limit");
        assert_eq!(bytes.len(), RECORD_PAYLOAD_BYTES_MAX);
        assert_eq!(decode::<String>(&bytes).expect("decodes at the limit").len(), at_limit.len());

        let over = "a".repeat(RECORD_PAYLOAD_BYTES_MAX - 4);
        assert!(matches!(encode(&over), Err(PersistenceError::Codec(m)) if m.contains("exceeds")));
        let mut bytes = bytes;
        bytes.push(b'a');
        assert!(matches!(decode::<String>(&bytes), Err(PersistenceError::Codec(m)) if m.contains("exceeds")));

        // 0xFD marks a u64 length: u64::MAX bytes claimed by a 9-byte input.
        let mut claim = vec![0xFD];
        claim.extend_from_slice(&u64::MAX.to_le_bytes());
        let error = decode::<String>(&claim).expect_err("refused");
        assert!(error.to_string().to_lowercase().contains("limit"), "{error}");
    }
}
