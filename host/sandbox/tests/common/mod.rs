//! Shared helpers for the sandbox tests: one engine per test binary (its disk cache
//! under cargo's test tmpdir, so reruns skip cranelift), message and context builders.

#![allow(dead_code)]

use std::sync::OnceLock;

use heka_message::{Message, Value};
use heka_pipeline::{FilterContext, Pack, Settings};
use heka_sandbox::{SandboxConfig, SandboxEngine};

pub fn engine() -> &'static SandboxEngine {
    static ENGINE: OnceLock<SandboxEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
        SandboxEngine::new(Some(&dir)).expect("engine")
    })
}

/// An input-like message with every header set.
pub fn msg(payload: &str) -> Message {
    Message {
        uuid: (1..=16).collect(),
        timestamp: 1_700_000_000_123_456_789,
        r#type: Some("logfile".into()),
        logger: Some("ExampleLog".into()),
        severity: Some(6),
        payload: Some(payload.into()),
        env_version: Some("0.8".into()),
        pid: Some(4242),
        hostname: Some("web1".into()),
        fields: Vec::new(),
    }
}

pub fn packs(payloads: &[&str]) -> Vec<Pack> {
    payloads.iter().map(|p| Pack::new(msg(p), None)).collect()
}

pub fn settings() -> Settings {
    Settings {
        hostname: "hekad-host".into(),
        pid: 77,
        max_process_inject: 10,
        ..Settings::default()
    }
}

pub fn ctx(name: &str) -> FilterContext {
    FilterContext::standalone(name, &settings(), None)
}

pub fn cfg(name: &str) -> SandboxConfig {
    SandboxConfig::new(name)
}

/// The first value of `Fields[name]`.
pub fn field<'a>(m: &'a Message, name: &str) -> Option<heka_message::FieldValue<'a>> {
    m.field_value(name, 0, 0)
}

pub fn string_field(m: &Message, name: &str) -> Option<String> {
    match field(m, name)? {
        heka_message::FieldValue::String(s) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

pub fn int(v: i64) -> Value {
    Value::Integer(v)
}
