//! `GET …/orders`: the back office's order list, filtered, newest first, in cursor pages.

use chrono::NaiveDate;
use mercato_actors::order::ListOrders;
use mercato_engine::order::listing::OrderFilter;
use mercato_engine::order::OrderStatus;

use super::*;

/// An order's status, as a filter names it.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatusDto {
    PendingPayment,
    Paid,
    PartiallyShipped,
    Shipped,
    Delivered,
    Cancelled,
    PartiallyReturned,
    Returned,
}

impl From<OrderStatusDto> for OrderStatus {
    fn from(status: OrderStatusDto) -> Self {
        match status {
            OrderStatusDto::PendingPayment => OrderStatus::PendingPayment,
            OrderStatusDto::Paid => OrderStatus::Paid,
            OrderStatusDto::PartiallyShipped => OrderStatus::PartiallyShipped,
            OrderStatusDto::Shipped => OrderStatus::Shipped,
            OrderStatusDto::Delivered => OrderStatus::Delivered,
            OrderStatusDto::Cancelled => OrderStatus::Cancelled,
            OrderStatusDto::PartiallyReturned => OrderStatus::PartiallyReturned,
            OrderStatusDto::Returned => OrderStatus::Returned,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrderListQuery {
    /// Only orders in this status.
    pub status: Option<OrderStatusDto>,
    /// Only orders placed in this channel.
    pub channel: Option<String>,
    /// Only orders with at least one line of this merchant's products.
    pub merchant: Option<String>,
    /// Only orders placed on or after this day (UTC), `YYYY-MM-DD`.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<String>,
    /// Only orders placed on or before this day (UTC), `YYYY-MM-DD`.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: Option<String>,
    /// Only orders whose shipping address gives this e-mail address (any case).
    pub email: Option<String>,
    /// The id of the last order of the previous page: the list continues after it.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// An order as the list shows it; `GET …/orders/{id}` answers the whole of it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderSummaryDto {
    pub id: String,
    pub placed_at: String,
    pub status: &'static str,
    pub channel: String,
    pub currency: String,
    pub email: Option<String>,
    pub units: u64,
    pub total: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderPageDto {
    /// The orders the filter keeps; fewer than `limit` (even none) when the page looked at
    /// its share of orders (100 per order it may show) before it filled.
    pub orders: Vec<OrderSummaryDto>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<String>,
}

/// Default page size of the order list.
pub const ORDER_PAGE_DEFAULT: usize = 50;
/// Largest page of the order list.
pub const ORDER_PAGE_MAX: i64 = 500;

#[utoipa::path(
    tag = "orders",
    summary = "Lists orders (admin), newest first, filtered by status, channel, merchant, days and e-mail.",
    params(("commerce" = String, Path, description = "The commerce code."), OrderListQuery),
    responses(
        (status = 200, description = "Success", body = OrderPageDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<OrderListQuery>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let commerce = handle.snapshot();
    let query = query.read()?;
    let limit = page_limit(query.limit)?;
    let filter = filter(&query, &commerce)?;
    let list = ListOrders { filter, commerce: Arc::clone(&commerce), after: query.after.clone(), limit };
    let page = handle.orders().list(list).await.map_err(|error| match error {
        mercato_actors::ActorError::Refused(mercato_engine::DomainError::UnknownOrder { id }) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_cursor",
            format!("after \"{id}\" is not an order of this commerce"),
        ),
        other => other.into(),
    })?;
    let orders = page.orders.iter().map(|order| summary(order)).collect();
    Ok(HttpResponse::Ok().json(OrderPageDto { orders, next_after: page.next_after }))
}

/// A page size asked for: 1 to `ORDER_PAGE_MAX`, `ORDER_PAGE_DEFAULT` when not given.
pub(crate) fn page_limit(limit: Option<i64>) -> Result<usize, Problem> {
    match limit {
        None => Ok(ORDER_PAGE_DEFAULT),
        Some(limit @ 1..=ORDER_PAGE_MAX) => Ok(usize::try_from(limit).unwrap_or(ORDER_PAGE_DEFAULT)),
        Some(limit) => {
            let detail = format!("limit {limit} must be 1 to {ORDER_PAGE_MAX}");
            Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit", detail))
        }
    }
}

/// A day a query names (`YYYY-MM-DD`, a real day), or none when it names none.
pub(crate) fn query_day(field: &str, text: &Option<String>) -> Result<Option<NaiveDate>, Problem> {
    let Some(text) = text else { return Ok(None) };
    let parsed = crate::http::wire::is_date_shaped(text).then(|| text.parse::<NaiveDate>().ok()).flatten();
    parsed.map(Some).ok_or_else(|| {
        let detail = format!("{field} \"{text}\" is not a date (YYYY-MM-DD)");
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_date", detail)
    })
}

/// The filter a query asks for, each code checked against the commerce.
fn filter(query: &OrderListQuery, commerce: &Commerce) -> Result<OrderFilter, Problem> {
    if let Some(channel) = &query.channel {
        commerce.channel(channel).ok_or(mercato_engine::DomainError::UnknownChannel { code: channel.clone() })?;
    }
    if let Some(merchant) = &query.merchant {
        if !commerce.config().merchants.iter().any(|m| m.code == *merchant) {
            let detail = format!("merchant \"{merchant}\" is not a merchant of this commerce");
            return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_merchant", detail));
        }
    }
    Ok(OrderFilter {
        status: query.status.map(Into::into),
        channel: query.channel.clone(),
        merchant: query.merchant.clone(),
        from: query_day("from", &query.from)?,
        to: query_day("to", &query.to)?,
        email: query.email.clone(),
    })
}

fn summary(order: &Order) -> OrderSummaryDto {
    OrderSummaryDto {
        id: order.id.clone(),
        placed_at: timestamp(order.placed_at),
        status: order.status.as_str(),
        channel: order.context.channel.clone(),
        currency: order.context.currency.clone(),
        email: order.address.email.clone(),
        units: order.lines.iter().map(|l| u64::from(l.amount.quantity)).sum(),
        total: order.totals.total.to_string(),
    }
}
