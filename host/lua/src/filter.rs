//! [`LuaFilterEngine`]: the Lua engine of Heka's SandboxFilter.
//!
//! Each message is one `process_message()` call (Lua cannot take a batch; the message
//! is lent by reference for the call), recorded with its index in the batch so the
//! contract's [`SandboxFilter`] replays injections and outcomes in Heka's order, as it
//! does for wasm. `preserve_data` is Heka's Lua data file (`crate::preserve`), read and
//! written by the contract.

use std::path::Path;

use heka_message::Message;
use heka_pipeline::sandbox::{CallKind, FilterEngine, Outcomes, SandboxError, SandboxFilter};
use heka_pipeline::{PluginError, PluginResult};

use crate::LuaConfig;
use crate::runtime::{Runtime, forward_engine};
use crate::state::{Kind, MsgPtr, Raw, Slot};

/// A SandboxFilter over a Heka Lua script.
pub type LuaFilter = SandboxFilter<LuaFilterEngine>;

/// A loaded filter script.
pub struct LuaFilterEngine {
    runtime: Runtime,
}

forward_engine!(LuaFilterEngine);

/// Loads the script at `path`, runs its top level and restores preserved data.
pub fn load_filter(path: &Path, cfg: LuaConfig) -> Result<LuaFilter, SandboxError> {
    let runtime = Runtime::load(path, &cfg, Kind::Filter)?;
    SandboxFilter::start(
        LuaFilterEngine { runtime },
        &path.display().to_string(),
        &cfg.spec,
    )
}

impl FilterEngine for LuaFilterEngine {
    fn process(&mut self, msgs: &[&Message]) -> PluginResult<Outcomes> {
        self.runtime.begin_batch(CallKind::Process, msgs.len());
        let mut outcomes = Outcomes::new();
        for (i, &msg) in msgs.iter().enumerate() {
            self.runtime.state().at = i as u32;
            let result = self
                .runtime
                .call::<(mlua::Value, mlua::Value)>(
                    "process_message",
                    (),
                    Slot::Borrowed(MsgPtr::new(msg)),
                    Raw::Encode,
                )
                .and_then(|values| {
                    let status = self.runtime.status(values);
                    self.runtime.outcome(status)
                });
            match result {
                Ok(()) => {}
                // Injections made before a fatal end still go out, in order (Heka
                // delivered them as they were made): the contract replays up to here.
                Err(fatal @ PluginError::Fatal(_)) => {
                    outcomes.push((i as u32, fatal));
                    break;
                }
                Err(e) => outcomes.push((i as u32, e)),
            }
        }
        Ok(outcomes)
    }

    fn timer_event(&mut self, now_ns: i64) -> PluginResult {
        self.runtime.begin(CallKind::Timer);
        self.runtime
            .call::<()>("timer_event", now_ns as f64, Slot::Empty, Raw::Absent)?;
        // Heka ran a full collection after each timer event.
        if let Err(e) = self.runtime.lua().gc_collect() {
            tracing::warn!(plugin = %self.runtime.name(), error = %e, "lua gc failed");
        }
        Ok(())
    }
}
