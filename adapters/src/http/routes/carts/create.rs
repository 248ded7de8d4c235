//! `POST …/carts`: a cart for a visit's context, or created whole (lines, address,
//! delivery) as one task on the carts' arbiter.

use super::*;

#[utoipa::path(
    tag = "carts",
    summary = "Creates a cart for a visit (its context is resolved from it), optionally with its lines, address and delivery; a refused part ends the cart and holds nothing.",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; 24 hours, per API key.")
    ),
    request_body = CreateCartBody,
    responses(
        (status = 201, description = "Success", body = CartDto),
        Refusals
    )
)]
#[post("/v1/commerces/{commerce}/carts")]
pub async fn create_cart(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<CreateCartBody>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let commerce = handle.snapshot();
    let mut body = body.into_inner();
    let stamp = idempotency::stamp(&request, &principal, &body)?;
    let parts = Parts::of(&mut body, handle)?;
    let context = visit_context(handle, &commerce, body)?;
    let stamp = match begin(&state, handle, stamp)? {
        Ok(stamp) => stamp,
        Err(answer) => return Ok(idempotency::replay(answer)),
    };
    let today = handle.clock().today();
    let respond = respond_with(std::sync::Arc::clone(&commerce), today, StatusCode::CREATED, false);
    let reply = if parts.is_empty() {
        let remember = stamp.map(|stamp| CartRemember { stamp, frees_key: true, respond });
        handle.carts().open(context, remember.into()).await?
    } else {
        create_whole(&state, handle, context, parts, stamp, respond).await?
    };
    Ok(answer(&reply, &commerce, today, StatusCode::CREATED, false))
}

/// The cart's context, resolved from what the storefront knows about the visit: refused
/// for an unknown user, a blocked country or one another commerce serves.
pub(crate) fn visit_context(
    handle: &CommerceHandle,
    commerce: &Commerce,
    body: CreateCartBody,
) -> Result<CartContext, Problem> {
    let mut groups = body.user_groups;
    if let Some(user) = &body.user {
        let found = commerce.config().users.iter().find(|u| &u.id == user).ok_or_else(|| {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_user", format!("user \"{user}\" does not exist"))
        })?;
        groups.extend(found.groups.iter().filter(|g| !groups.contains(g)).cloned().collect::<Vec<_>>());
    }
    let visit = ContextRequest {
        domain: body.domain,
        device: body.device.map(Device::from),
        country: body.country,
        language: body.language,
        currency: body.currency,
        user_groups: groups.clone(),
    };
    let resolved = handle.resolve(&visit)?;
    match &resolved.access {
        Access::Full | Access::BrowseOnly => {}
        Access::Blocked => {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "country_blocked",
                format!("this commerce does not sell to country \"{}\"", resolved.country),
            ))
        }
        Access::Redirect { commerce, url } => {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "redirect_required",
                format!("visitors from \"{}\" shop at commerce \"{commerce}\" ({url})", resolved.country),
            ))
        }
    }
    Ok(CartContext {
        channel: resolved.channel,
        language: resolved.language,
        currency: resolved.currency,
        country: resolved.country,
        user: body.user,
        group: groups.into_iter().next(),
    })
}

