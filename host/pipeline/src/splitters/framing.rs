//! HekaFramingSplitter: finds Heka stream-framed records (`0x1E` header `0x1F`
//! message) with [`heka_message::unframe`] and yields each record's *message bytes*
//! (the protobuf message after the header), so the decoder gets a message it can
//! decode without unframing again. Garbage and damaged frames are skipped up to the
//! next `0x1E` with a warning, as Heka resynchronises.
//!
//! HMAC signer verification (`[x.signer.*]`) is not implemented yet.

use heka_message::{Unframed, unframe};

use crate::plugin::{SplitResult, Splitter};

/// Heka's `HekaFramingSplitter` (`use_message_bytes` is always true here).
#[derive(Debug, Clone)]
pub struct HekaFramingSplitter {
    max_message_size: usize,
}

impl HekaFramingSplitter {
    /// Frames whose message exceeds `max_message_size` are skipped as invalid.
    pub fn new(max_message_size: usize) -> HekaFramingSplitter {
        HekaFramingSplitter { max_message_size }
    }
}

impl Splitter for HekaFramingSplitter {
    fn find_record(&mut self, buf: &[u8], _eof: bool) -> SplitResult {
        match unframe(buf, self.max_message_size) {
            Unframed::Message {
                message, consumed, ..
            } => SplitResult::Record {
                start: consumed - message.len(),
                end: consumed,
                consumed,
            },
            Unframed::NeedMore => SplitResult::NeedMore,
            Unframed::Invalid { skip, error } => {
                tracing::warn!(skip, %error, "HekaFramingSplitter: skipping invalid framed data");
                SplitResult::Skip(skip.max(1))
            }
        }
    }

    fn uses_message_bytes(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::{SplitOptions, SplitRunner};
    use heka_message::frame_message;

    #[test]
    fn finds_frames_and_resyncs() {
        let mut stream = Vec::new();
        frame_message(b"first", 1000, &mut stream).unwrap();
        stream.extend_from_slice(b"garbage");
        frame_message(b"second", 1000, &mut stream).unwrap();
        let mut r = SplitRunner::new(
            Box::new(HekaFramingSplitter::new(1000)),
            SplitOptions::default(),
        );
        assert!(r.uses_message_bytes());
        let mut got = Vec::new();
        for chunk in stream.chunks(4) {
            r.push(chunk);
            while let Some(rec) = r.next_record() {
                got.push((rec.bytes.to_vec(), rec.end_offset));
            }
        }
        assert_eq!(
            got,
            vec![
                (b"first".to_vec(), 10),
                (b"second".to_vec(), stream.len() as u64)
            ]
        );
    }
}
