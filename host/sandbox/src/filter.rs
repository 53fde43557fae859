//! [`WasmFilterEngine`]: the wasm engine of Heka's SandboxFilter (the `filter` world).
//!
//! A batch crosses into the guest in ONE call, in the fixed-offset format of
//! `heka_message::batch`; the guest returns its non-ok outcomes and records its
//! injections through host calls, each tagged with the index of the message that made
//! it. The Heka rules around that (replay order, injection shapes, `preserve_data`)
//! are the contract's [`SandboxFilter`], not this file's.

use heka_message::Message;
use heka_pipeline::PluginResult;
use heka_pipeline::sandbox::{CallKind, FilterEngine, Outcomes, SandboxFilter};

use crate::bindings::filter::Filter as FilterWorld;
use crate::instance::{Instance, forward_engine, world_constructors};

/// A SandboxFilter over a wasm component.
pub type WasmFilter = SandboxFilter<WasmFilterEngine>;

/// A started component of the `filter` world.
pub struct WasmFilterEngine {
    instance: Instance<FilterWorld>,
    /// Reused batch buffer (`heka_message::batch::push_entry`).
    batch: Vec<u8>,
}

forward_engine!(WasmFilterEngine);

impl crate::instance::Start for FilterWorld {
    /// Checks the guest's batch format version before its `init`: a guest built
    /// against another format would misread every message.
    fn start(
        &self,
        store: &mut wasmtime::Store<crate::host::HostState>,
    ) -> wasmtime::Result<Result<(), String>> {
        if let Err(reason) = check_batch_format(self.call_batch_format(&mut *store)?) {
            return Ok(Err(reason));
        }
        self.call_init(store)
    }
}

/// The guest's filter-batch format version against the one this host writes.
fn check_batch_format(guest: u32) -> Result<(), String> {
    let host = heka_message::batch::FORMAT_VERSION;
    if guest == host {
        return Ok(());
    }
    Err(format!(
        "the component reads filter-batch format version {guest}, this hekad writes \
         version {host}: rebuild the plugin against this hekad's heka-sdk"
    ))
}

world_constructors!(
    load_filter,
    new_filter,
    WasmFilter,
    FilterWorld,
    SandboxFilter::start,
    |instance| WasmFilterEngine {
        instance,
        batch: Vec::new(),
    }
);

impl WasmFilterEngine {
    /// Wasmtime fuel the last call consumed (to calibrate `fuel_per_instruction`).
    pub fn last_fuel_used(&self) -> u64 {
        self.instance.last_fuel_used
    }
}

impl FilterEngine for WasmFilterEngine {
    fn process(&mut self, msgs: &[&Message]) -> PluginResult<Outcomes> {
        self.batch.clear();
        let mut prev = None;
        for &msg in msgs {
            heka_message::batch::push_entry(&mut self.batch, msg, prev);
            prev = Some(msg);
        }
        let batch = std::mem::take(&mut self.batch);
        let result = self
            .instance
            .call(CallKind::Process, msgs.len(), |b, store| {
                b.call_process_batch(store, &batch)
            });
        self.batch = batch;
        let mut outcomes = Outcomes::new();
        for o in result? {
            if let Err(e) = self.instance.outcome(o.outcome) {
                let fatal = matches!(e, heka_pipeline::PluginError::Fatal(_));
                outcomes.push((o.index, e));
                if fatal {
                    break;
                }
            }
        }
        Ok(outcomes)
    }

    fn timer_event(&mut self, now_ns: i64) -> PluginResult {
        let outcome = self.instance.call(CallKind::Timer, 1, |b, store| {
            b.call_timer_event(store, now_ns)
        })?;
        self.instance.outcome(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::check_batch_format;

    #[test]
    fn a_guest_of_another_batch_format_is_refused_with_both_versions() {
        let host = heka_message::batch::FORMAT_VERSION;
        assert_eq!(check_batch_format(host), Ok(()));
        let err = check_batch_format(host + 1).unwrap_err();
        assert!(err.contains(&format!("version {}", host + 1)), "{err}");
        assert!(err.contains(&format!("writes version {host}")), "{err}");
    }
}
