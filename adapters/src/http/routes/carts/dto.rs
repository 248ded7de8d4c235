//! The cart's shapes on the wire: request bodies and the cart, its lines, holds, address,
//! delivery choice and totals as answered.

use super::*;

/// What the storefront knows about the visit the cart is for; the channel, language,
/// currency and country are resolved from it, as for `POST …/context`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCartBody {
    pub domain: Option<String>,
    pub device: Option<DeviceDto>,
    /// ISO 3166-1 alpha-2, either case.
    #[schema(pattern = "^[A-Za-z]{2}$")]
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
    #[schema(max_items = 200)]
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
    /// Units, 1 to 4294967295.
    #[serde(deserialize_with = "crate::http::wire::whole")]
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub qty: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeLineBody {
    /// The line's new quantity, 1 to 4294967295.
    #[serde(deserialize_with = "crate::http::wire::whole")]
    #[schema(minimum = 1, maximum = 4294967295_i64)]
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
pub(crate) fn date_text(date: NaiveDate) -> String {
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

pub(crate) fn timestamp(at: Timestamp) -> String {
    DateTime::from_timestamp_millis(at.0).map_or_else(String::new, |t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub(crate) fn supply(supply: Supply) -> &'static str {
    match supply {
        Supply::InStock => "in_stock",
        Supply::Backorder => "backorder",
        Supply::Preorder => "preorder",
    }
}

pub(crate) fn hold_dto(hold: &Hold) -> HoldDto<'_> {
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

pub(crate) fn alert_dto(alert: Alert) -> AlertDto {
    match alert {
        Alert::Backorder => AlertDto::Backorder,
        Alert::Preorder => AlertDto::Preorder,
        Alert::Delayed { date } => AlertDto::Delayed { date: date_text(date) },
        Alert::LowStock { available } => AlertDto::LowStock { available },
    }
}

pub(crate) fn line_dto<'a>(
    line: &'a CartLine,
    commerce: &'a Commerce,
    language: &'a str,
    today: NaiveDate,
    low_stock: Option<u32>,
) -> LineDto<'a> {
    let product = commerce.product(&line.sku);
    let mut alerts: Vec<AlertDto> = line.alerts(today).into_iter().map(alert_dto).collect();
    if let Some(available) = low_stock {
        alerts.push(AlertDto::LowStock { available });
    }
    let default_language = commerce.config().default_language.as_str();
    let name_of = |p: &'a mercato_engine::commerce::model::Product| p.name_in(language, default_language).map(|n| n.1);
    let related = product
        .map(|p| {
            p.related
                .iter()
                .filter_map(|sku| commerce.sold(sku))
                .map(|r| RelatedDto { sku: &r.sku, name: name_of(r) })
                .collect()
        })
        .unwrap_or_default();
    LineDto {
        id: &line.id,
        sku: &line.sku,
        name: product.and_then(name_of),
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

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub name: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub line: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub city: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub region: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, either case; a country the commerce sells to.
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub country: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub phone: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub email: Option<String>,
    /// Degrees, -90 to 90; given with `longitude` or not at all.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub latitude: Option<f64>,
    /// Degrees, -180 to 180; given with `latitude` or not at all.
    #[schema(minimum = -180.0, maximum = 180.0)]
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
pub(crate) fn money(amount: Decimal, units: u32) -> String {
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

pub(crate) fn preference_name(p: ShipmentPreference) -> &'static str {
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
