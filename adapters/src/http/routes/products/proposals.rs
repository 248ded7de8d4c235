//! Merchants' product changes under review (`merchant_product_review`): a merchant key's
//! `PUT`, `PATCH` or `DELETE` of its own product answers 202 with a proposal instead of a
//! change; the back office lists them (`GET …/product-proposals`, a merchant its own),
//! reads one with its diff against the product now, and accepts it (`…/accept`: the
//! change goes live as a catalogue change, checked again, only while the product is still
//! at the version it was proposed against) or rejects it with a reason (`…/reject`). A
//! proposal is back-office data: recorded in the log with who and when, an event, kept in
//! snapshots.

use actix_web::http::StatusCode;
use actix_web::{get, post};
use mercato_engine::catalog::{changes, CatalogCommand, ProductVersion};
use mercato_engine::commerce::data::DataItem;
use mercato_engine::commerce::proposals::{ProductProposal, ProposalStatus, REASON_CHARS_MAX};
use serde_json::Value;

use super::*;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalDto {
    pub code: String,
    pub sku: String,
    pub merchant: String,
    /// `pending`, `accepted` or `rejected`.
    pub status: &'static str,
    /// `put` (the product as it would be) or `retire`.
    pub action: &'static str,
    /// The product's version it was proposed against; none for a new product.
    pub base_version: Option<u32>,
    /// The product as it would be (none for a retirement).
    pub product: Option<Value>,
    /// The fields it changes from the product now, with both values (nothing once decided
    /// and live).
    pub diff: Vec<FieldChangeDto>,
    pub reason: Option<String>,
    pub proposed_by: String,
    pub proposed_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalListDto {
    pub proposals: Vec<ProposalDto>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProposalQuery {
    /// Only proposals in this status.
    pub status: Option<ProposalStatusFilter>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatusFilter {
    Pending,
    Accepted,
    Rejected,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why: 1 to 500 characters, not all whitespace.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

/// One decision at a time: an accept checks the proposal, makes the catalogue change and
/// marks it, with no reject in between.
static DECISIONS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn dto(proposal: &ProductProposal, commerce: &Commerce) -> ProposalDto {
    // The product now, when it is the proposing merchant's (another's is none of its
    // business: the diff then shows every field as new).
    let current = commerce
        .catalog()
        .get(&proposal.sku)
        .map(|h| h.current().clone())
        .filter(|c| c.product.merchant.as_deref() == Some(proposal.merchant.as_str()));
    let shown = match (&proposal.product, &current) {
        _ if proposal.status == ProposalStatus::Accepted => None,
        (Some(product), _) => Some(product.as_ref().clone()),
        (None, Some(now)) => Some(now.product.as_ref().clone()),
        (None, None) => None,
    };
    let diff = shown
        .map(|product| {
            let proposed = ProductVersion {
                version: current.as_ref().map_or(1, |c| c.version + 1),
                at: Timestamp(proposal.proposed_at),
                by: proposal.proposed_by.as_str().into(),
                retired: proposal.product.is_none(),
                product: std::sync::Arc::new(product),
            };
            changes(current.as_ref(), &proposed)
                .into_iter()
                .map(|c| FieldChangeDto { field: c.field, old: c.old, new: c.new })
                .collect()
        })
        .unwrap_or_default();
    ProposalDto {
        code: proposal.code.clone(),
        sku: proposal.sku.clone(),
        merchant: proposal.merchant.clone(),
        status: proposal.status.as_str(),
        action: if proposal.product.is_some() { "put" } else { "retire" },
        base_version: proposal.base_version,
        product: proposal.product.as_ref().and_then(|p| serde_json::to_value(p).ok()),
        diff,
        reason: proposal.reason.clone(),
        proposed_by: proposal.proposed_by.clone(),
        proposed_at: timestamp(Timestamp(proposal.proposed_at)),
        decided_by: proposal.decided_by.clone(),
        decided_at: proposal.decided_at.map(|at| timestamp(Timestamp(at))),
    }
}

fn proposal_of(item: DataItem) -> Result<ProductProposal, Problem> {
    match item {
        DataItem::ProductProposal(proposal) => Ok(proposal),
        other => Err(Problem::unavailable(&format!("a proposal answered {:?}", other.kind()))),
    }
}

/// A merchant key's change of its product, as a proposal when the commerce reviews them:
/// the 202 answer; none when the change goes live at once.
pub(crate) async fn proposed(
    handle: &mercato_actors::CommerceHandle,
    principal: &Principal,
    sku: &str,
    product: Option<Product>,
) -> Result<Option<HttpResponse>, Problem> {
    if principal.role != ApiRole::Merchant || !handle.snapshot().config().reviews_products() {
        return Ok(None);
    }
    let (sku, merchant, by) =
        (sku.to_owned(), principal.merchant.clone().unwrap_or_default(), principal.name.to_string());
    let decide: mercato_actors::settings::Decide =
        Box::new(move |commerce: &Commerce, now| commerce.propose((&sku, &merchant), product, (&by, now)));
    let proposal = proposal_of(handle.decide_data(decide, principal.author()).await?)?;
    Ok(Some(HttpResponse::Accepted().json(dto(&proposal, &handle.snapshot()))))
}

/// The commerce, for its administrator or a merchant (its own proposals).
fn reader<'a>(
    state: &'a AppState,
    principal: &Principal,
    code: &str,
) -> Result<&'a mercato_actors::CommerceHandle, Problem> {
    principal.authorize(code, &[ApiRole::Admin, ApiRole::Merchant])?;
    state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))
}

