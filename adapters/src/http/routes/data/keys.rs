//! API keys by API: `POST …/api-keys` creates one and shows it once (only its SHA-256 is
//! kept: in memory, in the log, in snapshots), `POST …/api-keys/{name}/rotate` gives it a
//! new secret (the old one fails at once), `DELETE …/api-keys/{name}` revokes it (it fails
//! at once on every route of the node), `GET …/api-keys` lists them without secrets. A
//! retried creation of the same name is `409 already_exists`: the secret is never kept to
//! be shown twice, so a lost answer is recovered by rotating. A key never rotates or
//! revokes itself (`409 own_key`), and the last admin key is never revoked or given
//! another role (`409 last_admin_key`): the back office is never locked out. A change
//! asked with a key revoked or rotated while the request waited is refused (401).

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, web, HttpResponse};
use base64::Engine as _;
use mercato_actors::settings::Presence;
use mercato_engine::commerce::data::{key_digest, DataChange, DataItem, DataKind};
use mercato_engine::commerce::model::{ApiKey, ApiRole};
use serde::{Deserialize, Serialize};

use super::{admin, not_found};
use crate::http::auth::Principal;
use crate::http::body::Json;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// Random bytes in a key made by the node.
const KEY_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    Admin,
    Storefront,
    Merchant,
}

impl KeyRole {
    fn of(role: ApiRole) -> Self {
        match role {
            ApiRole::Admin => KeyRole::Admin,
            ApiRole::Storefront => KeyRole::Storefront,
            ApiRole::Merchant => KeyRole::Merchant,
        }
    }

    fn role(self) -> ApiRole {
        match self {
            KeyRole::Admin => ApiRole::Admin,
            KeyRole::Storefront => ApiRole::Storefront,
            KeyRole::Merchant => ApiRole::Merchant,
        }
    }
}

/// A key to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    /// A label unique among the commerce's keys: 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub name: String,
    pub role: KeyRole,
    /// The merchant a `merchant` key acts for; absent with any other role.
    pub merchant: Option<String>,
}

/// A key as listed: never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyDto {
    pub name: String,
    pub role: Option<KeyRole>,
    pub merchant: Option<String>,
    /// The first 8 hex digits of the key's SHA-256, to tell keys apart.
    pub fingerprint: String,
}

/// A key just made or rotated, with its secret: shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecretKeyDto {
    pub name: String,
    pub role: Option<KeyRole>,
    pub merchant: Option<String>,
    pub fingerprint: String,
    /// The key to present as `Authorization: Bearer <key>`. Not kept: it cannot be shown
    /// again.
    pub key: String,
}

fn fingerprint(key: &ApiKey) -> String {
    key.key_sha256.as_deref().unwrap_or_default().chars().take(8).collect()
}

fn listed(key: &ApiKey) -> KeyDto {
    KeyDto {
        name: key.name.clone(),
        role: key.role.map(KeyRole::of),
        merchant: key.merchant.clone(),
        fingerprint: fingerprint(key),
    }
}

