//! `LogAggregatorFilter`: the seed's log aggregator (guest-plugins/log-aggregator,
//! `config/lua/log_aggregator.lua`) as native Rust.
//!
//! It exists for two reasons: users who want the seed's pipeline without a sandbox,
//! and the benchmark (`bench/`), where it is the sandbox-free ceiling the wasm and
//! Lua versions are measured against. Its options, outcomes and injected messages
//! are the wasm plugin's, so a config can switch between the two by changing `type`
//! and `filename` only: Payloads are joined with `separator`, flushed on every
//! `timer_event` and early when `max_lines` or `max_bytes` would be exceeded, as one
//! `Type = heka.sandbox-output` message with `Fields[payload_type]` and
//! `Fields[payload_name]`.
//!
//! ```toml
//! [ExampleLogAggregator]
//! type = "LogAggregatorFilter"
//! message_matcher = "Logger == 'ExampleLog'"
//! ticker_interval = 15
//!
//! [ExampleLogAggregator.config]
//! max_lines = 100
//! ```

use heka_message::Message;
use heka_pipeline::sandbox::{SANDBOX_OUTPUT_TYPE, add_payload_fields};
use heka_pipeline::{Filter, FilterContext, PluginError, PluginResult};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::{BuildContext, BuiltFilter};

/// `[x.config]` keys (the wasm plugin's names and defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogAggregatorConfig {
    /// Put between payloads.
    pub separator: String,
    /// Flush after this many payloads (0 = no limit).
    pub max_lines: u64,
    /// Flush before the buffer would exceed this many bytes (default 60000, under the wasm plugin's default output_limit; 0 = no limit).
    pub max_bytes: u64,
    /// `Fields[payload_type]` of the injected messages.
    pub payload_type: String,
    /// `Fields[payload_name]` of the injected messages.
    pub payload_name: String,
}

impl Default for LogAggregatorConfig {
    fn default() -> Self {
        LogAggregatorConfig {
            separator: String::new(),
            max_lines: 0,
            // The wasm plugin's default: under its default output_limit.
            max_bytes: 60_000,
            payload_type: "txt".into(),
            payload_name: String::new(),
        }
    }
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<BuiltFilter, ConfigError> {
    let cfg: LogAggregatorConfig = ctx.parse_config()?;
    Ok(LogAggregator::new(cfg).into())
}

/// The runtime filter.
#[derive(Debug)]
pub struct LogAggregator {
    cfg: LogAggregatorConfig,
    /// Bytes: a log line is whatever the file held.
    buffer: Vec<u8>,
    lines: u64,
}

impl LogAggregator {
    /// A filter with an empty buffer.
    pub fn new(cfg: LogAggregatorConfig) -> LogAggregator {
        LogAggregator {
            cfg,
            buffer: Vec::new(),
            lines: 0,
        }
    }

    fn flush(&mut self, ctx: &mut FilterContext) -> PluginResult {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut msg = ctx.new_message();
        // The shape of an `inject_payload` message, from the sandbox contract.
        msg.r#type = Some(SANDBOX_OUTPUT_TYPE.into());
        // The next buffer grows to about the same size: give it that capacity now
        // instead of doubling its way up again.
        let next = Vec::with_capacity(self.buffer.len());
        msg.payload = Some(std::mem::replace(&mut self.buffer, next));
        add_payload_fields(
            &mut msg,
            self.cfg.payload_type.clone(),
            self.cfg.payload_name.clone(),
        );
        self.lines = 0;
        ctx.inject(msg)
            .map_err(|e| PluginError::Fatal(format!("inject: {e}")))
    }
}

impl Filter for LogAggregator {
    fn process_message(&mut self, msg: &Message, ctx: &mut FilterContext) -> PluginResult {
        let payload = msg.payload();
        let sep = if self.buffer.is_empty() {
            0
        } else {
            self.cfg.separator.len()
        };
        let max_bytes = usize::try_from(self.cfg.max_bytes).unwrap_or(usize::MAX);
        if max_bytes > 0 && self.buffer.len() + sep + payload.len() > max_bytes {
            self.flush(ctx)?;
        }
        if !self.buffer.is_empty() {
            self.buffer.extend_from_slice(self.cfg.separator.as_bytes());
        }
        self.buffer.extend_from_slice(payload);
        self.lines += 1;
        if self.cfg.max_lines > 0 && self.lines >= self.cfg.max_lines {
            self.flush(ctx)?;
        }
        Ok(())
    }

    fn timer_event(&mut self, _now_ns: i64, ctx: &mut FilterContext) -> PluginResult {
        self.flush(ctx)
    }
}

#[cfg(test)]
mod tests {
    use heka_pipeline::Settings;

    use super::*;

    fn line(s: &str) -> Message {
        Message {
            payload: Some(s.into()),
            ..Default::default()
        }
    }

    fn payloads(ctx: &mut FilterContext) -> Vec<String> {
        ctx.take_injected()
            .into_iter()
            .map(|m| String::from_utf8_lossy(m.payload()).into_owned())
            .collect()
    }

    #[test]
    fn joins_until_the_timer_and_injects_nothing_when_empty() {
        let settings = Settings::default();
        let mut ctx = FilterContext::standalone("Agg", &settings, None);
        let mut f = LogAggregator::new(LogAggregatorConfig::default());
        ctx.begin_message(0);
        f.process_message(&line("a\n"), &mut ctx).unwrap();
        ctx.begin_message(1);
        f.process_message(&line("b\n"), &mut ctx).unwrap();
        assert!(payloads(&mut ctx).is_empty());
        ctx.begin_timer();
        f.timer_event(0, &mut ctx).unwrap();
        let out = ctx.take_injected();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].payload(), b"a\nb\n");
        assert_eq!(out[0].type_(), "heka.sandbox-output");
        ctx.begin_timer();
        f.timer_event(0, &mut ctx).unwrap();
        assert!(payloads(&mut ctx).is_empty());
    }

    #[test]
    fn max_lines_and_max_bytes_flush_early() {
        let settings = Settings::default();
        let mut ctx = FilterContext::standalone("Agg", &settings, None);
        let cfg = LogAggregatorConfig {
            max_lines: 2,
            separator: ",".into(),
            ..Default::default()
        };
        assert_eq!(LogAggregatorConfig::default().max_bytes, 60_000);
        let mut f = LogAggregator::new(cfg);
        for (i, s) in ["1", "2", "3"].into_iter().enumerate() {
            ctx.begin_message(i);
            f.process_message(&line(s), &mut ctx).unwrap();
        }
        assert_eq!(payloads(&mut ctx), ["1,2"]);
        let cfg = LogAggregatorConfig {
            max_bytes: 4,
            ..Default::default()
        };
        let mut f = LogAggregator::new(cfg);
        for (i, s) in ["ab", "cd", "ef"].into_iter().enumerate() {
            ctx.begin_message(i);
            f.process_message(&line(s), &mut ctx).unwrap();
        }
        assert_eq!(payloads(&mut ctx), ["abcd"]);
    }
}
