//! HekaFramingSplitter: finds Heka stream-framed records (`0x1E` header `0x1F`
//! message) with [`heka_message::unframe`] and yields each record's *message bytes*
//! (the protobuf message after the header), so the decoder gets a message it can
//! decode without unframing again. Garbage and damaged frames are skipped up to the
//! next `0x1E` with a warning, as Heka resynchronises.
//!
//! Signatures (Heka's `[x.signer.<name>_<version>]`): built with
//! [`HekaFramingSplitter::verifying`], every signed record is checked
//! ([`SignerKeys::verify`]); one that fails (unknown signer or key version, wrong
//! digest) is skipped with a warning naming the signer and why, as Heka dropped it,
//! and the verified signer's name goes with the record ([`Splitter::signer`]) to the
//! pack, for `message_signer`. Unsigned records pass with no signer. Built with
//! [`HekaFramingSplitter::new`] nothing is checked (Heka's `skip_authentication`).

use std::sync::Arc;

use heka_message::{SignerKeys, Unframed, unframe};

use crate::plugin::{SplitResult, Splitter};

/// Heka's `HekaFramingSplitter` (`use_message_bytes` is always true here).
#[derive(Debug, Clone)]
pub struct HekaFramingSplitter {
    max_message_size: usize,
    /// `None`: signatures are not checked.
    keys: Option<Arc<SignerKeys>>,
    /// The verified signer of the record last found.
    signer: Option<Arc<str>>,
}

impl HekaFramingSplitter {
    /// Frames whose message exceeds `max_message_size` are skipped as invalid;
    /// signatures are not checked.
    pub fn new(max_message_size: usize) -> HekaFramingSplitter {
        HekaFramingSplitter {
            max_message_size,
            keys: None,
            signer: None,
        }
    }

    /// As [`HekaFramingSplitter::new`], and signed records must verify with `keys`
    /// (with no keys, every signed record is rejected: Heka's rule).
    pub fn verifying(max_message_size: usize, keys: Arc<SignerKeys>) -> HekaFramingSplitter {
        HekaFramingSplitter {
            max_message_size,
            keys: Some(keys),
            signer: None,
        }
    }
}

impl Splitter for HekaFramingSplitter {
    fn find_record(&mut self, buf: &[u8], _eof: bool) -> SplitResult {
        match unframe(buf, self.max_message_size) {
            Unframed::Message {
                header,
                message,
                consumed,
            } => {
                self.signer = None;
                if let Some(keys) = &self.keys {
                    match keys.verify(&header, message) {
                        Ok(signer) => self.signer = signer,
                        Err(error) => {
                            tracing::warn!(%error, "HekaFramingSplitter: record rejected");
                            return SplitResult::Skip(consumed);
                        }
                    }
                }
                SplitResult::Record {
                    start: consumed - message.len(),
                    end: consumed,
                    consumed,
                }
            }
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

    fn signer(&self) -> Option<Arc<str>> {
        self.signer.clone()
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

    #[test]
    fn verifying_drops_what_does_not_verify_and_names_the_signer_of_what_does() {
        use heka_message::{HmacHashFunction, SigningKey};
        let mut keys = SignerKeys::default();
        keys.insert("ops_1", b"key").unwrap();
        let mut stream = Vec::new();
        SigningKey::new("ops", 1, HmacHashFunction::Sha1, b"key")
            .frame(b"good", 1000, &mut stream)
            .unwrap();
        SigningKey::new("ops", 1, HmacHashFunction::Sha1, b"wrong key")
            .frame(b"forged", 1000, &mut stream)
            .unwrap();
        SigningKey::new("dev", 0, HmacHashFunction::Md5, b"key")
            .frame(b"stranger", 1000, &mut stream)
            .unwrap();
        frame_message(b"plain", 1000, &mut stream).unwrap();
        let split = |splitter: HekaFramingSplitter| {
            let mut r = SplitRunner::new(Box::new(splitter), SplitOptions::default());
            r.push(&stream);
            let mut got = Vec::new();
            while let Some(rec) = r.next_record() {
                got.push((String::from_utf8_lossy(rec.bytes).into_owned(), rec.signer));
            }
            assert_eq!(r.offset(), stream.len() as u64, "everything consumed");
            got
        };
        let ops: Option<Arc<str>> = Some(Arc::from("ops"));
        assert_eq!(
            split(HekaFramingSplitter::verifying(1000, Arc::new(keys))),
            vec![("good".to_owned(), ops), ("plain".to_owned(), None)]
        );
        // skip_authentication: everything passes, nobody is a verified signer.
        let all = split(HekaFramingSplitter::new(1000));
        assert_eq!(all.len(), 4);
        assert!(all.iter().all(|(_, signer)| signer.is_none()));
    }
}
