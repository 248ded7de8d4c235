//! Cart routes: create a cart for a visit's context, read it, and add, change or remove
//! its lines. Each line answers with what the customer should be told (backorder,
//! preorder, delayed with the date, low stock) and the product's related products.
//! Creating a cart and adding a line take an `Idempotency-Key`. A cart may be created
//! whole (lines, address, delivery: one request for a "buy now").

use actix::{Addr, Message};
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat};
use mercato_actors::cart::{
    Abandon, AddLine, Answering, CartActor, CartError, CartRemember, CartReply, CartRespond, ChangeLine, CheckOut,
    ChooseDelivery, GetCart, Keeping, RemoveLine, SetAddress,
};
use mercato_actors::idempotency::{Answer, Begin, Stamp};
use mercato_actors::CommerceHandle;
use mercato_engine::cart::{Alert, CartContext, CartLine, Hold, Supply, CART_LINES_MAX};
use mercato_engine::commerce::model::{ApiRole, Device};
use mercato_engine::inventory::Timestamp;
use mercato_engine::resolution::{Access, ContextRequest};
use mercato_engine::{Commerce, DomainError};
use serde::{Deserialize, Serialize};

use super::checkout::{
    address_dto, delivery_choice, delivery_dto, shipping_address, totals_dto, AddressBody, AddressDto, DeliveryBody,
    DeliveryDto, TotalsDto,
};
use super::context::DeviceDto;
use super::warehouses::{quantity, ACTOR_REPLY_TIMEOUT};
use crate::http::auth::Principal;
use crate::http::idempotency;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;
use mercato_engine::order::quote::{price, quote};

