//! [`StopSignal`]: the "hekad is stopping" flag every runner and input watches.
//!
//! It is a channel that is never sent on: raising the signal drops the only sender, so
//! every receiver sees a disconnection. That makes it usable both as a flag
//! ([`StopSignal::is_raised`]), as an interruptible sleep ([`StopSignal::wait_timeout`])
//! and inside `crossbeam_channel::select!` ([`StopSignal::receiver`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

/// A one-shot, cloneable stop flag.
#[derive(Clone)]
pub struct StopSignal {
    sender: Arc<Mutex<Option<Sender<()>>>>,
    receiver: Receiver<()>,
}

impl Default for StopSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl StopSignal {
    /// A signal not yet raised.
    pub fn new() -> StopSignal {
        let (tx, rx) = crossbeam_channel::bounded(0);
        StopSignal {
            sender: Arc::new(Mutex::new(Some(tx))),
            receiver: rx,
        }
    }

    /// Raises the signal (idempotent).
    pub fn raise(&self) {
        if let Ok(mut guard) = self.sender.lock() {
            guard.take();
        }
    }

    /// True once raised.
    pub fn is_raised(&self) -> bool {
        matches!(self.receiver.try_recv(), Err(TryRecvError::Disconnected))
    }

    /// Sleeps up to `timeout`; returns true as soon as the signal is raised.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        matches!(
            self.receiver.recv_timeout(timeout),
            Err(RecvTimeoutError::Disconnected)
        )
    }

    /// A receiver that becomes disconnected when the signal is raised (for `select!`).
    pub fn receiver(&self) -> &Receiver<()> {
        &self.receiver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raise_is_seen_by_clones() {
        let s = StopSignal::new();
        let c = s.clone();
        assert!(!c.is_raised());
        assert!(!c.wait_timeout(Duration::from_millis(1)));
        s.raise();
        assert!(c.is_raised());
        assert!(c.wait_timeout(Duration::from_secs(10)));
    }
}
