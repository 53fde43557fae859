//! The common options of each plugin kind (reference §2.4), taken out of a section's
//! table before the rest is handed to the plugin's own config struct.
//!
//! Heka accepts these keys in every plugin of a kind; here they are moved out of the
//! table by name, parsed strictly (so `[x.retries] delai = ...` is still an error) and
//! turned into the pipeline's option structs when the plugin is built.

use std::time::Duration;

use serde::Deserialize;

use super::PluginKind;
use super::parse_duration;

/// Every output's common keys; filters have all but `encoder` and `use_framing`.
const OUTPUT_KEYS: [&str; 9] = [
    "message_matcher",
    "message_signer",
    "ticker_interval",
    "can_exit",
    "use_buffering",
    "buffering",
    "retries",
    "encoder",
    "use_framing",
];

/// The keys every plugin of `kind` accepts besides its own.
pub fn common_keys(kind: PluginKind) -> &'static [&'static str] {
    match kind {
        PluginKind::Input => &[
            "decoder",
            "splitter",
            "synchronous_decode",
            "send_decode_failures",
            "log_decode_failures",
            "can_exit",
            "ticker_interval",
            "retries",
        ],
        PluginKind::Splitter => &[
            "keep_truncated",
            "use_message_bytes",
            "min_buffer_size",
            "deliver_incomplete_final",
        ],
        // A filter takes an output's keys but the last two.
        PluginKind::Filter => &OUTPUT_KEYS[..OUTPUT_KEYS.len() - 2],
        PluginKind::Output => &OUTPUT_KEYS,
        PluginKind::Decoder | PluginKind::Encoder => &[],
    }
}

/// `[x.retries]` as written (Go durations).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetriesConfig {
    /// Random jitter added to each delay.
    pub max_jitter: String,
    /// First delay; doubles after each failure.
    pub delay: String,
    /// Ceiling of the delay.
    pub max_delay: String,
    /// -1 = forever, 0 = never retry.
    pub max_retries: i64,
}

impl Default for RetriesConfig {
    fn default() -> Self {
        RetriesConfig {
            max_jitter: "500ms".into(),
            delay: "250ms".into(),
            max_delay: "30s".into(),
            max_retries: -1,
        }
    }
}

/// `[x.retries]` parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    pub delay: Duration,
    pub max_delay: Duration,
    pub max_jitter: Duration,
    pub max_retries: i64,
}

impl RetriesConfig {
    /// Parses the durations; the error names the sub-key.
    pub fn parse(&self) -> Result<Retries, (&'static str, String)> {
        Ok(Retries {
            delay: parse_duration(&self.delay).map_err(|e| ("retries.delay", e))?,
            max_delay: parse_duration(&self.max_delay).map_err(|e| ("retries.max_delay", e))?,
            max_jitter: parse_duration(&self.max_jitter).map_err(|e| ("retries.max_jitter", e))?,
            max_retries: self.max_retries,
        })
    }
}

/// `[x.buffering]` (disk queue, used when `use_buffering = true`; see
/// `heka_pipeline::BufferOptions`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BufferingConfig {
    pub max_file_size: u64,
    pub max_buffer_size: u64,
    pub full_action: String,
    pub cursor_update_count: u64,
}

impl Default for BufferingConfig {
    fn default() -> Self {
        BufferingConfig {
            max_file_size: 512 * 1024 * 1024,
            max_buffer_size: 0,
            full_action: "shutdown".into(),
            cursor_update_count: 1,
        }
    }
}

