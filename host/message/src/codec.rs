//! Protobuf encode/decode of [`Message`], byte-compatible with Heka's `message.proto`,
//! and the `max_message_size` rule.
//!
//! The wire format is `prost`'s encoding of the derive attributes in `message.rs`:
//! fields in tag order, `required` uuid/timestamp always written, repeated numerics
//! packed (as Heka's `packed=true`), optional headers written only when set. That is
//! what Heka's gogoproto marshaller produces, so bytes written here are read by Heka
//! and the other way round. `prost` was chosen because it is the maintained Rust
//! protobuf crate whose derive lets the schema live in reviewed Rust source (no build
//! script, no `protoc`), and it builds for `wasm32` without I/O.
//!
//! Decoding checks what prost leaves to the caller: Heka (gogoproto) rejects a message
//! whose `required` uuid or timestamp is absent, and so do we.

use crate::Message;
use prost::Message as _;

/// Heka's default `max_message_size` (64 KiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 65536;

/// Why bytes could not be decoded as a Heka message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a well-formed protobuf `Message`.
    #[error("invalid protobuf message ({len} bytes): {source}")]
    Protobuf {
        len: usize,
        #[source]
        source: prost::DecodeError,
    },
    /// A field `message.proto` declares `required` is absent.
    #[error("invalid protobuf message ({len} bytes): required field `{field}` is missing")]
    MissingRequired { len: usize, field: &'static str },
}

/// A message longer than `max_message_size`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message too big: {len} > max_message_size {max}")]
pub struct SizeError {
    /// The length of the message, in bytes.
    pub len: usize,
    /// The configured limit.
    pub max: usize,
}

/// Appends the protobuf encoding of `msg` to `out`.
pub fn encode_message(msg: &Message, out: &mut Vec<u8>) {
    out.reserve(msg.encoded_len());
    // Encoding into a Vec cannot run out of space (it grows), so the only error
    // prost can return is impossible here.
    if msg.encode(out).is_err() {
        unreachable!("prost encoding into a Vec<u8> never fails");
    }
}

/// The number of bytes [`encode_message`] appends for `msg`.
pub fn encoded_len(msg: &Message) -> usize {
    msg.encoded_len()
}

/// Decodes one protobuf `Message` (no framing) from `bytes`.
pub fn decode_message(bytes: &[u8]) -> Result<Message, DecodeError> {
    let msg = Message::decode(bytes).map_err(|source| DecodeError::Protobuf {
        len: bytes.len(),
        source,
    })?;
    // prost fills absent `required` scalars with their defaults; only a scan of the
    // top-level tags tells whether they were on the wire.
    let (uuid, timestamp) = required_present(bytes);
    if !uuid {
        return Err(DecodeError::MissingRequired {
            len: bytes.len(),
            field: "uuid",
        });
    }
    if !timestamp {
        return Err(DecodeError::MissingRequired {
            len: bytes.len(),
            field: "timestamp",
        });
    }
    Ok(msg)
}

/// Fails with [`SizeError`] when `len > max` (Heka's rule: exactly `max` is allowed).
pub fn check_message_size(len: usize, max: usize) -> Result<(), SizeError> {
    if len > max {
        Err(SizeError { len, max })
    } else {
        Ok(())
    }
}

/// Whether tags 1 (uuid) and 2 (timestamp) occur at the top level of `bytes`.
fn required_present(bytes: &[u8]) -> (bool, bool) {
    let (mut uuid, mut timestamp) = (false, false);
    for tag in TopLevelTags(bytes) {
        match tag {
            1 => uuid = true,
            2 => timestamp = true,
            _ => {}
        }
    }
    (uuid, timestamp)
}

/// The field numbers at the top level of a protobuf encoding, in wire order. Stops
/// at the first malformed key or length (callers only use it on bytes prost has
/// already accepted, or to look for one tag, where stopping means "absent").
pub(crate) struct TopLevelTags<'a>(pub(crate) &'a [u8]);

impl Iterator for TopLevelTags<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let (key, n) = read_varint(self.0)?;
        let rest = &self.0[n..];
        let skip = match key & 7 {
            0 => read_varint(rest)?.1,
            1 => 8,
            2 => {
                let (len, n) = read_varint(rest)?;
                n.checked_add(usize::try_from(len).ok()?)?
            }
            5 => 4,
            _ => return None, // groups are not in Heka's schema
        };
        if skip > rest.len() {
            self.0 = &[];
            return None;
        }
        self.0 = &rest[skip..];
        Some(key >> 3)
    }
}

/// Reads a base-128 varint; returns the value and the number of bytes it used.
fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}
