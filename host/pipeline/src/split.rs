//! [`SplitRunner`]: owns a stream's read buffer and feeds it to a [`Splitter`].
//!
//! It tracks the stream offset of every record's end, which is what a journal stores,
//! grows its buffer up to the maximum record size, and handles records that do not fit
//! (truncated when `keep_truncated`, else skipped, with a warning naming the offset).
//!
//! Usage: put bytes in with [`SplitRunner::read_from`] (reads straight into the
//! buffer, no copy) or [`SplitRunner::push`], then drain with
//! [`SplitRunner::next_record`] until it returns `None`; at the final end of a stream
//! call [`SplitRunner::next_final_record`] instead. Records borrow the buffer, so there
//! is no allocation per record; consumed bytes are only moved out of the way (one
//! `copy_within` of the partial trailing record) when the free space at the end of the
//! buffer runs low.
//!
//! A partial trailing record stays in the buffer until it is completed and is never
//! emitted half (except at final EOF with `deliver_incomplete_final`), so
//! [`SplitRunner::offset`] / `Record::end_offset` never point inside a record.
//! An over-long record that is kept truncated is held back until its end is found, so
//! its `end_offset` too lies past the whole record: resuming from it never replays a
//! record's tail as a record of its own.

use std::io::{self, Read};
use std::sync::Arc;

use crate::plugin::{SplitResult, Splitter};

/// Bytes kept at the end of the buffer while skipping the tail of an over-long record,
/// so that a multi-byte delimiter straddling two reads is still found.
const SKIP_TAIL_KEEP: usize = 256;

/// Options from the splitter's section (Heka's common splitter options).
#[derive(Debug, Clone)]
pub struct SplitOptions {
    /// Largest record delivered (Heka: MAX_RECORD_SIZE from `max_message_size`).
    pub max_record_size: usize,
    /// Deliver an over-long record truncated instead of dropping it.
    pub keep_truncated: bool,
    /// At final EOF, deliver a trailing partial record.
    pub deliver_incomplete_final: bool,
    /// Initial buffer capacity.
    pub min_buffer_size: usize,
}

impl Default for SplitOptions {
    /// Heka's defaults: 64 KiB records, 8 KiB initial buffer, over-long records dropped,
    /// partial final records dropped.
    fn default() -> SplitOptions {
        SplitOptions {
            max_record_size: 64 * 1024,
            keep_truncated: false,
            deliver_incomplete_final: false,
            min_buffer_size: 8 * 1024,
        }
    }
}

/// One record found in the stream.
#[derive(Debug)]
pub struct Record<'a> {
    /// The record's bytes (delimiters included where the splitter keeps them).
    pub bytes: &'a [u8],
    /// Stream offset just past the record: the journal position once it is delivered.
    pub end_offset: u64,
    /// True when the record was cut at `max_record_size`.
    pub truncated: bool,
    /// Its verified signer ([`crate::Splitter::signer`]).
    pub signer: Option<Arc<str>>,
}

impl Record<'_> {
    /// The record as a Payload: its bytes as the stream held them, UTF-8 or not
    /// (Heka kept them; so do we: a Latin-1 line stays Latin-1).
    pub fn payload(&self) -> Vec<u8> {
        self.bytes.to_vec()
    }
}

/// Where the bytes of the record to hand out are.
#[derive(Debug, Clone, Copy)]
enum Found {
    /// `buf[start..end]`.
    InBuf {
        start: usize,
        end: usize,
        end_offset: u64,
        truncated: bool,
    },
    /// The held-back truncated record.
    Held { end_offset: u64 },
}

/// A splitter plus its buffer and offsets.
pub struct SplitRunner {
    splitter: Box<dyn Splitter>,
    options: SplitOptions,
    /// `buf.len()` is the capacity; `buf[start..end]` holds unconsumed bytes. Kept
    /// fully initialised so reads go straight into it without `unsafe`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    /// Dropping the tail of an over-long record up to its delimiter.
    skipping: bool,
    /// The first `max_record_size` bytes of an over-long record with
    /// `keep_truncated`, waiting for the record's end (see the module doc).
    held: Vec<u8>,
    held_pending: bool,
    /// Names the stream in warnings (file path, peer address...).
    label: String,
    oversized: u64,
    /// `buf[mark..start]`: consumed since the last [`SplitRunner::take_consumed`]
    /// or buffer compaction.
    mark: usize,
}

