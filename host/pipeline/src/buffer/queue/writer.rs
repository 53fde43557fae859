//! The appending side of the disk queue: frames records into a batch in memory,
//! writes and fsyncs them, rolls segments at `max_file_size` and waits for room under
//! `max_buffer_size` (the queue's format is in the parent module's doc).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use heka_message::{FramingError, Message};

use super::{QueueShared, State, sync_dir};
use crate::buffer::{BufferError, BufferOptions, DEFAULT_MAX_FILE_SIZE};

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
    /// A writer appending to `file`, segment `segment` (new or empty).
    pub(super) fn new(
        shared: Arc<QueueShared>,
        file: File,
        segment: u64,
        options: &BufferOptions,
        max_message_size: usize,
    ) -> QueueWriter {
        let max_file_size = if options.max_file_size == 0 {
            DEFAULT_MAX_FILE_SIZE
        } else {
            options.max_file_size
        };
        QueueWriter {
            shared,
            file,
            segment,
            size: 0,
            max_file_size,
            max_buffer_size: options.max_buffer_size,
            max_message_size,
            encoded: Vec::new(),
            record: Vec::new(),
            batch: Vec::new(),
        }
    }

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
