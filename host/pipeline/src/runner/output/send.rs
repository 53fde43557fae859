//! Encoding, framing and submitting one message, and what its outcome means: the
//! retry policy (`[x.retries]`: exponential back-off with jitter, or the far end's
//! `Retry-After`), drops and fatal errors. Each message retries on its own schedule;
//! with a pipelined output the others in flight go on meanwhile.
//!
//! A pipelined output gets its payload as [`Bytes`]: the encoder's buffer becomes the
//! payload without a copy, and a retry resubmits the same bytes. An output driven
//! through `send` is handed the runner's buffers themselves (see `window::Body`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use heka_message::Message;
use rand::Rng;

use crate::output_error::OutputError;
use crate::pipelined::{Delivery, Ticket};
use crate::plugin::PluginError;
use crate::runner::panic_reason;

use super::source::Item;
use super::window::{Body, State};
use super::{Fatal, OutputRunner};

impl OutputRunner {
    /// Takes in a new message: encoded, framed and submitted; one that cannot be
    /// encoded or framed is dropped (and released in its turn).
    pub(super) fn submit_new(&mut self, mut item: Item) -> Result<(), Fatal> {
        self.tally.received += 1;
        let delay = self.options.retries.delay;
        match self.body(&mut item)? {
            Some(body) if !self.pipelined && self.window.is_empty() => self.send_now(item, body),
            Some(body) => {
                let body = if self.pipelined {
                    self.owned(body, &item.msg)
                } else {
                    body
                };
                let ticket = self.window.push(item, body, State::InFlight, delay);
                self.submit(ticket)
            }
            None => {
                self.window
                    .push(item, Body::Bytes(Bytes::new()), State::Dropped, delay);
                self.window.release();
                Ok(())
            }
        }
    }

    /// A synchronous output with nothing in its window (the common case: nothing is
    /// waiting to be retried) sends `item` at once: delivered, it is released without
    /// ever taking a window entry, which is what `Window::push`, `submit` and
    /// `on_outcome` would do in more steps (measured: ~60 ns a message on
    /// `tail -> LogOutput`, bench/RESULTS.md). Any other outcome takes the window path
    /// from there, so retries, drops and fatal errors have one home.
    fn send_now(&mut self, item: Item, body: Body) -> Result<(), Fatal> {
        let payload = body.bytes(&self.encoded, &self.framed, &item.msg);
        let (plugin, msg) = (&mut self.plugin, &item.msg);
        match call(|| plugin.send(msg, payload)) {
            Ok(()) => {
                self.tally.sent += 1;
                self.tally.sent_bytes += payload.len() as u64;
                self.window.release_sent(item);
                Ok(())
            }
            Err(err) => {
                let delay = self.options.retries.delay;
                let ticket = self.window.push(item, body, State::InFlight, delay);
                self.on_outcome(ticket, Err(err))
            }
        }
    }

    /// Where the bytes to send for `item` are, or `None` when it is dropped on purpose.
    fn body(&mut self, item: &mut Item) -> Result<Option<Body>, Fatal> {
        let framing = self.options.use_framing;
        // A disk buffer record holds what the ProtobufEncoder makes of the message,
        // framed as below (`Framed`): it is sent as it is, neither encoded nor
        // framed again (the buffered agent's output thread spent a fifth of its
        // time on that, bench/RESULTS.md).
        if let Some(framed) = item.framed.take()
            && self
                .encoder
                .as_ref()
                .is_some_and(|e| e.writes_heka_protobuf())
        {
            let bytes = if framing {
                framed.bytes
            } else {
                framed.bytes.slice(framed.message_at..)
            };
            return Ok(Some(Body::Bytes(bytes)));
        }
        let msg = &item.msg;
        let body: &[u8] = match &mut self.encoder {
            Some(encoder) => {
                self.encoded.clear();
                let out = &mut self.encoded;
                match call(|| encoder.encode(msg, out)) {
                    Ok(()) if !framing => return Ok(Some(Body::Encoded)),
                    Ok(()) => &self.encoded,
                    Err(PluginError::Skip) => {
                        self.stats.discarded_intentional.inc();
                        return Ok(None);
                    }
                    Err(PluginError::Failed(reason)) => {
                        tracing::warn!(output = %self.name, error = %reason, "encoding failed; message dropped");
                        self.stats.processing_errors.inc();
                        return Ok(None);
                    }
                    Err(PluginError::Fatal(reason)) => return Err(format!("encoder: {reason}")),
                }
            }
            None if !framing => return Ok(Some(Body::MessagePayload)),
            None => msg.payload(),
        };
        self.framed.clear();
        match heka_message::frame_message(body, self.settings.max_message_size, &mut self.framed) {
            Ok(()) => Ok(Some(Body::Framed)),
            Err(err) => {
                tracing::warn!(output = %self.name, error = %err, "cannot frame message; dropped");
                self.stats.discarded_unintentional.inc();
                Ok(None)
            }
        }
    }

    /// `body` as owned bytes, for a pipelined output: the buffers are handed over
    /// (and start again empty), the message's Payload is shared with the message.
    fn owned(&mut self, body: Body, msg: &Arc<Message>) -> Body {
        Body::Bytes(match body {
            Body::Bytes(bytes) => bytes,
            Body::Encoded => take_bytes(&mut self.encoded),
            Body::Framed => take_bytes(&mut self.framed),
            Body::MessagePayload => Bytes::from_owner(PayloadOf(msg.clone())),
        })
    }

