//! Checkout as a state machine: admit the cart, quote it, build the order, authorise an
//! online payment, commit every hold to its order line, place the order; and when a step
//! fails, roll back what the steps before it did.
//!
//! The machine calls nobody. `Checkout::start` and `Checkout::resume` return a `Step`:
//! either one effect for the shell to run (`Authorise`, `Commit` one hold, `Place`), whose
//! outcome it feeds back with `resume`, or `Done` with the result and the clean-up effects
//! (`Uncommit`, `Void`) the shell runs without waiting for them. `E` is the shell's own
//! error type: an effect that failed for a reason of the shell (a warehouse that did not
//! answer, a log that failed) carries it through to the result unchanged.
//!
//! The order is built before anything is asked of anyone, so a cart that cannot become an
//! order (no address, a shipping type no longer offered, no invoicing company) is refused
//! with nothing to roll back. A commit's order-line key and quantity are the hold's own,
//! so the order's allocations are known in advance too.

use rust_decimal::Decimal;

use crate::cart::{Cart, CartCommand, CartEvent};
use crate::commerce::model::ShipmentStatus;
use crate::commerce::Commerce;
use crate::delivery::{payment_systems, sourced, ShipmentItem, Sourced};
use crate::error::DomainError;
use crate::inventory::Timestamp;
use crate::order::quote::{quote, QuotedDelivery};
use crate::order::{place, Allocation, Order, OrderShipment, Payment};

/// What the customer asked for at checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The id the order will have (the shell makes ids).
    pub order: String,
    pub payment_system: String,
    pub token: Option<String>,
    /// The total the customer saw; a different total now refuses the checkout.
    pub expected_total: Option<Decimal>,
    /// Who checks out (the key's principal).
    pub by: String,
}

/// A cart hold to commit to its order line: the warehouse's reservation becomes the
/// allocation (or promise) `key` of the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldCommit {
    pub line: String,
    pub sku: String,
    pub warehouse: String,
    pub reservation: String,
    pub quantity: u32,
    pub key: String,
}

/// An online payment to approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorisation {
    pub gateway: String,
    pub order: String,
    pub amount: Decimal,
    pub currency: String,
    pub token: String,
}

/// What the shell runs for the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Ask the gateway to approve the payment; answer with `Outcome::Authorised`.
    Authorise(Authorisation),
    /// Commit one hold in its warehouse; answer with `Outcome::Committed`.
    Commit(HoldCommit),
    /// Record the order and the cart's end in one log record; answer with `Outcome::Placed`.
    Place { order: Box<Order>, cart_events: Vec<CartEvent> },
    /// Give committed holds back to the cart, reserved until `expires_at` (clean-up).
    Uncommit { holds: Vec<HoldCommit>, expires_at: Timestamp },
    /// Give back an approval that was not used (clean-up).
    Void { gateway: String, reference: String },
}

/// How a gateway answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorised<E> {
    Approved {
        reference: String,
    },
    Declined {
        reason: String,
    },
    /// The gateway could not be asked (or did not answer): nothing was approved that the
    /// shell knows of.
    Failed(E),
}

/// How a warehouse answered a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed<E> {
    Committed,
    /// The reservation is gone (expired, released or changed): its stock is lost.
    Lost,
    /// Refused for another reason: nothing was committed.
    Refused(E),
    /// No sure answer: the warehouse may still have committed it.
    Unknown(E),
}

/// How the log took the order's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed<E> {
    Placed,
    /// The record was not taken: nothing of it will ever be durable.
    NotRecorded(E),
    /// The record was taken but the log failed: the order may or may not exist.
    Unknown(E),
}

/// An effect's outcome, fed back to `resume`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<E> {
    Authorised(Authorised<E>),
    Committed(Committed<E>),
    Placed(Placed<E>),
}

/// What the machine wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<E> {
    Run(Effect),
    /// The checkout is over: `result` says whether the order (which the `Place` effect
    /// carried) is placed, or why not; `cleanup` is what
    /// the shell runs to undo what was done (nobody waits for it).
    Done {
        result: Result<(), E>,
        cleanup: Vec<Effect>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Authorising,
    Committing,
    Placing,
    Over,
}

/// One checkout of one cart.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The order to place, until the `Place` effect takes it.
    order: Option<Order>,
    cart_events: Vec<CartEvent>,
    gateway: Option<String>,
    commits: Vec<HoldCommit>,
    /// Commits that may have happened: done, or without a sure answer.
    done: usize,
    /// The next commit to run.
    next: usize,
    expires_at: Timestamp,
    approval: Option<String>,
    stage: Stage,
}

