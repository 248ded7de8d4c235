//! Catalogue changes while the node runs (DESIGN.md section 12): `PUT …/products/{sku}`
//! creates or replaces a product, `PATCH` merges a JSON merge patch (RFC 7396) into it,
//! `DELETE` retires it, `POST …/revert` makes a past version (or the one in force at a
//! moment) its next one, and `GET …/history` lists its versions with the fields each
//! changed. Every change is checked by the same rules as the configuration file (all
//! violations at once), recorded in the log with the key's principal, and answered once
//! durable. The administrator changes any product; a merchant only its own, whose
//! `merchant` is itself.

use actix_web::http::StatusCode;
use actix_web::{delete, patch, post, put};
use mercato_engine::catalog::{changes, CatalogCommand, CatalogEvent, RevertTo};
use serde_json::Value;

use super::*;

/// The path segment of the translations report, which no product can take as its SKU.
const TRANSLATIONS: &str = "translations";

/// How often a `PATCH` without `if_version` is tried when another change comes first each
/// time (each such miss is another change made: the node as a whole always moves on).
const PATCH_ATTEMPTS_MAX: usize = 1_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WriteQuery {
    /// The version the product must be at for the change to be made (0: it must not exist
    /// yet); otherwise 409 `version_conflict`.
    #[param(minimum = 0, maximum = 4_294_967_295_i64)]
    pub if_version: Option<u32>,
}

/// The answer to a change of `…/products/translations`, the translations report (read
/// only): 405 with `Allow`, as for any path asked with a method it does not take.
fn reserved(sku: &str, method: &str) -> Option<HttpResponse> {
    if sku != TRANSLATIONS {
        return None;
    }
    let detail = format!("{method} …/products/{TRANSLATIONS} is not a route; this path takes GET, HEAD");
    let problem = Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", detail);
    let mut response = actix_web::ResponseError::error_response(&problem);
    response
        .headers_mut()
        .insert(actix_web::http::header::ALLOW, actix_web::http::header::HeaderValue::from_static("GET, HEAD"));
    Some(response)
}

/// Who may change `sku`: the administrator, or the merchant whose product it is (another
/// merchant's is answered as one that does not exist).
fn writer<'a>(
    state: &'a AppState,
    principal: &Principal,
    code: &str,
    sku: &str,
) -> Result<&'a mercato_actors::CommerceHandle, Problem> {
    principal.authorize(code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let handle = state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))?;

    if principal.role == ApiRole::Merchant {
        let commerce = handle.snapshot();
        if let Some(history) = commerce.catalog().get(sku) {
            if history.product().merchant.as_deref() != principal.merchant.as_deref() {
                return Err(Problem::unknown_sku(sku));
            }
        }
    }
    Ok(handle)
}

/// The product a body describes under the path's SKU; a merchant's is its own. A value
/// that does not read is refused with every rule the rest of the product breaks in
/// `commerce`.
fn product_of(body: ProductBody, sku: &str, principal: &Principal, commerce: &Commerce) -> Result<Product, Problem> {
    if let Some(given) = body.sku.as_deref().filter(|given| *given != sku) {
        let detail = format!("sku \"{given}\" is not the path's \"{sku}\"");
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "sku_mismatch", detail));
    }
    let (mut product, mut problems) = body.read(sku);
    if !problems.is_empty() {
        if let Err(DomainError::InvalidProduct { violations, .. }) = commerce.check_product(product) {
            problems.extend(violations.iter().map(ToString::to_string));
        }
        let detail = format!("product \"{sku}\": {}", problems.join("; "));
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_product", detail));
    }
    if principal.role == ApiRole::Merchant {
        let own = principal.merchant.as_deref().unwrap_or_default();
        match product.merchant.as_deref() {
            None => product.merchant = Some(own.to_owned()),
            Some(merchant) if merchant == own => {}
            Some(merchant) => {
                let detail = format!("merchant \"{merchant}\": a merchant key puts its own products only");
                return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_merchant", detail));
            }
        }
    }
    Ok(product)
}

