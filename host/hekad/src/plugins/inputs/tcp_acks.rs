//! TcpInput's delivery acknowledgements (`delivery_acks = true`): one connection's
//! bookkeeping of which bytes of its stream have been delivered by the outputs, and
//! writing that back to the sender (the format is `crate::plugins::net`'s).
//!
//! Each read's records go out under one [`Ack`] (a unit, opened and closed by
//! `InputBatch::deliver_records` through [`AckUnits`]) that remembers the stream
//! offset just past them. Units complete in any order (outputs differ in speed); the
//! offset written back is the end of the longest prefix of completed units, so it
//! never covers a record still in flight. A unit abandoned (an output gave up on a
//! message: shutdown, a terminated plugin) fails the connection: it is closed without
//! acknowledging further, and the sender sends everything unacknowledged again on its
//! next connection.
//!
//! Memory: one small entry per read whose records are still in the pipeline, bounded
//! by the pipeline's queues (a read holds at least one record).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use heka_pipeline::{Ack, AckSink, AckUnits, SplitRunner};

use crate::plugins::net::encode_ack;

/// One connection's acknowledgement state.
pub struct ConnAcks {
    shared: Arc<Shared>,
    next_id: u64,
    /// The offset last written back.
    written: u64,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Units not yet part of the delivered prefix, oldest first: id, end offset
    /// (`None` while the read's records are still being handed out), outcome.
    units: VecDeque<(u64, Option<u64>, Option<bool>)>,
    /// End offset of the delivered prefix.
    delivered: u64,
    /// Some unit was abandoned.
    failed: bool,
}

impl State {
    /// Moves `delivered` over the completed prefix.
    fn advance(&mut self) {
        while let Some(&(_, Some(end), Some(true))) = self.units.front() {
            self.delivered = end;
            self.units.pop_front();
        }
    }
}

impl AckSink for Shared {
    fn completed(&self, id: u64, delivered: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !delivered {
            state.failed = true;
        }
        if let Some(unit) = state.units.iter_mut().find(|u| u.0 == id) {
            unit.2 = Some(delivered);
        }
        state.advance();
    }
}

impl ConnAcks {
    pub fn new() -> ConnAcks {
        ConnAcks {
            shared: Arc::new(Shared::default()),
            next_id: 0,
            written: 0,
        }
    }

    /// Unit `id`'s records end at stream offset `end`.
    fn set_end(&self, id: u64, end: u64) {
        let mut state = self.lock();
        if let Some(u) = state.units.iter_mut().find(|u| u.0 == id) {
            u.1 = Some(end);
        }
        // The unit may have completed before its end was known.
        state.advance();
    }

    /// The stream has been consumed up to `offset` (records and skipped bytes: garbage,
    /// records that failed their signature check). With no unit in flight, everything
    /// before it is settled, so the sender may forget it too; otherwise the units'
    /// ends say how far.
    pub fn consumed_to(&self, offset: u64) {
        let mut state = self.lock();
        if state.units.is_empty() && offset > state.delivered {
            state.delivered = offset;
        }
    }

    /// Something is not yet acknowledged to the sender.
    pub fn pending(&self) -> bool {
        let state = self.lock();
        !state.units.is_empty() || state.delivered > self.written
    }

    /// Writes the delivered offset to the sender if it moved. An abandoned unit is
    /// an error: the connection must be closed.
    pub fn write_back(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let (delivered, failed) = {
            let state = self.lock();
            (state.delivered, state.failed)
        };
        if failed {
            return Err(io::Error::other(
                "a message of this connection was not delivered (abandoned)",
            ));
        }
        if delivered > self.written {
            out.write_all(&encode_ack(delivered))?;
            out.flush()?;
            self.written = delivered;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl AckUnits for ConnAcks {
    /// One unit per read: its records are routed together anyway.
    fn unit_bytes(&self) -> usize {
        usize::MAX
    }

    fn open(&mut self) -> Ack {
        let id = self.next_id;
        self.next_id += 1;
        self.lock().units.push_back((id, None, None));
        Ack::new(id, self.shared.clone())
    }

    /// Notes where the unit's records end; the batch then releases its own share,
    /// which may complete the unit (`Shared::completed` advances the prefix).
    fn closed(&mut self, ack: &Ack, _records: usize, runner: &mut SplitRunner) {
        self.set_end(ack.id(), runner.offset());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `InputBatch::deliver_records` does at a unit's close.
    fn end(acks: &mut ConnAcks, unit: Ack, end: u64) {
        acks.set_end(unit.id(), end);
        unit.done();
    }

    #[test]
    fn only_the_completed_prefix_is_acknowledged() {
        let mut acks = ConnAcks::new();
        let mut out = Vec::new();
        let a = acks.open();
        let a_copy = a.clone();
        end(&mut acks, a, 100);
        let b = acks.open();
        let b_copy = b.clone();
        end(&mut acks, b, 250);
        // The second unit completes first: nothing may be acknowledged yet.
        b_copy.done();
        acks.write_back(&mut out).unwrap();
        assert!(out.is_empty());
        assert!(acks.pending());
        a_copy.done();
        acks.write_back(&mut out).unwrap();
        assert_eq!(out, encode_ack(250));
        assert!(!acks.pending());
        // A unit whose records all completed before `end` (nothing matched them).
        let c = acks.open();
        end(&mut acks, c, 300);
        acks.write_back(&mut out).unwrap();
        assert_eq!(&out[8..], encode_ack(300));
    }

    #[test]
    fn skipped_bytes_are_acknowledged_once_nothing_is_in_flight() {
        let mut acks = ConnAcks::new();
        let mut out = Vec::new();
        let a = acks.open();
        let a_copy = a.clone();
        end(&mut acks, a, 100);
        // Bytes skipped after the unit: not while it is in flight.
        acks.consumed_to(150);
        acks.write_back(&mut out).unwrap();
        assert!(out.is_empty());
        a_copy.done();
        acks.consumed_to(150);
        acks.write_back(&mut out).unwrap();
        assert_eq!(out, encode_ack(150));
        assert!(!acks.pending());
    }

    #[test]
    fn an_abandoned_unit_fails_the_connection() {
        let mut acks = ConnAcks::new();
        let a = acks.open();
        let copy = a.clone();
        end(&mut acks, a, 10);
        drop(copy);
        let mut out = Vec::new();
        assert!(acks.write_back(&mut out).is_err());
        assert!(out.is_empty());
    }
}
