//! Mercato's storage layer. It knows bytes, log sequence numbers and serde, never domain
//! types: the actors hand it serialisable records and get them back.
//!
//! # Layout
//! - `codec`: the one place values become bytes and back (bincode 2 through serde), with
//!   a size limit so a corrupt length can never make it allocate without bound.
//! - `error`: `PersistenceError`, the storage errors (`Io`, `Corruption`, `Codec`).

#![forbid(unsafe_code)]

pub mod codec;
pub mod error;

pub use error::PersistenceError;
