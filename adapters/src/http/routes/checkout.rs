//! The storefront's way from a filled cart to an order: shipping address, promo code,
//! delivery options and choice, payment systems, checkout; then the order, its documents
//! and (for offline payments) the administrator's payment confirmation. Also a product's
//! price for a shopper.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use mercato_actors::cart::{
    CartRemember, CartReply, CartRespond, CheckOut, ChooseDelivery, DeliveryOptions, SetAddress, SetPromoCode,
};
use mercato_actors::CommerceHandle;
use mercato_engine::commerce::model::{ApiRole, ShipmentPreference};
use mercato_engine::delivery::{payment_systems, PlannedShipment};
use mercato_engine::order::{DeliveryChoice, Order, OrderCommand, ShippingAddress};
use mercato_engine::pricing::totals::Totals;
use mercato_engine::pricing::{minor_units, round, unit_price, Shopper};
use mercato_engine::resolution::normalize_country;
use mercato_engine::{Commerce, DomainError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::carts::{
    answer, ask, ask_within, begin, cart_of, commerce_of, create_whole, timestamp, visit_context, CartDto,
    CreateCartBody, Parts, CHECKOUT_REPLY_TIMEOUT,
};
use super::warehouses::quantity;
use crate::http::auth::Principal;
use crate::http::idempotency;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    pub name: String,
    pub line: String,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AddressDto {
    pub name: String,
    pub line: String,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

pub fn address_dto(a: &ShippingAddress) -> AddressDto {
    AddressDto {
        name: a.name.clone(),
        line: a.line.clone(),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
        phone: a.phone.clone(),
        email: a.email.clone(),
    }
}

/// Money as the API shows it: a decimal string rounded to the currency's minor unit.
fn money(amount: Decimal, units: u32) -> String {
    round(amount, units).to_string()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotalsDto {
    pub currency: String,
    pub tax_inclusive: bool,
    pub lines: Vec<LineTotalDto>,
    pub subtotal: String,
    pub discounts: String,
    pub shipping: String,
    pub taxes: Vec<TaxDto>,
    pub total: String,
    pub applied_discounts: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineTotalDto {
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    pub unit_price: String,
    pub discount: String,
    pub amount: String,
    pub tax_rate: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaxDto {
    pub name: String,
    pub rate: String,
    pub base: String,
    pub tax: String,
}

pub fn totals_dto(t: &Totals) -> TotalsDto {
    TotalsDto {
        currency: t.currency.clone(),
        tax_inclusive: t.tax_inclusive,
        lines: t
            .lines
            .iter()
            .map(|l| LineTotalDto {
                line: l.line.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price.to_string(),
                discount: l.discount.to_string(),
                amount: l.amount.to_string(),
                tax_rate: l.tax_rate.normalize().to_string(),
            })
            .collect(),
        subtotal: t.subtotal.to_string(),
        discounts: t.discounts.to_string(),
        shipping: t.shipping.to_string(),
        taxes: t
            .taxes
            .iter()
            .map(|x| TaxDto {
                name: x.name.clone(),
                rate: x.rate.normalize().to_string(),
                base: x.base.to_string(),
                tax: x.tax.to_string(),
            })
            .collect(),
        total: t.total.to_string(),
        applied_discounts: t.applied_discounts.clone(),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum DeliveryDto {
    Home { preference: &'static str, shipping_types: BTreeMap<String, String> },
    Pickup { location: String },
}

fn preference_name(p: ShipmentPreference) -> &'static str {
    match p {
        ShipmentPreference::AsAvailable => "as_available",
        ShipmentPreference::FewestShipments => "fewest_shipments",
    }
}

pub fn delivery_dto(choice: &DeliveryChoice) -> DeliveryDto {
    match choice {
        DeliveryChoice::Home { preference, shipping_types } => DeliveryDto::Home {
            preference: preference_name(*preference),
            shipping_types: shipping_types.iter().cloned().collect(),
        },
        DeliveryChoice::Pickup { location } => DeliveryDto::Pickup { location: location.clone() },
    }
}

async fn cart_change<M>(
    state: &AppState,
    principal: &Principal,
    code: &str,
    id: &str,
    message: M,
) -> Result<HttpResponse, Problem>
where
    M: actix::Message<Result = Result<CartReply, mercato_actors::cart::CartError>> + Send + 'static,
    mercato_actors::cart::CartActor: actix::Handler<M>,
{
    let handle = commerce_of(state, principal, code)?;
    let reply = ask(&cart_of(handle, id)?, message).await??;
    Ok(answer(&reply, &handle.snapshot(), handle.clock().today(), StatusCode::OK, false))
}

#[utoipa::path(
    tag = "checkout",
    summary = "Sets the cart's shipping address.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    request_body = AddressBody,
    responses(
        (status = 200, description = "Success", body = CartDto),
        Refusals
    )
)]
#[put("/v1/commerces/{commerce}/carts/{cart}/address")]
pub async fn put_address(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<AddressBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let address = shipping_address(body.into_inner())?;
    cart_change(&state, &principal, &code, &id, SetAddress(address)).await
}

/// The address a body gives, its country code normalised.
pub(super) fn shipping_address(b: AddressBody) -> Result<ShippingAddress, Problem> {
    let country = normalize_country(&b.country)?;
    Ok(ShippingAddress {
        name: b.name,
        line: b.line,
        city: b.city,
        region: b.region,
        postal_code: b.postal_code,
        country,
        phone: b.phone,
        email: b.email,
        latitude: b.latitude,
        longitude: b.longitude,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoCodeBody {
    pub code: String,
}

#[utoipa::path(
    tag = "checkout",
    summary = "Applies a promo code.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    request_body = PromoCodeBody,
    responses(
        (status = 200, description = "Success", body = CartDto),
        Refusals
    )
)]
#[put("/v1/commerces/{commerce}/carts/{cart}/promo-code")]
pub async fn put_promo_code(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<PromoCodeBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    cart_change(&state, &principal, &code, &id, SetPromoCode(Some(body.into_inner().code))).await
}

#[utoipa::path(
    tag = "checkout",
    summary = "Takes the promo code off.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    responses(
        (status = 200, description = "Success", body = CartDto),
        Refusals
    )
)]
#[delete("/v1/commerces/{commerce}/carts/{cart}/promo-code")]
pub async fn delete_promo_code(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    cart_change(&state, &principal, &code, &id, SetPromoCode(None)).await
}

/// A customer's choice between speed and fewer parcels.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreferenceDto {
    /// Ship each part by its own date.
    AsAvailable,
    /// Regroup shipments with the same source and shipping type (dated by the latest).
    FewestShipments,
}

impl From<PreferenceDto> for ShipmentPreference {
    fn from(p: PreferenceDto) -> Self {
        match p {
            PreferenceDto::AsAvailable => ShipmentPreference::AsAvailable,
            PreferenceDto::FewestShipments => ShipmentPreference::FewestShipments,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OptionsQuery {
    /// `as_available` or `fewest_shipments` (default: the commerce's).
    pub preference: Option<PreferenceDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShippingOptionDto {
    /// What to send back in `PUT …/delivery`: `{carrier}/{shipping type}`.
    pub code: String,
    pub carrier: String,
    pub shipping_type: String,
    /// Before tax.
    pub price: String,
    pub delivery_date: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShipmentItemDto {
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    pub ready_date: String,
    pub awaiting_stock: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlannedShipmentDto {
    pub id: String,
    pub logistic_center: String,
    pub shipping_classes: Vec<String>,
    pub ready_date: String,
    pub items: Vec<ShipmentItemDto>,
    pub shipping_types: Vec<ShippingOptionDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PickupPointDto {
    pub code: String,
    pub name: String,
    pub distance_km: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryOptionsResponse {
    pub preference: &'static str,
    pub multi_shipment: bool,
    pub shipments: Vec<PlannedShipmentDto>,
    pub pickup_points: Vec<PickupPointDto>,
}

fn item_dto(i: &mercato_engine::delivery::ShipmentItem) -> ShipmentItemDto {
    ShipmentItemDto {
        line: i.line.clone(),
        sku: i.sku.clone(),
        quantity: i.quantity,
        ready_date: i.ready_date.to_string(),
        awaiting_stock: i.awaiting_stock,
    }
}

fn planned_dto(s: &PlannedShipment, units: u32) -> PlannedShipmentDto {
    PlannedShipmentDto {
        id: s.id.clone(),
        logistic_center: s.center.clone(),
        shipping_classes: s.shipping_classes.clone(),
        ready_date: s.ready_date.to_string(),
        items: s.items.iter().map(item_dto).collect(),
        shipping_types: s
            .options
            .iter()
            .map(|o| ShippingOptionDto {
                code: o.key(),
                carrier: o.carrier.clone(),
                shipping_type: o.shipping_type.clone(),
                price: money(o.price, units),
                delivery_date: o.delivery_date.to_string(),
            })
            .collect(),
    }
}

#[utoipa::path(
    tag = "checkout",
    summary = "Home-delivery shipments with their shipping types, and pick-up points.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id."),
        OptionsQuery
    ),
    responses(
        (status = 200, description = "Success", body = DeliveryOptionsResponse),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/carts/{cart}/delivery-options")]
pub async fn delivery_options(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<OptionsQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let view = ask(&cart_of(handle, &id)?, DeliveryOptions { preference: query.preference.map(Into::into) }).await??;
    let units = minor_units(&handle.snapshot(), &view.cart.context.currency);
    // Home delivery that cannot be planned is the answer unless a pick-up point is offered.
    let shipments = match view.home {
        Ok(shipments) => shipments.iter().map(|s| planned_dto(s, units)).collect(),
        Err(error) if view.pickup.is_empty() => return Err(error.into()),
        Err(_) => Vec::new(),
    };
    Ok(HttpResponse::Ok().json(DeliveryOptionsResponse {
        preference: preference_name(view.preference),
        multi_shipment: view.multi_shipment,
        shipments,
        pickup_points: view
            .pickup
            .into_iter()
            .map(|p| PickupPointDto { code: p.code, name: p.name, distance_km: p.distance_km })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    Home,
    Pickup,
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryBody {
    pub method: DeliveryMethod,
    /// Home: `as_available` or `fewest_shipments` (default: the commerce's).
    pub preference: Option<PreferenceDto>,
    /// Home: per shipment id, the `code` of its chosen shipping type (default: cheapest).
    #[serde(default)]
    pub shipping_types: BTreeMap<String, String>,
    /// Pick-up: the pick-up point's code.
    pub location: Option<String>,
}

#[utoipa::path(
    tag = "checkout",
    summary = "Chooses home delivery (shipping type per shipment) or a pick-up point.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    request_body = DeliveryBody,
    responses(
        (status = 200, description = "Success", body = CartDto),
        Refusals
    )
)]
#[put("/v1/commerces/{commerce}/carts/{cart}/delivery")]
pub async fn put_delivery(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<DeliveryBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let choice = delivery_choice(body.into_inner(), handle)?;
    cart_change(&state, &principal, &code, &id, ChooseDelivery(choice)).await
}

/// The delivery choice a body asks for (home with the commerce's default preference
/// unless it names one, or a pick-up point).
pub(super) fn delivery_choice(body: DeliveryBody, handle: &CommerceHandle) -> Result<DeliveryChoice, Problem> {
    Ok(match body.method {
        DeliveryMethod::Home => {
            if body.location.is_some() {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    "location applies to method pickup only",
                ));
            }
            DeliveryChoice::Home {
                preference: body
                    .preference
                    .map_or(handle.snapshot().config().multi_shipment.default_preference, Into::into),
                shipping_types: body.shipping_types.into_iter().collect(),
            }
        }
        DeliveryMethod::Pickup => {
            let Some(location) = body.location else {
                return Err(Problem::new(StatusCode::BAD_REQUEST, "invalid_body", "method pickup needs a location"));
            };
            DeliveryChoice::Pickup { location }
        }
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentSystemDto {
    pub code: String,
    pub name: String,
    /// `online` (a gateway answers at checkout) or `offline` (an administrator confirms).
    pub kind: &'static str,
}

#[utoipa::path(
    tag = "checkout",
    summary = "The payment systems of the cart's channel.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id.")
    ),
    responses(
        (status = 200, description = "Success", body = Vec<PaymentSystemDto>),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/carts/{cart}/payment-systems")]
pub async fn list_payment_systems(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let reply = ask(&cart_of(handle, &id)?, mercato_actors::cart::GetCart).await??;
    let commerce = handle.snapshot();
    let systems: Vec<PaymentSystemDto> = payment_systems(&commerce, &reply.cart.context.channel)
        .into_iter()
        .map(|p| PaymentSystemDto {
            code: p.code.clone(),
            name: p.name.clone(),
            kind: if p.is_online() { "online" } else { "offline" },
        })
        .collect();
    Ok(HttpResponse::Ok().json(systems))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    pub payment_system: String,
    /// For online payment systems: the gateway's token for the customer's means of payment.
    pub payment_token: Option<String>,
    /// The total the customer was shown; checkout refuses (409 `price_changed`) if the
    /// total is now different.
    pub expected_total: Option<String>,
}

#[utoipa::path(
    tag = "checkout",
    summary = "Places the order: revalidates, pays, turns reservations into allocations.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("cart" = String, Path, description = "The cart id."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = CheckoutBody,
    responses(
        (status = 201, description = "Success", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/carts/{cart}/checkout")]
pub async fn checkout(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<CheckoutBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let body = body.into_inner();
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let expected_total = expected_total(body.expected_total.as_deref())?;
    let stamp = match begin(&state, handle, stamp)? {
        Ok(stamp) => stamp,
        Err(answer) => return Ok(idempotency::replay(answer)),
    };
    let cart = match cart_of(handle, &id) {
        Ok(cart) => cart,
        Err(problem) => {
            if let Some(stamp) = &stamp {
                state.idempotency.abandon(stamp);
            }
            return Err(problem);
        }
    };
    let commerce = handle.snapshot();
    let remember = stamp.map(|stamp| CartRemember { stamp, frees_key: true, respond: order_respond(&commerce) });
    let message = CheckOut { payment_system: body.payment_system, token: body.payment_token, expected_total, remember };
    let reply = ask_within(&cart, message, CHECKOUT_REPLY_TIMEOUT).await??;
    order_answer(&reply, &commerce)
}

fn expected_total(text: Option<&str>) -> Result<Option<Decimal>, Problem> {
    text.map(|text| {
        text.trim().parse::<Decimal>().map_err(|_| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_amount",
                format!("expected_total \"{text}\" is not a decimal amount"),
            )
        })
    })
    .transpose()
}

/// How a checkout keeps its answer under a key: the order, as the route sends it.
fn order_respond(commerce: &Arc<Commerce>) -> CartRespond {
    let commerce = Arc::clone(commerce);
    Box::new(move |reply: &CartReply| mercato_actors::idempotency::Answer {
        status: StatusCode::CREATED.as_u16(),
        body: reply.order.as_deref().map(|o| order_body(o, &commerce)).unwrap_or_default(),
    })
}

/// A checkout's answer: the one kept under its key, or the order it placed.
fn order_answer(reply: &CartReply, commerce: &Commerce) -> Result<HttpResponse, Problem> {
    if let Some(answer) = &reply.answer {
        return Ok(idempotency::replay(answer.clone()));
    }
    let order = reply.order.as_deref().ok_or_else(|| Problem::unavailable("the order was not returned"))?;
    Ok(HttpResponse::Created().content_type("application/json").body(order_body(order, commerce)))
}

/// A purchase in one request: the cart as `POST …/carts` creates it whole (its lines,
/// address and delivery are required here), then its checkout.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyNowBody {
    pub cart: CreateCartBody,
    pub checkout: CheckoutBody,
}

#[utoipa::path(
    tag = "checkout",
    summary = "Buys now: creates the cart whole (lines, address, delivery) and checks it out in one request; a refused purchase ends the cart and holds nothing.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = BuyNowBody,
    responses(
        (status = 201, description = "Success", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders")]
pub async fn buy_now(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<BuyNowBody>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let commerce = handle.snapshot();
    let body = body.into_inner();
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let BuyNowBody { mut cart, checkout: pay } = body;
    let expected_total = expected_total(pay.expected_total.as_deref())?;
    let pay = CheckOut { payment_system: pay.payment_system, token: pay.payment_token, expected_total, remember: None };
    let parts = Parts::of(&mut cart, handle)?.checking_out(pay)?;
    let context = visit_context(handle, &commerce, cart)?;
    let stamp = match begin(&state, handle, stamp)? {
        Ok(stamp) => stamp,
        Err(answer) => return Ok(idempotency::replay(answer)),
    };
    let reply = create_whole(&state, handle, context, parts, stamp, order_respond(&commerce)).await?;
    order_answer(&reply, &commerce)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AllocationDto {
    pub warehouse: String,
    pub quantity: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderLineDto {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: String,
    pub discount: String,
    pub amount: String,
    pub tax_rate: String,
    pub allocations: Vec<AllocationDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderShipmentDto {
    pub id: String,
    pub logistic_center: String,
    pub carrier: Option<String>,
    pub shipping_type: Option<String>,
    pub pickup_location: Option<String>,
    pub price: String,
    pub delivery_date: String,
    /// `awaiting_stock`, `ready`, `sent`, `delivered` or `returned`.
    pub status: String,
    pub items: Vec<ShipmentItemDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentDto {
    pub system: String,
    pub kind: &'static str,
    /// `approved` or `pending`.
    pub status: &'static str,
    pub reference: Option<String>,
    pub amount: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentDto {
    pub kind: &'static str,
    pub number: String,
    pub issued_at: String,
    pub seller: SellerDto,
    pub buyer: AddressDto,
    pub language: String,
    pub totals: TotalsDto,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SellerDto {
    pub invoicing_company: String,
    pub legal_name: String,
    pub tax_id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderDto {
    pub id: String,
    pub cart: String,
    pub status: &'static str,
    pub placed_at: String,
    pub channel: String,
    pub language: String,
    pub currency: String,
    pub address: AddressDto,
    pub delivery: DeliveryDto,
    pub lines: Vec<OrderLineDto>,
    pub shipments: Vec<OrderShipmentDto>,
    pub totals: TotalsDto,
    pub payment: PaymentDto,
    pub documents: Vec<DocumentDto>,
}

fn document_dto(order: &Order) -> DocumentDto {
    let d = &order.document;
    DocumentDto {
        kind: "order",
        number: d.number.clone(),
        issued_at: timestamp(d.issued_at),
        seller: SellerDto {
            invoicing_company: order.invoicing_company.clone(),
            legal_name: d.seller_legal_name.clone(),
            tax_id: d.seller_tax_id.clone(),
        },
        buyer: address_dto(&d.buyer),
        language: d.language.clone(),
        totals: totals_dto(&d.totals),
    }
}

fn shipment_status(status: mercato_engine::commerce::model::ShipmentStatus) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub fn order_dto(order: &Order, commerce: &Commerce) -> OrderDto {
    let units = minor_units(commerce, &order.context.currency);
    OrderDto {
        id: order.id.clone(),
        cart: order.cart.clone(),
        status: order.status.as_str(),
        placed_at: timestamp(order.placed_at),
        channel: order.context.channel.clone(),
        language: order.context.language.clone(),
        currency: order.context.currency.clone(),
        address: address_dto(&order.address),
        delivery: delivery_dto(&order.delivery),
        lines: order
            .lines
            .iter()
            .map(|l| OrderLineDto {
                id: l.id.clone(),
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.amount.quantity,
                unit_price: l.amount.unit_price.to_string(),
                discount: l.amount.discount.to_string(),
                amount: l.amount.amount.to_string(),
                tax_rate: l.amount.tax_rate.normalize().to_string(),
                allocations: l
                    .allocations
                    .iter()
                    .map(|a| AllocationDto { warehouse: a.warehouse.clone(), quantity: a.quantity })
                    .collect(),
            })
            .collect(),
        shipments: order
            .shipments
            .iter()
            .map(|s| OrderShipmentDto {
                id: s.id.clone(),
                logistic_center: s.center.clone(),
                carrier: s.carrier.clone(),
                shipping_type: s.shipping_type.clone(),
                pickup_location: s.pickup_location.clone(),
                price: money(s.price, units),
                delivery_date: s.delivery_date.to_string(),
                status: shipment_status(s.status),
                items: s.items.iter().map(item_dto).collect(),
            })
            .collect(),
        totals: totals_dto(&order.totals),
        payment: PaymentDto {
            system: order.payment.system.clone(),
            kind: if order.payment.online { "online" } else { "offline" },
            status: if order.payment.reference.is_some() { "approved" } else { "pending" },
            reference: order.payment.reference.clone(),
            amount: money(order.payment.amount, units),
        },
        documents: vec![document_dto(order)],
    }
}

fn order_body(order: &Order, commerce: &Commerce) -> Vec<u8> {
    serde_json::to_vec(&order_dto(order, commerce)).unwrap_or_default()
}

#[utoipa::path(
    tag = "orders",
    summary = "An order with its shipments, payment and documents.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id.")
    ),
    responses(
        (status = 200, description = "Success", body = OrderDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/orders/{order}")]
pub async fn get_order(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    // Shown once its last record is durable.
    let order = handle.orders().read(&id).await?;
    Ok(HttpResponse::Ok().json(order_dto(&order, &handle.snapshot())))
}

#[utoipa::path(
    tag = "orders",
    summary = "An order's documents.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id.")
    ),
    responses(
        (status = 200, description = "Success", body = Vec<DocumentDto>),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/orders/{order}/documents")]
pub async fn get_order_documents(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let order = commerce_of(&state, &principal, &code)?.orders().read(&id).await?;
    Ok(HttpResponse::Ok().json(vec![document_dto(&order)]))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// The bank transfer's or cash receipt's reference.
    pub reference: String,
}

/// An administrator confirms an offline payment: the order becomes `paid`.
#[utoipa::path(
    tag = "orders",
    summary = "Confirms an offline payment (admin): the order becomes paid.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("order" = String, Path, description = "The order id.")
    ),
    request_body = PaymentBody,
    responses(
        (status = 200, description = "Success", body = OrderDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/orders/{order}/payments")]
pub async fn confirm_payment(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<PaymentBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin])?;
    let handle = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?;
    let order =
        handle.orders().execute(&id, OrderCommand::ConfirmPayment { reference: body.into_inner().reference }).await?;
    Ok(HttpResponse::Ok().json(order_dto(&order, &handle.snapshot())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PriceQuery {
    pub currency: Option<String>,
    pub qty: Option<i64>,
    pub country: Option<String>,
    pub group: Option<String>,
    pub user: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PriceResponse {
    pub sku: String,
    pub currency: String,
    pub quantity: u32,
    /// Before tax and discounts.
    pub unit_price: String,
    pub amount: String,
    pub base_unit_price: String,
    /// The price rule that set it, if any.
    pub rule: Option<String>,
    /// Whether it was converted from the main currency at the configured rate.
    pub converted: bool,
}

#[utoipa::path(
    tag = "catalog",
    summary = "A product's unit price for a shopper, quantity and currency (before tax and discounts).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("sku" = String, Path, description = "The SKU."),
        PriceQuery
    ),
    responses(
        (status = 200, description = "Success", body = PriceResponse),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/products/{sku}/price")]
pub async fn get_price(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<PriceQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, sku) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let commerce = handle.snapshot();
    let query = query.into_inner();
    let units = quantity(query.qty.unwrap_or(1))?;
    let currency = query.currency.unwrap_or_else(|| commerce.config().main_currency.clone());
    let place = match &query.country {
        Some(country) => Some(mercato_engine::commerce::model::Place {
            country: normalize_country(country)?,
            region: None,
            postal_code: None,
        }),
        None => None,
    };
    if let Some(group) = &query.group {
        if !commerce.config().user_groups.iter().any(|g| &g.code == group) {
            return Err(DomainError::UnknownUserGroup { code: group.clone() }.into());
        }
    }
    if let Some(user) = &query.user {
        if !commerce.config().users.iter().any(|u| &u.id == user) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_user",
                format!("user \"{user}\" does not exist"),
            ));
        }
    }
    let shopper = Shopper::of(&commerce, query.user.as_deref(), query.group.as_deref(), place.as_ref());
    let price = unit_price(&commerce, &sku, units, &currency, &shopper)?;
    let minor = minor_units(&commerce, &currency);
    Ok(HttpResponse::Ok().json(PriceResponse {
        sku,
        currency,
        quantity: units,
        unit_price: money(price.unit, minor),
        amount: money(price.unit.checked_mul(Decimal::from(units)).ok_or(DomainError::AmountTooLarge)?, minor),
        base_unit_price: money(price.base, minor),
        rule: price.rule,
        converted: price.converted,
    }))
}
