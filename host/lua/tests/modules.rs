//! The sandbox's C modules through `require` in a real filter: circular_buffer's
//! `cbuf`/`cbufd` text byte for byte (the sequences Heka's own sandbox tests
//! expected), its methods, its preservation; `struct`.

mod common;

use common::*;
use heka_lua::LuaConfig;
use heka_pipeline::Filter;

/// Heka's circular buffer test script: three columns, each message adds, sets and
/// copies at its Timestamp; the timer reports the buffer.
const CBUF: &str = r#"
require "circular_buffer"
data = circular_buffer.new(3, 3, 1, @DELTA@)
local ADD_COL = data:set_header(1, "Add column")
local SET_COL = data:set_header(2, "Set column", "count")
local GET_COL = data:set_header(3, "Get column", "count", "sum")

function process_message()
    local ts = read_message("Timestamp")
    if data:add(ts, ADD_COL, 1) then
        data:set(ts, GET_COL, data:get(ts, ADD_COL))
    end
    data:set(ts, SET_COL, 1)
    return 0
end

function timer_event(ns)
    if ns == 1 then data:format("cbufd") else data:format("cbuf") end
    inject_payload("cbuf", "Method tests", data)
end
"#;

const HEADER: &str = "\"rows\":3,\"columns\":3,\"seconds_per_row\":1,\"column_info\":[{\"name\":\"Add_column\",\"unit\":\"count\",\"aggregation\":\"sum\"},{\"name\":\"Set_column\",\"unit\":\"count\",\"aggregation\":\"sum\"},{\"name\":\"Get_column\",\"unit\":\"count\",\"aggregation\":\"sum\"}]}\n";

fn at(ns: i64) -> heka_message::Message {
    let mut m = payload_message("x");
    m.timestamp = ns;
    m
}

/// The payloads injected by one timer_event(ns) (none when the output was empty).
fn report(f: &mut heka_lua::LuaFilter, ns: i64) -> Vec<String> {
    let mut ctx = ctx();
    ctx.begin_timer();
    f.timer_event(ns, &mut ctx).expect("timer");
    ctx.take_injected()
        .iter()
        .map(|m| String::from_utf8_lossy(m.payload()).into_owned())
        .collect()
}

fn feed(f: &mut heka_lua::LuaFilter, times: &[i64]) {
    for t in times {
        f.process_message(&at(*t), &mut ctx()).expect("process");
    }
}

/// Heka's test sequence: one message at second 0, two at 1, three at 2.
fn first_three_seconds(f: &mut heka_lua::LuaFilter) {
    let s = 1_000_000_000;
    feed(f, &[0, s, s, 2 * s, 2 * s, 2 * s]);
    assert_eq!(
        report(f, 0),
        [format!("{{\"time\":0,{HEADER}1\t1\t1\n2\t1\t2\n3\t1\t3\n")]
    );
}

#[test]
fn cbuf_output_is_heka_s_byte_for_byte() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(&CBUF.replace("@DELTA@", "false"));
    assert_eq!(
        report(&mut f, 0),
        [format!(
            "{{\"time\":0,{HEADER}nan\tnan\tnan\nnan\tnan\tnan\nnan\tnan\tnan\n"
        )]
    );
    first_three_seconds(&mut f);
    feed(&mut f, &[4_000_000_000]);
    assert_eq!(
        report(&mut f, 0),
        [format!(
            "{{\"time\":2,{HEADER}3\t1\t3\nnan\tnan\tnan\n1\t1\t1\n"
        )]
    );
    feed(&mut f, &[10_000_000_000]);
    assert_eq!(
        report(&mut f, 0),
        [format!(
            "{{\"time\":8,{HEADER}nan\tnan\tnan\nnan\tnan\tnan\n1\t1\t1\n"
        )]
    );
    // A cbufd output of a buffer without delta tracking is empty: nothing injected.
    assert!(report(&mut f, 1).is_empty());
}

#[test]
fn cbufd_rows_come_in_lua_table_order_and_are_consumed() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(&CBUF.replace("@DELTA@", "true"));
    first_three_seconds(&mut f);
    // Lua 5.1 walks the array part (times 1, 2) before the hash part (time 0),
    // which is the order Heka printed.
    assert_eq!(
        report(&mut f, 1),
        [format!(
            "{{\"time\":0,{HEADER}1\t2\t1\t2\n2\t3\t1\t3\n0\t1\t1\t1\n"
        )]
    );
    assert!(
        report(&mut f, 1).is_empty(),
        "deltas are consumed by output"
    );
}