/// The product after a change, whole, with 201 when the change made it.
fn changed(handle: &mercato_actors::CommerceHandle, sku: &str, events: &[CatalogEvent]) -> HttpResponse {
    let commerce = handle.snapshot();
    let default_language = commerce.config().default_language.as_str();
    let created = matches!(events.first(), Some(CatalogEvent::Saved { version: 1, .. }));
    let Some(history) = commerce.catalog().get(sku) else { return HttpResponse::NoContent().finish() };
    let dto = read_dto(&commerce, history.current(), default_language, default_language, true);
    if created {
        HttpResponse::Created().json(dto)
    } else {
        HttpResponse::Ok().json(dto)
    }
}

#[utoipa::path(
    tag = "catalog",
    summary = "Creates or replaces a product (admin; a merchant, its own). A retired product put again is sold again.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("sku" = String, Path, description = "The SKU: 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'; not `translations`, `.` or `..` (paths of their own)."),
        WriteQuery
    ),
    request_body = ProductBody,
    responses(
        (status = 200, description = "Replaced (or unchanged)", body = ProductReadDto),
        (status = 201, description = "Created", body = ProductReadDto),
        (status = 202, description = "A merchant key where the commerce reviews merchants' changes: a proposal, waiting for the back office", body = ProposalDto),
        Refusals
    )
)]
#[put("/v1/commerces/{commerce}/products/{sku}")]
pub async fn put_product(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<WriteQuery>,
    body: crate::http::body::Json<ProductBody>,
) -> Result<HttpResponse, Problem> {
    let (code, sku) = path.into_inner();
    if let Some(answer) = reserved(&sku, "PUT") {
        return Ok(answer);
    }
    let handle = writer(&state, &principal, &code, &sku)?;
    let query = query.read()?;
    let product = product_of(body.read()?, &sku, &principal, &handle.snapshot())?;
    if let Some(answer) = super::proposed(handle, &principal, &sku, Some(product.clone())).await? {
        return Ok(answer);
    }
    let command = CatalogCommand::Put { product: Box::new(product), if_version: query.if_version };
    let events = handle.change_catalog(command, &principal.name).await?;
    Ok(changed(handle, &sku, &events))
}

#[utoipa::path(
    tag = "catalog",
    summary = "Changes a product by a JSON merge patch (RFC 7396) of its document (admin; a merchant, its own). A retired product patched is sold again.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("sku" = String, Path, description = "The SKU: 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'; not `translations`, `.` or `..` (paths of their own)."),
        WriteQuery
    ),
    request_body(content((ProductPatch = "application/merge-patch+json"), (ProductPatch = "application/json")),
        description = "Members of the product's `document` to set; null removes one."),
    responses(
        (status = 200, description = "Changed (or unchanged)", body = ProductReadDto),
        (status = 202, description = "A merchant key where the commerce reviews merchants' changes: a proposal, waiting for the back office", body = ProposalDto),
        Refusals
    )
)]
#[patch("/v1/commerces/{commerce}/products/{sku}")]
pub async fn patch_product(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<WriteQuery>,
    body: crate::http::body::Json<serde_json::Map<String, Value>>,
) -> Result<HttpResponse, Problem> {
    let (code, sku) = path.into_inner();
    if let Some(answer) = reserved(&sku, "PATCH") {
        return Ok(answer);
    }
    let handle = writer(&state, &principal, &code, &sku)?;
    let query = query.read()?;
    let patch = Value::Object(body.read()?);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let commerce = handle.snapshot();
        let history = visible(&commerce, &principal, &sku)?;
        let current = history.current().version;
        let body = patched(history.product(), &patch, &sku)?;
        let product = product_of(body, &sku, &principal, &commerce)?;
        if let Some(answer) = super::proposed(handle, &principal, &sku, Some(product.clone())).await? {
            return Ok(answer);
        }
        // Patched from version `current`: made only if nothing changed it meanwhile.
        let if_version = Some(query.if_version.unwrap_or(current));
        match handle
            .change_catalog(CatalogCommand::Put { product: Box::new(product), if_version }, &principal.name)
            .await
        {
            Err(mercato_actors::ActorError::Refused(DomainError::VersionConflict { .. }))
                if query.if_version.is_none() && attempt < PATCH_ATTEMPTS_MAX => {}
            outcome => return Ok(changed(handle, &sku, &outcome?)),
        }
    }
}

