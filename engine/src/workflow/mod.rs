//! Workflows that span actors, as state machines in the style of quinn-proto: a workflow
//! decides, returns the effect it needs run (a warehouse to ask, a gateway to call, a
//! record to write) and takes the effect's outcome back. It calls nobody, so every branch,
//! failures and roll-backs included, is tested as a table of outcomes and effects.
//!
//! # Layout
//! - `checkout`: from an open cart to a placed order: quote, authorise, commit every hold,
//!   place; void and uncommit when a step fails.
//! - `create`: a cart created whole, or a purchase in one request: the parts in order,
//!   which keeps the key, and what a failed part does to the cart and the key.
//! - `hold`: a cart line's units: availability, source selection, one reservation per
//!   warehouse, all or nothing; with multi-shipment off, the move of the whole cart to
//!   one center.

pub mod checkout;
pub mod create;
pub mod hold;
