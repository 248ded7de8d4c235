//! Holding a cart line's units, as a state machine: the candidate warehouses (the
//! channel's, whose logistic center delivers to the destination), what each has of the SKU
//! now (`Effect::Availability`), source selection, then one reservation per warehouse
//! (`Effect::Reserve`), all or nothing: after a refusal the reservations made are let go
//! (`Effect::Release`, which the shell awaits), and a shortfall (availability changed
//! between the read and the reservation) is tried once more with fresh figures.
//!
//! With multi-shipment off every unit of a cart comes from one logistic center. A line
//! that grows holds its new units in the cart's center. A new line is held in the cart's
//! center when that center can serve it; when it cannot, what each center could give the
//! whole cart is surveyed (availability of every SKU of the cart, plus the cart's own
//! holds there), the first center in the channel's priority that can serve it all is
//! chosen (`delivery::single_center`, whose refusal names each line and its centers), and
//! every line is held there anew, then the new one; the caller records the moves with the
//! new line and lets the old holds go after.
//!
//! The machine calls nobody: the shell runs each effect and feeds the outcome back with
//! `resume`. Reservation ids are `{cart}/{line}/{token}`; the shell adds the token.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::cart::{Hold, Supply, LOW_STOCK_UNITS};
use crate::commerce::model::Place;
use crate::commerce::Commerce;
use crate::delivery::single_center;
use crate::error::DomainError;
use crate::inventory::{candidate_warehouses, select_sources, Availability, Candidate, Timestamp};

/// Where a line's units may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Multi-shipment on: any candidate warehouse.
    Anywhere,
    /// Only the warehouses of this logistic center (a line growing with multi-shipment off).
    Center(String),
    /// A new line with multi-shipment off: the cart's center if it can serve it, else the
    /// whole cart moves; these are the cart's lines (id, SKU, quantity, holds).
    OneCenter { lines: Vec<(String, String, u32, Vec<Hold>)> },
}

/// What to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    pub cart: String,
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    pub channel: String,
    pub destination: Place,
    pub expires_at: Timestamp,
    pub today: NaiveDate,
    pub mode: Mode,
}

/// What the shell runs for the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// What these warehouses have now of these SKUs: `Outcome::Availability`.
    Availability { warehouses: Vec<String>, skus: Vec<String> },
    /// Reserve in one warehouse, under an id starting with `prefix`: `Outcome::Reserved`.
    Reserve { warehouse: String, prefix: String, sku: String, quantity: u32, expires_at: Timestamp },
    /// Let these holds go, then answer `Outcome::Released`.
    Release { holds: Vec<Hold> },
}

/// How a warehouse answered a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved<E> {
    /// Held, as the warehouse's reservation made it.
    Held(Hold),
    /// The engine refused it (a shortfall among others): nothing was held.
    Refused(DomainError),
    /// It could not be asked, or did not answer: the shell's own error.
    Failed(E),
}

/// What warehouses answered an availability read: per warehouse, its availability by SKU.
pub type Found = Vec<(String, BTreeMap<String, Availability>)>;

/// An effect's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<E> {
    /// Per warehouse asked (and answering), its availability by SKU.
    Availability(Result<Found, E>),
    Reserved(Reserved<E>),
    Released,
}

/// What the line got: its new holds, the units left when they came from stock running
/// out, and the lines moved to the one center with their new holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Held {
    pub holds: Vec<Hold>,
    pub low_stock: Option<u32>,
    pub moved: Vec<(String, Vec<Hold>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<E> {
    Run(Effect),
    Done(Result<Held, E>),
}

/// Why holding one SKU failed: a refusal the machine may act on, or the shell's error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure<E> {
    Refused(DomainError),
    Failed(E),
}

impl<E: From<DomainError>> Failure<E> {
    fn into_error(self) -> E {
        match self {
            Failure::Refused(error) => error.into(),
            Failure::Failed(error) => error,
        }
    }
}

impl<E> Failure<E> {
    fn is_shortfall(&self) -> bool {
        matches!(self, Failure::Refused(DomainError::InsufficientStock { .. }))
    }
}

/// Holding one SKU's units in some warehouses, with one retry after a shortfall.
#[derive(Debug, Clone)]
struct Reserving<E> {
    sku: String,
    quantity: u32,
    prefix: String,
    expires_at: Timestamp,
    today: NaiveDate,
    candidates: Vec<(String, String)>,
    attempt: u8,
    queue: Vec<(String, u32)>,
    holds: Vec<Hold>,
    on_hand: u64,
    /// Set while the holds made are let go: what comes after.
    releasing: Option<Option<Failure<E>>>,
}

/// A step of a `Reserving`: an effect, or its result.
enum Sub<E> {
    Run(Effect),
    Done(Result<(Vec<Hold>, Option<u32>), Failure<E>>),
}

