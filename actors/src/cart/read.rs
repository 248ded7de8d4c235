//! `GetCart` and `CopyCart`: the cart as it stands, once durable, and its copy for a
//! snapshot.

use super::*;

/// The cart as it stands, once every change it shows is durable (refused as not durable
/// if the log failed: the cart may then show a change the log lost).
#[derive(Message)]
#[rtype(result = "Result<CartReply, ActorError>")]
pub struct GetCart;

impl Handler<GetCart> for CartActor {
    type Result = Reply<Result<CartReply, ActorError>>;

    fn handle(&mut self, _: GetCart, _: &mut Self::Context) -> Self::Result {
        let reply = CartReply { cart: Arc::clone(&self.cart), line: None, low_stock: None, answer: None, order: None };
        self.once_durable(Ok(reply))
    }
}

/// The cart's state for a snapshot, with the last LSN the log had handed out.
#[derive(Message)]
#[rtype(result = "CartCopy")]
pub struct CopyCart;

impl Handler<CopyCart> for CartActor {
    type Result = MessageResult<CopyCart>;

    fn handle(&mut self, _: CopyCart, _: &mut Self::Context) -> Self::Result {
        MessageResult(CartCopy { cart: Cart::clone(&self.cart), covers: self.shared.journal.covers() })
    }
}
