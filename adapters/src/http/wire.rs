//! What the OpenAPI document promises about request fields, kept beside the code that
//! enforces it: the bounds the document states (`QTY_MAX`, the patterns, which the DTOs'
//! annotations must spell as literals: `http_body_bounds` checks they agree) and how a
//! JSON number is read as a whole number.
//!
//! JSON Schema counts `2.0` as an integer, so the document's `integer` fields take it: a
//! number with no fractional part is read as that whole number, whatever its spelling
//! (`2`, `2.0`, `2e0`). `2.5` is `400 invalid_body`, naming the value.

use serde::de::{Error, Visitor};
use serde::Deserializer;

/// The largest quantity a request may name (`u32::MAX`), as the document states it.
pub const QTY_MAX: i64 = u32::MAX as i64;

/// An address field's text: 1 to 200 characters, at least one of them not whitespace (the
/// whitespace Rust's `char::is_whitespace` knows, spelled out so every regex engine agrees).
pub const TEXT_PATTERN: &str = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// An id a client gives (a batch's, a tracking number, a carrier's event): 1 to 64
/// characters, none whitespace, a control character or a slash (`error::client_id`).
pub const ID_PATTERN: &str =
    r"^[^\t\n\x0B\f\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000/\\\x00-\x1F\x7F-\x9F]{1,64}$";

/// A decimal amount as written in requests: digits, optionally a point and 1 to 10 more.
pub const AMOUNT_PATTERN: &str = r"^[0-9]{1,18}(\.[0-9]{1,10})?$";

/// A calendar date, `YYYY-MM-DD` (and a real day: `format: date`).
pub const DATE_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// An ISO 3166-1 alpha-2 country code, in either case.
pub const COUNTRY_PATTERN: &str = "^[A-Za-z]{2}$";

/// Whether `text` holds the shape `AMOUNT_PATTERN` states.
pub fn is_amount(text: &str) -> bool {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str, max: usize| (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole, 18) && fraction.is_none_or(|f| digits(f, 10))
}

/// The decimal `text` holds when it has the shape `AMOUNT_PATTERN` states (no sign, no
/// exponent, no underscore, at most 18 digits before the point and 10 after).
pub fn amount(text: &str) -> Option<rust_decimal::Decimal> {
    is_amount(text).then(|| text.parse().ok()).flatten()
}

/// `amount`, or its negation after a `-` (`^-?` and `AMOUNT_PATTERN`'s rest).
pub fn signed_amount(text: &str) -> Option<rust_decimal::Decimal> {
    match text.strip_prefix('-') {
        Some(magnitude) => amount(magnitude).map(|m| -m),
        None => amount(text),
    }
}

/// Whether `text` holds the shape `DATE_PATTERN` states.
pub fn is_date_shaped(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
}

/// A JSON number with no fractional part, as an `i64`.
pub fn whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(WholeVisitor)
}

/// A JSON number with no fractional part from 0 to 4294967295 (`241` or `241.0`).
pub fn whole_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let value = whole(deserializer)?;
    u32::try_from(value).map_err(|_| D::Error::custom(format!("{value} is not a whole number from 0 to 4294967295")))
}

/// `whole_u32`, or null.
pub fn whole_u32_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    struct Whole(u32);
    impl<'de> serde::Deserialize<'de> for Whole {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            whole_u32(deserializer).map(Whole)
        }
    }
    Ok(<Option<Whole> as serde::Deserialize>::deserialize(deserializer)?.map(|whole| whole.0))
}

/// A JSON number with no fractional part from -2147483648 to 2147483647, or null.
pub fn whole_i32_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    struct Whole(i32);
    impl<'de> serde::Deserialize<'de> for Whole {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let value = whole(deserializer)?;
            i32::try_from(value)
                .map(Whole)
                .map_err(|_| D::Error::custom(format!("{value} is not a whole number from -2147483648 to 2147483647")))
        }
    }
    Ok(<Option<Whole> as serde::Deserialize>::deserialize(deserializer)?.map(|whole| whole.0))
}

struct WholeVisitor;

impl<'de> Visitor<'de> for WholeVisitor {
    type Value = i64;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a whole number")
    }

    fn visit_i64<E: Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::custom(format!("{value} is too large a whole number")))
    }

    fn visit_f64<E: Error>(self, value: f64) -> Result<i64, E> {
        // Every whole f64 within ±2^63 converts exactly; 2^63 itself does not fit.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if value.fract() != 0.0 || !value.is_finite() {
            return Err(E::custom(format!("{value} is not a whole number")));
        }
        if !(-LIMIT..LIMIT).contains(&value) {
            return Err(E::custom(format!("{value} is too large a whole number")));
        }
        #[allow(clippy::cast_possible_truncation)] // whole and within range: exact
        Ok(value as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(deserialize_with = "whole")]
        qty: i64,
    }

    fn read(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    // Proves a whole number is read in any spelling JSON Schema calls an integer, and a
    // fraction is refused naming it (the server answered 400 to `2.0`, which the document
    // allowed).
    #[test]
    fn integral_numbers_are_whole_numbers() {
        assert_eq!(read(r#"{"qty": 2}"#).unwrap().qty, 2);
        assert_eq!(read(r#"{"qty": 2.0}"#).unwrap().qty, 2);
        assert_eq!(read(r#"{"qty": -3e0}"#).unwrap().qty, -3);
        assert!(read(r#"{"qty": 2.5}"#).unwrap_err().contains("2.5 is not a whole number"));
        assert!(read(r#"{"qty": 1e300}"#).unwrap_err().contains("too large"));
        assert!(read(r#"{"qty": 18446744073709551615}"#).unwrap_err().contains("too large"));
        assert!(read(r#"{"qty": "2"}"#).is_err());
    }

    #[test]
    fn shapes_match_their_patterns() {
        for good in ["0", "12.5", "99999.0000000001"] {
            assert!(is_amount(good), "{good}");
        }
        for bad in ["", ".5", "1.", "-1", "1e3", " 1", "1_000", "1.12345678901"] {
            assert!(!is_amount(bad), "{bad}");
        }
        assert!(is_date_shaped("2026-12-03"));
        for bad in ["+2026-12-03", "20261203", "2026-1-03", "2026-12-03 "] {
            assert!(!is_date_shaped(bad), "{bad}");
        }
    }
}