impl<E: std::fmt::Debug> Reserving<E> {
    fn new(request: &HoldRequest, line: &str, sku: &str, quantity: u32, candidates: Vec<(String, String)>) -> Self {
        Self {
            sku: sku.to_owned(),
            quantity,
            prefix: format!("{}/{line}", request.cart),
            expires_at: request.expires_at,
            today: request.today,
            candidates,
            attempt: 0,
            queue: Vec::new(),
            holds: Vec::new(),
            on_hand: 0,
            releasing: None,
        }
    }

    fn start(&mut self) -> Sub<E> {
        self.attempt += 1;
        self.holds.clear();
        let warehouses = self.candidates.iter().map(|(warehouse, _)| warehouse.clone()).collect();
        Sub::Run(Effect::Availability { warehouses, skus: vec![self.sku.clone()] })
    }

    fn resume(&mut self, outcome: Outcome<E>) -> Sub<E> {
        match outcome {
            Outcome::Availability(Ok(found)) => self.select(found),
            Outcome::Availability(Err(error)) => Sub::Done(Err(Failure::Failed(error))),
            Outcome::Reserved(Reserved::Held(hold)) => {
                self.holds.push(hold);
                self.reserve_next()
            }
            Outcome::Reserved(Reserved::Refused(error)) => self.release(Failure::Refused(error)),
            Outcome::Reserved(Reserved::Failed(error)) => self.release(Failure::Failed(error)),
            Outcome::Released => match self.releasing.take() {
                Some(Some(failure)) => self.after_release(failure),
                _ => panic!("hold: released when nothing was let go"),
            },
        }
    }

    /// Source selection over what the candidates have, then the first reservation.
    fn select(&mut self, found: Found) -> Sub<E> {
        let candidates: Vec<Candidate> = self
            .candidates
            .iter()
            .filter_map(|(warehouse, center)| {
                let (_, stock) = found.iter().find(|(w, _)| w == warehouse)?;
                let availability = stock.get(&self.sku)?.clone();
                Some(Candidate {
                    warehouse: warehouse.clone(),
                    logistic_center: center.clone(),
                    stock: BTreeMap::from([(self.sku.clone(), availability)]),
                })
            })
            .collect();
        if candidates.is_empty() {
            let error =
                DomainError::InsufficientStock { sku: self.sku.clone(), requested: self.quantity, available: 0 };
            return Sub::Done(Err(Failure::Refused(error)));
        }
        self.on_hand = candidates.iter().flat_map(|c| c.stock.values()).map(|a| u64::from(a.now)).sum();
        let assignments = match select_sources(&candidates, &[(self.sku.clone(), self.quantity)], self.today) {
            Ok(assignments) => assignments,
            Err(error) => return Sub::Done(Err(Failure::Refused(error))),
        };
        let mut per_warehouse: Vec<(String, u32)> = Vec::new();
        for assignment in assignments {
            match per_warehouse.iter_mut().find(|(w, _)| *w == assignment.warehouse) {
                Some((_, quantity)) => *quantity = quantity.saturating_add(assignment.quantity),
                None => per_warehouse.push((assignment.warehouse, assignment.quantity)),
            }
        }
        per_warehouse.reverse();
        self.queue = per_warehouse;
        self.reserve_next()
    }

    fn reserve_next(&mut self) -> Sub<E> {
        match self.queue.pop() {
            Some((warehouse, quantity)) => Sub::Run(Effect::Reserve {
                warehouse,
                prefix: self.prefix.clone(),
                sku: self.sku.clone(),
                quantity,
                expires_at: self.expires_at,
            }),
            None => {
                let low_stock = self.low_stock();
                Sub::Done(Ok((std::mem::take(&mut self.holds), low_stock)))
            }
        }
    }

    /// When the units came from stock that is running out, the units left.
    fn low_stock(&self) -> Option<u32> {
        let from_stock: u64 = self
            .holds
            .iter()
            .flat_map(|h| &h.parts)
            .filter(|p| p.supply == Supply::InStock)
            .map(|p| u64::from(p.quantity))
            .sum();
        let left = u32::try_from(self.on_hand.saturating_sub(from_stock)).unwrap_or(u32::MAX);
        (from_stock > 0 && left <= LOW_STOCK_UNITS).then_some(left)
    }

    /// Lets the holds made go before `failure` ends (or retries) the attempt.
    fn release(&mut self, failure: Failure<E>) -> Sub<E> {
        self.queue.clear();
        let holds = std::mem::take(&mut self.holds);
        if holds.is_empty() {
            return self.after_release(failure);
        }
        self.releasing = Some(Some(failure));
        Sub::Run(Effect::Release { holds })
    }

