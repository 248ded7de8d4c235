//! One file per route group; `configure` mounts them all.

mod context;
mod health;

use actix_web::web;

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(health::healthz).service(health::readyz).service(health::metrics).service(context::resolve_context);
}
