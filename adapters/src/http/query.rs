//! `Query<T>`: a query string read as the route's parameters, refused with problem
//! details naming the parameter that did not read (`qty=two`: `400 invalid_query`,
//! "query parameter \"qty\": invalid digit found in string"). Like a body, a query that
//! does not read is refused by `read`, after the route's role and tenant check.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// The query string, read as `T`, or why it did not read.
pub struct Query<T>(Result<T, Problem>);

impl<T> Query<T> {
    /// The parameters, or their refusal (`400 invalid_query`): call it after the role and
    /// tenant check.
    pub fn read(self) -> Result<T, Problem> {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(request.query_string().as_bytes());
        let read = serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs));
        ready(Ok(Query(read.map_err(|error| {
            let parameter = error.path().to_string();
            let detail = if parameter == "." {
                format!("invalid query string: {}", error.inner())
            } else {
                format!("query parameter \"{parameter}\": {}", error.inner())
            };
            Problem::new(StatusCode::BAD_REQUEST, "invalid_query", detail)
        }))))
    }
}
