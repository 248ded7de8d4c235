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
    body: crate::http::body::Json<CreateCartBody>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    let handle = commerce_of(&state, &principal, &code)?;
    let commerce = handle.snapshot();
    let mut body = body.read()?;
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
                Err((problem, free_key)) => {
                    if free_key {
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
/// and for a purchase in one request its checkout, each checked before the cart is made.
/// The engine's creation workflow (`workflow::create`) decides the order, which part keeps
/// the key and what a failure does; `fill` only runs its effects on the cart.
pub(crate) struct Parts {
    parts: Vec<Part>,
    /// Buying now: the checkout's payment (its `remember` is set by `fill`).
    paying: Option<CheckOut>,
}

impl Parts {
    pub(crate) fn of(body: &mut CreateCartBody, handle: &CommerceHandle) -> Result<Self, Problem> {
        let mut parts = body
            .lines
            .drain(..)
            .map(|l| Ok(Part::Line { sku: l.sku, quantity: quantity(l.qty)? }))
            .collect::<Result<Vec<_>, Problem>>()?;
        parts.extend(body.address.take().map(shipping_address).transpose()?.map(|a| Part::Address(Box::new(a))));
        parts.extend(body.delivery.take().map(|d| delivery_choice(d, handle)).transpose()?.map(Part::Delivery));
        Creation::check(&parts)?;
        Ok(Self { parts, paying: None })
    }

    /// Buying now: the cart must be ready to check out (lines, an address, a delivery),
    /// and the checkout ends its creation.
    pub(crate) fn checking_out(mut self, paying: CheckOut) -> Result<Self, Problem> {
        self.parts.push(Part::CheckOut);
        Creation::check(&self.parts)?;
        Ok(Self { paying: Some(paying), ..self })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Runs the creation's effects on the opened cart: each part as the cart's own
    /// message, answered as the workflow says (the last keeps `remember`'s answer), and
    /// the abandon of a half-made cart. The finished cart (or order), or the refusal with
    /// whether the key is free again.
    pub(crate) async fn fill(
        self,
        cart: &Addr<CartActor>,
        opened: CartReply,
        remember: Option<CartRemember>,
    ) -> Result<CartReply, (Problem, bool)> {
        let Parts { parts, paying } = self;
        let mut creation = Creation::new(parts, remember.is_some()).map_err(|error| (error.into(), true))?;
        let mut remember = remember;
        let mut paying = paying;
        let mut reply = opened;
        let mut problem = None;
        let mut step = creation.start();
        loop {
            let outcome = match step {
                Step::Done(Created::Made) => return Ok(reply),
                Step::Done(Created::Failed { free_key }) => {
                    let problem = problem.unwrap_or_else(|| Problem::unavailable("the cart could not be made"));
                    return Err((problem, free_key));
                }
                Step::Run(Effect::Abandon) => Outcome::Abandoned { ended: abandon(cart).await },
                Step::Run(Effect::Apply { part, answering }) => {
                    let answering = match answering {
                        CreationAnswering::Queued => Answering::Queued,
                        CreationAnswering::Keyed => Answering::from(remember.take()),
                        CreationAnswering::Durable => Answering::Durable,
                    };
                    match apply(cart, part, answering, &mut paying).await {
                        Ok(applied) => {
                            reply = applied;
                            Outcome::Applied
                        }
                        Err((refusal, nothing_changed)) => {
                            problem = Some(refusal);
                            Outcome::Failed { nothing_changed }
                        }
                    }
                }
            };
            step = creation.resume(outcome);
        }
    }
}

/// Applies one part to the cart as its own message: the cart as the part left it, or the
/// refusal with whether nothing certainly changed (no answer in time: unknown).
async fn apply(
    cart: &Addr<CartActor>,
    part: Part,
    answering: Answering,
    paying: &mut Option<CheckOut>,
) -> Result<CartReply, (Problem, bool)> {
    let done = match part {
        Part::Line { sku, quantity } => ask(cart, AddLine { sku, quantity, answering }).await,
        Part::Address(address) => ask(cart, Keeping(SetAddress(*address), answering)).await,
        Part::Delivery(choice) => ask(cart, Keeping(ChooseDelivery(choice), answering)).await,
        Part::CheckOut => {
            let Some(paying) = paying.take() else {
                return Err((DomainError::DeliveryRequired.into(), true));
            };
            let remember = match answering {
                Answering::Durable | Answering::Queued => None,
                Answering::Kept(remember) => Some(remember),
            };
            ask_within(cart, CheckOut { remember, ..paying }, CHECKOUT_REPLY_TIMEOUT).await
        }
    };
    match done {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(error)) => Err((Problem::from(error.clone()), error.nothing_changed())),
        // No answer in time: the part's outcome is unknown.
        Err(problem) => Err((problem, false)),
    }
}

/// Ends a half-made cart; whether it is durably ended.
async fn abandon(cart: &Addr<CartActor>) -> bool {
    // Sent after every part, so it runs once they are done, whatever their outcome.
    match ask(cart, Abandon).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "a cart refused at creation was not ended; it expires");
            false
        }
        Err(problem) => {
            tracing::warn!(detail = %problem.detail, "a cart refused at creation did not answer");
            false
        }
    }
}
