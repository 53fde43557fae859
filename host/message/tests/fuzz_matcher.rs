//! Fuzzes `Matcher::parse` (heka-message's `message_matcher` parser) with mutants of
//! valid expressions: it must never panic or hang, a rejection must be a
//! `MatcherError` that says where (a byte offset inside the expression, the
//! expression itself, what was expected and found), and an accepted matcher must
//! evaluate against messages without panicking.
//!
//! A few seconds by default; `HEKA_FUZZ_SECS=600 cargo test -p heka-message
//! --test fuzz_matcher -- --nocapture` for a long run (the shared engine is
//! `heka_fuzz`).

use heka_fuzz::{self as fuzz, Budget};
use heka_message::{Field, Matcher, Message, Value};

const SEEDS: &[&str] = &[
    "TRUE",
    "FALSE",
    "Type == 'nginx.access'",
    "Type != \"x\" && Logger == 'tail'",
    "Severity <= 3 || Pid > 100",
    "Timestamp >= 1.7e18",
    "Payload =~ /^GET \\/[a-z]+ 200$/",
    "Hostname !~ /(?i)web-\\d+/",
    "Uuid == '0f8fad5b-d9cb-469f-a165-70867728950e'",
    "Fields[status] >= 500 && Fields[path][1] == '/index.html'",
    "Fields[raw][0][1] == 'x' || (Type == 'a' && Severity == 7)",
    "Fields[missing] == NIL",
    "Fields[ms] != NIL && Fields[cached] == TRUE",
    "(Type == 'a' || Type == 'b') && (Logger =~ /Spec$/ || Payload == '')",
    "EnvVersion == '0.8' && Fields[url] =~ /\\.com\\//",
];

const TOKENS: &[&[u8]] = &[
    b"==",
    b"!=",
    b"<",
    b"<=",
    b">",
    b">=",
    b"=~",
    b"!~",
    b"&&",
    b"||",
    b"(",
    b")",
    b"!",
    b"'",
    b"\"",
    b"/",
    b"\\",
    b"[",
    b"]",
    b"Fields[",
    b"][0]",
    b"TRUE",
    b"FALSE",
    b"NIL",
    b"Type",
    b"Severity",
    b"Timestamp",
    b"Payload",
    b"Uuid",
    b"1e308",
    b"-0",
    b"99999999999999999999",
    b"(?",
    b"\\p{",
    b"{9999}",
    b"*",
    b"+",
    b"?",
    b"\xc3\xa9",
    b"\xe2\x9c\x93",
    b" ",
];

/// Messages an accepted matcher is evaluated against (no panic allowed).
fn messages() -> Vec<Message> {
    let mut a = Message {
        uuid: vec![0x0f; 16],
        timestamp: 1_700_000_000_000_000_000,
        ..Default::default()
    };
    a.r#type = Some("nginx.access".into());
    a.logger = Some("tail".into());
    a.payload = Some("GET /x 200".into());
    a.severity = Some(3);
    a.fields.push(Field::new("status", Value::Integer(503), ""));
    a.fields
        .push(Field::new("path", Value::String("/".into()), ""));
    a.fields.push(Field::new("ms", Value::Double(f64::NAN), ""));
    a.fields
        .push(Field::new("raw", Value::Bytes(vec![0xff, 0]), ""));
    a.fields.push(Field::new("cached", Value::Bool(true), ""));
    vec![Message::default(), a]
}

#[test]
fn fuzz_matcher_parse() {
    let seeds: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
    for s in SEEDS {
        assert!(Matcher::parse(s).is_ok(), "seed must parse: {s}");
    }
    let msgs = messages();
    fuzz::run("matcher", &seeds, TOKENS, Budget::from_env(2.0), |input| {
        // parse takes text: invalid UTF-8 becomes U+FFFD, itself a fine test.
        let expr = String::from_utf8_lossy(input);
        match Matcher::parse(&expr) {
            Ok(m) => {
                for msg in &msgs {
                    m.matches(msg);
                }
                Ok(true)
            }
            Err(e) => {
                if e.offset > expr.len() {
                    return Err(format!(
                        "offset {} past the end ({}): {e}",
                        e.offset,
                        expr.len()
                    ));
                }
                if e.expression != expr {
                    return Err(format!("error names another expression: {e}"));
                }
                if e.expected.is_empty() || e.found.is_empty() {
                    return Err(format!("error without expected/found: {e:?}"));
                }
                let text = e.to_string();
                if !text.contains(&format!("offset {}", e.offset)) {
                    return Err(format!("message does not say where: {text}"));
                }
                Ok(false)
            }
        }
    });
}
