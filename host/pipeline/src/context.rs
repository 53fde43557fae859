//! What a running plugin may do: [`InputContext`] for inputs, [`FilterContext`] for
//! filters (native, wasm or Lua alike).
//!
//! Contexts are structs handed to the plugin so new abilities never change a trait
//! signature. The public methods below are the contract other crates code against;
//! the fields are the runner's business.

use std::sync::Arc;

use heka_message::{Matcher, Message};

use crate::ack::Ack;
use crate::context_impl::{FilterInner, InputInner};
use crate::pack::Pack;
use crate::plugin::{Decoder, PluginError};
use crate::router::{Route, Router};
use crate::settings::{InputOptions, Settings};
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
///
/// It is `Send + Sync + Clone`: an input serving several connections may hand a clone
/// (or a reference) to each connection's thread.
#[derive(Clone)]
pub struct InputContext {
    /// The input's section name (Heka: the plugin name; default Logger).
    pub name: String,
    /// hekad's hostname (`[hekad] hostname`), or the input's own `hostname` option.
    pub hostname: String,
    /// Raised when hekad stops; `run` must return soon after.
    pub stop: StopSignal,
    pub(crate) inner: InputInner,
}

impl InputContext {
    /// A message with Heka's pack defaults for input messages: a fresh v4 Uuid,
    /// Timestamp = now, Logger = the input's name, Hostname = `self.hostname`, Pid.
    pub fn new_message(&self) -> Message {
        self.inner.new_message(&self.name, &self.hostname)
    }

    /// A message with a fresh v4 Uuid, the given Timestamp and Pid, and the given
    /// Logger, Type and Hostname: what [`InputContext::new_message`] makes, without
    /// the default Logger and Hostname an input would replace at once (an input
    /// making a message per record saves two allocations, and reads the clock once
    /// per read with [`InputContext::now_ns`]).
    pub fn message_at(&self, timestamp: i64, logger: &str, type_: &str, hostname: &str) -> Message {
        Message {
            uuid: crate::context_impl::new_uuid(),
            timestamp,
            r#type: Some(type_.to_owned()),
            logger: Some(logger.to_owned()),
            hostname: Some(hostname.to_owned()),
            pid: Some(self.inner.settings.pid),
            ..Default::default()
        }
    }

    /// Now, in ns since the Unix epoch.
    pub fn now_ns(&self) -> i64 {
        crate::context_impl::now_ns()
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

    /// From now on, this thread's [`InputContext::deliver`] calls collect their
    /// messages instead of routing each at once; [`InputContext::route_collected`]
    /// routes them as batches (and collection ends). An input that reads many
    /// records at a time (a file chunk) calls this before delivering them and
    /// `route_collected` after: each plugin then gets one batch instead of one hand-off
    /// per record. Routing also happens on its own every
    /// 256 collected messages, so memory stays bounded.
    pub fn collect_routes(&self) {
        self.inner.collect_routes()
    }

    /// Routes what this thread collected since [`InputContext::collect_routes`] and
    /// stops collecting. `Err(Failed)` when hekad is stopping and some message could
    /// not be routed (as [`InputContext::deliver`]).
    pub fn route_collected(&self) -> Result<(), PluginError> {
        self.inner.route_collected(false)
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

    /// A context outside any pipeline, for testing inputs: everything delivered is
    /// sent (as routed packs, acks included) to the returned receiver. Stop it with
    /// `ctx.stop.raise()`.
    pub fn collecting(
        name: &str,
        settings: Settings,
        options: InputOptions,
    ) -> (InputContext, Collected) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let route = Route {
            name: Arc::from("collector"),
            matcher: None,
            tx,
            pending: None,
            registered: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        };
        let rx = Collected {
            rx,
            buf: Default::default(),
        };
        let hostname = options
            .hostname
            .clone()
            .unwrap_or_else(|| settings.hostname.clone());
        let ctx = InputContext {
            name: name.to_owned(),
            hostname,
            stop: StopSignal::new(),
            inner: InputInner {
                router: Arc::new(Router::new(vec![route], StopSignal::new())),
                settings: Arc::new(settings),
                options,
                name: Arc::from(name),
                stats: Arc::new(crate::stats::Registry::new())
                    .plugin(name, crate::stats::PluginKind::Input),
            },
        };
        (ctx, rx)
    }
}

/// Handed to a filter for each call: injection, failure reporting and identity.
pub struct FilterContext {
    pub(crate) inner: FilterInner,
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

    /// A context outside any pipeline, for testing filters: injections are checked
    /// as in hekad (limits, loops, `matcher` for circular injections) and collected
    /// for [`FilterContext::take_injected`].
    pub fn standalone(name: &str, settings: &Settings, matcher: Option<Matcher>) -> FilterContext {
        FilterContext {
            inner: FilterInner::new(Arc::from(name), settings, matcher, None),
        }
    }

    /// Standalone contexts: the next injections belong to a timer event (the
    /// `max_timer_inject` limit applies). The runner does this itself in hekad.
    pub fn begin_timer(&mut self) {
        self.inner.start_timer()
    }

    /// Standalone contexts: the messages injected so far, in order.
    pub fn take_injected(&mut self) -> Vec<Message> {
        self.inner
            .take_injected()
            .map(|p| Arc::unwrap_or_clone(p.msg))
            .collect()
    }

    /// How many messages were reported failed so far.
    pub fn failures(&self) -> u64 {
        self.inner.failures
    }
}

/// What an [`InputContext::collecting`] context routed, one pack at a time (the
/// router's queues carry batches).
pub struct Collected {
    rx: crossbeam_channel::Receiver<crate::router::Batch>,
    buf: std::cell::RefCell<std::collections::VecDeque<Pack>>,
}

impl Collected {
    fn fill(&self) {
        let mut buf = self.buf.borrow_mut();
        for batch in self.rx.try_iter() {
            buf.extend(batch);
        }
    }

    /// The next pack, if one was routed.
    pub fn try_recv(&self) -> Result<Pack, crossbeam_channel::TryRecvError> {
        self.fill();
        self.buf
            .borrow_mut()
            .pop_front()
            .ok_or(crossbeam_channel::TryRecvError::Empty)
    }

    /// The next pack, waiting up to `timeout` for one.
    pub fn recv_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> Result<Pack, crossbeam_channel::RecvTimeoutError> {
        if let Ok(pack) = self.try_recv() {
            return Ok(pack);
        }
        let batch = self.rx.recv_timeout(timeout)?;
        self.buf.borrow_mut().extend(batch);
        self.try_recv()
            .map_err(|_| crossbeam_channel::RecvTimeoutError::Timeout)
    }

    /// Every pack routed so far.
    pub fn try_iter(&self) -> impl Iterator<Item = Pack> + '_ {
        std::iter::from_fn(|| self.try_recv().ok())
    }

    /// How many packs are waiting.
    pub fn len(&self) -> usize {
        self.fill();
        self.buf.borrow().len()
    }

    /// Whether no pack is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
