//! Heka's stream framing: `0x1E`, one byte header length N, N bytes of protobuf
//! [`Header`], `0x1F`, then `message_length` bytes of message.
//!
//! [`frame_message`] writes one record; [`unframe`] reads one from the front of a
//! buffer and tells the caller how many bytes to drop, so a reader (TCP input,
//! framed files, the journal) keeps its own buffer and never copies a message out.
//! A damaged record makes [`unframe`] return [`Unframed::Invalid`] with the number of
//! bytes up to the next `0x1E`, which is how Heka's splitter resynchronises.
//!
//! HMAC signing/verification (`hmac_*` header fields) is not done here yet: signed
//! headers are parsed and handed back in [`Unframed::Message`] so a caller can verify
//! them; nothing checks the digest.

use crate::Header;
use crate::codec::{SizeError, TopLevelTags, check_message_size};
use prost::Message as _;

/// The record separator that starts every frame.
pub const RECORD_SEPARATOR: u8 = 0x1E;
/// The unit separator between the header and the message.
pub const UNIT_SEPARATOR: u8 = 0x1F;
/// A header's length is one byte.
pub const MAX_HEADER_SIZE: usize = 255;
/// Bytes of framing around the header: `0x1E`, the length byte, `0x1F`.
pub const HEADER_FRAMING_SIZE: usize = 3;

/// Why a record could not be written or read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FramingError {
    /// The message is longer than `max_message_size`.
    #[error(transparent)]
    TooBig(#[from] SizeError),
    /// The encoded header does not fit the one-byte length.
    #[error("framing header too big: {len} > {MAX_HEADER_SIZE} bytes")]
    HeaderTooBig { len: usize },
    /// Bytes before the next `0x1E` that belong to no record.
    #[error("{len} bytes of garbage before the next record separator")]
    Garbage { len: usize },
    /// The byte after the header is not `0x1F`.
    #[error(
        "framing header of {header_len} bytes is not followed by the unit separator 0x1F (found {found:#04x})"
    )]
    MissingUnitSeparator { header_len: usize, found: u8 },
    /// The header bytes are not a protobuf `Header` with a `message_length`.
    #[error("invalid framing header ({header_len} bytes): {reason}")]
    BadHeader { header_len: usize, reason: String },
}

/// One step of reading a framed stream.
#[derive(Debug)]
pub enum Unframed<'a> {
    /// A whole record: its header, the message bytes (borrowed from the buffer) and
    /// the number of bytes the record took (drop them before the next call).
    Message {
        header: Header,
        message: &'a [u8],
        consumed: usize,
    },
    /// The buffer holds the start of a record but not all of it: read more.
    NeedMore,
    /// The front of the buffer is no valid record: drop `skip` bytes (up to the next
    /// `0x1E`, or everything) and try again.
    Invalid { skip: usize, error: FramingError },
}

/// Appends one framed record holding `msg_bytes` (an encoded message) to `out`.
pub fn frame_message(
    msg_bytes: &[u8],
    max_message_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), FramingError> {
    check_message_size(msg_bytes.len(), max_message_size)?;
    let header = Header {
        // Fits: check_message_size bounded it, and a bigger max would be refused
        // here rather than truncated.
        message_length: u32::try_from(msg_bytes.len()).map_err(|_| SizeError {
            len: msg_bytes.len(),
            max: u32::MAX as usize,
        })?,
        ..Default::default()
    };
    frame_with_header(&header, msg_bytes, max_message_size, out)
}

/// Appends one framed record with a caller-built header (e.g. carrying HMAC fields);
/// `header.message_length` is overwritten with the real length.
pub fn frame_with_header(
    header: &Header,
    msg_bytes: &[u8],
    max_message_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), FramingError> {
    check_message_size(msg_bytes.len(), max_message_size)?;
    let mut header = header.clone();
    header.message_length = u32::try_from(msg_bytes.len()).map_err(|_| SizeError {
        len: msg_bytes.len(),
        max: u32::MAX as usize,
    })?;
    let header_len = crate::codec::write::header_len(&header);
    if header_len > MAX_HEADER_SIZE {
        return Err(FramingError::HeaderTooBig { len: header_len });
    }
    out.reserve(HEADER_FRAMING_SIZE + header_len + msg_bytes.len());
    out.push(RECORD_SEPARATOR);
    out.push(header_len as u8);
    crate::codec::write::encode_header(&header, out);
    out.push(UNIT_SEPARATOR);
    out.extend_from_slice(msg_bytes);
    Ok(())
}

