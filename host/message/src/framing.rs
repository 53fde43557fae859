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
    let header_len = header.encoded_len();
    if header_len > MAX_HEADER_SIZE {
        return Err(FramingError::HeaderTooBig { len: header_len });
    }
    out.reserve(HEADER_FRAMING_SIZE + header_len + msg_bytes.len());
    out.push(RECORD_SEPARATOR);
    out.push(header_len as u8);
    if header.encode(out).is_err() {
        unreachable!("prost encoding into a Vec<u8> never fails");
    }
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
