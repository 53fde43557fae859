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
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use heka_message::{FramingError, Message, Unframed};

use super::{BufferError, BufferOptions, DEFAULT_MAX_FILE_SIZE};

const CHECKPOINT: &str = "checkpoint.txt";
const CHECKPOINT_TMP: &str = "checkpoint.txt.tmp";

/// Bytes read from a segment at a time.
const READ_CHUNK: usize = 64 * 1024;

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
    let max_file_size = if options.max_file_size == 0 {
        DEFAULT_MAX_FILE_SIZE
    } else {
        options.max_file_size
    };
    let writer = QueueWriter {
        shared: shared.clone(),
        file,
        segment: write_segment,
        size: 0,
        max_file_size,
        max_buffer_size: options.max_buffer_size,
        max_message_size,
        encoded: Vec::new(),
        record: Vec::new(),
        batch: Vec::new(),
    };
    let oldest = segments.first().copied().unwrap_or(read_segment);
    let reader = QueueReader::resume(
        shared,
        (read_segment, read_offset),
        oldest,
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

/// The appending side. Records are framed into a batch in memory, written and
/// fsynced by [`QueueWriter::sync`].
pub(crate) struct QueueWriter {
    shared: Arc<QueueShared>,
    file: File,
    segment: u64,
    /// Bytes in the current segment file (written, maybe not yet synced).
    size: u64,
    max_file_size: u64,
    max_buffer_size: u64,
    max_message_size: usize,
    /// Scratch: the protobuf encoding of the message being framed.
    encoded: Vec<u8>,
    /// The framed record being added.
    record: Vec<u8>,
    /// Framed records not yet written.
    batch: Vec<u8>,
}

impl QueueWriter {
    /// Encodes and frames `msg` as the pending record (see [`QueueWriter::push`]).
    pub(crate) fn prepare(&mut self, msg: &Message) -> Result<(), FramingError> {
        self.encoded.clear();
        heka_message::encode_message(msg, &mut self.encoded);
        self.record.clear();
        heka_message::frame_message(&self.encoded, self.max_message_size, &mut self.record)
    }

    /// True when the pending record fits under `max_buffer_size`. A record always
    /// fits an empty queue, so one larger than the limit cannot wedge it.
    pub(crate) fn has_room(&self) -> bool {
        // Unlimited (the default): no need to look at the shared state.
        self.max_buffer_size == 0 || self.fits(&self.shared.lock())
    }

    fn fits(&self, state: &State) -> bool {
        if self.max_buffer_size == 0 {
            return true;
        }
        let queued = state.queued + self.batch.len() as u64;
        queued == 0 || queued + self.record.len() as u64 <= self.max_buffer_size
    }

    /// Waits up to `timeout` for the reader to make room for the pending record.
    /// Call [`QueueWriter::sync`] first so the reader can see what is batched.
    pub(crate) fn wait_for_room(&self, timeout: Duration) -> bool {
        let state = self.shared.lock();
        if self.fits(&state) {
            return true;
        }
        // Checked and waited under one lock: a commit cannot slip in between.
        let (state, _) = self
            .shared
            .room
            .wait_timeout(state, timeout)
            .unwrap_or_else(|p| p.into_inner());
        self.fits(&state)
    }

    /// Adds the pending record to the batch, first rolling to a new segment when it
    /// would take the current one past `max_file_size`.
    pub(crate) fn push(&mut self) -> Result<(), BufferError> {
        let used = self.size + self.batch.len() as u64;
        if used > 0 && used + self.record.len() as u64 > self.max_file_size {
            self.sync()?;
            self.roll()?;
        }
        self.batch.extend_from_slice(&self.record);
        Ok(())
    }

    /// Writes the batch, fsyncs it and makes it visible to the reader. On error the
    /// writer moves to a new segment, so a partly written batch stays a torn tail.
    pub(crate) fn sync(&mut self) -> Result<(), BufferError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let path = self.shared.segment_path(self.segment);
        let result = self
            .file
            .write_all(&self.batch)
            .map_err(|e| BufferError::io("write", &path, e))
            .and_then(|()| {
                self.file
                    .sync_data()
                    .map_err(|e| BufferError::io("fsync", &path, e))
            });
        if let Err(err) = result {
            self.batch.clear();
            if let Err(roll) = self.roll() {
                tracing::error!(error = %roll, "cannot start a new queue segment after a write error");
            }
            return Err(err);
        }
        let written = self.batch.len() as u64;
        self.size += written;
        self.batch.clear();
        let mut state = self.shared.lock();
        state.write_offset = self.size;
        state.queued += written;
        Ok(())
    }

    /// Starts segment N+1. The reader takes the old segment as complete once the
    /// published segment id has moved on.
    fn roll(&mut self) -> Result<(), BufferError> {
        let next = self.segment + 1;
        let path = self.shared.segment_path(next);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| BufferError::io("create", &path, e))?;
        sync_dir(&self.shared.dir);
        self.file = file;
        self.segment = next;
        self.size = 0;
        let mut state = self.shared.lock();
        state.write_segment = next;
        state.write_offset = 0;
        Ok(())
    }

    /// Bytes queued and not yet delivered (tests, reports).
    #[cfg(test)]
    pub(crate) fn queued_bytes(&self) -> u64 {
        self.shared.lock().queued
    }
}