/// Reads one record from the front of `buf`.
pub fn unframe(buf: &[u8], max_message_size: usize) -> Unframed<'_> {
    if buf.is_empty() {
        return Unframed::NeedMore;
    }
    if buf[0] != RECORD_SEPARATOR {
        let skip = next_separator(buf, 0);
        return Unframed::Invalid {
            skip,
            error: FramingError::Garbage { len: skip },
        };
    }
    let Some(&len_byte) = buf.get(1) else {
        return Unframed::NeedMore;
    };
    let header_len = usize::from(len_byte);
    let header_end = 2 + header_len;
    if buf.len() <= header_end {
        return Unframed::NeedMore;
    }
    let invalid = |error| Unframed::Invalid {
        skip: next_separator(buf, 1),
        error,
    };
    if buf[header_end] != UNIT_SEPARATOR {
        return invalid(FramingError::MissingUnitSeparator {
            header_len,
            found: buf[header_end],
        });
    }
    let header_bytes = &buf[2..header_end];
    let header = match Header::decode(header_bytes) {
        Ok(h) => h,
        Err(e) => {
            return invalid(FramingError::BadHeader {
                header_len,
                reason: e.to_string(),
            });
        }
    };
    if !TopLevelTags(header_bytes).any(|tag| tag == 1) {
        return invalid(FramingError::BadHeader {
            header_len,
            reason: "required field `message_length` is missing".into(),
        });
    }
    let message_len = header.message_length as usize;
    if let Err(e) = check_message_size(message_len, max_message_size) {
        return invalid(e.into());
    }
    let start = header_end + 1;
    let end = start + message_len;
    if buf.len() < end {
        return Unframed::NeedMore;
    }
    Unframed::Message {
        header,
        message: &buf[start..end],
        consumed: end,
    }
}

