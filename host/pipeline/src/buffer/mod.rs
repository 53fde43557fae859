//! Disk buffering of outputs (Heka's `use_buffering` and `[x.buffering]`): a
//! persistent queue per output between the router and the output's thread, so that an
//! output that is down or slow neither loses messages nor stalls the router.
//!
//! Layout (as Heka's `queue_buffer.go`): `<base_dir>/output_queue/<name with \W → _>/`
//! holds segment files `<N>.log` of Heka-framed protobuf records (rolled at
//! `max_file_size`) and `checkpoint.txt` = `"<segment-id> <byte-offset>"`, the reader's
//! position, replaced atomically (tmp + rename). Segments wholly before the checkpoint
//! are deleted. See [`queue`] for the file format and crash recovery rules.
//!
//! Delivery semantics (at-least-once, documented because they differ from unbuffered
//! outputs):
//! - a message routed to a buffered output is acknowledged to its input as soon as it is
//!   **durably in the queue** (written and `fsync`ed with its batch): the queue takes
//!   responsibility for it, so the input's journal may move on even while the output is
//!   down;
//! - the output's thread reads the queue in order, retries each message with back-off
//!   for as long as `[x.retries]` allows, and advances the reader position only after a
//!   successful `flush`. The checkpoint is written every `cursor_update_count` advanced
//!   records and at stop;
//! - after a crash the reader resumes from the checkpoint: what was sent after it is
//!   sent again. Duplicates are bounded by `cursor_update_count` plus the batch in
//!   flight (at most the output runner's flush interval, 1024 messages) and its
//!   window of messages in flight (`PipelinedOutput::max_in_flight`);
//! - a record torn by a crash at the end of a segment is detected by `unframe` and
//!   skipped with a warning (its message was never acknowledged, so the input sends it
//!   again): the writer always starts a fresh segment when it opens a queue, so a torn
//!   tail is never followed by new records in the same file.
//!
//! `max_buffer_size` bounds the bytes written but not yet delivered; `full_action`
//! says what happens when a new message would exceed it (see [`FullAction`]). Disk
//! use can exceed it by up to one segment, since a segment is deleted only once all of
//! it is delivered (as in Heka): keep `max_file_size` well below `max_buffer_size`.
//!
//! This module is the storage only (queue files, cursor, checkpoint); the thread that
//! fills the queue and the runner that reads it are in `runner/output/`
//! (`disk_writer.rs`, `source.rs`).
//!
//! Not handled (as in Heka): two outputs whose names map to the same directory
//! (`a-b` and `a.b`), or two hekad processes sharing a `base_dir`.

pub(crate) mod queue;

use std::path::{Path, PathBuf};

/// Capacity of a buffered output's channel (router → disk writer), at least
/// `plugin_chansize`. Packs are `Arc`s: 1024 of them cost little memory.
pub(crate) const WRITER_CHANNEL_CAPACITY: usize = 1024;

/// Heka's default `max_file_size` (512 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 512 * 1024 * 1024;

/// What a full buffer does with a new message (`full_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FullAction {
    /// Stop hekad (exit status 1); the message is not acknowledged (Heka's default).
    #[default]
    Shutdown,
    /// Discard the new message (logged, its ack done: dropped on purpose).
    Drop,
    /// Wait for room: the router's send into this output blocks, which blocks the
    /// inputs routing to it (back-pressure; memory stays bounded).
    Block,
}

impl FullAction {
    /// Parses Heka's names (`shutdown`, `drop`, `block`).
    pub fn parse(s: &str) -> Option<FullAction> {
        match s {
            "shutdown" => Some(FullAction::Shutdown),
            "drop" => Some(FullAction::Drop),
            "block" => Some(FullAction::Block),
            _ => None,
        }
    }

    /// Heka's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FullAction::Shutdown => "shutdown",
            FullAction::Drop => "drop",
            FullAction::Block => "block",
        }
    }
}

/// `use_buffering = true` with its `[x.buffering]` table, plus where queues live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferOptions {
    /// hekad's `base_dir`; the queue goes under `<base_dir>/output_queue/<name>/`.
    pub base_dir: PathBuf,
    /// Segment size at which a new `<N>.log` is started (0 = default, 512 MiB).
    pub max_file_size: u64,
    /// Most bytes queued but not yet delivered (0 = unlimited).
    pub max_buffer_size: u64,
    /// What a full buffer does.
    pub full_action: FullAction,
    /// Delivered records between checkpoint writes (0 is treated as 1).
    pub cursor_update_count: u64,
}

impl BufferOptions {
    /// Heka's defaults, queues under `base_dir`.
    pub fn new(base_dir: impl Into<PathBuf>) -> BufferOptions {
        BufferOptions {
            base_dir: base_dir.into(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            max_buffer_size: 0,
            full_action: FullAction::Shutdown,
            cursor_update_count: 1,
        }
    }

    /// The queue directory of output `name`: `<base_dir>/output_queue/<name with \W → _>`.
    pub fn queue_dir(&self, name: &str) -> PathBuf {
        queue_dir(&self.base_dir, name)
    }
}

/// `<base_dir>/output_queue/<name with every non-word character replaced by _>`.
pub fn queue_dir(base_dir: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    base_dir.join("output_queue").join(safe)
}

/// Why a disk queue could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    /// A file operation failed.
    #[error("disk buffer: cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl BufferError {
    pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> BufferError {
        BufferError::Io {
            op,
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_dir_replaces_non_word_characters() {
        let dir = queue_dir(Path::new("/var/cache/hekad"), "my-output.es:1");
        assert_eq!(
            dir,
            Path::new("/var/cache/hekad/output_queue/my_output_es_1")
        );
    }

    #[test]
    fn full_action_names() {
        for a in [FullAction::Shutdown, FullAction::Drop, FullAction::Block] {
            assert_eq!(FullAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(FullAction::parse("explode"), None);
    }
}
