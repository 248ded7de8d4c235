//! `Json<T>`: a request body that must be a JSON object. actix-web's own extractor (with
//! the app's `JsonConfig`: the size limit, the media type, problem details) reads it, but
//! through `Object`, which takes a JSON object only and reads it strictly (`strict`): serde
//! would otherwise read a JSON array into a struct field by field (`["KEYBOARD", 2, null]`
//! as a receipt of two keyboards), at any depth.
//! An array, a string or a number is `400 invalid_body`, like any other malformed body.
//!
//! A body that does not read is not refused by the extractor: it is kept, and `read` gives
//! the refusal once the route has checked the key's role and tenant, so a key that may not
//! use the route is 403 (or 404) whatever it sent. A body that takes longer than
//! `REQUEST_BODY_TIMEOUT` to arrive is refused too (408 `body_timeout`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::problem::Problem;

/// How long a request body may take to arrive whole once its headers are in: a client that
/// stalls or trickles it is answered 408 `body_timeout` (the connection then closes) instead
/// of holding a worker's connection open. 64 KiB at a slow mobile link's few KiB/s fits.
pub const REQUEST_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A JSON object body, read as `T`, or why it did not read.
pub struct Json<T>(Result<T, Problem>);

impl<T> Json<T> {
    /// The body, or its refusal (`400 invalid_body`, `413 body_too_large`, `415`): call it
    /// after the role and tenant check.
    pub fn read(self) -> Result<T, Problem> {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = web::Json::<Object<T>>::from_request(request, payload);
        Box::pin(async move {
            let Ok(read) = actix_web::rt::time::timeout(REQUEST_BODY_TIMEOUT, read).await else {
                let detail =
                    format!("the request body did not arrive whole within {} s", REQUEST_BODY_TIMEOUT.as_secs());
                return Ok(Json(Err(Problem::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", detail))));
            };
            Ok(Json(read.map(|json| json.into_inner().0).map_err(|error| match error.as_error::<Problem>() {
                Some(problem) => problem.clone(),
                None => Problem::new(StatusCode::BAD_REQUEST, "invalid_body", format!("invalid JSON body: {error}")),
            })))
        })
    }
}

/// `T`, read only from a JSON object, and strictly within it (`strict`: a struct only
/// from an object at every depth).
struct Object<T>(T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if !value.is_object() {
            let found = match &value {
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                _ => "null",
            };
            return Err(serde::de::Error::custom(format!("expected a JSON object, found {found}")));
        }
        super::strict::from_value(value).map(Object).map_err(serde::de::Error::custom)
    }
}
