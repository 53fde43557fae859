//! One plugin's figures: [`PluginStats`] (counters, gauges, state, last error, call
//! timing for liveness, the queue probe) and its [`SandboxStats`] (memory, output and
//! budget beside their limits, for every engine alike).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::sandbox_outputs::SandboxOutputs;
use super::{Counter, Engine, Gauge, MaxRatio, PluginKind, PluginState, TerminationReason};

/// A sandbox's resource figures, each beside its limit. Engines call
/// [`SandboxStats::set_limits`] once and [`SandboxStats::record_call`] after each call.
#[derive(Debug, Default)]
pub struct SandboxStats {
    engine: OnceLock<Engine>,
    /// Current linear memory / Lua heap, bytes.
    pub memory_bytes: Gauge,
    /// Its high-water mark.
    pub memory_max_bytes: Gauge,
    /// `memory_limit`.
    pub memory_limit_bytes: Gauge,
    /// The largest injection or encoded output of one call, bytes.
    pub output_max_bytes: Gauge,
    /// `output_limit`.
    pub output_limit_bytes: Gauge,
    /// The worst call's share of its budget (fuel, instructions or deadline).
    pub call_budget_max_ratio: MaxRatio,
    /// The most Lua instructions one call used (Heka's MaxInstructions).
    pub instructions_max: Gauge,
    /// `instruction_limit` (Lua) or fuel per call (wasm); 0 = none.
    pub instruction_limit: Gauge,
    /// Messages the sandbox injected.
    pub injected_messages: Counter,
}

impl SandboxStats {
    /// Marks the plugin as a sandbox of `engine` with these limits (0 = none).
    pub fn set_limits(&self, engine: Engine, memory: u64, output: u64, instructions: u64) {
        let _ = self.engine.set(engine);
        self.memory_limit_bytes.set(memory);
        self.output_limit_bytes.set(output);
        self.instruction_limit.set(instructions);
    }

    /// After a call: memory now, the call's largest output and its budget share.
    pub fn record_call(&self, memory: u64, output: u64, budget_ratio: f64) {
        self.memory_bytes.set(memory);
        self.memory_max_bytes.raise(memory);
        self.output_max_bytes.raise(output);
        self.call_budget_max_ratio.raise(budget_ratio);
    }

    /// The engine, when this plugin is a sandbox.
    pub fn engine(&self) -> Option<Engine> {
        self.engine.get().copied()
    }
}

/// One plugin's counters and gauges. Fields are public so runners and engines bump
/// them in one line; the meaning of each is the metric it becomes (see `heka-ops`).
pub struct PluginStats {
    pub(super) name: Arc<str>,
    pub(super) kind: PluginKind,
    type_name: OnceLock<Box<str>>,
    state: AtomicU8,
    epoch: Instant,
    /// Messages taken from the queue (filters, outputs) or read (inputs).
    pub received_messages: Counter,
    /// Bytes read (inputs).
    pub received_bytes: Counter,
    /// Messages routed (inputs), injected (filters) or delivered (outputs).
    pub sent_messages: Counter,
    /// Bytes handed to the sink (outputs).
    pub sent_bytes: Counter,
    /// Errors while receiving (decode failures of an input).
    pub receiving_errors: Counter,
    /// Errors while processing (Heka's ProcessMessageFailures; encoder failures).
    pub processing_errors: Counter,
    /// Errors while sending (failed output attempts).
    pub sending_errors: Counter,
    /// Messages dropped on purpose (an encoder's skip).
    pub discarded_intentional: Counter,
    /// Messages dropped otherwise (an output's `Drop`, a framing failure).
    pub discarded_unintentional: Counter,
    /// Output retries.
    pub retries: Counter,
    /// The output's current back-off, nanoseconds (0 = not waiting).
    pub backoff_ns: Gauge,
    /// Restarts (by reload).
    pub restarts: Counter,
    /// Calls into the plugin (batches, timer events).
    pub calls: Counter,
    /// Time spent inside plugin calls, nanoseconds (utilization = its rate).
    pub busy_ns: Counter,
    /// Timer events run.
    pub timer_events: Counter,
    /// Monotonic ns (since `epoch`, plus one) at which the current call began; 0 idle.
    busy_since: AtomicU64,
    terminations: [Counter; 8],
    queue: OnceLock<QueueProbe>,
    last_error: Mutex<Option<String>>,
    sandbox: SandboxStats,
    outputs: SandboxOutputs,
    /// Whether liveness watches this plugin's calls (filters; outputs block on sinks).
    watched: AtomicBool,
}

