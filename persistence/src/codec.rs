//! Values to bytes and back with bincode 2 through serde. Money must cross this boundary
//! as strings (`rust_decimal::serde::str`): bincode cannot decode `Decimal`'s default serde
//! form, which asks for `deserialize_any`.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::PersistenceError;

/// The largest record payload: 16 MiB holds any one actor's batch of events many times
/// over, while a corrupt length field cannot make decoding allocate more.
pub const RECORD_PAYLOAD_BYTES_MAX: usize = 16 * 1024 * 1024;

type Config = Configuration<LittleEndian, Varint, Limit<RECORD_PAYLOAD_BYTES_MAX>>;

fn config() -> Config {
    bincode::config::standard().with_limit::<RECORD_PAYLOAD_BYTES_MAX>()
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, PersistenceError> {
    bincode::serde::encode_to_vec(value, config())
        .map_err(|e| PersistenceError::Codec(e.to_string()))
}

/// Decodes exactly one value; trailing bytes are an error, not ignored.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PersistenceError> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| PersistenceError::Codec(e.to_string()))?;
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
            Sample::Priced {
                sku: "SKU-1".into(),
                price: Decimal::new(1990, 2),
                quantities: vec![1, 6, 600],
            },
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
        let bytes = encode(&Sample::Priced {
            sku: "A".into(),
            price: Decimal::ONE,
            quantities: vec![],
        })
        .expect("encodes");
        assert!(decode::<Sample>(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(
            matches!(decode::<Sample>(&longer), Err(PersistenceError::Codec(m)) if m.contains("trailing"))
        );
    }

    // Proves a huge declared length is refused rather than allocated.
    #[test]
    fn oversized_length_is_refused() {
        // Variant 0, then a string length of u64::MAX in varint form (0xFF marker + 8 bytes).
        let bytes = [0u8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(decode::<Sample>(&bytes).is_err());
    }
}
