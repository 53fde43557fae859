//! Every host API function through real wasm components (the test guests under
//! guest-plugins/testing/ and the shipped plugins), and the three plugin contracts.

mod common;

use common::*;
use heka_guest_build::testing;
use heka_message::{FieldValue, Message, Value};
use heka_pipeline::{Decoder, Encoder, Filter, PluginError};
use heka_sandbox::{ConfigValue, WasmFilter};

fn probe() -> WasmFilter {
    let cfg = cfg("Probe")
        .with_config("s", ConfigValue::String("hello".into()))
        .with_config("i", ConfigValue::Integer(42))
        .with_config("f", ConfigValue::Float(1.5))
        .with_config("b", ConfigValue::Boolean(true));
    heka_sandbox::load_filter(engine(), &testing::api_probe(), cfg).expect("load api-probe")
}

#[test]
fn read_config_sees_every_value_kind() {
    let mut f = probe();
    let mut ctx = common::ctx("Probe");
    f.process_batch(&packs(&["config"]), &mut ctx).unwrap();
    let out = ctx.take_injected();
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].payload(),
        b"s=text:hello;i=int:42;f=float:1.5;b=bool:true;missing=none;"
    );
    assert_eq!(
        string_field(&out[0], "payload_name").as_deref(),
        Some("config")
    );
}

#[test]
fn read_message_answers_every_variable() {
    let mut f = probe();
    let mut ctx = common::ctx("Probe");
    let mut m = msg("read");
    m.add_field("f", Value::String("a0".into()), "");
    m.fields[0].value_string.push("a1".into());
    m.add_field("f", Value::Integer(7), "count");
    let expected_raw = heka_message::encoded_len(&m) as i64;
    f.process_batch(&[heka_pipeline::Pack::new(m, None)], &mut ctx)
        .unwrap();
    let out = ctx.take_injected();
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(r.type_(), "heka.sandbox.probe.read");
    assert_eq!(string_field(r, "Type").as_deref(), Some("logfile"));
    assert_eq!(string_field(r, "Logger").as_deref(), Some("ExampleLog"));
    assert_eq!(string_field(r, "Payload").as_deref(), Some("read"));
    assert_eq!(string_field(r, "EnvVersion").as_deref(), Some("0.8"));
    assert_eq!(string_field(r, "Hostname").as_deref(), Some("web1"));
    assert_eq!(
        string_field(r, "Uuid").as_deref(),
        Some("01020304-0506-0708-090a-0b0c0d0e0f10")
    );
    assert_eq!(
        field(r, "Timestamp"),
        Some(FieldValue::Integer(1_700_000_000_123_456_789))
    );
    assert_eq!(field(r, "Severity"), Some(FieldValue::Integer(6)));
    assert_eq!(field(r, "Pid"), Some(FieldValue::Integer(4242)));
    assert_eq!(field(r, "raw_len"), Some(FieldValue::Integer(expected_raw)));
    assert_eq!(string_field(r, "f_0_0").as_deref(), Some("a0"));
    assert_eq!(string_field(r, "f_0_1").as_deref(), Some("a1"));
    assert_eq!(field(r, "f_1_0"), Some(FieldValue::Integer(7)));
    assert_eq!(field(r, "f_5_0"), None);
}