/// Opens a cart and applies `parts` to it in order, the last one keeping `respond`'s
/// answer under the key. A refused part ends the half-made cart, and once that is durable
/// the key is free again; a keyed part whose outcome is unknown leaves both as they are.
///
/// The work runs on the carts' arbiter, not the HTTP worker: each part's ask then stays on
/// one thread, and a client that goes away does not stop a creation halfway (the cart
/// is finished, or ended and its key freed, whoever waits for the answer).
pub(crate) async fn create_whole(
    state: &AppState,
    handle: &CommerceHandle,
    context: CartContext,
    parts: Parts,
    stamp: Option<Stamp>,
    respond: CartRespond,
) -> Result<CartReply, Problem> {
    let carts = handle.carts().clone();
    let idempotency = state.idempotency.clone();
    let key = stamp.clone();
    let (done, answer) = tokio::sync::oneshot::channel();
    let work = async move {
        // The route, not the cart, frees the key: only once a half-made cart is durably ended.
        let remember = stamp.clone().map(|stamp| CartRemember { stamp, frees_key: false, respond });
        let free = |stamp: &Option<Stamp>| {
            if let Some(stamp) = stamp {
                idempotency.abandon(stamp);
            }
        };
        let outcome = async {
            let opened = match carts.open(context, Answering::Queued).await {
                Ok(opened) => opened,
                Err(error) => {
                    if error.nothing_changed() {
                        free(&stamp);
                    }
                    return Err(error.into());
                }
            };
            let Some(cart) = carts.get(&opened.cart.id) else {
                // Ended already (it held nothing yet): the key is free again.
                free(&stamp);
                return Err(DomainError::UnknownCart { id: opened.cart.id.clone() }.into());
            };
            match parts.fill(&cart, opened, remember).await {
                Ok(reply) => Ok(reply),
                Err(failed) => {
                    let (problem, ended) = failed.abandon(&cart).await;
                    if ended {
                        free(&stamp);
                    }
                    Err(problem)
                }
            }
        }
        .await;
        // Nobody may be waiting any more: the outcome stands either way.
        let _ = done.send(outcome);
    };
    if !handle.carts().arbiter().spawn(work) {
        // Nothing was made: the key is free again.
        if let Some(stamp) = &key {
            state.idempotency.abandon(stamp);
        }
        return Err(Problem::unavailable("the commerce's carts are stopping; retry shortly"));
    }
    answer.await.unwrap_or_else(|_| {
        Err(Problem::unavailable("the creation stopped before it answered; its outcome is unknown"))
    })
}

/// What a cart is created with beyond its context: lines, an address, a delivery choice,
/// each checked before the cart is made.
pub(crate) struct Parts {
    lines: Vec<(String, u32)>,
    address: Option<SetAddress>,
    delivery: Option<ChooseDelivery>,
    /// Buying now: the checkout that ends the creation (its `remember` is set by `fill`).
    checkout: Option<CheckOut>,
}

/// A part of a cart's creation that failed: the refusal, whether the part carried the key,
/// whether its outcome is unknown (no answer in time, or a log failure after queuing), and
/// whether the part ends the cart when it succeeds (checkout).
pub(crate) struct Failed {
    problem: Problem,
    keyed: bool,
    unknown: bool,
    ends_cart: bool,
}

impl Parts {
    pub(crate) fn of(body: &mut CreateCartBody, handle: &CommerceHandle) -> Result<Self, Problem> {
        if body.lines.len() > CART_LINES_MAX {
            return Err(DomainError::CartLinesExceeded { max: CART_LINES_MAX }.into());
        }
        let lines = body.lines.drain(..).map(|l| Ok((l.sku, quantity(l.qty)?))).collect::<Result<Vec<_>, Problem>>()?;
        let address = body.address.take().map(shipping_address).transpose()?.map(SetAddress);
        let delivery = body.delivery.take().map(|d| delivery_choice(d, handle)).transpose()?.map(ChooseDelivery);
        if delivery.is_some() {
            if lines.is_empty() {
                return Err(DomainError::CartEmpty.into());
            }
            if address.is_none() {
                return Err(DomainError::AddressRequired.into());
            }
        }
        Ok(Self { lines, address, delivery, checkout: None })
    }

    /// Buying now: the cart must be ready to check out (lines, an address, a delivery),
    /// and the checkout ends its creation.
    pub(crate) fn checking_out(self, paying: CheckOut) -> Result<Self, Problem> {
        if self.lines.is_empty() {
            return Err(DomainError::CartEmpty.into());
        }
        if self.address.is_none() {
            return Err(DomainError::AddressRequired.into());
        }
        if self.delivery.is_none() {
            return Err(DomainError::DeliveryRequired.into());
        }
        Ok(Self { checkout: Some(paying), ..self })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.address.is_none() && self.delivery.is_none() && self.checkout.is_none()
    }

