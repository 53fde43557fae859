//! `log-aggregator`: the seed's `log_aggregator.lua` as a wasm SandboxFilter.
//!
//! It accumulates the Payload of every message it is given and, on each
//! `timer_event`, injects what it gathered as one `heka.sandbox-output` message
//! (Payload = the lines, `Fields[payload_type]`, `Fields[payload_name]`). Payloads
//! are joined with `separator`, which defaults to "" as in the seed script (records
//! from a LogstreamerInput keep their "\n"). When `max_lines` or `max_bytes` would be
//! exceeded it flushes early, so one injection stays under the sandbox's
//! `output_limit` (63 KiB by default; an injection larger than that terminates the
//! plugin, as in Heka). Nothing gathered, nothing injected.
//!
//! ```toml
//! [ExampleLogAggregator]
//! type = "SandboxFilter"
//! message_matcher = "Logger == 'ExampleLog'"
//! filename = "log-aggregator.wasm"      # target/guest-plugins/log-aggregator.wasm
//! ticker_interval = 15
//! can_exit = false
//!
//! [ExampleLogAggregator.config]
//! separator = ""          # put between payloads (default "")
//! max_lines = 0           # flush early after this many payloads (0 = no limit)
//! max_bytes = 60000       # flush early before the buffer would exceed this (default
//!                         # 60000, under the default output_limit; 0 = no limit)
//! payload_type = "txt"    # Fields[payload_type] (default "txt")
//! payload_name = ""       # Fields[payload_name] (default "")
//! ```
//!
//! Given the records `"a\n"` and `"b\n"` within one ticker interval it emits one
//! message: `Type = "heka.sandbox-output"`, `Logger = "ExampleLogAggregator"`,
//! `Payload = "a\nb\n"`, `Fields[payload_type] = "txt"`, `Fields[payload_name] = ""`.

use heka_sdk::{Filter, Message, Result};

/// `max_bytes` when unset: under the sandbox's default `output_limit` (64,512 bytes), so
/// that a busy log between two ticks flushes early instead of getting the plugin
/// terminated for an over-long injection (which the seed's Lua script suffers).
const DEFAULT_MAX_BYTES: u64 = 60_000;

struct LogAggregator {
    /// Bytes: a log line is whatever the file held, UTF-8 or not.
    buffer: Vec<u8>,
    lines: u64,
    separator: String,
    max_lines: u64,
    max_bytes: usize,
    payload_type: String,
    payload_name: String,
}

fn config_count(key: &str, default: u64) -> Result<u64> {
    match heka_sdk::read_config(key) {
        None => Ok(default),
        Some(v) => v
            .as_i64()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                heka_sdk::Error::fatal(format!("config {key}: expected a count ≥ 0, got {v:?}"))
            }),
    }
}

impl LogAggregator {
    fn flush(&mut self) -> Result {
        if self.buffer.is_empty() {
            return Ok(());
        }
        heka_sdk::inject_payload(&self.payload_type, &self.payload_name, &self.buffer)?;
        self.buffer.clear();
        self.lines = 0;
        Ok(())
    }
}

impl Filter for LogAggregator {
    fn new() -> Result<Self> {
        Ok(LogAggregator {
            buffer: Vec::new(),
            lines: 0,
            separator: heka_sdk::config_string("separator", ""),
            max_lines: config_count("max_lines", 0)?,
            max_bytes: usize::try_from(config_count("max_bytes", DEFAULT_MAX_BYTES)?)
                .unwrap_or(usize::MAX),
            payload_type: heka_sdk::config_string("payload_type", "txt"),
            payload_name: heka_sdk::config_string("payload_name", ""),
        })
    }

    fn process_message(&mut self, msg: &Message) -> Result {
        let payload = msg.payload();
        let sep = if self.buffer.is_empty() {
            0
        } else {
            self.separator.len()
        };
        if self.max_bytes > 0 && self.buffer.len() + sep + payload.len() > self.max_bytes {
            self.flush()?;
        }
        if !self.buffer.is_empty() && !self.separator.is_empty() {
            self.buffer.extend_from_slice(self.separator.as_bytes());
        }
        self.buffer.extend_from_slice(payload);
        self.lines += 1;
        if self.max_lines > 0 && self.lines >= self.max_lines {
            self.flush()?;
        }
        Ok(())
    }

    fn timer_event(&mut self, _ns: i64) -> Result {
        self.flush()
    }
}

heka_sdk::export_filter!(LogAggregator);
