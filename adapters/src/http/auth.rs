//! Bearer API keys. Keys are held only as SHA-256 digests: a configured plain key is hashed
//! at start, a presented key is hashed before lookup, so no comparison ever runs over the
//! secret itself.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use mercato_engine::commerce::model::ApiRole;
use mercato_engine::Commerce;
use sha2::{Digest, Sha256};

use super::problem::Problem;
use super::AppState;

/// Who is calling: the role of their key and the tenant it belongs to.
/// Its text is shared, so each request's copy costs no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: Arc<str>,
    pub role: ApiRole,
    pub commerce: Arc<str>,
    pub merchant: Option<Arc<str>>,
    /// The SHA-256 of the key presented, in hex: a change made with it is refused if the
    /// key was revoked or rotated while the request waited, and a stream opened with it
    /// ends when it no longer stands.
    pub key_sha256: Arc<str>,
}

/// Every key of every commerce on the node, by SHA-256 digest. Keys are data: created,
/// rotated and revoked through the API, so the table is rebuilt from the commerces as
/// published after each such change (`refresh`) and swapped in whole; a lookup never
/// waits.
pub struct KeyTable {
    by_digest: ArcSwap<ByDigest>,
    /// One rebuild at a time, so the last to finish is built from the latest keys.
    rebuilding: Mutex<()>,
    /// Told of each rebuild: what holds a key beyond one request (an event stream) checks
    /// again that it stands.
    rebuilt: tokio::sync::watch::Sender<u64>,
}

fn sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A digest written as 64 hex digits; `None` for anything else.
fn digest_from_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(digest)
}

fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Principals by the SHA-256 of their key.
type ByDigest = HashMap<[u8; 32], Principal>;

/// Every key of `commerces` by digest, and the digests two tenants share (a key must name
/// exactly one tenant, so such a digest opens nothing).
fn table<'a>(commerces: impl Iterator<Item = &'a Commerce>) -> Result<(ByDigest, Vec<String>), String> {
    let mut by_digest = HashMap::new();
    let mut shared = Vec::new();
    let mut refused = std::collections::HashSet::new();
    for commerce in commerces {
        for key in &commerce.config().api_keys {
            let digest = match (&key.key, &key.key_sha256) {
                (Some(plain), _) => sha256(plain),
                (None, Some(hex)) => digest_from_hex(hex)
                    .ok_or_else(|| format!("key \"{}\": key_sha256 is not 64 hex digits", key.name))?,
                (None, None) => continue,
            };
            // Validation refused keys without a role.
            let Some(role) = key.role else { continue };
            let principal = Principal {
                name: key.name.as_str().into(),
                role,
                commerce: commerce.code().into(),
                merchant: key.merchant.as_deref().map(Arc::from),
                key_sha256: hex(&digest).into(),
            };
            if refused.contains(&digest) {
                continue;
            }
            if let Some(other) = by_digest.insert(digest, principal) {
                shared.push(format!(
                    "api key \"{}\" of commerce \"{}\" is also configured for commerce \"{}\"",
                    key.name,
                    commerce.code(),
                    other.commerce
                ));
                by_digest.remove(&digest);
                refused.insert(digest);
            }
        }
    }
    Ok((by_digest, shared))
}

impl KeyTable {
    /// Builds the table; refused when two tenants share a key (`table`'s rule: a key
    /// names one tenant).
    pub fn build<'a>(commerces: impl Iterator<Item = &'a Commerce>) -> Result<Self, String> {
        let (by_digest, shared) = table(commerces)?;
        if let Some(first) = shared.into_iter().next() {
            return Err(first);
        }
        let rebuilt = tokio::sync::watch::Sender::new(0);
        Ok(Self { by_digest: ArcSwap::from_pointee(by_digest), rebuilding: Mutex::new(()), rebuilt })
    }

    /// Rebuilds the table from the commerces as `registry` publishes them now, so a key
    /// revoked or rotated fails at once. A key the API made is random, so no two tenants
    /// share one; were they to, that key opens nothing (it is left out and named in the
    /// log) while every other key is rebuilt: the table never keeps a revoked key.
    pub fn refresh(&self, registry: &mercato_actors::Registry) {
        let _one = self.rebuilding.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let commerces: Vec<Arc<Commerce>> = registry.iter().map(|(_, handle)| handle.snapshot()).collect();
        let (by_digest, shared) = match table(commerces.iter().map(Arc::as_ref)) {
            Ok(built) => built,
            Err(reason) => {
                // A digest the node wrote itself is always 64 hex digits; were one not, no
                // key opens anything rather than a revoked one staying open.
                tracing::error!(%reason, "the key table is emptied");
                (HashMap::new(), Vec::new())
            }
        };
        for reason in shared {
            tracing::error!(%reason, "a key two tenants share opens nothing");
        }
        self.by_digest.store(Arc::new(by_digest));
        self.rebuilt.send_modify(|count| *count += 1);
    }

    /// Changes each time the table is rebuilt.
    pub fn rebuilds(&self) -> tokio::sync::watch::Receiver<u64> {
        self.rebuilt.subscribe()
    }

    /// The principal of a presented key, if any.
    pub fn lookup(&self, presented: &str) -> Option<Principal> {
        self.by_digest.load().get(&sha256(presented)).cloned()
    }

    /// Whether the key `principal` was let in with still stands as it was (not revoked,
    /// not rotated, same role and tenant).
    pub fn stands(&self, principal: &Principal) -> bool {
        let Some(digest) = digest_from_hex(&principal.key_sha256) else { return false };
        self.by_digest.load().get(&digest) == Some(principal)
    }
}

impl Principal {
    /// The author of a change made with this key.
    pub fn author(&self) -> mercato_actors::settings::Author {
        mercato_actors::settings::Author { name: self.name.to_string(), key_sha256: Some(self.key_sha256.to_string()) }
    }
}

impl Principal {
    /// Allows the call when the key belongs to `commerce` and has one of `roles`. Another
    /// tenant's commerce answers 404, exactly as a commerce that does not exist, so keys
    /// learn nothing about other tenants.
    pub fn authorize(&self, commerce: &str, roles: &[ApiRole]) -> Result<(), Problem> {
        if *self.commerce != *commerce {
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
    let principal = state.keys.lookup(token).ok_or_else(|| Problem::unauthenticated("the API key is not known"))?;
    // Tenant scoping happens here, before any body is read: another tenant's commerce
    // answers 404 whatever the request carries.
    if let Some(commerce) = request.match_info().get("commerce") {
        if commerce != &*principal.commerce {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_digest_finds_the_presented_key() {
        // The digest written as `key_sha256` holds it.
        let written: String = sha256("demo-secret").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(digest_from_hex(&written), Some(sha256("demo-secret")));
        assert_eq!(digest_from_hex(&written.to_uppercase()), Some(sha256("demo-secret")));
        for bad in ["", "abc", &written[1..], &format!("{}zz", &written[2..]), &format!("+f{}", &written[2..])] {
            assert_eq!(digest_from_hex(bad), None, "{bad:?}");
        }
    }
}