/// What the storefront knows about the visit the cart is for; the channel, language,
/// currency and country are resolved from it, as for `POST …/context`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCartBody {
    pub domain: Option<String>,
    pub device: Option<DeviceDto>,
    pub country: Option<String>,
    pub language: Option<String>,
    pub currency: Option<String>,
    #[serde(default)]
    pub user_groups: Vec<String>,
    /// The signed-in customer's user id, if any: their groups count too.
    pub user: Option<String>,
    /// Lines to add at once, in order, as `POST …/lines` adds them (a SKU given twice makes
    /// one line). At most 200.
    #[serde(default)]
    pub lines: Vec<AddLineBody>,
    /// The shipping address, as `PUT …/address` takes it.
    pub address: Option<AddressBody>,
    /// The delivery choice, as `PUT …/delivery` takes it: needs lines and an address.
    pub delivery: Option<DeliveryBody>,
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLineBody {
    pub sku: String,
    pub qty: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeLineBody {
    pub qty: i64,
}

/// The cart as answers show it, borrowing its text from the cart and the catalogue: a
/// cart answer is written on every change, and copying each string first cost more than
/// writing it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CartDto<'a> {
    pub id: &'a str,
    pub status: &'static str,
    pub channel: &'a str,
    pub language: &'a str,
    pub currency: &'a str,
    pub country: &'a str,
    pub user: Option<&'a str>,
    pub group: Option<&'a str>,
    /// When the cart and its reservations end unless it is used again.
    pub expires_at: String,
    pub units: u64,
    pub lines: Vec<LineDto<'a>>,
    pub address: Option<AddressDto>,
    pub promo_code: Option<&'a str>,
    pub delivery: Option<DeliveryDto>,
    /// Prices, discounts, shipping (once a delivery is chosen) and taxes; null when the
    /// cart cannot be priced for its destination.
    pub totals: Option<TotalsDto>,
    /// The order checkout placed.
    pub order: Option<&'a str>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineDto<'a> {
    pub id: &'a str,
    pub sku: &'a str,
    pub name: Option<&'a str>,
    pub quantity: u32,
    pub holds: Vec<HoldDto<'a>>,
    pub alerts: Vec<AlertDto>,
    pub related: Vec<RelatedDto<'a>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HoldDto<'a> {
    pub warehouse: &'a str,
    pub quantity: u32,
    pub parts: Vec<HoldPartDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HoldPartDto {
    /// `in_stock`, `backorder` or `preorder`.
    pub supply: &'static str,
    pub quantity: u32,
    pub ready_date: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertDto {
    Backorder,
    Preorder,
    Delayed { date: String },
    LowStock { available: u32 },
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelatedDto<'a> {
    pub sku: &'a str,
    pub name: Option<&'a str>,
}

/// A line change's answer: the line it was about and the cart after it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineChangeResponse<'a> {
    pub line: Option<&'a str>,
    pub cart: CartDto<'a>,
}

/// A date as `YYYY-MM-DD`, written directly for the years answers carry (chrono's
/// formatter goes through `fmt` machinery for every date of every answer).
pub(super) fn date_text(date: NaiveDate) -> String {
    let (year, month, day) = (date.year(), date.month(), date.day());
    let Ok(year) = u32::try_from(year) else { return date.to_string() };
    if year > 9999 {
        return date.to_string();
    }
    let digit = |n: u32| char::from(b'0' + u8::try_from(n % 10).unwrap_or(0));
    let mut text = String::with_capacity(10);
    text.extend([digit(year / 1000), digit(year / 100), digit(year / 10), digit(year), '-']);
    text.extend([digit(month / 10), digit(month), '-', digit(day / 10), digit(day)]);
    text
}

pub(super) fn timestamp(at: Timestamp) -> String {
    DateTime::from_timestamp_millis(at.0).map_or_else(String::new, |t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn supply(supply: Supply) -> &'static str {
    match supply {
        Supply::InStock => "in_stock",
        Supply::Backorder => "backorder",
        Supply::Preorder => "preorder",
    }
}

fn hold_dto(hold: &Hold) -> HoldDto<'_> {
    HoldDto {
        warehouse: &hold.warehouse,
        quantity: hold.quantity,
        parts: hold
            .parts
            .iter()
            .map(|p| HoldPartDto {
                supply: supply(p.supply),
                quantity: p.quantity,
                ready_date: date_text(p.ready_date),
            })
            .collect(),
    }
}

fn alert_dto(alert: Alert) -> AlertDto {
    match alert {
        Alert::Backorder => AlertDto::Backorder,
        Alert::Preorder => AlertDto::Preorder,
        Alert::Delayed { date } => AlertDto::Delayed { date: date_text(date) },
        Alert::LowStock { available } => AlertDto::LowStock { available },
    }
}

fn line_dto<'a>(
    line: &'a CartLine,
    commerce: &'a Commerce,
    language: &str,
    today: NaiveDate,
    low_stock: Option<u32>,
) -> LineDto<'a> {
    let product = commerce.product(&line.sku);
    let mut alerts: Vec<AlertDto> = line.alerts(today).into_iter().map(alert_dto).collect();
    if let Some(available) = low_stock {
        alerts.push(AlertDto::LowStock { available });
    }
    let related = product
        .map(|p| {
            p.related
                .iter()
                .filter_map(|sku| commerce.product(sku))
                .map(|r| RelatedDto { sku: &r.sku, name: r.names.get(language).map(String::as_str) })
                .collect()
        })
        .unwrap_or_default();
    LineDto {
        id: &line.id,
        sku: &line.sku,
        name: product.and_then(|p| p.names.get(language)).map(String::as_str),
        quantity: line.quantity,
        holds: line.holds.iter().map(hold_dto).collect(),
        alerts,
        related,
    }
}

/// The cart as the API shows it; the low-stock alert goes on the line the reply is about.
pub fn cart_dto<'a>(reply: &'a CartReply, commerce: &'a Commerce, today: NaiveDate) -> CartDto<'a> {
    let cart = &reply.cart;
    let language = &cart.context.language;
    CartDto {
        id: &cart.id,
        status: cart.status.as_str(),
        channel: &cart.context.channel,
        language,
        currency: &cart.context.currency,
        country: &cart.context.country,
        user: cart.context.user.as_deref(),
        group: cart.context.group.as_deref(),
        expires_at: timestamp(cart.expires_at),
        units: cart.lines.values().map(|l| u64::from(l.quantity)).sum(),
        lines: cart
            .lines
            .values()
            .map(|line| {
                let low = reply.low_stock.filter(|_| reply.line.as_deref() == Some(line.id.as_str()));
                line_dto(line, commerce, language, today, low)
            })
            .collect(),
        address: cart.address.as_ref().map(address_dto),
        promo_code: cart.promo_code.as_deref(),
        delivery: cart.delivery.as_ref().map(delivery_dto),
        totals: quote(commerce, cart, today)
            .map(|q| q.totals)
            .or_else(|_| price(commerce, cart, today).map(|p| p.totals(rust_decimal::Decimal::ZERO)))
            .ok()
            .map(|t| totals_dto(&t)),
        order: cart.order.as_deref(),
    }
}

impl From<CartError> for Problem {
    fn from(error: CartError) -> Self {
        match error {
            CartError::Refused(error) => error.into(),
            CartError::NotDurable(error) => mercato_actors::CommandError::NotDurable(error).into(),
            CartError::Busy(_) | CartError::Unavailable(_) | CartError::Gateway(_) => {
                tracing::warn!(%error, "a cart could not reach a warehouse or a payment gateway");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, error.code(), error.to_string())
            }
        }
    }
}