impl BufferingConfig {
    /// The pipeline's options, queues under `base_dir`. Heka's rules: `max_file_size`
    /// 0 means the default and must otherwise hold at least one record of
    /// `max_message_size`; `cursor_update_count` 0 means 1. Errors name the key.
    pub fn options(
        &self,
        base_dir: &std::path::Path,
        max_message_size: usize,
    ) -> Result<heka_pipeline::BufferOptions, (&'static str, String)> {
        let full_action = heka_pipeline::FullAction::parse(&self.full_action).ok_or_else(|| {
            (
                "buffering.full_action",
                format!(
                    "{:?}: expected \"shutdown\", \"drop\" or \"block\"",
                    self.full_action
                ),
            )
        })?;
        // A framed record: the message plus at most 3 + 255 bytes of header.
        let max_record = max_message_size as u64 + 258;
        if self.max_file_size != 0 && self.max_file_size < max_record {
            return Err((
                "buffering.max_file_size",
                format!(
                    "{} bytes cannot hold a record of max_message_size ({max_record} bytes framed)",
                    self.max_file_size
                ),
            ));
        }
        let mut options = heka_pipeline::BufferOptions::new(base_dir);
        if self.max_file_size != 0 {
            options.max_file_size = self.max_file_size;
        }
        options.max_buffer_size = self.max_buffer_size;
        options.full_action = full_action;
        options.cursor_update_count = self.cursor_update_count.max(1);
        Ok(options)
    }
}

/// Input options (Heka's `DecoderConfig`-carrying input common set).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InputCommon {
    /// Decoder section name (default: the input type's, usually none).
    pub decoder: Option<String>,
    /// Splitter section name (default: the input type's, usually `NullSplitter`).
    pub splitter: Option<String>,
    /// Decode on the input's thread (always the case here: accepted for compatibility).
    pub synchronous_decode: bool,
    /// Route messages that failed to decode, with `Fields[decode_failure]`.
    pub send_decode_failures: bool,
    /// Log decode failures.
    pub log_decode_failures: bool,
    /// Whether hekad keeps running when this input stops.
    pub can_exit: bool,
    /// Seconds between the input's ticks (0 = none).
    pub ticker_interval: u64,
    pub retries: RetriesConfig,
}

impl Default for InputCommon {
    fn default() -> Self {
        InputCommon {
            decoder: None,
            splitter: None,
            synchronous_decode: false,
            send_decode_failures: false,
            log_decode_failures: true,
            can_exit: false,
            ticker_interval: 0,
            retries: RetriesConfig::default(),
        }
    }
}

/// Splitter options.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SplitterCommon {
    /// Deliver over-long records truncated instead of dropping them.
    pub keep_truncated: bool,
    /// Records are message bytes rather than Payload text (the splitter type decides
    /// by default).
    pub use_message_bytes: Option<bool>,
    /// Initial buffer size (8 KiB; 64 KiB for NullSplitter).
    pub min_buffer_size: Option<u64>,
    /// Deliver a partial trailing record at EOF.
    pub deliver_incomplete_final: bool,
}

/// Filter and output options (outputs add `encoder` and `use_framing`; in a filter
/// those two keys are not common and the filter's own config rejects them).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RoutedCommon {
    /// Which messages this plugin receives (default: none).
    pub message_matcher: Option<String>,
    /// Only messages signed by this signer (framing HMAC) are considered.
    pub message_signer: Option<String>,
    /// Seconds between timer events (0 = none).
    pub ticker_interval: Option<u64>,
    /// Whether hekad keeps running when this plugin stops (type default otherwise).
    pub can_exit: Option<bool>,
    /// Disk-buffer the plugin's queue.
    pub use_buffering: Option<bool>,
    pub buffering: Option<BufferingConfig>,
    pub retries: RetriesConfig,
    /// Encoder section name (outputs).
    pub encoder: Option<String>,
    /// Wrap the encoder's output in Heka's stream framing (outputs).
    pub use_framing: Option<bool>,
}

/// The common options of one section, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Common {
    Input(InputCommon),
    Splitter(SplitterCommon),
    Decoder,
    Encoder,
    Filter(RoutedCommon),
    Output(RoutedCommon),
}