/// `product`'s document with `patch` merged into it, read as a body. A document left
/// unreadable by an unknown member or a value of the wrong type is a malformed body, as a
/// `PUT` of it would be; one left half (a member removed that another needs, `unit` null in
/// a weight) is a product that breaks its rules.
fn patched(product: &Product, patch: &Value, sku: &str) -> Result<ProductBody, Problem> {
    let mut document = serde_json::to_value(ProductBody::of(product))
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    // The document keeps a weight as `weight_grams`: a patch giving `weight` alone replaces
    // it (else both would be given).
    if patch.get("weight").is_some_and(|w| !w.is_null()) && patch.get("weight_grams").is_none() {
        document.as_object_mut().map(|members| members.remove("weight_grams"));
    }
    json_patch::merge(&mut document, patch);
    crate::http::strict::from_value(document).map_err(|error| {
        let detail = format!("product \"{sku}\": the patched document does not read: {error}");
        if error.to_string().starts_with("missing field") {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_product", detail)
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "invalid_body", detail)
        }
    })
}

#[utoipa::path(
    tag = "catalog",
    summary = "Retires a product (admin; a merchant, its own): no longer sold, its history kept.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("sku" = String, Path, description = "The SKU: 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'; not `translations`, `.` or `..` (paths of their own)."),
        WriteQuery
    ),
    responses(
        (status = 200, description = "Retired (or already)", body = ProductReadDto),
        (status = 202, description = "A merchant key where the commerce reviews merchants' changes: a proposal, waiting for the back office", body = ProposalDto),
        Refusals
    )
)]
#[delete("/v1/commerces/{commerce}/products/{sku}")]
pub async fn delete_product(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<WriteQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, sku) = path.into_inner();
    if let Some(answer) = reserved(&sku, "DELETE") {
        return Ok(answer);
    }
    let handle = writer(&state, &principal, &code, &sku)?;
    visible(&handle.snapshot(), &principal, &sku)?;
    let query = query.read()?;
    if let Some(answer) = super::proposed(handle, &principal, &sku, None).await? {
        return Ok(answer);
    }
    let command = CatalogCommand::Retire { sku: sku.clone(), if_version: query.if_version };
    let events = handle.change_catalog(command, &principal.name).await?;
    Ok(changed(handle, &sku, &events))
}

/// A JSON merge patch (RFC 7396) of a product's `document`: any of its members, each
/// nullable (null removes it); the document's schema gives the rest (the OpenAPI document
/// states it in full).
#[derive(Debug, utoipa::ToSchema)]
pub struct ProductPatch {}

/// A revert's target: a version, or a moment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevertBody {
    /// The version to make the next one (not with `at`).
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    #[serde(default, deserialize_with = "crate::http::wire::whole_u32_or_null")]
    pub version: Option<u32>,
    /// The moment whose version to make the next one, RFC 3339 (not with `version`).
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

