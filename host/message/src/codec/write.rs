//! The protobuf writer: [`Message`] and framing [`Header`] into Heka's wire bytes,
//! in one pass with the schema spelled out.
//!
//! Why not prost's derived `encode`: it walks the message once to compute every
//! nested length and again to write, through generic field handlers; every message
//! the host hands to a sandbox encoder or decoder, every buffered record and every
//! TcpOutput frame crosses here, so this is per-message cost. The bytes are exactly
//! prost's, which are gogoproto's (Heka's): tag order, `required` uuid and timestamp
//! always written, optional headers only when set, repeated numerics packed,
//! negative int32 sign-extended to 10 bytes. prost stays the reference: the
//! round-trip property test (`tests/roundtrip_proptest.rs`) compares the two.
//!
//! The filter-batch format (`crate::batch`) writes its Fields with [`push_field`].

use crate::{Field, Header, Message};

#[inline]
pub(crate) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
pub(crate) fn varint_len(v: u64) -> usize {
    // Bits needed, in groups of 7 (v | 1 so that 0 takes one byte).
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[inline]
fn bytes(out: &mut Vec<u8>, key: u8, b: &[u8]) {
    out.push(key);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

#[inline]
fn opt_bytes(out: &mut Vec<u8>, key: u8, s: Option<&[u8]>) {
    if let Some(s) = s {
        bytes(out, key, s);
    }
}

/// A text header as the bytes it is written as.
#[inline]
pub(crate) fn text(s: &Option<String>) -> Option<&[u8]> {
    s.as_deref().map(str::as_bytes)
}

#[inline]
fn opt_i32(out: &mut Vec<u8>, key: u8, v: Option<i32>) {
    if let Some(v) = v {
        out.push(key);
        varint(out, i64::from(v) as u64);
    }
}

#[inline]
fn opt_u32(out: &mut Vec<u8>, key: u8, v: Option<u32>) {
    if let Some(v) = v {
        out.push(key);
        varint(out, u64::from(v));
    }
}

fn bytes_len(n: usize) -> usize {
    1 + varint_len(n as u64) + n
}

fn opt_len(b: Option<&[u8]>) -> usize {
    b.map_or(0, |b| bytes_len(b.len()))
}

fn opt_i32_len(v: Option<i32>) -> usize {
    v.map_or(0, |v| 1 + varint_len(i64::from(v) as u64))
}

fn packed_integers_len(f: &Field) -> usize {
    f.value_integer.iter().map(|&i| varint_len(i as u64)).sum()
}

/// The encoded length of `f`'s body (without its key and length).
fn field_len(f: &Field) -> usize {
    let mut n = bytes_len(f.name.len());
    n += opt_i32_len(f.value_type);
    n += opt_len(text(&f.representation));
    n += f
        .value_string
        .iter()
        .map(|s| bytes_len(s.len()))
        .sum::<usize>();
    n += f
        .value_bytes
        .iter()
        .map(|b| bytes_len(b.len()))
        .sum::<usize>();
    if !f.value_integer.is_empty() {
        n += bytes_len(packed_integers_len(f));
    }
    if !f.value_double.is_empty() {
        n += bytes_len(8 * f.value_double.len());
    }
    if !f.value_bool.is_empty() {
        n += bytes_len(f.value_bool.len());
    }
    n
}

/// Appends `f` as a `Message` tag-10 entry (key, length, body).
pub(crate) fn push_field(out: &mut Vec<u8>, f: &Field) {
    out.push(0x52);
    varint(out, field_len(f) as u64);
    bytes(out, 0x0a, f.name.as_bytes());
    opt_i32(out, 0x10, f.value_type);
    opt_bytes(out, 0x1a, text(&f.representation));
    for s in &f.value_string {
        bytes(out, 0x22, s);
    }
    for b in &f.value_bytes {
        bytes(out, 0x2a, b);
    }
    if !f.value_integer.is_empty() {
        out.push(0x32);
        varint(out, packed_integers_len(f) as u64);
        for &i in &f.value_integer {
            varint(out, i as u64);
        }
    }
    if !f.value_double.is_empty() {
        out.push(0x3a);
        varint(out, 8 * f.value_double.len() as u64);
        for d in &f.value_double {
            out.extend_from_slice(&d.to_le_bytes());
        }
    }
    if !f.value_bool.is_empty() {
        out.push(0x42);
        varint(out, f.value_bool.len() as u64);
        out.extend(f.value_bool.iter().map(|&b| u8::from(b)));
    }
}

/// Appends the protobuf encoding of `msg` to `out`.
pub fn encode_message(msg: &Message, out: &mut Vec<u8>) {
    // Headers: 2 keys + 10-byte varints at most, plus the strings.
    out.reserve(64 + msg.payload().len());
    bytes(out, 0x0a, &msg.uuid);
    out.push(0x10);
    varint(out, msg.timestamp as u64);
    opt_bytes(out, 0x1a, text(&msg.r#type));
    opt_bytes(out, 0x22, text(&msg.logger));
    opt_i32(out, 0x28, msg.severity);
    opt_bytes(out, 0x32, msg.payload.as_deref());
    opt_bytes(out, 0x3a, text(&msg.env_version));
    opt_i32(out, 0x40, msg.pid);
    opt_bytes(out, 0x4a, text(&msg.hostname));
    for f in &msg.fields {
        push_field(out, f);
    }
}

/// The number of bytes [`encode_message`] appends for `msg`.
pub fn encoded_len(msg: &Message) -> usize {
    let mut n = bytes_len(msg.uuid.len()) + 1 + varint_len(msg.timestamp as u64);
    n += opt_len(text(&msg.r#type)) + opt_len(text(&msg.logger));
    n += opt_i32_len(msg.severity) + opt_len(msg.payload.as_deref());
    n += opt_len(text(&msg.env_version)) + opt_i32_len(msg.pid);
    n += opt_len(text(&msg.hostname));
    n + msg
        .fields
        .iter()
        .map(|f| bytes_len(field_len(f)))
        .sum::<usize>()
}

/// Appends the protobuf encoding of a stream-framing `header` to `out`.
pub(crate) fn encode_header(header: &Header, out: &mut Vec<u8>) {
    out.push(0x08);
    varint(out, u64::from(header.message_length));
    opt_i32(out, 0x18, header.hmac_hash_function);
    opt_bytes(out, 0x22, text(&header.hmac_signer));
    opt_u32(out, 0x28, header.hmac_key_version);
    opt_bytes(out, 0x32, header.hmac.as_deref());
}

/// The number of bytes [`encode_header`] appends for `header`.
pub(crate) fn header_len(header: &Header) -> usize {
    1 + varint_len(u64::from(header.message_length))
        + opt_i32_len(header.hmac_hash_function)
        + opt_len(text(&header.hmac_signer))
        + header
            .hmac_key_version
            .map_or(0, |v| 1 + varint_len(u64::from(v)))
        + opt_len(header.hmac.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use prost::Message as _;

    #[test]
    fn same_bytes_and_lengths_as_prost() {
        let mut full = Message {
            uuid: (0..16).collect(),
            timestamp: -5,
            r#type: Some("t".into()),
            logger: Some(String::new()),
            severity: Some(-1),
            payload: Some("x".repeat(300).into()),
            env_version: Some("0.8".into()),
            pid: Some(i32::MAX),
            hostname: Some("h".into()),
            fields: vec![],
        };
        full.add_field("s", Value::String("a".into()), "r");
        full.fields[0].value_string.push("b".repeat(200).into());
        full.add_field("b", Value::Bytes(vec![0, 255]), "");
        full.add_field("i", Value::Integer(-7), "");
        full.fields[2]
            .value_integer
            .extend([0, 127, 128, 1 << 40, i64::MIN]);
        full.add_field("d", Value::Double(1.5), "");
        full.add_field("x", Value::Bool(true), "");
        full.fields.push(Field {
            name: "empty".into(),
            ..Default::default()
        });
        for m in [full, Message::default()] {
            let mut got = Vec::new();
            encode_message(&m, &mut got);
            assert_eq!(got, m.encode_to_vec());
            assert_eq!(encoded_len(&m), got.len());
        }
        for v in [0u64, 1, 127, 128, 16383, 16384, u64::MAX] {
            let mut b = Vec::new();
            varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "{v}");
        }
    }

    #[test]
    fn headers_same_bytes_as_prost() {
        let signed = Header {
            message_length: 70_000,
            hmac_hash_function: Some(1),
            hmac_signer: Some("ops".into()),
            hmac_key_version: Some(3),
            hmac: Some(vec![7; 20]),
        };
        for h in [signed, Header::default()] {
            let mut got = Vec::new();
            encode_header(&h, &mut got);
            assert_eq!(got, h.encode_to_vec());
            assert_eq!(header_len(&h), got.len());
        }
    }
}
