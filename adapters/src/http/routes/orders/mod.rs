//! Order routes: checkout (a cart becomes an order), a purchase in one request, an order,
//! its documents and history, the back office's order list, the administrator's payment
//! confirmation (offline payments), and the order's life after checkout: shipping,
//! carriers' reports, cancellations, refunds and invoices.
//!
//! # Layout
//! - `dto.rs`: the order as answered; `after_dto.rs`: its documents, refunds, money and
//!   history.
//! - `checkout.rs`, `buy_now.rs`, `read.rs`, `list.rs`, `payments.rs`, `fulfil.rs` (ship,
//!   carrier events), `cancel.rs` (cancellations, refunds), `invoices.rs` (history,
//!   invoices): one route group each.

mod after_dto;
mod buy_now;
mod cancel;
mod checkout;
mod dto;
mod fulfil;
mod invoices;
mod list;
mod payments;
mod read;
mod returns;

pub use after_dto::*;
pub use buy_now::*;
pub use cancel::*;
pub use checkout::*;
pub use dto::*;
pub use fulfil::*;
pub use invoices::*;
pub use list::*;
pub use payments::*;
pub use read::*;
pub use returns::*;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use mercato_actors::cart::{CartRemember, CartReply, CartRespond, CheckOut};
use mercato_engine::commerce::model::ApiRole;
use mercato_engine::order::{Order, OrderCommand};
use mercato_engine::pricing::minor_units;
use mercato_engine::Commerce;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::carts::*;
use crate::http::auth::Principal;
use crate::http::idempotency;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;
