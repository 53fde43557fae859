//! [`LuaFilter`]: Heka's SandboxFilter over a Lua script.
//!
//! Each message is one `process_message()` call (the message lent by reference);
//! its injections are then handed to the [`FilterContext`] with Heka's filter rules:
//! `inject_message` gets `Type` prefixed with `heka.sandbox.`, `Logger` = the filter's
//! name and `Hostname` = hekad's; `inject_payload` becomes `Type=heka.sandbox-output`
//! with `Fields[payload_type]` (representation `file-extension`) and
//! `Fields[payload_name]`. A refused injection (too many, loop, circular) is fatal, as
//! the error Heka raised inside the sandbox was.

use std::path::{Path, PathBuf};

use heka_message::{Message, Value};
use heka_pipeline::{Filter, FilterContext, Pack, PluginError, PluginResult};

use crate::runtime::{Injection, Kind, MsgPtr, Raw, Runtime, Slot};
use crate::{LuaConfig, LuaError};

/// A SandboxFilter running a Heka Lua script.
pub struct LuaFilter {
    runtime: Runtime,
    preservation_file: Option<PathBuf>,
}

impl LuaFilter {
    /// Loads the script at `path`, runs its top level and restores preserved data.
    pub fn load(path: &Path, cfg: LuaConfig) -> Result<LuaFilter, LuaError> {
        let runtime = Runtime::load(path, &cfg, Kind::Filter)?;
        Ok(LuaFilter {
            runtime,
            preservation_file: cfg.preservation_file,
        })
    }

    /// Bytes the Lua state holds now (Heka's `Memory` report field).
    pub fn memory_used(&self) -> usize {
        self.runtime.lua().used_memory()
    }

    fn run_one(&mut self, slot: Slot, ctx: &mut FilterContext) -> PluginResult {
        let values = self.runtime.call::<(mlua::Value, mlua::Value)>(
            "process_message",
            (),
            slot,
            Raw::Encode,
        )?;
        let status = self.runtime.status(values);
        // Injections made before a fatal status still go out, in order (Heka
        // delivered them as they were made).
        for inj in self.runtime.take_injections() {
            self.inject(inj, ctx)?;
        }
        self.runtime.outcome(status)
    }

    fn inject(&mut self, inj: Injection, ctx: &mut FilterContext) -> PluginResult {
        let mut msg = ctx.new_message();
        match inj {
            Injection::Payload {
                payload_type,
                payload_name,
                payload,
            } => {
                msg.r#type = Some("heka.sandbox-output".into());
                msg.payload = Some(payload);
                msg.add_field(
                    "payload_type",
                    Value::String(payload_type),
                    "file-extension",
                );
                msg.add_field("payload_name", Value::String(payload_name), "");
            }
            Injection::Message(mut m) => {
                if m.uuid.len() != 16 {
                    m.uuid = std::mem::take(&mut msg.uuid);
                }
                if m.timestamp == 0 {
                    m.timestamp = msg.timestamp;
                }
                m.r#type = Some(format!("heka.sandbox.{}", m.type_()));
                m.logger = msg.logger.take();
                m.hostname = msg.hostname.take();
                if m.pid.is_none() {
                    m.pid = msg.pid;
                }
                msg = m;
            }
        }
        ctx.inject(msg)
            .map_err(|e| self.runtime.terminate(format!("inject_message() {e}")))
    }
}

impl Filter for LuaFilter {
    fn process_message(&mut self, msg: &Message, ctx: &mut FilterContext) -> PluginResult {
        self.run_one(Slot::Borrowed(MsgPtr::new(msg)), ctx)
    }

    fn process_batch(&mut self, batch: &[Pack], ctx: &mut FilterContext) -> PluginResult {
        for (i, pack) in batch.iter().enumerate() {
            ctx.begin_message(i);
            match self.run_one(Slot::Shared(pack.msg.clone()), ctx) {
                Ok(()) | Err(PluginError::Skip) => {}
                Err(PluginError::Failed(reason)) => ctx.message_failed(i, reason),
                Err(fatal @ PluginError::Fatal(_)) => return Err(fatal),
            }
        }
        Ok(())
    }

    fn timer_event(&mut self, now_ns: i64, ctx: &mut FilterContext) -> PluginResult {
        self.runtime
            .call::<()>("timer_event", now_ns as f64, Slot::Empty, Raw::Absent)?;
        for inj in self.runtime.take_injections() {
            self.inject(inj, ctx)?;
        }
        // Heka ran a full collection after each timer event.
        if let Err(e) = self.runtime.lua().gc_collect() {
            tracing::warn!(plugin = %self.runtime.name(), error = %e, "lua gc failed");
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        if let Some(file) = &self.preservation_file {
            self.runtime.preserve(file);
        }
    }
}

impl std::fmt::Debug for LuaFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaFilter")
            .field("name", &self.runtime.name())
            .field("terminated", &self.runtime.is_terminated())
            .finish()
    }
}