/// Index of the first `0x1E` at or after `from`, or `buf.len()` when there is none.
fn next_separator(buf: &[u8], from: usize) -> usize {
    buf[from..]
        .iter()
        .position(|&b| b == RECORD_SEPARATOR)
        .map_or(buf.len(), |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, decode_message, encode_message};

    fn encoded(payload: &str) -> Vec<u8> {
        let m = Message {
            uuid: vec![7; 16],
            timestamp: 1,
            payload: Some(payload.into()),
            ..Default::default()
        };
        let mut b = Vec::new();
        encode_message(&m, &mut b);
        b
    }

    fn expect_message(buf: &[u8]) -> (&[u8], usize) {
        match unframe(buf, 1024) {
            Unframed::Message {
                header,
                message,
                consumed,
            } => {
                assert_eq!(header.message_length as usize, message.len());
                (message, consumed)
            }
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn exact_frame_bytes() {
        let mut out = Vec::new();
        frame_message(b"abc", 1024, &mut out).unwrap();
        // 0x1E, header length 2, Header{message_length: 3} = 08 03, 0x1F, message
        assert_eq!(out, [0x1e, 0x02, 0x08, 0x03, 0x1f, b'a', b'b', b'c']);
    }

    #[test]
    fn round_trip_several_frames_in_one_buffer() {
        let msgs = [encoded("one"), encoded(""), encoded(&"x".repeat(300))];
        let mut buf = Vec::new();
        for m in &msgs {
            frame_message(m, 1024, &mut buf).unwrap();
        }
        let mut rest = &buf[..];
        for m in &msgs {
            let (got, consumed) = expect_message(rest);
            assert_eq!(got, &m[..]);
            assert!(decode_message(got).is_ok());
            rest = &rest[consumed..];
        }
        assert!(rest.is_empty());
        assert!(matches!(unframe(rest, 1024), Unframed::NeedMore));
    }

    #[test]
    fn every_split_point_needs_more_until_complete() {
        let mut buf = Vec::new();
        frame_message(&encoded("split me"), 1024, &mut buf).unwrap();
        for cut in 0..buf.len() {
            assert!(
                matches!(unframe(&buf[..cut], 1024), Unframed::NeedMore),
                "cut at {cut}"
            );
        }
        assert_eq!(expect_message(&buf).1, buf.len());
    }

    #[test]
    fn garbage_between_frames_is_skipped_to_the_next_separator() {
        let mut buf = b"junk".to_vec();
        frame_message(b"first", 1024, &mut buf).unwrap();
        buf.extend_from_slice(b"\x00more junk");
        frame_message(b"second", 1024, &mut buf).unwrap();

        let mut rest = &buf[..];
        let mut got = Vec::new();
        let mut skipped = 0;
        while !rest.is_empty() {
            match unframe(rest, 1024) {
                Unframed::Message {
                    message, consumed, ..
                } => {
                    got.push(message.to_vec());
                    rest = &rest[consumed..];
                }
                Unframed::Invalid { skip, error } => {
                    assert!(skip > 0);
                    assert!(matches!(error, FramingError::Garbage { .. }), "{error}");
                    skipped += skip;
                    rest = &rest[skip..];
                }
                Unframed::NeedMore => panic!("stuck"),
            }
        }
        assert_eq!(got, [b"first".to_vec(), b"second".to_vec()]);
        assert_eq!(skipped, 4 + 10);
    }

    #[test]
    fn trailing_garbage_without_separator_is_skipped_entirely() {
        match unframe(b"no separator here", 1024) {
            Unframed::Invalid { skip, .. } => assert_eq!(skip, 17),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_header_resyncs_at_next_record() {
        // A separator with a header that is not protobuf, then a good frame.
        let mut buf = vec![0x1e, 0x02, 0xff, 0xff, 0x1f];
        let good_at = buf.len();
        frame_message(b"ok", 1024, &mut buf).unwrap();
        match unframe(&buf, 1024) {
            Unframed::Invalid { skip, error } => {
                assert_eq!(skip, good_at);
                assert!(matches!(error, FramingError::BadHeader { .. }), "{error}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(expect_message(&buf[good_at..]).0, b"ok");
    }

    #[test]
    fn missing_unit_separator_and_missing_length_are_invalid() {
        let buf = [0x1e, 0x02, 0x08, 0x03, 0x00, b'a', b'b', b'c'];
        assert!(matches!(
            unframe(&buf, 1024),
            Unframed::Invalid {
                skip: 8,
                error: FramingError::MissingUnitSeparator { found: 0, .. }
            }
        ));
        // Header holding only hmac_signer (tag 4), no message_length.
        let buf = [0x1e, 0x03, 0x22, 0x01, b's', 0x1f];
        match unframe(&buf, 1024) {
            Unframed::Invalid { error, .. } => {
                assert!(error.to_string().contains("message_length"), "{error}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn length_over_max_is_invalid_without_waiting_for_the_body() {
        let mut buf = Vec::new();
        frame_message(&[0u8; 100], 1024, &mut buf).unwrap();
        buf.truncate(10); // the body has not arrived, but the header already says too big
        match unframe(&buf, 50) {
            Unframed::Invalid { skip, error } => {
                assert_eq!(skip, 10);
                assert_eq!(
                    error.to_string(),
                    "message too big: 100 > max_message_size 50"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn framing_refuses_messages_over_max() {
        let mut out = Vec::new();
        let err = frame_message(&[0u8; 11], 10, &mut out).unwrap_err();
        assert_eq!(err.to_string(), "message too big: 11 > max_message_size 10");
        assert!(out.is_empty());
        frame_message(&[0u8; 10], 10, &mut out).unwrap();
    }

    #[test]
    fn signed_header_round_trips() {
        let header = Header {
            message_length: 0,
            hmac_hash_function: Some(crate::HmacHashFunction::Sha1 as i32),
            hmac_signer: Some("ops".into()),
            hmac_key_version: Some(2),
            hmac: Some(vec![0xab; 20]),
        };
        let mut buf = Vec::new();
        frame_with_header(&header, b"body", 1024, &mut buf).unwrap();
        match unframe(&buf, 1024) {
            Unframed::Message {
                header: h, message, ..
            } => {
                assert_eq!(message, b"body");
                assert_eq!(h.message_length, 4);
                assert_eq!(h.hmac_signer(), "ops");
                assert_eq!(h.hmac.as_deref(), Some(&[0xab; 20][..]));
            }
            other => panic!("{other:?}"),
        }
        let err = frame_with_header(
            &Header {
                hmac_signer: Some("s".repeat(300)),
                ..header
            },
            b"body",
            1024,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(err, FramingError::HeaderTooBig { .. }));
    }
}