pub(super) fn commerce_of<'a>(
    state: &'a AppState,
    principal: &Principal,
    code: &str,
) -> Result<&'a CommerceHandle, Problem> {
    principal.authorize(code, &[ApiRole::Admin, ApiRole::Storefront])?;
    state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))
}

pub(super) fn cart_of(handle: &CommerceHandle, id: &str) -> Result<Addr<CartActor>, Problem> {
    handle.carts().get(id).ok_or_else(|| DomainError::UnknownCart { id: id.to_owned() }.into())
}

/// Sends a request to a cart and waits for its answer, bounded.
pub(super) async fn ask<M>(cart: &Addr<CartActor>, message: M) -> Result<M::Result, Problem>
where
    M: Message + Send + 'static,
    M::Result: Send,
    CartActor: actix::Handler<M>,
{
    ask_within(cart, message, ACTOR_REPLY_TIMEOUT).await
}

/// How long a checkout may take: the payment gateway's own time, then the warehouses'.
pub(super) const CHECKOUT_REPLY_TIMEOUT: std::time::Duration =
    mercato_actors::payment::GATEWAY_TIMEOUT.saturating_add(ACTOR_REPLY_TIMEOUT);

/// As `ask`, waiting at most `timeout`.
pub(super) async fn ask_within<M>(
    cart: &Addr<CartActor>,
    message: M,
    timeout: std::time::Duration,
) -> Result<M::Result, Problem>
where
    M: Message + Send + 'static,
    M::Result: Send,
    CartActor: actix::Handler<M>,
{
    cart.send(message).timeout(timeout).await.map_err(|error| {
        tracing::warn!(%error, "a cart did not answer");
        Problem::unavailable("the cart is busy; retry shortly")
    })
}

/// What to do with a request's idempotency key: go ahead (with the stamp), send the
/// answer kept under it again, or refuse (in flight, or used for another request).
pub(super) fn begin(
    state: &AppState,
    handle: &CommerceHandle,
    stamp: Option<Stamp>,
) -> Result<Result<Option<Stamp>, Answer>, Problem> {
    let Some(stamp) = stamp else { return Ok(Ok(None)) };
    match state.idempotency.begin(&stamp, handle.clock().now()) {
        Begin::Fresh => Ok(Ok(Some(stamp))),
        Begin::Replay(answer) => Ok(Err(answer)),
        Begin::InFlight => Err(idempotency::in_flight(&stamp.key)),
        Begin::Mismatch => Err(idempotency::mismatch(&stamp.key)),
    }
}

/// How a cart builds the answer it keeps under a key: the body the route sends.
fn respond_with(
    commerce: std::sync::Arc<Commerce>,
    today: NaiveDate,
    status: StatusCode,
    as_line: bool,
) -> CartRespond {
    Box::new(move |reply| Answer { status: status.as_u16(), body: body(reply, &commerce, today, as_line) })
}

