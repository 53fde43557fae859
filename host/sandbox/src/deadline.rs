//! How long one guest call may take: the per-call wall-clock cap and the shutdown cap,
//! both enforced by wasmtime's epoch-deadline callback.
//!
//! Fuel bounds the work a call does; this bounds its time. The engine's ticker bumps
//! the epoch every [`EPOCH_TICK`]; a running call's store is armed to call back at the
//! next tick, and the callback counts the call's ticks down. At zero the call traps
//! with `Trap::Interrupt` ("wall-clock limit exceeded"). Counting ticks instead of
//! reading a clock keeps arming a call to two stores (no clock read per call).
//!
//! Shutdown: when hekad starts stopping ([`crate::SandboxEngine::stop_calls`]), every
//! call, the one running and each later one (final timer events, drains), gets at most
//! [`SHUTDOWN_CALL_LIMIT`] more. A guest that loops with `instruction_limit = 0` or a
//! long `call_time_limit` is therefore stopped ("stopped at shutdown") within that
//! bound instead of its own cap, while a healthy call (microseconds) is not affected.
//! Guest calls never wait in a host or WASI call (see `wasi`), so the tick callback
//! always gets to run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::{Store, UpdateDeadline};

use crate::engine::EPOCH_TICK;

/// The most a sandbox call may still run once hekad is stopping.
pub const SHUTDOWN_CALL_LIMIT: Duration = Duration::from_secs(1);

/// The trap of a call cut short because hekad is stopping.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped at shutdown (the call ran past the {} ms a call may still take once hekad is stopping)",
    SHUTDOWN_CALL_LIMIT.as_millis()
)]
pub(crate) struct StoppedAtShutdown;

/// Ticks in `d` (at least one).
fn ticks(d: Duration) -> u64 {
    (d.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// One store's call clock, shared with the store's epoch callback.
pub(crate) struct CallClock {
    /// Ticks the current call may still run; `u64::MAX` = no cap.
    left: AtomicU64,
    /// Whether the current call's cap was cut by the shutdown.
    cut: AtomicBool,
    /// The engine's "hekad is stopping" flag.
    stopping: Arc<AtomicBool>,
}

impl CallClock {
    /// Installs the epoch callback on `store` and returns the clock that arms it.
    pub(crate) fn install<T: 'static>(
        store: &mut Store<T>,
        stopping: Arc<AtomicBool>,
    ) -> Arc<CallClock> {
        let clock = Arc::new(CallClock {
            left: AtomicU64::new(u64::MAX),
            cut: AtomicBool::new(false),
            stopping,
        });
        let ticking = clock.clone();
        store.epoch_deadline_callback(move |_| ticking.tick());
        clock
    }

    /// Arms `store` for a call capped at `limit` (`Duration::ZERO` = no cap, but the
    /// shutdown cap still applies).
    pub(crate) fn arm<T>(&self, store: &mut Store<T>, limit: Duration) {
        let left = if limit.is_zero() {
            u64::MAX
        } else {
            // +1: the first tick may come at once.
            ticks(limit) + 1
        };
        self.left.store(left, Ordering::Relaxed);
        self.cut.store(false, Ordering::Relaxed);
        store.set_epoch_deadline(1);
    }

    /// The callback: one tick of the running call has passed.
    fn tick(&self) -> wasmtime::Result<UpdateDeadline> {
        let mut left = self.left.load(Ordering::Relaxed);
        if self.stopping.load(Ordering::Relaxed) {
            let cap = ticks(SHUTDOWN_CALL_LIMIT) + 1;
            if left > cap {
                left = cap;
                self.cut.store(true, Ordering::Relaxed);
            }
        }
        if left <= 1 {
            if self.cut.load(Ordering::Relaxed) {
                return Err(StoppedAtShutdown.into());
            }
            return Ok(UpdateDeadline::Interrupt);
        }
        if left != u64::MAX {
            self.left.store(left - 1, Ordering::Relaxed);
        }
        Ok(UpdateDeadline::Continue(1))
    }
}
