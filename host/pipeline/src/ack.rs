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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Record(Mutex<Vec<(u64, bool)>>);
    impl AckSink for Record {
        fn completed(&self, id: u64, delivered: bool) {
            self.0.lock().unwrap().push((id, delivered));
        }
    }

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
    fn one_dropped_is_abandoned() {
        let sink = Arc::new(Record::default());
        let a = Ack::new(1, sink.clone());
        let b = a.clone();
        drop(a);
        b.done();
        assert_eq!(*sink.0.lock().unwrap(), vec![(1, false)]);
    }
}
