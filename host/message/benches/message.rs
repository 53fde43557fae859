//! Criterion benchmarks of the per-message hot paths: matcher evaluation (simple
//! equality, regex, literal shortcut, Fields lookup, a compound expression) and
//! protobuf decode/encode of a typical log message.
//!
//! Run: `cargo bench -p heka-message -- --warm-up-time 1 --measurement-time 2`

use criterion::{Criterion, criterion_group, criterion_main};
use heka_message::{Matcher, Message, Value, decode_message, encode_message};
use std::hint::black_box;

/// A typical decoded access-log line: headers plus a handful of fields.
fn log_message() -> Message {
    let mut m = Message {
        uuid: (0u8..16).collect(),
        timestamp: 1_700_000_000_123_456_789,
        r#type: Some("nginx.access".into()),
        logger: Some("access_log".into()),
        severity: Some(6),
        payload: Some(
            "127.0.0.1 - - [10/Oct/2023:13:55:36 +0000] \"GET /api/v1/items?id=42 HTTP/1.1\" \
             200 2326 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\""
                .into(),
        ),
        env_version: Some("0.8".into()),
        pid: Some(4242),
        hostname: Some("web-1.example.com".into()),
        fields: Vec::new(),
    };
    m.add_field("remote_addr", Value::String("127.0.0.1".into()), "ipv4");
    m.add_field(
        "request",
        Value::String("GET /api/v1/items?id=42 HTTP/1.1".into()),
        "",
    );
    m.add_field("status", Value::Integer(200), "");
    m.add_field("body_bytes_sent", Value::Integer(2326), "B");
    m.add_field("request_time", Value::Double(0.012), "s");
    m.add_field(
        "http_user_agent",
        Value::String("Mozilla/5.0 (X11; Linux x86_64)".into()),
        "",
    );
    m
}

fn matcher(c: &mut Criterion) {
    let msg = log_message();
    let cases = [
        ("matcher/equality", "Type == 'nginx.access'"),
        ("matcher/regex", "Payload =~ /GET \\/api\\/v\\d+\\//"),
        ("matcher/regex_prefix_shortcut", "Hostname =~ /^web-1/"),
        (
            "matcher/fields_lookup",
            "Fields[http_user_agent] =~ /Mozilla/",
        ),
        ("matcher/fields_numeric", "Fields[status] >= 500"),
        (
            "matcher/compound",
            "Type == 'nginx.access' && (Fields[status] >= 500 || Fields[request_time] > 0.01) && Hostname =~ /^web-/",
        ),
    ];
    for (name, expr) in cases {
        let m = Matcher::parse(expr).expect("benchmark matcher parses");
        c.bench_function(name, |b| b.iter(|| m.matches(black_box(&msg))));
    }
}

fn codec(c: &mut Criterion) {
    let msg = log_message();
    let mut bytes = Vec::new();
    encode_message(&msg, &mut bytes);
    c.bench_function("protobuf/decode", |b| {
        b.iter(|| decode_message(black_box(&bytes)).expect("decodes"))
    });
    let mut out = Vec::with_capacity(bytes.len());
    c.bench_function("protobuf/encode", |b| {
        b.iter(|| {
            out.clear();
            encode_message(black_box(&msg), &mut out);
            out.len()
        })
    });
}

criterion_group!(benches, matcher, codec);
criterion_main!(benches);