fn visible_to(principal: &Principal, proposal: &ProductProposal) -> bool {
    principal.role != ApiRole::Merchant || principal.merchant.as_deref() == Some(proposal.merchant.as_str())
}

#[utoipa::path(
    tag = "catalog",
    summary = "Lists merchants' product proposals, newest first (admin; a merchant key, its own).",
    params(("commerce" = String, Path, description = "The commerce code."), ProposalQuery),
    responses((status = 200, description = "Success", body = ProposalListDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/product-proposals")]
pub async fn list_proposals(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<ProposalQuery>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let handle = reader(&state, &principal, &code)?;
    let query = query.read()?;
    let commerce = handle.snapshot();
    let wanted = query.status.map(|s| match s {
        ProposalStatusFilter::Pending => ProposalStatus::Pending,
        ProposalStatusFilter::Accepted => ProposalStatus::Accepted,
        ProposalStatusFilter::Rejected => ProposalStatus::Rejected,
    });
    let proposals = commerce
        .config()
        .product_proposals
        .iter()
        .rev()
        .filter(|p| visible_to(&principal, p) && wanted.is_none_or(|w| p.status == w))
        .map(|p| dto(p, &commerce))
        .collect();
    Ok(HttpResponse::Ok().json(ProposalListDto { proposals }))
}

#[utoipa::path(
    tag = "catalog",
    summary = "Reads a product proposal with its diff against the product now (admin; a merchant key, its own).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("proposal" = String, Path, description = "The proposal's code."),
    ),
    responses((status = 200, description = "Success", body = ProposalDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/product-proposals/{proposal}")]
pub async fn get_proposal(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, wanted) = path.into_inner();
    let handle = reader(&state, &principal, &code)?;
    let commerce = handle.snapshot();
    let proposal =
        commerce.proposal(&wanted).ok().filter(|p| visible_to(&principal, p)).ok_or_else(|| unknown(&wanted))?;
    Ok(HttpResponse::Ok().json(dto(proposal, &commerce)))
}

fn unknown(code: &str) -> Problem {
    DomainError::UnknownData { kind: mercato_engine::commerce::model::DataKind::ProductProposal, code: code.to_owned() }
        .into()
}

fn admin<'a>(
    state: &'a AppState,
    principal: &Principal,
    code: &str,
) -> Result<&'a mercato_actors::CommerceHandle, Problem> {
    principal.authorize(code, &[ApiRole::Admin])?;
    state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))
}

#[utoipa::path(
    tag = "catalog",
    summary = "Accepts a product proposal: its change goes live, checked again (admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("proposal" = String, Path, description = "The proposal's code."),
    ),
    responses((status = 200, description = "Accepted", body = ProposalDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/product-proposals/{proposal}/accept")]
pub async fn accept_proposal(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, wanted) = path.into_inner();
    let handle = admin(&state, &principal, &code)?;
    let _turn = DECISIONS.lock().await;
    let commerce = handle.snapshot();
    let proposal = commerce.proposal(&wanted)?.clone();
    if proposal.status != ProposalStatus::Pending {
        return Err(DomainError::ProposalDecided { code: wanted, status: proposal.status.as_str() }.into());
    }
    // Live already (an accept cut short after its catalogue change): only marked.
    let current = commerce.catalog().get(&proposal.sku).map(|h| h.current().clone());
    let live = match (&proposal.product, &current) {
        (Some(product), Some(now)) => !now.retired && now.product.as_ref() == product.as_ref(),
        (None, Some(now)) => now.retired,
        _ => false,
    };
    if !live {
        let if_version = Some(proposal.base_version.unwrap_or(0));
        let command = match proposal.product.clone() {
            Some(product) => CatalogCommand::Put { product, if_version },
            None => CatalogCommand::Retire { sku: proposal.sku.clone(), if_version },
        };
        let by = format!("{} (proposal {} of {})", principal.name, proposal.code, proposal.proposed_by);
        handle.change_catalog(command, &by).await?;
    }
    let by = principal.name.to_string();
    let decide: mercato_actors::settings::Decide =
        Box::new(move |commerce: &Commerce, now| commerce.decide_proposal(&wanted, true, None, (&by, now)));
    let decided = proposal_of(handle.decide_data(decide, principal.author()).await?)?;
    Ok(HttpResponse::Ok().json(dto(&decided, &handle.snapshot())))
}

#[utoipa::path(
    tag = "catalog",
    summary = "Rejects a product proposal with a reason: nothing goes live (admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("proposal" = String, Path, description = "The proposal's code."),
    ),
    request_body = RejectBody,
    responses((status = 200, description = "Rejected", body = ProposalDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/product-proposals/{proposal}/reject")]
pub async fn reject_proposal(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: crate::http::body::Json<RejectBody>,
) -> Result<HttpResponse, Problem> {
    let (code, wanted) = path.into_inner();
    let handle = admin(&state, &principal, &code)?;
    let body = body.read()?;
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > REASON_CHARS_MAX {
        let detail =
            format!("reason \"{}\" must be 1 to {REASON_CHARS_MAX} characters, not all whitespace", body.reason);
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_reason", detail));
    }
    let by = principal.name.to_string();
    let _turn = DECISIONS.lock().await;
    let decide: mercato_actors::settings::Decide =
        Box::new(move |commerce: &Commerce, now| commerce.decide_proposal(&wanted, false, Some(reason), (&by, now)));
    let decided = proposal_of(handle.decide_data(decide, principal.author()).await?)?;
    Ok(HttpResponse::Ok().json(dto(&decided, &handle.snapshot())))
}
