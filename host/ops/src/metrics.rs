//! `GET /metrics`: the registry as Prometheus text exposition format 0.0.4.
//!
//! Names follow Prometheus conventions: prefix `hekad_`, base units (seconds, bytes),
//! `_total` on counters, capacity apart from length. Labels are `plugin` (the section
//! name), `kind` and `type` (the Heka type name), plus `engine` on sandbox figures
//! and fixed-set labels (`reason`, `stage`, `intentional`, `result`); file paths and
//! matcher strings never become labels. Every family is one row of a table below,
//! so a name is written once. The `metrics_lint` test and `promtool check metrics`
//! check the output.
//!
//! Queues carry batches of up to 256 messages (see the router's doc), so queue fill
//! is exported in batches: `hekad_plugin_queue_batches` beside
//! `hekad_plugin_queue_capacity_batches`.

use std::fmt::Write;

use heka_pipeline::Registry;
use heka_pipeline::stats::{PluginKind, PluginStats, TerminationReason};

use crate::history::Ring;
use crate::procfs;

/// The text served as `/metrics`' Content-Type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

type PluginValue = fn(&PluginStats) -> Option<f64>;

/// Per-plugin families with one sample per plugin: (name, type, help, value).
const PLUGIN_FAMILIES: &[(&str, &str, &str, PluginValue)] = &[
    (
        "hekad_plugin_up",
        "gauge",
        "1 while the plugin runs, 0 once it stopped or was terminated.",
        |p| {
            Some(f64::from(u8::from(
                p.state() == heka_pipeline::stats::PluginState::Running,
            )))
        },
    ),
    (
        "hekad_plugin_restarts_total",
        "counter",
        "Restarts of the plugin (reloads).",
        |p| Some(p.restarts.get() as f64),
    ),
    (
        "hekad_plugin_received_messages_total",
        "counter",
        "Messages the plugin took from its queue (filters, outputs).",
        |p| (p.kind() != PluginKind::Input).then(|| p.received_messages.get() as f64),
    ),
    (
        "hekad_plugin_received_bytes_total",
        "counter",
        "Bytes an input read.",
        |p| (p.kind() == PluginKind::Input).then(|| p.received_bytes.get() as f64),
    ),
    (
        "hekad_plugin_sent_messages_total",
        "counter",
        "Messages routed (inputs), injected (filters) or delivered (outputs).",
        |p| Some(p.sent_messages.get() as f64),
    ),
    (
        "hekad_plugin_sent_bytes_total",
        "counter",
        "Bytes an output handed to its sink.",
        |p| (p.kind() == PluginKind::Output).then(|| p.sent_bytes.get() as f64),
    ),
    (
        "hekad_plugin_queue_batches",
        "gauge",
        "Batches waiting in the plugin's queue.",
        |p| p.queue().map(|q| q.0 as f64),
    ),
    (
        "hekad_plugin_queue_capacity_batches",
        "gauge",
        "Capacity of the plugin's queue, in batches.",
        |p| p.queue().map(|q| q.1 as f64),
    ),
    (
        "hekad_plugin_calls_total",
        "counter",
        "Calls into the plugin (batches, bursts, timer events).",
        |p| (p.kind() != PluginKind::Input).then(|| p.calls.get() as f64),
    ),
    (
        "hekad_plugin_busy_seconds_total",
        "counter",
        "Time spent inside plugin calls.",
        |p| (p.kind() != PluginKind::Input).then(|| p.busy_ns.get() as f64 / 1e9),
    ),
    (
        "hekad_plugin_timer_events_total",
        "counter",
        "Timer events run.",
        |p| (p.kind() == PluginKind::Filter).then(|| p.timer_events.get() as f64),
    ),
    (
        "hekad_output_retries_total",
        "counter",
        "Send attempts an output retried.",
        |p| (p.kind() == PluginKind::Output).then(|| p.retries.get() as f64),
    ),
    (
        "hekad_output_backoff_seconds",
        "gauge",
        "The output's current retry back-off (0 when not waiting).",
        |p| (p.kind() == PluginKind::Output).then(|| p.backoff_ns.get() as f64 / 1e9),
    ),
];

/// Sandbox families (extra label `engine`): (name, type, help, value).
const SANDBOX_FAMILIES: &[(&str, &str, &str, PluginValue)] = &[
    (
        "hekad_sandbox_memory_bytes",
        "gauge",
        "Sandbox memory in use after its last call.",
        |p| Some(p.sandbox().memory_bytes.get() as f64),
    ),
    (
        "hekad_sandbox_memory_max_bytes",
        "gauge",
        "Most sandbox memory in use so far.",
        |p| Some(p.sandbox().memory_max_bytes.get() as f64),
    ),
    (
        "hekad_sandbox_memory_limit_bytes",
        "gauge",
        "The sandbox's memory_limit.",
        |p| Some(p.sandbox().memory_limit_bytes.get() as f64),
    ),
    (
        "hekad_sandbox_output_max_bytes",
        "gauge",
        "Largest output of one call so far.",
        |p| Some(p.sandbox().output_max_bytes.get() as f64),
    ),
    (
        "hekad_sandbox_output_limit_bytes",
        "gauge",
        "The sandbox's output_limit.",
        |p| Some(p.sandbox().output_limit_bytes.get() as f64),
    ),
    (
        "hekad_sandbox_call_budget_max_ratio",
        "gauge",
        "The worst call's share of its instruction or time budget.",
        |p| Some(p.sandbox().call_budget_max_ratio.get()),
    ),
    (
        "hekad_sandbox_instructions_max",
        "gauge",
        "Most instructions one call used (Lua; Heka's MaxInstructions).",
        |p| Some(p.sandbox().instructions_max.get() as f64),
    ),
    (
        "hekad_sandbox_outputs",
        "gauge",
        "Sandbox outputs (inject_payload names) kept for the dashboard.",
        |p| Some(p.sandbox_outputs().len() as f64),
    ),
    (
        "hekad_sandbox_outputs_refused_total",
        "counter",
        "inject_payload names not kept: max_sandbox_outputs was reached.",
        |p| Some(p.sandbox_outputs().refused.get() as f64),
    ),
];

