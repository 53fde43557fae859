//! `SlackEncoder`: the seed's Slack encoder (guest-plugins/slack-encoder,
//! `config/lua/slack_encoder.lua`) as native Rust: each message becomes the JSON body
//! of a Slack incoming-webhook post,
//! `{"icon_emoji":…,"username":…,"text":<Payload>,"channel":…}`.
//!
//! Like [`super::super::filters::log_aggregator`], it serves users who want the seed's
//! pipeline without a sandbox and is the benchmark's sandbox-free ceiling. The output
//! is byte for byte the wasm plugin's (same key order, RFC 8259 escaping of `"`, `\`
//! and control characters, UTF-8 written as is); serde_json writes the strings, which
//! copies runs of plain bytes instead of going character by character.
//!
//! ```toml
//! [SlackEncoder]
//! type = "SlackEncoder"
//!
//! [SlackEncoder.config]
//! channel = "#something"                  # default "#something"
//! username = "something you like"         # default "something you like"
//! icon_emoji = ":heavy_exclamation_mark:" # default ":heavy_exclamation_mark:"
//! ```

use std::sync::Arc;

use heka_message::Message;
use heka_pipeline::{Encoder, EncoderFactory, PluginResult};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// `[x.config]` keys (the wasm plugin's names and defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackEncoderConfig {
    pub channel: String,
    pub username: String,
    pub icon_emoji: String,
}

impl Default for SlackEncoderConfig {
    fn default() -> Self {
        SlackEncoderConfig {
            channel: "#something".into(),
            username: "something you like".into(),
            icon_emoji: ":heavy_exclamation_mark:".into(),
        }
    }
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<EncoderFactory, ConfigError> {
    let cfg: SlackEncoderConfig = ctx.parse_config()?;
    let template = SlackEncoder::new(&cfg);
    Ok(Arc::new(move || {
        Ok(Box::new(template.clone()) as Box<dyn Encoder>)
    }))
}

/// The runtime encoder: the constant parts of the body are rendered once.
#[derive(Debug, Clone)]
pub struct SlackEncoder {
    /// `{"icon_emoji":…,"username":…,"text":`
    head: Vec<u8>,
    /// `,"channel":…}`
    tail: Vec<u8>,
}

impl SlackEncoder {
    /// The encoder for `cfg`.
    pub fn new(cfg: &SlackEncoderConfig) -> SlackEncoder {
        let mut head = b"{\"icon_emoji\":".to_vec();
        push_json_string(&mut head, &cfg.icon_emoji);
        head.extend_from_slice(b",\"username\":");
        push_json_string(&mut head, &cfg.username);
        head.extend_from_slice(b",\"text\":");
        let mut tail = b",\"channel\":".to_vec();
        push_json_string(&mut tail, &cfg.channel);
        tail.push(b'}');
        SlackEncoder { head, tail }
    }
}

/// Appends `s` as a JSON string literal (the one escaper, shared with the guest).
fn push_json_string(out: &mut Vec<u8>, s: &str) {
    heka_message::json_text::push_json_string(out, s.as_bytes());
}

impl Encoder for SlackEncoder {
    fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) -> PluginResult {
        let payload = msg.payload();
        // Plain text grows by a few escapes; reserve once.
        out.reserve(self.head.len() + payload.len() + payload.len() / 16 + self.tail.len() + 2);
        out.extend_from_slice(&self.head);
        heka_message::json_text::push_json_string(out, payload);
        out.extend_from_slice(&self.tail);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasm_plugins_body_byte_for_byte() {
        let mut e = SlackEncoder::new(&SlackEncoderConfig::default());
        let msg = Message {
            payload: Some("disk \"full\"\n\u{1}é/".into()),
            ..Default::default()
        };
        let mut out = Vec::new();
        e.encode(&msg, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r##"{"icon_emoji":":heavy_exclamation_mark:","username":"something you like","text":"disk \"full\"\n\u0001é/","channel":"#something"}"##
        );
    }
}
