//! [`WasmFilter`]: Heka's SandboxFilter over a wasm component.
//!
//! A batch crosses into the guest in one call; the guest's injections (each tagged
//! with the index of the message that made it) and non-ok outcomes are then replayed
//! into the [`FilterContext`] in order: `begin_message(i)`, message i's injections,
//! `message_failed(i)` when it failed. The pipeline sees exactly what a per-message
//! plugin would have produced.
//!
//! `preserve_data`: the guest's state is restored right after `init` and saved by
//! `shutdown` (see the crate docs).

use std::path::Path;

use heka_message::{Message, Value};
use heka_pipeline::{Filter, FilterContext, Pack, PluginError, PluginResult};

use crate::bindings::filter::Filter as FilterWorld;
use crate::bindings::{MessageOutcome, Outcome};
use crate::host::Injection;
use crate::runner::{Runner, decode_injected, outcome_result};
use crate::{LoadedComponent, SandboxConfig, SandboxEngine, SandboxError};

/// A SandboxFilter running a wasm component of the `filter` world.
pub struct WasmFilter {
    runner: Runner<FilterWorld>,
    /// Reused batch buffer (`wire::push_filter_entry`).
    batch: Vec<u8>,
}

impl WasmFilter {
    /// Loads (through the engine's cache) and starts the component at `path`.
    pub fn load(
        engine: &SandboxEngine,
        path: &Path,
        cfg: SandboxConfig,
    ) -> Result<WasmFilter, SandboxError> {
        let loaded = engine.load(path)?;
        WasmFilter::new(engine, &loaded, cfg)
    }

    /// Starts an already loaded component.
    pub fn new(
        engine: &SandboxEngine,
        loaded: &LoadedComponent,
        cfg: SandboxConfig,
    ) -> Result<WasmFilter, SandboxError> {
        let runner = Runner::new(
            engine,
            loaded,
            cfg,
            |store, component, linker| FilterWorld::instantiate(store, component, linker),
            |b, store| b.call_init(store),
        )?;
        let mut filter = WasmFilter {
            runner,
            batch: Vec::new(),
        };
        if let Some(file) = filter.runner.cfg().preservation_file.clone() {
            filter.restore(&loaded.path, &file)?;
        }
        Ok(filter)
    }

