//! The host side of `heka.wit`'s `host` interface, the per-store state behind it, the
//! memory limiter (the WASI context is made in `wasi`).
//!
//! Host calls never touch the pipeline directly: what a guest emits goes into the
//! sandbox contract's [`Emitted`] (counted and bounded as it arrives, with the index
//! of the message that made it) and is replayed by the generic plugin after the call,
//! which is how Heka's ordering is kept while a whole batch is one call. A limit
//! broken inside a host call is remembered there as well as returned to the guest, so
//! a guest that ignores the error is terminated all the same.

use std::collections::HashMap;
use std::sync::Arc;

use heka_pipeline::sandbox::{ConfigValue as SpecValue, Emitted};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::filter::heka::plugin::host::Host;
use crate::bindings::filter::heka::plugin::types::Host as TypesHost;
use crate::bindings::{ConfigValue, Level};

/// Refuses linear-memory growth past `memory_limit` and remembers that it did.
pub(crate) struct MemoryLimiter {
    pub(crate) limit: usize,
    pub(crate) exceeded: bool,
    /// Bytes of linear memory granted so far (Heka's `Memory` report field).
    pub(crate) current: usize,
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
        self.current = desired;
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
    config: HashMap<String, SpecValue>,
    /// The output buffer and the current call's injections, bounded as they arrive.
    pub(crate) emitted: Emitted,
    /// The guest's last panic message (from the SDK's panic hook), for the trap reason.
    pub(crate) panic: Option<String>,
}

impl HostState {
    pub(crate) fn new(cfg: &crate::SandboxConfig) -> HostState {
        let spec = &cfg.spec;
        HostState {
            wasi: crate::wasi::locked_down_ctx(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                limit: spec.limits.memory_limit,
                exceeded: false,
                current: 0,
            },
            name: Arc::from(spec.name.as_str()),
            config: spec.config.clone(),
            emitted: Emitted::new(&spec.limits),
            panic: None,
        }
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
        // The contract's one ConfigValue, converted to the WIT's at the edge.
        Some(match self.config.get(&key)? {
            SpecValue::String(s) => ConfigValue::Text(s.clone()),
            SpecValue::Integer(i) => ConfigValue::Integer(*i),
            SpecValue::Float(f) => ConfigValue::Float(*f),
            SpecValue::Boolean(b) => ConfigValue::Boolean(*b),
        })
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

    fn add_to_payload(&mut self, data: Vec<u8>) -> Result<(), String> {
        self.emitted
            .add_to_payload(&data)
            .map_err(|e| e.to_string())
    }

    fn inject_payload(
        &mut self,
        at: u32,
        payload_type: String,
        payload_name: String,
        data: Vec<u8>,
    ) -> Result<(), String> {
        self.emitted
            .inject_payload(at, &payload_type, &payload_name, &data)
            .map_err(|e| e.to_string())
    }

    fn inject_message(&mut self, at: u32, msg: Vec<u8>) -> Result<(), String> {
        self.emitted
            .inject_encoded(at, msg)
            .map_err(|e| e.to_string())
    }
}