    /// Hands the message of `ticket` to the output: through `send` (the outcome is
    /// known at once) or, pipelined, through `submit` (it comes back later).
    pub(super) fn submit(&mut self, ticket: Ticket) -> Result<(), Fatal> {
        let Some(entry) = self.window.get_mut(ticket) else {
            return Ok(());
        };
        entry.state = State::InFlight;
        let plugin = &mut self.plugin;
        let result = if self.pipelined {
            let Body::Bytes(payload) = &entry.body else {
                return Err("a pipelined output's payload must be owned".into());
            };
            let delivery = Delivery {
                ticket,
                msg: entry.msg.clone(),
                payload: payload.clone(),
            };
            let outcomes = &self.outcomes;
            match call(|| match plugin.pipelined() {
                Some(pipelined) => pipelined.submit(delivery, outcomes),
                None => Err(OutputError::Fatal("no longer pipelined".into())),
            }) {
                Ok(()) => {
                    self.unannounced = true;
                    return Ok(());
                }
                Err(err) => Err(err),
            }
        } else {
            let msg = &entry.msg;
            let payload = entry.body.bytes(&self.encoded, &self.framed, msg);
            call(|| plugin.send(msg, payload))
        };
        self.on_outcome(ticket, result)
    }

    /// What became of the message of `ticket`; releases what is now finished in order.
    pub(super) fn on_outcome(
        &mut self,
        ticket: Ticket,
        result: Result<(), OutputError>,
    ) -> Result<(), Fatal> {
        match result {
            Ok(()) => {
                if let Some(entry) = self.window.get_mut(ticket) {
                    let sent = entry
                        .body
                        .bytes(&self.encoded, &self.framed, &entry.msg)
                        .len();
                    self.tally.sent += 1;
                    self.tally.sent_bytes += sent as u64;
                    if entry.attempts > 0 {
                        self.stats.backoff_ns.set(0);
                    }
                }
                self.window.finish(ticket, State::Sent);
            }
            Err(OutputError::Drop(reason)) => {
                tracing::warn!(output = %self.name, error = %reason, "output dropped a message");
                self.stats.discarded_unintentional.inc();
                self.window.finish(ticket, State::Dropped);
            }
            Err(OutputError::Fatal(reason)) => return Err(reason),
            Err(OutputError::Retry { reason, after }) => self.retry_later(ticket, reason, after)?,
        }
        self.window.release();
        Ok(())
    }

    /// Schedules the next attempt, or gives up: at the end of the retries allowed
    /// (fatal), or when a buffered output is stopping (the message stays on disk).
    fn retry_later(
        &mut self,
        ticket: Ticket,
        reason: String,
        after: Option<Duration>,
    ) -> Result<(), Fatal> {
        if self.draining && self.source.is_buffered() {
            tracing::info!(output = %self.name, error = %reason, "output not accepting messages at shutdown; the rest stays in the disk buffer");
            self.window.finish(ticket, State::Abandoned);
            self.source.give_up();
            return Ok(());
        }
        let retries = self.options.retries;
        let Some(entry) = self.window.get_mut(ticket) else {
            return Ok(());
        };
        if retries.max_retries >= 0 && entry.attempts >= retries.max_retries {
            return Err(format!(
                "giving up after {} retries: {reason}",
                entry.attempts
            ));
        }
        entry.attempts += 1;
        let wait = after.unwrap_or_else(|| entry.delay + jitter(retries.max_jitter));
        entry.delay = (entry.delay * 2).min(retries.max_delay);
        entry.state = State::Waiting(Instant::now() + wait);
        tracing::warn!(output = %self.name, error = %reason, attempt = entry.attempts, wait_ms = wait.as_millis() as u64, "send failed; retrying");
        self.stats.record_retry(wait, &reason);
        Ok(())
    }

    /// Submits again every message whose retry wait is over (each once per call, so a
    /// zero delay cannot spin here).
    pub(super) fn resubmit_due(&mut self) -> Result<(), Fatal> {
        let now = Instant::now();
        for _ in 0..self.window.len() {
            let Some(ticket) = self.window.due(now) else {
                break;
            };
            self.submit(ticket)?;
        }
        Ok(())
    }
}

/// The buffer's bytes as [`Bytes`] without copying; the buffer starts again empty,
/// sized for a message like this one.
fn take_bytes(buf: &mut Vec<u8>) -> Bytes {
    let size = buf.len();
    Bytes::from(std::mem::replace(buf, Vec::with_capacity(size)))
}

/// A message's Payload as the bytes to send, shared with the message (no encoder).
struct PayloadOf(Arc<Message>);

impl AsRef<[u8]> for PayloadOf {
    fn as_ref(&self) -> &[u8] {
        self.0.payload()
    }
}

/// A random delay in `[0, max)`.
fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_nanos(rand::rng().random_range(0..max.as_nanos().min(u64::MAX as u128) as u64))
}

/// Calls into the plugin; a panic is a fatal error of the plugin.
pub(super) fn call<T, E: From<PanicError>>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let reason = match panic_reason(p) {
            PluginError::Fatal(reason) | PluginError::Failed(reason) => reason,
            PluginError::Skip => "panicked".to_owned(),
        };
        Err(E::from(PanicError(reason)))
    })
}

/// A panic inside a plugin call, converted to the call's error type as fatal.
pub(super) struct PanicError(String);

impl From<PanicError> for PluginError {
    fn from(p: PanicError) -> PluginError {
        PluginError::Fatal(p.0)
    }
}

impl From<PanicError> for OutputError {
    fn from(p: PanicError) -> OutputError {
        OutputError::Fatal(p.0)
    }
}
