//! Live-tail taps: copies of routed messages that match a tap's matcher, for
//! `GET /api/v1/tail` and `hekad tail`.
//!
//! A tap never slows the pipeline: the router offers each message with `try_send`
//! into the tap's bounded channel and, when it is full (a slow browser), drops the
//! copy and counts it. With no tap open the router pays one relaxed load per routing
//! call; with taps open, one shared read lock and one match per tap and message.
//! Taps are capped in number ([`MAX_TAPS`]) and each channel holds at most
//! [`TAP_CAPACITY`] messages, so a tail session costs bounded memory.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use heka_message::{Matcher, Message};

/// Most taps open at once.
pub const MAX_TAPS: usize = 8;
/// Messages a tap's channel holds before copies are dropped.
pub const TAP_CAPACITY: usize = 1024;

struct TapEntry {
    id: u64,
    matcher: Matcher,
    tx: Sender<Arc<Message>>,
    dropped: Arc<AtomicU64>,
}

/// The open taps.
#[derive(Default)]
pub struct Taps {
    active: AtomicUsize,
    next_id: AtomicU64,
    list: RwLock<Vec<TapEntry>>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for Taps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Taps")
            .field("active", &self.active.load(Ordering::Relaxed))
            .finish()
    }
}

/// Why a tap could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TapError {
    #[error("too many live tails open (at most {MAX_TAPS})")]
    TooMany,
}

/// An open tap: receives matching messages until dropped.
pub struct Tap {
    taps: Arc<Taps>,
    id: u64,
    rx: Receiver<Arc<Message>>,
    dropped: Arc<AtomicU64>,
}

impl Tap {
    /// The next message, if one is queued.
    pub fn try_recv(&self) -> Option<Arc<Message>> {
        self.rx.try_recv().ok()
    }

    /// Waits up to `timeout` for the next message.
    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Option<Arc<Message>> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Copies this tap dropped because it was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.taps.close(self.id);
    }
}

impl Taps {
    /// Opens a tap: copies of routed messages `matcher` accepts, until dropped.
    pub fn open(self: &Arc<Self>, matcher: Matcher) -> Result<Tap, TapError> {
        let taps: &Taps = self;
        let (tx, rx) = crossbeam_channel::bounded(TAP_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        let id = taps.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut list = match taps.list.write() {
                Ok(l) => l,
                Err(poisoned) => poisoned.into_inner(),
            };
            if list.len() >= MAX_TAPS {
                return Err(TapError::TooMany);
            }
            list.push(TapEntry {
                id,
                matcher,
                tx,
                dropped: dropped.clone(),
            });
            taps.active.store(list.len(), Ordering::Release);
        }
        Ok(Tap {
            taps: self.clone(),
            id,
            rx,
            dropped,
        })
    }

    fn close(&self, id: u64) {
        let mut list = match self.list.write() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        list.retain(|t| t.id != id);
        self.active.store(list.len(), Ordering::Release);
    }

    /// Copies dropped because a tap was full, over every tap.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Open taps.
    pub fn sessions(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Whether any tap is open (the router's one check per routing call).
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.active.load(Ordering::Relaxed) != 0
    }

    /// Offers a routed message to every tap whose matcher accepts it.
    pub(crate) fn offer(&self, msg: &Arc<Message>) {
        let Ok(list) = self.list.read() else { return };
        for tap in list.iter() {
            if tap.matcher.matches(msg) {
                match tap.tx.try_send(msg.clone()) {
                    Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                    Err(TrySendError::Full(_)) => {
                        tap.dropped.fetch_add(1, Ordering::Relaxed);
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(t: &str) -> Arc<Message> {
        Arc::new(Message {
            r#type: Some(t.to_owned()),
            ..Message::default()
        })
    }

    #[test]
    fn taps_copy_matches_drop_when_full_and_close_on_drop() {
        let taps = Arc::new(Taps::default());
        let tap = taps.open(Matcher::parse("Type == 'a'").unwrap()).unwrap();
        assert!(taps.any());
        taps.offer(&msg("a"));
        taps.offer(&msg("b"));
        assert_eq!(tap.try_recv().unwrap().r#type.as_deref(), Some("a"));
        assert!(tap.try_recv().is_none());
        for _ in 0..TAP_CAPACITY + 5 {
            taps.offer(&msg("a"));
        }
        assert_eq!(tap.dropped(), 5);
        assert_eq!(taps.dropped(), 5);
        drop(tap);
        assert!(!taps.any());
    }

    #[test]
    fn taps_are_capped() {
        let taps = Arc::new(Taps::default());
        let open: Vec<_> = (0..MAX_TAPS)
            .map(|_| taps.open(Matcher::parse("TRUE").unwrap()).unwrap())
            .collect();
        assert_eq!(
            taps.open(Matcher::parse("TRUE").unwrap()).err(),
            Some(TapError::TooMany)
        );
        drop(open);
        assert_eq!(taps.sessions(), 0);
    }
}
