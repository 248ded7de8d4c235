//! Mercato's storage layer. It knows bytes, log sequence numbers and serde, never domain
//! types: the actors hand it serialisable records and get them back.
//!
//! # Layout
//! - `codec`: the one place values become bytes and back (bincode 2 through serde), with
//!   a size limit so a corrupt length can never make it allocate without bound, and the
//!   format version (`FORMAT_VERSION`) every segment and snapshot states.
//! - `error`: `PersistenceError`, the storage errors (`Io`, `Corruption`, `Codec`,
//!   `Format`).
//! - `log`: the write-ahead log (segments, group commit, recovery).
//! - `snapshot`: generations of actor states in sled, made durable explicitly, with
//!   fallback to the previous generation.
//! - `storage`: the file operations the log uses (`OsStorage`), and `sim`, a simulated
//!   disk that loses unsynced bytes on a crash and fails chosen operations, for tests.

#![forbid(unsafe_code)]

pub mod archive;
pub mod codec;
pub mod error;
pub mod events;
pub mod kv;
pub mod log;
pub mod sim;
pub mod snapshot;
pub mod storage;

pub use error::PersistenceError;
