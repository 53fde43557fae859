//! [`OutputError`]: how an output's delivery attempt failed, for plain outputs
//! ([`crate::Output::send`]) and pipelined ones ([`crate::PipelinedOutput`]) alike.
//!
//! Its own module so that `plugin.rs` (the `Output` trait, which names
//! `PipelinedOutput`) and `pipelined.rs` (whose outcomes carry this error) both
//! depend on it without depending on each other.

use std::time::Duration;

/// Why an output could not deliver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// Try again later (connection error, timeout, 5xx, 429). `after` is the delay the
    /// far end asked for (`Retry-After`); the runner otherwise backs off exponentially.
    #[error("retryable: {reason}")]
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Will never succeed (e.g. a 4xx): the message is dropped, logged and acknowledged.
    #[error("dropped: {0}")]
    Drop(String),
    /// The output cannot go on.
    #[error("fatal: {0}")]
    Fatal(String),
}
