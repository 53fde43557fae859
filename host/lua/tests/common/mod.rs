//! Helpers shared by the heka-lua integration tests: scripts in temp dirs, messages,
//! standalone filter contexts.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use heka_lua::{LuaConfig, LuaDecoder, LuaEncoder, LuaFilter};
use heka_message::{Message, Value};
use heka_pipeline::{FilterContext, Settings};

/// A temp dir holding scripts; dropped with the test.
pub struct Scripts {
    pub dir: tempfile::TempDir,
}

impl Scripts {
    pub fn new() -> Scripts {
        Scripts {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn write(&self, name: &str, source: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, source).expect("write script");
        path
    }

    pub fn filter(&self, source: &str) -> LuaFilter {
        self.filter_with(source, LuaConfig::new("TestFilter"))
    }

    pub fn filter_with(&self, source: &str, cfg: LuaConfig) -> LuaFilter {
        let path = self.write("filter.lua", source);
        heka_lua::load_filter(&path, cfg).expect("load filter")
    }

    pub fn encoder(&self, source: &str) -> LuaEncoder {
        let path = self.write("encoder.lua", source);
        heka_lua::load_encoder(&path, LuaConfig::new("TestEncoder")).expect("load encoder")
    }

    pub fn decoder(&self, source: &str) -> LuaDecoder {
        let path = self.write("decoder.lua", source);
        heka_lua::load_decoder(&path, LuaConfig::new("TestDecoder")).expect("load decoder")
    }
}

/// The repository root (for the seed scripts in config/lua).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("host/lua is two levels below the root")
}

pub fn settings() -> Settings {
    Settings {
        hostname: "hekad-host".into(),
        pid: 99,
        max_process_inject: 10,
        ..Settings::default()
    }
}

pub fn ctx() -> FilterContext {
    FilterContext::standalone("TestFilter", &settings(), None)
}

/// A message with every header and a few fields set.
pub fn sample() -> Message {
    let mut m = Message {
        uuid: (0u8..16).collect(),
        timestamp: 1_700_000_000_123_456_789,
        r#type: Some("logfile".into()),
        logger: Some("ExampleLog".into()),
        severity: Some(6),
        payload: Some("GET /index.html 200\n".into()),
        env_version: Some("0.8".into()),
        pid: Some(4242),
        hostname: Some("web1".into()),
        fields: Vec::new(),
    };
    m.add_field("status", Value::Integer(200), "code");
    m.add_field("ratio", Value::Double(0.25), "");
    m.add_field("ok", Value::Bool(true), "");
    m.add_field("blob", Value::Bytes(vec![0, 1, 2]), "");
    m.add_field("tags", Value::String("a".into()), "");
    if let Some(f) = m.fields.last_mut() {
        f.push(Value::String("b".into()));
    }
    m.add_field("tags", Value::String("second".into()), "");
    m
}

pub fn payload_message(payload: &str) -> Message {
    Message {
        uuid: vec![7; 16],
        timestamp: 1_700_000_000_000_000_000,
        r#type: Some("logfile".into()),
        logger: Some("ExampleLog".into()),
        payload: Some(payload.into()),
        ..Default::default()
    }
}
