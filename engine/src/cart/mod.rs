//! A shopping cart: the context it was created in, its lines, and where each line's units
//! are held. Reserving happens in the warehouses (their actors); the cart records the
//! holds it got, so it can release them when a line shrinks or goes, or the cart expires.
//!
//! `decide` validates a command against the cart and the commerce and returns the events;
//! `apply` folds them in. Holds arrive with the command: the cart actor reserves first and
//! then decides with what it reserved, releasing it again when the cart refuses.

mod address;

pub use address::{DeliveryChoice, ShippingAddress, ADDRESS_FIELD_MAX};

use address::check_address;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::commerce::model::Place;
use crate::commerce::Commerce;
use crate::error::DomainError;
use crate::inventory::{Reservation, Source, Timestamp};

/// Lines a cart may hold.
pub const CART_LINES_MAX: usize = 200;

/// A line whose SKU has this many units or fewer left on hand, across the warehouses
/// that may serve the cart, after its reservation carries the `low_stock` alert.
pub const LOW_STOCK_UNITS: u32 = 5;

/// What a cart was created for: resolved once, fixed for its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartContext {
    pub channel: String,
    pub language: String,
    pub currency: String,
    pub country: String,
    pub user: Option<String>,
    pub group: Option<String>,
}

/// Units of a line reserved in one warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub warehouse: String,
    pub reservation: String,
    pub quantity: u32,
    /// Where the units come from and when they can leave, as reserved.
    pub parts: Vec<HoldPart>,
}

/// What kind of supply units come from, as a customer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supply {
    /// On hand in the warehouse.
    InStock,
    /// Incoming (a batch) or made or bought to order (lead time).
    Backorder,
    /// Not yet released.
    Preorder,
}

impl Supply {
    pub fn of(source: &Source) -> Self {
        match source {
            Source::OnHand => Supply::InStock,
            Source::Batch(_) | Source::LeadTime | Source::AtRisk => Supply::Backorder,
            Source::Preorder => Supply::Preorder,
        }
    }
}

/// Some units of a hold: their supply and the day they can leave the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldPart {
    pub supply: Supply,
    pub quantity: u32,
    pub ready_date: NaiveDate,
}

impl Hold {
    /// The hold a warehouse's reservation makes, with the ready date of each of its parts
    /// (in the order of its parts).
    pub fn reserved(warehouse: &str, reservation: &Reservation, dates: &[NaiveDate]) -> Self {
        let parts: Vec<HoldPart> = reservation
            .parts
            .iter()
            .zip(dates)
            .map(|(part, date)| HoldPart {
                supply: Supply::of(&part.source),
                quantity: part.quantity,
                ready_date: *date,
            })
            .collect();
        Hold {
            warehouse: warehouse.to_owned(),
            reservation: reservation.id.clone(),
            quantity: parts.iter().map(|p| p.quantity).sum(),
            parts,
        }
    }

    /// The hold with `quantity` fewer units, taken from its latest parts, as the warehouse
    /// reduces the reservation. None when that leaves nothing.
    pub fn reduced(&self, quantity: u32) -> Option<Hold> {
        if quantity >= self.quantity {
            return None;
        }
        let mut parts = self.parts.clone();
        let mut left = quantity;
        while left > 0 {
            let last = parts.last_mut()?;
            let taken = left.min(last.quantity);
            last.quantity -= taken;
            left -= taken;
            if last.quantity == 0 {
                parts.pop();
            }
        }
        Some(Hold { quantity: self.quantity - quantity, parts, ..self.clone() })
    }
}

/// What a customer is told about a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Alert {
    /// Some units are incoming or made to order.
    Backorder,
    /// Some units are not yet released.
    Preorder,
    /// Some units cannot leave before `date`.
    Delayed { date: NaiveDate },
    /// Few units are left (`available` on hand after this line's reservation).
    LowStock { available: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub id: String,
    pub sku: String,
    pub quantity: u32,
    pub holds: Vec<Hold>,
}