impl Checkout {
    /// Checks the cart can become an order and builds it; the first step is the payment's
    /// authorisation (online) or the first commit (offline). A cart that cannot become an
    /// order is refused here, with nothing done.
    pub fn start<E>(
        request: CheckoutRequest,
        cart: &Cart,
        commerce: &Commerce,
        now: Timestamp,
        today: chrono::NaiveDate,
    ) -> Result<(Self, Step<E>), DomainError> {
        let (mut machine, authorisation) = Self::build(request, cart, commerce, now, today)?;
        let step = match authorisation {
            Some(authorisation) => {
                machine.stage = Stage::Authorising;
                Step::Run(Effect::Authorise(authorisation))
            }
            None => machine.commit_next(),
        };
        Ok((machine, step))
    }

    fn build(
        request: CheckoutRequest,
        cart: &Cart,
        commerce: &Commerce,
        now: Timestamp,
        today: chrono::NaiveDate,
    ) -> Result<(Self, Option<Authorisation>), DomainError> {
        let cart_events = cart.decide(&CartCommand::CheckOut { order: request.order.clone() }, commerce, now)?;
        // Lines of merchants no longer trading (blocked since they were added) are named,
        // all of them; a product retired since it was added is no longer sold.
        let mut blocked = false;
        let not_trading: Vec<String> = cart
            .lines
            .iter()
            .filter_map(|(id, line)| match commerce.sellable(&line.sku) {
                Err(DomainError::MerchantNotTrading { sku, merchant, status }) => {
                    blocked |= status == "blocked";
                    Some(format!("line \"{id}\" ({sku}: merchant \"{merchant}\" is {status})"))
                }
                _ => None,
            })
            .collect();
        if !not_trading.is_empty() {
            return Err(DomainError::MerchantLinesNotTrading { lines: not_trading, blocked });
        }
        for line in cart.lines.values() {
            commerce.sellable(&line.sku)?;
        }
        let quote = quote(commerce, cart, today)?;
        let total = quote.totals.total;
        if let Some(expected) = request.expected_total.filter(|e| *e != total) {
            return Err(DomainError::PriceChanged { expected: expected.to_string(), actual: total.to_string() });
        }
        let systems = payment_systems(commerce, &cart.context.channel);
        let Some(system) = systems.iter().find(|p| p.code == request.payment_system) else {
            let offered = systems.iter().map(|p| p.code.clone()).collect::<Vec<_>>().join(", ");
            return Err(DomainError::UnknownPaymentSystem { code: request.payment_system, offered });
        };
        let token = request.token.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if system.is_online() && token.is_none() {
            return Err(DomainError::PaymentTokenRequired { system: system.code.clone() });
        }
        let commits = commits(cart, &request.order);
        let payment =
            Payment { system: system.code.clone(), online: system.is_online(), reference: None, amount: total };
        let order = build_order(&request, cart, commerce, now, &quote, payment, &commits)?;
        let authorisation = system.gateway.as_ref().map(|gateway| Authorisation {
            gateway: gateway.clone(),
            order: request.order.clone(),
            amount: total,
            currency: quote.totals.currency.clone(),
            token: request.token.clone().unwrap_or_default(),
        });
        let machine = Self {
            order: Some(order),
            cart_events,
            gateway: system.gateway.clone(),
            commits,
            done: 0,
            next: 0,
            expires_at: cart.expires_at,
            approval: None,
            stage: Stage::Committing,
        };
        Ok((machine, authorisation))
    }

    /// Takes the outcome of the effect the last step asked for.
    pub fn resume<E: From<DomainError>>(&mut self, outcome: Outcome<E>) -> Step<E> {
        match (&self.stage, outcome) {
            (Stage::Authorising, Outcome::Authorised(authorised)) => self.authorised(authorised),
            (Stage::Committing, Outcome::Committed(committed)) => self.committed(committed),
            (Stage::Placing, Outcome::Placed(placed)) => self.placed(placed),
            (stage, outcome) => {
                panic!("checkout: outcome {:?} does not answer stage {stage:?}", OutcomeKind::of(&outcome))
            }
        }
    }

