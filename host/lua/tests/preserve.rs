//! `preserve_data`: global data saved at clean shutdown in Heka's format and restored
//! at start; version changes start clean; a terminated sandbox writes nothing.

mod common;

use common::*;
use heka_lua::{LuaConfig, LuaFilter};
use heka_pipeline::{Filter, PluginError};

const SCRIPT: &str = r#"
_PRESERVATION_VERSION = @VER@
count = 0
seen = {}
last = ""
nested = {inner = {list = {1, 2.5, "three", true}}, ["key with space"] = "v\n\"q\"\0"}
nested.self = nested          -- a cycle
alias = nested.inner          -- a shared reference
local not_preserved = 1
fn = function() end

function process_message()
    count = count + 1
    local p = read_message("Payload")
    seen[p] = (seen[p] or 0) + 1
    last = p
    if p == "boom" then error("boom") end
    return 0
end

function timer_event(ns)
    local keys = {}
    for k, v in pairs(seen) do keys[#keys + 1] = k .. "=" .. v end
    table.sort(keys)
    inject_payload("txt", "", string.format("count=%d last=%s %s list=%s,%s,%s,%s self=%s alias=%s kws=%q",
        count, last, table.concat(keys, ","), nested.inner.list[1], nested.inner.list[2],
        nested.inner.list[3], tostring(nested.inner.list[4]), tostring(nested.self == nested),
        tostring(alias == nested.inner), nested["key with space"]))
end
"#;

fn load(scripts: &Scripts, version: u32, cfg: &LuaConfig) -> LuaFilter {
    scripts.filter_with(&SCRIPT.replace("@VER@", &version.to_string()), cfg.clone())
}

fn report(f: &mut LuaFilter) -> String {
    let mut ctx = ctx();
    ctx.begin_timer();
    f.timer_event(0, &mut ctx).expect("timer");
    String::from_utf8_lossy(ctx.take_injected()[0].payload()).into_owned()
}

fn config(scripts: &Scripts) -> LuaConfig {
    let mut cfg = LuaConfig::new("Pres-filter.1");
    cfg.spec.preservation_file = Some(heka_pipeline::sandbox::SandboxSpec::preservation_file(
        scripts.dir.path(),
        "Pres-filter.1",
    ));
    cfg
}

#[test]
fn round_trip_in_heka_s_format() {
    let scripts = Scripts::new();
    let cfg = config(&scripts);
    let file = cfg.spec.preservation_file.clone().expect("file");
    assert!(file.ends_with("sandbox_preservation/Pres_filter_1.data"));

    let mut f = load(&scripts, 1, &cfg);
    for p in ["a", "b", "a"] {
        f.process_message(&payload_message(p), &mut ctx())
            .expect("process");
    }
    let before = report(&mut f);
    f.shutdown();
    let text = std::fs::read_to_string(&file).expect("data file written");
    assert!(text.contains("_G[\"count\"] = 3\n"), "{text}");
    assert!(
        text.contains("_G[\"_PRESERVATION_VERSION\"] = 1\n"),
        "{text}"
    );
    assert!(
        !text.contains("not_preserved") && !text.contains("\"fn\""),
        "{text}"
    );
    assert!(
        !text.contains("_G[\"string\"]") && !text.contains("_G[\"cjson\"]"),
        "{text}"
    );

    let mut g = load(&scripts, 1, &cfg);
    let after = report(&mut g);
    assert_eq!(after, before);
    assert_eq!(
        after,
        "count=3 last=a a=2,b=1 list=1,2.5,three,true self=true alias=true kws=\"v\\\n\\\"q\\\"\\000\""
    );
}

#[test]
fn version_change_starts_clean() {
    let scripts = Scripts::new();
    let cfg = config(&scripts);
    let mut f = load(&scripts, 1, &cfg);
    f.process_message(&payload_message("a"), &mut ctx())
        .expect("process");
    f.shutdown();
    let mut g = load(&scripts, 2, &cfg);
    assert!(report(&mut g).starts_with("count=0 last= "), "fresh start");
}

#[test]
fn not_written_when_terminated() {
    let scripts = Scripts::new();
    let cfg = config(&scripts);
    let mut f = load(&scripts, 1, &cfg);
    f.process_message(&payload_message("a"), &mut ctx())
        .expect("process");
    assert!(matches!(
        f.process_message(&payload_message("boom"), &mut ctx()),
        Err(PluginError::Fatal(_))
    ));
    f.shutdown();
    assert!(!cfg.spec.preservation_file.as_ref().expect("file").exists());
}

#[test]
fn corrupt_data_file_is_a_clear_start_error() {
    let scripts = Scripts::new();
    let cfg = config(&scripts);
    let file = cfg.spec.preservation_file.clone().expect("file");
    std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
    std::fs::write(&file, "_G[\"count\"] = = 1\n").expect("write");
    let path = scripts.write("p.lua", &SCRIPT.replace("@VER@", "0"));
    let err = heka_lua::load_filter(&path, cfg).unwrap_err().to_string();
    assert!(err.contains("cannot restore preserved data"), "{err}");
    assert!(err.contains("Pres_filter_1.data"), "{err}");
}

#[test]
fn too_deep_tables_are_refused_not_a_crash() {
    let scripts = Scripts::new();
    let cfg = config(&scripts);
    let mut f = scripts.filter_with(
        "deep = {} local t = deep for i = 1, 5000 do t.next = {} t = t.next end\nfunction process_message() return 0 end",
        cfg.clone(),
    );
    f.shutdown();
    assert!(
        !cfg.spec.preservation_file.as_ref().expect("file").exists(),
        "nothing half-written"
    );
}
