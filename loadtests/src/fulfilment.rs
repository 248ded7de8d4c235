//! The `fulfilment` scenario: an order's life after checkout. A customer buys two mice
//! (one request, the sandbox card); the back office ships the shipment with a tracking
//! number; the carrier reports it in transit, then delivered; the customer returns one
//! unit; the back office accepts it and receives it back for sale. Every step has its
//! `Idempotency-Key`, and the run checks what each answers: the statuses along the way,
//! the refund and credit note of the receipt, and the order's books at the end
//! (`captured - refunded = invoiced - credited`). A failed check fails the transaction.

use goose::prelude::*;
use serde_json::{json, Value};

use crate::{admin_key, call, storefront_key, ADDRESS, DEMO};

/// Fails the transaction with `why` (goose counts it as the transaction's error) when
/// `holds` is false.
fn check(holds: bool, why: &str) -> TransactionResult {
    if holds {
        Ok(())
    } else {
        Err(Box::new(TransactionError::Custom(format!("fulfilment check failed: {why}"))))
    }
}

fn amount(value: &Value) -> rust_decimal::Decimal {
    value.as_str().and_then(|v| v.parse().ok()).unwrap_or_default()
}

/// One order from purchase to a unit received back.
pub async fn order_life(user: &mut GooseUser) -> TransactionResult {
    let (shop, admin) = (storefront_key(), admin_key());
    let address: Value = serde_json::from_str(ADDRESS).unwrap_or(Value::Null);
    let purchase = json!({
        "cart": {"country": "ES", "lines": [{"sku": "MOUSE", "qty": 2}], "address": address, "delivery": {"method": "home"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}
    });
    let orders = format!("{DEMO}/orders");
    let Some((_, order)) = call(user, GooseMethod::Post, "orders", &orders, &shop, Some(purchase), &[201]).await?
    else {
        return Ok(());
    };
    let (Some(id), Some(shipment), Some(line)) =
        (order["id"].as_str(), order["shipments"][0]["id"].as_str(), order["lines"][0]["id"].as_str())
    else {
        return check(false, "an order without its id, shipment or line");
    };
    let (id, shipment, line) = (id.to_owned(), shipment.to_owned(), line.to_owned());
    let tracking = format!("LT-{id}");
    let path = format!("{orders}/{id}/shipments/{shipment}/ship");
    let body = Some(json!({"tracking": [tracking]}));
    let Some((_, sent)) =
        call(user, GooseMethod::Post, "orders/{id}/shipments/{s}/ship", &path, &admin, body, &[200]).await?
    else {
        return Ok(());
    };
    check(sent["shipments"][0]["status"] == "sent", "a shipped shipment is not sent")?;
    let events = format!("{DEMO}/carriers/iberpost/events");
    for (event, code) in [("t", "in_transit"), ("d", "delivered")] {
        let body = Some(
            json!({"id": format!("{id}-{event}"), "tracking": tracking, "code": code, "at": "2026-12-03T10:00:00Z"}),
        );
        if call(user, GooseMethod::Post, "carriers/{c}/events", &events, &admin, body, &[200]).await?.is_none() {
            return Ok(());
        }
    }
    if !give_back(user, &orders, &id, &line, &shop, &admin).await? {
        return Ok(());
    }
    let path = format!("{orders}/{id}");
    let Some((_, now)) = call(user, GooseMethod::Get, "orders/{id}", &path, &admin, None, &[200]).await? else {
        return Ok(());
    };
    let money = &now["money"];
    let books = amount(&money["captured"]) - amount(&money["refunded"])
        == amount(&money["invoiced"]) - amount(&money["credited"]);
    check(books, "the books do not balance")?;
    check(now["status"] == "partially_returned", "an order with a unit back is not partially returned")
}

/// The customer returns one unit of the delivered order; the back office accepts it and
/// receives it back for sale. Whether every step answered.
async fn give_back(
    user: &mut GooseUser,
    orders: &str,
    id: &str,
    line: &str,
    shop: &str,
    admin: &str,
) -> Result<bool, Box<TransactionError>> {
    let (shop, admin) = (shop.to_owned(), admin.to_owned());
    let path = format!("{orders}/{id}/returns");
    let body = Some(json!({"lines": [{"line": line, "quantity": 1, "reason": "load test"}]}));
    let Some((_, asked)) = call(user, GooseMethod::Post, "orders/{id}/returns", &path, &shop, body, &[201]).await?
    else {
        return Ok(false);
    };
    check(asked["status"] == "delivered", "a delivered order asked back is not delivered")?;
    let Some(request) = asked["returns"][0]["id"].as_str().map(str::to_owned) else {
        return check(false, "a return without its id").map(|()| false);
    };
    let path = format!("{orders}/{id}/returns/{request}/decisions");
    let body = Some(json!({"lines": [{"line": line, "accept": true}]}));
    if call(user, GooseMethod::Post, "orders/{id}/returns/{r}/decisions", &path, &admin, body, &[200]).await?.is_none()
    {
        return Ok(false);
    }
    let path = format!("{orders}/{id}/returns/{request}/receipts");
    let body =
        Some(json!({"lines": [{"line": line, "quantity": 1, "condition": "resellable"}], "warehouse": "wh-madrid"}));
    let Some((_, received)) =
        call(user, GooseMethod::Post, "orders/{id}/returns/{r}/receipts", &path, &admin, body, &[200]).await?
    else {
        return Ok(false);
    };
    let refund = amount(&received["refund"]["amount"]);
    check(refund > rust_decimal::Decimal::ZERO, "a unit received back refunds nothing")?;
    check(amount(&received["credit_note"]["total"]) == -refund, "the credit note is not the refund")?;
    Ok(true)
}

/// The `invoicing` scenario: a purchase in one request paid by bank transfer (an order
/// pending payment), then the back office confirms the payment, which issues the invoice
/// numbered next in the company's series. goose reports each request apart, so the
/// payments' rate stands next to the purchases' in the same run.
pub async fn pay_by_transfer(user: &mut GooseUser) -> TransactionResult {
    let (shop, admin) = (storefront_key(), admin_key());
    let address: Value = serde_json::from_str(ADDRESS).unwrap_or(Value::Null);
    let purchase = json!({
        "cart": {"country": "ES", "lines": [{"sku": "MOUSE", "qty": 1}], "address": address, "delivery": {"method": "home"}},
        "checkout": {"payment_system": "bank-transfer"}
    });
    let orders = format!("{DEMO}/orders");
    let Some((_, order)) =
        call(user, GooseMethod::Post, "orders (transfer)", &orders, &shop, Some(purchase), &[201]).await?
    else {
        return Ok(());
    };
    let Some(id) = order["id"].as_str() else { return check(false, "an order without its id") };
    let path = format!("{orders}/{id}/payments");
    let body = Some(json!({"reference": format!("TR-{id}")}));
    let Some((_, paid)) = call(user, GooseMethod::Post, "orders/{id}/payments", &path, &admin, body, &[200]).await?
    else {
        return Ok(());
    };
    check(
        paid["invoices"][0]["number"].as_str().is_some_and(|n| n.starts_with("ES-")),
        "a paid order without its invoice",
    )
}