    /// A shortfall is tried once more with fresh figures; anything else ends the attempt.
    fn after_release(&mut self, failure: Failure<E>) -> Sub<E> {
        if failure.is_shortfall() && self.attempt < 2 {
            self.start()
        } else {
            Sub::Done(Err(failure))
        }
    }
}

/// Where a `Holding` is.
#[derive(Debug, Clone)]
enum Stage<E> {
    /// Holding the line's units (with multi-shipment off: first in the cart's center).
    Direct {
        reserving: Reserving<E>,
        fall_back: bool,
    },
    /// Reading what every center could give the whole cart.
    Survey,
    /// Holding the cart's lines anew in `center`, one by one, then the new line.
    Moving {
        center: String,
        next: usize,
        reserving: Reserving<E>,
        moved: Vec<(String, Vec<Hold>)>,
    },
    /// Letting the moved lines' new holds go after a failure.
    Unwinding(Option<E>),
    Over,
}

/// Holding one cart line's units.
#[derive(Debug, Clone)]
pub struct Holding<E> {
    commerce: Arc<Commerce>,
    request: HoldRequest,
    /// The cart's current logistic center (with multi-shipment off).
    current: Option<String>,
    candidates: Vec<(String, String)>,
    stage: Stage<E>,
}

impl<E: From<DomainError> + std::fmt::Debug> Holding<E> {
    /// The first effect: the candidates' availability (of the cart's center, when there is
    /// one, with multi-shipment off).
    pub fn start(request: HoldRequest, commerce: Arc<Commerce>) -> (Self, Step<E>) {
        let candidates = candidate_warehouses(&commerce, &request.channel, &request.destination);
        let center_of = |warehouse: &str| commerce.warehouse(warehouse).map(|w| w.logistic_center.clone());
        let (only, fall_back, current) = match &request.mode {
            Mode::Anywhere => (None, false, None),
            Mode::Center(center) => (Some(center.clone()), false, Some(center.clone())),
            Mode::OneCenter { lines } => {
                let current = lines.iter().flat_map(|(_, _, _, holds)| holds).find_map(|h| center_of(&h.warehouse));
                (current.clone(), true, current)
            }
        };
        let mut machine = Self { commerce, request, current, candidates, stage: Stage::Over };
        if fall_back && only.is_none() {
            // An empty cart with multi-shipment off: straight to the survey.
            let step = machine.survey();
            return (machine, step);
        }
        let within = machine.within(only.as_deref());
        let request = &machine.request;
        let mut reserving = Reserving::new(request, &request.line, &request.sku, request.quantity, within);
        let sub = reserving.start();
        machine.stage = Stage::Direct { reserving, fall_back };
        let step = machine.sub_step(sub);
        (machine, step)
    }

    /// The candidates, or those of one center.
    fn within(&self, center: Option<&str>) -> Vec<(String, String)> {
        let mut candidates = self.candidates.clone();
        if let Some(center) = center {
            candidates.retain(|(_, c)| c == center);
        }
        candidates
    }

    /// Takes the outcome of the effect the last step asked for.
    pub fn resume(&mut self, outcome: Outcome<E>) -> Step<E> {
        match &mut self.stage {
            Stage::Direct { reserving, .. } | Stage::Moving { reserving, .. } => {
                let sub = reserving.resume(outcome);
                self.sub_step(sub)
            }
            Stage::Survey => match outcome {
                Outcome::Availability(Ok(found)) => self.choose_center(found),
                Outcome::Availability(Err(error)) => self.done(Err(error)),
                other => panic!("hold: {other:?} does not answer the survey"),
            },
            Stage::Unwinding(error) => match (outcome, error.take()) {
                (Outcome::Released, Some(error)) => self.done(Err(error)),
                (other, _) => panic!("hold: {other:?} does not answer the unwinding"),
            },
            Stage::Over => panic!("hold: an outcome after the end"),
        }
    }

    fn done(&mut self, result: Result<Held, E>) -> Step<E> {
        self.stage = Stage::Over;
        Step::Done(result)
    }

