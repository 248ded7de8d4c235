//! The `Idempotency-Key` header on creating and changing requests: the same key and
//! request from the same API key replays the original answer; the same key with another
//! request answers 422; a duplicate still in flight answers 409.

use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use mercato_actors::idempotency::{Answer, Stamp, IDEMPOTENCY_KEY_BYTES_MAX};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::http::auth::Principal;
use crate::http::problem::Problem;

pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The request's stamp, when it carries a key: the key is scoped to the API key that sent
/// it, and the request is digested as method, path and the command it carries (so two
/// bodies that say the same thing are the same request).
pub fn stamp(request: &HttpRequest, principal: &Principal, command: &impl Serialize) -> Result<Option<Stamp>, Problem> {
    let Some(value) = request.headers().get(IDEMPOTENCY_HEADER) else { return Ok(None) };
    let key = value.to_str().ok().filter(|k| valid(k)).ok_or_else(|| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!(
                "{IDEMPOTENCY_HEADER} {:?} must be 1 to {IDEMPOTENCY_KEY_BYTES_MAX} visible ASCII characters",
                String::from_utf8_lossy(value.as_bytes())
            ),
        )
    })?;
    let mut digest = Sha256::new();
    digest.update(request.method().as_str());
    digest.update(b" ");
    digest.update(request.path());
    digest.update(b"\n");
    // The command's serde form, not its `Debug` text: stable across versions.
    digest.update(serde_json::to_vec(command).unwrap_or_default());
    Ok(Some(Stamp {
        scope: format!("{}/{}", principal.commerce, principal.name),
        key: key.to_owned(),
        request: digest.finalize().into(),
    }))
}

/// Whether `key` is a key the API takes: 1 to `IDEMPOTENCY_KEY_BYTES_MAX` visible ASCII
/// characters.
pub(crate) fn valid(key: &str) -> bool {
    !key.is_empty() && key.len() <= IDEMPOTENCY_KEY_BYTES_MAX && key.bytes().all(|b| b.is_ascii_graphic())
}

/// An answer as it was first sent.
pub fn replay(answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() { "application/json" } else { "application/problem+json" };
    let mut response = HttpResponse::build(status);
    response.insert_header((CONTENT_TYPE, HeaderValue::from_static(content_type)));
    response.body(answer.body)
}

pub fn in_flight(key: &str) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "idempotency_key_in_flight",
        format!("a request with {IDEMPOTENCY_HEADER} \"{key}\" is still being handled; retry when it is done"),
    )
}

pub fn mismatch(key: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        format!("{IDEMPOTENCY_HEADER} \"{key}\" was used for a different request"),
    )
}
