//! [`StopSignal`]: the "hekad is stopping" flag every runner and input watches.
//!
//! It is a channel that is never sent on: raising the signal drops the only sender, so
//! every receiver sees a disconnection. That makes it usable both as a flag
//! ([`StopSignal::is_raised`]), as an interruptible sleep ([`StopSignal::wait_timeout`])
//! and inside `crossbeam_channel::select!` ([`StopSignal::receiver`]).
//!
//! A signal may have children ([`StopSignal::child`]): raising the parent raises them,
//! raising a child leaves the parent alone. Each input watches its own child of the
//! pipeline's input stop, so a reload can stop one input while the others read on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

/// A one-shot, cloneable stop flag.
#[derive(Clone)]
pub struct StopSignal {
    sender: Arc<Mutex<Option<Sender<()>>>>,
    receiver: Receiver<()>,
    /// Raised with this one. Raised children are dropped when the next one is made,
    /// so the list stays as long as the live children.
    children: Arc<Mutex<Vec<StopSignal>>>,
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
            children: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A signal raised with this one (at once if this one is raised already) that can
    /// also be raised alone.
    pub fn child(&self) -> StopSignal {
        let child = StopSignal::new();
        let mut children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        children.retain(|c| !c.is_raised());
        if self.is_raised() {
            child.raise();
        } else {
            children.push(child.clone());
        }
        child
    }

    /// Raises the signal and its children (idempotent).
    pub fn raise(&self) {
        if let Ok(mut guard) = self.sender.lock() {
            guard.take();
        }
        let children =
            std::mem::take(&mut *self.children.lock().unwrap_or_else(|p| p.into_inner()));
        for child in children {
            child.raise();
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

    #[test]
    fn children_are_raised_with_their_parent_only() {
        let parent = StopSignal::new();
        let (a, b) = (parent.child(), parent.child());
        a.raise();
        assert!(a.is_raised() && !b.is_raised() && !parent.is_raised());
        parent.raise();
        assert!(b.is_raised());
        assert!(parent.child().is_raised(), "a child of a raised signal");
    }
}
