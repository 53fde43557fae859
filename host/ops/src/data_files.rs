//! `GET /data/<file>`: the files Heka's DashboardOutput kept in its working directory,
//! built in memory from the registry at request time, so scrapers of Heka's dashboard
//! keep working:
//!
//! - `heka_report.json`: the `heka.all-report` payload ([`crate::report::json`]);
//! - `sandboxes.json`: `{"sandboxes": [{"Name": <filter>, "Outputs": [{"Name":
//!   <payload_name>, "Filename": "data/<file>"}]}]}`, the filters that have injected a
//!   sandbox output;
//! - `heka_sandbox_termination.tsv`: one line per termination, `<unix seconds>\t<plugin>\t
//!   <reason text>`, oldest first. Heka appended to this file for ever; here it holds
//!   the registry's bounded list of recent terminations (the same as
//!   `/api/v1/terminations`);
//! - `<Logger>.<name>.<type>`: a sandbox output's latest payload
//!   ([`crate::outputs::heka_file`]).

use std::fmt::Write;
use std::sync::Arc;

use heka_pipeline::Registry;
use heka_pipeline::sandbox_outputs::SandboxOutput;
use serde_json::{Value, json};

/// What a `/data/` name is.
pub enum DataFile {
    /// A JSON document (report, sandbox list).
    Json(Value),
    /// Tab-separated text.
    Tsv(String),
    /// A sandbox output: message data, served under the token rule.
    Output(Arc<SandboxOutput>),
}

/// The file named `file`, if there is one.
pub fn find(registry: &Registry, file: &str) -> Option<DataFile> {
    match file {
        "heka_report.json" => Some(DataFile::Json(crate::report::json(registry))),
        "sandboxes.json" => Some(DataFile::Json(sandboxes(registry))),
        "heka_sandbox_termination.tsv" => Some(DataFile::Tsv(terminations(registry))),
        _ => crate::outputs::find_heka_file(registry, file).map(DataFile::Output),
    }
}

fn sandboxes(registry: &Registry) -> Value {
    let list: Vec<Value> = registry
        .plugins()
        .iter()
        .filter_map(|p| {
            let outputs: Vec<Value> = p
                .sandbox_outputs()
                .list()
                .iter()
                .map(|o| {
                    let file = crate::outputs::heka_file(p.name(), o);
                    json!({"Name": o.name, "Filename": format!("data/{file}")})
                })
                .collect();
            (!outputs.is_empty()).then(|| json!({"Name": p.name(), "Outputs": outputs}))
        })
        .collect();
    json!({ "sandboxes": list })
}

fn terminations(registry: &Registry) -> String {
    let mut out = String::new();
    for t in registry.terminations() {
        // One record per line: a reason's own tabs and line breaks become spaces.
        let reason: String = t
            .message
            .chars()
            .map(|c| {
                if c == '\t' || c == '\n' || c == '\r' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "{}\t{}\t{reason}",
            t.time_ns.div_euclid(1_000_000_000),
            t.plugin
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use heka_pipeline::stats::{PluginKind, Registry};

    use super::*;

    #[test]
    fn sandboxes_and_terminations_in_hekas_shapes() {
        let r = Registry::new();
        let f = r.plugin("graph", PluginKind::Filter);
        f.sandbox_outputs().record("cbuf", "HTTP Status", b"{}\n");
        r.plugin("quiet", PluginKind::Filter);
        let Some(DataFile::Json(list)) = find(&r, "sandboxes.json") else {
            panic!("sandboxes.json")
        };
        assert_eq!(
            list,
            json!({"sandboxes": [{"Name": "graph", "Outputs": [
                {"Name": "HTTP Status", "Filename": "data/graph.HTTPStatus.cbuf"}]}]})
        );
        assert!(matches!(
            find(&r, "graph.HTTPStatus.cbuf"),
            Some(DataFile::Output(_))
        ));
        r.terminated(&f, "memory_limit exceeded\tat 9");
        let Some(DataFile::Tsv(tsv)) = find(&r, "heka_sandbox_termination.tsv") else {
            panic!("tsv")
        };
        let line = tsv.lines().next().unwrap();
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "{tsv:?}");
        assert!(cols[0].parse::<i64>().unwrap() > 1_600_000_000, "{tsv:?}");
        assert_eq!(cols[1..], ["graph", "memory_limit exceeded at 9"]);
        assert!(find(&r, "nothing.here").is_none());
    }
}
