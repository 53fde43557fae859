//! [`Pack`]: a message in flight, as routed between plugins.
//!
//! The message itself is shared (`Arc`), so fanning out to several matching plugins
//! copies a pointer, not the message. `loops` is Heka's `MsgLoopCount` (how many
//! filter injections deep this message is); `acks` are the input records this message
//! stands for (usually one; a filter's injection carries those of every message the
//! filter consumed since its previous injection).

use std::sync::Arc;

use heka_message::Message;

use crate::ack::Ack;

/// The acks a pack carries: inline when there is one (a message straight from an
/// input, the common case), so routing a record allocates no vector for them.
pub type Acks = smallvec::SmallVec<[Ack; 1]>;

/// What a plugin queue carries: packs routed together, in order.
pub(crate) type Batch = smallvec::SmallVec<[Pack; 1]>;

/// A routed message with its loop count and acknowledgement shares.
#[derive(Debug, Clone)]
pub struct Pack {
    pub msg: Arc<Message>,
    pub loops: u8,
    pub acks: Acks,
    /// The verified signer of the input record (Heka's `pack.Signer`), for
    /// `message_signer`; messages injected by filters have none.
    pub signer: Option<Arc<str>>,
}

impl Pack {
    /// A pack for a message fresh from an input (loop count 0).
    pub fn new(msg: Message, ack: Option<Ack>) -> Pack {
        Pack {
            msg: Arc::new(msg),
            loops: 0,
            acks: ack.into_iter().collect(),
            signer: None,
        }
    }

    /// [`Pack::new`] for a record whose signature `signer` verified.
    pub fn signed(msg: Message, ack: Option<Ack>, signer: Option<Arc<str>>) -> Pack {
        Pack {
            signer,
            ..Pack::new(msg, ack)
        }
    }

    /// This holder is finished with the pack: delivered or dropped on purpose.
    pub fn done(self) {
        for ack in self.acks {
            ack.done();
        }
    }
}