    /// Adds the lines, then sets the address, then the delivery, then checks out. The last
    /// part keeps the answer under the key, so a retry replays the whole cart (or order) or
    /// creates it again. The parts before it answer once their records are queued: the
    /// log acknowledges the last part's record only after theirs, so the client's answer
    /// still waits for every part, with one sync in place of one per part.
    pub(crate) async fn fill(
        self,
        cart: &Addr<CartActor>,
        opened: CartReply,
        remember: Option<CartRemember>,
    ) -> Result<CartReply, Box<Failed>> {
        let Parts { lines, address, delivery, checkout: paying } = self;
        let mut remember = remember;
        // The last part (the checkout, else the delivery, else the address, else the last
        // line) takes the key, if any, and says whether it carries one.
        let mut answering = |is_last: bool| {
            if !is_last {
                return (Answering::Queued, false);
            }
            let kept = remember.take();
            let keyed = kept.is_some();
            (Answering::from(kept), keyed)
        };
        let after_delivery = paying.is_some();
        let after_address = after_delivery || delivery.is_some();
        let last_line = if after_address || address.is_some() { None } else { lines.len().checked_sub(1) };
        let mut reply = opened;
        for (i, (sku, quantity)) in lines.into_iter().enumerate() {
            let (answering, keyed) = answering(last_line == Some(i));
            let done = ask(cart, AddLine { sku, quantity, answering }).await;
            reply = Failed::check(done, keyed, false)?;
        }
        if let Some(address) = address {
            let (answering, keyed) = answering(!after_address);
            reply = Failed::check(ask(cart, Keeping(address, answering)).await, keyed, false)?;
        }
        if let Some(delivery) = delivery {
            let (answering, keyed) = answering(!after_delivery);
            reply = Failed::check(ask(cart, Keeping(delivery, answering)).await, keyed, false)?;
        }
        if let Some(paying) = paying {
            let kept = remember.take();
            let keyed = kept.is_some();
            reply = Failed::check(
                ask_within(cart, CheckOut { remember: kept, ..paying }, CHECKOUT_REPLY_TIMEOUT).await,
                keyed,
                true,
            )?;
        }
        Ok(reply)
    }
}

impl Failed {
    /// The part's reply, or its failure (`keyed`: the part carried the key; `ends_cart`:
    /// the part ends the cart when it succeeds).
    pub(crate) fn check(
        done: Result<Result<CartReply, ActorError>, Problem>,
        keyed: bool,
        ends_cart: bool,
    ) -> Result<CartReply, Box<Failed>> {
        match done {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(error)) => {
                Err(Box::new(Failed { keyed, unknown: !error.nothing_changed(), ends_cart, problem: error.into() }))
            }
            // No answer in time: the part's outcome is unknown.
            Err(problem) => Err(Box::new(Failed { problem, keyed, unknown: true, ends_cart })),
        }
    }

    /// Ends the half-made cart, so the refusal leaves nothing held; says whether it is
    /// durably ended with no answer kept, so the key is free again.
    ///
    /// A keyed part whose outcome is unknown may yet finish and keep its answer under the
    /// key, which a retry then replays, so the key stays in flight (until that answer, or
    /// until it goes stale). Such a part that would leave the cart open (a line, address
    /// or delivery) is left alone, since ending the cart would make the kept answer
    /// false. A checkout is followed by the abandon all the same: queued behind it, the
    /// abandon is refused if the order was placed (the cart is checked out) and lets the
    /// holds go if it was not, so a purchase whose client never learnt the cart's id does
    /// not keep its units off sale until the cart expires.
    pub(crate) async fn abandon(self, cart: &Addr<CartActor>) -> (Problem, bool) {
        let keeps_key = self.keyed && self.unknown;
        if keeps_key && !self.ends_cart {
            return (self.problem, false);
        }
        // Sent after every part, so it runs once they are done, whatever their outcome.
        let ended = match ask(cart, Abandon).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "a cart refused at creation was not ended; it expires");
                false
            }
            Err(problem) => {
                tracing::warn!(detail = %problem.detail, "a cart refused at creation did not answer");
                false
            }
        };
        (self.problem, ended && !keeps_key)
    }
}
