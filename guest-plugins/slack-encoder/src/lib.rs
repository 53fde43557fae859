//! `slack-encoder`: the seed's `slack_encoder.lua` as a wasm SandboxEncoder.
//!
//! Turns each message into the JSON body of a Slack incoming-webhook post:
//! `{"icon_emoji":…,"username":…,"text":<Payload>,"channel":…}`. The three settings come
//! from the plugin's config and default to the seed's values. Strings are escaped per
//! RFC 8259 (`"`, `\`, and control characters; every other byte is written as it is,
//! UTF-8 or not: a Latin-1 log line reaches the receiver byte for byte, as lua-cjson
//! in Heka wrote it). Keys come in the order the seed script assigns them; lua-cjson
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

use heka_sdk::json_text::push_json_string;
use heka_sdk::{Encoder, Message, Result};

struct SlackEncoder {
    icon_emoji: String,
    username: String,
    channel: String,
    out: Vec<u8>,
}

impl Encoder for SlackEncoder {
    fn new() -> Result<Self> {
        Ok(SlackEncoder {
            icon_emoji: heka_sdk::config_string("icon_emoji", ":heavy_exclamation_mark:"),
            username: heka_sdk::config_string("username", "something you like"),
            channel: heka_sdk::config_string("channel", "#something"),
            out: Vec::new(),
        })
    }

    fn encode(&mut self, msg: &Message) -> Result {
        let out = &mut self.out;
        out.clear();
        out.extend_from_slice(b"{\"icon_emoji\":");
        push_json_string(out, self.icon_emoji.as_bytes());
        out.extend_from_slice(b",\"username\":");
        push_json_string(out, self.username.as_bytes());
        out.extend_from_slice(b",\"text\":");
        push_json_string(out, msg.payload());
        out.extend_from_slice(b",\"channel\":");
        push_json_string(out, self.channel.as_bytes());
        out.push(b'}');
        heka_sdk::inject_payload("json", "Slack", &*out)
    }
}

heka_sdk::export_encoder!(SlackEncoder);
