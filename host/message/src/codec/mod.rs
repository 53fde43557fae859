//! Protobuf encode/decode of [`Message`], byte-compatible with Heka's `message.proto`,
//! and the `max_message_size` rule. One home for the wire format:
//! - `write`: the one writer ([`encode_message`], framing headers, batch Fields);
//! - `read`: the pooled reader the guest SDK decodes with ([`decode_into`]);
//! - here: [`decode_message`], prost's derived decoder (the host decodes a message
//!   once and owns it), with the `required` check.
//!
//! The wire format is `prost`'s encoding of the derive attributes in `message.rs`:
//! fields in tag order, `required` uuid/timestamp always written, repeated numerics
//! packed (as Heka's `packed=true`), optional headers written only when set. That is
//! what Heka's gogoproto marshaller produces, so bytes written here are read by Heka
//! and the other way round. `prost` was chosen because it is the maintained Rust
//! protobuf crate whose derive lets the schema live in reviewed Rust source (no build
//! script, no `protoc`), and it builds for `wasm32` without I/O.
//!
//! Two deliberate differences from Heka's generated gogoproto code, both invisible for
//! the messages Heka itself produces:
//! - Decoding rejects bytes without a `uuid` or a `timestamp` (the fields
//!   `message.proto` declares `required`). Heka's hand-rolled `Unmarshal` did not check
//!   them, but every Heka producer (client, inputs, sandbox injection) sets both, and
//!   the check keeps arbitrary bytes from passing for an empty message.
//! - A negative `severity` or `pid` is written as a 10-byte sign-extended varint (the
//!   protobuf rule for `int32`, which prost follows); Heka wrote 5 bytes
//!   (`uint64(uint32(v))`). Either form decodes to the same value on both sides.

pub(crate) mod read;
pub(crate) mod write;

use crate::Message;
use prost::Message as _;

