//! Property tests: any message survives encode → decode (and the JSON form, and
//! framing) unchanged, and no byte string makes the decoders panic.
//!
//! The codec's one writer is checked against prost's derived encoder (the
//! reference), and the two paths into a wasm guest are round-tripped through the
//! very functions the guest SDK runs: host protobuf → the SDK's pooled reader
//! (encoders, decoders), and host filter batch → the SDK's batch reader (filters).

use heka_message::batch;
use heka_message::{
    Field, Message, Unframed, decode_message, encode_message, frame_message, unframe,
};
use proptest::prelude::*;
use prost::Message as _;

fn field() -> impl Strategy<Value = Field> {
    // Doubles exclude NaN so that `==` on the message is meaningful.
    let double = prop_oneof![
        any::<f64>().prop_filter("not NaN", |d| !d.is_nan()),
        Just(f64::INFINITY),
        Just(-0.0),
    ];
    (
        ".{0,12}",
        0i32..5,
        proptest::option::of(".{0,6}"),
        // String values are bytes (Heka passes any through): UTF-8 or not.
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..10), 0..3),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..10), 0..3),
        prop::collection::vec(any::<i64>(), 0..4),
        prop::collection::vec(double, 0..4),
        prop::collection::vec(any::<bool>(), 0..4),
    )
        .prop_map(|(name, vt, representation, s, b, i, d, bo)| {
            // Heka keeps only the array matching the type; so do we, so that the
            // JSON form (which writes only that array) round-trips too.
            let mut f = Field {
                name,
                value_type: Some(vt),
                representation,
                ..Default::default()
            };
            match vt {
                0 => f.value_string = s,
                1 => f.value_bytes = b,
                2 => f.value_integer = i,
                3 => f.value_double = d,
                _ => f.value_bool = bo,
            }
            f
        })
}

fn message() -> impl Strategy<Value = Message> {
    (
        prop_oneof![
            prop::collection::vec(any::<u8>(), 16),
            prop::collection::vec(any::<u8>(), 0..20)
        ],
        any::<i64>(),
        proptest::option::of(".{0,10}"),
        proptest::option::of(".{0,10}"),
        proptest::option::of(any::<i32>()),
        // The payload is bytes: a log line in any encoding survives every form.
        proptest::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        proptest::option::of(".{0,5}"),
        proptest::option::of(any::<i32>()),
        proptest::option::of(".{0,10}"),
        prop::collection::vec(field(), 0..5),
    )
        .prop_map(
            |(
                uuid,
                timestamp,
                r#type,
                logger,
                severity,
                payload,
                env_version,
                pid,
                hostname,
                fields,
            )| {
                Message {
                    uuid,
                    timestamp,
                    r#type,
                    logger,
                    severity,
                    payload,
                    env_version,
                    pid,
                    hostname,
                    fields,
                }
            },
        )
}