#[test]
fn buffers_survive_preserve_data_in_heka_s_format() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Graph");
    cfg.spec.preservation_file = Some(heka_pipeline::sandbox::SandboxSpec::preservation_file(
        scripts.dir.path(),
        "Graph",
    ));
    let file = cfg.spec.preservation_file.clone().expect("file");
    let source = CBUF.replace("@DELTA@", "true") + "\nsame = data\n";
    let mut f = scripts.filter_with(&source, cfg.clone());
    feed(&mut f, &[1_000_000_000, 2_000_000_000, 2_000_000_000]);
    let before = report(&mut f, 0);
    f.shutdown();
    let text = std::fs::read_to_string(&file).expect("data file");
    // `data` and `same` are one buffer: written once, under whichever name Lua's
    // table walk meets first, the other name an alias.
    let (key, alias) = if text.contains("_G[\"same\"] = _G[\"data\"]\n") {
        ("_G[\"data\"]", "same")
    } else {
        ("_G[\"same\"]", "data")
    };
    let data_lines = format!(
        "if {key} == nil then {key} = circular_buffer.new(3, 3, 1, true) end\n\
         {key}:set_header(1, \"Add_column\", \"count\", \"sum\")\n\
         {key}:set_header(2, \"Set_column\", \"count\", \"sum\")\n\
         {key}:set_header(3, \"Get_column\", \"count\", \"sum\")\n\
         {key}:fromstring(\"2 2 nan nan nan 1 1 1 2 1 2 1 1 1 1 2 2 1 2\")\n"
    );
    assert!(text.contains(&data_lines), "{text}");
    assert!(
        text.contains(&format!("_G[\"{alias}\"] = {key}\n")),
        "{text}"
    );
    assert!(!text.contains("_G[\"circular_buffer\"]"), "{text}");

    let mut g = scripts.filter_with(&source, cfg);
    assert_eq!(report(&mut g, 0), before);
    assert_eq!(
        report(&mut g, 1),
        [format!("{{\"time\":0,{HEADER}1\t1\t1\t1\n2\t2\t1\t2\n")]
    );
}

#[test]
fn circular_buffer_methods() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r##"
        require "circular_buffer"
        local cb = circular_buffer.new(4, 2, 60)
        local t = {}
        local function put(...)
            for i = 1, select("#", ...) do t[#t + 1] = tostring((select(i, ...))) end
        end
        put(cb:set(60e9, 1, 5), cb:add(120e9, 1, 10), cb:set(180e9, 1, 1), cb:get(60e9, 1))
        put(cb:compute("sum", 1))
        put(cb:compute("avg", 1, 60e9, 120e9), cb:compute("min", 1), cb:compute("max", 1))
        put(cb:compute("sum", 1, 0, 60e9), cb:compute("sum", 2), cb:get(0, 1), cb:get(240e9, 1))
        put(cb:current_time(), cb:get_configuration())
        put(cb:get_header(2))
        cb:set_header(2, "errors/s", "req/s", "max")
        put(cb:get_header(2))
        put(cb:set(180e9, 2, 3), cb:set(180e9, 2, 2), cb:set(180e9, 2, 7))
        local r = cb:get_range(1)
        put(#r, r[2], r[4])
        put(cb:get_range(1, 0, 999e9))
        put(pcall(cb.get, cb, 0, 3))
        put(pcall(cb.compute, cb, "median", 1))
        put(pcall(circular_buffer.new, 1, 1, 1))
        put(pcall(cb.fromstring, cb, "1 0 1 2"))
        function process_message() inject_payload("txt", "", table.concat(t, " ")) return 0 end
        "##,
    );
    let mut ctx = ctx();
    f.process_message(&payload_message("x"), &mut ctx)
        .expect("process");
    let out = ctx.take_injected();
    assert_eq!(
        String::from_utf8_lossy(out[0].payload()),
        "5 10 1 5 16 3 7.5 1 10 3 5 0 nan nil 180000000000 4 2 60 Column_2 count sum \
         errors_s req/s max 3 3 7 4 5 1 nil \
         false bad argument #2 to 'get' (column out of range) \
         false bad argument #1 to 'compute' (invalid option 'median') \
         false bad argument #1 to 'new' (rows must be > 1) \
         false fromstring() too few values: 2, expected 8"
    );
}