impl std::fmt::Debug for PluginStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginStats")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// Reads a queue's (length, capacity) in the units it carries.
pub type QueueProbe = Box<dyn Fn() -> (usize, usize) + Send + Sync>;

/// Marks a plugin call: busy from creation until drop.
#[must_use = "the call ends when the guard is dropped"]
pub struct CallGuard<'a> {
    stats: &'a PluginStats,
    start: u64,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        let now = self.stats.mono_ns();
        self.stats.busy_since.store(0, Ordering::Relaxed);
        self.stats.busy_ns.add(now.saturating_sub(self.start));
        self.stats.calls.inc();
    }
}

impl PluginStats {
    pub(super) fn new(name: &str, kind: PluginKind, epoch: Instant) -> PluginStats {
        PluginStats {
            name: Arc::from(name),
            kind,
            type_name: OnceLock::new(),
            state: AtomicU8::new(0),
            epoch,
            received_messages: Counter::default(),
            received_bytes: Counter::default(),
            sent_messages: Counter::default(),
            sent_bytes: Counter::default(),
            receiving_errors: Counter::default(),
            processing_errors: Counter::default(),
            sending_errors: Counter::default(),
            discarded_intentional: Counter::default(),
            discarded_unintentional: Counter::default(),
            retries: Counter::default(),
            backoff_ns: Gauge::default(),
            restarts: Counter::default(),
            calls: Counter::default(),
            busy_ns: Counter::default(),
            timer_events: Counter::default(),
            busy_since: AtomicU64::new(0),
            terminations: Default::default(),
            queue: OnceLock::new(),
            last_error: Mutex::new(None),
            sandbox: SandboxStats::default(),
            outputs: SandboxOutputs::default(),
            watched: AtomicBool::new(kind == PluginKind::Filter),
        }
    }

    /// The config section name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin kind.
    pub fn kind(&self) -> PluginKind {
        self.kind
    }

    /// The Heka type name (`SandboxFilter`), when the daemon said it.
    pub fn type_name(&self) -> &str {
        self.type_name.get().map_or("", |t| t)
    }

    /// Records the Heka type name (the first one given stays).
    pub fn set_type_name(&self, type_name: &str) {
        let _ = self.type_name.set(Box::from(type_name));
    }

    /// The plugin's state.
    pub fn state(&self) -> PluginState {
        PluginState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Sets the plugin's state.
    pub fn set_state(&self, state: PluginState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// The sandbox figures (all zero for a native plugin).
    pub fn sandbox(&self) -> &SandboxStats {
        &self.sandbox
    }

    /// The latest `inject_payload` per name (sandbox filters; empty otherwise).
    pub fn sandbox_outputs(&self) -> &SandboxOutputs {
        &self.outputs
    }

    fn mono_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }

    /// Brackets one call into the plugin (a batch, a timer event, a send).
    #[inline]
    pub fn call(&self) -> CallGuard<'_> {
        let start = self.mono_ns();
        self.busy_since.store(start, Ordering::Relaxed);
        CallGuard { stats: self, start }
    }

    /// How long the current call has run; None when idle.
    pub fn busy_for(&self) -> Option<Duration> {
        match self.busy_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(Duration::from_nanos(self.mono_ns().saturating_sub(since))),
        }
    }

    /// Whether liveness watches this plugin's calls.
    pub fn watched(&self) -> bool {
        self.watched.load(Ordering::Relaxed)
    }

    /// Lets the runner say how to read its queue's length and capacity.
    pub fn set_queue_probe(&self, probe: QueueProbe) {
        let _ = self.queue.set(probe);
    }

    /// The queue's (length, capacity) in batches; None for plugins without a queue.
    pub fn queue(&self) -> Option<(usize, usize)> {
        self.queue.get().map(|probe| probe())
    }

    /// Terminations for `reason` so far.
    pub fn terminations(&self, reason: TerminationReason) -> u64 {
        self.terminations[reason.index()].get()
    }

    /// Remembers the text of the latest error.
    pub fn set_last_error(&self, text: &str) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(text.to_owned());
        }
    }

    /// The text of the latest error.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|l| l.clone())
    }

    /// An output attempt failed and will be retried after `wait`.
    pub fn record_retry(&self, wait: Duration, reason: &str) {
        self.retries.inc();
        self.sending_errors.inc();
        self.backoff_ns.set(wait.as_nanos() as u64);
        self.set_last_error(reason);
    }

    /// Counts a termination and marks the plugin terminated (the registry's
    /// [`super::Registry::terminated`] also keeps a record).
    pub fn terminated_with(&self, reason: TerminationReason, text: &str) {
        self.terminations[reason.index()].inc();
        self.set_last_error(text);
        self.set_state(PluginState::Terminated);
    }
}
