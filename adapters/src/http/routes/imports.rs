//! `POST …/imports`: a file of products (NDJSON or CSV, up to 1 GiB, streamed to the data
//! folder) becomes an import job, answered 202 once the file is durable; `GET
//! …/imports/{job}`: how far it got (rows read, applied, unchanged, refused, and the
//! refusals by row). The same `Idempotency-Key` names the same job: a retry with the same
//! file answers it again, another file is 422. The administrator imports any product, a
//! merchant its own.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use mercato_engine::commerce::model::ApiRole;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;

use crate::http::auth::Principal;
use crate::http::idempotency::in_flight;
use crate::http::idempotency::IDEMPOTENCY_HEADER;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;
use crate::imports::{check_header, job_id, ImportFormat, Job, JobHeader, Upload, IMPORT_BYTES_MAX};
use mercato_actors::idempotency::IDEMPOTENCY_KEY_BYTES_MAX;

/// The most refusals one answer lists (every one is counted).
const REFUSALS_SHOWN: usize = 1_000;

/// One refused row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowRefusalDto {
    /// Its line in the file (a CSV's header is line 1).
    pub row: u64,
    pub sku: String,
    /// Every rule it breaks, each naming the field and value.
    pub problems: Vec<String>,
}

/// An import job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportJobDto {
    pub id: String,
    /// `running`, `done`, or `stopped` (it resumes at the next start; `error` says why).
    pub status: &'static str,
    pub error: Option<String>,
    pub format: ImportFormat,
    pub bytes: u64,
    /// The last row read and settled (applied, unchanged or refused).
    pub rows_read: u64,
    pub applied: u64,
    /// Rows that were already what they said.
    pub unchanged: u64,
    pub refused: u64,
    /// Refusals by row, 1,000 at most: the first, or those after `refusals_after`.
    pub refusals: Vec<RowRefusalDto>,
    /// Where the next refusals start (`?refusals_after=`), when more are kept.
    pub next_refusals_after: Option<u64>,
    pub by: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// List the refusals of rows after this one (a previous answer's `next_refusals_after`).
    #[param(minimum = 0)]
    pub refusals_after: Option<u64>,
}

async fn job_dto(handle: &mercato_actors::CommerceHandle, job: &Job, after: u64) -> Result<ImportJobDto, Problem> {
    let progress = handle.import_status(&job.header.job).await?.unwrap_or_default();
    let error = job.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let status = if progress.done {
        "done"
    } else if error.is_some() {
        "stopped"
    } else {
        "running"
    };
    let mut listed = progress.refusals.into_iter().filter(|r| r.row > after);
    let refusals: Vec<RowRefusalDto> = listed
        .by_ref()
        .take(REFUSALS_SHOWN)
        .map(|r| RowRefusalDto { row: r.row, sku: r.sku, problems: r.problems })
        .collect();
    let more = listed.next().is_some();
    Ok(ImportJobDto {
        id: job.header.job.clone(),
        status,
        error,
        format: job.header.format,
        bytes: job.header.bytes,
        rows_read: progress.through_row,
        applied: progress.applied,
        unchanged: progress.unchanged,
        refused: progress.refused,
        next_refusals_after: more.then(|| refusals.last().map(|r| r.row)).flatten(),
        refusals,
        by: job.header.by.clone(),
    })
}

fn format_of(request: &HttpRequest) -> Result<ImportFormat, Problem> {
    let given = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = given.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-ndjson" | "application/ndjson" => Ok(ImportFormat::Ndjson),
        "text/csv" => Ok(ImportFormat::Csv),
        _ => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("content type \"{given}\" is not application/x-ndjson or text/csv"),
        )),
    }
}

/// An import's file is taken as sent: a `Content-Encoding` other than `identity` is
/// refused naming it (the file is kept and read as the bytes that arrived).
fn identity_encoding(request: &HttpRequest) -> Result<(), Problem> {
    let Some(given) = request.headers().get(header::CONTENT_ENCODING) else { return Ok(()) };
    let text = String::from_utf8_lossy(given.as_bytes());
    if text.trim().eq_ignore_ascii_case("identity") {
        return Ok(());
    }
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_encoding",
        format!("content encoding \"{text}\" is not taken by imports: send the file as it is (identity)"),
    ))
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("an import's file exceeds {IMPORT_BYTES_MAX} bytes"),
    )
}

fn io_failed(error: &std::io::Error) -> Problem {
    Problem::unavailable(&format!("the import's file could not be kept: {error}"))
}

/// The request's `Idempotency-Key`, if it has one (the same shape every route takes).
fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, Problem> {
    let Some(value) = request.headers().get(IDEMPOTENCY_HEADER) else { return Ok(None) };
    let key = value.to_str().ok().filter(|k| crate::http::idempotency::valid(k)).ok_or_else(|| {
        let detail = format!(
            "{IDEMPOTENCY_HEADER} {:?} must be 1 to {IDEMPOTENCY_KEY_BYTES_MAX} visible ASCII characters",
            String::from_utf8_lossy(value.as_bytes())
        );
        Problem::new(StatusCode::BAD_REQUEST, "invalid_idempotency_key", detail)
    })?;
    Ok(Some(key.to_owned()))
}

