//! The filter-batch format: how the host hands a batch of messages to a wasm
//! SandboxFilter (`heka.wit`'s `process-batch`), writer and reader side by side.
//!
//! This module is the normative text of the format; `heka.wit` points here. The
//! guest exports the [`FORMAT_VERSION`] its SDK was built with and the host checks it
//! when it loads the component, so a guest built against another format fails at
//! load, never by misreading its first message. Change the layout, change the
//! version.
//!
//! The layout is shaped for the cost of reading it inside the guest: fixed offsets,
//! no varints, headers that repeat not resent. For each message, its entry length
//! as a u32, then the entry. All integers are little-endian.
//!
//! ```text
//! offset  size  the entry
//! 0       4     flags: bit k (k = 0 Type, 1 Logger, 2 Payload, 3 EnvVersion,
//!               4 Hostname) the header is set; bit 8 + k it equals the previous
//!               entry's value of that header in this batch (its bytes are not
//!               sent, its length below is 0); bit 16 Severity set; bit 17 Pid set
//! 4       8     Timestamp (i64, ns)
//! 12      4     Severity (i32; 0 when unset)
//! 16      4     Pid (i32; 0 when unset)
//! 20      24    six u32 lengths: Uuid, Type, Logger, Payload, EnvVersion, Hostname
//! 44      ...   those bytes, in that order (bytes as the sender wrote them:
//!               Payload in particular need not be UTF-8)
//! ...     ...   the rest of the entry: the Fields, as in Heka's protobuf `Message`
//!               (each a tag-10 length-delimited `Field`)
//! ```

use crate::Message;
use crate::codec::read::{self, HeaderBuf, ReadError, Result, Spare, TRUNCATED};
use crate::codec::write;

/// The version of the layout above. The guest SDK exports it (`batch-format` in
/// `heka.wit`); the host refuses a component whose version differs.
pub const FORMAT_VERSION: u32 = 1;

/// Bytes before the variable part of an entry.
pub const ENTRY_HEADER: usize = 44;
/// `flags`: header k is set: `1 << k`; it equals the previous entry's:
/// `1 << (SAME_SHIFT + k)`.
const SAME_SHIFT: u32 = 8;
/// `flags`: Severity is set.
const SEVERITY_SET: u32 = 1 << 16;
/// `flags`: Pid is set.
const PID_SET: u32 = 1 << 17;
const MISSING_PREVIOUS: ReadError = ReadError("batch entry repeats a header it never sent");

#[inline]
fn u32_at(h: &[u8; ENTRY_HEADER], at: usize) -> u32 {
    u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
}

/// Splits a batch into its entries (each without its length prefix); a truncated
/// batch ends with an error.
pub fn entries(batch: &[u8]) -> impl Iterator<Item = Result<&[u8]>> {
    let mut rest = batch;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let entry = rest
            .get(..4)
            .map(|l| u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)
            .and_then(|len| rest.get(4..4usize.checked_add(len)?));
        match entry {
            Some(e) => {
                rest = &rest[4 + e.len()..];
                Some(Ok(e))
            }
            None => {
                rest = &[];
                Some(Err(TRUNCATED))
            }
        }
    })
}

fn headers(m: &Message) -> [Option<&[u8]>; 5] {
    [
        write::text(&m.r#type),
        write::text(&m.logger),
        m.payload.as_deref(),
        write::text(&m.env_version),
        write::text(&m.hostname),
    ]
}

/// Appends `msg` to a filter batch (the format of this module's doc): its entry
/// length, then the entry, with each header equal to `prev`'s flagged and not sent.
/// The headers that repeat (Type, Logger, Hostname of one input's messages) are
/// compared here, natively, instead of copied into the guest.
pub fn push_entry(buf: &mut Vec<u8>, msg: &Message, prev: Option<&Message>) {
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
        write::push_field(buf, f);
    }
    let len = (buf.len() - start - 4) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// Decodes one filter batch entry (the format `heka.wit` documents for
/// `process-batch`, after the entry's length) over `m`, the previous message of the
/// batch (or an empty one). Headers flagged as the previous entry's are left as they
/// are: nothing to move, copy or check. Changed ones reuse the header's buffer; unset
/// ones park their buffer in `spare`.
pub fn decode_entry(m: &mut Message, entry: &[u8], spare: &mut Spare) -> Result<()> {
    let h: &[u8; ENTRY_HEADER] = entry
        .get(..ENTRY_HEADER)
        .and_then(|h| h.try_into().ok())
        .ok_or(TRUNCATED)?;
    let flags = u32_at(h, 0);
    m.timestamp = i64::from(u32_at(h, 4)) | (i64::from(u32_at(h, 8)) << 32);
    m.severity = (flags & SEVERITY_SET != 0).then(|| u32_at(h, 12) as i32);
    m.pid = (flags & PID_SET != 0).then(|| u32_at(h, 16) as i32);
    if !m.fields.is_empty() {
        spare.reclaim_fields(m);
    }
    let mut pos = ENTRY_HEADER;
    let uuid_end = pos.saturating_add(u32_at(h, 20) as usize);
    let uuid = entry.get(pos..uuid_end).ok_or(TRUNCATED)?;
    pos = uuid_end;
    m.uuid.clear();
    match <&[u8; 16]>::try_from(uuid) {
        // The usual size, copied without a call to memcpy.
        Ok(u) => m.uuid.extend_from_slice(u),
        Err(_) => m.uuid.extend_from_slice(uuid),
    }
    // One call per header with a constant `k` (a loop over an array of the five
    // slots cost ~100 wasm instructions more per message).
    let [t, l, e, hn] = &mut spare.headers;
    header(0, &mut m.r#type, t, flags, h, entry, &mut pos)?;
    header(1, &mut m.logger, l, flags, h, entry, &mut pos)?;
    header(
        2,
        &mut m.payload,
        &mut spare.payload,
        flags,
        h,
        entry,
        &mut pos,
    )?;
    header(3, &mut m.env_version, e, flags, h, entry, &mut pos)?;
    header(4, &mut m.hostname, hn, flags, h, entry, &mut pos)?;
    // The rest: the Fields, as protobuf.
    match entry.get(pos..) {
        Some([]) => Ok(()),
        Some(rest) => read::decode_into(m, rest, spare),
        None => Err(TRUNCATED),
    }
}

/// Header `k` (0 Type, 1 Logger, 2 Payload, 3 EnvVersion, 4 Hostname) of a filter
/// batch entry into `slot`; `parked` holds its buffer while the header is unset.
#[inline(always)]
fn header<T: HeaderBuf>(
    k: usize,
    slot: &mut Option<T>,
    parked: &mut Option<T>,
    flags: u32,
    h: &[u8; ENTRY_HEADER],
    entry: &[u8],
    pos: &mut usize,
) -> Result<()> {
    if flags & (1 << k) == 0 {
        if slot.is_some() {
            *parked = slot.take();
        }
    } else if flags & (1 << (SAME_SHIFT + k as u32)) != 0 {
        if slot.is_none() {
            return Err(MISSING_PREVIOUS);
        }
    } else {
        let end = pos.saturating_add(u32_at(h, 24 + 4 * k) as usize);
        let bytes = entry.get(*pos..end).ok_or(TRUNCATED)?;
        *pos = end;
        let buf = slot.get_or_insert_with(|| parked.take().unwrap_or_default());
        buf.set(bytes)?;
    }
    Ok(())
}
