//! [`SandboxDecoder`]: Heka's SandboxDecoder over any [`DecoderEngine`].
//!
//! Heka's contract (reference §9): without injections the message goes on as the
//! plugin wrote it (`write_message`); with injections they replace it, each
//! inheriting the original's unset headers (Timestamp, Type, Hostname, Logger,
//! Severity, Pid; a fresh Uuid unless one was given). A failure drops the record with
//! `Failed parsing: <reason> payload: <payload>`.

use std::sync::Arc;

use heka_message::Message;

use super::emitted::Injection;
use super::engine::{DecoderEngine, attach_stats, record_call};
use super::filter::add_payload_fields;
use super::limits::{SandboxError, SandboxSpec};
use super::preserve::Preserved;
use crate::plugin::{Decoder, PluginError, PluginResult, StatsSource};
use crate::stats::PluginStats;

/// A SandboxDecoder: an engine plus Heka's decoder rules.
///
/// `preserve_data` (Heka allowed it on decoders): the state is restored at start and
/// saved when the decoder is dropped at the end of its input stream, unless it was
/// terminated. Each stream has its own decoder, so the last one to stop wins, as in
/// Heka, where every decoder of a section wrote the same file.
pub struct SandboxDecoder<E: DecoderEngine> {
    inner: Preserved<E>,
    /// The section's stats, once attached: the sandbox gauges, messages in and out
    /// and failures (shared by every instance of the section).
    stats: Option<Arc<PluginStats>>,
}

impl<E: DecoderEngine> SandboxDecoder<E> {
    /// Wraps a started engine, restoring its preserved state (see
    /// [`super::SandboxFilter::start`]).
    pub fn start(
        engine: E,
        path: &str,
        spec: &SandboxSpec,
    ) -> Result<SandboxDecoder<E>, SandboxError> {
        let inner = Preserved::restore(engine, path, spec)?;
        Ok(SandboxDecoder { inner, stats: None })
    }
}

impl<E: DecoderEngine> Drop for SandboxDecoder<E> {
    fn drop(&mut self) {
        self.inner.save();
    }
}

impl<E: DecoderEngine> Decoder for SandboxDecoder<E> {
    fn decode(
        &mut self,
        mut msg: Message,
        raw: Option<&[u8]>,
        out: &mut Vec<Message>,
    ) -> PluginResult {
        let result = self.inner.engine.decode(&mut msg, raw);
        record_call(&self.inner.engine, self.stats.as_ref());
        let injections = self.inner.engine.take_injections();
        let before = out.len();
        let result = self.apply(result, msg, injections, out);
        if let Some(stats) = &self.stats {
            stats.received_messages.inc();
            stats
                .sent_messages
                .add(out.len().saturating_sub(before) as u64);
            if result.is_err() {
                stats.processing_errors.inc();
            }
        }
        result
    }

    fn attach_stats(&mut self, stats: StatsSource<'_>) {
        let stats = stats();
        attach_stats(&self.inner.engine, &stats);
        self.stats = Some(stats);
    }
}

impl<E: DecoderEngine> SandboxDecoder<E> {
    /// Heka's decoder rules (module docs) over the outcome of one decode call.
    fn apply(
        &mut self,
        result: PluginResult,
        msg: Message,
        injections: Vec<Injection>,
        out: &mut Vec<Message>,
    ) -> PluginResult {
        match result {
            Ok(()) => {}
            Err(PluginError::Failed(reason)) => {
                // The log line shows the payload as text; the bytes themselves are
                // never changed (this is a report, not data).
                return Err(PluginError::Failed(format!(
                    "Failed parsing: {reason} payload: {}",
                    String::from_utf8_lossy(msg.payload())
                )));
            }
            Err(e) => return Err(e),
        }
        if injections.is_empty() {
            out.push(msg);
            return Ok(());
        }
        for inj in injections {
            let m = match inj {
                Injection::Message { msg: injected, .. } => match injected.into_message() {
                    Ok(m) => m,
                    Err(reason) => return Err(self.inner.engine.terminate(reason)),
                },
                Injection::Payload {
                    payload_type,
                    payload_name,
                    payload,
                    ..
                } => {
                    let mut m = Message {
                        payload: Some(payload),
                        ..Default::default()
                    };
                    add_payload_fields(&mut m, payload_type, payload_name);
                    m
                }
            };
            out.push(inherit_headers(m, &msg));
        }
        Ok(())
    }
}

/// Heka's rule for messages a decoder injects in place of its input: every header the
/// injected message leaves unset is taken from the original (a fresh Uuid when it has
/// none).
pub fn inherit_headers(mut m: Message, original: &Message) -> Message {
    if m.uuid.len() != 16 {
        m.uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
    }
    if m.timestamp == 0 {
        m.timestamp = original.timestamp;
    }
    if m.r#type.is_none() {
        m.r#type = original.r#type.clone();
    }
    if m.hostname.is_none() {
        m.hostname = original.hostname.clone();
    }
    if m.logger.is_none() {
        m.logger = original.logger.clone();
    }
    if m.severity.is_none() {
        m.severity = original.severity;
    }
    if m.pid.is_none() {
        m.pid = original.pid;
    }
    m
}

impl<E: DecoderEngine> std::fmt::Debug for SandboxDecoder<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxDecoder")
            .field("name", &self.inner.engine.name())
            .field("terminated", &self.inner.engine.is_terminated())
            .finish()
    }
}
