//! Order routes: checkout (a cart becomes an order), a purchase in one request, an order and its documents, the back
//! office's order list, and (for offline payments) the administrator's payment confirmation.
//!
//! # Layout
//! - `dto.rs`: the order as answered.
//! - `checkout.rs`, `buy_now.rs`, `read.rs`, `list.rs`, `payments.rs`: one route group each.

mod buy_now;
mod checkout;
mod dto;
mod list;
mod payments;
mod read;

pub use buy_now::*;
pub use checkout::*;
pub use dto::*;
pub use list::*;
pub use payments::*;
pub use read::*;

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
