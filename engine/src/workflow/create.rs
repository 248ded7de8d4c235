//! A cart created whole (its lines, address and delivery in the creating request: a "buy
//! now") and a purchase in one request (the same, then its checkout), as a state machine
//! over the cart's own changes, so such a cart is made exactly as one filled step by step.
//!
//! The parts are checked before the cart is opened (`Creation::new`), then applied in
//! order (`Effect::Apply`): lines, address, delivery, checkout. Only the last part carries
//! the request's idempotency key, so the answer kept under it is the finished cart (or
//! the order); every part before it answers once its record is queued, since the log
//! acknowledges the last part's record only after theirs. When a part fails, the
//! half-made cart is ended (`Effect::Abandon`: nothing stays held) and the key is freed
//! once the end is durable, except where the failed part carried the key and its outcome
//! is unknown: it may yet finish and keep its answer for a retry to replay. Such a part
//! that would leave the cart open is left alone; a checkout is followed by the abandon all
//! the same (queued behind it, the abandon is refused if the order was placed), so a
//! purchase whose client never learnt the cart's id does not keep its units off sale.

use crate::cart::{DeliveryChoice, ShippingAddress, CART_LINES_MAX};
use crate::error::DomainError;

/// One part of the creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Line {
        sku: String,
        quantity: u32,
    },
    Address(Box<ShippingAddress>),
    Delivery(DeliveryChoice),
    /// The checkout that ends a purchase in one request (the shell holds its payment).
    CheckOut,
}

/// How a part answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answering {
    /// Once its record is queued: a part before the last.
    Queued,
    /// Once durable, keeping its answer under the request's key: the last part.
    Keyed,
    /// Once durable: the last part of a request without a key.
    Durable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Apply the part to the cart: `Outcome::Applied` or `Outcome::Failed`.
    Apply { part: Part, answering: Answering },
    /// End the half-made cart: `Outcome::Abandoned`.
    Abandon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// The part was refused or failed (the shell keeps why); `nothing_changed` says
    /// whether it certainly did not happen.
    Failed {
        nothing_changed: bool,
    },
    /// Whether the cart is durably ended.
    Abandoned {
        ended: bool,
    },
}

/// How the creation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// Every part applied: the last part's answer is the answer.
    Made,
    /// A part failed (its refusal is the answer); `free_key`: the request's key may be
    /// used again (nothing of it will ever be kept under it).
    Failed { free_key: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Run(Effect),
    Done(Created),
}

/// One cart's creation.
#[derive(Debug, Clone)]
pub struct Creation {
    parts: Vec<Part>,
    keyed: bool,
    next: usize,
    /// The failed part's facts while the cart is abandoned: whether the key stays.
    abandoning: Option<bool>,
}

impl Creation {
    /// The creation of `parts` (`keyed`: the request carries an idempotency key), checked as
    /// a whole before anything is made: at most `CART_LINES_MAX` lines; a delivery needs
    /// lines and an address; a checkout needs all three. Parts come in any order and are
    /// applied lines, address, delivery, checkout.
    pub fn new(parts: Vec<Part>, keyed: bool) -> Result<Self, DomainError> {
        Self::check(&parts)?;
        let mut parts = parts;
        parts.sort_by_key(|part| match part {
            Part::Line { .. } => 0,
            Part::Address(_) => 1,
            Part::Delivery(_) => 2,
            Part::CheckOut => 3,
        });
        Ok(Self { parts, keyed, next: 0, abandoning: None })
    }

    /// The checks of `new`, for a shell that refuses parts before it opens anything.
    pub fn check(parts: &[Part]) -> Result<(), DomainError> {
        let lines = parts.iter().filter(|p| matches!(p, Part::Line { .. })).count();
        let has = |wanted: fn(&Part) -> bool| parts.iter().any(wanted);
        let address = has(|p| matches!(p, Part::Address(_)));
        let delivery = has(|p| matches!(p, Part::Delivery(_)));
        let checkout = has(|p| matches!(p, Part::CheckOut));
        if lines > CART_LINES_MAX {
            return Err(DomainError::CartLinesExceeded { max: CART_LINES_MAX });
        }
        if (delivery || checkout) && lines == 0 {
            return Err(DomainError::CartEmpty);
        }
        if (delivery || checkout) && !address {
            return Err(DomainError::AddressRequired);
        }
        if checkout && !delivery {
            return Err(DomainError::DeliveryRequired);
        }
        Ok(())
    }

    /// Whether there is anything to apply after opening the cart.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The first part to apply (or, with none, the end).
    pub fn start(&mut self) -> Step {
        self.apply_next()
    }

    /// Takes the outcome of the effect the last step asked for.
    pub fn resume(&mut self, outcome: Outcome) -> Step {
        match (outcome, self.abandoning) {
            (Outcome::Applied, None) => self.apply_next(),
            (Outcome::Failed { nothing_changed }, None) => self.failed(nothing_changed),
            (Outcome::Abandoned { ended }, Some(keeps_key)) => {
                Step::Done(Created::Failed { free_key: ended && !keeps_key })
            }
            (outcome, abandoning) => panic!("create: {outcome:?} when abandoning is {abandoning:?}"),
        }
    }

    fn apply_next(&mut self) -> Step {
        let Some(part) = self.parts.get(self.next).cloned() else { return Step::Done(Created::Made) };
        self.next += 1;
        let answering = match (self.next == self.parts.len(), self.keyed) {
            (false, _) => Answering::Queued,
            (true, true) => Answering::Keyed,
            (true, false) => Answering::Durable,
        };
        Step::Run(Effect::Apply { part, answering })
    }

    /// The part just applied failed: end the half-made cart unless the part carried the
    /// key, may still finish, and would leave the cart open.
    fn failed(&mut self, nothing_changed: bool) -> Step {
        let last = self.next == self.parts.len();
        let keeps_key = self.keyed && last && !nothing_changed;
        let ends_cart = matches!(self.parts.get(self.next.wrapping_sub(1)), Some(Part::CheckOut));
        if keeps_key && !ends_cart {
            return Step::Done(Created::Failed { free_key: false });
        }
        self.abandoning = Some(keeps_key);
        Step::Run(Effect::Abandon)
    }
}
