//! The limits every plugin call is held to, and their one wording: Heka's injection
//! count rule ([`InjectCounter`] over a [`CallKind`]) and [`LimitExceeded`], the
//! reason a plugin is terminated for a broken limit.
//!
//! This module sits below both users: the filter context (`crate::context`) applies
//! the count to every filter, native ones included, and the sandbox contract
//! (`crate::sandbox`, which re-exports all of this) applies it, with the sandbox's own
//! memory, instruction and output limits, while a guest runs. It imports nothing of
//! the crate, so neither of them imports the other through it.

use std::time::Duration;

/// Injections one decoder call may make. Heka had no count, but each injection took
/// a pack from the input pool (`poolsize`, 100) and blocked when it ran out; here the
/// injections of a call are held until it returns, so the pool size is the cap.
pub const MAX_DECODER_INJECT: usize = 100;

/// Which entry point a call runs (decides the injection count limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// A filter's `process_message`, one or more messages (counted per message).
    Process,
    /// A filter's `timer_event`.
    Timer,
    /// An encoder's `encode`: only the last output is kept.
    Encode,
    /// A decoder's `decode`.
    Decode,
    /// Start-up, state save and restore: nothing may be injected.
    Start,
}

/// Heka's injection count rule (`max_process_inject` per message processed,
/// `max_timer_inject` per timer event), written once: [`crate::sandbox::Emitted`] applies it while a
/// guest runs, and the pipeline's `FilterContext` applies it to every filter, native
/// ones included.
#[derive(Clone, Debug)]
pub struct InjectCounter {
    max_process: usize,
    max_timer: usize,
    kind: CallKind,
    /// Messages in the current call (a `Process` call over a batch); an index a guest
    /// reports is clamped below it, so a call holds at most `units × max_process`.
    units: u32,
    /// The message index the count is for (`Process` calls over a batch).
    at: u32,
    count: usize,
}

impl InjectCounter {
    pub fn new(max_process_inject: usize, max_timer_inject: usize) -> InjectCounter {
        InjectCounter {
            max_process: max_process_inject,
            max_timer: max_timer_inject,
            kind: CallKind::Process,
            units: 1,
            at: 0,
            count: 0,
        }
    }

    /// A call of `kind` over one message starts: nothing counted yet.
    pub fn begin(&mut self, kind: CallKind) {
        self.begin_batch(kind, 1);
    }

    /// A call of `kind` over `units` messages starts (a filter's batch).
    pub fn begin_batch(&mut self, kind: CallKind, units: usize) {
        self.kind = kind;
        self.units = u32::try_from(units.max(1)).unwrap_or(u32::MAX);
        self.at = 0;
        self.count = 0;
    }

    /// Counts one injection made while processing message `at` of the call (0 outside
    /// batches); refuses it past the limit of the call's kind. The count restarts only
    /// when `at` moves forward inside the batch: a guest that reports indexes out of
    /// order or past the batch cannot reset it (they count against the current or the
    /// last message).
    pub fn count(&mut self, at: u32) -> Result<(), LimitExceeded> {
        let (limit, per) = match self.kind {
            CallKind::Process => {
                let at = at.min(self.units - 1);
                if at > self.at {
                    self.at = at;
                    self.count = 0;
                }
                (self.max_process, "process_message")
            }
            CallKind::Timer => (self.max_timer, "timer_event"),
            CallKind::Decode => (MAX_DECODER_INJECT, "decode"),
            // Encoders keep their last output (see `Emitted`): no count.
            CallKind::Encode => (usize::MAX, "encode"),
            CallKind::Start => (0, "start-up call"),
        };
        if self.count >= limit {
            return Err(LimitExceeded::InjectCount { limit, per });
        }
        self.count += 1;
        Ok(())
    }
}

/// A limit a guest broke: the plugin is terminated with this text as the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("memory_limit exceeded ({0} bytes)")]
    Memory(usize),
    #[error("instruction_limit exceeded ({0} per call)")]
    Instructions(u64),
    #[error("output_limit exceeded ({0} bytes)")]
    Output(usize),
    /// Heka's wording, with the limit and the kind of call it applies to.
    #[error("exceeded InjectMessage count ({limit} per {per})")]
    InjectCount { limit: usize, per: &'static str },
    /// A guest call ran past its wall-clock cap (wasm: time spent in host calls
    /// included, which the instruction budget cannot see).
    #[error("call_time_limit exceeded ({} ms per call)", .0.as_millis())]
    CallTime(Duration),
    /// A host or WASI call that would block was refused.
    #[error("blocking call refused: {0}")]
    Blocking(String),
    /// hekad is stopping and the guest did not return in time (Heka's "aborted").
    #[error("aborted")]
    Aborted,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_wordings() {
        assert_eq!(
            LimitExceeded::InjectCount {
                limit: 1,
                per: "process_message"
            }
            .to_string(),
            "exceeded InjectMessage count (1 per process_message)"
        );
        assert_eq!(
            LimitExceeded::CallTime(Duration::from_millis(200)).to_string(),
            "call_time_limit exceeded (200 ms per call)"
        );
    }
}
