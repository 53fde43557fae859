//! The pooled protobuf reader: Heka `Message` bytes into a reused [`Message`].
//!
//! Why not `prost::Message::merge` (which [`crate::decode_message`] uses on the host,
//! where a message is decoded once and owned): it is generic over the buffer and the
//! field handlers, and a guest filter decodes every message of every batch, so that
//! cost is the sandbox's per-message overhead. This reader is one loop over the
//! top-level tags with the schema written out, and it never allocates in steady
//! state: every string, byte buffer and `Field` a message held is kept in a [`Spare`]
//! pool when the next message is decoded, and refilled from there. Headers absent
//! from a message are `None` (presence is exact, as with prost). Text headers are
//! checked to be UTF-8; the Payload and string field values are bytes, passed
//! through as the log held them. Unknown tags are skipped, as prost does; `required`
//! fields are not checked (the host always writes them).
//!
//! The filter-batch reader (`crate::batch`) shares the pool and [`HeaderBuf`].

use crate::{Field, Message};

/// Why bytes could not be read (a fixed description: the reader runs inside the
/// sandbox, where formatting costs instructions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadError(
    /// What was wrong.
    pub &'static str,
);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ReadError {}

pub(crate) type Result<T> = core::result::Result<T, ReadError>;

pub(crate) const TRUNCATED: ReadError = ReadError("truncated protobuf");
const BAD_VARINT: ReadError = ReadError("varint longer than 10 bytes");
const BAD_UTF8: ReadError = ReadError("string is not UTF-8");
const BAD_WIRE_TYPE: ReadError = ReadError("unexpected wire type");

/// Buffers kept between messages so decoding reuses their capacity.
#[derive(Default)]
pub struct Spare {
    /// Buffers of the text headers (Type, Logger, EnvVersion, Hostname) the last
    /// message did not set.
    pub(crate) headers: [Option<String>; 4],
    /// The Payload's buffer while the last message had none (bytes: a payload is
    /// whatever the log held, UTF-8 or not).
    pub(crate) payload: Option<Vec<u8>>,
    strings: Vec<String>,
    /// Buffers of string field values (bytes, as the payload).
    values: Vec<Vec<u8>>,
    fields: Vec<Field>,
}

impl Spare {
    fn string(&mut self) -> String {
        self.strings.pop().unwrap_or_default()
    }

