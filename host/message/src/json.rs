//! The JSON form of a message (feature `json`). Documentation lands with the implementation.

use crate::Message;

/// Why a JSON text is not a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid message JSON at {path}: {reason}")]
pub struct JsonError {
    /// Where in the document (`$`, `$.fields[2].value[0]`, ...).
    pub path: String,
    /// What was wrong there.
    pub reason: String,
}

/// The JSON form of `msg` (one line).
pub fn message_to_json(msg: &Message) -> String {
    let _ = msg;
    todo!()
}

/// Parses the JSON form.
pub fn message_from_json(s: &str) -> Result<Message, JsonError> {
    let _ = s;
    todo!()
}