/// The filter batch does not resend a header equal to the previous message's: every
/// mix of same, changed, absent and back again reads as the message itself.
#[test]
fn headers_repeated_changed_or_absent_across_a_batch_read_back_exactly() {
    let mut f = probe();
    let mut ctx = common::ctx("Probe");
    let m1 = msg("read");
    let mut m2 = msg("read");
    m2.logger = Some("OtherLog".into());
    m2.hostname = None;
    m2.severity = None;
    let mut m3 = msg("read");
    m3.hostname = Some("web2".into());
    m3.r#type = None;
    m3.uuid = vec![9; 3];
    let m4 = m3.clone();
    let mut m5 = msg("read");
    m5.add_field("f", Value::String("x".into()), "");
    let batch = [m1, m2, m3, m4, m5];
    let packs: Vec<_> = batch
        .iter()
        .map(|m| heka_pipeline::Pack::new(m.clone(), None))
        .collect();
    f.process_batch(&packs, &mut ctx).unwrap();
    let out = ctx.take_injected();
    assert_eq!(out.len(), batch.len());
    for (m, r) in batch.iter().zip(&out) {
        assert_eq!(string_field(r, "Type").as_deref(), Some(m.type_()));
        assert_eq!(string_field(r, "Logger").as_deref(), Some(m.logger()));
        assert_eq!(string_field(r, "Hostname").as_deref(), Some(m.hostname()));
        assert_eq!(string_field(r, "Payload").as_deref(), Some("read"));
        assert_eq!(
            field(r, "Severity"),
            Some(FieldValue::Integer(m.severity().into()))
        );
        // The raw encoding has exactly the headers that were set.
        assert_eq!(
            field(r, "raw_len"),
            Some(FieldValue::Integer(heka_message::encoded_len(m) as i64))
        );
        let f0 = m.field_value("f", 0, 0).map(|v| v.to_owned_value());
        assert_eq!(r.field_value("f_0_0", 0, 0).map(|v| v.to_owned_value()), f0);
    }
}

#[test]
fn add_to_payload_and_inject_payload_build_one_output_message() {
    let mut f = probe();
    let mut ctx = common::ctx("Probe");
    f.process_batch(&packs(&["payload"]), &mut ctx).unwrap();
    let out = ctx.take_injected();
    assert_eq!(
        out.len(),
        1,
        "the empty second inject_payload injects nothing"
    );
    let m = &out[0];
    assert_eq!(m.type_(), "heka.sandbox-output");
    assert_eq!(m.logger(), "Probe");
    assert_eq!(m.hostname(), "hekad-host");
    assert_eq!(m.payload(), b"abc");
    assert_eq!(string_field(m, "payload_type").as_deref(), Some("txt"));
    assert_eq!(
        m.field("payload_type", 0).unwrap().representation(),
        "file-extension"
    );
    assert_eq!(string_field(m, "payload_name").as_deref(), Some("name"));
    assert_eq!(m.uuid.len(), 16);
}

#[test]
fn inject_message_applies_heka_filter_rules() {
    let mut f = probe();
    let mut ctx = common::ctx("Probe");
    f.process_batch(&packs(&["inject"]), &mut ctx).unwrap();
    let out = ctx.take_injected();
    assert_eq!(out.len(), 1);
    let m = &out[0];
    assert_eq!(m.type_(), "heka.sandbox.custom");
    assert_eq!(m.logger(), "Probe");
    assert_eq!(m.hostname(), "hekad-host");
    assert_eq!(m.payload(), b"injected");
    assert_eq!(m.severity(), 3);
    assert_eq!(field(m, "x"), Some(FieldValue::Integer(1)));
    assert_eq!(m.uuid.len(), 16, "a fresh uuid replaces the missing one");
    assert!(m.timestamp > 0, "a zero timestamp becomes now");
}

#[test]
fn outcomes_failed_and_question_mark_are_per_message_and_order_is_kept() {
    let mut f = probe();
    let mut ctx = common::ctx("Probe");
    f.process_batch(
        &packs(&["payload", "fail", "parse", "inject", "log"]),
        &mut ctx,
    )
    .unwrap();
    assert_eq!(ctx.failures(), 2);
    let out = ctx.take_injected();
    let types: Vec<&str> = out.iter().map(Message::type_).collect();
    assert_eq!(types, ["heka.sandbox-output", "heka.sandbox.custom"]);
}