fn body(reply: &CartReply, commerce: &Commerce, today: NaiveDate, as_line: bool) -> Vec<u8> {
    let cart = cart_dto(reply, commerce, today);
    let encoded = if as_line {
        serde_json::to_vec(&LineChangeResponse { line: reply.line.as_deref(), cart })
    } else {
        serde_json::to_vec(&cart)
    };
    encoded.unwrap_or_default()
}

pub(super) fn answer(
    reply: &CartReply,
    commerce: &Commerce,
    today: NaiveDate,
    status: StatusCode,
    as_line: bool,
) -> HttpResponse {
    if let Some(answer) = &reply.answer {
        return idempotency::replay(answer.clone());
    }
    HttpResponse::build(status).content_type("application/json").body(body(reply, commerce, today, as_line))
}

#[utoipa::path(
    tag = "carts",
    summary = "Creates a cart for a visit (its context is resolved from it), optionally with its lines, address and delivery; a refused part ends the cart and holds nothing.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = CreateCartBody,
    responses(
        (status = 201, description = "Success", body = CartDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/carts")]
pub async fn create_cart(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<CreateCartBody>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let commerce = handle.snapshot();
    let mut body = body.into_inner();
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let parts = Parts::of(&mut body, handle)?;
    let context = visit_context(handle, &commerce, body)?;
    let stamp = match begin(&state, handle, stamp)? {
        Ok(stamp) => stamp,
        Err(answer) => return Ok(idempotency::replay(answer)),
    };
    let today = handle.clock().today();
    let respond = respond_with(std::sync::Arc::clone(&commerce), today, StatusCode::CREATED, false);
    let reply = if parts.is_empty() {
        let remember = stamp.map(|stamp| CartRemember { stamp, frees_key: true, respond });
        handle.carts().open(context, remember.into()).await?
    } else {
        create_whole(&state, handle, context, parts, stamp, respond).await?
    };
    Ok(answer(&reply, &commerce, today, StatusCode::CREATED, false))
}

/// The cart's context, resolved from what the storefront knows about the visit: refused
/// for an unknown user, a blocked country or one another commerce serves.
pub(super) fn visit_context(
    handle: &CommerceHandle,
    commerce: &Commerce,
    body: CreateCartBody,
) -> Result<CartContext, Problem> {
    let mut groups = body.user_groups;
    if let Some(user) = &body.user {
        let found = commerce.config().users.iter().find(|u| &u.id == user).ok_or_else(|| {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_user", format!("user \"{user}\" does not exist"))
        })?;
        groups.extend(found.groups.iter().filter(|g| !groups.contains(g)).cloned().collect::<Vec<_>>());
    }
    let visit = ContextRequest {
        domain: body.domain,
        device: body.device.map(Device::from),
        country: body.country,
        language: body.language,
        currency: body.currency,
        user_groups: groups.clone(),
    };
    let resolved = handle.resolve(&visit)?;
    match &resolved.access {
        Access::Full | Access::BrowseOnly => {}
        Access::Blocked => {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "country_blocked",
                format!("this commerce does not sell to country \"{}\"", resolved.country),
            ))
        }
        Access::Redirect { commerce, url } => {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "redirect_required",
                format!("visitors from \"{}\" shop at commerce \"{commerce}\" ({url})", resolved.country),
            ))
        }
    }
    Ok(CartContext {
        channel: resolved.channel,
        language: resolved.language,
        currency: resolved.currency,
        country: resolved.country,
        user: body.user,
        group: groups.into_iter().next(),
    })
}

