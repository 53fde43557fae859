//! LPeg in the sandbox: `require "lpeg"` / `require "re"` in a real filter (and their
//! globals, as Heka's sandbox registered them), and the sandbox's limits while a
//! pattern matches: a pathological pattern ends at instruction_limit or the backtrack
//! limit, never by hanging the host.

mod common;

use common::*;
use heka_lua::LuaConfig;
use heka_pipeline::{Filter, PluginError};

#[test]
fn a_filter_parses_payloads_with_lpeg_and_re() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"
local l = require "lpeg"
require "re"
assert(l == lpeg and type(re.compile) == "function")
local num = lpeg.R"09"^1 / tonumber
local kv = lpeg.Ct(lpeg.Cg(lpeg.C(lpeg.R"az"^1) * "=" * num, "k"))
local status = re.compile([[ {[0-9]^3} ]])
function process_message()
    local p = read_message("Payload")
    local t = kv:match(p)
    if not t or t.k ~= "code" then error("kv: " .. tostring(p)) end
    if status:match("404") ~= "404" then error("re") end
    if re.find("GET /x HTTP", "'HTTP'") ~= 8 then error("find") end
    return 0
end
"#,
    );
    f.process_message(&payload_message("code=200"), &mut ctx())
        .expect("parses");
    assert!(
        f.process_message(&payload_message("nope"), &mut ctx())
            .is_err()
    );
}

/// S <- "a" S "x" / "a" S "y" / "": on a run of "a"s with no "x"/"y" every level tries
/// both alternatives, 2^n paths.
const EXPONENTIAL: &str = r#"
local S = lpeg.P{ "S", S = "a" * lpeg.V"S" * "x" + "a" * lpeg.V"S" * "y" + "" }
function process_message()
    local ok, err = pcall(lpeg.match, S, string.rep("a", 60) .. "z")
    return 0
end
"#;

#[test]
fn an_exponential_pattern_hits_the_instruction_limit() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Exp");
    cfg.spec.limits.instruction_limit = 1_000_000;
    let mut f = scripts.filter_with(&format!("require 'lpeg'\n{EXPONENTIAL}"), cfg);
    // pcall does not save the script: the broken limit is fatal.
    match f.process_message(&sample(), &mut ctx()) {
        Err(PluginError::Fatal(reason)) => {
            assert_eq!(reason, "instruction_limit exceeded (1000000 per call)")
        }
        other => panic!("expected the instruction limit, got {other:?}"),
    }
}

#[test]
fn deep_recursion_hits_the_backtrack_limit() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"
require "lpeg"
local P = lpeg.P{ "(" * lpeg.V(1) * ")" + "" }
function process_message()
    local ok, err = pcall(lpeg.match, P, string.rep("(", 1000))
    if ok then error("matched") end
    if not tostring(err):find("backtrack stack overflow", 1, true) then error(tostring(err)) end
    return 0
end
"#,
    );
    f.process_message(&sample(), &mut ctx())
        .expect("the error is catchable");
}

#[test]
fn patterns_count_toward_the_memory_limit() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Mem");
    cfg.spec.limits.memory_limit = 4 * 1024 * 1024;
    // The same (interned) 100 kB string each time: without the charge Lua would see
    // almost nothing while the patterns' copies grew on the host's heap.
    let mut f = scripts.filter_with(
        r#"
require "lpeg"
t = {}
function process_message()
    local s = string.rep("a", 100000)
    for i = 1, 1000 do t[i] = lpeg.P(s) end
    return 0
end
"#,
        cfg,
    );
    match f.process_message(&sample(), &mut ctx()) {
        Err(PluginError::Fatal(reason)) => {
            assert_eq!(reason, "memory_limit exceeded (4194304 bytes)")
        }
        other => panic!("expected the memory limit, got {other:?}"),
    }
}
