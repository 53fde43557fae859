//! `heka-tail`: file discovery, tailing, rotation and journals for LogstreamerInput.
//!
//! It knows nothing of messages or the pipeline: a [`Tailer`] finds the log files of
//! each stream, reads them in order and hands the bytes to a [`TailSink`] (which
//! splits them into records); the sink later saves how far it got with
//! [`journal::save`]. Keeping splitting and acknowledgement on the sink's side lets a
//! journal advance only past records that were delivered, not merely read.
//!
//! - `discovery`: `log_directory` + `file_match` + `priority`/`translation` +
//!   `differentiator` → streams of files sorted oldest to newest ([`Discovery`]).
//! - `journal`: Heka's journal file (`seek`, `file_name`, `last_hash`), the 500-byte
//!   [`HashWindow`] behind `last_hash`, atomic saves.
//! - `tailer`: [`Tailer`], the read loop: inotify (`notify`) plus a rescan fallback,
//!   rename/create and copytruncate rotation, gzip'd files, resume from journals.
//! - `duration`: Go duration strings (`"720h"`, `"1m30s"`) as Heka's config uses them.
//!
//! Start reading at [`Tailer::poll`].

mod discovery;
pub mod duration;
mod error;
pub mod journal;
mod tailer;

pub use discovery::{Discovery, DiscoveryConfig, LogFile, Streams};
pub use error::TailError;
pub use journal::{HashWindow, Position};
pub use tailer::{FileId, StreamId, TailCounters, TailOptions, TailSink, Tailer};
