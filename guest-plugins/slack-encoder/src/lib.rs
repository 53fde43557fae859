//! `slack-encoder`: the seed's `slack_encoder.lua` as a wasm SandboxEncoder.
//!
//! Turns each message into the JSON body of a Slack incoming-webhook post:
//! `{"icon_emoji":…,"username":…,"text":<Payload>,"channel":…}`. The three settings come
//! from the plugin's config and default to the seed's values. Strings are escaped per
//! RFC 8259 (`"`, `\`, and control characters; other characters, UTF-8 included, are
//! written as they are). Keys come in the order the seed script assigns them; lua-cjson
//! would order them by its hash table and write `/` as `\/`; Slack reads both the same.
//!
//! ```toml
//! [SlackEncoder]
//! type = "SandboxEncoder"
//! filename = "slack-encoder.wasm"       # target/guest-plugins/slack-encoder.wasm
//!
//! [SlackEncoder.config]
//! channel = "#something"                  # default "#something"
//! username = "something you like"         # default "something you like"
//! icon_emoji = ":heavy_exclamation_mark:" # default ":heavy_exclamation_mark:"
//! ```
//!
//! A message whose Payload is `"disk \"full\"\n"` is encoded as:
//!
//! ```text
//! {"icon_emoji":":heavy_exclamation_mark:","username":"something you like","text":"disk \"full\"\n","channel":"#something"}
//! ```

use heka_sdk::{Encoder, Message, Result};

struct SlackEncoder {
    icon_emoji: String,
    username: String,
    channel: String,
    out: String,
}

fn config_string(key: &str, default: &str) -> String {
    heka_sdk::read_config(key)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| default.to_owned())
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Encoder for SlackEncoder {
    fn new() -> Result<Self> {
        Ok(SlackEncoder {
            icon_emoji: config_string("icon_emoji", ":heavy_exclamation_mark:"),
            username: config_string("username", "something you like"),
            channel: config_string("channel", "#something"),
            out: String::new(),
        })
    }

    fn encode(&mut self, msg: &Message) -> Result {
        let out = &mut self.out;
        out.clear();
        out.push_str("{\"icon_emoji\":");
        push_json_string(out, &self.icon_emoji);
        out.push_str(",\"username\":");
        push_json_string(out, &self.username);
        out.push_str(",\"text\":");
        push_json_string(out, msg.payload());
        out.push_str(",\"channel\":");
        push_json_string(out, &self.channel);
        out.push('}');
        heka_sdk::inject_payload("json", "Slack", out)
    }
}

heka_sdk::export_encoder!(SlackEncoder);
