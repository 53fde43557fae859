//! Sandbox outputs over HTTP: `GET /api/v1/sandbox_outputs` lists the latest
//! `inject_payload` of every sandbox filter per name, and
//! `GET /api/v1/sandbox_outputs/{plugin}/{name}` answers one payload's bytes, exactly
//! as injected, with a content type chosen by its payload type (what Heka's
//! DashboardOutput served as `<Logger>.<name>.<type>` files). An output with an empty
//! name (Heka's default) is `/api/v1/sandbox_outputs/{plugin}/`.
//!
//! `GET /data/<Logger>.<name>.<type>` serves the same bytes under the file name Heka's
//! DashboardOutput wrote (the name with every non-word character removed, at most 64
//! bytes), so scrapers of Heka's dashboard keep working.
//!
//! All read the per-filter slots kept beside the statistics
//! ([`heka_pipeline::sandbox_outputs`]), never the router. Payloads are message data,
//! so off loopback the payload route needs the ops token; the list (names, types,
//! sizes) does not.

use std::sync::Arc;

use heka_pipeline::Registry;
use heka_pipeline::sandbox_outputs::SandboxOutput;
use serde::{Deserialize, Serialize};

/// One line of the list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputEntry {
    /// The filter (config section name; Heka's Logger of the output message).
    pub plugin: String,
    /// `payload_name`.
    pub name: String,
    /// `payload_type`.
    #[serde(rename = "type")]
    pub payload_type: String,
    /// Payload size.
    pub bytes: usize,
    /// Unix seconds of the latest injection.
    pub updated: f64,
    /// Where the payload is served (path, percent-encoded).
    pub url: String,
}

/// Every sandbox output, filters in pipeline order, names in order of appearance.
pub fn list(registry: &Registry) -> Vec<OutputEntry> {
    let mut entries = Vec::new();
    for plugin in registry.plugins() {
        for out in plugin.sandbox_outputs().list() {
            entries.push(OutputEntry {
                plugin: plugin.name().to_owned(),
                name: out.name.clone(),
                payload_type: out.payload_type.clone(),
                bytes: out.payload.len(),
                updated: out.updated_ns as f64 / 1e9,
                url: format!(
                    "/api/v1/sandbox_outputs/{}/{}",
                    percent_encode(plugin.name()),
                    percent_encode(&out.name)
                ),
            });
        }
    }
    entries
}

/// The output of `plugin` named `name`.
pub fn find(registry: &Registry, plugin: &str, name: &str) -> Option<Arc<SandboxOutput>> {
    registry.find(plugin)?.sandbox_outputs().get(name)
}

/// The output Heka's DashboardOutput stored as `file` (see [`heka_file`]).
pub fn find_heka_file(registry: &Registry, file: &str) -> Option<Arc<SandboxOutput>> {
    registry.plugins().iter().find_map(|p| {
        file.strip_prefix(p.name())?.strip_prefix('.')?;
        p.sandbox_outputs()
            .list()
            .into_iter()
            .find(|o| heka_file(p.name(), o) == file)
    })
}

/// The file name Heka's DashboardOutput stored an output of `plugin` under:
/// `<Logger>.<name>.<type>`, name and type with every non-word character (`\W`: not
/// ASCII letters, digits or `_`) removed, the name cut to 64 bytes.
pub fn heka_file(plugin: &str, out: &SandboxOutput) -> String {
    let word = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    let name: String = out.name.chars().filter(word).take(64).collect();
    let payload_type: String = out.payload_type.chars().filter(word).collect();
    format!("{plugin}.{name}.{payload_type}")
}

/// The content type a payload is served with. Only plain text and JSON are named as
/// such; anything else (HTML included: a script's output must never run as the
/// dashboard's page) is served as bytes, with `nosniff` on every response.
pub fn content_type(payload_type: &str) -> &'static str {
    match payload_type {
        "json" => "application/json",
        "txt" | "cbuf" | "cbufd" | "tsv" | "csv" | "log" | "text" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters: a path segment
/// here, a query value in `hekad tail`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_as_one_path_segment() {
        assert_eq!(percent_encode("HTTP Status/5xx"), "HTTP%20Status%2F5xx");
        assert_eq!(percent_encode("a-b.c_d~"), "a-b.c_d~");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn heka_file_names_keep_word_characters_only() {
        let out = |name: &str, payload_type: &str| SandboxOutput {
            name: name.into(),
            payload_type: payload_type.into(),
            payload: Vec::new(),
            updated_ns: 0,
        };
        assert_eq!(
            heka_file("f", &out("HTTP Status (5xx)", "cbuf")),
            "f.HTTPStatus5xx.cbuf"
        );
        assert_eq!(
            heka_file("f", &out(&"a".repeat(100), "t.x")).len(),
            2 + 64 + 3
        );
        assert_eq!(heka_file("f", &out("", "txt")), "f..txt");
    }

    #[test]
    fn only_text_and_json_are_named() {
        assert_eq!(content_type("cbuf"), "text/plain; charset=utf-8");
        assert_eq!(content_type("json"), "application/json");
        assert_eq!(content_type("html"), "application/octet-stream");
    }
}
