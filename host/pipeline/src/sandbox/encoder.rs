//! [`SandboxEncoder`]: Heka's SandboxEncoder over any [`EncoderEngine`].
//!
//! Heka's contract: the output is the last `inject_payload` buffer or
//! `inject_message` bytes of the call; with neither, the protobuf encoding of the
//! message; a skip outcome means no output. Only the last output is ever held
//! ([`super::Emitted`] drops the earlier ones as they arrive).

use std::sync::Arc;

use heka_message::Message;

use super::emitted::Injection;
use super::engine::{EncoderEngine, attach_stats, record_call};
use super::limits::{SandboxError, SandboxSpec};
use super::preserve::Preserved;
use crate::plugin::{Encoder, PluginError, PluginResult, StatsSource};
use crate::stats::PluginStats;

/// A SandboxEncoder: an engine plus Heka's encoder rule.
///
/// `preserve_data` (a common sandbox option in Heka): restored at start, saved when
/// the encoder is dropped at a clean stop, unless it was terminated.
pub struct SandboxEncoder<E: EncoderEngine> {
    inner: Preserved<E>,
    /// The section's stats, once attached: the sandbox gauges, messages encoded,
    /// skipped and failed (shared by every output using the section).
    stats: Option<Arc<PluginStats>>,
}

impl<E: EncoderEngine> SandboxEncoder<E> {
    /// Wraps a started engine, restoring its preserved state (see
    /// [`super::SandboxFilter::start`]).
    pub fn start(
        engine: E,
        path: &str,
        spec: &SandboxSpec,
    ) -> Result<SandboxEncoder<E>, SandboxError> {
        let inner = Preserved::restore(engine, path, spec)?;
        Ok(SandboxEncoder { inner, stats: None })
    }
}

impl<E: EncoderEngine> Drop for SandboxEncoder<E> {
    fn drop(&mut self) {
        self.inner.save();
    }
}

impl<E: EncoderEngine> Encoder for SandboxEncoder<E> {
    fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) -> PluginResult {
        let result = self.inner.engine.encode(msg);
        record_call(&self.inner.engine, self.stats.as_ref());
        if let Some(stats) = &self.stats {
            stats.received_messages.inc();
            match &result {
                Ok(_) => stats.sent_messages.inc(),
                Err(PluginError::Skip) => stats.discarded_intentional.inc(),
                Err(_) => stats.processing_errors.inc(),
            }
        }
        let last = self.inner.engine.take_injections().pop();
        let written = result?;
        match last {
            // The output is usually a whole batch of lines (the seed's Slack bodies are
            // ~17 KB): when `out` is empty, hand it the guest's buffer instead of a copy.
            Some(Injection::Payload { payload, .. }) => give(out, payload),
            Some(Injection::Message { msg, .. }) => give(out, msg.into_bytes()),
            None => heka_message::encode_message(written.as_ref().unwrap_or(msg), out),
        }
        Ok(())
    }

    fn attach_stats(&mut self, stats: StatsSource<'_>) {
        let stats = stats();
        attach_stats(&self.inner.engine, &stats);
        self.stats = Some(stats);
    }
}

/// Appends `bytes` to `out`, moving the buffer when `out` is empty.
fn give(out: &mut Vec<u8>, bytes: Vec<u8>) {
    if out.is_empty() {
        *out = bytes;
    } else {
        out.extend_from_slice(&bytes);
    }
}

impl<E: EncoderEngine> std::fmt::Debug for SandboxEncoder<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxEncoder")
            .field("name", &self.inner.engine.name())
            .field("terminated", &self.inner.engine.is_terminated())
            .finish()
    }
}
