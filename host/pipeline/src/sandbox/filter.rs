//! [`SandboxFilter`]: Heka's SandboxFilter over any [`FilterEngine`].
//!
//! A batch crosses into the engine in one call (wasm) or one call per message (Lua);
//! either way the injections (each tagged with the index of the message that made it)
//! and the non-ok outcomes are replayed into the [`FilterContext`] in Heka's order:
//! `begin_message(i)`, message i's injections, `message_failed(i)` when it failed. The
//! pipeline sees exactly what a per-message plugin would have produced.
//!
//! Heka's filter injection rules: `inject_payload` becomes `Type=heka.sandbox-output`
//! with `Fields[payload_type]` (representation `file-extension`) and
//! `Fields[payload_name]`; `inject_message` gets `Type` prefixed with `heka.sandbox.`,
//! `Logger` = the filter's name and `Hostname` = hekad's, a fresh Uuid unless it has
//! 16 bytes, the current time unless it has a Timestamp. A refused injection (a loop,
//! a circular reference, a bad protobuf) is fatal, as the error Heka raised inside
//! the sandbox was.
//!
//! Every `inject_payload` is also kept as the filter's latest output under its name
//! ([`crate::stats::sandbox_outputs`]), which the dashboard reads without the router.
//!
//! `preserve_data`: the engine's state is restored right after start and saved at a
//! clean shutdown (never after a termination), through [`super::preserve`]. A reload
//! that replaces the filter hands the same state to the new instance in memory
//! ([`Filter::hand_over`], [`Filter::take_over`]), with or without `preserve_data`.

use std::sync::Arc;

use heka_message::{Message, Value};

use super::emitted::Injection;
use super::engine::{FilterEngine, attach_stats, record_call};
use super::limits::{SandboxError, SandboxSpec};
use super::preserve::Preserved;
use crate::context::{Filter, FilterContext};
use crate::pack::Pack;
use crate::plugin::{PluginError, PluginResult};
use crate::stats::PluginStats;

/// Heka's `Type` for `inject_payload` output.
pub const SANDBOX_OUTPUT_TYPE: &str = "heka.sandbox-output";

/// A SandboxFilter: an engine plus Heka's filter rules.
pub struct SandboxFilter<E> {
    inner: Preserved<E>,
    /// The plugin's stats, once the runner attached them (sandbox gauges).
    stats: Option<Arc<PluginStats>>,
}

impl<E: FilterEngine> SandboxFilter<E> {
    /// Wraps a started engine, restoring what the last clean shutdown saved in
    /// `spec`'s preservation file (at most `memory_limit` bytes: a larger file cannot be
    /// the guest's own state). `path` names the plugin file in errors.
    pub fn start(
        engine: E,
        path: &str,
        spec: &SandboxSpec,
    ) -> Result<SandboxFilter<E>, SandboxError> {
        let inner = Preserved::restore(engine, path, spec)?;
        Ok(SandboxFilter { inner, stats: None })
    }

    /// The engine (stats, tests).
    pub fn engine(&self) -> &E {
        &self.inner.engine
    }

    fn run(&mut self, msgs: &[&Message], ctx: &mut FilterContext, single: bool) -> PluginResult {
        if msgs.is_empty() {
            return Ok(());
        }
        let outcomes = self.inner.engine.process(msgs);
        record_call(&self.inner.engine, self.stats.as_ref());
        let outcomes = outcomes?;
        let mut injections = self.inner.engine.take_injections().into_iter().peekable();
        let mut outcomes = outcomes.into_iter().peekable();
        for i in 0..msgs.len() {
            if !single {
                ctx.begin_message(i);
            }
            while let Some(inj) = injections.next_if(|j| j.at() as usize <= i) {
                self.inject(inj, ctx)?;
            }
            if let Some((_, outcome)) = outcomes.next_if(|(at, _)| *at as usize == i) {
                match outcome {
                    PluginError::Skip => {}
                    PluginError::Failed(reason) if single => {
                        return Err(PluginError::Failed(reason));
                    }
                    PluginError::Failed(reason) => ctx.message_failed(i, reason),
                    PluginError::Fatal(reason) if self.inner.engine.is_terminated() => {
                        return Err(PluginError::Fatal(reason));
                    }
                    PluginError::Fatal(reason) => return Err(self.inner.engine.terminate(reason)),
                }
            }
        }
        // Indexes past the batch (a confused guest) still go out, in order.
        for inj in injections {
            self.inject(inj, ctx)?;
        }
        Ok(())
    }