#[test]
fn struct_pack_unpack_size() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r##"
        require "struct"
        local t = {}
        local function put(...)
            for i = 1, select("#", ...) do t[#t + 1] = tostring((select(i, ...))) end
        end
        local s = struct.pack(">I2i4bc3s", 258, -2, -1, "abcdef", "z")
        put(#s, s:byte(1), s:byte(2), s:byte(6), s:byte(7))
        put(struct.unpack(">I2i4bc3s", s))
        put(struct.size("<!4bi4d"), struct.size("hxL"))
        put(struct.unpack("<d", struct.pack("<d", 0.25)))
        put(struct.unpack("b c0", struct.pack("b c0", 3, "xyz")))
        put(pcall(struct.size, "s"))
        put(pcall(struct.unpack, "i4", "ab"))
        function process_message() inject_payload("txt", "", table.concat(t, " ")) return 0 end
        "##,
    );
    let mut ctx = ctx();
    f.process_message(&payload_message("x"), &mut ctx)
        .expect("process");
    assert_eq!(
        String::from_utf8_lossy(ctx.take_injected()[0].payload()),
        "12 1 2 254 255 258 -2 -1 abc z 13 16 11 0.25 9 xyz 5 \
         false bad argument #1 to 'size' (options 'c0' and 's' have variable size) \
         false bad argument #2 to 'unpack' (data string too short)"
    );
}

#[test]
fn probabilistic_counters_count_and_survive_preserve_data() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Counters");
    cfg.spec.preservation_file = Some(heka_pipeline::sandbox::SandboxSpec::preservation_file(
        scripts.dir.path(),
        "Counters",
    ));
    let source = r#"
        require "hyperloglog"
        require "bloom_filter"
        require "cuckoo_filter"
        hll = hyperloglog.new()
        bf = bloom_filter.new(1000, 0.01)
        cf = cuckoo_filter.new(1000)
        function process_message()
            local p = read_message("Payload")
            local t = {tostring(hll:add(p)), tostring(bf:add(p)), tostring(cf:add(p))}
            inject_payload("txt", "", table.concat(t, " "))
            return 0
        end
        function timer_event(ns)
            inject_payload("txt", "", string.format("%d %d %s %s %d %s %s",
                hll:count(), bf:count(), tostring(bf:query("a")), tostring(bf:query("zz")),
                cf:count(), tostring(cf:query("b")), tostring(cf:query("zz"))))
        end
    "#;
    let mut f = scripts.filter_with(source, cfg.clone());
    let mut seen = Vec::new();
    for p in ["a", "b", "c", "a"] {
        let mut ctx = ctx();
        f.process_message(&payload_message(p), &mut ctx)
            .expect("process");
        seen.push(String::from_utf8_lossy(ctx.take_injected()[0].payload()).into_owned());
    }
    assert_eq!(
        seen,
        [
            "true true true",
            "true true true",
            "true true true",
            "false false false"
        ]
    );
    assert_eq!(report(&mut f, 0), ["3 3 true false 3 true false"]);
    f.shutdown();
    let mut g = scripts.filter_with(source, cfg);
    assert_eq!(report(&mut g, 0), ["3 3 true false 3 true false"]);
}

#[test]
fn module_objects_are_charged_to_memory_limit() {
    let scripts = Scripts::new();
    let mut cfg = LuaConfig::new("Big");
    cfg.spec.limits.memory_limit = 1024 * 1024;
    let mut f = scripts.filter_with(
        r#"
        require "circular_buffer"
        require "bloom_filter"
        local ok1, e1 = pcall(circular_buffer.new, 10000, 100, 60)
        local ok2 = pcall(bloom_filter.new, 1e7, 0.01)
        local small = circular_buffer.new(1440, 4, 60)
        function process_message()
            inject_payload("txt", "", tostring(ok1) .. " " .. tostring(e1) .. " " .. tostring(ok2))
            return 0
        end
        "#,
        cfg,
    );
    let mut ctx = ctx();
    f.process_message(&payload_message("x"), &mut ctx)
        .expect("process");
    assert_eq!(
        ctx.take_injected()[0].payload(),
        b"false not enough memory false"
    );
}

/// A module from module_directory (a dotted name: a subdirectory) runs once per
/// sandbox, and each sandbox has its own copy of its state.
#[test]
fn modules_load_once_per_sandbox_and_stay_isolated() {
    let scripts = Scripts::new();
    let dir = scripts.dir.path().join("mods/counter");
    std::fs::create_dir_all(&dir).expect("module dir");
    std::fs::write(
        dir.join("state.lua"),
        "loads = (loads or 0) + 1\nlocal M = {n = 0}\nreturn M\n",
    )
    .expect("module");
    let mut cfg = LuaConfig::new("Iso");
    cfg.module_directory = vec![scripts.dir.path().join("mods")];
    let source = r#"
        local a = require "counter.state"
        local b = require "counter.state"
        a.n = a.n + 1
        function process_message()
            inject_payload("txt", "", loads .. " " .. b.n .. " " .. tostring(a == b))
            return 0
        end
    "#;
    for _ in 0..2 {
        let mut f = scripts.filter_with(source, cfg.clone());
        let mut ctx = ctx();
        f.process_message(&payload_message("x"), &mut ctx)
            .expect("process");
        assert_eq!(ctx.take_injected()[0].payload(), b"1 1 true");
    }
}
