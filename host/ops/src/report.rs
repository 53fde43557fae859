//! Heka's report, built from the registry in its two forms:
//!
//! - [`text()`]: what SIGUSR1 and `POST /api/v1/report` write to the log, one block per
//!   plugin;
//! - [`json()`]: the `heka.all-report` payload Heka's DashboardOutput stored as
//!   `heka_report.json`, served at `GET /data/heka_report.json`: an object keyed
//!   `globals`, `inputs`, `splitters`, `decoders`, `filters`, `encoders`, `outputs`,
//!   each an array of `{"Name": …, "<Metric>": {"value": …, "representation": …}}`.
//!
//! Both write the one field list of `fields`, with Heka's own names (InChanCapacity,
//! InChanLength, ProcessMessageCount, ProcessMessageFailures, InjectMessageCount,
//! Memory, MaxMemory, MaxInstructions, MaxOutput), so people who grep Heka's report or
//! scrape its dashboard file keep finding the same words.

use std::fmt::Write;

use heka_pipeline::Registry;
use heka_pipeline::stats::{PluginKind, PluginStats};
use serde_json::{Map, Value, json};

/// One reported figure: Heka's name, its value and Heka's `representation`.
struct Field {
    name: &'static str,
    value: FieldValue,
    representation: &'static str,
}

enum FieldValue {
    Count(u64),
    Text(String),
}

fn count(name: &'static str, value: u64, representation: &'static str) -> Field {
    Field {
        name,
        value: FieldValue::Count(value),
        representation,
    }
}

fn text_field(name: &'static str, value: String) -> Field {
    Field {
        name,
        value: FieldValue::Text(value),
        representation: "",
    }
}

/// What the report says of one plugin, in order.
fn fields(p: &PluginStats) -> Vec<Field> {
    let mut out = vec![
        text_field("Type", format!("{} ({})", p.type_name(), p.kind().as_str())),
        text_field("State", p.state().as_str().to_owned()),
    ];
    if let Some((len, cap)) = p.queue() {
        out.push(count("InChanCapacity", cap as u64, "count"));
        out.push(count("InChanLength", len as u64, "count"));
    }
    match p.kind() {
        PluginKind::Filter => {
            out.push(count(
                "ProcessMessageCount",
                p.received_messages.get(),
                "count",
            ));
            out.push(count(
                "ProcessMessageFailures",
                p.processing_errors.get(),
                "count",
            ));
            out.push(count("InjectMessageCount", p.sent_messages.get(), "count"));
        }
        PluginKind::Output => {
            out.push(count(
                "ProcessMessageCount",
                p.received_messages.get(),
                "count",
            ));
            out.push(count("SentMessageCount", p.sent_messages.get(), "count"));
            out.push(count("Retries", p.retries.get(), "count"));
        }
        _ => out.push(count("SentMessageCount", p.sent_messages.get(), "count")),
    }
    let s = p.sandbox();
    if s.engine().is_some() {
        out.push(count("Memory", s.memory_bytes.get(), "B"));
        out.push(count("MaxMemory", s.memory_max_bytes.get(), "B"));
        out.push(count("MaxInstructions", s.instructions_max.get(), "count"));
        out.push(count("MaxOutput", s.output_max_bytes.get(), "B"));
    }
    if let Some(error) = p.last_error() {
        out.push(text_field("LastError", error));
    }
    out
}

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
        for field in fields(&p) {
            let _ = match field.value {
                FieldValue::Count(n) => writeln!(out, "    {}: {n}", field.name),
                FieldValue::Text(t) => writeln!(out, "    {}: {t}", field.name),
            };
        }
    }
    out.push_str("========\n");
    out
}

/// The section of Heka's JSON report a kind of plugin is listed in.
fn section(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Input => "inputs",
        PluginKind::Splitter => "splitters",
        PluginKind::Decoder => "decoders",
        PluginKind::Filter => "filters",
        PluginKind::Encoder => "encoders",
        PluginKind::Output => "outputs",
    }
}

/// The report as Heka's `heka_report.json`.
pub fn json(registry: &Registry) -> Value {
    let mut report = Map::new();
    let router = json!({
        "Name": "Router",
        "ProcessMessageCount": {"value": registry.router_messages.get(), "representation": "count"},
    });
    report.insert("globals".into(), Value::Array(vec![router]));
    for name in [
        "inputs",
        "splitters",
        "decoders",
        "filters",
        "encoders",
        "outputs",
    ] {
        report.insert(name.into(), Value::Array(Vec::new()));
    }
    for p in registry.plugins() {
        let mut entry = Map::new();
        entry.insert("Name".into(), Value::String(p.name().to_owned()));
        for field in fields(&p) {
            let value = match field.value {
                FieldValue::Count(n) => Value::from(n),
                FieldValue::Text(t) => Value::String(t),
            };
            entry.insert(
                field.name.into(),
                json!({"value": value, "representation": field.representation}),
            );
        }
        if let Some(Value::Array(list)) = report.get_mut(section(p.kind())) {
            list.push(Value::Object(entry));
        }
    }
    Value::Object(report)
}

#[cfg(test)]
mod tests {
    use heka_pipeline::stats::{PluginKind, Registry};

    fn registry() -> Registry {
        let r = Registry::new();
        let f = r.plugin("agg", PluginKind::Filter);
        f.set_type_name("SandboxFilter");
        f.received_messages.add(7);
        f.processing_errors.add(2);
        r.plugin("out", PluginKind::Output)
            .set_type_name("LogOutput");
        r
    }

    #[test]
    fn the_report_uses_hekas_field_names() {
        let text = super::text(&registry());
        assert!(
            text.contains("agg:\n    Type: SandboxFilter (filter)\n    State: "),
            "{text}"
        );
        assert!(text.contains("ProcessMessageCount: 7"), "{text}");
        assert!(text.contains("ProcessMessageFailures: 2"), "{text}");
        assert!(
            text.contains("out:\n    Type: LogOutput (output)"),
            "{text}"
        );
    }

    #[test]
    fn the_json_report_has_hekas_shape() {
        let report = super::json(&registry());
        let filters = report["filters"].as_array().unwrap();
        assert_eq!(filters.len(), 1);
        assert_eq!(filters[0]["Name"], "agg");
        assert_eq!(
            filters[0]["ProcessMessageCount"],
            serde_json::json!({"value": 7, "representation": "count"})
        );
        assert_eq!(filters[0]["ProcessMessageFailures"]["value"], 2);
        assert_eq!(report["outputs"][0]["Name"], "out");
        assert_eq!(report["globals"][0]["Name"], "Router");
        for key in ["inputs", "splitters", "decoders", "encoders"] {
            assert_eq!(report[key], serde_json::json!([]), "{key}");
        }
    }
}
