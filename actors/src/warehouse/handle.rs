//! How the rest of the node reaches a warehouse: `WarehouseHandle` (its gate: a bound on
//! requests waiting, answered busy beyond it) and `Warehouses`, a commerce's warehouses by
//! code.

use super::*;

/// Units one warehouse is asked to reserve for a holder (a cart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    pub warehouse: String,
    pub reservation: String,
    pub sku: String,
    pub quantity: u32,
}

/// A place in a warehouse's mailbox, held by a request from the moment it is sent until
/// the actor takes it up (or drops it, when its caller gave up first).
pub struct Ticket {
    pub(super) waiting: Arc<AtomicUsize>,
    pub(super) gauge: metrics::Gauge,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        self.gauge.decrement(1.0);
    }
}

/// A request admitted through a warehouse's gate.
pub struct Gated<M> {
    pub message: M,
    pub ticket: Ticket,
}

impl<M: Message> Message for Gated<M> {
    type Result = M::Result;
}

/// Each request a route sends through the gate: its place is given back as the actor takes
/// it up, then it is handled as itself.
macro_rules! gated {
    ($($message:ty),*) => {$(
        impl Handler<Gated<$message>> for WarehouseActor {
            type Result = <Self as Handler<$message>>::Result;

            fn handle(&mut self, gated: Gated<$message>, ctx: &mut Self::Context) -> Self::Result {
                let Gated { message, ticket } = gated;
                drop(ticket);
                <Self as Handler<$message>>::handle(self, message, ctx)
            }
        }
    )*};
}

gated!(Execute, ExecuteAll, ExecuteAndView, ExecuteQueued, GetStock, GetAvailability, PeekAvailability);

/// A warehouse actor with the gate that keeps requests within its mailbox: a request is
/// refused at once (`ActorError::Busy`) rather than queued to wait for room.
#[derive(Clone)]
pub struct WarehouseHandle {
    pub addr: Addr<WarehouseActor>,
    /// The warehouse's code, for the refusal that names it.
    pub(super) warehouse: Arc<str>,
    pub(super) waiting: Arc<AtomicUsize>,
    /// `mercato_mailbox_waiting`: requests sent and not yet taken up.
    pub(super) gauge: metrics::Gauge,
}

impl WarehouseHandle {
    /// A gate without a metric (tests).
    pub fn new(addr: Addr<WarehouseActor>, warehouse: &str) -> Self {
        Self {
            addr,
            warehouse: Arc::from(warehouse),
            waiting: Arc::new(AtomicUsize::new(0)),
            gauge: metrics::Gauge::noop(),
        }
    }

    /// A gate whose depth is published as `mercato_mailbox_waiting{commerce, warehouse}`.
    pub fn metered(addr: Addr<WarehouseActor>, commerce: &str, warehouse: &str) -> Self {
        let labels = [("commerce", commerce.to_owned()), ("warehouse", warehouse.to_owned())];
        Self { gauge: metrics::gauge!("mercato_mailbox_waiting", &labels), ..Self::new(addr, warehouse) }
    }

    /// Sends a request if the mailbox has room for it.
    pub fn send<M>(&self, message: M) -> Result<actix::dev::Request<WarehouseActor, Gated<M>>, ActorError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        WarehouseActor: Handler<Gated<M>>,
    {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= WAREHOUSE_MAILBOX_CAPACITY_MAX {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ActorError::Busy(self.warehouse.to_string()));
        }
        self.gauge.increment(1.0);
        let ticket = Ticket { waiting: Arc::clone(&self.waiting), gauge: self.gauge.clone() };
        Ok(self.addr.send(Gated { message, ticket }))
    }

    /// Requests sent and not yet taken up (the mailbox depth, as far as requests go).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

/// The warehouse actors of one commerce, by code.
#[derive(Clone, Default)]
pub struct Warehouses {
    pub(super) actors: Arc<BTreeMap<String, WarehouseHandle>>,
}

impl Warehouses {
    pub fn new(actors: BTreeMap<String, WarehouseHandle>) -> Self {
        Self { actors: Arc::new(actors) }
    }

    pub fn get(&self, code: &str) -> Option<&Addr<WarehouseActor>> {
        self.actors.get(code).map(|handle| &handle.addr)
    }

    /// The warehouse with its gate, for requests that must not wait for mailbox room.
    pub fn handle(&self, code: &str) -> Option<&WarehouseHandle> {
        self.actors.get(code)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Addr<WarehouseActor>)> {
        self.actors.iter().map(|(code, handle)| (code.as_str(), &handle.addr))
    }

    /// Reserves every request or none. Requests run one at a time in a fixed order
    /// (warehouse, then reservation id), so two holders wanting the same units always meet
    /// in the same warehouse first; when one is refused, the ones already made are released
    /// before the error returns, so no unit is left held.
    pub async fn reserve_all(
        &self,
        mut requests: Vec<ReserveRequest>,
        expires_at: Timestamp,
    ) -> Result<Vec<Reservation>, ActorError> {
        requests.sort_by(|a, b| a.warehouse.cmp(&b.warehouse).then_with(|| a.reservation.cmp(&b.reservation)));
        let mut made: Vec<(&Addr<WarehouseActor>, Reservation)> = Vec::new();
        let mut failure = None;
        for request in &requests {
            let Some(addr) = self.get(&request.warehouse) else {
                failure = Some(ActorError::Unavailable(request.warehouse.clone()));
                break;
            };
            let command = InventoryCommand::Reserve {
                reservation: request.reservation.clone(),
                sku: request.sku.clone(),
                quantity: request.quantity,
                expires_at,
            };
            match addr.send(Execute(command)).await {
                Ok(Ok(events)) => {
                    let reservation = events.into_iter().find_map(|event| match event {
                        InventoryEvent::StockReserved { reservation } => Some(reservation),
                        _ => None,
                    });
                    made.extend(reservation.map(|r| (addr, r)));
                }
                Ok(Err(error)) => {
                    failure = Some(error);
                    break;
                }
                Err(_) => {
                    failure = Some(ActorError::Unavailable(request.warehouse.clone()));
                    break;
                }
            }
        }
        let Some(failure) = failure else {
            return Ok(made.into_iter().map(|(_, reservation)| reservation).collect());
        };
        for (addr, reservation) in made.into_iter().rev() {
            let release = InventoryCommand::ReleaseReservation { reservation: reservation.id.clone() };
            // A reservation that expired meanwhile is already released; nothing else can fail.
            if let Ok(Err(error)) = addr.send(Execute(release)).await {
                tracing::debug!(reservation = %reservation.id, %error, "rollback found the reservation gone");
            }
        }
        Err(failure)
    }
}
