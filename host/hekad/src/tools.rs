//! `hekad validate PATH` and `hekad match --message FILE 'EXPR'`: tools for users
//! checking configurations and matchers without running a pipeline.

use std::path::Path;

use heka_message::{
    Matcher, Message, RECORD_SEPARATOR, Unframed, decode_message, message_from_json, unframe,
};

use crate::assemble::load_and_assemble;
use crate::config::ConfigErrors;

/// Loads the configuration and builds every plugin without starting any.
/// Returns a one-line summary, or every problem found.
pub fn validate(path: &Path) -> Result<String, ConfigErrors> {
    let (_config, assembled) = load_and_assemble(path)?;
    Ok(format!(
        "{}: OK ({} inputs, {} filters, {} outputs)",
        path.display(),
        assembled.inputs.len(),
        assembled.filters.len(),
        assembled.outputs.len()
    ))
}

/// Why `hekad match` could not answer (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: not a message (JSON: {json}; protobuf: {protobuf})")]
    BadMessage {
        path: String,
        json: String,
        protobuf: String,
    },
    #[error("{0}")]
    BadMatcher(#[from] heka_message::MatcherError),
}

/// Reads a message file: our JSON form (starts with `{`), a framed record (starts
/// with `0x1E`) or raw protobuf bytes.
pub fn read_message(path: &Path) -> Result<Message, MatchError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| MatchError::Read {
        path: shown.clone(),
        error,
    })?;
    let bad = |json: String, protobuf: String| MatchError::BadMessage {
        path: shown.clone(),
        json,
        protobuf,
    };
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first == Some(b'{') {
        let text =
            std::str::from_utf8(&bytes).map_err(|e| bad(e.to_string(), "not tried".into()))?;
        return message_from_json(text).map_err(|e| bad(e.to_string(), "not tried".into()));
    }
    if bytes.first() == Some(&RECORD_SEPARATOR) {
        return match unframe(&bytes, u32::MAX as usize) {
            Unframed::Message { message, .. } => {
                decode_message(message).map_err(|e| bad("not tried".into(), e.to_string()))
            }
            Unframed::NeedMore => Err(bad("not tried".into(), "truncated framed record".into())),
            Unframed::Invalid { error, .. } => Err(bad("not tried".into(), error.to_string())),
        };
    }
    decode_message(&bytes).map_err(|e| bad("does not start with '{'".into(), e.to_string()))
}

/// Whether the message in `path` matches `expression`.
pub fn match_message(path: &Path, expression: &str) -> Result<bool, MatchError> {
    // The expression first: a typo there is the likelier mistake, and it needs no file.
    let matcher = Matcher::parse(expression)?;
    let msg = read_message(path)?;
    Ok(matcher.matches(&msg))
}
