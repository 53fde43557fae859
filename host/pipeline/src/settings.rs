//! What the daemon hands the pipeline: global [`Settings`] (the `[hekad]` section's
//! runtime knobs) and the per-plugin option sets ([`InputOptions`], [`FilterOptions`],
//! [`OutputOptions`], [`RetryOptions`]) built from each section's common keys.
//!
//! These are plain runtime values, not serde structs: config parsing and its errors
//! live in `hekad`, so the pipeline can be driven by tests without any TOML. Defaults
//! are Heka's (`cmd/hekad/config.go`, `pipeline/config.go`).

use std::sync::Arc;
use std::time::Duration;

use heka_message::Matcher;

use crate::buffer::BufferOptions;
use crate::plugin::{Decoder, Encoder, PluginError, Splitter};
use crate::split::SplitOptions;

/// Most messages handed to one filter `process_batch` call: bounds the latency of a
/// batch and the memory a filter holds at once (the sandbox bound
/// `SandboxLimits::host_bytes` counts on it), while a backlog still crosses into a
/// sandbox in few calls.
pub const FILTER_BATCH: usize = 256;

/// The `[hekad]` values the pipeline itself uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Hostname stamped on input and injected messages.
    pub hostname: String,
    /// Pid stamped on input and injected messages.
    pub pid: i32,
    /// Capacity of every plugin's queue (Heka's `plugin_chansize`, default 30).
    pub plugin_chansize: usize,
    /// How many injections deep a message may go (default 4; 0 is treated as 1).
    pub max_message_loops: u8,
    /// Injections allowed per processed message (default 1).
    pub max_process_inject: usize,
    /// Injections allowed per timer event (default 10).
    pub max_timer_inject: usize,
    /// Largest message, encoded (default 65536).
    pub max_message_size: usize,
    /// Sandbox outputs kept per filter for the dashboard (`[hekad]
    /// max_sandbox_outputs`; the bound is in `sandbox_outputs`).
    pub max_sandbox_outputs: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            hostname: system_hostname(),
            pid: std::process::id() as i32,
            plugin_chansize: 30,
            max_message_loops: 4,
            max_process_inject: 1,
            max_timer_inject: 10,
            max_message_size: heka_message::DEFAULT_MAX_MESSAGE_SIZE,
            max_sandbox_outputs: crate::stats::sandbox_outputs::DEFAULT_MAX_NAMES,
        }
    }
}

/// The kernel's hostname (Linux), else "localhost". The daemon normally overrides it
/// with `[hekad] hostname`; this is only the default.
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Makes a fresh splitter for each stream (Heka's splitters are templates).
pub type SplitterFactory = Arc<dyn Fn() -> Box<dyn Splitter> + Send + Sync>;
/// Makes a fresh decoder for each user.
pub type DecoderFactory = Arc<dyn Fn() -> Result<Box<dyn Decoder>, PluginError> + Send + Sync>;
/// Makes a fresh encoder for each output.
pub type EncoderFactory = Arc<dyn Fn() -> Result<Box<dyn Encoder>, PluginError> + Send + Sync>;

/// Heka's `[x.retries]`: exponential back-off for outputs that ask to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryOptions {
    /// First delay (default 250ms); doubles on each retry.
    pub delay: Duration,
    /// Ceiling of the doubling (default 30s).
    pub max_delay: Duration,
    /// A random extra delay in `[0, max_jitter)` added to each wait (default 500ms),
    /// so that outputs failing together do not retry in lockstep.
    pub max_jitter: Duration,
    /// Retries before the output gives up and is terminated (-1 = forever, the default;
    /// 0 = never retry).
    pub max_retries: i64,
}

impl Default for RetryOptions {
    fn default() -> RetryOptions {
        RetryOptions {
            delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_jitter: Duration::from_millis(500),
            max_retries: -1,
        }
    }
}

/// An input's common options.
#[derive(Clone)]
pub struct InputOptions {
    /// The splitter template (`splitter`).
    pub splitter: SplitterFactory,
    /// The splitter's common options.
    pub split: SplitOptions,
    /// The decoder template (`decoder`), if any.
    pub decoder: Option<DecoderFactory>,
    /// The decoder's section name and Heka type (its stats entry, for decoders that
    /// report).
    pub decoder_section: Option<(String, String)>,
    /// When false (the default for inputs), the input ending stops hekad.
    pub can_exit: bool,
    /// Route messages that failed to decode, marked with `Fields[decode_failure]`.
    pub send_decode_failures: bool,
    /// Log decode failures (default true).
    pub log_decode_failures: bool,
    /// The input's own `hostname` override, else hekad's.
    pub hostname: Option<String>,
}

impl InputOptions {
    /// Options with Heka's defaults around the given splitter.
    pub fn new(splitter: SplitterFactory, split: SplitOptions) -> InputOptions {
        InputOptions {
            splitter,
            split,
            decoder: None,
            decoder_section: None,
            can_exit: false,
            send_decode_failures: false,
            log_decode_failures: true,
            hostname: None,
        }
    }
}

/// A filter's common options.
#[derive(Debug, Clone)]
pub struct FilterOptions {
    /// `message_matcher`: which messages the filter gets.
    pub matcher: Matcher,
    /// `message_signer`: only messages whose record this signer signed (verified by
    /// the input's HekaFramingSplitter) are considered.
    pub message_signer: Option<Arc<str>>,
    /// `ticker_interval` (None = no timer events).
    pub ticker_interval: Option<Duration>,
    /// When false, the filter's termination stops hekad.
    pub can_exit: bool,
    /// Call `timer_event` once more at shutdown.
    pub timer_event_on_shutdown: bool,
    /// Termination is reported as `heka.sandbox-terminated` (else `heka.terminated`).
    pub is_sandbox: bool,
}

impl FilterOptions {
    /// Options with Heka's defaults for a native filter (`can_exit = false`).
    pub fn new(matcher: Matcher) -> FilterOptions {
        FilterOptions {
            matcher,
            message_signer: None,
            ticker_interval: None,
            can_exit: false,
            timer_event_on_shutdown: false,
            is_sandbox: false,
        }
    }
}

/// An output's common options.
#[derive(Clone)]
pub struct OutputOptions {
    /// `message_matcher`: which messages the output gets.
    pub matcher: Matcher,
    /// `message_signer`: as [`FilterOptions::message_signer`].
    pub message_signer: Option<Arc<str>>,
    /// The encoder template (`encoder`); without one the Payload is sent.
    pub encoder: Option<EncoderFactory>,
    /// The encoder's section name and Heka type (its stats entry, for encoders that
    /// report).
    pub encoder_section: Option<(String, String)>,
    /// Wrap each encoded message in Heka's stream framing.
    pub use_framing: bool,
    /// `ticker_interval` (None = no timer events).
    pub ticker_interval: Option<Duration>,
    /// When false, the output's termination stops hekad.
    pub can_exit: bool,
    /// `[x.retries]`.
    pub retries: RetryOptions,
    /// `use_buffering = true` with `[x.buffering]`: a disk queue between the router
    /// and the output (None = the in-memory queue only).
    pub buffering: Option<BufferOptions>,
}

impl OutputOptions {
    /// Options with Heka's defaults (no encoder, no framing, `can_exit = false`).
    pub fn new(matcher: Matcher) -> OutputOptions {
        OutputOptions {
            matcher,
            message_signer: None,
            encoder: None,
            encoder_section: None,
            use_framing: false,
            ticker_interval: None,
            can_exit: false,
            retries: RetryOptions::default(),
            buffering: None,
        }
    }
}
