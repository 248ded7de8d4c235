//! Mercato's actors: each owns a piece of engine state, applies changes to it one message
//! at a time, and publishes what readers need as immutable snapshots, so reads never queue
//! behind writes.
//!
//! # Layout
//! - `commerce`: `CommerceActor`, one per commerce: owns the validated configuration and
//!   publishes it as an `Arc` snapshot that context resolution reads.
//! - `registry`: `Registry`, the node's commerces by code, started together.

#![forbid(unsafe_code)]

pub mod commerce;
pub mod registry;

pub use commerce::{CommerceActor, CommerceHandle, CurrentConfig, ReplaceConfig, ReplaceError};
pub use registry::{Registry, RegistryError};
