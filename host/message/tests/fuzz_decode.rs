//! Fuzzes `decode_message` (Heka's protobuf `Message`) with mutants of encoded
//! messages: no panic, no hang; a rejection is a `DecodeError` that gives the input's
//! length and what is wrong (prost's reason names the field path); an accepted
//! message survives encode → decode unchanged.
//!
//! A few seconds by default; `HEKA_FUZZ_SECS=600 cargo test -p heka-message
//! --test fuzz_decode -- --nocapture` for a long run.

use heka_fuzz::{self as fuzz, Budget};
use heka_message::{DecodeError, Field, Message, Value, decode_message, encode_message};

fn seeds() -> Vec<Vec<u8>> {
    let base = Message {
        uuid: (0..16).collect(),
        timestamp: 1_700_000_000_123_456_789,
        ..Default::default()
    };
    let mut full = base.clone();
    full.r#type = Some("nginx.access".into());
    full.logger = Some("tail".into());
    full.severity = Some(6);
    full.payload = Some("GET / 200 café".into());
    full.env_version = Some("0.8".into());
    full.pid = Some(4242);
    full.hostname = Some("web-1".into());
    full.fields
        .push(Field::new("status", Value::Integer(200), "count"));
    full.fields
        .push(Field::new("path", Value::String("/".into()), ""));
    full.fields
        .push(Field::new("raw", Value::Bytes(vec![0, 0xff, 0x1e]), ""));
    full.fields
        .push(Field::new("ms", Value::Double(12.5), "ms"));
    full.fields
        .push(Field::new("cached", Value::Bool(true), ""));
    let mut negative = base.clone();
    negative.timestamp = -1;
    negative.pid = Some(-7);
    negative.severity = Some(-1);
    negative
        .fields
        .push(Field::new("n", Value::Integer(i64::MIN), ""));
    [base, full, negative]
        .iter()
        .map(|m| {
            let mut v = Vec::new();
            encode_message(m, &mut v);
            v
        })
        .collect()
}

const TOKENS: &[&[u8]] = &[
    // Tags of message.proto's fields with each wire type, varint edges.
    b"\x0a\x10",
    b"\x10",
    b"\x1a",
    b"\x22",
    b"\x2a",
    b"\x32",
    b"\x38",
    b"\x40",
    b"\x4a",
    b"\x52",
    b"\x5a",
    b"\x0a\x00",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x80\x80\x80\x80\x10",
    b"\x08\x05",
    b"\x10\x04",
    b"\x12\x00",
    b"\x1a\x03abc",
    b"\x3a\x02\x01\x02",
];

#[test]
fn fuzz_decode_message() {
    let seeds = seeds();
    for s in &seeds {
        decode_message(s).expect("seed decodes");
    }
    fuzz::run("decode", &seeds, TOKENS, Budget::from_env(2.0), |input| {
        match decode_message(input) {
            Ok(msg) => {
                let mut again = Vec::new();
                encode_message(&msg, &mut again);
                let back = decode_message(&again)
                    .map_err(|e| format!("re-encoded message does not decode: {e}"))?;
                // Compared as bytes: a NaN field is not equal to itself.
                let mut third = Vec::new();
                encode_message(&back, &mut third);
                if third != again {
                    return Err(format!(
                        "encode/decode changed the message: {msg:?} -> {back:?}"
                    ));
                }
                Ok(true)
            }
            Err(e) => {
                let len = match &e {
                    DecodeError::Protobuf { len, .. }
                    | DecodeError::MissingRequired { len, .. } => *len,
                };
                let text = e.to_string();
                if len != input.len() || !text.contains(&format!("({len} bytes)")) {
                    return Err(format!("error does not give the input's length: {text}"));
                }
                if text.trim_end().ends_with(':') {
                    return Err(format!("error without a reason: {text}"));
                }
                Ok(false)
            }
        }
    });
}