    /// What a `Reserving` step means in the current stage.
    fn sub_step(&mut self, sub: Sub<E>) -> Step<E> {
        let result = match sub {
            Sub::Run(effect) => return Step::Run(effect),
            Sub::Done(result) => result,
        };
        let lines_to_move = self.lines().len();
        let next_line = |next: usize| match &self.request.mode {
            Mode::OneCenter { lines } => lines.get(next).map(|(line, _, _, _)| line.clone()),
            _ => None,
        };
        let moving_line = match &self.stage {
            Stage::Moving { next, .. } => next_line(*next),
            _ => None,
        };
        match (&mut self.stage, result) {
            (Stage::Direct { .. }, Ok((holds, low_stock))) => {
                self.done(Ok(Held { holds, low_stock, moved: Vec::new() }))
            }
            (Stage::Direct { fall_back: true, .. }, Err(failure)) if failure.is_shortfall() => self.survey(),
            (Stage::Direct { .. }, Err(failure)) => self.done(Err(failure.into_error())),
            (Stage::Moving { next, moved, .. }, Ok((holds, low_stock))) => {
                if *next < lines_to_move {
                    moved.push((moving_line.unwrap_or_default(), holds));
                    *next += 1;
                    self.move_next()
                } else {
                    let moved = std::mem::take(moved);
                    self.done(Ok(Held { holds, low_stock, moved }))
                }
            }
            (Stage::Moving { moved, .. }, Err(failure)) => {
                let made: Vec<Hold> = std::mem::take(moved).into_iter().flat_map(|(_, holds)| holds).collect();
                if made.is_empty() {
                    return self.done(Err(failure.into_error()));
                }
                self.stage = Stage::Unwinding(Some(failure.into_error()));
                Step::Run(Effect::Release { holds: made })
            }
            (stage, _) => panic!("hold: a reservation ended in stage {stage:?}"),
        }
    }

    fn lines(&self) -> &[(String, String, u32, Vec<Hold>)] {
        match &self.request.mode {
            Mode::OneCenter { lines } => lines,
            _ => &[],
        }
    }

    /// Asks every candidate what it has of every SKU of the cart and the new line.
    fn survey(&mut self) -> Step<E> {
        let mut skus: Vec<String> = self.lines().iter().map(|(_, sku, _, _)| sku.clone()).collect();
        skus.push(self.request.sku.clone());
        skus.sort();
        skus.dedup();
        self.stage = Stage::Survey;
        let warehouses = self.candidates.iter().map(|(warehouse, _)| warehouse.clone()).collect();
        Step::Run(Effect::Availability { warehouses, skus })
    }

    /// The first center in priority that can serve the whole cart, from the survey and
    /// the cart's own holds; then the move (or, when it is the cart's own center after
    /// all, the line held there: the shortfall was a race).
    fn choose_center(&mut self, found: Found) -> Step<E> {
        let mut supply: BTreeMap<(String, String), u32> = BTreeMap::new();
        for (warehouse, center) in &self.candidates {
            let Some((_, stock)) = found.iter().find(|(w, _)| w == warehouse) else { continue };
            for (sku, availability) in stock {
                let units = availability.total().map_or(u32::MAX, |t| u32::try_from(t).unwrap_or(u32::MAX));
                let entry = supply.entry((center.clone(), sku.clone())).or_default();
                *entry = entry.saturating_add(units);
            }
        }
        let center_of = |warehouse: &str| self.candidates.iter().find(|(w, _)| w == warehouse).map(|(_, c)| c.clone());
        for (_, sku, _, holds) in self.lines() {
            for hold in holds {
                if let Some(center) = center_of(&hold.warehouse) {
                    let entry = supply.entry((center, sku.clone())).or_default();
                    *entry = entry.saturating_add(hold.quantity);
                }
            }
        }
        let request = &self.request;
        let mut wanted: Vec<(&str, &str, u32)> =
            self.lines().iter().map(|(line, sku, quantity, _)| (line.as_str(), sku.as_str(), *quantity)).collect();
        wanted.push((&request.line, &request.sku, request.quantity));
        let chosen = single_center(&self.commerce, &request.channel, &request.destination, &wanted, &supply);
        let center = match chosen {
            Ok(center) => center,
            Err(error) => return self.done(Err(error.into())),
        };
        let within = self.within(Some(&center));
        if self.current.as_deref() == Some(center.as_str()) {
            let request = &self.request;
            let mut reserving = Reserving::new(request, &request.line, &request.sku, request.quantity, within);
            let sub = reserving.start();
            self.stage = Stage::Direct { reserving, fall_back: false };
            return self.sub_step(sub);
        }
        let placeholder = Reserving::new(&self.request, "", "", 0, Vec::new());
        self.stage = Stage::Moving { center, next: 0, reserving: placeholder, moved: Vec::new() };
        self.move_next()
    }

    /// Holds the next line to move (or, once all moved, the new line) in the center.
    fn move_next(&mut self) -> Step<E> {
        let Stage::Moving { center, next, .. } = &self.stage else { panic!("hold: moving outside the move") };
        let within = self.within(Some(center));
        let request = &self.request;
        let (line, sku, quantity) = match self.lines().get(*next) {
            Some((line, sku, quantity, _)) => (line.clone(), sku.clone(), *quantity),
            None => (request.line.clone(), request.sku.clone(), request.quantity),
        };
        let mut fresh = Reserving::new(request, &line, &sku, quantity, within);
        let sub = fresh.start();
        if let Stage::Moving { reserving, .. } = &mut self.stage {
            *reserving = fresh;
        }
        self.sub_step(sub)
    }
}
