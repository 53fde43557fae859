//! Heka's rule for messages a decoder injects in place of its input: every header the
//! injected message leaves unset is taken from the original (a fresh Uuid when it has
//! none). Shared by the wasm and Lua sandboxes so both decoders behave the same.

use heka_message::Message;

/// Copies `original`'s headers into `m` where `m` left them unset.
pub fn inherit_headers(mut m: Message, original: &Message) -> Message {
    if m.uuid.len() != 16 {
        m.uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
    }
    if m.timestamp == 0 {
        m.timestamp = original.timestamp;
    }
    if m.r#type.is_none() {
        m.r#type = original.r#type.clone();
    }
    if m.hostname.is_none() {
        m.hostname = original.hostname.clone();
    }
    if m.logger.is_none() {
        m.logger = original.logger.clone();
    }
    if m.severity.is_none() {
        m.severity = original.severity;
    }
    if m.pid.is_none() {
        m.pid = original.pid;
    }
    m
}
