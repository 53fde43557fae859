//! Test guest: a decoder driven by the Payload: "split a b c" injects one message per
//! word (Payload only, the rest inherited), "fail" fails, "raw" records the length of
//! the raw bytes, anything else is written: Type = "decoded", `Fields[decoded] = true`
//! and `Fields[read_back]` = the Type read back after writing it.

use heka_sdk::{Decoder, Message, Result, Value};

struct Probe;

impl Decoder for Probe {
    fn new() -> Result<Self> {
        Ok(Probe)
    }
    fn decode(&mut self, msg: &Message) -> Result {
        let p = msg.payload();
        if let Some(words) = p.strip_prefix(b"split ") {
            for w in words.split(|&b| b == b' ') {
                heka_sdk::inject_message(&Message {
                    payload: Some(w.to_vec()),
                    ..Default::default()
                })?;
            }
            return Ok(());
        }
        match p {
            b"fail" => Err("asked to fail".into()),
            b"raw" => {
                let n = match heka_sdk::read_message("raw") {
                    Some(Value::Bytes(b)) => b.len() as i64,
                    _ => -1,
                };
                heka_sdk::write_message("Fields[raw_len]", n, "B", 0, 0)
            }
            _ => {
                heka_sdk::write_message("Type", "decoded", "", 0, 0)?;
                heka_sdk::write_message("Fields[decoded]", true, "", 0, 0)?;
                let back = heka_sdk::read_message("Type").unwrap_or(Value::String(Vec::new()));
                heka_sdk::write_message("Fields[read_back]", back, "", 0, 0)
            }
        }
    }
}

heka_sdk::export_decoder!(Probe);
