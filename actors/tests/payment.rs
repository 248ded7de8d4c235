//! Payment gateways run off the actors' thread: while a gateway takes its time over one
//! cart's checkout, every other cart, the warehouses and the orders go on answering; the
//! checkout then places its order with the gateway's approval, and a decline or a gateway
//! that cannot be asked leaves the cart and its holds as they were.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mercato_actors::cart::{AddLine, Answering, CheckOut, ChooseDelivery, SetAddress};
use mercato_actors::idempotency::Idempotency;
use mercato_actors::payment::{Gateway, Gateways};
use mercato_actors::warehouse::GetStock;
use mercato_actors::ActorError;
use mercato_actors::{Clock, CommerceHandle, Execute, Journal, Recovered};
use mercato_engine::cart::CartContext;
use mercato_engine::cart::{DeliveryChoice, ShippingAddress};
use mercato_engine::commerce::model::ShipmentPreference;
use mercato_engine::inventory::{InventoryCommand, Timestamp};
use mercato_engine::order::OrderStatus;
use mercato_engine::Commerce;
use rust_decimal::Decimal;

const DEMO: &str = include_str!("../../config/demo.toml");
/// 2026-11-21T10:00:00Z.
const START: Timestamp = Timestamp(1_795_255_200_000);
/// How long the slow gateway waits to be released before it answers on its own: long
/// enough that a gateway on the actors' thread would make every other request late.
const SLOW_GATEWAY_WAIT: Duration = Duration::from_secs(10);

/// A gateway that approves only once the test releases it (or after `SLOW_GATEWAY_WAIT`),
/// telling the test when a call has come in.
struct Slow {
    entered: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
    released: AtomicBool,
}

impl Gateway for Slow {
    fn authorize(&self, order: &str, _: Decimal, _: &str, _: &str) -> Result<String, String> {
        let _ = self.entered.lock().expect("not poisoned").send(());
        let _ = self.release.lock().expect("not poisoned").recv_timeout(SLOW_GATEWAY_WAIT);
        self.released.store(true, Ordering::SeqCst);
        Ok(format!("slow-{order}"))
    }

    fn void(&self, _: &str) {}
}

/// The demo with its card payments going through the `slow` gateway.
fn start(gateways: Gateways) -> CommerceHandle {
    let config = DEMO.replace("gateway = \"sandbox\"", "gateway = \"slow\"");
    let commerce = Commerce::from_toml(&config, &["sandbox", "slow"]).expect("valid config");
    CommerceHandle::start_with_gateways(
        commerce,
        Clock::starting_at(START),
        &Journal::Memory,
        &mut Recovered::default(),
        &Idempotency::default(),
        gateways,
    )
}

fn context() -> CartContext {
    CartContext {
        channel: "web".into(),
        language: "en".into(),
        currency: "EUR".into(),
        country: "ES".into(),
        user: None,
        group: None,
    }
}

/// A cart with one keyboard, a Madrid address and home delivery.
async fn ready_cart(handle: &CommerceHandle) -> actix::Addr<mercato_actors::cart::CartActor> {
    let id = handle.carts().open(context(), Answering::Durable).await.expect("created").cart.id.clone();
    let addr = handle.carts().get(&id).expect("open");
    let add = AddLine { sku: "KEYBOARD".into(), quantity: 1, answering: Answering::Durable };
    addr.send(add).await.expect("running").expect("added");
    let address = ShippingAddress {
        name: "Ana".into(),
        line: "Gran Vía 1".into(),
        city: "Madrid".into(),
        postal_code: "28013".into(),
        country: "ES".into(),
        ..ShippingAddress::default()
    };
    addr.send(SetAddress(address)).await.expect("running").expect("set");
    let home = DeliveryChoice::Home { preference: ShipmentPreference::AsAvailable, shipping_types: Vec::new() };
    addr.send(ChooseDelivery(home)).await.expect("running").expect("chosen");
    addr
}

fn by_card() -> CheckOut {
    CheckOut {
        payment_system: "card".into(),
        token: Some("tok_visa".into()),
        expected_total: None,
        remember: None,
        by: "test".into(),
    }
}

// Proves a gateway that takes its time stalls no other cart, warehouse or order: another
// cart adds a line and a warehouse answers while the gateway holds the checkout, which
// then places its order paid with the gateway's reference.
#[actix_rt::test]
async fn a_slow_gateway_stalls_no_other_cart_or_warehouse() {
    let (entered_tx, entered) = channel();
    let (release, release_rx) = channel();
    let slow = Arc::new(Slow {
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
        released: AtomicBool::new(false),
    });
    let handle = start(Gateways::default().with("slow", Arc::clone(&slow) as Arc<dyn Gateway>));
    let madrid = handle.warehouses().get("wh-madrid").expect("a warehouse");
    let receive = InventoryCommand::ReceiveStock { sku: "KEYBOARD".into(), quantity: 10 };
    madrid.send(Execute(receive)).await.expect("running").expect("received");
    let paying = ready_cart(&handle).await;
    let checkout = actix_rt::spawn(async move { paying.send(by_card()).await.expect("running") });
    while entered.try_recv().is_err() {
        actix_rt::time::sleep(Duration::from_millis(1)).await;
    }

    let other = ready_cart(&handle).await;
    let stock = madrid.send(GetStock { sku: "KEYBOARD".into() }).await.expect("running").expect("sold");
    assert!(!slow.released.load(Ordering::SeqCst), "the gateway was still deciding");
    assert_eq!(stock.record.reserved, 2, "both carts hold their keyboard");
    drop(other);

    release.send(()).expect("the gateway waits");
    let reply = checkout.await.expect("the checkout ran").expect("placed");
    let order = reply.order.expect("an order");
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.payment.reference.as_deref(), Some(format!("slow-{}", order.id).as_str()));
}

// Proves a payment system whose gateway this node does not have refuses the checkout as
// unavailable and leaves the cart open with its hold.
#[actix_rt::test]
async fn a_gateway_that_cannot_be_asked_changes_nothing() {
    let handle = start(Gateways::empty());
    let madrid = handle.warehouses().get("wh-madrid").expect("a warehouse");
    let receive = InventoryCommand::ReceiveStock { sku: "KEYBOARD".into(), quantity: 10 };
    madrid.send(Execute(receive)).await.expect("running").expect("received");
    let cart = ready_cart(&handle).await;
    let refused = cart.send(by_card()).await.expect("running");
    assert_eq!(refused, Err(ActorError::Gateway("slow".into())));
    let stock = madrid.send(GetStock { sku: "KEYBOARD".into() }).await.expect("running").expect("sold");
    assert_eq!((stock.record.reserved, stock.record.allocated), (1, 0), "the cart still holds its unit");
}