    fn authorised<E: From<DomainError>>(&mut self, authorised: Authorised<E>) -> Step<E> {
        match authorised {
            Authorised::Approved { reference } => {
                if let Some(order) = self.order.as_mut() {
                    order.payment.reference = Some(reference.clone());
                    order.status = crate::order::OrderStatus::Paid;
                }
                self.approval = Some(reference);
                self.stage = Stage::Committing;
                self.commit_next()
            }
            Authorised::Declined { reason } => self.fail(DomainError::PaymentDeclined { reason }.into()),
            Authorised::Failed(error) => self.fail(error),
        }
    }

    fn committed<E: From<DomainError>>(&mut self, committed: Committed<E>) -> Step<E> {
        let current = self.next.saturating_sub(1);
        match committed {
            Committed::Committed => {
                self.done = self.next;
                self.commit_next()
            }
            Committed::Lost => {
                let hold = &self.commits[current];
                let error = DomainError::StockLost { line: hold.line.clone(), sku: hold.sku.clone() };
                self.fail(error.into())
            }
            Committed::Refused(error) => self.fail(error),
            Committed::Unknown(error) => {
                // The warehouse may still commit it: the uncommit queued behind it settles
                // either way.
                self.done = self.next;
                self.fail(error)
            }
        }
    }

    fn placed<E>(&mut self, placed: Placed<E>) -> Step<E> {
        match placed {
            Placed::Placed => {
                self.stage = Stage::Over;
                Step::Done { result: Ok(()), cleanup: Vec::new() }
            }
            Placed::NotRecorded(error) => self.fail(error),
            Placed::Unknown(error) => {
                // The order may be durable: nothing of it may be undone.
                self.stage = Stage::Over;
                Step::Done { result: Err(error), cleanup: Vec::new() }
            }
        }
    }

    /// The next hold to commit, or the order to place once every hold is committed.
    fn commit_next<E>(&mut self) -> Step<E> {
        if let Some(hold) = self.commits.get(self.next) {
            self.next += 1;
            return Step::Run(Effect::Commit(hold.clone()));
        }
        self.stage = Stage::Placing;
        let order = self.order.take().expect("the order is placed once");
        Step::Run(Effect::Place { order: Box::new(order), cart_events: std::mem::take(&mut self.cart_events) })
    }

    /// Ends the checkout with `error`, undoing the commits that may have happened and the
    /// approval.
    fn fail<E>(&mut self, error: E) -> Step<E> {
        self.stage = Stage::Over;
        let mut cleanup = Vec::new();
        if self.done > 0 {
            let holds = self.commits[..self.done].to_vec();
            cleanup.push(Effect::Uncommit { holds, expires_at: self.expires_at });
        }
        if let (Some(gateway), Some(reference)) = (&self.gateway, self.approval.take()) {
            cleanup.push(Effect::Void { gateway: gateway.clone(), reference });
        }
        Step::Done { result: Err(error), cleanup }
    }
}

/// An outcome's name, for the message of a programmer error.
#[derive(Debug)]
enum OutcomeKind {
    Authorised,
    Committed,
    Placed,
}

impl OutcomeKind {
    fn of<E>(outcome: &Outcome<E>) -> Self {
        match outcome {
            Outcome::Authorised(_) => OutcomeKind::Authorised,
            Outcome::Committed(_) => OutcomeKind::Committed,
            Outcome::Placed(_) => OutcomeKind::Placed,
        }
    }
}

/// Every hold of the cart, in line order, with its order-line key `{order}/{line}/{n}`.
fn commits(cart: &Cart, order: &str) -> Vec<HoldCommit> {
    cart.lines
        .values()
        .flat_map(|line| {
            line.holds.iter().enumerate().map(|(index, hold)| HoldCommit {
                line: line.id.clone(),
                sku: line.sku.clone(),
                warehouse: hold.warehouse.clone(),
                reservation: hold.reservation.clone(),
                quantity: hold.quantity,
                key: format!("{order}/{}/{}", line.id, index + 1),
            })
        })
        .collect()
}