    /// `preserve_data`: hands the guest the data saved by the last clean shutdown.
    fn restore(&mut self, path: &str, file: &Path) -> Result<(), SandboxError> {
        let err = |reason: String| SandboxError::Restore {
            path: path.to_owned(),
            data: file.display().to_string(),
            reason,
        };
        let data = match std::fs::read(file) {
            Ok(data) => data,
            // Nothing preserved (first start, or nothing to keep last time).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(err(format!("cannot read: {e}"))),
        };
        match self
            .runner
            .call_start(|b, store| b.call_restore_state(store, &data))
        {
            Ok(Ok(())) => {
                tracing::info!(plugin = %self.runner.name(), file = %file.display(), "preserved data restored");
                Ok(())
            }
            Ok(Err(reason)) => Err(err(reason)),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// `preserve_data`: writes what the guest wants kept (atomically: a temporary
    /// file renamed over the old one); removes the file when it wants nothing kept.
    fn save(&mut self, file: &Path) -> Result<(), String> {
        if self.runner.is_terminated() {
            return Err("terminated: global data not preserved".into());
        }
        let state = self
            .runner
            .call_start(|b, store| b.call_save_state(store))
            .map_err(|e| format!("save-state: {e}"))?;
        let Some(data) = state else {
            return match std::fs::remove_file(file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(format!("cannot remove the old data file: {e}"))
                }
                _ => Ok(()),
            };
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let tmp = file.with_extension("data.tmp");
        std::fs::write(&tmp, &data)
            .and_then(|()| std::fs::rename(&tmp, file))
            .map_err(|e| format!("cannot write: {e}"))
    }

    /// Wasmtime fuel the last call consumed (to calibrate `fuel_per_instruction`).
    pub fn last_fuel_used(&self) -> u64 {
        self.runner.last_fuel_used
    }

    /// Runs the guest over `msgs` and replays its injections and outcomes into `ctx`.
    ///
    /// `single`: called through `process_message`, whose caller already did
    /// `begin_message` and expects a failure as the return value.
    fn run_batch<'a>(
        &mut self,
        msgs: impl ExactSizeIterator<Item = &'a Message>,
        ctx: &mut FilterContext,
        single: bool,
    ) -> PluginResult {
        let n = msgs.len();
        if n == 0 {
            return Ok(());
        }
        self.batch.clear();
        let mut prev = None;
        for msg in msgs {
            crate::wire::push_filter_entry(&mut self.batch, msg, prev);
            prev = Some(msg);
        }
        let batch = std::mem::take(&mut self.batch);
        let result = self
            .runner
            .call(n, |b, store| b.call_process_batch(store, &batch));
        self.batch = batch;
        let outcomes = result?;
        let injections = self.runner.take_injections();
        self.replay(n, outcomes, injections, ctx, single)
    }

    fn replay(
        &mut self,
        n: usize,
        outcomes: Vec<MessageOutcome>,
        injections: Vec<Injection>,
        ctx: &mut FilterContext,
        single: bool,
    ) -> PluginResult {
        let mut injections = injections.into_iter().peekable();
        let mut outcomes = outcomes.into_iter().peekable();
        for i in 0..n {
            if !single {
                ctx.begin_message(i);
            }
            while let Some(inj) = injections.next_if(|j| j.at() as usize <= i) {
                self.inject(inj, ctx)?;
            }
            if let Some(o) = outcomes.next_if(|o| o.index as usize == i) {
                match o.outcome {
                    Outcome::Ok | Outcome::Skip => {}
                    Outcome::Failed(reason) if single => return Err(PluginError::Failed(reason)),
                    Outcome::Failed(reason) => ctx.message_failed(i, reason),
                    Outcome::Fatal(reason) => return Err(self.runner.terminate(reason)),
                }
            }
        }
        // Indexes past the batch (a confused guest) still go out, in order.
        for inj in injections {
            self.inject(inj, ctx)?;
        }
        Ok(())
    }

    /// Heka's filter injection rules, then the pipeline's checks (which are fatal
    /// here, as an error raised inside the Lua sandbox was).
    fn inject(&mut self, inj: Injection, ctx: &mut FilterContext) -> PluginResult {
        let mut msg = ctx.new_message();
        match inj {
            Injection::Payload {
                payload_type,
                payload_name,
                payload,
                ..
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
            Injection::Message { bytes, .. } => {
                let mut m = decode_injected(&bytes).map_err(|r| self.runner.terminate(r))?;
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
            .map_err(|e| self.runner.terminate(format!("inject: {e}")))
    }
}

impl Filter for WasmFilter {
    fn process_message(&mut self, msg: &Message, ctx: &mut FilterContext) -> PluginResult {
        self.run_batch(std::iter::once(msg), ctx, true)
    }

    fn process_batch(&mut self, batch: &[Pack], ctx: &mut FilterContext) -> PluginResult {
        self.run_batch(batch.iter().map(|p| &*p.msg), ctx, false)
    }

    fn shutdown(&mut self) {
        let Some(file) = self.runner.cfg().preservation_file.clone() else {
            return;
        };
        let plugin = self.runner.name().to_owned();
        if self.runner.is_terminated() {
            tracing::info!(plugin, "terminated: global data not preserved");
            return;
        }
        match self.save(&file) {
            Ok(()) => {
                tracing::info!(plugin, file = %file.display(), "global data preserved")
            }
            Err(error) => {
                tracing::error!(plugin, file = %file.display(), %error, "cannot preserve global data")
            }
        }
    }

    fn timer_event(&mut self, now_ns: i64, ctx: &mut FilterContext) -> PluginResult {
        let outcome = self
            .runner
            .call(1, |b, store| b.call_timer_event(store, now_ns))?;
        for inj in self.runner.take_injections() {
            self.inject(inj, ctx)?;
        }
        match outcome_result(&mut self.runner, outcome) {
            // Heka: a failing timer_event is logged, the filter lives on.
            Err(PluginError::Failed(reason)) => {
                tracing::warn!(plugin = %self.runner.name(), %reason, "timer_event failed");
                Ok(())
            }
            other => other,
        }
    }
}
