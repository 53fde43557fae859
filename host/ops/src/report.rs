//! Heka's text report (what SIGUSR1 and `POST /api/v1/report` write to the log), built
//! from the registry: one block per plugin with Heka's own field names
//! (InChanCapacity, InChanLength, ProcessMessageCount, ProcessMessageFailures,
//! InjectMessageCount, Memory, MaxMemory, MaxInstructions, MaxOutput), so people who
//! grep Heka's report keep finding the same words.

use std::fmt::Write;

use heka_pipeline::Registry;
use heka_pipeline::stats::PluginKind;

/// The report text.
pub fn text(registry: &Registry) -> String {
    let mut out = String::from("========[heka.all-report]========\n");
    let _ = writeln!(
        out,
        "hekad uptime: {:.0}s, routed: {}",
        registry.uptime().as_secs_f64(),
        registry.router_messages.get()
    );
    for p in registry.plugins() {
        let _ = writeln!(out, "{}:", p.name());
        let _ = writeln!(out, "    Type: {} ({})", p.type_name(), p.kind().as_str());
        let _ = writeln!(out, "    State: {}", p.state().as_str());
        if let Some((len, cap)) = p.queue() {
            let _ = writeln!(out, "    InChanCapacity: {cap}\n    InChanLength: {len}");
        }
        match p.kind() {
            PluginKind::Filter => {
                let _ = writeln!(
                    out,
                    "    ProcessMessageCount: {}\n    ProcessMessageFailures: {}\n    InjectMessageCount: {}",
                    p.received_messages.get(),
                    p.processing_errors.get(),
                    p.sent_messages.get()
                );
            }
            PluginKind::Output => {
                let _ = writeln!(
                    out,
                    "    ProcessMessageCount: {}\n    SentMessageCount: {}\n    Retries: {}",
                    p.received_messages.get(),
                    p.sent_messages.get(),
                    p.retries.get()
                );
            }
            _ => {
                let _ = writeln!(out, "    SentMessageCount: {}", p.sent_messages.get());
            }
        }
        let s = p.sandbox();
        if s.engine().is_some() {
            let _ = writeln!(
                out,
                "    Memory: {}\n    MaxMemory: {}\n    MaxInstructions: {}\n    MaxOutput: {}",
                s.memory_bytes.get(),
                s.memory_max_bytes.get(),
                s.instructions_max.get(),
                s.output_max_bytes.get()
            );
        }
        if let Some(error) = p.last_error() {
            let _ = writeln!(out, "    LastError: {error}");
        }
    }
    out.push_str("========\n");
    out
}

#[cfg(test)]
mod tests {
    use heka_pipeline::stats::{PluginKind, Registry};

    #[test]
    fn the_report_uses_hekas_field_names() {
        let r = Registry::new();
        let f = r.plugin("agg", PluginKind::Filter);
        f.set_type_name("SandboxFilter");
        f.received_messages.add(7);
        f.processing_errors.add(2);
        let text = super::text(&r);
        assert!(
            text.contains("agg:\n    Type: SandboxFilter (filter)"),
            "{text}"
        );
        assert!(text.contains("ProcessMessageCount: 7"), "{text}");
        assert!(text.contains("ProcessMessageFailures: 2"), "{text}");
    }
}