proptest! {
    #[test]
    fn protobuf_round_trip(m in message()) {
        let mut buf = Vec::new();
        encode_message(&m, &mut buf);
        prop_assert_eq!(decode_message(&buf).unwrap(), m);
    }

    #[test]
    fn the_writer_writes_what_prost_writes(m in message()) {
        let mut buf = Vec::new();
        encode_message(&m, &mut buf);
        prop_assert_eq!(heka_message::encoded_len(&m), buf.len());
        prop_assert_eq!(buf, m.encode_to_vec());
    }

    #[test]
    fn host_protobuf_to_the_sdk_reader(msgs in prop::collection::vec(message(), 1..5)) {
        // One message and one pool reused across the sequence, as in the guest.
        let mut spare = heka_message::Spare::default();
        let mut got = Message::default();
        for m in &msgs {
            let mut buf = Vec::new();
            encode_message(m, &mut buf);
            spare.reclaim(&mut got);
            heka_message::decode_into(&mut got, &buf, &mut spare).unwrap();
            prop_assert_eq!(&got, m);
        }
    }

    #[test]
    fn host_batch_writer_to_the_sdk_batch_reader(
        msgs in prop::collection::vec(message(), 1..6),
        repeat in prop::collection::vec(any::<[bool; 4]>(), 6),
    ) {
        // Headers that repeat the previous message's are what the format elides:
        // make them repeat often.
        let mut msgs = msgs;
        for i in 1..msgs.len() {
            let prev = msgs[i - 1].clone();
            let [t, l, e, h] = repeat[i];
            let m = &mut msgs[i];
            if t { m.r#type = prev.r#type; }
            if l { m.logger = prev.logger; }
            if e { m.env_version = prev.env_version; }
            if h { m.hostname = prev.hostname; }
        }
        let mut buf = Vec::new();
        let mut prev = None;
        for m in &msgs {
            batch::push_entry(&mut buf, m, prev);
            prev = Some(m);
        }
        let mut spare = heka_message::Spare::default();
        let mut got = Message::default();
        let mut n = 0;
        for (entry, want) in batch::entries(&buf).zip(&msgs) {
            batch::decode_entry(&mut got, entry.unwrap(), &mut spare).unwrap();
            prop_assert_eq!(&got, want);
            n += 1;
        }
        prop_assert_eq!(n, msgs.len());
        prop_assert_eq!(batch::entries(&buf).count(), msgs.len());
    }

    #[test]
    fn batch_and_pooled_readers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut spare = heka_message::Spare::default();
        let mut m = Message::default();
        let _ = heka_message::decode_into(&mut m, &bytes, &mut spare);
        for entry in batch::entries(&bytes) {
            match entry {
                Ok(e) => { let _ = batch::decode_entry(&mut m, e, &mut spare); }
                Err(_) => break,
            }
        }
    }

    #[test]
    fn json_round_trip(m in message()) {
        let text = heka_message::message_to_json(&m);
        prop_assert_eq!(heka_message::message_from_json(&text).unwrap(), m);
    }

    #[test]
    fn framing_round_trip(msgs in prop::collection::vec(message(), 1..4)) {
        let mut stream = Vec::new();
        for m in &msgs {
            let mut body = Vec::new();
            encode_message(m, &mut body);
            frame_message(&body, 1 << 20, &mut stream).unwrap();
        }
        let mut rest = &stream[..];
        for m in &msgs {
            match unframe(rest, 1 << 20) {
                Unframed::Message { message, consumed, .. } => {
                    prop_assert_eq!(&decode_message(message).unwrap(), m);
                    rest = &rest[consumed..];
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
        prop_assert!(rest.is_empty());
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_message(&bytes);
    }

    #[test]
    fn unframe_never_panics_and_always_progresses(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut rest = &bytes[..];
        loop {
            match unframe(rest, 64) {
                Unframed::NeedMore => break,
                Unframed::Message { consumed, .. } => {
                    prop_assert!(consumed > 0 && consumed <= rest.len());
                    rest = &rest[consumed..];
                }
                Unframed::Invalid { skip, .. } => {
                    prop_assert!(skip > 0 && skip <= rest.len());
                    rest = &rest[skip..];
                }
            }
        }
    }

    #[test]
    fn json_parse_never_panics(s in ".{0,80}") {
        let _ = heka_message::message_from_json(&s);
    }

    #[test]
    fn matcher_parse_never_panics(s in "[ -~\t\n]{0,40}") {
        let _ = heka_message::Matcher::parse(&s);
    }

    #[test]
    fn matcher_parse_never_panics_on_matcher_like_text(
        parts in prop::collection::vec(prop_oneof![
            Just("Type"), Just("Fields[a]"), Just("Fields[a][1][2]"), Just("Severity"),
            Just("=="), Just("!="), Just("=~"), Just("<="), Just("&&"), Just("||"),
            Just("("), Just(")"), Just("'x'"), Just("/x/"), Just("/(/"), Just("1.5"),
            Just("TRUE"), Just("NIL"), Just("\\"), Just("'"), Just("/"), Just("ü"),
        ], 0..12)
    ) {
        let s = parts.join(" ");
        if let Ok(m) = heka_message::Matcher::parse(&s) {
            let _ = m.matches(&Message::default());
        }
    }
}