#[test]
fn fatal_outcome_terminates_the_plugin() {
    let mut f = probe();
    let mut ctx = common::ctx("Probe");
    let err = f
        .process_batch(&packs(&["inject", "fatal", "inject"]), &mut ctx)
        .unwrap_err();
    assert_eq!(err, PluginError::Fatal("asked to die".into()));
    assert_eq!(
        ctx.take_injected().len(),
        1,
        "injections before the fatal message go out"
    );
    let again = f.process_batch(&packs(&["log"]), &mut ctx).unwrap_err();
    assert!(matches!(again, PluginError::Fatal(r) if r.contains("asked to die")));
}

#[test]
fn timer_event_gets_the_time_and_can_inject() {
    let mut f = probe();
    let mut ctx = common::ctx("Probe");
    ctx.begin_timer();
    f.timer_event(123_456, &mut ctx).unwrap();
    let out = ctx.take_injected();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload(), b"123456");
    assert_eq!(
        string_field(&out[0], "payload_name").as_deref(),
        Some("tick")
    );
}

#[test]
fn process_message_single_call_returns_failures() {
    let mut f = probe();
    let mut ctx = common::ctx("Probe");
    assert_eq!(
        f.process_message(&msg("fail"), &mut ctx),
        Err(PluginError::Failed("asked to fail".into()))
    );
    f.process_message(&msg("inject"), &mut ctx).unwrap();
    assert_eq!(ctx.take_injected().len(), 1);
}

#[test]
fn init_error_fails_the_load_with_the_reason() {
    let cfg = cfg("Probe").with_config("fail_init", ConfigValue::Boolean(true));
    let err =
        heka_sandbox::load_filter(engine(), &testing::api_probe(), cfg).expect_err("must fail");
    let text = err.to_string();
    assert!(text.contains("init refused by config"), "{text}");
}

#[test]
fn wrong_world_is_a_clear_load_error() {
    let err = heka_sandbox::load_filter(engine(), &heka_guest_build::slack_encoder(), cfg("X"))
        .expect_err("must fail");
    let text = err.to_string();
    assert!(
        text.contains("cannot instantiate") && text.contains("slack-encoder"),
        "{text}"
    );
}

#[test]
fn encoder_contract_last_output_wins_skip_and_fallback() {
    let mut e =
        heka_sandbox::load_encoder(engine(), &testing::probe_encoder(), cfg("Enc")).unwrap();
    let mut out = Vec::new();
    e.encode(&msg("hello"), &mut out).unwrap();
    assert_eq!(out, b"enc:hello");
    out.clear();
    e.encode(&msg("twice"), &mut out).unwrap();
    assert_eq!(out, b"second");
    out.clear();
    assert_eq!(e.encode(&msg("skip"), &mut out), Err(PluginError::Skip));
    assert_eq!(
        e.encode(&msg("fail"), &mut out),
        Err(PluginError::Failed("asked to fail".into()))
    );
    out.clear();
    e.encode(&msg("none"), &mut out).unwrap();
    assert_eq!(heka_message::decode_message(&out).unwrap(), msg("none"));
    out.clear();
    e.encode(&msg("msg"), &mut out).unwrap();
    assert_eq!(
        heka_message::decode_message(&out).unwrap().payload(),
        b"as-message"
    );
}

