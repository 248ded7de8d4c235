//! A cart's stored types in format 2: its events and its state, with the address and the
//! delivery choice an order keeps too.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use mercato_engine::cart as engine;
use mercato_engine::commerce::model as commerce;

use crate::stored::convert::{stored_enum, stored_struct};

stored_struct! {
    CartContext => engine::CartContext {
        channel: String,
        language: String,
        currency: String,
        country: String,
        user: Option<String>,
        group: Option<String>,
    }
}

stored_enum! {
    Supply => engine::Supply { InStock, Backorder, Preorder }
}

stored_struct! {
    HoldPart => engine::HoldPart { supply: Supply, quantity: u32, ready_date: NaiveDate }
}

stored_struct! {
    Hold => engine::Hold { warehouse: String, reservation: String, quantity: u32, parts: Vec<HoldPart> }
}

stored_struct! {
    CartLine => engine::CartLine { id: String, sku: String, quantity: u32, holds: Vec<Hold> }
}

stored_enum! {
    CartStatus => engine::CartStatus { Open, CheckedOut, Expired }
}

stored_struct! {
    ShippingAddress => engine::ShippingAddress {
        name: String,
        line: String,
        city: String,
        region: Option<String>,
        postal_code: String,
        country: String,
        phone: Option<String>,
        email: Option<String>,
        latitude: Option<f64>,
        longitude: Option<f64>,
    }
}

stored_enum! {
    ShipmentPreference => commerce::ShipmentPreference { AsAvailable, FewestShipments }
}

stored_enum! {
    DeliveryChoice => engine::DeliveryChoice {
        Home { preference: ShipmentPreference, shipping_types: Vec<(String, String)> },
        Pickup { location: String },
    }
}

stored_enum! {
    /// A cart's event, in the engine's order of variants.
    CartEvent => engine::CartEvent {
        CartCreated { id: String, context: CartContext, expires_at: i64 },
        LineAdded { line: String, sku: String, quantity: u32, holds: Vec<Hold> },
        LineChanged { line: String, quantity: u32, holds: Vec<Hold> },
        LineRemoved { line: String },
        CartRenewed { expires_at: i64 },
        CartExpired,
        AddressSet { address: ShippingAddress },
        DeliveryChosen { choice: DeliveryChoice },
        PromoCodeSet { code: Option<String> },
        CheckedOut { order: String },
    }
}

stored_struct! {
    Cart => engine::Cart {
        id: String,
        context: CartContext,
        lines: BTreeMap<String, CartLine>,
        expires_at: i64,
        status: CartStatus,
        lines_added: u32,
        address: Option<ShippingAddress>,
        delivery: Option<DeliveryChoice>,
        promo_code: Option<String>,
        order: Option<String>,
    }
}
