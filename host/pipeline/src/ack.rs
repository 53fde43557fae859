//! End-to-end delivery acknowledgement.
//!
//! An [`Ack`] travels with every message that came from an input record. Each holder
//! (a routed copy of the message, a filter holding it until its next injection, an
//! output retrying it) owns one clone; a holder either calls [`Ack::done`] (delivered,
//! or dropped on purpose and logged) or drops it (abandoned: shutdown, crash of a
//! plugin). When the last holder is gone, the [`AckSink`] hears once whether every
//! holder finished (`true`) or some abandoned it (`false`). Inputs use that to move
//! their checkpoints (journals) only past records that were really delivered.
//!
//! One `Ack` usually covers a whole chunk of records (the tailer makes one per read),
//! so the per-message cost is an atomic increment and decrement, not an allocation.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Receives the verdict on an acknowledged unit (`id` is the input's own number).
pub trait AckSink: Send + Sync {
    /// Called exactly once, by whichever thread released the last holder.
    fn completed(&self, id: u64, delivered: bool);
}

struct AckState {
    id: u64,
    holders: AtomicUsize,
    abandoned: AtomicBool,
    sink: Arc<dyn AckSink>,
}

/// One holder's share of an acknowledged unit. Clone = one more holder.
pub struct Ack {
    state: Option<Arc<AckState>>,
}

impl Ack {
    /// A new unit with one holder (the caller).
    pub fn new(id: u64, sink: Arc<dyn AckSink>) -> Ack {
        Ack {
            state: Some(Arc::new(AckState {
                id,
                holders: AtomicUsize::new(1),
                abandoned: AtomicBool::new(false),
                sink,
            })),
        }
    }

    /// This holder is finished with it: delivered, or dropped on purpose.
    pub fn done(mut self) {
        if let Some(state) = self.state.take() {
            release(&state);
        }
    }

    /// The unit's id as given to [`Ack::new`].
    pub fn id(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.id)
    }
}

/// Adds `acks` to the shares a holder keeps (a filter until its next injection, an
/// output until its next flush), keeping one share per unit in a row: a second share
/// of the unit last held is finished at once, since the one kept already stops the
/// unit from completing before the holder is done with it (and abandoning the kept
/// one abandons the unit, as abandoning both would). Consecutive messages of one
/// read chunk share a unit, so a filter aggregating 100 lines holds one ack, not 100.
pub fn hold(held: &mut Vec<Ack>, acks: impl IntoIterator<Item = Ack>) {
    for ack in acks {
        match (held.last(), &ack.state) {
            (Some(Ack { state: Some(last) }), Some(state)) if Arc::ptr_eq(last, state) => {
                ack.done()
            }
            _ => held.push(ack),
        }
    }
}

fn release(state: &AckState) {
    if state.holders.fetch_sub(1, Ordering::AcqRel) == 1 {
        let delivered = !state.abandoned.load(Ordering::Acquire);
        state.sink.completed(state.id, delivered);
    }
}

impl Clone for Ack {
    fn clone(&self) -> Ack {
        if let Some(state) = &self.state {
            state.holders.fetch_add(1, Ordering::Relaxed);
        }
        Ack {
            state: self.state.clone(),
        }
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            state.abandoned.store(true, Ordering::Release);
            release(&state);
        }
    }
}

impl fmt::Debug for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ack").field("id", &self.id()).finish()
    }
}

/// What the crate's tests share about acknowledgements.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Mutex;

    use super::AckSink;

    /// Records every (ack id, delivered) verdict, in order.
    #[derive(Default)]
    pub(crate) struct Record(pub(crate) Mutex<Vec<(u64, bool)>>);

    impl AckSink for Record {
        fn completed(&self, id: u64, delivered: bool) {
            self.0.lock().unwrap().push((id, delivered));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Record;
    use super::*;

    #[test]
    fn all_done_is_delivered() {
        let sink = Arc::new(Record::default());
        let a = Ack::new(7, sink.clone());
        let b = a.clone();
        a.done();
        assert!(sink.0.lock().unwrap().is_empty());
        b.done();
        assert_eq!(*sink.0.lock().unwrap(), vec![(7, true)]);
    }

    #[test]
    fn hold_keeps_one_share_per_unit_in_a_row() {
        let sink = Arc::new(Record::default());
        let a = Ack::new(1, sink.clone());
        let b = Ack::new(2, sink.clone());
        let mut held = Vec::new();
        hold(
            &mut held,
            [a.clone(), a.clone(), b.clone(), b.clone(), a.clone()],
        );
        assert_eq!(held.iter().map(Ack::id).collect::<Vec<_>>(), [1, 2, 1]);
        a.done();
        b.done();
        assert!(sink.0.lock().unwrap().is_empty(), "still held");
        for ack in held.drain(..) {
            ack.done();
        }
        assert_eq!(*sink.0.lock().unwrap(), vec![(2, true), (1, true)]);
        // Abandoning the kept share abandons the unit.
        let c = Ack::new(3, sink.clone());
        hold(&mut held, [c.clone(), c.clone()]);
        c.done();
        held.clear();
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(3, false)));
    }

    #[test]
    fn one_dropped_is_abandoned() {
        let sink = Arc::new(Record::default());
        let a = Ack::new(1, sink.clone());
        let b = a.clone();
        drop(a);
        b.done();
        assert_eq!(*sink.0.lock().unwrap(), vec![(1, false)]);
    }
}