    fn inject(&mut self, inj: Injection, ctx: &mut FilterContext) -> PluginResult {
        if let (
            Some(stats),
            Injection::Payload {
                payload_type,
                payload_name,
                payload,
                ..
            },
        ) = (&self.stats, &inj)
        {
            // The dashboard's copy (`crate::stats::sandbox_outputs`), kept out of band.
            stats
                .sandbox_outputs()
                .record(payload_type, payload_name, payload);
        }
        let msg = match into_filter_message(inj, ctx) {
            Ok(msg) => msg,
            Err(reason) => return Err(self.inner.engine.terminate(reason)),
        };
        ctx.inject(msg)
            .map_err(|e| self.inner.engine.terminate(format!("inject_message() {e}")))
    }
}

/// Heka's filter injection rules (module docs): an injection as the message the
/// filter injects.
pub fn into_filter_message(inj: Injection, ctx: &FilterContext) -> Result<Message, String> {
    let mut msg = ctx.new_message();
    match inj {
        Injection::Payload {
            payload_type,
            payload_name,
            payload,
            ..
        } => {
            msg.r#type = Some(SANDBOX_OUTPUT_TYPE.into());
            msg.payload = Some(payload);
            add_payload_fields(&mut msg, payload_type, payload_name);
            Ok(msg)
        }
        Injection::Message { msg: injected, .. } => {
            let mut m = injected.into_message()?;
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
            Ok(m)
        }
    }
}

/// The two fields of an `inject_payload` message (Heka's names and representation).
pub fn add_payload_fields(msg: &mut Message, payload_type: String, payload_name: String) {
    msg.add_field(
        "payload_type",
        Value::String(payload_type.into_bytes()),
        "file-extension",
    );
    msg.add_field("payload_name", Value::String(payload_name.into_bytes()), "");
}

impl<E: FilterEngine> Filter for SandboxFilter<E> {
    fn process_message(&mut self, msg: &Message, ctx: &mut FilterContext) -> PluginResult {
        self.run(&[msg], ctx, true)
    }

    fn process_batch(&mut self, batch: &[Pack], ctx: &mut FilterContext) -> PluginResult {
        // A batch is at most a few hundred messages: a small vector of references.
        let msgs: Vec<&Message> = batch.iter().map(|p| &*p.msg).collect();
        self.run(&msgs, ctx, false)
    }

    fn timer_event(&mut self, now_ns: i64, ctx: &mut FilterContext) -> PluginResult {
        let result = self.inner.engine.timer_event(now_ns);
        record_call(&self.inner.engine, self.stats.as_ref());
        if matches!(result, Err(PluginError::Fatal(_))) {
            return result;
        }
        for inj in self.inner.engine.take_injections() {
            self.inject(inj, ctx)?;
        }
        match result {
            // Heka: a failing timer_event is logged, the filter lives on.
            Err(PluginError::Failed(reason)) => {
                tracing::warn!(plugin = %self.inner.engine.name(), %reason, "timer_event failed");
                Ok(())
            }
            other => other,
        }
    }

    fn shutdown(&mut self) {
        self.inner.save();
    }

    fn hand_over(&mut self) -> Option<Vec<u8>> {
        self.inner.hand_over()
    }

    fn take_over(&mut self, state: &[u8]) -> Result<(), String> {
        self.inner.take_over(state)
    }

    fn attach_stats(&mut self, stats: &Arc<PluginStats>) {
        attach_stats(&self.inner.engine, stats);
        self.stats = Some(stats.clone());
    }
}

impl<E: FilterEngine> std::fmt::Debug for SandboxFilter<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxFilter")
            .field("name", &self.inner.engine.name())
            .field("terminated", &self.inner.engine.is_terminated())
            .finish()
    }
}
