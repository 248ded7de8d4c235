//! An event as stored and as answered. The store keeps, per event, its type and the
//! merchants it concerns ahead of its JSON, so a page filters by type and tenant without
//! parsing the JSON, and answers the JSON as it was written.

use std::fmt;
use std::str::FromStr;

use mercato_persistence::events::Position;
use serde::Serialize;

/// An event's position in the log, written `{lsn}.{index}`: the record it came from and
/// its place among that record's events. The `after` cursor, the stream's event id and
/// `Last-Event-ID` are positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct EventPosition(pub Position);

impl fmt::Display for EventPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0.lsn, self.0.index)
    }
}

impl FromStr for EventPosition {
    type Err = ();

    /// `{lsn}.{index}`, or `{lsn}` alone for after every event of that record.
    fn from_str(text: &str) -> Result<Self, ()> {
        let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        let (lsn, index) = match text.split_once('.') {
            Some((lsn, index)) if digits(lsn) && digits(index) => {
                (lsn.parse().map_err(|_| ())?, index.parse().map_err(|_| ())?)
            }
            None if digits(text) => (text.parse().map_err(|_| ())?, u16::MAX),
            _ => return Err(()),
        };
        Ok(EventPosition(Position { lsn, index }))
    }
}

/// The aggregate an event belongs to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AggregateDto {
    /// `order`, `shipment` or `stock`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The order id; `{order}/{shipment}`; `{warehouse}/{sku}`.
    pub id: String,
}

/// An event, as the API pages and streams it and webhooks deliver it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublishedEventDto {
    /// `{commerce}:{position}`: the same on every delivery (the webhook's `webhook-id`).
    pub id: String,
    /// `{lsn}.{index}`: where it is in the log; pages and streams go on after it.
    pub position: String,
    pub commerce: String,
    /// One of the catalogue's types.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When the change was made (RFC 3339, UTC).
    pub time: String,
    pub aggregate: AggregateDto,
    /// 1 for the aggregate's first event, then one more for each: a receiver that sees a
    /// gap has missed one.
    pub sequence: u64,
    /// The change, in the API's shapes (per type: see the webhooks of the document).
    #[schema(value_type = Object)]
    pub data: EventData,
}

/// An event's `data`: a JSON value built field by field, or JSON text written straight
/// from the API's types (a product's or an order's, the largest: no value tree is built
/// for them, which an import of a million products would otherwise do a million times).
#[derive(Debug, Clone)]
pub enum EventData {
    Value(serde_json::Value),
    Text(Box<serde_json::value::RawValue>),
}

impl EventData {
    /// `data` written as JSON text; null when it cannot be (it always can: the API's
    /// types have string keys).
    pub fn text(data: &impl Serialize) -> Self {
        match serde_json::value::to_raw_value(data) {
            Ok(text) => EventData::Text(text),
            Err(_) => EventData::Value(serde_json::Value::Null),
        }
    }

    /// The data as a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            EventData::Value(value) => value.clone(),
            EventData::Text(text) => serde_json::from_str(text.get()).unwrap_or_default(),
        }
    }
}

impl From<serde_json::Value> for EventData {
    fn from(value: serde_json::Value) -> Self {
        EventData::Value(value)
    }
}

/// Equal when they read as the same JSON.
impl PartialEq for EventData {
    fn eq(&self, other: &Self) -> bool {
        self.to_value() == other.to_value()
    }
}

impl Serialize for EventData {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            EventData::Value(value) => value.serialize(serializer),
            EventData::Text(text) => text.serialize(serializer),
        }
    }
}

/// Separates the stored header's fields from each other and from the JSON (it cannot
/// appear in JSON text unescaped).
const SEPARATOR: u8 = 0x1f;

/// The stored bytes of an event: its type, the merchants it concerns, then its JSON.
pub fn encode(kind: &str, merchants: &[String], json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(kind.len() + json.len() + 16);
    out.extend_from_slice(kind.as_bytes());
    out.push(SEPARATOR);
    out.extend_from_slice(merchants.join(",").as_bytes());
    out.push(SEPARATOR);
    out.extend_from_slice(json);
    out
}

/// When a stored event's change was made (its JSON's `time`); none when it does not read.
pub fn time_of(bytes: &[u8]) -> Option<chrono::DateTime<chrono::Utc>> {
    const FIELD: &[u8] = b"\"time\":\"";
    let json = Envelope::parse(bytes)?.json;
    // Written before `data` in every event: found in the head without reading the rest.
    let head = &json[..json.len().min(512)];
    let text = match head.windows(FIELD.len()).position(|w| w == FIELD) {
        Some(at) => {
            let rest = &head[at + FIELD.len()..];
            let end = rest.iter().position(|&b| b == b'"')?;
            std::str::from_utf8(&rest[..end]).ok()?.to_owned()
        }
        None => {
            #[derive(serde::Deserialize)]
            struct Timed {
                time: String,
            }
            serde_json::from_slice::<Timed>(json).ok()?.time
        }
    };
    chrono::DateTime::parse_from_rfc3339(&text).ok().map(|t| t.with_timezone(&chrono::Utc))
}

/// A stored event read: its type, the merchants it concerns (comma-separated) and its
/// JSON.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub kind: &'a str,
    merchants: &'a str,
    pub json: &'a [u8],
}

impl<'a> Envelope<'a> {
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let mut parts = bytes.splitn(3, |&b| b == SEPARATOR);
        let kind = std::str::from_utf8(parts.next()?).ok()?;
        let merchants = std::str::from_utf8(parts.next()?).ok()?;
        let json = parts.next()?;
        Some(Envelope { kind, merchants, json })
    }

    /// Whether the event concerns `merchant` (one of its lines or products is the
    /// merchant's).
    pub fn concerns(&self, merchant: &str) -> bool {
        self.merchants.split(',').any(|m| m == merchant)
    }
}

#[cfg(test)]
mod tests {
    use super::{encode, time_of};

    // Proves an event's time is read from its JSON, from the head or, when the head does
    // not hold it, from the whole; an event that does not read has none.
    #[test]
    fn an_events_time_reads_from_its_json() {
        let json = br#"{"id":"demo:7.0","position":"7.0","commerce":"demo","type":"order.paid","time":"2026-12-04T10:00:00.250Z","data":{}}"#;
        let time = time_of(&encode("order.paid", &[], json)).expect("a time");
        assert_eq!(time.timestamp_millis(), 1_796_378_400_250);
        let late = format!(r#"{{"data":{{"pad":"{}"}},"time":"2026-12-04T10:00:00.250Z"}}"#, "x".repeat(600));
        assert_eq!(time_of(&encode("order.paid", &[], late.as_bytes())), Some(time));
        assert_eq!(time_of(&encode("order.paid", &[], b"{}")), None);
        assert_eq!(time_of(b"no separator"), None);
    }
}
