//! NullSplitter: every chunk handed to the runner is one record (a UDP datagram, a
//! whole read). Heka gives it a 64 KiB buffer.

use crate::plugin::{SplitResult, Splitter};

/// Heka's `NullSplitter`: the whole buffer is one record.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSplitter;

impl NullSplitter {
    /// Heka's `min_buffer_size` default for this splitter.
    pub const MIN_BUFFER_SIZE: usize = 64 * 1024;
}

impl Splitter for NullSplitter {
    fn find_record(&mut self, buf: &[u8], _eof: bool) -> SplitResult {
        if buf.is_empty() {
            return SplitResult::NeedMore;
        }
        SplitResult::Record {
            start: 0,
            end: buf.len(),
            consumed: buf.len(),
        }
    }
}