    /// Takes every buffer out of `m` (which is left empty, headers `None`).
    pub fn reclaim(&mut self, m: &mut Message) {
        m.uuid.clear();
        m.timestamp = 0;
        m.severity = None;
        m.pid = None;
        let [t, l, e, h] = &mut self.headers;
        for (from, to) in [
            (&mut m.r#type, t),
            (&mut m.logger, l),
            (&mut m.env_version, e),
            (&mut m.hostname, h),
        ] {
            // A header absent from this message keeps the one before in the pool.
            if from.is_some() {
                *to = from.take();
            }
        }
        if m.payload.is_some() {
            self.payload = m.payload.take();
        }
        self.reclaim_fields(m);
    }

    /// Takes the Fields out of `m`, keeping their buffers.
    pub fn reclaim_fields(&mut self, m: &mut Message) {
        for mut f in m.fields.drain(..) {
            f.name.clear();
            f.value_type = None;
            if let Some(r) = f.representation.take() {
                self.strings.push(r);
            }
            self.values.append(&mut f.value_string);
            f.value_bytes.clear();
            f.value_integer.clear();
            f.value_double.clear();
            f.value_bool.clear();
            self.fields.push(f);
        }
        // A pathological message must not make the pool hold memory forever.
        self.strings.truncate(64);
        self.values.truncate(64);
        self.fields.truncate(64);
    }
}

/// A cursor over protobuf bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or(TRUNCATED)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(BAD_VARINT)
    }

    #[inline]
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = usize::try_from(self.varint()?).map_err(|_| TRUNCATED)?;
        let end = self.pos.checked_add(len).ok_or(TRUNCATED)?;
        let s = self.buf.get(self.pos..end).ok_or(TRUNCATED)?;
        self.pos = end;
        Ok(s)
    }

    #[inline]
    fn str(&mut self) -> Result<&'a str> {
        utf8(self.bytes()?)
    }

    fn fixed64(&mut self) -> Result<u64> {
        let end = self.pos.checked_add(8).ok_or(TRUNCATED)?;
        let b = self.buf.get(self.pos..end).ok_or(TRUNCATED)?;
        self.pos = end;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn skip(&mut self, wire_type: u64) -> Result<()> {
        match wire_type {
            0 => self.varint().map(drop),
            1 => self.fixed64().map(drop),
            2 => self.bytes().map(drop),
            5 => {
                let end = self.pos.checked_add(4).ok_or(TRUNCATED)?;
                if end > self.buf.len() {
                    return Err(TRUNCATED);
                }
                self.pos = end;
                Ok(())
            }
            _ => Err(BAD_WIRE_TYPE),
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// Sets a header from its bytes, in the buffer the previous message's value of the
/// header used. That value is often the same (Type, Logger, Hostname repeat across a
/// log's messages): then, when `same_likely`, there is nothing to copy or to check.
#[inline]
fn set_header<T: HeaderBuf>(
    slot: &mut Option<T>,
    prev: &mut Option<T>,
    b: &[u8],
    same_likely: bool,
) -> Result<()> {
    let mut buf = prev.take().unwrap_or_default();
    if !same_likely || buf.bytes() != b {
        buf.set(b)?;
    }
    *slot = Some(buf);
    Ok(())
}

/// A header's buffer: text headers are checked to be UTF-8, the Payload is bytes.
pub(crate) trait HeaderBuf: Default {
    fn set(&mut self, b: &[u8]) -> Result<()>;
    fn bytes(&self) -> &[u8];
}

impl HeaderBuf for String {
    #[inline]
    fn set(&mut self, b: &[u8]) -> Result<()> {
        self.clear();
        self.push_str(utf8(b)?);
        Ok(())
    }
    #[inline]
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl HeaderBuf for Vec<u8> {
    #[inline]
    fn set(&mut self, b: &[u8]) -> Result<()> {
        self.clear();
        self.extend_from_slice(b);
        Ok(())
    }
    #[inline]
    fn bytes(&self) -> &[u8] {
        self
    }
}

#[inline]
fn set_string(slot: &mut Option<String>, s: &str, spare: &mut Spare) {
    let buf = slot.get_or_insert_with(|| spare.string());
    buf.clear();
    buf.push_str(s);
}

/// Checks that `b` is UTF-8. Log lines are ASCII: OR-ing eight bytes at a time and
/// testing the high bits once is a few wasm instructions per word; `std`'s
/// validation only runs when a byte ≥ 0x80 is seen.
#[inline]
pub(crate) fn utf8(b: &[u8]) -> Result<&str> {
    let chunks = b.chunks_exact(8);
    let mut acc = chunks
        .remainder()
        .iter()
        .fold(0u64, |acc, &x| acc | u64::from(x));
    for c in chunks {
        acc |= u64::from_le_bytes(c.try_into().unwrap_or([0x80; 8]));
    }
    if acc & 0x8080_8080_8080_8080 == 0 {
        // SAFETY: no byte of `b` has its high bit set, so `b` is ASCII, which is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(b) });
    }
    std::str::from_utf8(b).map_err(|_| BAD_UTF8)
}

/// Decodes `bytes` into `m`, which must be empty (see [`Spare::reclaim`]).
pub fn decode_into(m: &mut Message, bytes: &[u8], spare: &mut Spare) -> Result<()> {
    let mut r = Reader { buf: bytes, pos: 0 };
    while !r.done() {
        let key = r.varint()?;
        let (tag, wt) = (key >> 3, key & 7);
        match (tag, wt) {
            (1, 2) => {
                let b = r.bytes()?;
                m.uuid.clear();
                match <&[u8; 16]>::try_from(b) {
                    // The usual size, copied without a call to memcpy.
                    Ok(u) => m.uuid.extend_from_slice(u),
                    Err(_) => m.uuid.extend_from_slice(b),
                }
            }
            (2, 0) => m.timestamp = r.varint()? as i64,
            (3, 2) => set_header(&mut m.r#type, &mut spare.headers[0], r.bytes()?, true)?,
            (4, 2) => set_header(&mut m.logger, &mut spare.headers[1], r.bytes()?, true)?,
            (5, 0) => m.severity = Some(r.varint()? as i32),
            (6, 2) => set_header(&mut m.payload, &mut spare.payload, r.bytes()?, false)?,
            (7, 2) => set_header(&mut m.env_version, &mut spare.headers[2], r.bytes()?, true)?,
            (8, 0) => m.pid = Some(r.varint()? as i32),
            (9, 2) => set_header(&mut m.hostname, &mut spare.headers[3], r.bytes()?, true)?,
            (10, 2) => {
                let body = r.bytes()?;
                let mut f = spare.fields.pop().unwrap_or_default();
                decode_field(&mut f, body, spare)?;
                m.fields.push(f);
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(())
}

fn decode_field(f: &mut Field, bytes: &[u8], spare: &mut Spare) -> Result<()> {
    let mut r = Reader { buf: bytes, pos: 0 };
    while !r.done() {
        let key = r.varint()?;
        match (key >> 3, key & 7) {
            (1, 2) => {
                let s = r.str()?;
                f.name.clear();
                f.name.push_str(s);
            }
            (2, 0) => f.value_type = Some(r.varint()? as i32),
            (3, 2) => set_string(&mut f.representation, r.str()?, spare),
            (4, 2) => {
                let b = r.bytes()?;
                let mut buf = spare.values.pop().unwrap_or_default();
                buf.clear();
                buf.extend_from_slice(b);
                f.value_string.push(buf);
            }
            (5, 2) => f.value_bytes.push(r.bytes()?.to_vec()),
            (6, 0) => f.value_integer.push(r.varint()? as i64),
            (6, 2) => {
                let mut p = Reader {
                    buf: r.bytes()?,
                    pos: 0,
                };
                while !p.done() {
                    f.value_integer.push(p.varint()? as i64);
                }
            }
            (7, 1) => f.value_double.push(f64::from_bits(r.fixed64()?)),
            (7, 2) => {
                let mut p = Reader {
                    buf: r.bytes()?,
                    pos: 0,
                };
                while !p.done() {
                    f.value_double.push(f64::from_bits(p.fixed64()?));
                }
            }
            (8, 0) => f.value_bool.push(r.varint()? != 0),
            (8, 2) => {
                let mut p = Reader {
                    buf: r.bytes()?,
                    pos: 0,
                };
                while !p.done() {
                    f.value_bool.push(p.varint()? != 0);
                }
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use prost::Message as _;

    fn sample() -> Message {
        let mut m = Message {
            uuid: (0..16).collect(),
            timestamp: -5,
            r#type: Some("t".into()),
            logger: Some(String::new()),
            severity: Some(-1),
            payload: Some("héllo\n".into()),
            env_version: None,
            pid: Some(4242),
            hostname: Some("h".into()),
            fields: vec![],
        };
        m.add_field("s", Value::String("a".into()), "r");
        m.fields[0].value_string.push("b".into());
        m.add_field("b", Value::Bytes(vec![0, 255]), "");
        m.add_field("i", Value::Integer(-7), "");
        m.fields[2].value_integer.push(1 << 40);
        m.add_field("d", Value::Double(1.5), "");
        m.add_field("x", Value::Bool(true), "");
        m
    }

    #[test]
    fn decodes_what_prost_encodes_and_reuses_buffers() {
        let mut spare = Spare::default();
        let mut m = Message::default();
        let full = sample();
        let bare = Message {
            uuid: vec![1; 16],
            timestamp: 3,
            payload: Some("p".into()),
            ..Default::default()
        };
        for want in [&full, &bare, &full, &Message::default()] {
            spare.reclaim(&mut m);
            decode_into(&mut m, &want.encode_to_vec(), &mut spare).unwrap();
            assert_eq!(&m, want);
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let bytes = sample().encode_to_vec();
        let mut spare = Spare::default();
        for cut in 0..bytes.len() {
            let mut m = Message::default();
            // Every prefix either decodes (a cut on a field boundary) or errs.
            let _ = decode_into(&mut m, &bytes[..cut], &mut spare);
        }
        let mut m = Message::default();
        // Payload (tag 6) is bytes: invalid UTF-8 is kept as it is.
        assert_eq!(decode_into(&mut m, &[0x32, 1, 0xff], &mut spare), Ok(()));
        assert_eq!(m.payload(), &[0xff]);
        // Type (tag 3) is text.
        assert_eq!(
            decode_into(&mut m, &[0x1a, 1, 0xff], &mut spare),
            Err(BAD_UTF8)
        );
        assert_eq!(
            decode_into(&mut m, &[0x32, 5, b'a'], &mut spare),
            Err(TRUNCATED)
        );
        assert_eq!(decode_into(&mut m, &[0x0b], &mut spare), Err(BAD_WIRE_TYPE));
        assert_eq!(
            decode_into(
                &mut m,
                &[0x10; 1]
                    .iter()
                    .chain(&[0xff; 11])
                    .copied()
                    .collect::<Vec<_>>(),
                &mut spare
            ),
            Err(BAD_VARINT)
        );
    }

    #[test]
    fn unknown_tags_are_skipped() {
        let mut bytes = vec![0x58, 1, 0x61, 0, 0, 0, 0, 0, 0, 0, 0, 0x6d, 0, 0, 0, 0];
        bytes.extend(sample().encode_to_vec());
        let mut m = Message::default();
        decode_into(&mut m, &bytes, &mut Spare::default()).unwrap();
        assert_eq!(m, sample());
    }
}