/// Opens a cart and applies `parts` to it in order, the last one keeping `respond`'s
/// answer under the key. A refused part ends the half-made cart, and once that is durable
/// the key is free again; a keyed part whose outcome is unknown leaves both as they are.
///
/// The work runs on the carts' arbiter, not the HTTP worker: each part's ask then stays on
/// one thread, and a client that goes away does not stop a creation halfway (the cart
/// is finished, or ended and its key freed, whoever waits for the answer).
pub(super) async fn create_whole(
    state: &AppState,
    handle: &CommerceHandle,
    context: CartContext,
    parts: Parts,
    stamp: Option<Stamp>,
    respond: CartRespond,
) -> Result<CartReply, Problem> {
    let carts = handle.carts().clone();
    let idempotency = state.idempotency.clone();
    let key = stamp.clone();
    let (done, answer) = tokio::sync::oneshot::channel();
    let work = async move {
        // The route, not the cart, frees the key: only once a half-made cart is durably ended.
        let remember = stamp.clone().map(|stamp| CartRemember { stamp, frees_key: false, respond });
        let free = |stamp: &Option<Stamp>| {
            if let Some(stamp) = stamp {
                idempotency.abandon(stamp);
            }
        };
        let outcome = async {
            let opened = match carts.open(context, Answering::Queued).await {
                Ok(opened) => opened,
                Err(error) => {
                    if error.nothing_changed() {
                        free(&stamp);
                    }
                    return Err(error.into());
                }
            };
            let Some(cart) = carts.get(&opened.cart.id) else {
                // Ended already (it held nothing yet): the key is free again.
                free(&stamp);
                return Err(DomainError::UnknownCart { id: opened.cart.id.clone() }.into());
            };
            match parts.fill(&cart, opened, remember).await {
                Ok(reply) => Ok(reply),
                Err(failed) => {
                    let (problem, ended) = failed.abandon(&cart).await;
                    if ended {
                        free(&stamp);
                    }
                    Err(problem)
                }
            }
        }
        .await;
        // Nobody may be waiting any more: the outcome stands either way.
        let _ = done.send(outcome);
    };
    if !handle.carts().arbiter().spawn(work) {
        // Nothing was made: the key is free again.
        if let Some(stamp) = &key {
            state.idempotency.abandon(stamp);
        }
        return Err(Problem::unavailable("the commerce's carts are stopping; retry shortly"));
    }
    answer.await.unwrap_or_else(|_| {
        Err(Problem::unavailable("the creation stopped before it answered; its outcome is unknown"))
    })
}

/// What a cart is created with beyond its context: lines, an address, a delivery choice,
/// each checked before the cart is made.
pub(super) struct Parts {
    lines: Vec<(String, u32)>,
    address: Option<SetAddress>,
    delivery: Option<ChooseDelivery>,
    /// Buying now: the checkout that ends the creation (its `remember` is set by `fill`).
    checkout: Option<CheckOut>,
}

/// A part of a cart's creation that failed: the refusal, whether the part carried the key,
/// whether its outcome is unknown (no answer in time, or a log failure after queuing), and
/// whether the part ends the cart when it succeeds (checkout).
struct Failed {
    problem: Problem,
    keyed: bool,
    unknown: bool,
    ends_cart: bool,
}

impl Parts {
    pub(super) fn of(body: &mut CreateCartBody, handle: &CommerceHandle) -> Result<Self, Problem> {
        if body.lines.len() > CART_LINES_MAX {
            return Err(DomainError::CartLinesExceeded { max: CART_LINES_MAX }.into());
        }
        let lines = body.lines.drain(..).map(|l| Ok((l.sku, quantity(l.qty)?))).collect::<Result<Vec<_>, Problem>>()?;
        let address = body.address.take().map(shipping_address).transpose()?.map(SetAddress);
        let delivery = body.delivery.take().map(|d| delivery_choice(d, handle)).transpose()?.map(ChooseDelivery);
        if delivery.is_some() {
            if lines.is_empty() {
                return Err(DomainError::CartEmpty.into());
            }
            if address.is_none() {
                return Err(DomainError::AddressRequired.into());
            }
        }
        Ok(Self { lines, address, delivery, checkout: None })
    }

