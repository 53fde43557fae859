//! The messages an output runner has taken but not yet released, in the order it took
//! them: in flight, waiting to be retried, or finished and waiting for the ones before
//! them.
//!
//! This is where "in order" is kept. Outcomes may arrive in any order (a pipelined
//! output has several requests out); [`Window::release`] only ever moves the finished
//! prefix out, into the acks held until the next flush and the disk queue position to
//! commit then. A message not yet delivered therefore stops everything behind it from
//! being acknowledged, and an input's journal (or a disk buffer's cursor) never
//! passes it. The window's capacity is the output's `max_in_flight` (1 for an output
//! driven through `send`), counting finished entries still waiting for an earlier one,
//! so a message stuck in retries holds back at most that many.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use heka_message::Message;

use crate::ack::Ack;
use crate::buffer::queue::Cursor;
use crate::pack::Acks;
use crate::pipelined::Ticket;

use super::source::Item;

/// Where one message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Handed to the output; its outcome is awaited.
    InFlight,
    /// To be submitted again at this time.
    Waiting(Instant),
    /// Delivered (acknowledged at the next successful flush).
    Sent,
    /// Dropped on purpose (skip, encoding failure, `Drop` outcome): done.
    Dropped,
    /// Given up because hekad is stopping: not delivered; nothing behind it is
    /// released.
    Abandoned,
}

/// Where the bytes to send are (kept for retries).
#[derive(Debug, Clone)]
pub(super) enum Body {
    /// Owned (a pipelined output gets a clone); emptied once finished.
    Bytes(Bytes),
    /// Still in the runner's encoding buffer, or framing buffer, or the message's
    /// Payload. Only for an output driven through `send`: its window holds one
    /// message, so the buffers are not reused before it is finished, and sending
    /// copies and allocates nothing.
    Encoded,
    Framed,
    MessagePayload,
}

impl Body {
    /// The bytes this body stands for, given the runner's encoding and framing
    /// buffers and the message.
    pub(super) fn bytes<'a>(
        &'a self,
        encoded: &'a [u8],
        framed: &'a [u8],
        msg: &'a Message,
    ) -> &'a [u8] {
        match self {
            Body::Bytes(bytes) => bytes,
            Body::Encoded => encoded,
            Body::Framed => framed,
            Body::MessagePayload => msg.payload(),
        }
    }
}

pub(super) struct Entry {
    pub msg: Arc<Message>,
    pub body: Body,
    acks: Acks,
    cursor: Option<Cursor>,
    pub state: State,
    /// Retries so far and the next back-off delay.
    pub attempts: i64,
    pub delay: Duration,
}

pub(super) struct Window {
    entries: VecDeque<Entry>,
    /// The ticket of `entries[0]`; tickets are consecutive.
    first: u64,
    capacity: usize,
    /// Acks of messages released since the last successful flush.
    held: Vec<Ack>,
    /// Messages released since the last successful flush.
    unflushed: usize,
    /// Disk queue position past the last released message, and how many since the
    /// last commit.
    pending: Option<(Cursor, u64)>,
}

/// What a successful flush makes final.
pub(super) struct Released {
    pub acks: Vec<Ack>,
    pub pending: Option<(Cursor, u64)>,
}

impl Window {
    pub(super) fn new(capacity: usize) -> Window {
        Window {
            entries: VecDeque::with_capacity(capacity.max(1)),
            first: 0,
            capacity: capacity.max(1),
            held: Vec::new(),
            unflushed: 0,
            pending: None,
        }
    }

    pub(super) fn has_room(&self) -> bool {
        self.entries.len() < self.capacity
    }

    /// Messages taken and not yet released.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the oldest message taken is in flight: its outcome will come (and wake
    /// the runner), and nothing behind it can be released before it.
    pub(super) fn front_in_flight(&self) -> bool {
        self.entries
            .front()
            .is_some_and(|e| e.state == State::InFlight)
    }

    /// Messages released since the last successful flush.
    pub(super) fn unflushed(&self) -> usize {
        self.unflushed
    }

    /// Takes `item` in, with the bytes to send and its first state.
    pub(super) fn push(&mut self, item: Item, body: Body, state: State, delay: Duration) -> Ticket {
        let ticket = Ticket(self.first + self.entries.len() as u64);
        self.entries.push_back(Entry {
            msg: item.msg,
            body,
            acks: item.acks,
            cursor: item.cursor,
            state,
            attempts: 0,
            delay,
        });
        ticket
    }

    /// The entry of `ticket`, if it is still here.
    pub(super) fn get_mut(&mut self, ticket: Ticket) -> Option<&mut Entry> {
        let index = ticket.0.checked_sub(self.first)?;
        self.entries.get_mut(usize::try_from(index).ok()?)
    }

    /// Marks `ticket` finished (`Sent`, `Dropped` or `Abandoned`); its payload is
    /// no longer needed.
    pub(super) fn finish(&mut self, ticket: Ticket, state: State) {
        if let Some(entry) = self.get_mut(ticket) {
            entry.state = state;
            entry.body = Body::Bytes(Bytes::new());
        }
    }

    /// Moves the finished prefix out: delivered messages' acks are held until the
    /// next flush, dropped ones' are done at once; both advance the disk position.
    /// Stops at the first message not finished, or given up.
    pub(super) fn release(&mut self) {
        while let Some(front) = self.entries.front() {
            match front.state {
                State::Sent | State::Dropped => {}
                State::InFlight | State::Waiting(_) | State::Abandoned => break,
            }
            let Some(entry) = self.entries.pop_front() else {
                break;
            };
            self.first += 1;
            self.settle(entry.acks, entry.cursor, entry.state == State::Sent);
        }
    }

