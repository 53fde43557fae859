//! What a running plugin may do: [`InputContext`] for inputs, [`FilterContext`] for
//! filters (native, wasm or Lua alike).
//!
//! Contexts are structs handed to the plugin so new abilities never change a trait
//! signature. The public methods below are the contract other crates code against;
//! the fields are the runner's business.

use heka_message::Message;

use crate::ack::Ack;
use crate::plugin::{Decoder, PluginError};
use crate::split::SplitRunner;
use crate::stop::StopSignal;

/// Why a filter's injection was refused (Heka raises these inside the sandbox).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// More injections in one call than `max_process_inject` / `max_timer_inject`.
    #[error("exceeded InjectMessage count ({limit})")]
    TooMany { limit: usize },
    /// The message is already `max_message_loops` injections deep.
    #[error("exceeded MaxMsgLoops ({limit})")]
    TooManyLoops { limit: usize },
    /// The injected message matches the filter's own `message_matcher`.
    #[error("creates a circular reference (matches this filter's message_matcher)")]
    Circular,
    /// hekad is shutting down and the message cannot be routed any more.
    #[error("aborted")]
    Aborted,
}

/// Handed to [`crate::Input::run`]: the input's identity, the stop signal, and the
/// way to turn records into routed messages.
pub struct InputContext {
    /// The input's section name (Heka: the plugin name; default Logger).
    pub name: String,
    /// hekad's hostname (`[hekad] hostname`), or the input's own `hostname` option.
    pub hostname: String,
    /// Raised when hekad stops; `run` must return soon after.
    pub stop: StopSignal,
    pub(crate) inner: crate::context_impl::InputInner,
}

impl InputContext {
    /// A message with Heka's pack defaults for input messages: a fresh v4 Uuid,
    /// Timestamp = now, Logger = the input's name, Hostname = `self.hostname`, Pid.
    pub fn new_message(&self) -> Message {
        self.inner.new_message(&self.name, &self.hostname)
    }

    /// A fresh instance of the input's configured splitter, wrapped in a runner
    /// (Heka creates one splitter per stream / connection).
    pub fn new_split_runner(&self) -> SplitRunner {
        self.inner.new_split_runner()
    }

    /// A fresh instance of the input's configured decoder, if it has one.
    pub fn new_decoder(&self) -> Option<Box<dyn Decoder>> {
        self.inner.new_decoder()
    }

    /// Decodes (when `decoder` is given) and routes one record's message. `raw` is the
    /// record's bytes when the splitter uses message bytes. `ack` is released when
    /// every matching output has delivered (or when nothing matched).
    ///
    /// Decode failures are logged (and routed when `send_decode_failures`), never
    /// returned; `Err(Fatal)` only when the decoder is terminated, `Err(Failed)` when
    /// hekad is stopping and the message could not be routed.
    pub fn deliver(
        &self,
        msg: Message,
        raw: Option<&[u8]>,
        decoder: Option<&mut (dyn Decoder + 'static)>,
        ack: Option<Ack>,
    ) -> Result<(), PluginError> {
        self.inner.deliver(msg, raw, decoder, ack)
    }

    /// `[hekad] max_message_size`.
    pub fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
    }
}

/// Handed to a filter for each call: injection, failure reporting and identity.
pub struct FilterContext {
    pub(crate) inner: crate::context_impl::FilterInner,
}

impl FilterContext {
    /// The filter's section name (Heka forces Logger = this on sandbox injections).
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// hekad's hostname (injected messages carry it).
    pub fn hostname(&self) -> &str {
        self.inner.hostname()
    }

    /// A message with Heka's inject-pool defaults: fresh Uuid, Timestamp = now,
    /// Hostname = hekad's, Pid = hekad's, Logger = the filter's name.
    pub fn new_message(&self) -> Message {
        self.inner.new_message()
    }

    /// Queues a message for routing after the current call. Refused past
    /// `max_process_inject` per message (or `max_timer_inject` per timer event), when the
    /// current message is `max_message_loops` deep, or when the message would match
    /// the filter's own matcher.
    pub fn inject(&mut self, msg: Message) -> Result<(), InjectError> {
        self.inner.inject(msg)
    }

    /// Marks the start of work on message `index` of the current batch.
    pub fn begin_message(&mut self, index: usize) {
        self.inner.begin_message(index)
    }

    /// Reports that message `index` of the current batch failed (Heka's negative
    /// return): it is counted and logged, the filter lives on.
    pub fn message_failed(&mut self, index: usize, reason: String) {
        self.inner.message_failed(index, reason)
    }
}