    /// Buying now: the cart must be ready to check out (lines, an address, a delivery),
    /// and the checkout ends its creation.
    pub(super) fn checking_out(self, checkout: CheckOut) -> Result<Self, Problem> {
        if self.lines.is_empty() {
            return Err(DomainError::CartEmpty.into());
        }
        if self.address.is_none() {
            return Err(DomainError::AddressRequired.into());
        }
        if self.delivery.is_none() {
            return Err(DomainError::DeliveryRequired.into());
        }
        Ok(Self { checkout: Some(checkout), ..self })
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.address.is_none() && self.delivery.is_none() && self.checkout.is_none()
    }

    /// Adds the lines, then sets the address, then the delivery, then checks out. The last
    /// part keeps the answer under the key, so a retry replays the whole cart (or order) or
    /// creates it again. The parts before it answer once their records are queued: the
    /// log acknowledges the last part's record only after theirs, so the client's answer
    /// still waits for every part, with one sync in place of one per part.
    async fn fill(
        self,
        cart: &Addr<CartActor>,
        opened: CartReply,
        remember: Option<CartRemember>,
    ) -> Result<CartReply, Box<Failed>> {
        let Parts { lines, address, delivery, checkout } = self;
        let mut remember = remember;
        // The last part (the checkout, else the delivery, else the address, else the last
        // line) takes the key, if any, and says whether it carries one.
        let mut answering = |is_last: bool| {
            if !is_last {
                return (Answering::Queued, false);
            }
            let kept = remember.take();
            let keyed = kept.is_some();
            (Answering::from(kept), keyed)
        };
        let after_delivery = checkout.is_some();
        let after_address = after_delivery || delivery.is_some();
        let last_line = if after_address || address.is_some() { None } else { lines.len().checked_sub(1) };
        let mut reply = opened;
        for (i, (sku, quantity)) in lines.into_iter().enumerate() {
            let (answering, keyed) = answering(last_line == Some(i));
            let done = ask(cart, AddLine { sku, quantity, answering }).await;
            reply = Failed::check(done, keyed, false)?;
        }
        if let Some(address) = address {
            let (answering, keyed) = answering(!after_address);
            reply = Failed::check(ask(cart, Keeping(address, answering)).await, keyed, false)?;
        }
        if let Some(delivery) = delivery {
            let (answering, keyed) = answering(!after_delivery);
            reply = Failed::check(ask(cart, Keeping(delivery, answering)).await, keyed, false)?;
        }
        if let Some(checkout) = checkout {
            let kept = remember.take();
            let keyed = kept.is_some();
            reply = Failed::check(
                ask_within(cart, CheckOut { remember: kept, ..checkout }, CHECKOUT_REPLY_TIMEOUT).await,
                keyed,
                true,
            )?;
        }
        Ok(reply)
    }
}

impl Failed {
    /// The part's reply, or its failure (`keyed`: the part carried the key; `ends_cart`:
    /// the part ends the cart when it succeeds).
    fn check(
        done: Result<Result<CartReply, CartError>, Problem>,
        keyed: bool,
        ends_cart: bool,
    ) -> Result<CartReply, Box<Failed>> {
        match done {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(error)) => {
                Err(Box::new(Failed { keyed, unknown: !error.nothing_changed(), ends_cart, problem: error.into() }))
            }
            // No answer in time: the part's outcome is unknown.
            Err(problem) => Err(Box::new(Failed { problem, keyed, unknown: true, ends_cart })),
        }
    }

    /// Ends the half-made cart, so the refusal leaves nothing held; says whether it is
    /// durably ended with no answer kept, so the key is free again.
    ///
    /// A keyed part whose outcome is unknown may yet finish and keep its answer under the
    /// key, which a retry then replays, so the key stays in flight (until that answer, or
    /// until it goes stale). Such a part that would leave the cart open (a line, address
    /// or delivery) is left alone, since ending the cart would make the kept answer
    /// false. A checkout is followed by the abandon all the same: queued behind it, the
    /// abandon is refused if the order was placed (the cart is checked out) and lets the
    /// holds go if it was not, so a purchase whose client never learnt the cart's id does
    /// not keep its units off sale until the cart expires.
    async fn abandon(self, cart: &Addr<CartActor>) -> (Problem, bool) {
        let keeps_key = self.keyed && self.unknown;
        if keeps_key && !self.ends_cart {
            return (self.problem, false);
        }
        // Sent after every part, so it runs once they are done, whatever their outcome.
        let ended = match ask(cart, Abandon).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "a cart refused at creation was not ended; it expires");
                false
            }
            Err(problem) => {
                tracing::warn!(detail = %problem.detail, "a cart refused at creation did not answer");
                false
            }
        };
        (self.problem, ended && !keeps_key)
    }
}