    /// `item` was delivered without ever being taken in (a synchronous output whose
    /// window was empty: see `submit_new`): released at once, as `release` would.
    pub(super) fn release_sent(&mut self, item: Item) {
        debug_assert!(self.entries.is_empty(), "released out of order");
        self.settle(item.acks, item.cursor, true);
    }

    /// A message's end, in order: delivered, its acks are held until the next flush;
    /// dropped, they are done at once; both advance the disk position.
    fn settle(&mut self, acks: Acks, cursor: Option<Cursor>, sent: bool) {
        if sent {
            crate::ack::hold(&mut self.held, acks);
        } else {
            acks.into_iter().for_each(Ack::done);
        }
        if let Some(cursor) = cursor {
            let records = self.pending.map_or(0, |(_, n)| n) + 1;
            self.pending = Some((cursor, records));
        }
        self.unflushed += 1;
    }

    /// A successful flush: what was released is final.
    pub(super) fn take_released(&mut self) -> Released {
        self.unflushed = 0;
        Released {
            acks: std::mem::take(&mut self.held),
            pending: self.pending.take(),
        }
    }

    /// Acks held for the next flush (log lines).
    pub(super) fn held(&self) -> usize {
        self.held.len()
    }

    /// The first message whose retry wait is over at `now`.
    pub(super) fn due(&self, now: Instant) -> Option<Ticket> {
        self.entries
            .iter()
            .position(|e| matches!(e.state, State::Waiting(at) if at <= now))
            .map(|i| Ticket(self.first + i as u64))
    }

    /// When the earliest retry wait ends.
    pub(super) fn next_retry(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter_map(|e| match e.state {
                State::Waiting(at) => Some(at),
                _ => None,
            })
            .min()
    }

    /// Gives up every message waiting to be retried (a buffered output stopping:
    /// they are safe on disk). True when there was one.
    pub(super) fn abandon_waiting(&mut self) -> bool {
        let mut any = false;
        for entry in &mut self.entries {
            if matches!(entry.state, State::Waiting(_)) {
                entry.state = State::Abandoned;
                entry.body = Body::Bytes(Bytes::new());
                any = true;
            }
        }
        any
    }

    /// Whether nothing is in flight or waiting to be retried any more (what is left,
    /// if anything, is held back by a message given up on).
    pub(super) fn is_settled(&self) -> bool {
        !self
            .entries
            .iter()
            .any(|e| matches!(e.state, State::InFlight | State::Waiting(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::AckSink;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log(Mutex<Vec<(u64, bool)>>);
    impl AckSink for Log {
        fn completed(&self, id: u64, delivered: bool) {
            self.0.lock().unwrap().push((id, delivered));
        }
    }

    fn item(id: u64, log: &Arc<Log>) -> Item {
        Item {
            msg: Arc::new(Message::default()),
            acks: std::iter::once(Ack::new(id, log.clone())).collect(),
            cursor: None,
            framed: None,
        }
    }

    #[test]
    fn only_the_finished_prefix_is_released() {
        let log = Arc::new(Log::default());
        let mut w = Window::new(3);
        let t: Vec<Ticket> = (1..=3)
            .map(|id| {
                w.push(
                    item(id, &log),
                    Body::MessagePayload,
                    State::InFlight,
                    Duration::ZERO,
                )
            })
            .collect();
        assert!(!w.has_room());
        w.finish(t[2], State::Sent);
        w.finish(t[1], State::Dropped);
        w.release();
        assert_eq!(w.unflushed(), 0, "the first is still in flight");
        w.finish(t[0], State::Sent);
        w.release();
        assert_eq!(w.unflushed(), 3);
        assert!(w.is_empty());
        // The dropped one is done at release; the sent ones at the flush.
        assert_eq!(*log.0.lock().unwrap(), vec![(2, true)]);
        w.take_released().acks.into_iter().for_each(Ack::done);
        assert_eq!(
            *log.0.lock().unwrap(),
            vec![(2, true), (1, true), (3, true)]
        );
        // Tickets go on after a release.
        let t4 = w.push(
            item(4, &log),
            Body::MessagePayload,
            State::InFlight,
            Duration::ZERO,
        );
        assert_eq!(t4, Ticket(3));
        assert!(w.get_mut(t[0]).is_none());
    }

    #[test]
    fn nothing_behind_an_abandoned_message_is_released() {
        let log = Arc::new(Log::default());
        let mut w = Window::new(2);
        let now = Instant::now();
        let a = w.push(
            item(1, &log),
            Body::MessagePayload,
            State::InFlight,
            Duration::ZERO,
        );
        let b = w.push(
            item(2, &log),
            Body::MessagePayload,
            State::InFlight,
            Duration::ZERO,
        );
        w.get_mut(a).unwrap().state = State::Waiting(now);
        assert_eq!(w.due(now), Some(a));
        assert_eq!(w.next_retry(), Some(now));
        w.finish(b, State::Sent);
        assert!(w.abandon_waiting());
        w.release();
        assert_eq!(w.unflushed(), 0);
        assert!(w.is_settled());
        drop(w);
        let got = log.0.lock().unwrap().clone();
        assert!(
            got.contains(&(1, false)) && got.contains(&(2, false)),
            "{got:?}"
        );
    }
}
