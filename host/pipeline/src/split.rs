//! [`SplitRunner`]: owns a stream's read buffer and feeds it to a [`Splitter`].
//!
//! It tracks the stream offset of every record's end, which is what a journal stores,
//! grows its buffer up to the maximum record size, and handles records that do not fit
//! (truncated when `keep_truncated`, else skipped, with a warning naming the offset).

use crate::plugin::Splitter;

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

/// One record found in the stream.
#[derive(Debug)]
pub struct Record<'a> {
    /// The record's bytes (delimiters included where the splitter keeps them).
    pub bytes: &'a [u8],
    /// Stream offset just past the record: the journal position once it is delivered.
    pub end_offset: u64,
    /// True when the record was cut at `max_record_size`.
    pub truncated: bool,
}

/// A splitter plus its buffer and offsets.
pub struct SplitRunner {
    splitter: Box<dyn Splitter>,
    options: SplitOptions,
    // implementation owned by the splitters work (see splitters/)
    #[allow(dead_code)]
    buf: Vec<u8>,
    #[allow(dead_code)]
    offset: u64,
}

impl SplitRunner {
    /// A runner for `splitter` starting at stream offset 0.
    pub fn new(splitter: Box<dyn Splitter>, options: SplitOptions) -> SplitRunner {
        SplitRunner { splitter, options, buf: Vec::new(), offset: 0 }
    }
}