/// Receives the upload into the job's partial file (or memory): its size, its SHA-256 in
/// hex, and the bytes when kept in memory.
async fn receive(upload: &Upload, payload: &mut web::Payload) -> Result<(u64, String, Vec<u8>), Problem> {
    let mut digest = Sha256::new();
    let mut bytes: u64 = 0;
    let mut kept: Vec<u8> = Vec::new();
    let mut file = match &upload.partial {
        Some(path) => Some(std::fs::File::create(path).map_err(|e| io_failed(&e))?),
        None => None,
    };
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| Problem::new(StatusCode::BAD_REQUEST, "invalid_body", error.to_string()))?;
        bytes += chunk.len() as u64;
        if bytes > IMPORT_BYTES_MAX {
            return Err(too_large());
        }
        digest.update(&chunk);
        match file.as_mut() {
            Some(file) => file.write_all(&chunk).map_err(|e| io_failed(&e))?,
            None => kept.extend_from_slice(&chunk),
        }
    }
    let digest: String = digest.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((bytes, digest, kept))
}

/// Checks the start of an upload (a CSV's header), read from its file or from memory.
fn check_start(upload: &Upload, format: ImportFormat, kept: &[u8]) -> Result<(), String> {
    let start = match &upload.partial {
        Some(path) => {
            let mut head = vec![0u8; 64 * 1024];
            let file = std::fs::File::open(path).map_err(|e| e.to_string());
            let read = file.and_then(|mut f| std::io::Read::read(&mut f, &mut head).map_err(|e| e.to_string()))?;
            head.truncate(read);
            head
        }
        None => kept.iter().take(64 * 1024).copied().collect(),
    };
    check_header(format, &start)
}

#[utoipa::path(
    tag = "catalog",
    summary = "Imports products from an NDJSON or CSV file as a job (admin; a merchant, its own products).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Names the job: the same key and file answer the same job; another file is 422.")
    ),
    request_body(content((String = "application/x-ndjson"), (String = "text/csv")),
        description = "One product per line (NDJSON, as PUT takes it, with its sku) or per row (CSV with a header), up to 1 GiB, sent as it is (a Content-Encoding other than identity is 415). A row over 65536 bytes is refused on its own; a merchant key where the commerce reviews merchants' changes is 403; a second upload under an Idempotency-Key still arriving is 409."),
    responses(
        (status = 202, description = "The job, started", body = ImportJobDto),
        (status = 200, description = "The job this key named already", body = ImportJobDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/imports")]
pub async fn post_import(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    path: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?.clone();
    if principal.role == ApiRole::Merchant && handle.snapshot().config().reviews_products() {
        return Err(Problem::forbidden(
            "this commerce reviews merchants' product changes: a merchant key sends each product as PUT …/products/{sku} (a proposal for the back office); imports are the administrator's",
        ));
    }
    let format = format_of(&request)?;
    identity_encoding(&request)?;
    let key = idempotency_key(&request)?;
    let scope = format!("{}/{}", principal.commerce, principal.name);
    let id = job_id(&scope, key.as_deref());
    let imports = &state.imports;
    let upload = imports.upload(&id).ok_or_else(|| in_flight(key.as_deref().unwrap_or_default()))?;
    let (bytes, digest, kept) = receive(&upload, &mut payload).await?;
    if let Some(job) = imports.get(&id) {
        if job.header.digest != digest {
            let detail = format!("{IDEMPOTENCY_HEADER} \"{}\" was used for a different file", key.unwrap_or_default());
            return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", detail));
        }
        return Ok(HttpResponse::Ok().json(job_dto(&handle, &job, 0).await?));
    }
    if let Err(detail) = check_start(&upload, format, &kept) {
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_import", detail));
    }
    let header = JobHeader {
        job: id,
        commerce: code,
        by: principal.name.to_string(),
        merchant: principal.merchant.as_deref().map(str::to_owned),
        format,
        bytes,
        digest,
        created_at: handle.clock().now().0,
    };
    let in_memory = upload.partial.is_none().then_some(kept);
    let keeper = imports.clone();
    let job = crate::priority::block(move || keeper.keep(header, &upload, in_memory))
        .await
        .map_err(|e| Problem::unavailable(&e.to_string()))?
        .map_err(|e| io_failed(&e))?;
    imports.start(std::sync::Arc::clone(&job), handle.clone(), 0);
    let dto = job_dto(&handle, &job, 0).await?;
    let location = format!("/v1/commerces/{}/imports/{}", job.header.commerce, job.header.job);
    Ok(HttpResponse::Accepted().insert_header((header::LOCATION, location)).json(dto))
}

#[utoipa::path(
    tag = "catalog",
    summary = "An import job: how far it got, and its refusals by row (admin; a merchant, its own jobs).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("job" = String, Path, description = "The job's id."),
        ImportQuery
    ),
    responses((status = 200, description = "Success", body = ImportJobDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/imports/{job}")]
pub async fn get_import(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<ImportQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let job = state
        .imports
        .get(&id)
        .filter(|job| job.header.commerce == code)
        .filter(|job| {
            principal.role != ApiRole::Merchant || job.header.merchant.as_deref() == principal.merchant.as_deref()
        })
        .ok_or_else(|| {
            Problem::new(StatusCode::NOT_FOUND, "unknown_import", format!("import job \"{id}\" does not exist"))
        })?;
    let after = query.read()?.refusals_after.unwrap_or(0);
    Ok(HttpResponse::Ok().json(job_dto(handle, &job, after).await?))
}
