//! Payment gateways: the plugins checkout asks to approve a payment, and how they are
//! called. A real gateway is a network call that may take seconds, so no gateway that
//! makes an outside call runs on an actor's thread: each call runs on the runtime's
//! blocking pool, at most `GATEWAY_CALLS_MAX` at once, and the actor that asked waits for
//! it as for any other answer (only that cart waits; every other cart, warehouse and order
//! goes on). A plugin that answers from memory alone (`Gateway::is_local`: the sandbox)
//! is called where it is: a hop to another thread would cost more than its answer (a
//! sixth of a checkout, measured against the blocking pool).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::Semaphore;

use mercato_engine::workflow::checkout::{Authorisation, Authorised};

use crate::error::ActorError;

/// How long checkout waits for a gateway's answer before it gives up on the payment (an
/// approval that comes later is voided).
pub const GATEWAY_TIMEOUT: Duration = Duration::from_secs(20);
/// Gateway calls in flight at once across the node: each holds a thread of the blocking
/// pool, whose default size (512) this stays well under.
pub const GATEWAY_CALLS_MAX: usize = 128;

/// An online payment gateway plugin. Authorisation happens before checkout commits any
/// stock, so a decline leaves the cart and its reservations as they were; a checkout that
/// fails after an approval voids it. Calls may block (they run off the actors' threads).
pub trait Gateway: Send + Sync {
    /// Approves `amount` (in `currency`) for `order` against the customer's `token`: the
    /// gateway's reference, or why it declined.
    fn authorize(&self, order: &str, amount: Decimal, currency: &str, token: &str) -> Result<String, String>;
    /// Gives back an approval that was not used.
    fn void(&self, reference: &str);

    /// Pays back `amount` (in `currency`) of the approval `reference`, as refund `refund`
    /// (the same id again is the same refund, so a retry after a crash pays once): the
    /// gateway's reference for the refund, or why it was not made.
    fn refund(&self, reference: &str, refund: &str, amount: Decimal, currency: &str) -> Result<String, String> {
        let _ = (reference, amount, currency);
        Err(format!("this gateway cannot refund (refund {refund})"))
    }

    /// Whether the plugin answers from memory alone, with no outside call and no wait (the
    /// sandbox): only such a plugin runs where it is called. Every other (a network
    /// gateway) runs off the actors' threads.
    fn is_local(&self) -> bool {
        false
    }
}

/// The `sandbox` gateway: approves every token except those starting with `tok_decline`
/// (declined) and an empty one; the reference is `sandbox-` and the order's id.
#[derive(Default)]
pub struct Sandbox;

impl Gateway for Sandbox {
    fn authorize(&self, order: &str, amount: Decimal, currency: &str, token: &str) -> Result<String, String> {
        if token.trim().is_empty() {
            return Err("a payment token is required".into());
        }
        if token.starts_with("tok_decline") {
            return Err(format!("the sandbox declines token \"{token}\""));
        }
        if amount < Decimal::ZERO {
            return Err(format!("amount {amount} {currency} is negative"));
        }
        Ok(format!("sandbox-{order}"))
    }

    fn void(&self, reference: &str) {
        tracing::debug!(reference, "sandbox approval voided");
    }

    fn refund(&self, reference: &str, refund: &str, amount: Decimal, currency: &str) -> Result<String, String> {
        if amount <= Decimal::ZERO {
            return Err(format!("amount {amount} {currency} is not positive"));
        }
        tracing::debug!(reference, refund, %amount, currency, "sandbox refund");
        Ok(format!("sandbox-{refund}"))
    }

    /// A pure function of its arguments: calling it costs less than any hop to a thread.
    fn is_local(&self) -> bool {
        true
    }
}

/// A refund to ask a gateway for.
#[derive(Debug, Clone)]
pub struct RefundCall {
    /// The approval it pays back.
    pub reference: String,
    /// The refund's id.
    pub refund: String,
    pub amount: Decimal,
    pub currency: String,
}

/// The gateway plugins of a node, by the name configuration gives them.
#[derive(Clone)]
pub struct Gateways {
    plugins: HashMap<String, Arc<dyn Gateway>>,
    calls: Arc<Semaphore>,
}

impl Default for Gateways {
    /// The plugins this build provides (`mercato_engine::KNOWN_GATEWAYS`).
    fn default() -> Self {
        Self::empty().with("sandbox", Arc::new(Sandbox))
    }
}

impl Gateways {
    /// No plugin at all.
    pub fn empty() -> Self {
        Self { plugins: HashMap::new(), calls: Arc::new(Semaphore::new(GATEWAY_CALLS_MAX)) }
    }

