//! `GET …/orders/{id}/history`, `GET …/invoices` (a company's invoices and credit notes in
//! a period) and `GET …/invoices/{number}`.

use mercato_actors::order::FindInvoices;
use mercato_engine::DomainError;

use super::*;

/// An order's history: its placement and every change since, with who and when.
#[utoipa::path(
    tag = "orders",
    summary = "An order's history: each change, who made it and when (admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id.")
    ),
    responses(
        (status = 200, description = "Success", body = HistoryDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/orders/{order}/history")]
pub async fn order_history(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let order = handle.orders().read(&id).await?;
    Ok(HttpResponse::Ok().json(history_dto(&order)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InvoiceListQuery {
    /// Only this invoicing company's invoices and credit notes (all companies by default).
    pub company: Option<String>,
    /// Issued on or after this day (UTC), `YYYY-MM-DD`.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<String>,
    /// Issued on or before this day (UTC), `YYYY-MM-DD`.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: Option<String>,
    /// The number of the last document of the previous page: the list continues after it.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoicePageDto {
    /// By series (invoices, then credit notes, per company), then number.
    pub invoices: Vec<InvoiceDto>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<String>,
}

/// The start of a day, or of the day after, in milliseconds (UTC).
fn day_bound(
    field: &str,
    text: &Option<String>,
    end: bool,
) -> Result<Option<mercato_engine::inventory::Timestamp>, Problem> {
    let Some(day) = query_day(field, text)? else { return Ok(None) };
    let day = if end { day.succ_opt().unwrap_or(day) } else { day };
    let millis = day.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis());
    Ok(Some(mercato_engine::inventory::Timestamp(if end { millis - 1 } else { millis })))
}

/// A company's invoices and credit notes issued in a period, by number.
#[utoipa::path(
    tag = "orders",
    summary = "Invoices and credit notes (admin), per invoicing company and period, by number.",
    params(("commerce" = String, Path, description = "The commerce code."), InvoiceListQuery),
    responses(
        (status = 200, description = "Success", body = InvoicePageDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/invoices")]
pub async fn list_invoices(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<InvoiceListQuery>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let commerce = handle.snapshot();
    let query = query.read()?;
    let limit = page_limit(query.limit)?;
    let companies = &commerce.config().invoicing_companies;
    let chosen: Vec<_> = match &query.company {
        Some(company) => {
            let found = companies.iter().find(|c| c.code == *company).ok_or_else(|| {
                let detail = format!("invoicing company \"{company}\" is not a company of this commerce");
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_company", detail)
            })?;
            vec![found]
        }
        None => companies.iter().collect(),
    };
    let prefixes = chosen
        .iter()
        .flat_map(|c| [c.invoice_series.prefix.clone(), c.invoice_series.corrective_prefix.clone()])
        .collect();
    let find = FindInvoices {
        number: None,
        prefixes,
        from: day_bound("from", &query.from, false)?,
        to: day_bound("to", &query.to, true)?,
        after: query.after.clone(),
        limit,
    };
    let page = handle.orders().invoices(find).await?;
    let invoices =
        page.invoices.iter().map(|(invoice, order, currency)| invoice_dto(invoice, order, currency)).collect();
    Ok(HttpResponse::Ok().json(InvoicePageDto { invoices, next_after: page.next_after }))
}

/// One invoice or credit note by number.
#[utoipa::path(
    tag = "orders",
    summary = "An invoice or credit note by number (admin).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("number" = String, Path, description = "The invoice number.")
    ),
    responses(
        (status = 200, description = "Success", body = InvoiceDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/invoices/{number}")]
pub async fn get_invoice(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, number) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let find = FindInvoices {
        number: Some(number.clone()),
        prefixes: Vec::new(),
        from: None,
        to: None,
        after: None,
        limit: 1,
    };
    let page = handle.orders().invoices(find).await?;
    let (invoice, order, currency) = page.invoices.first().ok_or(DomainError::UnknownInvoice { number })?;
    Ok(HttpResponse::Ok().json(invoice_dto(invoice, order, currency)))
}
