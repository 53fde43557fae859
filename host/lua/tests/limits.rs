//! Heka's limits on Lua sandboxes: memory_limit, instruction_limit (per call),
//! output_limit. Exceeding one terminates the plugin with a reason worded as the wasm
//! sandbox's; `pcall` cannot save a script from it. Also: a syntax error names the
//! file and line at load time.

mod common;

use common::*;
use heka_lua::{LuaConfig, SandboxError as LuaError};
use heka_pipeline::{Encoder, Filter, PluginError};

fn fatal_reason(r: Result<(), PluginError>) -> String {
    match r {
        Err(PluginError::Fatal(reason)) => reason,
        other => panic!("expected a fatal error, got {other:?}"),
    }
}

#[test]
fn memory_limit_terminates() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Mem");
    cfg.spec.limits.memory_limit = 1024 * 1024;
    let mut f = scripts.filter_with(
        r#"t = {}
        function process_message()
            for i = 1, 1e7 do t[i] = string.rep("x", 100) .. i end
            return 0
        end"#,
        cfg,
    );
    let reason = fatal_reason(f.process_message(&sample(), &mut ctx()));
    assert_eq!(reason, "memory_limit exceeded (1048576 bytes)");
    let again = fatal_reason(f.process_message(&sample(), &mut ctx()));
    assert!(
        again.starts_with("terminated earlier: memory_limit exceeded"),
        "{again}"
    );
}

#[test]
fn memory_limit_applies_to_the_top_level() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Mem");
    cfg.spec.limits.memory_limit = 256 * 1024;
    let path = scripts.write(
        "big.lua",
        "big = string.rep('x', 1024 * 1024)\nfunction process_message() return 0 end",
    );
    let err = heka_lua::load_filter(&path, cfg).unwrap_err().to_string();
    assert!(
        err.contains("memory_limit exceeded (262144 bytes)"),
        "{err}"
    );
}

#[test]
fn instruction_limit_is_per_call() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Ins");
    cfg.spec.limits.instruction_limit = 10_000;
    let mut f = scripts.filter_with(
        r#"function process_message()
            local n = tonumber(read_message("Payload"))
            local x = 0
            for i = 1, n do x = x + i end
            return 0
        end"#,
        cfg,
    );
    // 1000 iterations (~4000 instructions) fit, many times over: the count restarts.
    for _ in 0..20 {
        f.process_message(&payload_message("1000"), &mut ctx())
            .expect("within the limit");
    }
    let reason = fatal_reason(f.process_message(&payload_message("100000"), &mut ctx()));
    assert_eq!(reason, "instruction_limit exceeded (10000 per call)");
}

#[test]
fn instruction_limit_cannot_be_caught_by_pcall() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Ins");
    cfg.spec.limits.instruction_limit = 5_000;
    let mut f = scripts.filter_with(
        r#"function process_message()
            local ok = pcall(function() while true do end end)
            return 0
        end"#,
        cfg,
    );
    let reason = fatal_reason(f.process_message(&sample(), &mut ctx()));
    assert_eq!(reason, "instruction_limit exceeded (5000 per call)");
}

#[test]
fn endless_top_level_is_bounded() {
    let scripts = Scripts::new();
    let path = scripts.write("loop.lua", "while true do end");
    let err = heka_lua::load_filter(&path, LuaConfig::new("Loop"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("instruction_limit exceeded"), "{err}");
}

#[test]
fn output_limit_on_the_payload_buffer() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Out");
    cfg.spec.limits.output_limit = 1000;
    let mut f = scripts.filter_with(
        r#"function process_message()
            pcall(add_to_payload, string.rep("x", 600))
            pcall(add_to_payload, string.rep("x", 600))
            return 0
        end"#,
        cfg,
    );
    let reason = fatal_reason(f.process_message(&sample(), &mut ctx()));
    assert_eq!(reason, "output_limit exceeded (1000 bytes)");
}

#[test]
fn output_limit_on_injected_messages() {
    let scripts = Scripts::new();
    let path = scripts.write(
        "enc.lua",
        r#"function process_message() inject_message({Payload = string.rep("y", 2000)}) return 0 end"#,
    );
    let mut cfg = LuaConfig::new("Out");
    cfg.spec.limits.output_limit = 1000;
    let mut e = heka_lua::load_encoder(&path, cfg).expect("load");
    let reason = match e.encode(&sample(), &mut Vec::new()) {
        Err(PluginError::Fatal(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(reason, "output_limit exceeded (1000 bytes)");
}

#[test]
fn cjson_encode_is_bounded_by_output_limit() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Out");
    cfg.spec.limits.output_limit = 100;
    let mut f = scripts.filter_with(
        r#"require "cjson"
        function process_message()
            local ok, err = pcall(cjson.encode, {string.rep("z", 200)})
            if not ok then return -1, err end
            return 0
        end"#,
        cfg,
    );
    assert_eq!(
        f.process_message(&sample(), &mut ctx()),
        Err(PluginError::Failed(
            "output_limit exceeded (100 bytes)".into()
        ))
    );
}

#[test]
fn syntax_error_names_file_and_line() {
    let scripts = Scripts::new();
    let path = scripts.write(
        "broken.lua",
        "function process_message()\n  return 0\nend\n\nlocal x = = 1\n",
    );
    let err = heka_lua::load_filter(&path, LuaConfig::new("Broken")).unwrap_err();
    assert!(matches!(err, LuaError::Compile { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("broken.lua: syntax error:"), "{text}");
    assert!(text.contains("broken.lua:5:"), "{text}");
}

#[test]
fn missing_script_is_a_read_error() {
    let err = heka_lua::load_filter(
        std::path::Path::new("/nonexistent/x.lua"),
        LuaConfig::new("X"),
    )
    .unwrap_err();
    assert!(matches!(err, LuaError::Read { .. }), "{err:?}");
}

#[test]
fn deep_json_nesting_is_an_error_not_a_crash() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"require "cjson"
        function process_message()
            local t = {} local top = t
            for i = 1, 5000 do t[1] = {} t = t[1] end
            local ok1, e1 = pcall(cjson.encode, top)
            local ok2, e2 = pcall(cjson.decode, string.rep("[", 5000) .. string.rep("]", 5000))
            local self = {} self.me = self
            local ok3, e3 = pcall(cjson.encode, self)
            inject_payload("txt", "", table.concat({tostring(ok1), e1, tostring(ok2), e2, tostring(ok3)}, "|"))
            return 0
        end"#,
    );
    let mut ctx = ctx();
    f.process_message(&sample(), &mut ctx).expect("process");
    let out = String::from_utf8_lossy(ctx.take_injected()[0].payload()).into_owned();
    assert_eq!(
        out,
        "false|Cannot serialise, excessive nesting (201)|false|Found too many nested data structures (201) at character 201|false"
    );
}