/// A new secret: `prefix` and 32 random bytes in URL-safe base64 (`mk_` for a key, `mi_`
/// for a merchant's invitation).
pub(crate) fn random_secret(prefix: &str) -> Result<String, Problem> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| Problem::unavailable(&format!("no randomness: {e}")))?;
    Ok(format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// A key with its secret, as shown once.
pub(crate) fn with_secret(key: &ApiKey, plain: String) -> SecretKeyDto {
    let KeyDto { name, role, merchant, fingerprint } = listed(key);
    SecretKeyDto { name, role, merchant, fingerprint, key: plain }
}

fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A key never rotates or revokes itself: were the answer lost, its caller would be left
/// without a key. Another admin key does it.
fn not_itself(principal: &Principal, name: &str) -> Result<(), Problem> {
    if *principal.name == *name {
        let detail =
            format!("api key \"{name}\" is the key of this request: rotate or revoke it with another admin key");
        return Err(Problem::new(StatusCode::CONFLICT, "own_key", detail));
    }
    Ok(())
}

/// Puts `key` with a fresh secret; the answer shows the secret.
async fn put_with_secret(
    state: &AppState,
    principal: &Principal,
    code: &str,
    mut key: ApiKey,
    presence: Presence,
) -> Result<SecretKeyDto, Problem> {
    let handle = admin(state, principal, code)?;
    let plain = random_secret("mk_")?;
    key.key = None;
    key.key_sha256 = Some(key_digest(&plain));
    let change = DataChange::Put(Box::new(DataItem::ApiKey(key.clone())));
    handle.change_data(change, principal.author(), presence).await?;
    state.keys.refresh(&state.registry);
    Ok(with_secret(&key, plain))
}

#[utoipa::path(
    tag = "back office",
    summary = "Lists the commerce's API keys (admin), never their secrets.",
    params(("commerce" = String, Path, description = "The commerce code.")),
    responses((status = 200, description = "Every key", body = Vec<KeyDto>), Refusals)
)]
#[get("/v1/commerces/{commerce}/api-keys")]
pub async fn list_keys(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let handle = admin(&state, &principal, &path)?;
    let keys: Vec<KeyDto> = handle.snapshot().config().api_keys.iter().map(listed).collect();
    Ok(HttpResponse::Ok().json(keys))
}

#[utoipa::path(
    tag = "back office",
    summary = "Creates an API key (admin): the key is in this answer only; the node keeps its SHA-256.",
    params(("commerce" = String, Path, description = "The commerce code.")),
    request_body = NewKeyBody,
    responses((status = 201, description = "Created", body = SecretKeyDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/api-keys")]
pub async fn create_key(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: Json<NewKeyBody>,
) -> Result<HttpResponse, Problem> {
    admin(&state, &principal, &path)?;
    let body = body.read()?;
    if !is_name(&body.name) {
        let detail = format!("name \"{}\" must be 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'", body.name);
        return Err(super::unreadable(DataKind::ApiKey, &body.name, &[detail]));
    }
    let key =
        ApiKey { name: body.name, key: None, key_sha256: None, role: Some(body.role.role()), merchant: body.merchant };
    let made = put_with_secret(&state, &principal, &path, key, Presence::Absent).await?;
    Ok(HttpResponse::Created().json(made))
}

#[utoipa::path(
    tag = "back office",
    summary = "Gives an API key a new secret (admin; another key than the one rotated), shown in this answer only; the old one fails at once.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("name" = String, Path, description = "The key's name.")
    ),
    responses((status = 200, description = "Rotated", body = SecretKeyDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/api-keys/{name}/rotate")]
pub async fn rotate_key(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, name) = path.into_inner();
    let handle = admin(&state, &principal, &code)?;
    not_itself(&principal, &name)?;
    let key = handle.snapshot().config().api_keys.iter().find(|k| k.name == name).cloned();
    let key = key.ok_or_else(|| not_found(DataKind::ApiKey, &name))?;
    let made = put_with_secret(&state, &principal, &code, key, Presence::Present).await?;
    Ok(HttpResponse::Ok().json(made))
}

#[utoipa::path(
    tag = "back office",
    summary = "Revokes an API key (admin; another key than the one revoked): it fails at once on every route.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("name" = String, Path, description = "The key's name.")
    ),
    responses((status = 204, description = "Revoked"), Refusals)
)]
#[delete("/v1/commerces/{commerce}/api-keys/{name}")]
pub async fn revoke_key(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, name) = path.into_inner();
    let handle = admin(&state, &principal, &code)?;
    not_itself(&principal, &name)?;
    let commerce = handle.snapshot();
    let keys = &commerce.config().api_keys;
    keys.iter().find(|k| k.name == name).ok_or_else(|| not_found(DataKind::ApiKey, &name))?;
    let change = DataChange::Remove { kind: DataKind::ApiKey, code: name };
    handle.change_data(change, principal.author(), Presence::Any).await?;
    state.keys.refresh(&state.registry);
    Ok(HttpResponse::NoContent().finish())
}