/// The reading side: yields messages in order with the cursor just past each, and
/// commits cursors once they are delivered.
pub(crate) struct QueueReader {
    shared: Arc<QueueShared>,
    segment: u64,
    file: Option<File>,
    /// Where to seek when the segment is opened.
    start_offset: u64,
    /// Bytes read from the segment; `buf[pos..]` not yet consumed.
    buf: Vec<u8>,
    pos: usize,
    /// Offset in the segment of `buf[0]`.
    buf_offset: u64,
    /// Bytes consumed since the queue was opened.
    total: u64,
    max_message_size: usize,
    committed: Cursor,
    cursor_update_count: u64,
    uncheckpointed: u64,
    oldest_segment: u64,
}

impl QueueReader {
    /// A reader at `(segment, offset)`, `oldest` being the first segment on disk.
    fn resume(
        shared: Arc<QueueShared>,
        (segment, offset): (u64, u64),
        oldest: u64,
        options: &BufferOptions,
        max_message_size: usize,
    ) -> QueueReader {
        QueueReader {
            shared,
            segment,
            file: None,
            start_offset: offset,
            buf: Vec::new(),
            pos: 0,
            buf_offset: offset,
            total: 0,
            max_message_size,
            committed: Cursor {
                segment,
                offset,
                total: 0,
            },
            cursor_update_count: options.cursor_update_count.max(1),
            uncheckpointed: 0,
            oldest_segment: oldest,
        }
    }

    /// The next message and the cursor just past it, or `None` when everything
    /// published has been read. Damaged records are skipped with a warning.
    pub(crate) fn next(&mut self) -> Result<Option<(Message, Cursor)>, BufferError> {
        loop {
            let (skip, error) = match heka_message::unframe(
                &self.buf[self.pos..],
                self.max_message_size,
            ) {
                Unframed::Message {
                    message, consumed, ..
                } => {
                    let decoded = heka_message::decode_message(message);
                    self.consume(consumed);
                    let cursor = self.cursor();
                    match decoded {
                        Ok(msg) => return Ok(Some((msg, cursor))),
                        Err(e) => {
                            tracing::warn!(dir = %self.shared.dir.display(), segment = self.segment, offset = cursor.offset, error = %e, "undecodable message in the disk buffer; skipped");
                            continue;
                        }
                    }
                }
                Unframed::Invalid { skip, error } => (skip, error),
                Unframed::NeedMore => {
                    if self.fill()? {
                        continue;
                    }
                    if !self.segment_complete() {
                        return Ok(None);
                    }
                    let rest = self.buf.len() - self.pos;
                    if rest > 0 {
                        tracing::warn!(dir = %self.shared.dir.display(), segment = self.segment, offset = self.buf_offset + self.pos as u64, bytes = rest, "torn record at the end of a queue segment (crash while writing); skipped");
                        self.consume(rest);
                    }
                    self.next_segment();
                    continue;
                }
            };
            tracing::warn!(dir = %self.shared.dir.display(), segment = self.segment, offset = self.buf_offset + self.pos as u64, bytes = skip, error = %error, "damaged bytes in the disk buffer; skipped");
            self.consume(skip.max(1));
        }
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
        self.total += n as u64;
    }

