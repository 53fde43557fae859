//! The contract of an output that keeps several messages in flight
//! ([`PipelinedOutput`]): HTTP requests on several keep-alive connections, pipelined
//! publishes awaiting their acknowledgements (NATS `PubAck`), TCP writes awaiting an
//! application-level answer.
//!
//! The output runner stays the one place that owns retries, back-off, `Retry-After`,
//! acknowledgement and the disk buffer's cursor; a pipelined output only starts
//! deliveries and reports how each ended. The runner hands out [`Delivery`]s, each
//! named by a [`Ticket`], and never more than [`PipelinedOutput::max_in_flight`] at
//! once. Outcomes come back through [`Outcomes`] from any thread (a worker thread, a
//! tokio task, an I/O callback), in any order. The runner keeps its window in
//! submission order and releases acknowledgements (and moves a disk buffer's cursor)
//! only over the completed prefix, so an input's journal never passes a message that
//! is not delivered, whatever order the far end answers in. A message that must be
//! retried is submitted again with the same ticket once its wait is over; the others
//! in flight go on meanwhile. Submissions come in bursts, each closed by
//! [`PipelinedOutput::end_burst`], so an output that packs several messages into one
//! request (NATS) sees everything queued at once.
//!
//! An output that is not pipelined (the default, [`crate::Output::pipelined`] returns
//! `None`) is driven through [`crate::Output::send`] with a window of one, which is
//! Heka's behaviour: one message at a time, in order.
//!
//! Memory: at most `max_in_flight` payloads per output are held (each at most
//! `max_message_size` bytes, plus framing), and at most as many outcomes are queued.

use std::sync::Arc;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use heka_message::Message;

use crate::output_error::OutputError;

/// Names one message in an output's window; the same ticket comes back with its
/// outcome, and again when the runner resubmits it after a retry wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(pub u64);

/// One message handed to a [`PipelinedOutput`].
#[derive(Debug, Clone)]
pub struct Delivery {
    /// What the outcome must name.
    pub ticket: Ticket,
    /// The routed message (shared, not copied).
    pub msg: Arc<Message>,
    /// The encoder's output (framed when `use_framing`); with no encoder, the
    /// message's Payload. Cheap to clone: the runner keeps a clone for retries.
    pub payload: Bytes,
}

/// How one delivery ended: `Ok` = delivered; the errors mean what they mean for
/// [`crate::Output::send`] (`Retry` with the far end's `Retry-After`, `Drop`, `Fatal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ticket: Ticket,
    pub result: Result<(), OutputError>,
}

/// Where a pipelined output reports outcomes. Cheap to clone; reporting never blocks
/// (the runner bounds how many can be outstanding).
#[derive(Debug, Clone)]
pub struct Outcomes {
    tx: Sender<Outcome>,
}

impl Outcomes {
    /// A reporting end and the receiver the runner (or a test) reads.
    pub fn channel() -> (Outcomes, Receiver<Outcome>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Outcomes { tx }, rx)
    }

    /// Reports how the delivery of `ticket` ended. A runner that is gone (hekad
    /// stopping) no longer listens; the outcome is then dropped.
    pub fn report(&self, ticket: Ticket, result: Result<(), OutputError>) {
        let _ = self.tx.send(Outcome { ticket, result });
    }
}

/// An output that keeps several messages in flight (see the module doc).
pub trait PipelinedOutput: Send {
    /// Most deliveries in flight at once (at least 1); read once, when the runner starts.
    fn max_in_flight(&self) -> usize;

    /// Starts one delivery and returns without waiting for the far end. Exactly one
    /// outcome per call must be reported through `outcomes` (a clone may be kept),
    /// from any thread. `Err` is for an output that cannot even start (it is taken as
    /// that delivery's outcome: `Fatal` terminates the output).
    fn submit(&mut self, delivery: Delivery, outcomes: &Outcomes) -> Result<(), OutputError>;

    /// The runner has submitted everything it had for now: it calls this after each
    /// burst of [`PipelinedOutput::submit`] calls (the retries that were due and the
    /// queued messages the window had room for) and before it waits. An output that
    /// groups deliveries (several messages per request or per publish) may hold what
    /// `submit` gave it until this call and then start it all at once, so a busy output
    /// gets everything queued in one go, and an idle one each message at once. `Err`
    /// is for an output that cannot go on (`Fatal` terminates it); the deliveries
    /// still need their outcomes. Default: nothing to do.
    fn end_burst(&mut self, outcomes: &Outcomes) -> Result<(), OutputError> {
        let _ = outcomes;
        Ok(())
    }
}