impl SplitRunner {
    /// A runner for `splitter` starting at stream offset 0.
    pub fn new(splitter: Box<dyn Splitter>, options: SplitOptions) -> SplitRunner {
        // A zero max would make every record over-long; Heka refuses such configs,
        // here it is simply raised to one byte.
        let options = SplitOptions {
            max_record_size: options.max_record_size.max(1),
            min_buffer_size: options
                .min_buffer_size
                .clamp(1, options.max_record_size.max(1)),
            ..options
        };
        SplitRunner {
            buf: vec![0; options.min_buffer_size],
            splitter,
            options,
            start: 0,
            end: 0,
            offset: 0,
            skipping: false,
            held: Vec::new(),
            held_pending: false,
            label: String::new(),
            oversized: 0,
            mark: 0,
        }
    }

    /// Names the stream in this runner's warnings (e.g. the stream or file name).
    pub fn set_label(&mut self, label: impl Into<String>) {
        self.label = label.into();
    }

    /// The options in effect.
    pub fn options(&self) -> &SplitOptions {
        &self.options
    }

    /// True when records are whole Heka messages ([`Splitter::uses_message_bytes`]).
    pub fn uses_message_bytes(&self) -> bool {
        self.splitter.uses_message_bytes()
    }

    /// Stream offset just past everything consumed so far (records and skipped bytes);
    /// the bytes of a partial record waiting for its end come after it.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes buffered but not yet consumed (a partial record, or unread records).
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Number of over-long records seen (truncated or dropped).
    pub fn oversized_records(&self) -> u64 {
        self.oversized
    }

    /// Forgets buffered bytes and any over-long record in progress, and restarts the
    /// offset count at `offset` (a new file, a seek, a new connection).
    pub fn reset(&mut self, offset: u64) {
        self.start = 0;
        self.end = 0;
        self.offset = offset;
        self.skipping = false;
        self.held_pending = false;
        self.mark = 0;
    }

    /// The bytes consumed (records and skipped bytes) since the previous call or the
    /// previous read — the stream's bytes just before [`SplitRunner::offset`], still in
    /// the buffer. Lets a tailer keep a journal hash window of what it handled
    /// without copying each record. Call it after draining records, before the next
    /// read; bytes consumed across a read that compacted the buffer are not returned.
    pub fn take_consumed(&mut self) -> &[u8] {
        let from = self.mark.min(self.start);
        self.mark = self.start;
        &self.buf[from..self.start]
    }

    /// Appends `data` to the buffer. Prefer [`SplitRunner::read_from`] when reading
    /// from an `io::Read`: it avoids the copy.
    pub fn push(&mut self, data: &[u8]) {
        self.make_room(data.len());
        self.buf[self.end..self.end + data.len()].copy_from_slice(data);
        self.end += data.len();
    }

    /// Grows the buffer to at least `bytes`, so that each [`SplitRunner::read_from`]
    /// takes up to that much: files read in large pieces cost fewer syscalls and hand
    /// the pipeline bigger chunks (one ack, one wake-up of the next thread per chunk).
    /// Record limits do not change: they are set by `max_record_size`, not by the
    /// buffer's size.
    pub fn set_read_size(&mut self, bytes: usize) {
        if self.buf.len() < bytes {
            self.buf.resize(bytes, 0);
        }
    }

