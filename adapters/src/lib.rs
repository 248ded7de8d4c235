//! Mercato's shell: everything that talks to the outside. It parses configuration files,
//! starts the actors, serves the HTTP/JSON API with actix-web, exports Prometheus metrics,
//! and is the `mercato` binary. It moves data in and out of the engine and holds no domain
//! rule of its own.
//!
//! # Layout
//! - `cli`: the `mercato` command line (`serve`, `check`) and its environment overrides.
//! - `configs`: reading commerce files (or the embedded demo) and node-wide rules across
//!   them.
//! - `server`: boot: data folder, actors, metrics, HTTP listener, readiness.
//! - `events`: the log as outbox: events derived from durable records, kept in the event
//!   store, paged, streamed and delivered.
//! - `http`: the API: `problem` (RFC 9457 errors), `auth` (bearer keys and roles),
//!   `metrics` (Prometheus recorder and per-route request metrics), `routes/` (one file
//!   per route group).

#![forbid(unsafe_code)]

pub mod cli;
pub mod configs;
pub mod events;
pub mod http;
pub mod imports;
mod priority;
mod reload;
pub mod replay;
mod seed;
pub mod server;
mod snapshots;

/// The demo configuration, embedded so that `mercato` runs from any folder.
pub const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");
