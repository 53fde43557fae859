//! [`Status`]: the one snapshot of a running hekad, served as `GET /api/v1/status`
//! and read back by `hekad status`, the dashboard and the tests (one type, many views).
//! Built from the registry's atomics at request time.

use std::time::UNIX_EPOCH;

use heka_pipeline::Registry;
use heka_pipeline::stats::{PluginStats, TerminationReason};
use serde::{Deserialize, Serialize};

/// The whole daemon at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    /// Unix seconds at start.
    pub start_time: f64,
    pub uptime_seconds: f64,
    pub config: ConfigStatus,
    pub live: bool,
    pub ready: bool,
    pub router_messages_total: u64,
    pub tail_sessions: usize,
    pub tail_dropped_total: u64,
    /// Every plugin in pipeline order (inputs, filters, outputs).
    pub plugins: Vec<PluginStatus>,
}

/// The config generation and the last reload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigStatus {
    pub generation: u64,
    pub reload_successes: u64,
    pub reload_failures: u64,
    pub last_reload_error: Option<String>,
}

/// One plugin's counters, gauges, limits and state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginStatus {
    pub name: String,
    pub kind: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub state: String,
    pub received_messages: u64,
    pub received_bytes: u64,
    pub sent_messages: u64,
    pub sent_bytes: u64,
    pub receiving_errors: u64,
    pub processing_errors: u64,
    pub sending_errors: u64,
    pub discarded_intentional: u64,
    pub discarded_unintentional: u64,
    /// Queue fill in batches (a batch holds up to 256 messages); None without a queue.
    pub queue_length: Option<usize>,
    pub queue_capacity: Option<usize>,
    pub calls: u64,
    pub busy_seconds: f64,
    pub timer_events: u64,
    pub retries: u64,
    pub backoff_seconds: f64,
    pub restarts: u64,
    pub last_error: Option<String>,
    /// Terminations by reason (only reasons that happened).
    pub terminations: Vec<(String, u64)>,
    pub sandbox: Option<SandboxStatus>,
}

/// A sandbox's figures beside its limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxStatus {
    pub engine: String,
    pub memory_bytes: u64,
    pub memory_max_bytes: u64,
    pub memory_limit_bytes: u64,
    pub output_max_bytes: u64,
    pub output_limit_bytes: u64,
    pub call_budget_max_ratio: f64,
    pub instructions_max: u64,
    pub instruction_limit: u64,
}

impl Status {
    /// Reads the registry now. `live` and `ready` come from the health checks.
    pub fn read(registry: &Registry, live: bool, ready: bool) -> Status {
        let config = &registry.config;
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            start_time: registry
                .start_time()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            uptime_seconds: registry.uptime().as_secs_f64(),
            config: ConfigStatus {
                generation: config.generation.get(),
                reload_successes: config.reload_successes.get(),
                reload_failures: config.reload_failures.get(),
                last_reload_error: config.last_error.lock().ok().and_then(|e| e.clone()),
            },
            live,
            ready,
            router_messages_total: registry.router_messages.get(),
            tail_sessions: registry.taps.sessions(),
            tail_dropped_total: registry.taps.dropped(),
            plugins: registry.plugins().iter().map(|p| plugin(p)).collect(),
        }
    }
}

fn plugin(p: &PluginStats) -> PluginStatus {
    let queue = p.queue();
    let sandbox = p.sandbox();
    PluginStatus {
        name: p.name().to_owned(),
        kind: p.kind().as_str().to_owned(),
        type_name: p.type_name().to_owned(),
        state: p.state().as_str().to_owned(),
        received_messages: p.received_messages.get(),
        received_bytes: p.received_bytes.get(),
        sent_messages: p.sent_messages.get(),
        sent_bytes: p.sent_bytes.get(),
        receiving_errors: p.receiving_errors.get(),
        processing_errors: p.processing_errors.get(),
        sending_errors: p.sending_errors.get(),
        discarded_intentional: p.discarded_intentional.get(),
        discarded_unintentional: p.discarded_unintentional.get(),
        queue_length: queue.map(|q| q.0),
        queue_capacity: queue.map(|q| q.1),
        calls: p.calls.get(),
        busy_seconds: p.busy_ns.get() as f64 / 1e9,
        timer_events: p.timer_events.get(),
        retries: p.retries.get(),
        backoff_seconds: p.backoff_ns.get() as f64 / 1e9,
        restarts: p.restarts.get(),
        last_error: p.last_error(),
        terminations: TerminationReason::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), p.terminations(*r)))
            .filter(|(_, n)| *n > 0)
            .collect(),
        sandbox: sandbox.engine().map(|engine| SandboxStatus {
            engine: engine.as_str().to_owned(),
            memory_bytes: sandbox.memory_bytes.get(),
            memory_max_bytes: sandbox.memory_max_bytes.get(),
            memory_limit_bytes: sandbox.memory_limit_bytes.get(),
            output_max_bytes: sandbox.output_max_bytes.get(),
            output_limit_bytes: sandbox.output_limit_bytes.get(),
            call_budget_max_ratio: sandbox.call_budget_max_ratio.get(),
            instructions_max: sandbox.instructions_max.get(),
            instruction_limit: sandbox.instruction_limit.get(),
        }),
    }
}