    /// Bytes held by the buffers (the read buffer and a held-back truncated record):
    /// what the runner costs in memory beyond its fixed part.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.len() + self.held.capacity()
    }

    /// Gives up the read buffer while the stream waits for its next read: the
    /// unconsumed bytes (a partial record) move into a buffer of exactly their size,
    /// and the old buffer is returned, e.g. for the next stream's
    /// [`SplitRunner::adopt_buffer`], so that many idle streams cost their partial
    /// records rather than a read buffer each. Call it between reads, after
    /// draining the records and [`SplitRunner::take_consumed`] (bytes consumed
    /// before it are not returned by a later `take_consumed`).
    pub fn release_buffer(&mut self) -> Vec<u8> {
        let kept = self.buf[self.start..self.end].to_vec();
        self.end -= self.start;
        self.start = 0;
        self.mark = 0;
        if !self.held_pending {
            self.held = Vec::new();
        }
        std::mem::replace(&mut self.buf, kept)
    }

    /// Reads into `buf` from now on if it is larger than the current buffer (the
    /// unconsumed bytes are copied to its start). Returns the buffer not kept.
    pub fn adopt_buffer(&mut self, mut buf: Vec<u8>) -> Vec<u8> {
        let n = self.end - self.start;
        if buf.len() <= self.buf.len() || buf.len() < n {
            return buf;
        }
        buf[..n].copy_from_slice(&self.buf[self.start..self.end]);
        self.start = 0;
        self.end = n;
        self.mark = 0;
        std::mem::replace(&mut self.buf, buf)
    }

    /// Reads once from `reader` straight into the buffer's free space. Returns the
    /// number of bytes read (0 = end of stream for now). Call [`next_record`] until it
    /// returns `None` between reads, or the buffer keeps growing.
    ///
    /// [`next_record`]: SplitRunner::next_record
    pub fn read_from<R: Read + ?Sized>(&mut self, reader: &mut R) -> io::Result<usize> {
        self.make_room(1);
        loop {
            match reader.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Ensures at least `want` free bytes after `end`, compacting lazily: the consumed
    /// prefix is only reclaimed when the free tail is smaller than a quarter of the
    /// buffer (or than `want`), so a big buffer full of short records costs one small
    /// `copy_within` per refill.
    fn make_room(&mut self, want: usize) {
        let cap = self.buf.len();
        let free = cap - self.end;
        if free >= want && free >= cap / 4 {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            self.mark = 0;
        }
        let free = cap - self.end;
        if free >= want && free > 0 {
            return;
        }
        // Grow: double up to max_record_size (plus one read's worth, so a record of
        // exactly max_record_size bytes and its delimiter fit), or more if a single
        // push needs it; overflow handling in next_record bounds what stays buffered.
        let needed = self.end + want.max(1);
        let ceiling = self.options.max_record_size + self.options.min_buffer_size;
        let mut new_cap = cap.max(1);
        while new_cap < needed && new_cap < ceiling {
            new_cap = new_cap.saturating_mul(2);
        }
        let new_cap = new_cap.min(ceiling).max(needed);
        if new_cap > cap {
            self.buf.resize(new_cap, 0);
        }
    }

    /// The next complete record, or `None` when more bytes are needed.
    pub fn next_record(&mut self) -> Option<Record<'_>> {
        let found = self.find(false)?;
        Some(self.record(found))
    }

    /// Like [`SplitRunner::next_record`], for when the stream has ended for good: the
    /// splitter is told `eof`, and once no record is left a trailing partial record is
    /// delivered when `deliver_incomplete_final` (else it stays buffered, unconsumed).
    pub fn next_final_record(&mut self) -> Option<Record<'_>> {
        let found = self.find(true)?;
        Some(self.record(found))
    }

    fn record(&self, found: Found) -> Record<'_> {
        match found {
            Found::InBuf {
                start,
                end,
                end_offset,
                truncated,
            } => Record {
                bytes: &self.buf[start..end],
                end_offset,
                truncated,
                signer: self.splitter.signer(),
            },
            Found::Held { end_offset } => Record {
                bytes: &self.held,
                end_offset,
                truncated: true,
                signer: self.splitter.signer(),
            },
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn find(&mut self, eof: bool) -> Option<Found> {
        let max = self.options.max_record_size;
        loop {
            let avail = self.end - self.start;
            let result = self
                .splitter
                .find_record(&self.buf[self.start..self.end], eof);
            match result {
                SplitResult::Record {
                    start,
                    end,
                    consumed,
                } => {
                    // Never trust a splitter's arithmetic with our buffer.
                    let consumed = consumed.max(end).min(avail);
                    if consumed == 0 {
                        return self.need_more(eof);
                    }
                    let end = end.min(consumed);
                    let start = start.min(end);
                    let rec_start = self.start + start;
                    self.consume(consumed);
                    if self.skipping {
                        // This record is the tail of an over-long one.
                        self.skipping = false;
                        if self.held_pending {
                            self.held_pending = false;
                            return Some(Found::Held {
                                end_offset: self.offset,
                            });
                        }
                        continue;
                    }
                    let len = end - start;
                    if len == 0 {
                        // Heka: consumed bytes with an empty record = skip them.
                        continue;
                    }
                    if len > max {
                        self.oversized += 1;
                        let start_offset = self.offset - (consumed - start) as u64;
                        if self.options.keep_truncated {
                            tracing::warn!(stream = %self.label, offset = start_offset, len, max_record_size = max,
                                "record exceeded max_record_size: delivered truncated");
                            return Some(Found::InBuf {
                                start: rec_start,
                                end: rec_start + max,
                                end_offset: self.offset,
                                truncated: true,
                            });
                        }
                        tracing::warn!(stream = %self.label, offset = start_offset, len, max_record_size = max,
                            "record exceeded max_record_size: dropped");
                        continue;
                    }
                    return Some(Found::InBuf {
                        start: rec_start,
                        end: rec_start + len,
                        end_offset: self.offset,
                        truncated: false,
                    });
                }
                SplitResult::Skip(n) => {
                    let n = n.min(avail);
                    if n == 0 {
                        return self.need_more(eof);
                    }
                    self.consume(n);
                }
                SplitResult::NeedMore => return self.need_more(eof),
            }
        }
    }

    /// The splitter found no record in what is buffered.
    fn need_more(&mut self, eof: bool) -> Option<Found> {
        let max = self.options.max_record_size;
        let avail = self.end - self.start;
        if avail >= max {
            // The record cannot fit: keep (a copy of) its head if asked, then drop
            // bytes until its delimiter shows up, keeping a small tail in case the
            // delimiter straddles two reads.
            if !self.skipping {
                self.skipping = true;
                self.oversized += 1;
                if self.options.keep_truncated {
                    self.held.clear();
                    self.held
                        .extend_from_slice(&self.buf[self.start..self.start + max]);
                    self.held_pending = true;
                    tracing::warn!(stream = %self.label, offset = self.offset, max_record_size = max,
                        "record exceeded max_record_size: delivering it truncated, skipping its tail");
                } else {
                    tracing::warn!(stream = %self.label, offset = self.offset, max_record_size = max,
                        "record exceeded max_record_size: dropped");
                }
            }
            let keep = SKIP_TAIL_KEEP.min(avail / 2);
            self.consume(avail - keep);
        }
        if !eof {
            return None;
        }
        // Final EOF: whatever is left will never be completed.
        let avail = self.end - self.start;
        if self.skipping {
            self.skipping = false;
            self.consume(avail);
            if self.held_pending {
                self.held_pending = false;
                return Some(Found::Held {
                    end_offset: self.offset,
                });
            }
            return None;
        }
        if avail > 0 && self.options.deliver_incomplete_final {
            let start = self.start;
            self.consume(avail);
            return Some(Found::InBuf {
                start,
                end: start + avail.min(max),
                end_offset: self.offset,
                truncated: avail > max,
            });
        }
        None
    }
}

impl std::fmt::Debug for SplitRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitRunner")
            .field("label", &self.label)
            .field("offset", &self.offset)
            .field("buffered", &self.buffered())
            .field("options", &self.options)
            .finish()
    }
}

#[cfg(test)]
mod tests;