impl Common {
    /// The defaults of `kind`.
    pub fn default_for(kind: PluginKind) -> Common {
        match kind {
            PluginKind::Input => Common::Input(InputCommon::default()),
            PluginKind::Splitter => Common::Splitter(SplitterCommon::default()),
            PluginKind::Decoder => Common::Decoder,
            PluginKind::Encoder => Common::Encoder,
            PluginKind::Filter => Common::Filter(RoutedCommon::default()),
            PluginKind::Output => Common::Output(RoutedCommon::default()),
        }
    }

    /// Parses the common subset of keys of `kind` from `table`.
    pub fn from_table(
        kind: PluginKind,
        table: &toml::Table,
    ) -> Result<Common, super::de::KeyError> {
        use super::de::from_table;
        Ok(match kind {
            PluginKind::Input => Common::Input(from_table(table)?),
            PluginKind::Splitter => Common::Splitter(from_table(table)?),
            PluginKind::Decoder => Common::Decoder,
            PluginKind::Encoder => Common::Encoder,
            PluginKind::Filter => Common::Filter(from_table(table)?),
            PluginKind::Output => Common::Output(from_table(table)?),
        })
    }
}

/// Moves the common keys of `kind` out of `table` into a table of their own.
pub fn split_common(kind: PluginKind, table: &mut toml::Table) -> toml::Table {
    let mut common = toml::Table::new();
    for key in common_keys(kind) {
        if let Some(v) = table.remove(*key) {
            common.insert((*key).to_owned(), v);
        }
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_keys_are_moved_and_parsed() {
        let mut t: toml::Table = toml::from_str(
            "address = ':5565'\ndecoder = 'ProtobufDecoder'\n[retries]\ndelay = '1s'",
        )
        .unwrap();
        let c = split_common(PluginKind::Input, &mut t);
        assert_eq!(t.keys().collect::<Vec<_>>(), vec!["address"]);
        let Common::Input(ic) = Common::from_table(PluginKind::Input, &c).unwrap() else {
            panic!("kind");
        };
        assert_eq!(ic.decoder.as_deref(), Some("ProtobufDecoder"));
        assert!(ic.log_decode_failures);
        let r = ic.retries.parse().unwrap();
        assert_eq!(r.delay, Duration::from_secs(1));
        assert_eq!(r.max_delay, Duration::from_secs(30));
        assert_eq!(r.max_retries, -1);
    }

    #[test]
    fn buffering_options_follow_heka_rules() {
        let base = std::path::Path::new("/b");
        let b = BufferingConfig::default().options(base, 65536).unwrap();
        assert_eq!(b.full_action, heka_pipeline::FullAction::Shutdown);
        assert_eq!(b.max_file_size, heka_pipeline::DEFAULT_MAX_FILE_SIZE);
        assert_eq!(b.queue_dir("my-out"), base.join("output_queue/my_out"));
        let cfg = BufferingConfig {
            max_file_size: 0,
            max_buffer_size: 1 << 20,
            full_action: "block".into(),
            cursor_update_count: 0,
        };
        let b = cfg.options(base, 65536).unwrap();
        assert_eq!(b.full_action, heka_pipeline::FullAction::Block);
        assert_eq!(b.max_file_size, heka_pipeline::DEFAULT_MAX_FILE_SIZE);
        assert_eq!(b.max_buffer_size, 1 << 20);
        assert_eq!(b.cursor_update_count, 1);
        let bad = BufferingConfig {
            full_action: "explode".into(),
            ..Default::default()
        };
        assert_eq!(
            bad.options(base, 65536).unwrap_err().0,
            "buffering.full_action"
        );
        let small = BufferingConfig {
            max_file_size: 1000,
            ..Default::default()
        };
        assert_eq!(
            small.options(base, 65536).unwrap_err().0,
            "buffering.max_file_size"
        );
    }

    #[test]
    fn bad_sub_key_rejected() {
        let mut t: toml::Table = toml::from_str("[retries]\ndelai = '1s'").unwrap();
        let c = split_common(PluginKind::Output, &mut t);
        let e = Common::from_table(PluginKind::Output, &c).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("retries.delai"));
    }
}
