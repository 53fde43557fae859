//! `hekad status [--watch]`, `hekad tail --match EXPR` and `hekad reload`: text views
//! of a running hekad's ops listener, built on the same endpoints the dashboard uses
//! (`/api/v1/status` read back as [`heka_ops::status::Status`], `/api/v1/history`,
//! `/api/v1/tail`, `/api/v1/reload`). No TUI library: `--watch` redraws the table.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use heka_ops::percent_encode;
use heka_ops::status::{PluginStatus, Status};

/// How to reach the listener.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port` of the ops listener.
    pub address: String,
    /// `ops_token`, for calls that need it off loopback (also `HEKAD_OPS_TOKEN`).
    pub token: Option<String>,
}

impl Target {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn agent(&self, timeout: Option<Duration>) -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(timeout)
            .build()
            .into()
    }

    fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let mut resp = self
            .agent(Some(Duration::from_secs(10)))
            .get(&self.url(path))
            .call()
            .map_err(|e| format!("{}: {e}", self.address))?;
        let body = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        if resp.status() != 200 {
            return Err(format!("{path}: HTTP {}: {body}", resp.status()));
        }
        serde_json::from_str(&body).map_err(|e| format!("{path}: {e}"))
    }
}

/// `hekad status`: one table, or a redrawn one every second with `watch`.
pub fn status(target: &Target, watch: bool) -> Result<(), String> {
    loop {
        let status: Status = target.get_json("/api/v1/status")?;
        let history: serde_json::Value = target.get_json("/api/v1/history?seconds=1")?;
        let table = render(&status, &history);
        if watch {
            // Clear the screen and home the cursor (ANSI), then the table.
            print!("\x1b[2J\x1b[H{table}");
        } else {
            print!("{table}");
        }
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        if !watch {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn rate(history: &serde_json::Value, plugin: &str, series: &str) -> f64 {
    history["plugins"][plugin][series]
        .as_array()
        .and_then(|v| v.last())
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

fn limits(p: &PluginStatus) -> String {
    let Some(s) = &p.sandbox else {
        return String::new();
    };
    let share = |v: u64, limit: u64| {
        if limit == 0 {
            "-".to_owned()
        } else {
            format!("{:.0}%", v as f64 * 100.0 / limit as f64)
        }
    };
    format!(
        "mem {} out {} cpu {:.0}%",
        share(s.memory_max_bytes, s.memory_limit_bytes),
        share(s.output_max_bytes, s.output_limit_bytes),
        s.call_budget_max_ratio * 100.0
    )
}

/// The status table as text.
pub fn render(status: &Status, history: &serde_json::Value) -> String {
    let mut out = format!(
        "hekad {}  up {:.0}s  config generation {}  {}  {}  routed {}\n\n",
        status.version,
        status.uptime_seconds,
        status.config.generation,
        if status.live { "live" } else { "WEDGED" },
        if status.ready { "ready" } else { "NOT READY" },
        status.router_messages_total
    );
    out.push_str(&format!(
        "{:<24} {:<7} {:<20} {:<10} {:>9} {:>9} {:>7} {:>8}  {}\n",
        "PLUGIN", "KIND", "TYPE", "STATE", "IN/S", "OUT/S", "ERRORS", "QUEUE", "SANDBOX"
    ));
    for p in &status.plugins {
        let errors = p.receiving_errors + p.processing_errors + p.sending_errors;
        let queue = match (p.queue_length, p.queue_capacity) {
            (Some(l), Some(c)) => format!("{l}/{c}"),
            _ => "-".to_owned(),
        };
        out.push_str(&format!(
            "{:<24} {:<7} {:<20} {:<10} {:>9.1} {:>9.1} {:>7} {:>8}  {}\n",
            p.name,
            p.kind,
            p.type_name,
            p.state,
            rate(history, &p.name, "in"),
            rate(history, &p.name, "out"),
            errors,
            queue,
            limits(p)
        ));
    }
    out
}

/// `hekad tail --match EXPR`: prints each matching message (hekad's JSON form), one
/// per line, until `limit` messages or the stream ends; drops are reported on stderr.
pub fn tail(target: &Target, expression: &str, limit: Option<u64>) -> Result<(), String> {
    let mut url = target.url("/api/v1/tail");
    url.push_str("?match=");
    url.push_str(&percent_encode(expression));
    if let Some(limit) = limit {
        url.push_str(&format!("&limit={limit}"));
    }
    let mut request = target.agent(None).get(&url);
    if let Some(token) = &target.token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut resp = request
        .call()
        .map_err(|e| format!("{}: {e}", target.address))?;
    if resp.status() != 200 {
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        return Err(format!("HTTP {}: {body}", resp.status()));
    }
    let mut event = String::new();
    let stdout = std::io::stdout();
    for line in BufReader::new(resp.body_mut().as_reader()).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(e) = line.strip_prefix("event: ") {
            event = e.to_owned();
        } else if let Some(data) = line.strip_prefix("data: ") {
            match event.as_str() {
                "message" => {
                    let mut out = stdout.lock();
                    writeln!(out, "{data}")
                        .and_then(|()| out.flush())
                        .map_err(|e| e.to_string())?;
                }
                "dropped" => eprintln!("hekad tail: {data}"),
                _ => {}
            }
        }
    }
    Ok(())
}

/// `hekad reload`: asks for a reload; Ok(true) when the new config runs.
pub fn reload(target: &Target) -> Result<heka_ops::ReloadOutcome, String> {
    let mut request = target
        .agent(Some(Duration::from_secs(120)))
        .post(&target.url("/api/v1/reload"));
    if let Some(token) = &target.token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut resp = request
        .send_empty()
        .map_err(|e| format!("{}: {e}", target.address))?;
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&body).map_err(|_| format!("HTTP {}: {body}", resp.status()))
}

/// What `hekad reload` prints after its first line: one line per non-empty list
/// (`kept` only counted), nothing when nothing changed.
pub fn reload_changes_text(changes: &heka_ops::ReloadChanges) -> String {
    let mut text = String::new();
    if let Some(reason) = &changes.full_restart {
        text.push_str(&format!("full restart: {reason}\n"));
        return text;
    }
    for (what, names) in [
        ("started", &changes.started),
        ("stopped", &changes.stopped),
        ("replaced", &changes.replaced),
        ("state carried", &changes.state_carried),
        ("warning", &changes.warnings),
    ] {
        if !names.is_empty() {
            text.push_str(&format!("{what}: {}\n", names.join(", ")));
        }
    }
    if !text.is_empty() {
        text.push_str(&format!("kept: {} plugins\n", changes.kept.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn reload_changes_are_listed_only_when_something_changed() {
        let mut changes = heka_ops::ReloadChanges {
            kept: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(super::reload_changes_text(&changes), "");
        changes.replaced = vec!["count".into()];
        changes.state_carried = vec!["count".into()];
        assert_eq!(
            super::reload_changes_text(&changes),
            "replaced: count\nstate carried: count\nkept: 2 plugins\n"
        );
        changes.full_restart = Some("[hekad] settings changed".into());
        assert_eq!(
            super::reload_changes_text(&changes),
            "full restart: [hekad] settings changed\n"
        );
    }

    #[test]
    fn matchers_are_percent_encoded() {
        assert_eq!(
            super::percent_encode("Type == 'a' && x =~ /é/"),
            "Type%20%3D%3D%20%27a%27%20%26%26%20x%20%3D~%20%2F%C3%A9%2F"
        );
    }
}
