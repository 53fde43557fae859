//! The on-disk queue of one output: a [`QueueWriter`] (the buffer's writer thread)
//! appends Heka-framed records to segment files, a [`QueueReader`] (the output's
//! thread) reads them in order and commits its position.
//!
//! Files in the queue directory:
//! - `<N>.log`: records `0x1E len header 0x1F message` (heka_message framing), the
//!   message being the protobuf encoding. A new segment starts when the next record
//!   would take the current one past `max_file_size`, and every time the queue is
//!   opened (so a record torn by a crash is only ever at the *end* of a segment);
//! - `checkpoint.txt`: `"<N> <offset>"`, where the reader resumes. Written to
//!   `checkpoint.txt.tmp` then renamed, so a crash leaves the old or the new one,
//!   never half of one. It is not fsynced: losing it to a power cut means resending
//!   (duplicates), never losing.
//!
//! Writer and reader share only a small mutex-guarded state: how far the writer has
//! published (segment, offset), and how many bytes are queued but not yet committed
//! (for `max_buffer_size`). The reader never reads past the published offset of the
//! segment being written, so it never sees half a record of a live writer.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::{BufferError, BufferOptions};

mod reader;
mod writer;

pub(crate) use reader::{Framed, QueueReader, Record};
pub(crate) use writer::QueueWriter;

const CHECKPOINT: &str = "checkpoint.txt";
const CHECKPOINT_TMP: &str = "checkpoint.txt.tmp";

/// A reader position: `offset` bytes into segment `segment`, and `total`, the bytes
/// the reader has consumed since the queue was opened (to account for
/// `max_buffer_size` across segments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub segment: u64,
    pub offset: u64,
    total: u64,
}

struct State {
    /// The segment the writer appends to and how much of it is readable.
    write_segment: u64,
    write_offset: u64,
    /// Bytes published by the writer and not yet committed by the reader.
    queued: u64,
}

struct QueueShared {
    dir: PathBuf,
    state: Mutex<State>,
    /// Signalled when the reader commits (room for a blocked writer).
    room: Condvar,
}

impl QueueShared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update of plain
        // numbers; they are still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn segment_path(&self, id: u64) -> PathBuf {
        segment_path(&self.dir, id)
    }
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id}.log"))
}

/// The ids of the `<N>.log` files in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<u64>, BufferError> {
    let entries = fs::read_dir(dir).map_err(|e| BufferError::io("list", dir, e))?;
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BufferError::io("list", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(id) = name
            .strip_suffix(".log")
            .and_then(|stem| stem.parse::<u64>().ok())
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Reads `checkpoint.txt`; a missing one is `None`, a damaged one is logged and `None`
/// (the reader then starts at the oldest segment: duplicates, not loss).
fn read_checkpoint(dir: &Path) -> Option<(u64, u64)> {
    let path = dir.join(CHECKPOINT);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the queue checkpoint; starting at the oldest segment");
            return None;
        }
    };
    let mut parts = text.split_whitespace();
    let parsed = match (parts.next(), parts.next(), parts.next()) {
        (Some(seg), Some(off), None) => seg.parse().ok().zip(off.parse().ok()),
        _ => None,
    };
    if parsed.is_none() {
        tracing::warn!(path = %path.display(), content = %text.escape_debug(), "damaged queue checkpoint; starting at the oldest segment");
    }
    parsed
}

fn file_len(path: &Path) -> Result<u64, BufferError> {
    fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| BufferError::io("stat", path, e))
}

/// Opens (creating if needed) the queue in `dir`: the writer starts a new segment, the
/// reader resumes at the checkpoint.
pub(crate) fn open(
    dir: &Path,
    options: &BufferOptions,
    max_message_size: usize,
) -> Result<(QueueWriter, QueueReader), BufferError> {
    fs::create_dir_all(dir).map_err(|e| BufferError::io("create", dir, e))?;
    let mut segments = list_segments(dir)?;
    let checkpoint = read_checkpoint(dir);
    if let Some((cp_segment, _)) = checkpoint {
        remove_delivered(dir, &mut segments, cp_segment);
    }
    let (mut read_segment, mut read_offset, queued) = resume_point(dir, &segments, checkpoint)?;

    // The writer always starts a segment of its own (see the module doc), except
    // that an empty last segment is reused.
    let write_segment = match segments.last() {
        Some(&last) if file_len(&segment_path(dir, last))? == 0 => last,
        Some(&last) => last + 1,
        None => read_segment,
    };
    if segments.is_empty() {
        read_segment = write_segment;
        read_offset = 0;
    }
    let write_path = segment_path(dir, write_segment);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&write_path)
        .map_err(|e| BufferError::io("open", &write_path, e))?;
    // Make the new segment's directory entry durable, so records fsynced into it are
    // found after a crash.
    sync_dir(dir);

    let shared = Arc::new(QueueShared {
        dir: dir.to_owned(),
        state: Mutex::new(State {
            write_segment,
            write_offset: 0,
            queued,
        }),
        room: Condvar::new(),
    });
    if queued > 0 {
        tracing::info!(dir = %dir.display(), queued_bytes = queued, segment = read_segment, offset = read_offset, "resuming disk buffer");
    }
    let writer = QueueWriter::new(
        shared.clone(),
        file,
        write_segment,
        options,
        max_message_size,
    );
    let oldest = segments.first().copied().unwrap_or(read_segment);
    let reader = QueueReader::resume(
        shared,
        (read_segment, read_offset),
        (oldest, write_segment),
        options,
        max_message_size,
    );
    Ok((writer, reader))
}

/// Segments wholly before the checkpoint's were delivered: removes them (a failure
/// is logged; the file is only disk space).
fn remove_delivered(dir: &Path, segments: &mut Vec<u64>, cp_segment: u64) {
    segments.retain(|&id| {
        if id >= cp_segment {
            return true;
        }
        let path = segment_path(dir, id);
        if let Err(e) = fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a delivered queue segment");
        }
        false
    });
}

/// Where the reader starts (segment, offset), and how many bytes are queued from there.
fn resume_point(
    dir: &Path,
    segments: &[u64],
    checkpoint: Option<(u64, u64)>,
) -> Result<(u64, u64, u64), BufferError> {
    let (read_segment, mut read_offset) = match (checkpoint, segments.first()) {
        (Some((seg, off)), Some(&first)) if seg == first => (seg, off),
        (_, Some(&first)) => (first, 0),
        (Some((seg, _)), None) => (seg + 1, 0),
        (None, None) => (1, 0),
    };
    let mut queued = 0u64;
    for &id in segments {
        let len = file_len(&segment_path(dir, id))?;
        if id == read_segment {
            if read_offset > len {
                tracing::warn!(
                    segment = id,
                    offset = read_offset,
                    len,
                    "queue checkpoint is past the end of its segment; skipping the segment"
                );
                read_offset = len;
            }
            queued += len - read_offset;
        } else {
            queued += len;
        }
    }
    Ok((read_segment, read_offset, queued))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests;
