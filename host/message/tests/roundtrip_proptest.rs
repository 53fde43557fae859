//! Property tests: any message survives encode → decode (and the JSON form, and
//! framing) unchanged, and no byte string makes the decoders panic.

use heka_message::{
    Field, Message, Unframed, decode_message, encode_message, frame_message, unframe,
};
use proptest::prelude::*;

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
