//! Bearer API keys. Keys are held only as SHA-256 digests: a configured plain key is hashed
//! at start, a presented key is hashed before lookup, so no comparison ever runs over the
//! secret itself.

use std::collections::HashMap;
use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use mercato_engine::commerce::model::ApiRole;
use mercato_engine::Commerce;
use sha2::{Digest, Sha256};

use super::problem::Problem;
use super::AppState;

/// Who is calling: the role of their key and the tenant it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: ApiRole,
    pub commerce: String,
    pub merchant: Option<String>,
}

/// Every key of every commerce on the node, by SHA-256 in lowercase hex.
#[derive(Debug, Clone, Default)]
pub struct KeyTable {
    by_digest: HashMap<String, Principal>,
}

fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

impl KeyTable {
    /// Builds the table; the same key configured for two commerces is an error, since a
    /// key must name exactly one tenant.
    pub fn build<'a>(commerces: impl Iterator<Item = &'a Commerce>) -> Result<Self, String> {
        let mut by_digest = HashMap::new();
        for commerce in commerces {
            for key in &commerce.config().api_keys {
                let digest = match (&key.key, &key.key_sha256) {
                    (Some(plain), _) => sha256_hex(plain),
                    (None, Some(digest)) => digest.clone(),
                    (None, None) => continue,
                };
                // Validation refused keys without a role.
                let Some(role) = key.role else { continue };
                let principal = Principal {
                    name: key.name.clone(),
                    role,
                    commerce: commerce.code().to_owned(),
                    merchant: key.merchant.clone(),
                };
                if let Some(other) = by_digest.insert(digest, principal) {
                    return Err(format!(
                        "api key \"{}\" of commerce \"{}\" is also configured for commerce \"{}\"",
                        key.name,
                        commerce.code(),
                        other.commerce
                    ));
                }
            }
        }
        Ok(Self { by_digest })
    }

    pub fn lookup(&self, presented: &str) -> Option<&Principal> {
        self.by_digest.get(&sha256_hex(presented))
    }
}

impl Principal {
    /// Allows the call when the key belongs to `commerce` and has one of `roles`. Another
    /// tenant's commerce answers 404, exactly as a commerce that does not exist, so keys
    /// learn nothing about other tenants.
    pub fn authorize(&self, commerce: &str, roles: &[ApiRole]) -> Result<(), Problem> {
        if self.commerce != commerce {
            return Err(Problem::commerce_not_found(commerce));
        }
        if !roles.contains(&self.role) {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            return Err(Problem::forbidden(format!(
                "a {} key may not use this route (allowed: {})",
                self.role.as_str(),
                allowed.join(", ")
            )));
        }
        Ok(())
    }
}

fn principal_of(request: &HttpRequest) -> Result<Principal, Problem> {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Problem::unauthenticated("an Authorization: Bearer <key> header is required"))?;
    let value = header.to_str().map_err(|_| Problem::unauthenticated("the Authorization header is not text"))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
        _ => return Err(Problem::unauthenticated("the Authorization header must be \"Bearer <key>\"")),
    };
    let state = request
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Problem::unauthenticated("no key table is configured"))?;
    let principal =
        state.keys.lookup(token).cloned().ok_or_else(|| Problem::unauthenticated("the API key is not known"))?;
    // Tenant scoping happens here, before any body is read: another tenant's commerce
    // answers 404 whatever the request carries.
    if let Some(commerce) = request.match_info().get("commerce") {
        if commerce != principal.commerce {
            return Err(Problem::commerce_not_found(commerce));
        }
    }
    Ok(principal)
}

impl FromRequest for Principal {
    type Error = Problem;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(principal_of(request))
    }
}