/// Writes families: `# HELP`, `# TYPE`, then samples.
struct Text {
    out: String,
}

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"");
                escape(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// Label values escape backslash, double quote and newline.
fn escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The whole exposition.
pub fn render(registry: &Registry, history: Option<&Ring>) -> String {
    let mut t = Text {
        out: String::with_capacity(16 * 1024),
    };
    global(&mut t, registry);
    let plugins = registry.plugins();
    for (name, kind, help, value) in PLUGIN_FAMILIES {
        let samples: Vec<_> = plugins
            .iter()
            .filter_map(|p| Some((p, value(p)?)))
            .collect();
        if samples.is_empty() {
            continue;
        }
        t.family(name, kind, help);
        for (p, v) in samples {
            t.sample(name, &labels(p), v);
        }
    }
    per_label(&mut t, &plugins);
    if let Some(ring) = history {
        t.family(
            "hekad_plugin_utilization_ratio",
            "gauge",
            "Busy share of the last second (time in plugin calls over wall time).",
        );
        for p in plugins.iter().filter(|p| p.kind() != PluginKind::Input) {
            t.sample(
                "hekad_plugin_utilization_ratio",
                &labels(p),
                f64::from(ring.utilization(p.name()).unwrap_or(0.0)),
            );
        }
    }
    let sandboxes: Vec<_> = plugins
        .iter()
        .filter_map(|p| Some((p, p.sandbox().engine()?.as_str())))
        .collect();
    if !sandboxes.is_empty() {
        for (name, kind, help, value) in SANDBOX_FAMILIES {
            t.family(name, kind, help);
            for (p, engine) in &sandboxes {
                let mut l = labels(p).to_vec();
                l.push(("engine", engine));
                t.sample(name, &l, value(p).unwrap_or(0.0));
            }
        }
    }
    t.out
}

fn labels(p: &PluginStats) -> [(&'static str, &str); 3] {
    [
        ("plugin", p.name()),
        ("kind", p.kind().as_str()),
        ("type", p.type_name()),
    ]
}

/// Families with a fixed-set label beside the plugin's.
fn per_label(t: &mut Text, plugins: &[std::sync::Arc<PluginStats>]) {
    let name = "hekad_plugin_terminations_total";
    t.family(name, "counter", "Terminations of the plugin by reason.");
    for p in plugins {
        for reason in TerminationReason::ALL {
            let mut l = labels(p).to_vec();
            l.push(("reason", reason.as_str()));
            t.sample(name, &l, p.terminations(reason) as f64);
        }
    }
    let name = "hekad_plugin_errors_total";
    t.family(name, "counter", "Errors by stage (receiving: decode failures; processing: failed messages; sending: failed output attempts).");
    for p in plugins {
        for (stage, count) in [
            ("receiving", &p.receiving_errors),
            ("processing", &p.processing_errors),
            ("sending", &p.sending_errors),
        ] {
            let mut l = labels(p).to_vec();
            l.push(("stage", stage));
            t.sample(name, &l, count.get() as f64);
        }
    }
    let name = "hekad_plugin_discarded_messages_total";
    t.family(name, "counter", "Messages dropped: intentional (an encoder's skip) or not (an output's drop, a framing failure).");
    for p in plugins.iter().filter(|p| p.kind() == PluginKind::Output) {
        for (intentional, count) in [
            ("true", &p.discarded_intentional),
            ("false", &p.discarded_unintentional),
        ] {
            let mut l = labels(p).to_vec();
            l.push(("intentional", intentional));
            t.sample(name, &l, count.get() as f64);
        }
    }
}

fn global(t: &mut Text, registry: &Registry) {
    let name = "hekad_build_info";
    t.family(name, "gauge", "Always 1; the labels say which build runs.");
    t.sample(name, &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    let start = registry
        .start_time()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    t.single(
        "hekad_start_time_seconds",
        "gauge",
        "Unix time hekad started.",
        start,
    );
    if let Some(p) = procfs::read() {
        t.single(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size.",
            p.resident_memory_bytes as f64,
        );
        t.single(
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time.",
            p.cpu_seconds,
        );
        t.single(
            "process_open_fds",
            "gauge",
            "Open file descriptors.",
            p.open_fds as f64,
        );
    }
    t.single(
        "hekad_router_messages_total",
        "counter",
        "Messages routed (each once, however many plugins matched).",
        registry.router_messages.get() as f64,
    );
    let config = &registry.config;
    t.single(
        "hekad_config_generation",
        "gauge",
        "The running configuration's generation (1 at start, +1 per successful reload).",
        config.generation.get() as f64,
    );
    let name = "hekad_config_reloads_total";
    t.family(name, "counter", "Reload attempts by result.");
    t.sample(
        name,
        &[("result", "success")],
        config.reload_successes.get() as f64,
    );
    t.sample(
        name,
        &[("result", "failure")],
        config.reload_failures.get() as f64,
    );
    t.single(
        "hekad_config_last_reload_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful load or reload.",
        config.last_success_s.get() as f64,
    );
    t.single(
        "hekad_tail_sessions",
        "gauge",
        "Live tails open.",
        registry.taps.sessions() as f64,
    );
    t.single(
        "hekad_tail_dropped_messages_total",
        "counter",
        "Copies a live tail dropped because its reader was slow.",
        registry.taps.dropped() as f64,
    );
}
