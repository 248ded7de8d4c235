//! `GET …/carts/{id}/delivery-options` and `PUT …/carts/{id}/delivery`.

use super::*;

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
    /// The merchant whose goods it carries; none for the commerce's own. A shipment never
    /// mixes merchants.
    pub merchant: Option<String>,
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

pub(crate) fn item_dto(i: &mercato_engine::delivery::ShipmentItem) -> ShipmentItemDto {
    ShipmentItemDto {
        line: i.line.clone(),
        sku: i.sku.clone(),
        quantity: i.quantity,
        ready_date: i.ready_date.to_string(),
        awaiting_stock: i.awaiting_stock,
    }
}

pub(crate) fn planned_dto(s: &PlannedShipment, units: u32, commerce: &mercato_engine::Commerce) -> PlannedShipmentDto {
    PlannedShipmentDto {
        id: s.id.clone(),
        merchant: s.items.first().and_then(|i| commerce.seller(&i.sku)).map(str::to_owned),
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
    query: crate::http::query::Query<OptionsQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let view =
        ask(&cart_of(handle, &id)?, DeliveryOptions { preference: query.read()?.preference.map(Into::into) }).await??;
    let commerce = handle.snapshot();
    let units = minor_units(&commerce, &view.cart.context.currency);
    // Home delivery that cannot be planned is the answer unless a pick-up point is offered.
    let shipments = match view.home {
        Ok(shipments) => shipments.iter().map(|s| planned_dto(s, units, &commerce)).collect(),
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
    body: crate::http::body::Json<DeliveryBody>,
) -> Result<HttpResponse, Problem> {
    let (code, id) = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let choice = delivery_choice(body.read()?, handle)?;
    cart_change(&state, &principal, &code, &id, ChooseDelivery(choice)).await
}

/// The delivery choice a body asks for (home with the commerce's default preference
/// unless it names one, or a pick-up point).
pub(crate) fn delivery_choice(body: DeliveryBody, handle: &CommerceHandle) -> Result<DeliveryChoice, Problem> {
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