pub use read::{ReadError, Spare, decode_into};
pub use write::{encode_message, encoded_len};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Field, Value, ValueType};

    fn uuid() -> Vec<u8> {
        (0u8..16).collect()
    }

    /// A message with every header set and one field of each type, including a
    /// repeated name, multi-value arrays and representations.
    fn full_message() -> Message {
        let mut m = Message {
            uuid: uuid(),
            timestamp: 1_700_000_000_123_456_789,
            r#type: Some("nginx.access".into()),
            logger: Some("tail".into()),
            severity: Some(3),
            payload: Some("GET / HTTP/1.1 200".into()),
            env_version: Some("0.8".into()),
            pid: Some(4242),
            hostname: Some("web-1".into()),
            fields: Vec::new(),
        };
        m.add_field("path", Value::String("/index.html".into()), "uri");
        m.add_field("raw", Value::Bytes(vec![0, 0xff, 0x1e, 0x1f]), "");
        m.add_field("status", Value::Integer(200), "");
        m.add_field("bytes", Value::Integer(-1), "B");
        m.add_field("ms", Value::Double(12.5), "ms");
        m.add_field("cached", Value::Bool(true), "");
        // Two fields with the same name (Fields[path][1]).
        m.add_field("path", Value::String("/second".into()), "");
        let mut arr = Field::new("codes", Value::Integer(1), "count");
        arr.push(Value::Integer(2));
        arr.push(Value::Integer(i64::MIN));
        m.fields.push(arr);
        let mut d = Field::new("ratios", Value::Double(-0.0), "");
        d.push(Value::Double(f64::INFINITY));
        d.push(Value::Double(1e-300));
        m.fields.push(d);
        let mut b = Field::new("flags", Value::Bool(false), "");
        b.push(Value::Bool(true));
        m.fields.push(b);
        let mut s = Field::new("tags", Value::String(Vec::new()), "");
        s.push(Value::String("ünïcödé".into()));
        m.fields.push(s);
        let mut y = Field::new("blobs", Value::Bytes(Vec::new()), "");
        y.push(Value::Bytes(vec![1, 2, 3]));
        m.fields.push(y);
        m
    }

    #[test]
    fn round_trip_every_field_type() {
        let m = full_message();
        let mut buf = Vec::new();
        encode_message(&m, &mut buf);
        assert_eq!(buf.len(), encoded_len(&m));
        let back = decode_message(&buf).unwrap();
        assert_eq!(back, m);
        assert_eq!(
            back.field_value("path", 1, 0),
            Some(crate::FieldValue::String(b"/second"))
        );
        assert_eq!(
            back.field_value("codes", 0, 2),
            Some(crate::FieldValue::Integer(i64::MIN))
        );
        assert_eq!(back.field("raw", 0).unwrap().value_type(), ValueType::Bytes);
        assert_eq!(back.field("bytes", 0).unwrap().representation(), "B");
        assert_eq!(back.severity(), 3);
    }

    #[test]
    fn round_trip_minimal_message_keeps_unset_headers_unset() {
        let m = Message {
            uuid: uuid(),
            timestamp: 0,
            ..Default::default()
        };
        let mut buf = Vec::new();
        encode_message(&m, &mut buf);
        let back = decode_message(&buf).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.severity, None);
        assert_eq!(back.severity(), 7, "proto default");
        assert_eq!(back.type_(), "");
        assert_eq!(back.pid(), 0);
    }

    /// The exact bytes, assembled by hand from `message.proto`: key = tag << 3 | wire
    /// type (0 varint, 1 fixed64, 2 length-delimited), fields in tag order, repeated
    /// numerics packed into one length-delimited record.
    #[test]
    fn wire_bytes_match_the_proto_spec() {
        let mut m = Message {
            uuid: uuid(),
            timestamp: 300,
            r#type: Some("t".into()),
            severity: Some(6),
            ..Default::default()
        };
        let mut f = Field::new("n", Value::Integer(1), "");
        f.representation = None;
        f.push(Value::Integer(2));
        m.fields.push(f);
        m.add_field("d", Value::Double(1.0), "u");
        m.add_field("b", Value::Bool(true), "");
        m.fields[2].representation = None;

        let mut want = vec![0x0a, 0x10]; // uuid: tag 1 LEN, 16 bytes
        want.extend(0u8..16);
        want.extend([0x10, 0xac, 0x02]); // timestamp: tag 2 varint, 300 = 0xac 0x02
        want.extend([0x1a, 0x01, b't']); // type: tag 3 LEN
        want.extend([0x28, 0x06]); // severity: tag 5 varint
        // fields[0]: tag 10 LEN; name (tag 1), value_type INTEGER=2 (tag 2),
        // value_integer packed (tag 6 LEN) [1, 2]
        want.extend([
            0x52, 0x09, 0x0a, 0x01, b'n', 0x10, 0x02, 0x32, 0x02, 0x01, 0x02,
        ]);
        // fields[1]: name "d", value_type DOUBLE=3, representation "u" (tag 3),
        // value_double packed (tag 7 LEN) [1.0 as little-endian f64]
        want.extend([0x52, 0x12, 0x0a, 0x01, b'd', 0x10, 0x03, 0x1a, 0x01, b'u']);
        want.extend([0x3a, 0x08, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
        // fields[2]: name "b", value_type BOOL=4, value_bool packed (tag 8 LEN) [true]
        want.extend([0x52, 0x08, 0x0a, 0x01, b'b', 0x10, 0x04, 0x42, 0x01, 0x01]);

        let mut got = Vec::new();
        encode_message(&m, &mut got);
        assert_eq!(got, want);
        assert_eq!(decode_message(&want).unwrap(), m);
    }

    /// Heka's decoder also accepts unpacked repeated numerics (proto2 parsers must).
    #[test]
    fn decodes_unpacked_repeated_integers() {
        let mut bytes = vec![0x0a, 0x00, 0x10, 0x01];
        // field: name "x", value_type INTEGER, value_integer 5 and 7 unpacked (tag 6 varint = 0x30)
        bytes.extend([
            0x52, 0x09, 0x0a, 0x01, b'x', 0x10, 0x02, 0x30, 0x05, 0x30, 0x07,
        ]);
        let m = decode_message(&bytes).unwrap();
        assert_eq!(m.fields[0].value_integer, vec![5, 7]);
    }

    /// Heka wrote a negative int32 as a 5-byte varint (`uint64(uint32(v))`); it must
    /// still read back as the negative value.
    #[test]
    fn decodes_hekas_five_byte_negative_severity() {
        let bytes = [0x0a, 0x00, 0x10, 0x00, 0x28, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(decode_message(&bytes).unwrap().severity(), -1);
        let m = Message {
            severity: Some(-1),
            ..Default::default()
        };
        let mut ours = Vec::new();
        encode_message(&m, &mut ours);
        assert_eq!(ours.len(), 4 + 1 + 10, "prost writes the 10-byte form");
        assert_eq!(decode_message(&ours).unwrap().severity(), -1);
    }

    #[test]
    fn missing_required_fields_are_errors() {
        // timestamp only
        let err = decode_message(&[0x10, 0x01]).unwrap_err();
        assert!(err.to_string().contains("required field `uuid`"), "{err}");
        // uuid only
        let err = decode_message(&[0x0a, 0x00]).unwrap_err();
        assert!(err.to_string().contains("`timestamp`"), "{err}");
        // empty input
        assert!(decode_message(&[]).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &[0xff_u8][..],
            &[0x0a, 0x20, 1, 2],
            &[0x52, 0x05, 0x0a],
            &[0x0b],
        ] {
            let err = decode_message(bytes).unwrap_err();
            assert!(
                err.to_string().contains("invalid protobuf message"),
                "{err}"
            );
        }
    }

    #[test]
    fn size_check_names_both_sizes() {
        assert!(check_message_size(65536, DEFAULT_MAX_MESSAGE_SIZE).is_ok());
        let err = check_message_size(65537, DEFAULT_MAX_MESSAGE_SIZE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "message too big: 65537 > max_message_size 65536"
        );
    }
}
