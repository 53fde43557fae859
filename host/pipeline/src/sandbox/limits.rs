//! A sandbox's identity and limits ([`SandboxSpec`]), with Heka's defaults, the one
//! [`ConfigValue`] and the one load error ([`SandboxError`]), whichever engine runs
//! the plugin. The wording of a broken limit is `crate::limit`'s `LimitExceeded`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::limit::MAX_DECODER_INJECT;

/// Heka's default `memory_limit`: 8 MiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 8 * 1024 * 1024;
/// Heka's default `instruction_limit`: 1,000,000 per call (per message in a batch).
pub const DEFAULT_INSTRUCTION_LIMIT: u64 = 1_000_000;
/// Heka's default `output_limit`: 63 KiB.
pub const DEFAULT_OUTPUT_LIMIT: usize = 63 * 1024;
/// Heka's `[hekad] max_process_inject`: injections per `process_message` call.
pub const DEFAULT_MAX_PROCESS_INJECT: usize = 1;
/// Heka's `[hekad] max_timer_inject`: injections per `timer_event` call.
pub const DEFAULT_MAX_TIMER_INJECT: usize = 10;
/// A sandbox's limits (reference §6.1; `max_*_inject` are `[hekad]` globals).
#[derive(Clone, Debug, PartialEq)]
pub struct SandboxLimits {
    /// Bytes the guest's memory may grow to.
    pub memory_limit: usize,
    /// Instructions per call and per message; 0 = unlimited (Heka's inputs/outputs).
    pub instruction_limit: u64,
    /// Bytes of the output buffer and of one injected message.
    pub output_limit: usize,
    /// Filters: injections per message processed.
    pub max_process_inject: usize,
    /// Filters: injections per `timer_event`.
    pub max_timer_inject: usize,
}

impl Default for SandboxLimits {
    fn default() -> SandboxLimits {
        SandboxLimits {
            memory_limit: DEFAULT_MEMORY_LIMIT,
            instruction_limit: DEFAULT_INSTRUCTION_LIMIT,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            max_process_inject: DEFAULT_MAX_PROCESS_INJECT,
            max_timer_inject: DEFAULT_MAX_TIMER_INJECT,
        }
    }
}

impl SandboxLimits {
    /// The most host memory, in bytes, one sandbox instance of `kind` can make hekad
    /// hold, whatever its guest does (docs/sandbox.md, "Memory"; one formula, used by
    /// the docs' bound on hekad's peak RSS and by the hostile suite that checks it):
    ///
    /// `S = memory_limit + output_limit + I × output_limit`, where `I`, the injections
    /// one call may hold, is `max(B × max_process_inject, max_timer_inject)` for a
    /// filter (`B` = 256 messages per batch call), 1 for an encoder (its last output)
    /// and [`MAX_DECODER_INJECT`] for a decoder. Other kinds are not sandboxes: 0.
    pub fn host_bytes(&self, kind: crate::stats::PluginKind) -> u64 {
        use crate::stats::PluginKind;
        let held = match kind {
            PluginKind::Filter => (crate::settings::FILTER_BATCH
                .saturating_mul(self.max_process_inject))
            .max(self.max_timer_inject),
            PluginKind::Encoder => 1,
            PluginKind::Decoder => MAX_DECODER_INJECT,
            _ => return 0,
        };
        let output = self.output_limit as u64;
        (self.memory_limit as u64)
            .saturating_add(output)
            .saturating_add((held as u64).saturating_mul(output))
    }
}

/// A `[<name>.config]` value as `read_config` returns it: Heka reads strings, bools,
/// int64 and float64 (arrays and tables are not readable).
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

/// What every sandbox engine needs to know about one plugin.
#[derive(Clone, Debug)]
pub struct SandboxSpec {
    /// The plugin's section name (Logger of its injections, log attribution).
    pub name: String,
    pub limits: SandboxLimits,
    /// The `[<name>.config]` table.
    pub config: HashMap<String, ConfigValue>,
    /// `preserve_data`: the data file ([`SandboxSpec::preservation_file`]); `None` = off.
    pub preservation_file: Option<PathBuf>,
}

impl SandboxSpec {
    /// Heka's defaults for a plugin named `name`.
    pub fn new(name: impl Into<String>) -> SandboxSpec {
        SandboxSpec {
            name: name.into(),
            limits: SandboxLimits::default(),
            config: HashMap::new(),
            preservation_file: None,
        }
    }

    /// Adds a `[<name>.config]` entry (builder style, for tests and glue code).
    pub fn with_config(mut self, key: &str, value: ConfigValue) -> SandboxSpec {
        self.config.insert(key.to_owned(), value);
        self
    }

    /// Heka's data file for plugin `name`:
    /// `<base_dir>/sandbox_preservation/<name with \W → _>.data`.
    pub fn preservation_file(base_dir: &Path, name: &str) -> PathBuf {
        base_dir
            .join("sandbox_preservation")
            .join(format!("{}.data", sanitize_name(name)))
    }
}

/// Heka's file-name rule for plugin names: every character outside `[A-Za-z0-9_]`
/// becomes `_` (Go's `\W`).
pub fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Why a sandbox could not be loaded or started, whichever engine.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The file is not a valid plugin for its engine (a wasm component that does not
    /// compile, a Lua script with a syntax error); `reason` is the engine's.
    #[error("{path}: {reason}")]
    Compile { path: String, reason: String },
    #[error("{path}: cannot instantiate: {reason}")]
    Instantiate { path: String, reason: String },
    /// The plugin's own start (wasm `init`, a Lua script's top level) failed.
    #[error("{path}: plugin init failed: {reason}")]
    Init { path: String, reason: String },
    #[error("{path}: cannot restore preserved data from {data}: {reason}")]
    Restore {
        path: String,
        data: String,
        reason: String,
    },
    #[error("sandbox engine: {0}")]
    Engine(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preservation_file_replaces_non_word_characters() {
        let p = SandboxSpec::preservation_file(Path::new("/b"), "my-filter.x 1");
        assert_eq!(p, Path::new("/b/sandbox_preservation/my_filter_x_1.data"));
    }
}