#[utoipa::path(
    tag = "carts",
    summary = "A cart with its lines, holds, alerts and totals.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    responses(
        (status = 200, description = "Success", body = CartDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/carts/{cart}")]
pub async fn get_cart(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let reply = ask(&cart_of(handle, &id)?, GetCart).await??;
    Ok(answer(&reply, &handle.snapshot(), handle.clock().today(), StatusCode::OK, false))
}

#[utoipa::path(
    tag = "carts",
    summary = "Adds a line, or grows the line of a SKU the cart holds: checks quantity rules on the total, reserves the units, answers with alerts.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = AddLineBody,
    responses(
        (status = 201, description = "Success", body = LineChangeResponse),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/carts/{cart}/lines")]
pub async fn add_line(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<AddLineBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let body = body.into_inner();
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let units = quantity(body.qty)?;
    let cart = cart_of(handle, &id)?;
    let stamp = match begin(&state, handle, stamp)? {
        Ok(stamp) => stamp,
        Err(answer) => return Ok(idempotency::replay(answer)),
    };
    let commerce = handle.snapshot();
    let today = handle.clock().today();
    let remember = stamp.map(|stamp| CartRemember {
        stamp,
        frees_key: true,
        respond: respond_with(std::sync::Arc::clone(&commerce), today, StatusCode::CREATED, true),
    });
    // The cart settles the key: it keeps the answer once the line is durable, frees the key
    // when nothing changed, and leaves it in flight while the outcome is unknown.
    let reply = ask(&cart, AddLine { sku: body.sku, quantity: units, answering: remember.into() }).await??;
    Ok(answer(&reply, &commerce, today, StatusCode::CREATED, true))
}

#[utoipa::path(
    tag = "carts",
    summary = "Changes a line's quantity (reserving or releasing the difference).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id."),
        ("line" = String, Path, description = "The line id (`l1`, `l2`, ...).")
    ),
    request_body = ChangeLineBody,
    responses(
        (status = 200, description = "Success", body = LineChangeResponse),
        Refusals
    )
)]
#[patch("/v1/commerces/{commerce}/carts/{cart}/lines/{line}")]
pub async fn change_line(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
    body: web::Json<ChangeLineBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id, line) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let units = quantity(body.qty)?;
    let reply = ask(&cart_of(handle, &id)?, ChangeLine { line, quantity: units }).await??;
    Ok(answer(&reply, &handle.snapshot(), handle.clock().today(), StatusCode::OK, true))
}

#[utoipa::path(
    tag = "carts",
    summary = "Removes a line and releases its units.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id."),
        ("line" = String, Path, description = "The line id (`l1`, `l2`, ...).")
    ),
    responses(
        (status = 200, description = "Success", body = LineChangeResponse),
        Refusals
    )
)]
#[delete("/v1/commerces/{commerce}/carts/{cart}/lines/{line}")]
pub async fn remove_line(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id, line) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let reply = ask(&cart_of(handle, &id)?, RemoveLine { line: line.clone() }).await??;
    let reply = CartReply { line: Some(line), ..reply };
    Ok(answer(&reply, &handle.snapshot(), handle.clock().today(), StatusCode::OK, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        for (y, m, d) in
            [(2026, 11, 22), (2026, 1, 5), (1, 1, 1), (999, 12, 31), (9999, 12, 31), (10_000, 1, 1), (-5, 3, 4)]
        {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("a date");
            assert_eq!(date_text(date), date.to_string(), "{y}-{m}-{d}");
        }
    }
}
