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
///
/// Runs of bytes that need no escaping are copied whole; they are found eight bytes
/// at a time (a word test for `"`, `\\` and bytes below 0x20), because the payloads
/// are whole batches of log lines (~17 KB) and nearly every byte is plain.
fn push_json_string(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push('"');
    let mut run = 0; // start of the pending run of plain bytes
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            if !needs_escape(w) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => {
                i += 1;
                continue;
            }
        };
        // `run..i` ends before an ASCII byte, so it is on a char boundary.
        out.push_str(&s[run..i]);
        if esc.is_empty() {
            use std::fmt::Write;
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        i += 1;
        run = i;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// True when one of the eight bytes of `w` is `"`, `\\` or below 0x20 (bytes ≥ 0x80,
/// UTF-8, are plain). The classic "has a zero byte" test on `w ^ pattern`, and "has a
/// byte < n" on `w`; it may only err towards true (the byte loop then decides).
#[inline]
fn needs_escape(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let below_space = w.wrapping_sub(LO * 0x20) & !w & HI;
    (has_zero(w ^ (LO * b'"' as u64)) | has_zero(w ^ (LO * b'\\' as u64)) | below_space) != 0
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious char-by-char escaper, as the reference.
    fn reference(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn escapes_like_the_reference() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "plain text that is longer than eight bytes\n".into(),
            "\"quoted\" \\ back\tslash\r\u{1}\u{1f}\u{7f} ünïcödé 日本 \u{8}\u{c}".into(),
        ];
        // Every special byte at every offset of a 20-byte string.
        for special in [
            '"', '\\', '\n', '\u{0}', '\u{1f}', ' ', '!', '#', '[', ']', 'é',
        ] {
            for at in 0..20 {
                let mut s: String = "abcdefghijklmnopqrst".into();
                s.replace_range(at..at + 1, &special.to_string());
                cases.push(s);
            }
        }
        for s in cases {
            let mut out = String::new();
            push_json_string(&mut out, &s);
            assert_eq!(out, reference(&s), "{s:?}");
        }
    }
}