    fn cursor(&self) -> Cursor {
        Cursor {
            segment: self.segment,
            offset: self.buf_offset + self.pos as u64,
            total: self.total,
        }
    }

    /// The writer has moved past this segment: its end is final.
    fn segment_complete(&self) -> bool {
        self.shared.lock().write_segment > self.segment
    }

    /// Reads more of the current segment (up to what is published). False when there
    /// is nothing more for now.
    fn fill(&mut self) -> Result<bool, BufferError> {
        let limit = {
            let state = self.shared.lock();
            if state.write_segment == self.segment {
                state.write_offset
            } else {
                u64::MAX
            }
        };
        if self.file.is_none() {
            let path = self.shared.segment_path(self.segment);
            match File::open(&path) {
                Ok(mut file) => {
                    file.seek(SeekFrom::Start(self.start_offset))
                        .map_err(|e| BufferError::io("seek", &path, e))?;
                    self.file = Some(file);
                    self.buf.clear();
                    self.pos = 0;
                    self.buf_offset = self.start_offset;
                }
                // A segment missing between two others: nothing to read in it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(BufferError::io("open", &path, e)),
            }
        }
        let file_pos = self.buf_offset + self.buf.len() as u64;
        let want = limit.saturating_sub(file_pos).min(READ_CHUNK as u64) as usize;
        if want == 0 {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.buf_offset += self.pos as u64;
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let Some(file) = self.file.as_mut() else {
            return Ok(false);
        };
        let read = file.read(&mut self.buf[old..]);
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(old);
                let path = self.shared.segment_path(self.segment);
                return Err(BufferError::io("read", &path, e));
            }
        };
        self.buf.truncate(old + n);
        Ok(n > 0)
    }

    fn next_segment(&mut self) {
        self.segment += 1;
        self.file = None;
        self.start_offset = 0;
        self.buf.clear();
        self.pos = 0;
        self.buf_offset = 0;
    }

    /// Everything up to `cursor` (`records` records since the last commit) was
    /// delivered: frees its room, deletes segments wholly before it, and writes the
    /// checkpoint every `cursor_update_count` records.
    pub(crate) fn commit(&mut self, cursor: Cursor, records: u64) {
        let freed = cursor.total.saturating_sub(self.committed.total);
        self.committed = cursor;
        {
            let mut state = self.shared.lock();
            state.queued = state.queued.saturating_sub(freed);
        }
        self.shared.room.notify_all();
        self.uncheckpointed += records;
        if self.uncheckpointed >= self.cursor_update_count {
            self.checkpoint();
        }
    }

    /// Writes the committed position now (also done at stop).
    pub(crate) fn checkpoint(&mut self) {
        if self.uncheckpointed == 0 {
            return;
        }
        let dir = &self.shared.dir;
        let tmp = dir.join(CHECKPOINT_TMP);
        let text = format!("{} {}", self.committed.segment, self.committed.offset);
        let result =
            fs::write(&tmp, text.as_bytes()).and_then(|()| fs::rename(&tmp, dir.join(CHECKPOINT)));
        match result {
            Ok(()) => self.uncheckpointed = 0,
            Err(e) => {
                // Not fatal: an old checkpoint only means more resending after a crash.
                tracing::warn!(dir = %dir.display(), error = %e, "cannot write the queue checkpoint");
                return;
            }
        }
        // Only once the checkpoint says so may earlier segments go.
        while self.oldest_segment < self.committed.segment {
            let path = self.shared.segment_path(self.oldest_segment);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove a delivered queue segment");
                    break;
                }
            }
            self.oldest_segment += 1;
        }
    }

    /// Bytes queued and not yet committed.
    pub(crate) fn queued_bytes(&self) -> u64 {
        self.shared.lock().queued
    }
}

impl Drop for QueueReader {
    fn drop(&mut self) {
        self.checkpoint();
    }
}

#[cfg(test)]
mod tests;
