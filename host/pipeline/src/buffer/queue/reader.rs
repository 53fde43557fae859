//! The reading side of the disk queue: reads segments in chunks, unframes records in
//! order, commits delivered cursors to the checkpoint and removes finished segments
//! (the queue's format is in the parent module's doc).
//!
//! Chunks are read into a `BytesMut` and each record this run's writer wrote is
//! split off it as [`Bytes`] ([`Record::framed`]), without a copy: a ProtobufEncoder
//! output sends those bytes as they are instead of encoding the decoded message
//! again (`runner::output::send`). A chunk lives as long as one of its records does,
//! so this memory is bounded by the output's window (`max_in_flight` records) plus
//! a chunk.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use heka_message::{Message, Unframed};

use super::{CHECKPOINT, CHECKPOINT_TMP, Cursor, QueueShared};
use crate::buffer::{BufferError, BufferOptions};

/// Bytes read from a segment at a time.
const READ_CHUNK: usize = 64 * 1024;

/// One record read from the queue.
pub(crate) struct Record {
    pub msg: Message,
    /// Position just past the record.
    pub cursor: Cursor,
    /// The record's bytes, when this run's writer wrote it (see [`Framed`]).
    pub framed: Option<Framed>,
}

/// A record as this run's writer wrote it: `heka_message::frame_message` of
/// `heka_message::encode_message(msg)` (`QueueWriter::prepare`), i.e. byte for byte
/// what a ProtobufEncoder output makes of the message, framed (`bytes`) or not
/// (`bytes[message_at..]`). Records an earlier run left are not offered: another
/// build may have written them.
#[derive(Clone)]
pub(crate) struct Framed {
    pub bytes: Bytes,
    pub message_at: usize,
}

/// The reading side: yields messages in order with the cursor just past each, and
/// commits cursors once they are delivered.
pub(crate) struct QueueReader {
    shared: Arc<QueueShared>,
    segment: u64,
    file: Option<File>,
    /// Where to seek when the segment is opened.
    start_offset: u64,
    /// Bytes read from the segment and not yet consumed.
    buf: BytesMut,
    /// Offset in the segment of `buf[0]`.
    buf_offset: u64,
    /// The first segment this run's writer wrote: records from there on are offered
    /// as [`Framed`].
    own_from: u64,
    /// Bytes consumed since the queue was opened.
    total: u64,
    max_message_size: usize,
    committed: Cursor,
    cursor_update_count: u64,
    uncheckpointed: u64,
    oldest_segment: u64,
}

impl QueueReader {
    /// A reader at `(segment, offset)`, `oldest` being the first segment on disk and
    /// `own_from` the first this run writes.
    pub(super) fn resume(
        shared: Arc<QueueShared>,
        (segment, offset): (u64, u64),
        (oldest, own_from): (u64, u64),
        options: &BufferOptions,
        max_message_size: usize,
    ) -> QueueReader {
        QueueReader {
            shared,
            segment,
            file: None,
            start_offset: offset,
            buf: BytesMut::new(),
            buf_offset: offset,
            own_from,
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

    /// The next record, or `None` when everything published has been read. Damaged
    /// records are skipped with a warning.
    pub(crate) fn next(&mut self) -> Result<Option<Record>, BufferError> {
        loop {
            let (skip, error) = match heka_message::unframe(&self.buf, self.max_message_size) {
                Unframed::Message {
                    message, consumed, ..
                } => {
                    let decoded = heka_message::decode_message(message);
                    let message_at = consumed - message.len();
                    let framed = if decoded.is_ok() && self.segment >= self.own_from {
                        let bytes = self.buf.split_to(consumed).freeze();
                        self.moved(consumed);
                        Some(Framed { bytes, message_at })
                    } else {
                        self.consume(consumed);
                        None
                    };
                    let cursor = self.cursor();
                    match decoded {
                        Ok(msg) => {
                            return Ok(Some(Record {
                                msg,
                                cursor,
                                framed,
                            }));
                        }
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
                    let rest = self.buf.len();
                    if rest > 0 {
                        tracing::warn!(dir = %self.shared.dir.display(), segment = self.segment, offset = self.buf_offset, bytes = rest, "torn record at the end of a queue segment (crash while writing); skipped");
                        self.consume(rest);
                    }
                    self.next_segment();
                    continue;
                }
            };
            tracing::warn!(dir = %self.shared.dir.display(), segment = self.segment, offset = self.buf_offset, bytes = skip, error = %error, "damaged bytes in the disk buffer; skipped");
            self.consume(skip.max(1));
        }
    }

    /// Drops `n` bytes from the front of the buffer.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.advance(n);
        self.moved(n);
    }

    /// `n` bytes left the front of the buffer.
    fn moved(&mut self, n: usize) {
        self.buf_offset += n as u64;
        self.total += n as u64;
    }

    fn cursor(&self) -> Cursor {
        Cursor {
            segment: self.segment,
            offset: self.buf_offset,
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
        // Reuses the chunk when no record split off it is alive any more; otherwise
        // a new one is allocated and the unread rest (part of a record) copied.
        self.buf.reserve(want);
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