impl CartLine {
    /// The alerts its holds carry on `today`: backorder and preorder by supply, and
    /// delayed with the latest day a unit can leave, when that is after today.
    pub fn alerts(&self, today: NaiveDate) -> Vec<Alert> {
        let parts = || self.holds.iter().flat_map(|h| h.parts.iter());
        let mut alerts = Vec::new();
        if parts().any(|p| p.supply == Supply::Backorder) {
            alerts.push(Alert::Backorder);
        }
        if parts().any(|p| p.supply == Supply::Preorder) {
            alerts.push(Alert::Preorder);
        }
        if let Some(date) = parts().map(|p| p.ready_date).max().filter(|d| *d > today) {
            alerts.push(Alert::Delayed { date });
        }
        alerts
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartStatus {
    Open,
    CheckedOut,
    Expired,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Open => "open",
            CartStatus::CheckedOut => "checked_out",
            CartStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartCommand {
    /// A new line of `quantity` units of `sku`, held by `holds`.
    AddLine {
        line: String,
        sku: String,
        quantity: u32,
        holds: Vec<Hold>,
    },
    /// A line's new quantity, held by `holds` (which replace the line's holds).
    ChangeLine {
        line: String,
        quantity: u32,
        holds: Vec<Hold>,
    },
    RemoveLine {
        line: String,
    },
    /// Keeps the cart (and its holds) until `expires_at`.
    Renew {
        expires_at: Timestamp,
    },
    /// The cart's time has come: it takes no more changes; its holds are to be released.
    Expire,
    /// Where the goods go. Clears the delivery choice, which was made for another address.
    SetAddress {
        address: ShippingAddress,
    },
    /// How the goods are received (validated against the options by the caller).
    ChooseDelivery {
        choice: DeliveryChoice,
    },
    /// A promo code to apply, or none to take it off.
    SetPromoCode {
        code: Option<String>,
    },
    /// Checkout placed `order`: the cart ends; its holds now belong to the order.
    CheckOut {
        order: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartEvent {
    CartCreated { id: String, context: CartContext, expires_at: Timestamp },
    LineAdded { line: String, sku: String, quantity: u32, holds: Vec<Hold> },
    LineChanged { line: String, quantity: u32, holds: Vec<Hold> },
    LineRemoved { line: String },
    CartRenewed { expires_at: Timestamp },
    CartExpired,
    AddressSet { address: ShippingAddress },
    DeliveryChosen { choice: DeliveryChoice },
    PromoCodeSet { code: Option<String> },
    CheckedOut { order: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub id: String,
    pub context: CartContext,
    pub lines: BTreeMap<String, CartLine>,
    pub expires_at: Timestamp,
    pub status: CartStatus,
    /// Lines added over the cart's life: the next line's id is `l` and this plus one.
    pub lines_added: u32,
    pub address: Option<ShippingAddress>,
    /// Cleared by any change to the lines or the address: the shipments it chose among
    /// were planned for the cart as it was.
    pub delivery: Option<DeliveryChoice>,
    pub promo_code: Option<String>,
    /// The order checkout placed.
    pub order: Option<String>,
}

/// The units `holds` cover must be exactly the line's quantity.
fn covered(quantity: u32, holds: &[Hold]) -> Result<(), DomainError> {
    let held: u64 = holds.iter().map(|h| u64::from(h.quantity)).sum();
    if held != u64::from(quantity) {
        return Err(DomainError::InvalidQuantity {
            quantity: i64::from(quantity),
            reason: "the units held for it do not add up to it",
        });
    }
    Ok(())
}

impl Cart {
    /// Validates a new cart's context against the commerce; returns its first event.
    pub fn create(
        id: &str,
        context: CartContext,
        commerce: &Commerce,
        expires_at: Timestamp,
    ) -> Result<CartEvent, DomainError> {
        commerce
            .channel(&context.channel)
            .ok_or_else(|| DomainError::UnknownChannel { code: context.channel.clone() })?;
        commerce
            .language(&context.language)
            .ok_or_else(|| DomainError::UnknownLanguage { code: context.language.clone() })?;
        if !commerce.config().currencies.iter().any(|c| c.code == context.currency) {
            return Err(DomainError::UnknownCurrency { code: context.currency.clone() });
        }
        Ok(CartEvent::CartCreated { id: id.to_owned(), context, expires_at })
    }

    /// The cart a `CartCreated` event starts.
    pub fn from_created(event: &CartEvent) -> Option<Cart> {
        match event {
            CartEvent::CartCreated { id, context, expires_at } => Some(Cart {
                id: id.clone(),
                context: context.clone(),
                lines: BTreeMap::new(),
                expires_at: *expires_at,
                status: CartStatus::Open,
                lines_added: 0,
                address: None,
                delivery: None,
                promo_code: None,
                order: None,
            }),
            _ => None,
        }
    }

    fn open(&self, now: Timestamp) -> Result<(), DomainError> {
        if self.status == CartStatus::Expired {
            return Err(DomainError::CartExpired { id: self.id.clone() });
        }
        if self.status != CartStatus::Open {
            return Err(DomainError::CartClosed { id: self.id.clone(), status: self.status.as_str() });
        }
        if self.expires_at <= now {
            return Err(DomainError::CartExpired { id: self.id.clone() });
        }
        Ok(())
    }

    fn line(&self, id: &str) -> Result<&CartLine, DomainError> {
        self.lines.get(id).ok_or_else(|| DomainError::UnknownCartLine { id: id.to_owned() })
    }

    /// The id the next added line gets.
    pub fn next_line_id(&self) -> String {
        format!("l{}", self.lines_added.saturating_add(1))
    }

    /// Whether the centers holding the cart's units deliver to `address`: a cart filled
    /// before its address (knowing only a country, or browsing from one the commerce does
    /// not sell to) may hold units a center cannot send there; the address is then refused
    /// naming those lines and centers, and the customer changes the lines or the address.
    fn holds_deliver_to(&self, address: &ShippingAddress, commerce: &Commerce) -> Result<(), DomainError> {
        let place = address.place();
        let mut lines = Vec::new();
        let mut centers: Vec<String> = Vec::new();
        for line in self.lines.values() {
            for hold in &line.holds {
                let center =
                    commerce.warehouse(&hold.warehouse).and_then(|w| commerce.logistic_center(&w.logistic_center));
                if center.is_some_and(|center| commerce.delivers_to(center, &place)) {
                    continue;
                }
                let named = format!("line {} ({})", line.id, line.sku);
                if !lines.contains(&named) {
                    lines.push(named);
                }
                let code = center.map_or_else(|| hold.warehouse.clone(), |center| center.code.clone());
                if !centers.contains(&code) {
                    centers.push(code);
                }
            }
        }
        if lines.is_empty() {
            return Ok(());
        }
        Err(DomainError::OutsideCenterArea {
            lines: lines.join(", "),
            center: centers.join(" and "),
            country: place.country,
        })
    }

    /// Where the cart's goods go, as far as it knows: its address, else its country.
    pub fn destination(&self) -> Place {
        match &self.address {
            Some(address) => address.place(),
            None => Place { country: self.context.country.clone(), region: None, postal_code: None },
        }
    }

    /// Every check of `decide` except that the holds cover the quantity: whether the
    /// command is worth reserving stock for.
    pub fn admit(&self, command: &CartCommand, commerce: &Commerce, now: Timestamp) -> Result<(), DomainError> {
        match command {
            CartCommand::AddLine { line, sku, quantity, .. } => {
                self.open(now)?;
                if line.is_empty() || self.lines.contains_key(line) {
                    return Err(DomainError::DuplicateCartLine { id: line.clone() });
                }
                if self.lines.len() >= CART_LINES_MAX {
                    return Err(DomainError::CartLinesExceeded { max: CART_LINES_MAX });
                }
                let product = commerce.sellable(sku)?;
                product.quantity.check(sku, *quantity)
            }
            CartCommand::ChangeLine { line, quantity, .. } => {
                self.open(now)?;
                let current = self.line(line)?;
                // More of a product no longer sold (retired, its merchant not trading) is
                // refused as adding it would be; less of it is not (it frees the units).
                let product = if *quantity > current.quantity {
                    commerce.sellable(&current.sku)?
                } else {
                    commerce
                        .product(&current.sku)
                        .ok_or_else(|| DomainError::UnknownSku { sku: current.sku.clone() })?
                };
                product.quantity.check(&current.sku, *quantity)
            }
            CartCommand::RemoveLine { line } => {
                self.open(now)?;
                self.line(line).map(|_| ())
            }
            CartCommand::Renew { expires_at } => {
                self.open(now)?;
                if *expires_at <= now {
                    return Err(DomainError::CartExpired { id: self.id.clone() });
                }
                Ok(())
            }
            CartCommand::Expire => {
                if self.status != CartStatus::Open {
                    return Err(DomainError::CartClosed { id: self.id.clone(), status: self.status.as_str() });
                }
                Ok(())
            }
            CartCommand::SetAddress { address } => {
                self.open(now)?;
                check_address(address, commerce)?;
                self.holds_deliver_to(address, commerce)
            }
            CartCommand::ChooseDelivery { .. } => {
                self.open(now)?;
                if self.lines.is_empty() {
                    return Err(DomainError::CartEmpty);
                }
                if self.address.is_none() {
                    return Err(DomainError::AddressRequired);
                }
                Ok(())
            }
            CartCommand::SetPromoCode { code } => {
                self.open(now)?;
                if let Some(code) = code {
                    let known = commerce
                        .config()
                        .discounts
                        .iter()
                        .any(|d| d.promo_code.as_ref().is_some_and(|p| p.to_lowercase() == code.to_lowercase()));
                    if !known {
                        return Err(DomainError::UnknownPromoCode { code: code.clone() });
                    }
                }
                Ok(())
            }
            CartCommand::CheckOut { .. } => {
                self.open(now)?;
                if self.lines.is_empty() {
                    return Err(DomainError::CartEmpty);
                }
                if self.address.is_none() {
                    // A visitor browsing from a country the commerce does not sell to has
                    // no destination until it gives an address where it does.
                    if !commerce.sales_countries().any(|country| country == self.context.country) {
                        return Err(DomainError::CountryNotSellable { country: self.context.country.clone() });
                    }
                    return Err(DomainError::AddressRequired);
                }
                if self.delivery.is_none() {
                    return Err(DomainError::DeliveryRequired);
                }
                Ok(())
            }
        }
    }

    /// Validates a command at `now`; returns the events it causes. Changes nothing.
    pub fn decide(
        &self,
        command: &CartCommand,
        commerce: &Commerce,
        now: Timestamp,
    ) -> Result<Vec<CartEvent>, DomainError> {
        self.admit(command, commerce, now)?;
        match command {
            CartCommand::AddLine { line, sku, quantity, holds } => {
                covered(*quantity, holds)?;
                Ok(vec![CartEvent::LineAdded {
                    line: line.clone(),
                    sku: sku.clone(),
                    quantity: *quantity,
                    holds: holds.clone(),
                }])
            }
            CartCommand::ChangeLine { line, quantity, holds } => {
                covered(*quantity, holds)?;
                Ok(vec![CartEvent::LineChanged { line: line.clone(), quantity: *quantity, holds: holds.clone() }])
            }
            CartCommand::RemoveLine { line } => Ok(vec![CartEvent::LineRemoved { line: line.clone() }]),
            CartCommand::Renew { expires_at } => Ok(vec![CartEvent::CartRenewed { expires_at: *expires_at }]),
            CartCommand::Expire => Ok(vec![CartEvent::CartExpired]),
            CartCommand::SetAddress { address } => Ok(vec![CartEvent::AddressSet { address: address.clone() }]),
            CartCommand::ChooseDelivery { choice } => Ok(vec![CartEvent::DeliveryChosen { choice: choice.clone() }]),
            CartCommand::SetPromoCode { code } => Ok(vec![CartEvent::PromoCodeSet { code: code.clone() }]),
            CartCommand::CheckOut { order } => Ok(vec![CartEvent::CheckedOut { order: order.clone() }]),
        }
    }

    /// Folds one event in. Events come from `decide`, so one that does not fit (a change
    /// to a line the cart does not have, a line added twice) is a programmer error: it
    /// asserts rather than be ignored. Recovery catches that and refuses the record.
    pub fn apply(&mut self, event: &CartEvent) {
        match event {
            CartEvent::CartCreated { .. } => {}
            CartEvent::LineAdded { line, sku, quantity, holds } => {
                self.delivery = None;
                self.lines_added = self.lines_added.saturating_add(1);
                let before = self.lines.insert(
                    line.clone(),
                    CartLine { id: line.clone(), sku: sku.clone(), quantity: *quantity, holds: holds.clone() },
                );
                assert!(before.is_none(), "cart {}: line {line} added twice", self.id);
            }
            CartEvent::LineChanged { line, quantity, holds } => {
                self.delivery = None;
                let id = &self.id;
                let current = self.lines.get_mut(line).unwrap_or_else(|| panic!("cart {id}: no line {line} to change"));
                current.quantity = *quantity;
                current.holds = holds.clone();
            }
            CartEvent::LineRemoved { line } => {
                self.delivery = None;
                assert!(self.lines.remove(line).is_some(), "cart {}: no line {line} to remove", self.id);
            }
            CartEvent::CartRenewed { expires_at } => self.expires_at = *expires_at,
            CartEvent::CartExpired => self.status = CartStatus::Expired,
            CartEvent::AddressSet { address } => {
                self.address = Some(address.clone());
                self.delivery = None;
            }
            CartEvent::DeliveryChosen { choice } => self.delivery = Some(choice.clone()),
            CartEvent::PromoCodeSet { code } => self.promo_code = code.clone(),
            CartEvent::CheckedOut { order } => {
                self.status = CartStatus::CheckedOut;
                self.order = Some(order.clone());
            }
        }
    }

    /// Every hold of every line: what an expiring or emptied cart releases.
    pub fn holds(&self) -> impl Iterator<Item = &Hold> {
        self.lines.values().flat_map(|line| line.holds.iter())
    }
}
