//! Merchants' money (DESIGN.md section 7): each merchant's ledger per currency (its
//! balance and what is available to pay out), its entries, a statement for a period, the
//! back office's list of merchants whose balance is negative or under a threshold, and
//! payouts. The ledgers are folded from the log with the events (`events::ledger`), so a
//! read waits for nothing and a replay answers them as they were.
//!
//! A payout is decided from the ledgers once they hold every change made before the
//! request, one payout request at a time, and recorded in the log; the answer comes once
//! the ledgers hold it too. Its idempotency key is kept with it in the ledgers' notes, so
//! a retry, even after a restart, answers the payouts it made.

use std::str::FromStr;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use mercato_actors::stored::{Payout, PayoutBatch};
use mercato_engine::commerce::model::ApiRole;
use mercato_engine::inventory::Timestamp;
use mercato_engine::DomainError;
use mercato_persistence::log::Lsn;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::orders::scope;
use crate::events::ledger::{self, Account, BatchNote, Entry};
use crate::events::Events;
use crate::http::auth::Principal;
use crate::http::body::Json;
use crate::http::idempotency;
use crate::http::problem::{Problem, Refusals};
use crate::http::routes::carts::timestamp;
use crate::http::routes::events::events_of;
use crate::http::routes::orders::query_day;
use crate::http::AppState;

/// Entries a page answers at most, and a statement.
const ENTRIES_PAGE_MAX: i64 = 1_000;
const STATEMENT_ENTRIES_MAX: usize = 100_000;
/// How long a payout waits for the ledgers to hold every change made before it.
const CATCH_UP: Duration = Duration::from_secs(10);

/// One payout request at a time: each is decided from the ledgers as the one before left
/// them.
static PAYOUTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountDto {
    pub currency: String,
    /// What its entries add up to (negative when refunds took back more than was left).
    pub balance: String,
    /// What a payout may take now: the balance less what was earned within the payout hold.
    pub available: String,
    pub sales: String,
    pub commissions: String,
    pub sales_reversed: String,
    pub commissions_reversed: String,
    pub paid_out: String,
    /// Its entries so far.
    pub entries: u64,
}

