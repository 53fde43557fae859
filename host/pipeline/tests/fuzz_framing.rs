//! Fuzzes Heka's stream framing reader: `heka_message::unframe` and the
//! `HekaFramingSplitter` behind a `SplitRunner`, with mutants of framed streams.
//!
//! Promises checked: no panic, no hang; `unframe` always makes progress (a record
//! consumes > 0 bytes, a rejection skips 1..=len bytes) and never claims bytes it
//! does not have; a record's message is exactly the `message_length` bytes after
//! its header and within `max_message_size`; a rejection's error says what and how
//! much is skipped (garbage length = skip); the splitter behind a `SplitRunner` finds
//! the same records at the same stream offsets whether the stream arrives at once or
//! in random small pieces, and they are the records `unframe` finds (less empty
//! ones: a record of no bytes is skipped, Heka's rule).
//!
//! A few seconds by default; `HEKA_FUZZ_SECS=600 cargo test -p heka-pipeline
//! --test fuzz_framing -- --nocapture` for a long run.

use heka_fuzz::{self as fuzz, Budget, Rng};
use heka_message::{
    FramingError, Header, Message, Unframed, encode_message, frame_message, frame_with_header,
    unframe,
};
use heka_pipeline::splitters::HekaFramingSplitter;
use heka_pipeline::{SplitOptions, SplitRunner};

/// Records (message bytes, stream offset past the record) as `unframe` sees them in
/// the whole buffer; checks its promises on the way.
fn unframe_all(buf: &[u8], max: usize) -> Result<Vec<(Vec<u8>, u64)>, String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut steps = 0usize;
    loop {
        steps += 1;
        if steps > buf.len() + 2 {
            return Err(format!("no progress after {steps} steps at offset {pos}"));
        }
        let rest = &buf[pos..];
        match unframe(rest, max) {
            Unframed::NeedMore => return Ok(out),
            Unframed::Message {
                header,
                message,
                consumed,
            } => {
                if consumed == 0 || consumed > rest.len() {
                    return Err(format!("consumed {consumed} of {} bytes", rest.len()));
                }
                if message.len() > max || header.message_length as usize != message.len() {
                    return Err(format!(
                        "message of {} bytes, header says {}, max {max}",
                        message.len(),
                        header.message_length
                    ));
                }
                if &rest[consumed - message.len()..consumed] != message {
                    return Err("message is not the bytes before the end of the record".into());
                }
                pos += consumed;
                out.push((message.to_vec(), pos as u64));
            }
            Unframed::Invalid { skip, error } => {
                if skip == 0 || skip > rest.len() {
                    return Err(format!("skip {skip} of {} bytes ({error})", rest.len()));
                }
                if let FramingError::Garbage { len } = error
                    && len != skip
                {
                    return Err(format!("garbage of {len} bytes but skip {skip}"));
                }
                if error.to_string().is_empty() {
                    return Err("empty error message".into());
                }
                pos += skip;
            }
        }
    }
}

/// The records a `SplitRunner` with the framing splitter finds when `buf` arrives in
/// `pieces` (lengths, cycled).
fn split_all(buf: &[u8], max: usize, pieces: &[usize]) -> Vec<(Vec<u8>, u64)> {
    let options = SplitOptions {
        // A whole frame (header ≤ 255 + 3 bytes of framing) of a maximal message fits.
        max_record_size: max + 258,
        min_buffer_size: 64,
        ..SplitOptions::default()
    };
    let mut runner = SplitRunner::new(Box::new(HekaFramingSplitter::new(max)), options);
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < buf.len() {
        let n = pieces[i % pieces.len()].clamp(1, buf.len() - at);
        i += 1;
        runner.push(&buf[at..at + n]);
        at += n;
        while let Some(r) = runner.next_record() {
            out.push((r.bytes.to_vec(), r.end_offset));
        }
    }
    while let Some(r) = runner.next_final_record() {
        out.push((r.bytes.to_vec(), r.end_offset));
    }
    out
}

fn seeds() -> Vec<Vec<u8>> {
    let mut msg = Message {
        uuid: (0..16).collect(),
        timestamp: 1_700_000_000_000_000_000,
        ..Default::default()
    };
    msg.payload = Some("GET / 200".into());
    let mut encoded = Vec::new();
    encode_message(&msg, &mut encoded);
    let mut one = Vec::new();
    frame_message(&encoded, 65536, &mut one).unwrap();
    let mut three = one.clone();
    three.extend_from_slice(b"garbage\n");
    frame_message(b"\x0a\x10 sixteen bytes!!\x10\x01", 65536, &mut three).unwrap();
    three.extend_from_slice(&one);
    let mut signed = Vec::new();
    let header = Header {
        message_length: 0,
        hmac_hash_function: Some(1),
        hmac_signer: Some("ops".into()),
        hmac_key_version: Some(2),
        hmac: Some(vec![0xab; 20]),
    };
    frame_with_header(&header, &encoded, 65536, &mut signed).unwrap();
    let mut empty = Vec::new();
    frame_message(b"", 65536, &mut empty).unwrap();
    vec![one, three, signed, empty]
}

const TOKENS: &[&[u8]] = &[
    b"\x1e",
    b"\x1f",
    b"\x1e\x02\x08",
    b"\x1e\x00\x1f",
    b"\x08\xff\xff\x03",
    b"\x08\x00",
];

#[test]
fn fuzz_framing_splitter() {
    let seeds = seeds();
    fuzz::run("framing", &seeds, TOKENS, Budget::from_env(2.0), |input| {
        // The input's own bytes pick max_message_size and how the stream is cut, so a
        // failing input replays exactly.
        let h = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let mut rng = Rng::new(h);
        let max = [16, 64, 200, 65536][rng.below(4)];
        let pieces: Vec<usize> = (0..1 + rng.below(8)).map(|_| 1 + rng.below(40)).collect();
        let mut expected = unframe_all(input, max)?;
        // Heka's rule, kept by SplitRunner: an empty record only consumes its bytes.
        expected.retain(|(message, _)| !message.is_empty());
        let whole = split_all(input, max, &[usize::MAX]);
        let chunked = split_all(input, max, &pieces);
        if whole != expected {
            return Err(format!(
                "splitter (one push) found {whole:?}, unframe found {expected:?} (max {max})"
            ));
        }
        if chunked != whole {
            return Err(format!(
                "splitter in pieces {pieces:?} found {chunked:?}, at once {whole:?} (max {max})"
            ));
        }
        Ok(!expected.is_empty())
    });
}