/// The order the checkout places, its payment not yet approved.
fn build_order(
    request: &CheckoutRequest,
    cart: &Cart,
    commerce: &Commerce,
    now: Timestamp,
    quote: &crate::order::quote::Quote,
    payment: Payment,
    commits: &[HoldCommit],
) -> Result<Order, DomainError> {
    let id = request.order.as_str();
    let address = cart.address.clone().ok_or(DomainError::AddressRequired)?;
    let delivery = cart.delivery.clone().ok_or(DomainError::DeliveryRequired)?;
    let quoted = quote.delivery.as_ref().ok_or(DomainError::DeliveryRequired)?;
    let company =
        commerce.config().invoicing_companies.iter().find(|c| c.code == quote.priced.invoicing_company).ok_or_else(
            || DomainError::NoInvoicingCompany {
                channel: cart.context.channel.clone(),
                country: address.country.clone(),
            },
        )?;
    let lines: Vec<_> = cart.lines.values().collect();
    let units = sourced(commerce, &lines);
    let language = &cart.context.language;
    let names = |sku: &str| {
        commerce
            .product(sku)
            .and_then(|p| p.name_in(language, &commerce.config().default_language))
            .map(|(_, name)| name.to_owned())
            .unwrap_or_default()
    };
    let allocations = commits
        .iter()
        .map(|c| {
            (
                c.line.clone(),
                Allocation {
                    warehouse: c.warehouse.clone(),
                    key: c.key.clone(),
                    quantity: c.quantity,
                    shipped: 0,
                    released: 0,
                },
            )
        })
        .collect();
    Ok(place(crate::order::Checkout {
        id: id.to_owned(),
        cart,
        now,
        address,
        delivery,
        invoicing_company: company,
        totals: quote.totals.clone(),
        shipments: shipments_of(quoted, &units, commerce),
        allocations,
        payment,
        names: &names,
        sellers: &|sku: &str| {
            let merchant = commerce.seller(sku)?.to_owned();
            let commission = commerce.commission(sku, &cart.context.currency)?;
            Some(crate::order::Seller { merchant, commission })
        },
        shipping_tax_rate: quote.priced.shipping_tax.as_ref().map(|(_, rate)| *rate),
        by: request.by.clone(),
    }))
}

/// A pick-up's parcels: each (merchant, center) the units come from, in the centers' order.
fn parcels<'a>(centers: &'a [String], units: &[Sourced], commerce: &'a Commerce) -> Vec<(Option<&'a str>, &'a String)> {
    let mut parcels = Vec::new();
    for center in centers {
        for unit in units.iter().filter(|u| u.center == *center) {
            let parcel = (commerce.seller(&unit.sku), center);
            if !parcels.contains(&parcel) {
                parcels.push(parcel);
            }
        }
    }
    parcels
}

fn shipment_status(awaiting: bool) -> ShipmentStatus {
    if awaiting {
        ShipmentStatus::AwaitingStock
    } else {
        ShipmentStatus::Ready
    }
}

/// The order's shipments from the quoted delivery: one per planned home shipment, or for
/// a pick-up, one parcel per merchant and logistic center the units leave from (a
/// shipment never mixes merchants).
fn shipments_of(delivery: &QuotedDelivery, units: &[Sourced], commerce: &Commerce) -> Vec<OrderShipment> {
    match delivery {
        QuotedDelivery::Home(quoted) => quoted
            .iter()
            .map(|(shipment, option)| OrderShipment {
                id: shipment.id.clone(),
                center: shipment.center.clone(),
                carrier: Some(option.carrier.clone()),
                shipping_type: Some(option.shipping_type.clone()),
                pickup_location: None,
                price: option.price,
                delivery_date: option.delivery_date,
                status: shipment_status(shipment.items.iter().any(|i| i.awaiting_stock)),
                items: shipment.items.clone(),
                tracking: Vec::new(),
                sent_at: None,
                delivered_at: None,
                carrier_status: None,
                carrier_events: Vec::new(),
            })
            .collect(),
        QuotedDelivery::Pickup { location, date, centers } => parcels(centers, units, commerce)
            .into_iter()
            .enumerate()
            .map(|(index, (seller, center))| {
                let items: Vec<ShipmentItem> = units
                    .iter()
                    .filter(|u| u.center == *center && commerce.seller(&u.sku) == seller)
                    .map(|u| ShipmentItem {
                        line: u.line.clone(),
                        sku: u.sku.clone(),
                        quantity: u.quantity,
                        ready_date: u.ready_date,
                        awaiting_stock: u.awaiting_stock,
                    })
                    .collect();
                OrderShipment {
                    id: format!("s{}", index + 1),
                    center: center.clone(),
                    carrier: None,
                    shipping_type: None,
                    pickup_location: Some(location.clone()),
                    price: Decimal::ZERO,
                    delivery_date: *date,
                    status: shipment_status(items.iter().any(|i| i.awaiting_stock)),
                    items,
                    tracking: Vec::new(),
                    sent_at: None,
                    delivered_at: None,
                    carrier_status: None,
                    carrier_events: Vec::new(),
                }
            })
            .collect(),
    }
}