    /// These plugins and `plugin` under `name` (a test's own gateway, say).
    pub fn with(mut self, name: &str, plugin: Arc<dyn Gateway>) -> Self {
        self.plugins.insert(name.to_owned(), plugin);
        self
    }

    /// Asks the gateway to approve a payment, off the caller's thread, for at most
    /// `GATEWAY_TIMEOUT` in all (waiting for a place among the calls included). An answer
    /// that comes after that is given up on: if it is an approval, it is voided.
    pub async fn authorise(&self, authorisation: Authorisation) -> Authorised<ActorError> {
        let name = authorisation.gateway.clone();
        let Some(plugin) = self.plugins.get(&name).cloned() else {
            return Authorised::Failed(ActorError::Gateway(name));
        };
        if plugin.is_local() {
            let Authorisation { order, amount, currency, token, .. } = &authorisation;
            return match plugin.authorize(order, *amount, currency, token) {
                Ok(reference) => Authorised::Approved { reference },
                Err(reason) => Authorised::Declined { reason },
            };
        }
        // One deadline for the whole call, the wait for a place among the calls included.
        let deadline = tokio::time::Instant::now() + GATEWAY_TIMEOUT;
        let Ok(Ok(permit)) = tokio::time::timeout_at(deadline, Arc::clone(&self.calls).acquire_owned()).await else {
            tracing::warn!(gateway = %name, "no place among the gateway calls in time");
            return Authorised::Failed(ActorError::Gateway(name));
        };
        let approving = Arc::clone(&plugin);
        let mut call = crate::spawn_blocking(move || {
            let _permit = permit;
            let Authorisation { order, amount, currency, token, .. } = authorisation;
            approving.authorize(&order, amount, &currency, &token)
        });
        match tokio::time::timeout_at(deadline, &mut call).await {
            Ok(Ok(Ok(reference))) => Authorised::Approved { reference },
            Ok(Ok(Err(reason))) => Authorised::Declined { reason },
            Ok(Err(error)) => {
                tracing::error!(gateway = %name, %error, "a payment gateway call failed");
                Authorised::Failed(ActorError::Gateway(name))
            }
            Err(_) => {
                tracing::warn!(gateway = %name, "a payment gateway did not answer in time; its answer is given up on");
                tokio::spawn(async move {
                    if let Ok(Ok(reference)) = call.await {
                        Self::void_on(plugin, reference).await;
                    }
                });
                Authorised::Failed(ActorError::Gateway(name))
            }
        }
    }

    /// Gives back an approval that was not used, off the caller's thread (a local plugin
    /// where it is called).
    pub async fn void(&self, gateway: &str, reference: String) {
        match self.plugins.get(gateway).cloned() {
            Some(plugin) if plugin.is_local() => plugin.void(&reference),
            Some(plugin) => Self::void_on(plugin, reference).await,
            None => tracing::warn!(gateway, reference, "an approval could not be voided: no such gateway"),
        }
    }

    /// Asks the gateway to pay a refund back, off the caller's thread and within
    /// `GATEWAY_TIMEOUT` (a local plugin where it is called): its reference, or why not.
    /// A refund not answered in time stays pending and is asked again (same id) later.
    pub async fn refund(&self, gateway: &str, refund: RefundCall) -> Result<String, String> {
        let Some(plugin) = self.plugins.get(gateway).cloned() else {
            return Err(format!("no payment gateway \"{gateway}\""));
        };
        if plugin.is_local() {
            return plugin.refund(&refund.reference, &refund.refund, refund.amount, &refund.currency);
        }
        let deadline = tokio::time::Instant::now() + GATEWAY_TIMEOUT;
        let Ok(Ok(permit)) = tokio::time::timeout_at(deadline, Arc::clone(&self.calls).acquire_owned()).await else {
            return Err("no place among the gateway calls in time".into());
        };
        let call = crate::spawn_blocking(move || {
            let _permit = permit;
            plugin.refund(&refund.reference, &refund.refund, refund.amount, &refund.currency)
        });
        match tokio::time::timeout_at(deadline, call).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => Err(format!("the gateway call failed: {error}")),
            Err(_) => Err("the gateway did not answer in time".into()),
        }
    }

    async fn void_on(plugin: Arc<dyn Gateway>, reference: String) {
        if let Err(error) = crate::spawn_blocking(move || plugin.void(&reference)).await {
            tracing::error!(%error, "a payment gateway's void failed");
        }
    }
}
