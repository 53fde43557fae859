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
//!
//! Files: `metric` (the atomic [`Counter`], [`Gauge`], [`MaxRatio`]), `kind` (the
//! label enums), `plugin` ([`PluginStats`], [`SandboxStats`]), [`sandbox_outputs`]
//! (each sandbox's latest `inject_payload` outputs for the dashboard); the
//! [`Registry`] that holds them all is here.

mod kind;
mod metric;
mod plugin;
pub mod sandbox_outputs;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use kind::{Engine, PluginKind, PluginState, TerminationReason};
pub use metric::{Counter, Gauge, MaxRatio};
pub use plugin::{CallGuard, PluginStats, QueueProbe, SandboxStats};

use crate::tap::Taps;

/// Termination records kept (the newest win): bounds the ring's memory.
pub const MAX_TERMINATIONS: usize = 64;

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
                ("memory_max_bytes", stats.sandbox().memory_max_bytes.get()),
                ("output_max_bytes", stats.sandbox().output_max_bytes.get()),
                ("instructions_max", stats.sandbox().instructions_max.get()),
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