#[test]
fn decoder_write_message_and_read_back() {
    let mut d =
        heka_sandbox::load_decoder(engine(), &testing::probe_decoder(), cfg("Dec")).unwrap();
    let mut out = Vec::new();
    d.decode(msg("anything"), None, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    let m = &out[0];
    assert_eq!(m.type_(), "decoded");
    assert_eq!(field(m, "decoded"), Some(FieldValue::Bool(true)));
    assert_eq!(string_field(m, "read_back").as_deref(), Some("decoded"));
    assert_eq!(m.logger(), "ExampleLog", "untouched headers stay");
}

#[test]
fn decoder_injections_replace_the_message_and_inherit_headers() {
    let mut d =
        heka_sandbox::load_decoder(engine(), &testing::probe_decoder(), cfg("Dec")).unwrap();
    let mut out = Vec::new();
    d.decode(msg("split a b c"), None, &mut out).unwrap();
    let payloads: Vec<&[u8]> = out.iter().map(Message::payload).collect();
    assert_eq!(payloads, [&b"a"[..], b"b", b"c"]);
    for m in &out {
        assert_eq!(m.logger(), "ExampleLog");
        assert_eq!(m.type_(), "logfile");
        assert_eq!(m.hostname(), "web1");
        assert_eq!(m.severity(), 6);
        assert_eq!(m.pid(), 4242);
        assert_eq!(m.timestamp, 1_700_000_000_123_456_789);
        assert_eq!(m.uuid.len(), 16);
    }
}

#[test]
fn decoder_raw_and_failure() {
    let mut d =
        heka_sandbox::load_decoder(engine(), &testing::probe_decoder(), cfg("Dec")).unwrap();
    let mut out = Vec::new();
    d.decode(msg("raw"), Some(b"12345"), &mut out).unwrap();
    assert_eq!(field(&out[0], "raw_len"), Some(FieldValue::Integer(5)));
    out.clear();
    let err = d.decode(msg("fail"), None, &mut out).unwrap_err();
    assert_eq!(
        err,
        PluginError::Failed("Failed parsing: asked to fail payload: fail".into())
    );
    assert!(out.is_empty());
}

#[test]
fn json_decoder_fills_fields() {
    let cfg = cfg("Json").with_config("type", ConfigValue::String("app.json".into()));
    let mut d =
        heka_sandbox::load_decoder(engine(), &heka_guest_build::json_decoder(), cfg).unwrap();
    let mut out = Vec::new();
    d.decode(
        msg(r#"{"status":200,"path":"/x","ok":true,"t":1.5,"n":null,"a":[1,2]}"#),
        None,
        &mut out,
    )
    .unwrap();
    let m = &out[0];
    assert_eq!(m.type_(), "app.json");
    assert_eq!(field(m, "status"), Some(FieldValue::Integer(200)));
    assert_eq!(field(m, "path"), Some(FieldValue::String(b"/x")));
    assert_eq!(field(m, "ok"), Some(FieldValue::Bool(true)));
    assert_eq!(field(m, "t"), Some(FieldValue::Double(1.5)));
    assert_eq!(field(m, "n"), None);
    assert_eq!(field(m, "a"), Some(FieldValue::String(b"[1,2]")));
    out.clear();
    let err = d.decode(msg("not json"), None, &mut out).unwrap_err();
    assert!(matches!(err, PluginError::Failed(r) if r.starts_with("Failed parsing: ")));
}

#[test]
fn slack_encoder_builds_the_seed_json() {
    let mut e = heka_sandbox::load_encoder(
        engine(),
        &heka_guest_build::slack_encoder(),
        cfg("SlackEncoder"),
    )
    .unwrap();
    let mut out = Vec::new();
    e.encode(&msg("disk \"full\" \\ on /var\n\ttab\u{1}"), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        r##"{"icon_emoji":":heavy_exclamation_mark:","username":"something you like","text":"disk \"full\" \\ on /var\n\ttab\u0001","channel":"#something"}"##
    );
    let cfg = cfg("SlackEncoder")
        .with_config("channel", ConfigValue::String("#ops".into()))
        .with_config("username", ConfigValue::String("hekad".into()))
        .with_config("icon_emoji", ConfigValue::String(":fire:".into()));
    let mut e =
        heka_sandbox::load_encoder(engine(), &heka_guest_build::slack_encoder(), cfg).unwrap();
    let mut out = Vec::new();
    e.encode(&msg("é ✓"), &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r##"{"icon_emoji":":fire:","username":"hekad","text":"é ✓","channel":"#ops"}"##
    );
}

/// The guest finds bytes to escape 16 at a time (wasm SIMD): every special byte at
/// every offset of a 40-byte text, and runs of them, escape as serde_json does.
#[test]
fn slack_encoder_escapes_at_every_offset() {
    let mut e = heka_sandbox::load_encoder(
        engine(),
        &heka_guest_build::slack_encoder(),
        cfg("SlackEncoder"),
    )
    .unwrap();
    let base = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
    let mut texts = vec![String::new(), "\"\\\n\u{0}\u{1f}\u{7f}é".repeat(5)];
    for special in [
        '"', '\\', '\n', '\t', '\u{0}', '\u{1f}', '\u{8}', '\u{c}', ' ', 'é',
    ] {
        for at in 0..base.len() {
            let mut t = base.to_owned();
            t.replace_range(at..at + 1, &special.to_string());
            texts.push(t);
        }
    }
    for text in texts {
        let mut out = Vec::new();
        e.encode(&msg(&text), &mut out).unwrap();
        let want = format!(
            r##"{{"icon_emoji":":heavy_exclamation_mark:","username":"something you like","text":{},"channel":"#something"}}"##,
            serde_json::to_string(&text).unwrap()
        );
        assert_eq!(String::from_utf8(out).unwrap(), want, "{text:?}");
    }
}

#[test]
fn log_aggregator_groups_payloads_per_timer_event() {
    let mut f = heka_sandbox::load_filter(
        engine(),
        &heka_guest_build::log_aggregator(),
        cfg("ExampleLogAggregator"),
    )
    .unwrap();
    let mut ctx = common::ctx("ExampleLogAggregator");
    f.process_batch(&packs(&["a\n", "b\n"]), &mut ctx).unwrap();
    f.process_batch(&packs(&["c\n"]), &mut ctx).unwrap();
    assert!(ctx.take_injected().is_empty());
    ctx.begin_timer();
    f.timer_event(1, &mut ctx).unwrap();
    let out = ctx.take_injected();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload(), b"a\nb\nc\n");
    assert_eq!(out[0].type_(), "heka.sandbox-output");
    assert_eq!(out[0].logger(), "ExampleLogAggregator");
    assert_eq!(
        string_field(&out[0], "payload_type").as_deref(),
        Some("txt")
    );
    ctx.begin_timer();
    f.timer_event(2, &mut ctx).unwrap();
    assert!(
        ctx.take_injected().is_empty(),
        "nothing gathered, nothing injected"
    );
}

#[test]
fn log_aggregator_separator_and_early_flush() {
    let cfg = cfg("Agg")
        .with_config("separator", ConfigValue::String("|".into()))
        .with_config("max_lines", ConfigValue::Integer(2));
    let mut f =
        heka_sandbox::load_filter(engine(), &heka_guest_build::log_aggregator(), cfg).unwrap();
    let mut ctx = common::ctx("Agg");
    f.process_batch(&packs(&["a", "b", "c", "d", "e"]), &mut ctx)
        .unwrap();
    let payloads: Vec<String> = ctx
        .take_injected()
        .iter()
        .map(|m| String::from_utf8_lossy(m.payload()).into_owned())
        .collect();
    assert_eq!(payloads, ["a|b", "c|d"]);
    ctx.begin_timer();
    f.timer_event(1, &mut ctx).unwrap();
    assert_eq!(ctx.take_injected()[0].payload(), b"e");

    let cfg = cfg_bytes(5);
    let mut f =
        heka_sandbox::load_filter(engine(), &heka_guest_build::log_aggregator(), cfg).unwrap();
    let mut ctx = common::ctx("Agg");
    f.process_batch(&packs(&["aa", "bb", "cc"]), &mut ctx)
        .unwrap();
    let payloads: Vec<String> = ctx
        .take_injected()
        .iter()
        .map(|m| String::from_utf8_lossy(m.payload()).into_owned())
        .collect();
    assert_eq!(payloads, ["aabb"]);
}

fn cfg_bytes(n: i64) -> heka_sandbox::SandboxConfig {
    cfg("Agg").with_config("max_bytes", ConfigValue::Integer(n))
}