impl AccountDto {
    fn of(currency: &str, account: &Account, available: Decimal) -> Self {
        AccountDto {
            currency: currency.to_owned(),
            balance: account.balance().to_string(),
            available: available.to_string(),
            sales: account.sales.to_string(),
            commissions: account.commissions.to_string(),
            sales_reversed: account.sales_reversed.to_string(),
            commissions_reversed: account.commissions_reversed.to_string(),
            paid_out: account.paid_out.to_string(),
            entries: account.entries,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerDto {
    pub merchant: String,
    /// The commerce's payout hold, in days.
    pub payout_hold_days: u32,
    /// One account per currency it has sold in.
    pub accounts: Vec<AccountDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryDto {
    pub number: u64,
    pub at: String,
    /// `sale`, `commission`, `sale_reversed`, `commission_reversed` or `payout`.
    pub kind: String,
    pub order: Option<String>,
    pub line: Option<String>,
    /// The units it is for (none for a payout).
    pub units: u32,
    pub payout: Option<String>,
    /// What it adds to the balance (negative: takes away).
    pub amount: String,
    /// The balance after it.
    pub balance: String,
}

impl EntryDto {
    fn of(entry: Entry) -> Self {
        EntryDto {
            number: entry.number,
            at: timestamp(Timestamp(entry.at)),
            kind: entry.kind,
            order: entry.order,
            line: entry.line,
            units: entry.units,
            payout: entry.payout,
            amount: entry.amount.to_string(),
            balance: entry.balance.to_string(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryPageDto {
    pub entries: Vec<EntryDto>,
    /// The `after` of the next page; none when this is the last.
    pub next: Option<u64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// The account's currency.
    #[param(pattern = r"\S")]
    pub currency: String,
    /// The number of the last entry of the previous page.
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// 1 to 1000 (100 when not given).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    /// The account's currency.
    #[param(pattern = r"\S")]
    pub currency: String,
    /// The first day (UTC, `YYYY-MM-DD`).
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: String,
    /// The last day (UTC, `YYYY-MM-DD`), on or after `from`.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: String,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct StatementTotalsDto {
    pub sales: String,
    pub commissions: String,
    pub sales_reversed: String,
    pub commissions_reversed: String,
    pub payouts: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementDto {
    pub merchant: String,
    pub currency: String,
    pub from: String,
    pub to: String,
    /// The balance before the period's first entry.
    pub opening: String,
    /// The balance after its last: `opening` plus every entry's amount.
    pub closing: String,
    /// Each kind's entries added up, as positive amounts.
    pub totals: StatementTotalsDto,
    pub entries: Vec<EntryDto>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BalancesQuery {
    /// Lists accounts whose balance is under it (`0` when not given: the negative ones).
    #[param(pattern = r"^-?[0-9]{1,15}(\.[0-9]{1,8})?$")]
    pub below: Option<String>,
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BalanceDto {
    pub merchant: String,
    pub currency: String,
    pub balance: String,
    pub available: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BalancesDto {
    pub below: String,
    pub accounts: Vec<BalanceDto>,
}

/// `POST …/payouts`: one merchant's available money, or every merchant's at or above a
/// minimum.
#[derive(Debug, Default, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutBody {
    /// Only this merchant; every merchant when not given.
    #[schema(pattern = r"\S")]
    pub merchant: Option<String>,
    /// Only this currency; every currency when not given.
    #[schema(pattern = r"\S")]
    pub currency: Option<String>,
    /// Pays an account only when at least this much is available (any amount above zero
    /// when not given).
    #[schema(pattern = r"^[0-9]{1,15}(\.[0-9]{1,8})?$")]
    pub minimum: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayoutDto {
    pub id: String,
    pub merchant: String,
    pub currency: String,
    pub amount: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayoutBatchDto {
    pub id: String,
    pub at: String,
    pub by: String,
    /// One per merchant and currency paid; empty when nothing was available.
    pub payouts: Vec<PayoutDto>,
}

impl PayoutBatchDto {
    fn of(note: &BatchNote) -> Self {
        PayoutBatchDto {
            id: note.id.clone(),
            at: timestamp(Timestamp(note.at)),
            by: note.by.clone(),
            payouts: note
                .payouts
                .iter()
                .map(|p| PayoutDto {
                    id: p.id.clone(),
                    merchant: p.merchant.clone(),
                    currency: p.currency.clone(),
                    amount: p.amount.to_string(),
                })
                .collect(),
        }
    }
}

fn note<T: Default + serde::de::DeserializeOwned>(events: &Events, key: &str) -> Result<Option<T>, Problem> {
    let bytes = events.store.note(key.as_bytes()).map_err(|e| Problem::unavailable(&e.to_string()))?;
    Ok(bytes.map(|b| serde_json::from_slice(&b).unwrap_or_default()))
}

/// The currency a query names, refused (`unknown_currency`, naming it) when blank: the
/// document states it as at least one character that is not a space.
fn named_currency(currency: &str) -> Result<&str, Problem> {
    if currency.trim().is_empty() {
        return Err(DomainError::UnknownCurrency { code: currency.to_owned() }.into());
    }
    Ok(currency)
}

/// Every account of the commerce: (merchant, currency, account).
fn accounts(events: &Events, commerce: &str) -> Result<Vec<(String, String, Account)>, Problem> {
    let prefix = ledger::accounts_prefix(commerce);
    let rows =
        events.store.notes(prefix.as_bytes(), None, usize::MAX).map_err(|e| Problem::unavailable(&e.to_string()))?;
    Ok(rows
        .into_iter()
        .filter_map(|(key, bytes)| {
            let rest = key.get(prefix.len()..)?;
            let (merchant, currency) = std::str::from_utf8(rest).ok()?.split_once('\u{1f}')?;
            let account = serde_json::from_slice(&bytes).ok()?;
            Some((merchant.to_owned(), currency.to_owned(), account))
        })
        .collect())
}

fn entries(events: &Events, prefix: &str, after: u64, limit: usize) -> Result<Vec<Entry>, Problem> {
    let from = format!("{prefix}{:020}", after.saturating_add(1));
    let rows = events
        .store
        .notes(prefix.as_bytes(), Some(from.as_bytes()), limit)
        .map_err(|e| Problem::unavailable(&e.to_string()))?;
    Ok(rows.into_iter().filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok()).collect())
}

fn amount(field: &str, text: &str) -> Result<Decimal, Problem> {
    Decimal::from_str(text).map_err(|_| {
        let detail = format!("{field} \"{text}\" is not an amount");
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount", detail)
    })
}

#[utoipa::path(
    tag = "merchants",
    summary = "A merchant's ledger: per currency, its balance, what is available to pay out, and its sums (admin; a merchant key, its own).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code."),
    ),
    responses((status = 200, description = "Success", body = LedgerDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/merchants/{merchant}/ledger")]
pub async fn read_ledger(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant) = path.into_inner();
    let handle = scope(&state, &principal, &code, &merchant)?;
    let events = events_of(&state)?;
    let hold = handle.snapshot().config().payout_hold_days();
    let now = handle.clock().now();
    let accounts = accounts(events, &code)?
        .into_iter()
        .filter(|(m, _, _)| *m == merchant)
        .map(|(_, currency, account)| AccountDto::of(&currency, &account, account.available(now, hold)))
        .collect();
    Ok(HttpResponse::Ok().json(LedgerDto { merchant, payout_hold_days: hold, accounts }))
}

#[utoipa::path(
    tag = "merchants",
    summary = "A merchant's ledger entries in one currency, oldest first (admin; a merchant key, its own).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code."),
        EntriesQuery
    ),
    responses((status = 200, description = "A page", body = EntryPageDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/merchants/{merchant}/ledger/entries")]
pub async fn list_ledger_entries(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<EntriesQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant) = path.into_inner();
    scope(&state, &principal, &code, &merchant)?;
    let events = events_of(&state)?;
    let query = query.read()?;
    let limit = match query.limit {
        None => 100,
        Some(limit @ 1..=ENTRIES_PAGE_MAX) => usize::try_from(limit).unwrap_or(100),
        Some(limit) => {
            let detail = format!("limit {limit} must be 1 to {ENTRIES_PAGE_MAX}");
            return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit", detail));
        }
    };
    let prefix = ledger::entries_prefix(&code, &merchant, named_currency(&query.currency)?);
    let mut page = entries(events, &prefix, query.after.unwrap_or(0), limit + 1)?;
    let next = (page.len() > limit).then(|| page[limit - 1].number);
    page.truncate(limit);
    Ok(HttpResponse::Ok().json(EntryPageDto { entries: page.into_iter().map(EntryDto::of).collect(), next }))
}

#[utoipa::path(
    tag = "merchants",
    summary = "A merchant's statement for a period in one currency: its opening and closing balances, each kind's total and the entries (admin; a merchant key, its own).",
    description = "`to` must be on or after `from` (422 `invalid_period`); a period holding more than 100,000 entries is refused (422 `period_too_large`): page `…/ledger/entries` instead.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("merchant" = String, Path, description = "The merchant's code."),
        StatementQuery
    ),
    responses((status = 200, description = "Success", body = StatementDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/merchants/{merchant}/statement")]
pub async fn read_statement(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<StatementQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, merchant) = path.into_inner();
    scope(&state, &principal, &code, &merchant)?;
    let events = events_of(&state)?;
    let query = query.read()?;
    let from = query_day("from", &Some(query.from.clone()))?.unwrap_or_default();
    let to = query_day("to", &Some(query.to.clone()))?.unwrap_or_default();
    if to < from {
        let detail = format!("to \"{}\" is before from \"{}\"", query.to, query.from);
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_period", detail));
    }
    let start = from.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis());
    let end = to.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).map_or(i64::MAX, |t| t.and_utc().timestamp_millis());
    let prefix = ledger::entries_prefix(&code, &merchant, named_currency(&query.currency)?);
    let all = entries(events, &prefix, 0, usize::MAX)?;
    // The balance after the last entry made before the period, looked for over them all.
    let opening = all.iter().filter(|e| e.at < start).max_by_key(|e| e.number).map_or(Decimal::ZERO, |e| e.balance);
    let period: Vec<Entry> = all.into_iter().filter(|e| e.at >= start && e.at < end).collect();
    if period.len() > STATEMENT_ENTRIES_MAX {
        let detail = format!(
            "the period {} to {} holds {} entries, more than {STATEMENT_ENTRIES_MAX}: ask for a shorter one, or page …/ledger/entries",
            query.from,
            query.to,
            period.len()
        );
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "period_too_large", detail));
    }
    let sum = |kind: &str| -> Decimal { period.iter().filter(|e| e.kind == kind).map(|e| e.amount.abs()).sum() };
    let totals = StatementTotalsDto {
        sales: sum("sale").to_string(),
        commissions: sum("commission").to_string(),
        sales_reversed: sum("sale_reversed").to_string(),
        commissions_reversed: sum("commission_reversed").to_string(),
        payouts: sum("payout").to_string(),
    };
    let closing = opening + period.iter().map(|e| e.amount).sum::<Decimal>();
    Ok(HttpResponse::Ok().json(StatementDto {
        merchant,
        currency: query.currency,
        from: from.to_string(),
        to: to.to_string(),
        opening: opening.to_string(),
        closing: closing.to_string(),
        totals,
        entries: period.into_iter().map(EntryDto::of).collect(),
    }))
}

#[utoipa::path(
    tag = "merchants",
    summary = "Merchants' accounts whose balance is under a threshold: the negative ones by default (admin).",
    params(("commerce" = String, Path, description = "The commerce code."), BalancesQuery),
    responses((status = 200, description = "Success", body = BalancesDto), Refusals)
)]
#[get("/v1/commerces/{commerce}/merchant-balances")]
pub async fn list_low_balances(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<BalancesQuery>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let events = events_of(&state)?;
    let query = query.read()?;
    let below = query.below.as_deref().map(|b| amount("below", b)).transpose()?.unwrap_or(Decimal::ZERO);
    let hold = handle.snapshot().config().payout_hold_days();
    let now = handle.clock().now();
    let accounts = accounts(events, &code)?
        .into_iter()
        .filter(|(_, currency, account)| {
            query.currency.as_ref().is_none_or(|c| c == currency) && account.balance() < below
        })
        .map(|(merchant, currency, account)| BalanceDto {
            merchant,
            currency,
            balance: account.balance().to_string(),
            available: account.available(now, hold).to_string(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(BalancesDto { below: below.to_string(), accounts }))
}

/// The payouts an earlier request with the same idempotency key made (the same request),
/// or its refusal (another request).
fn made_before(
    events: &Events,
    code: &str,
    stamp: Option<&mercato_actors::idempotency::Stamp>,
) -> Result<Option<HttpResponse>, Problem> {
    let Some(stamp) = stamp else { return Ok(None) };
    let key = ledger::request_key(code, &stamp.scope, &stamp.key);
    // A note that cannot be read is not a request never made: refused, not paid again.
    let made = events.store.note(key.as_bytes()).map_err(|e| Problem::unavailable(&e.to_string()))?;
    let Some(batch) = made.and_then(|b| String::from_utf8(b).ok()) else { return Ok(None) };
    let note: BatchNote = note(events, &ledger::batch_key(code, &batch))?.unwrap_or_default();
    if note.request.as_deref() != Some(ledger::hex(&stamp.request).as_str()) {
        return Err(idempotency::mismatch(&stamp.key));
    }
    Ok(Some(HttpResponse::Created().json(PayoutBatchDto::of(&note))))
}

/// Waits until the ledgers hold every change up to `lsn`.
async fn caught_up(events: &Events, lsn: Lsn) -> Result<(), Problem> {
    let mut head = events.head.clone();
    let reached = tokio::time::timeout(CATCH_UP, head.wait_for(|h| *h >= lsn)).await;
    match reached {
        Ok(Ok(_)) => Ok(()),
        _ => Err(Problem::unavailable("the merchants' ledgers are behind the log; retry")),
    }
}

#[utoipa::path(
    tag = "merchants",
    summary = "Pays merchants what their ledgers have available: one merchant, or every merchant at or above a minimum (admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer the payouts the first request made."),
    ),
    request_body = PayoutBody,
    responses((status = 201, description = "The payouts made", body = PayoutBatchDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/payouts")]
pub async fn make_payouts(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    request: HttpRequest,
    body: Json<PayoutBody>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let body = body.read()?;
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let commerce = handle.snapshot();
    if let Some(merchant) = body.merchant.as_deref().filter(|m| commerce.merchant(m).is_none()) {
        return Err(DomainError::UnknownData {
            kind: mercato_engine::commerce::data::DataKind::Merchant,
            code: merchant.to_owned(),
        }
        .into());
    }
    if let Some(currency) = body.currency.as_deref().filter(|c| commerce.currency(c).is_none()) {
        return Err(DomainError::UnknownCurrency { code: currency.to_owned() }.into());
    }
    let minimum = body.minimum.as_deref().map(|m| amount("minimum", m)).transpose()?.unwrap_or(Decimal::ZERO);
    let events = events_of(&state)?;
    let _turn = PAYOUTS.lock().await;
    caught_up(events, handle.log_covers()).await?;
    if let Some(answer) = made_before(events, &code, stamp.as_ref())? {
        return Ok(answer);
    }
    let hold = commerce.config().payout_hold_days();
    let now = handle.clock().now();
    let id = format!("PO-{}-{}", now.0, &super::super::data::keys::random_secret("")?[..8]);
    let payouts: Vec<Payout> = accounts(events, &code)?
        .into_iter()
        .filter(|(merchant, currency, _)| {
            body.merchant.as_ref().is_none_or(|m| m == merchant) && body.currency.as_ref().is_none_or(|c| c == currency)
        })
        .filter_map(|(merchant, currency, account)| {
            let available = account.available(now, hold);
            (available > Decimal::ZERO && available >= minimum).then_some((merchant, currency, available))
        })
        .enumerate()
        .map(|(n, (merchant, currency, amount))| Payout { id: format!("{id}-{}", n + 1), merchant, currency, amount })
        .collect();
    let batch = PayoutBatch { id: id.clone(), payouts, stamp };
    let lsn = handle.record_payouts(batch, &principal.name).await?;
    caught_up(events, lsn).await?;
    let note: BatchNote = note(events, &ledger::batch_key(&code, &id))?.unwrap_or_default();
    Ok(HttpResponse::Created().json(PayoutBatchDto::of(&note)))
}
