//! The event catalogue: every type of event the node publishes, what it means, the
//! aggregate it belongs to and the shape of its `data`. The OpenAPI document's `webhooks`
//! section and the `types` filter are built from this list.

/// One type of event.
#[derive(Debug, Clone, Copy)]
pub struct EventType {
    pub name: &'static str,
    /// `order`, `shipment`, `stock`, `product`, `settings`, or the kind of data changed
    /// (`price_rule`, `discount`, `user`, `user_group`, `api_key`, `merchant`).
    pub aggregate: &'static str,
    pub summary: &'static str,
}

const fn event(name: &'static str, aggregate: &'static str, summary: &'static str) -> EventType {
    EventType { name, aggregate, summary }
}

/// Every event type, in the order the catalogue documents them.
pub const CATALOGUE: &[EventType] = &[
    event("order.placed", "order", "An order was placed; `data` is the order as `GET …/orders/{order}` answers it."),
    event(
        "order.paid",
        "order",
        "An order's payment was confirmed (at checkout, by the gateway or by the administrator).",
    ),
    event("order.lines_cancelled", "order", "Units of an order were cancelled before they left; the order goes on."),
    event("order.cancelled", "order", "The last units of an order were cancelled: nothing of it will be sent."),
    event("refund.settled", "order", "A refund was settled by the gateway or confirmed by the administrator."),
    event("invoice.issued", "order", "An invoice was issued, numbered in its company's series."),
    event("credit_note.issued", "order", "A credit note was issued in the corrective series."),
    event("return.requested", "order", "A customer asked to return units."),
    event("return.decided", "order", "The lines of a return were accepted or rejected."),
    event("return.received", "order", "Returned units were received; the receipt is a return order document."),
    event("return.restocked", "order", "A receipt's resellable units are back on hand."),
    event("shipment.ready", "shipment", "Every unit of a shipment waiting for stock is allocated: it can leave."),
    event("shipment.promise_changed", "shipment", "The ready and delivery dates of a waiting shipment moved."),
    event("shipment.sent", "shipment", "A shipment was handed to its carrier, with its tracking numbers."),
    event("shipment.delivered", "shipment", "The carrier reported the shipment delivered."),
    event("shipment.returned", "shipment", "The carrier reported the shipment back at the commerce."),
    event("shipment.carrier_update", "shipment", "A carrier's report that moved no status (kept for tracking)."),
    event("stock.received", "stock", "Units were received on hand in a warehouse."),
    event("stock.adjusted", "stock", "A warehouse's count was corrected (damage, loss, found, count)."),
    event("stock.batch_announced", "stock", "An inbound batch was announced with its expected date."),
    event("stock.batch_changed", "stock", "An inbound batch's quantity or date changed."),
    event(
        "stock.low",
        "stock",
        "A SKU's units on hand nobody holds in a warehouse fell to 5 or below (`available`, `before`, `low_at`).",
    ),
    event("stock.out", "stock", "A SKU's units on hand nobody holds in a warehouse reached 0 (`available`, `before`)."),
    event(
        "stock.back_in_stock",
        "stock",
        "A SKU's units on hand nobody holds in a warehouse rose from 0 (`available`, `before`).",
    ),
    event(
        "product.created",
        "product",
        "A product's first version (`sku`, `version`, `retired`, `by`, and `product` as `PUT …/products/{sku}` takes it).",
    ),
    event(
        "product.changed",
        "product",
        "A product's new version: replaced, patched, reverted or put again after retirement (the same fields).",
    ),
    event("product.retired", "product", "A product was retired: no longer sold, its history kept (the same fields)."),
    event("settings.reloaded", "settings", "The commerce's settings were reloaded from its file (`by`)."),
    event("price_rule.changed", "price_rule", "A price rule was created or replaced (`code`, `by`, `item` as `PUT` takes it)."),
    event("price_rule.removed", "price_rule", "A price rule was removed (`code`, `by`)."),
    event(
        "commission_rule.changed",
        "commission_rule",
        "A commission rule was created or replaced (`code`, `by`, `item` as `PUT` takes it).",
    ),
    event("commission_rule.removed", "commission_rule", "A commission rule was removed (`code`, `by`)."),
    event(
        "product_proposal.changed",
        "product_proposal",
        "A merchant proposed a product change, or the back office accepted or rejected one (`code`, `by`, `item`: the proposal, its `status` and `product`); its merchant reads it.",
    ),
    event("product_proposal.removed", "product_proposal", "A product proposal was removed (`code`, `by`)."),
    event("discount.changed", "discount", "A discount was created or replaced (`code`, `by`, `item`)."),
    event("discount.removed", "discount", "A discount was removed (`code`, `by`)."),
    event("user.changed", "user", "A user was created or replaced (`code`, `by`, `item`)."),
    event("user.removed", "user", "A user was removed (`code`, `by`)."),
    event("user_group.changed", "user_group", "A user group was created or replaced (`code`, `by`, `item`)."),
    event("user_group.removed", "user_group", "A user group was removed (`code`, `by`)."),
    event(
        "api_key.changed",
        "api_key",
        "An API key was created or rotated (`code` its name, `by`, `item`: its role and merchant, never the key).",
    ),
    event("api_key.revoked", "api_key", "An API key was revoked: it fails at once (`code`, `by`)."),
    event(
        "merchant.invited",
        "merchant",
        "A merchant was invited, or invited again (`code`, `by`, `from`, `to`, `reason`, `merchant` as `GET …/merchants/{m}` answers it).",
    ),
    event("merchant.onboarded", "merchant", "A merchant accepted the terms and gave its legal data (the same fields)."),
    event("merchant.approved", "merchant", "A merchant was approved: its products are sold (the same fields)."),
    event(
        "merchant.blocked",
        "merchant",
        "A merchant was blocked, with its reason: its products are not sold (the same fields).",
    ),
    event("merchant.unblocked", "merchant", "A merchant's block was lifted (the same fields)."),
    event(
        "payout.made",
        "merchant",
        "Money was paid out to a merchant from its ledger (`payout`, `batch`, `merchant`, `currency`, `amount`, `by`).",
    ),
];

/// The type named `name`.
pub fn find(name: &str) -> Option<&'static EventType> {
    CATALOGUE.iter().find(|t| t.name == name)
}
