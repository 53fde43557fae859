//! The statistics registry: every runner's counters and gauges, kept out of band.
//!
//! Each runner owns an `Arc<PluginStats>` of atomics and bumps them with relaxed
//! stores as it works; the ops listener (`heka-ops`) reads the same atomics directly
//! from its own thread. Nothing here travels through the router, so the numbers keep
//! coming when the router or a plugin wedges, which is exactly when an operator needs
//! them (Heka built its report as a message through the router and went blind then).
//!
//! Costs on the hot path: a counter is one relaxed `fetch_add`; a plugin call is
//! bracketed by [`PluginStats::call`] (two clock reads and three atomics per *batch*,
//! not per message). Locks exist only where the ops side reads rarely-changing things
//! (the plugin list, the last error, the termination ring), never per message.
//!
//! Memory is bounded: one [`PluginStats`] per configured plugin, and at most
//! [`MAX_TERMINATIONS`] termination records.
//!
//! Sandbox engines report through [`SandboxStats`] ([`PluginStats::sandbox`]): memory,
//! the largest output of a call and the worst call's share of its budget, each beside
//! its limit, so a page can show "how close to being killed" for every engine alike.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::sandbox_outputs::SandboxOutputs;
use crate::tap::Taps;

/// Termination records kept (the newest win): bounds the ring's memory.
pub const MAX_TERMINATIONS: usize = 64;