#[utoipa::path(
    tag = "catalog",
    summary = "Reverts a product to a version or a moment (admin; a merchant, its own): a new version.",
    params(("commerce" = String, Path, description = "The commerce code."), ("sku" = String, Path, description = "The SKU.")),
    request_body = RevertBody,
    responses(
        (status = 200, description = "Reverted (or already so)", body = ProductReadDto),
        (status = 202, description = "A merchant key where the commerce reviews merchants' changes: a proposal of the version, waiting for the back office", body = ProposalDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/products/{sku}/revert")]
pub async fn revert_product(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<RevertBody>,
) -> Result<HttpResponse, Problem> {
    let (code, sku) = path.into_inner();
    let handle = writer(&state, &principal, &code, &sku)?;
    visible(&handle.snapshot(), &principal, &sku)?;
    let body = body.read()?;
    let mut to = match (body.version, body.at.as_deref()) {
        (Some(version), None) => RevertTo::Version(version),
        (None, Some(at)) => RevertTo::At(moment("at", at)?),
        _ => {
            let detail = "give exactly one of version and at";
            return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_revert", detail));
        }
    };
    if principal.role == ApiRole::Merchant {
        let (version, product) = merchants_revert(&handle.snapshot(), &principal, &sku, to)?;
        // Pinned: a moment later than now would otherwise name whatever is current then.
        to = RevertTo::Version(version);
        if let Some(answer) = super::proposed(handle, &principal, &sku, product).await? {
            return Ok(answer);
        }
    }
    let events = handle.change_catalog(CatalogCommand::Revert { sku: sku.clone(), to }, &principal.name).await?;
    Ok(changed(handle, &sku, &events))
}

/// The version a merchant's revert makes the next one, and what it proposes where the
/// commerce reviews merchants' changes (none: retired): a revert is a change like a `PUT`,
/// so the version must be the merchant's own product.
fn merchants_revert(
    commerce: &Commerce,
    principal: &Principal,
    sku: &str,
    to: RevertTo,
) -> Result<(u32, Option<Product>), Problem> {
    let history = commerce.catalog().get(sku).ok_or_else(|| Problem::unknown_sku(sku))?;
    let target = match to {
        RevertTo::Version(version) => history
            .version(version)
            .ok_or_else(|| DomainError::UnknownProductVersion { sku: sku.to_owned(), version })?,
        RevertTo::At(at) => {
            history.as_of(at).ok_or_else(|| DomainError::NoProductVersionAt { sku: sku.to_owned(), at: at.0 })?
        }
    };
    if target.product.merchant.as_deref() != principal.merchant.as_deref() {
        let owner = match target.product.merchant.as_deref() {
            Some(merchant) => format!("merchant \"{merchant}\"'s product"),
            None => "a product of no merchant".to_owned(),
        };
        let version = target.version;
        let detail =
            format!("version {version} of \"{sku}\" is {owner}: a merchant key reverts to its own versions only");
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_merchant", detail));
    }
    Ok((target.version, (!target.retired).then(|| target.product.as_ref().clone())))
}

/// One field a version changed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldChangeDto {
    /// The field of the product's `document` (or `retired`).
    pub field: String,
    /// Its value before (null for a first version or a field that was unset).
    pub old: Value,
    pub new: Value,
}

/// One version of a product.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductVersionDto {
    pub version: u32,
    /// When it was made (RFC 3339) and by whom (a key's principal, or `configuration` for
    /// the seed from the file).
    pub at: String,
    pub by: String,
    pub retired: bool,
    pub changes: Vec<FieldChangeDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductHistoryDto {
    pub sku: String,
    /// Oldest first.
    pub versions: Vec<ProductVersionDto>,
}

#[utoipa::path(
    tag = "catalog",
    summary = "A product's versions: who changed it, when, and which fields from what to what (admin; a merchant, its own).",
    params(("commerce" = String, Path, description = "The commerce code."), ("sku" = String, Path, description = "The SKU.")),
    responses((status = 200, description = "Success", body = ProductHistoryDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/products/{sku}/history")]
pub async fn product_history(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, sku) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let commerce = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?.snapshot();
    let history = visible(&commerce, &principal, &sku)?;
    let mut before = None;
    let versions = history
        .versions()
        .map(|version| {
            let dto = ProductVersionDto {
                version: version.version,
                at: timestamp(version.at),
                by: version.by.to_string(),
                retired: version.retired,
                changes: changes(before, version)
                    .into_iter()
                    .map(|c| FieldChangeDto { field: c.field, old: c.old, new: c.new })
                    .collect(),
            };
            before = Some(version);
            dto
        })
        .collect();
    Ok(HttpResponse::Ok().json(ProductHistoryDto { sku, versions }))
}
