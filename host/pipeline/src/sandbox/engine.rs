//! What a sandbox engine implements: run the guest's entry points within its limits,
//! record what the guest emits in an [`Emitted`](super::Emitted), report outcomes. The
//! Heka rules around those calls live in the generic plugins, once.

use std::sync::Arc;

use heka_message::Message;

use super::emitted::Injection;
use super::limits::SandboxLimits;
use crate::plugin::{PluginError, PluginResult};
use crate::stats::PluginStats;

/// The non-ok outcomes of a batch, by index in the batch, in order. Processing stops at
/// the first `Fatal`, which is then the last entry.
pub type Outcomes = Vec<(u32, PluginError)>;

/// What every engine offers, whatever the plugin kind.
pub trait Engine: Send {
    /// The plugin's name (log attribution).
    fn name(&self) -> &str;

    /// The injections of the last call, in the order they were made.
    fn take_injections(&mut self) -> Vec<Injection>;

    /// Marks the plugin terminated with `reason`; every later call fails at once.
    fn terminate(&mut self, reason: String) -> PluginError;

    /// Whether the plugin was terminated (a trap, a limit, a fatal outcome).
    fn is_terminated(&self) -> bool;

    /// Bytes of memory the guest holds now (Heka's `Memory` report field).
    fn memory_used(&self) -> usize;

    /// Which engine this is, and the plugin's limits (the stats' labels and limits).
    fn identity(&self) -> (crate::stats::Engine, &SandboxLimits);

    /// What the last call used: its largest output in bytes and the share of its
    /// work budget (instructions or fuel) it spent, 0 to 1 (0 when unlimited).
    fn last_call(&self) -> (usize, f64);

    /// `preserve_data`, saving: the state to keep (`None`: nothing to keep).
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }

    /// `preserve_data`, restoring what `save_state` returned in an earlier run.
    fn restore_state(&mut self, _data: &[u8]) -> Result<(), String> {
        Err("this plugin cannot restore preserved data".into())
    }
}

/// A filter engine (Heka's SandboxFilter).
pub trait FilterEngine: Engine {
    /// Runs `process_message` over `batch`, in order, recording each injection with
    /// its message's index. `Err` is a failure of the whole call (a trap, a broken
    /// limit), which terminates the plugin.
    fn process(&mut self, batch: &[&Message]) -> PluginResult<Outcomes>;

    /// Runs `timer_event(ns)`.
    fn timer_event(&mut self, now_ns: i64) -> PluginResult;
}

/// An encoder engine (Heka's SandboxEncoder).
pub trait EncoderEngine: Engine {
    /// Runs the guest's encode over `msg`; the output is its last injection. Returns
    /// the message as the guest rewrote it, when it did (`write_message`).
    fn encode(&mut self, msg: &Message) -> PluginResult<Option<Message>>;
}

/// A decoder engine (Heka's SandboxDecoder).
pub trait DecoderEngine: Engine {
    /// Runs the guest's decode over `msg` (the input's message; `raw` the record
    /// when the splitter uses message bytes). Changes the guest writes to the message
    /// (`write_message`) are made to `msg` in place.
    fn decode(&mut self, msg: &mut Message, raw: Option<&[u8]>) -> PluginResult;
}

/// The sandbox gauges' limits, once stats are attached (every plugin kind alike).
pub(super) fn attach_stats<E: Engine + ?Sized>(engine: &E, stats: &Arc<PluginStats>) {
    let (kind, limits) = engine.identity();
    stats.sandbox().set_limits(
        kind,
        limits.memory_limit as u64,
        limits.output_limit as u64,
        limits.instruction_limit,
    );
}

/// After a guest call: memory now, the call's largest output and its budget share
/// (a few relaxed atomics: cheap enough for a decoder's per-message call).
pub(super) fn record_call<E: Engine + ?Sized>(engine: &E, stats: Option<&Arc<PluginStats>>) {
    if let Some(stats) = stats {
        let (output, budget) = engine.last_call();
        let memory = engine.memory_used() as u64;
        stats.sandbox().record_call(memory, output as u64, budget);
    }
}
