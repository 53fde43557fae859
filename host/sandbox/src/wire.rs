//! How the host writes the messages it hands to guests.
//!
//! Filters: [`push_filter_entry`], the batch format of `heka.wit`'s `process-batch`
//! (fixed offsets, repeated headers not resent). Encoders and decoders: [`encode`],
//! protobuf in one pass with the schema spelled out (`heka_message::encode_message`,
//! prost, first walks the message to compute its length). The bytes are exactly
//! prost's (tag order, `required` uuid and timestamp always written, optional
//! headers only when set, repeated numerics packed, negative int32 sign-extended to
//! 10 bytes); a test checks it. Every message crosses here, so this is per-message
//! cost.

use heka_message::{Field, Message};

#[inline]
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
fn varint_len(v: u64) -> usize {
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
fn opt_str(out: &mut Vec<u8>, key: u8, s: Option<&[u8]>) {
    if let Some(s) = s {
        bytes(out, key, s);
    }
}

/// A text header as the bytes it is written as.
#[inline]
fn text(s: &Option<String>) -> Option<&[u8]> {
    s.as_deref().map(str::as_bytes)
}

#[inline]
fn opt_i32(out: &mut Vec<u8>, key: u8, v: Option<i32>) {
    if let Some(v) = v {
        out.push(key);
        varint(out, i64::from(v) as u64);
    }
}

fn bytes_len(n: usize) -> usize {
    1 + varint_len(n as u64) + n
}

/// The encoded length of `f` (its body, without key and length).
fn field_len(f: &Field) -> usize {
    let mut n = bytes_len(f.name.len());
    if let Some(t) = f.value_type {
        n += 1 + varint_len(i64::from(t) as u64);
    }
    if let Some(r) = &f.representation {
        n += bytes_len(r.len());
    }
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
        let body: usize = f.value_integer.iter().map(|&i| varint_len(i as u64)).sum();
        n += bytes_len(body);
    }
    if !f.value_double.is_empty() {
        n += bytes_len(8 * f.value_double.len());
    }
    if !f.value_bool.is_empty() {
        n += bytes_len(f.value_bool.len());
    }
    n
}

fn field(out: &mut Vec<u8>, f: &Field) {
    out.push(0x52);
    varint(out, field_len(f) as u64);
    bytes(out, 0x0a, f.name.as_bytes());
    opt_i32(out, 0x10, f.value_type);
    opt_str(out, 0x1a, text(&f.representation));
    for s in &f.value_string {
        bytes(out, 0x22, s);
    }
    for b in &f.value_bytes {
        bytes(out, 0x2a, b);
    }
    if !f.value_integer.is_empty() {
        out.push(0x32);
        let body: usize = f.value_integer.iter().map(|&i| varint_len(i as u64)).sum();
        varint(out, body as u64);
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

/// Appends the protobuf encoding of `msg` to `out` (the same bytes as
/// `heka_message::encode_message`).
pub(crate) fn encode(msg: &Message, out: &mut Vec<u8>) {
    // Headers: 2 keys + 10-byte varints at most, plus the strings.
    out.reserve(64 + msg.payload().len());
    bytes(out, 0x0a, &msg.uuid);
    out.push(0x10);
    varint(out, msg.timestamp as u64);
    opt_str(out, 0x1a, text(&msg.r#type));
    opt_str(out, 0x22, text(&msg.logger));
    opt_i32(out, 0x28, msg.severity);
    opt_str(out, 0x32, msg.payload.as_deref());
    opt_str(out, 0x3a, text(&msg.env_version));
    opt_i32(out, 0x40, msg.pid);
    opt_str(out, 0x4a, text(&msg.hostname));
    for f in &msg.fields {
        field(out, f);
    }
}

/// Bytes before the variable part of a filter batch entry (see [`push_filter_entry`]).
pub(crate) const ENTRY_HEADER: usize = 44;

/// `flags` bits: header k (0 = Type, 1 = Logger, 2 = Payload, 3 = EnvVersion,
/// 4 = Hostname) is set: `1 << k`; it equals the previous entry's: `1 << (8 + k)`;
/// Severity set: `1 << 16`; Pid set: `1 << 17`.
pub(crate) const SAME_SHIFT: u32 = 8;
pub(crate) const SEVERITY_SET: u32 = 1 << 16;
pub(crate) const PID_SET: u32 = 1 << 17;

fn headers(m: &Message) -> [Option<&[u8]>; 5] {
    [
        text(&m.r#type),
        text(&m.logger),
        m.payload.as_deref(),
        text(&m.env_version),
        text(&m.hostname),
    ]
}

/// Appends `msg` to a filter batch (the format `heka.wit` documents for
/// `process-batch`): u32 entry length, u32 flags, i64 Timestamp, i32 Severity, i32
/// Pid, six u32 lengths (Uuid, Type, Logger, Payload, EnvVersion, Hostname), those
/// bytes (a header equal to `prev`'s is flagged and not sent), then the Fields as
/// protobuf (`Message` tag 10 entries). Fixed offsets and no varints: the guest reads
/// it with a few loads, and the headers that repeat (Type, Logger, Hostname of one
/// input's messages) are compared here, natively, instead of copied into the guest.
pub(crate) fn push_filter_entry(buf: &mut Vec<u8>, msg: &Message, prev: Option<&Message>) {
    let start = buf.len();
    let hs = headers(msg);
    let mut flags = 0u32;
    let mut lens = [0u32; 6];
    lens[0] = msg.uuid.len() as u32;
    for (k, h) in hs.iter().enumerate() {
        if let Some(s) = h {
            flags |= 1 << k;
            // Payloads (k = 2) differ from message to message: not worth comparing.
            let same = k != 2 && prev.is_some_and(|p| headers(p)[k] == Some(*s));
            if same {
                flags |= 1 << (SAME_SHIFT + k as u32);
            } else {
                lens[k + 1] = s.len() as u32;
            }
        }
    }
    if msg.severity.is_some() {
        flags |= SEVERITY_SET;
    }
    if msg.pid.is_some() {
        flags |= PID_SET;
    }
    let body: usize = lens.iter().map(|&l| l as usize).sum();
    buf.reserve(4 + ENTRY_HEADER + body);
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&flags.to_le_bytes());
    buf.extend_from_slice(&msg.timestamp.to_le_bytes());
    buf.extend_from_slice(&msg.severity.unwrap_or(0).to_le_bytes());
    buf.extend_from_slice(&msg.pid.unwrap_or(0).to_le_bytes());
    for l in lens {
        buf.extend_from_slice(&l.to_le_bytes());
    }
    buf.extend_from_slice(&msg.uuid);
    for (k, h) in hs.iter().enumerate() {
        if lens[k + 1] > 0
            && let Some(s) = h
        {
            buf.extend_from_slice(s);
        }
    }
    for f in &msg.fields {
        field(buf, f);
    }
    let len = (buf.len() - start - 4) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::Value;

    #[test]
    fn same_bytes_as_prost() {
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
            let mut want = Vec::new();
            heka_message::encode_message(&m, &mut want);
            let mut got = Vec::new();
            encode(&m, &mut got);
            assert_eq!(got, want);
        }
        for v in [0u64, 1, 127, 128, 16383, 16384, u64::MAX] {
            let mut b = Vec::new();
            varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "{v}");
        }
    }
}
