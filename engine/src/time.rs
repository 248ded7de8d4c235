//! Time as the engine takes it: never read from a clock, always passed in.

/// Milliseconds since the Unix epoch. The engine never reads a clock: the actor passes the
/// current time in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Timestamp(pub i64);
