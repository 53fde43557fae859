//! The host side of `heka.wit`'s `host` interface, the per-store state behind it, the
//! memory limiter (the WASI context is made in `wasi`).
//!
//! Host calls never touch the pipeline directly: injections are recorded here (with
//! the index of the message that made them) and replayed by the plugin wrapper after
//! the call, which is how Heka's ordering is kept while a whole batch is one call.
//! A limit broken inside a host call is recorded in `fatal` as well as returned to the
//! guest, so a guest that ignores the error is terminated all the same.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::filter::heka::plugin::host::Host;
use crate::bindings::filter::heka::plugin::types::Host as TypesHost;
use crate::bindings::{ConfigValue, Level};

/// Hard cap on injections recorded in one call, whatever the pipeline's own limits:
/// the host's memory must not be the guest's to fill.
pub(crate) const MAX_INJECTIONS_PER_CALL: usize = 100_000;

/// What a guest asked to emit during a call.
#[derive(Debug)]
pub(crate) enum Injection {
    /// `inject-payload`: the output buffer at that moment.
    Payload {
        at: u32,
        payload_type: String,
        payload_name: String,
        payload: String,
    },
    /// `inject-message`: protobuf bytes.
    Message { at: u32, bytes: Vec<u8> },
}

impl Injection {
    pub(crate) fn at(&self) -> u32 {
        match self {
            Injection::Payload { at, .. } | Injection::Message { at, .. } => *at,
        }
    }
}

/// Refuses linear-memory growth past `memory_limit` and remembers that it did.
pub(crate) struct MemoryLimiter {
    pub(crate) limit: usize,
    pub(crate) exceeded: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any plugin.
        Ok(desired <= 1_000_000)
    }
}

/// Everything a store carries for one sandbox.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) name: Arc<str>,
    config: HashMap<String, ConfigValue>,
    output_limit: usize,
    /// `add-to-payload` buffer; survives calls until `inject-payload` (Heka's behaviour).
    pub(crate) buffer: String,
    pub(crate) injections: Vec<Injection>,
    /// A limit broken in a host call (the reason), terminating the plugin.
    pub(crate) fatal: Option<String>,
    /// The guest's last panic message (from the SDK's panic hook), for the trap reason.
    pub(crate) panic: Option<String>,
}

impl HostState {
    pub(crate) fn new(cfg: &crate::SandboxConfig) -> HostState {
        HostState {
            wasi: crate::wasi::locked_down_ctx(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                limit: cfg.memory_limit,
                exceeded: false,
            },
            name: Arc::from(cfg.name.as_str()),
            config: cfg.config.clone(),
            output_limit: cfg.output_limit,
            buffer: String::new(),
            injections: Vec::new(),
            fatal: None,
            panic: None,
        }
    }

    fn refuse(&mut self, reason: String) -> Result<(), String> {
        if self.fatal.is_none() {
            self.fatal = Some(reason.clone());
        }
        Err(reason)
    }

    fn output_limit_exceeded(&mut self) -> Result<(), String> {
        let reason = format!("output_limit exceeded ({} bytes)", self.output_limit);
        self.refuse(reason)
    }

    fn record(&mut self, injection: Injection) -> Result<(), String> {
        if self.injections.len() >= MAX_INJECTIONS_PER_CALL {
            return self.refuse(format!(
                "more than {MAX_INJECTIONS_PER_CALL} injections in one call"
            ));
        }
        self.injections.push(injection);
        Ok(())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl TypesHost for HostState {}

impl Host for HostState {
    fn read_config(&mut self, key: String) -> Option<ConfigValue> {
        self.config.get(&key).cloned()
    }

    fn log(&mut self, level: Level, msg: String) {
        let plugin = &*self.name;
        match level {
            Level::Error => {
                if msg.starts_with("panic: ") {
                    self.panic = Some(msg.replace('\n', " "));
                }
                tracing::error!(target: "heka_sandbox::guest", plugin, "{msg}")
            }
            Level::Warn => tracing::warn!(target: "heka_sandbox::guest", plugin, "{msg}"),
            Level::Info => tracing::info!(target: "heka_sandbox::guest", plugin, "{msg}"),
            Level::Debug => tracing::debug!(target: "heka_sandbox::guest", plugin, "{msg}"),
        }
    }

    fn add_to_payload(&mut self, data: String) -> Result<(), String> {
        if self.buffer.len().saturating_add(data.len()) > self.output_limit {
            return self.output_limit_exceeded();
        }
        self.buffer.push_str(&data);
        Ok(())
    }

    fn inject_payload(
        &mut self,
        at: u32,
        payload_type: String,
        payload_name: String,
        data: String,
    ) -> Result<(), String> {
        let payload = if self.buffer.is_empty() {
            // The common case (one call with the whole output): no copy into the buffer.
            if data.len() > self.output_limit {
                return self.output_limit_exceeded();
            }
            if data.is_empty() {
                return Ok(());
            }
            data
        } else {
            self.add_to_payload(data)?;
            std::mem::take(&mut self.buffer)
        };
        self.record(Injection::Payload {
            at,
            payload_type,
            payload_name,
            payload,
        })
    }

    fn inject_message(&mut self, at: u32, msg: Vec<u8>) -> Result<(), String> {
        if msg.len() > self.output_limit {
            return self.output_limit_exceeded();
        }
        self.record(Injection::Message { at, bytes: msg })
    }
}
