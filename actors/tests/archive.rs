//! Finished orders and the archive, in process: an order cancelled before payment is
//! finished at once; a pass whose archive write fails leaves it in memory, whole; the next
//! pass moves it, after which memory no longer holds it and a read finds it in the archive
//! exactly as it was; a command on it is refused `order_archived`; an open order stays.

mod support;

use std::sync::Arc;

use mercato_actors::order::Request;
use mercato_actors::{Journal, Recovered};
use mercato_persistence::archive::Archive;
use support::*;

async fn placed(handle: &mercato_actors::CommerceHandle) -> String {
    let cart = open(handle).await;
    add(handle, &cart, "MOUSE", 1).await.expect("added");
    let addr = handle.carts().get(&cart).expect("open");
    ready_for_home(&addr).await;
    let reply = addr.send(by_transfer()).await.expect("running").expect("placed");
    reply.order.expect("an order").id.clone()
}

// Proves an order leaves memory only once the archive holds it: a failed write keeps it
// in memory as it was, and a read after the move answers it the same. The archive tells
// whoever follows it (the outbox) of the orders that left memory, and of those only.
#[actix_rt::test]
async fn an_order_leaves_memory_only_once_archived() {
    let dir = std::env::temp_dir().join(format!("mercato-archive-actors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (tell, told) = crossbeam_channel::unbounded();
    let archive = Arc::new(Archive::open(&dir, 1 << 20).expect("opens").telling(tell));
    let mut recovered = Recovered::default();
    recovered.archive = Some(Arc::clone(&archive));
    let handle = start(&Journal::Memory, &mut recovered);
    receive(&handle, "wh-madrid", "MOUSE", 5).await;
    let finished = placed(&handle).await;
    let open = placed(&handle).await;
    let orders = handle.orders();
    let cancel = |id: &str| Request { id: id.to_owned(), by: "test".into(), preview: false, remember: None };
    let cancelled = orders.cancel(cancel(&finished), None).await.expect("cancelled").order;
    assert_eq!(cancelled.finished_at(None), Some(cancelled.history.last().expect("a change").at), "finished at once");

    archive.fail_next_put();
    assert!(orders.archive_finished().await.is_err(), "the write failed");
    assert_eq!(orders.get(&finished).await.as_deref(), Some(&*cancelled), "still in memory, whole");
    assert_eq!(archive.count("demo"), 0);
    assert!(told.try_recv().is_err(), "nothing left memory: nothing told");

    assert_eq!(orders.archive_finished().await, Ok(1), "the next pass moves it");
    let (number, left) = told.try_recv().expect("told");
    assert_eq!((number, archive.told()), (1, 1), "the first tell");
    let named: Vec<(&str, &str)> = left.iter().map(|(c, id, _)| (c.as_str(), id.as_str())).collect();
    assert_eq!(named, [("demo", finished.as_str())], "the order that left, and only it");
    assert!(orders.get(&finished).await.is_none(), "memory no longer holds it");
    assert_eq!(archive.count("demo"), 1);
    assert_eq!(orders.read(&finished).await.expect("read from the archive").as_ref(), &*cancelled);
    let Err(refused) = orders.cancel(cancel(&finished), None).await else { panic!("a change to an archived order") };
    assert_eq!(refused.code(), "order_archived", "{refused}");
    assert!(orders.get(&open).await.is_some(), "the open order stays");
    assert_eq!(orders.archive_finished().await, Ok(0));
    drop(handle);
    let _ = std::fs::remove_dir_all(&dir);
}
