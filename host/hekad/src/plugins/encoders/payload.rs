//! `PayloadEncoder`: the message's Payload as the output bytes, optionally prefixed
//! with a timestamp and followed by a newline (Heka's defaults: newline yes, prefix no).
//!
//! ```toml
//! [PayloadEncoder]
//! append_newlines = true
//! prefix_ts = true
//! ts_from_message = true        # false: the time of encoding
//! ts_format = "[%Y/%b/%d:%H:%M:%S %z]"
//! ```
//! Timestamps are rendered in UTC with a strftime subset (`crate::timefmt`).

use std::sync::Arc;

use heka_message::Message;
use heka_pipeline::{Encoder, EncoderFactory, PluginResult};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;
use crate::timefmt::TimeFormat;

/// `[x]` keys of a PayloadEncoder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayloadEncoderConfig {
    /// Append a `\n` to every payload.
    pub append_newlines: bool,
    /// Prefix a timestamp.
    pub prefix_ts: bool,
    /// Use the message's Timestamp (else the time of encoding).
    pub ts_from_message: bool,
    /// strftime format of the prefix; a space is appended if it does not end in one.
    pub ts_format: String,
}

impl Default for PayloadEncoderConfig {
    fn default() -> Self {
        PayloadEncoderConfig {
            append_newlines: true,
            prefix_ts: false,
            ts_from_message: true,
            ts_format: "[%Y/%b/%d:%H:%M:%S %z]".into(),
        }
    }
}

/// The runtime encoder.
#[derive(Debug, Clone)]
pub struct PayloadEncoder {
    append_newlines: bool,
    /// `Some` when `prefix_ts`.
    prefix: Option<TimeFormat>,
    ts_from_message: bool,
    /// Reused for the timestamp text so encoding allocates nothing once warm.
    scratch: String,
}

impl PayloadEncoder {
    /// Checks the config (the `ts_format`).
    pub fn new(cfg: &PayloadEncoderConfig) -> Result<PayloadEncoder, String> {
        let prefix = if cfg.prefix_ts {
            let mut f = cfg.ts_format.clone();
            if !f.ends_with(' ') {
                f.push(' ');
            }
            Some(TimeFormat::parse(&f)?)
        } else {
            None
        };
        Ok(PayloadEncoder {
            append_newlines: cfg.append_newlines,
            prefix,
            ts_from_message: cfg.ts_from_message,
            scratch: String::new(),
        })
    }
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<EncoderFactory, ConfigError> {
    let cfg: PayloadEncoderConfig = ctx.parse()?;
    let template = PayloadEncoder::new(&cfg).map_err(|e| ctx.invalid(Some("ts_format"), e))?;
    Ok(Arc::new(move || {
        Ok(Box::new(template.clone()) as Box<dyn Encoder>)
    }))
}

impl Encoder for PayloadEncoder {
    fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) -> PluginResult {
        if let Some(format) = &self.prefix {
            let ts = if self.ts_from_message {
                msg.timestamp
            } else {
                now_ns()
            };
            self.scratch.clear();
            format.format_into(ts, &mut self.scratch);
            out.extend_from_slice(self.scratch.as_bytes());
        }
        out.extend_from_slice(msg.payload());
        if self.append_newlines {
            out.push(b'\n');
        }
        Ok(())
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> Message {
        Message {
            timestamp: 1_425_445_567_000_000_000,
            payload: Some("line".into()),
            ..Default::default()
        }
    }

    fn encode(cfg: PayloadEncoderConfig) -> String {
        let mut e = PayloadEncoder::new(&cfg).unwrap();
        let mut out = Vec::new();
        e.encode(&msg(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn defaults_append_newline() {
        assert_eq!(encode(PayloadEncoderConfig::default()), "line\n");
    }

    #[test]
    fn prefix_ts_with_space() {
        let cfg = PayloadEncoderConfig {
            prefix_ts: true,
            append_newlines: false,
            ..Default::default()
        };
        assert_eq!(encode(cfg), "[2015/Mar/04:05:06:07 +0000] line");
        let cfg = PayloadEncoderConfig {
            prefix_ts: true,
            ts_format: "%s ".into(),
            ..Default::default()
        };
        assert_eq!(encode(cfg), "1425445567 line\n");
    }

    #[test]
    fn bad_format_rejected() {
        let cfg = PayloadEncoderConfig {
            prefix_ts: true,
            ts_format: "%Q".into(),
            ..Default::default()
        };
        assert!(PayloadEncoder::new(&cfg).is_err());
    }
}
