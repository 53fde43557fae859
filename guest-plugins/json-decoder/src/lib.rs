//! `json-decoder`: a wasm SandboxDecoder that parses a JSON object in the Payload into
//! message Fields (a small cousin of Heka's `lua_decoders/json.lua`).
//!
//! Each top-level key becomes a field: strings as string fields, integers as integer
//! fields, other numbers as doubles, booleans as bools; arrays and objects are kept as
//! their JSON text in a string field; `null` is dropped. `type` (config) sets the
//! message Type; `keep_payload = false` clears the Payload once parsed. A Payload that
//! is not a JSON object fails the message (Heka's `Failed parsing: …`), the decoder
//! lives on.
//!
//! ```toml
//! [JsonDecoder]
//! type = "SandboxDecoder"
//! filename = "json-decoder.wasm"        # target/guest-plugins/json-decoder.wasm
//!
//! [JsonDecoder.config]
//! type = "app.json"       # optional: sets Type
//! keep_payload = true     # default true
//! ```
//!
//! The Payload `{"status":200,"path":"/x","ok":true}` becomes `Fields[status] = 200`
//! (integer), `Fields[path] = "/x"`, `Fields[ok] = true`, Type = "app.json".

use heka_sdk::{Decoder, Message, Result, Value};

struct JsonDecoder {
    msg_type: Option<String>,
    keep_payload: bool,
}

impl Decoder for JsonDecoder {
    fn new() -> Result<Self> {
        Ok(JsonDecoder {
            msg_type: heka_sdk::read_config("type").and_then(|v| v.as_str().map(str::to_owned)),
            keep_payload: heka_sdk::read_config("keep_payload")
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
        })
    }

    fn decode(&mut self, msg: &Message) -> Result {
        let parsed: serde_json::Value = serde_json::from_slice(msg.payload())?;
        let serde_json::Value::Object(map) = parsed else {
            return Err("payload is not a JSON object".into());
        };
        for (key, v) in map {
            let value = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::Bool(b) => Value::Bool(b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => Value::Integer(i),
                    None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
                },
                serde_json::Value::String(s) => Value::String(s.into_bytes()),
                other => Value::String(other.to_string().into_bytes()),
            };
            heka_sdk::write_message(&format!("Fields[{key}]"), value, "", 0, 0)?;
        }
        if let Some(t) = &self.msg_type {
            heka_sdk::write_message("Type", t.as_str(), "", 0, 0)?;
        }
        if !self.keep_payload {
            heka_sdk::write_message("Payload", "", "", 0, 0)?;
        }
        Ok(())
    }
}

heka_sdk::export_decoder!(JsonDecoder);