/// A monotonically increasing count (Prometheus counter).
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n` (relaxed: readers want a recent value, not an ordering).
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (Prometheus gauge), as an unsigned integer.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Raises the value to `v` if `v` is larger (a high-water mark).
    #[inline]
    pub fn raise(&self, v: u64) {
        self.0.fetch_max(v, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A high-water mark of a ratio (0.0 and up), stored as `f64` bits. Non-negative
/// floats order like their bit patterns, so `fetch_max` on the bits is a float max.
#[derive(Debug, Default)]
pub struct MaxRatio(AtomicU64);

impl MaxRatio {
    /// Raises the mark to `ratio` (negative or NaN values are ignored).
    #[inline]
    pub fn raise(&self, ratio: f64) {
        if ratio >= 0.0 {
            self.0.fetch_max(ratio.to_bits(), Ordering::Relaxed);
        }
    }

    /// The mark.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// The plugin kinds, as the `kind` label says them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    Input,
    Splitter,
    Decoder,
    Filter,
    Encoder,
    Output,
}

impl PluginKind {
    /// The label value (`input`, `filter`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Input => "input",
            PluginKind::Splitter => "splitter",
            PluginKind::Decoder => "decoder",
            PluginKind::Filter => "filter",
            PluginKind::Encoder => "encoder",
            PluginKind::Output => "output",
        }
    }
}

/// Where a plugin is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginState {
    /// Registered, thread not started yet.
    Starting,
    /// Its thread runs.
    Running,
    /// Stopped on request (shutdown) or its input finished.
    Stopped,
    /// Terminated by an error, a limit, a trap or a panic.
    Terminated,
}

impl PluginState {
    /// The name the JSON and the pages use.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginState::Starting => "starting",
            PluginState::Running => "running",
            PluginState::Stopped => "stopped",
            PluginState::Terminated => "terminated",
        }
    }

    fn from_u8(v: u8) -> PluginState {
        match v {
            1 => PluginState::Running,
            2 => PluginState::Stopped,
            3 => PluginState::Terminated,
            _ => PluginState::Starting,
        }
    }
}

/// Why a plugin was terminated, in the fixed set the `reason` label may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerminationReason {
    MemoryLimit,
    InstructionLimit,
    OutputLimit,
    Trap,
    Deadline,
    FatalReturn,
    Slow,
    Panic,
}

impl TerminationReason {
    /// Every reason, in label order.
    pub const ALL: [TerminationReason; 8] = [
        TerminationReason::MemoryLimit,
        TerminationReason::InstructionLimit,
        TerminationReason::OutputLimit,
        TerminationReason::Trap,
        TerminationReason::Deadline,
        TerminationReason::FatalReturn,
        TerminationReason::Slow,
        TerminationReason::Panic,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            TerminationReason::MemoryLimit => "memory_limit",
            TerminationReason::InstructionLimit => "instruction_limit",
            TerminationReason::OutputLimit => "output_limit",
            TerminationReason::Trap => "trap",
            TerminationReason::Deadline => "deadline",
            TerminationReason::FatalReturn => "fatal_return",
            TerminationReason::Slow => "slow",
            TerminationReason::Panic => "panic",
        }
    }

    /// Classifies a termination's text. The engines' wordings are the source until
    /// the sandbox contract hands a typed limit over ([`PluginStats::terminated_with`]
    /// takes the class directly then); anything unrecognised is a fatal return.
    pub fn classify(text: &str) -> TerminationReason {
        let t = text.to_ascii_lowercase();
        if t.contains("panicked") {
            TerminationReason::Panic
        } else if t.contains("memory") {
            TerminationReason::MemoryLimit
        } else if t.contains("instruction") || t.contains("fuel") {
            TerminationReason::InstructionLimit
        } else if t.contains("output") && t.contains("limit") {
            TerminationReason::OutputLimit
        } else if t.contains("wall-clock") || t.contains("deadline") || t.contains("interrupt") {
            TerminationReason::Deadline
        } else if t.contains("trap") || t.contains("unreachable") {
            TerminationReason::Trap
        } else {
            TerminationReason::FatalReturn
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The sandbox engine behind a plugin, as the `engine` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Wasm,
    Lua,
}

impl Engine {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Wasm => "wasm",
            Engine::Lua => "lua",
        }
    }
}

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
    name: Arc<str>,
    kind: PluginKind,
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
    fn new(name: &str, kind: PluginKind, epoch: Instant) -> PluginStats {
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
    /// [`Registry::terminated`] also keeps a record).
    pub fn terminated_with(&self, reason: TerminationReason, text: &str) {
        self.terminations[reason.index()].inc();
        self.set_last_error(text);
        self.set_state(PluginState::Terminated);
    }
}

/// One termination as the terminations page shows it.
#[derive(Debug, Clone)]
pub struct Termination {
    /// Wall-clock time, ns since the epoch.
    pub time_ns: i64,
    pub plugin: String,
    pub type_name: String,
    pub kind: PluginKind,
    pub reason: TerminationReason,
    pub message: String,
    /// The plugin's counters at that moment: (name, value).
    pub snapshot: Vec<(&'static str, u64)>,
}

/// Config generation and reload outcomes.
#[derive(Debug, Default)]
pub struct ConfigStats {
    /// The running config's generation (1 at start).
    pub generation: Gauge,
    pub reload_successes: Counter,
    pub reload_failures: Counter,
    /// Seconds since the epoch of the last successful load or reload.
    pub last_success_s: Gauge,
    /// The last reload's error text, if it failed.
    pub last_error: Mutex<Option<String>>,
}

/// Every plugin's stats, the router's and the process-wide figures.
#[derive(Debug)]
pub struct Registry {
    epoch: Instant,
    start_time: SystemTime,
    plugins: RwLock<Vec<Arc<PluginStats>>>,
    terminations: Mutex<VecDeque<Termination>>,
    /// Messages routed (each routed message once, however many plugins matched).
    pub router_messages: Counter,
    /// Config generation and reloads.
    pub config: ConfigStats,
    /// Live-tail taps the router copies matching messages to.
    pub taps: Arc<Taps>,
    started: AtomicBool,
    stopping: AtomicBool,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

impl Registry {
    /// An empty registry; its start time is now.
    pub fn new() -> Registry {
        Registry {
            epoch: Instant::now(),
            start_time: SystemTime::now(),
            plugins: RwLock::new(Vec::new()),
            terminations: Mutex::new(VecDeque::new()),
            router_messages: Counter::default(),
            config: ConfigStats::default(),
            taps: Arc::new(Taps::default()),
            started: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }
    }

    /// The stats of plugin `name`, made on first use. The daemon may ask before the
    /// pipeline starts (to record the type name, or hand a sandbox its stats); the
    /// runner gets the same `Arc`.
    pub fn plugin(&self, name: &str, kind: PluginKind) -> Arc<PluginStats> {
        if let Ok(plugins) = self.plugins.read()
            && let Some(p) = plugins.iter().find(|p| &*p.name == name)
        {
            return p.clone();
        }
        let mut plugins = match self.plugins.write() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(p) = plugins.iter().find(|p| &*p.name == name) {
            return p.clone();
        }
        let stats = Arc::new(PluginStats::new(name, kind, self.epoch));
        plugins.push(stats.clone());
        stats
    }

    /// The stats of plugin `name`, if it was registered.
    pub fn find(&self, name: &str) -> Option<Arc<PluginStats>> {
        let plugins = self.plugins.read().ok()?;
        plugins.iter().find(|p| &*p.name == name).cloned()
    }

    /// Every plugin, in pipeline order (inputs, decoders, filters, encoders, outputs),
    /// then in registration order.
    pub fn plugins(&self) -> Vec<Arc<PluginStats>> {
        let mut list = match self.plugins.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        list.sort_by_key(|p| p.kind);
        list
    }

    /// When this registry (the daemon) started.
    pub fn start_time(&self) -> SystemTime {
        self.start_time
    }

    /// Time since start.
    pub fn uptime(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Records a termination: counts it on the plugin and keeps a record.
    pub fn terminated(&self, stats: &PluginStats, message: &str) {
        let reason = TerminationReason::classify(message);
        stats.terminated_with(reason, message);
        let record = Termination {
            time_ns: wall_ns(),
            plugin: stats.name().to_owned(),
            type_name: stats.type_name().to_owned(),
            kind: stats.kind(),
            reason,
            message: message.to_owned(),
            snapshot: vec![
                ("received_messages", stats.received_messages.get()),
                ("sent_messages", stats.sent_messages.get()),
                ("processing_errors", stats.processing_errors.get()),
                ("memory_max_bytes", stats.sandbox.memory_max_bytes.get()),
                ("output_max_bytes", stats.sandbox.output_max_bytes.get()),
                ("instructions_max", stats.sandbox.instructions_max.get()),
            ],
        };
        if let Ok(mut ring) = self.terminations.lock() {
            if ring.len() == MAX_TERMINATIONS {
                ring.pop_front();
            }
            ring.push_back(record);
        }
    }

    /// The termination records, oldest first.
    pub fn terminations(&self) -> Vec<Termination> {
        self.terminations
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every plugin has been started (readiness).
    pub fn set_started(&self, started: bool) {
        self.started.store(started, Ordering::Relaxed);
    }

    /// Whether every plugin has been started.
    pub fn started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    /// A new configuration is about to start in this registry (in-place reload, after
    /// the previous pipeline stopped): plugins `keep` rejects are dropped, the others
    /// keep their counters (Prometheus counters do not restart), and readiness starts
    /// over (not started, not stopping).
    pub fn begin_generation(&self, keep: &dyn Fn(&str) -> bool) {
        match self.plugins.write() {
            Ok(mut p) => p.retain(|s| keep(&s.name)),
            Err(poisoned) => poisoned.into_inner().retain(|s| keep(&s.name)),
        }
        self.started.store(false, Ordering::Relaxed);
        self.stopping.store(false, Ordering::Relaxed);
    }

    /// A shutdown is under way (readiness turns false).
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether a shutdown is under way.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Watched plugins whose current call has run longer than `limit`: the liveness
    /// check. Outputs are not watched (a sink outage must not fail liveness).
    pub fn wedged(&self, limit: Duration) -> Vec<(Arc<PluginStats>, Duration)> {
        self.plugins()
            .into_iter()
            .filter(|p| p.watched() && p.state() == PluginState::Running)
            .filter_map(|p| {
                let busy = p.busy_for()?;
                (busy > limit).then_some((p, busy))
            })
            .collect()
    }
}

/// The stats entry of a decoder or encoder section (made on first use; every
/// instance of the section shares it), labelled and running.
pub fn section_stats(
    registry: &Registry,
    name: &str,
    type_name: &str,
    kind: PluginKind,
) -> Arc<PluginStats> {
    let stats = registry.plugin(name, kind);
    stats.set_type_name(type_name);
    stats.set_state(PluginState::Running);
    stats
}

/// Now, ns since the Unix epoch.
pub fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_stats_are_shared_by_name_and_ordered_by_kind() {
        let r = Registry::new();
        let out = r.plugin("out", PluginKind::Output);
        let inp = r.plugin("in", PluginKind::Input);
        assert!(Arc::ptr_eq(&out, &r.plugin("out", PluginKind::Output)));
        out.sent_messages.add(3);
        let names: Vec<_> = r.plugins().iter().map(|p| p.name().to_owned()).collect();
        assert_eq!(names, ["in", "out"]);
        assert_eq!(r.plugin("out", PluginKind::Output).sent_messages.get(), 3);
        drop(inp);
    }

    #[test]
    fn calls_mark_busy_and_count_time() {
        let r = Registry::new();
        let f = r.plugin("f", PluginKind::Filter);
        f.set_state(PluginState::Running);
        assert!(f.busy_for().is_none());
        {
            let _call = f.call();
            assert!(f.busy_for().is_some());
            assert_eq!(r.wedged(Duration::ZERO).len(), 1);
            assert!(r.wedged(Duration::from_secs(3600)).is_empty());
        }
        assert!(f.busy_for().is_none());
        assert_eq!(f.calls.get(), 1);
        assert!(r.wedged(Duration::ZERO).is_empty());
    }

    #[test]
    fn ratios_keep_their_maximum() {
        let m = MaxRatio::default();
        m.raise(0.25);
        m.raise(0.125);
        m.raise(f64::NAN);
        m.raise(-1.0);
        assert_eq!(m.get(), 0.25);
        m.raise(1.5);
        assert_eq!(m.get(), 1.5);
    }

    #[test]
    fn terminations_are_classified_counted_and_bounded() {
        let r = Registry::new();
        let f = r.plugin("f", PluginKind::Filter);
        for _ in 0..MAX_TERMINATIONS + 3 {
            r.terminated(&f, "instruction limit exceeded");
        }
        assert_eq!(f.terminations(TerminationReason::InstructionLimit), 67);
        assert_eq!(f.state(), PluginState::Terminated);
        assert_eq!(r.terminations().len(), MAX_TERMINATIONS);
        assert_eq!(
            TerminationReason::classify("panicked: boom"),
            TerminationReason::Panic
        );
        assert_eq!(
            TerminationReason::classify("memory limit exceeded"),
            TerminationReason::MemoryLimit
        );
        assert_eq!(
            TerminationReason::classify("process_message returned 1"),
            TerminationReason::FatalReturn
        );
    }
}
