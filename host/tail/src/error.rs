//! [`TailError`]: what can go wrong configuring or running a tailer, with the path or
//! option at fault.

use std::io;
use std::path::PathBuf;

/// Errors of the tailer crate.
#[derive(Debug, thiserror::Error)]
pub enum TailError {
    /// `file_match` does not compile.
    #[error("invalid file_match {pattern:?}: {source}")]
    FileMatch {
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    /// A `priority` entry names no capture group of `file_match`.
    #[error("priority {name:?} is not a named capture group of file_match {pattern:?}")]
    UnknownPriority { name: String, pattern: String },
    /// A one-entry translation map whose key is not `missing` (Heka refuses these).
    #[error(
        "translation map {group:?} has a single entry, which must be \"missing\" (found {key:?})"
    )]
    Translation { group: String, key: String },
    /// A Go duration string that does not parse.
    #[error("invalid duration {value:?} for {option}: {reason}")]
    Duration {
        option: &'static str,
        value: String,
        reason: &'static str,
    },
    /// `log_directory` cannot be resolved.
    #[error("log_directory {path}: {source}")]
    LogDirectory {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The journal directory or a journal file cannot be written.
    #[error("journal {path}: {source}")]
    Journal {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file watcher cannot be set up.
    #[error("watching {path}: {source}")]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    /// The sink failed (e.g. hekad is stopping); the tailer stops.
    #[error("sink: {0}")]
    Sink(String),
}
