//! `Query<T>`: a query string read as the route's parameters, refused with problem
//! details naming the parameter that did not read (`qty=two`: `400 invalid_query`,
//! "query parameter \"qty\": invalid digit found in string").

use std::future::{ready, Ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// The query string, read as `T`.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(request.query_string().as_bytes());
        let read = serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs));
        ready(read.map(Query).map_err(|error| {
            let parameter = error.path().to_string();
            let detail = if parameter == "." {
                format!("invalid query string: {}", error.inner())
            } else {
                format!("query parameter \"{parameter}\": {}", error.inner())
            };
            Problem::new(StatusCode::BAD_REQUEST, "invalid_query", detail).into()
        }))
    }
}
