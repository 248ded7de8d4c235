//! Mercato's engine: the pure domain of an order processing engine for online commerces and
//! marketplaces. It has no async, no I/O, no clock and no randomness: time and ids come in
//! as arguments, so every decision can be replayed and tested without a runtime. Nothing
//! here panics on user input; rejections are `DomainError`s with stable codes.
//!
//! # Layout
//! - `commerce`: the commerce model of seed 001 (`model`), its configuration rules
//!   (`validate`, reporting every violation at once), area geometry (`area`), and
//!   `Commerce`, the validated and indexed form.
//! - `resolution`: from a visitor's domain, device, country and wishes to a channel,
//!   language, currency, country and access (full, browse only, blocked, redirect).
//! - `inventory`: one warehouse's stock records, incoming batches and cart reservations
//!   under the four stock policies, as `decide`/`apply` with its invariants.
//! - `cart`: a cart's context, lines and the holds behind them, address, promo code and
//!   delivery choice; quantity rules and alerts.
//! - `pricing`: unit prices from price rules, rounding and conversion; `totals`: discounts,
//!   invoicing company, taxes and a cart's totals.
//! - `delivery`: the multi-shipment planner, shipping types and rates, pick-up points,
//!   payment systems.
//! - `order`: the order checkout places, its document and payment; `quote`: a cart's
//!   prices, delivery and totals.
//! - `workflow`: workflows that span actors (checkout) as state machines: effects out,
//!   outcomes in.
//! - `error`: `DomainError`, the business rejections, each with a stable code.

#![forbid(unsafe_code)]

pub mod cart;
pub mod commerce;
pub mod delivery;
pub mod error;
pub mod inventory;
pub mod order;
pub mod pricing;
pub mod resolution;
pub mod time;
pub mod workflow;

pub use commerce::catalog;
pub use commerce::{Commerce, ConfigError, ProductRules, Violation};
pub use error::{DomainError, ErrorKind};

/// The online payment gateway plugins this build provides; configuration naming another
/// is refused.
pub const KNOWN_GATEWAYS: &[&str] = &["sandbox"];
