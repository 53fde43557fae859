//! Heka 0.10's Lua API, one test (or a few) per function, through the real plugin
//! types: read_message, read_config, read_next_field, add_to_payload,
//! inject_payload, inject_message, decode_message, write_message, return codes,
//! timer_event, require and the environment, cjson.

mod common;

use common::*;
use heka_lua::{ConfigValue, LuaConfig};
use heka_message::{FieldValue, Message, ValueType};
use heka_pipeline::{Decoder, Encoder, Filter, Pack, PluginError};

/// Runs `body` (Lua statements) as process_message over `msg`; the script reports
/// through `inject_payload` what it read, returned as the payload.
fn probe(body: &str, msg: &Message) -> String {
    let scripts = Scripts::new();
    let mut f = scripts.filter(&format!(
        "function process_message()\n{body}\nreturn 0\nend"
    ));
    let mut ctx = ctx();
    f.process_message(msg, &mut ctx).expect("process_message");
    let out = ctx.take_injected();
    assert_eq!(out.len(), 1, "one injection expected");
    String::from_utf8_lossy(out[0].payload()).into_owned()
}

#[test]
fn read_message_headers() {
    let got = probe(
        r#"local t = {}
        for _, k in ipairs({"Type","Logger","Payload","EnvVersion","Hostname","Uuid"}) do
            t[#t+1] = k .. "=" .. read_message(k)
        end
        t[#t+1] = "Timestamp=" .. string.format("%.0f", read_message("Timestamp"))
        t[#t+1] = "Severity=" .. read_message("Severity")
        t[#t+1] = "Pid=" .. read_message("Pid")
        t[#t+1] = "Missing=" .. tostring(read_message("Nope"))
        inject_payload("txt", "", table.concat(t, "|"))"#,
        &sample(),
    );
    assert_eq!(
        got,
        "Type=logfile|Logger=ExampleLog|Payload=GET /index.html 200\n|EnvVersion=0.8|Hostname=web1|\
         Uuid=00010203-0405-0607-0809-0a0b0c0d0e0f|Timestamp=1700000000123456768|Severity=6|Pid=4242|Missing=nil"
    );
}

#[test]
fn read_message_unset_headers_read_as_heka_defaults() {
    let got = probe(
        r#"inject_payload("txt", "", "[" .. read_message("Type") .. "][" .. read_message("Hostname") .. "]" .. read_message("Severity") .. "," .. read_message("Pid"))"#,
        &Message {
            uuid: vec![1; 16],
            payload: Some("x".into()),
            ..Default::default()
        },
    );
    assert_eq!(got, "[][]7,0");
}

#[test]
fn read_message_fields_with_indices() {
    let got = probe(
        r#"local b = read_message("Fields[blob]")
        inject_payload("txt", "", table.concat({
            tostring(read_message("Fields[status]")), tostring(read_message("Fields[ratio]")),
            tostring(read_message("Fields[ok]")), #b .. ":" .. b:byte(3),
            read_message("Fields[tags]"), read_message("Fields[tags]", 0, 1),
            read_message("Fields[tags]", 1), tostring(read_message("Fields[tags]", 1, 1)),
            tostring(read_message("Fields[tags]", 2)), tostring(read_message("Fields[none]")),
        }, ","))"#,
        &sample(),
    );
    assert_eq!(got, "200,0.25,true,3:2,a,b,second,nil,nil,nil");
}

#[test]
fn read_message_negative_index_is_an_error() {
    let scripts = Scripts::new();
    let mut f =
        scripts.filter(r#"function process_message() read_message("Fields[x]", -1) return 0 end"#);
    let err = f.process_message(&sample(), &mut ctx()).unwrap_err();
    assert!(
        matches!(&err, PluginError::Fatal(r) if r.contains("field index must be >= 0")),
        "{err:?}"
    );
}

#[test]
fn read_message_raw_is_the_protobuf_encoding() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"function process_message()
            local m = decode_message(read_message("raw"))
            inject_payload("txt", "", m.Type .. "," .. m.Payload)
            return 0
        end"#,
    );
    let mut ctx = ctx();
    f.process_message(&sample(), &mut ctx).expect("process");
    assert_eq!(
        ctx.take_injected()[0].payload(),
        b"logfile,GET /index.html 200\n"
    );
}

#[test]
fn read_config_types() {
    let scripts = Scripts::new();
    let cfg = LuaConfig::new("Cfg")
        .with_config("s", ConfigValue::String("text".into()))
        .with_config("b", ConfigValue::Boolean(true))
        .with_config("i", ConfigValue::Integer(42))
        .with_config("f", ConfigValue::Float(1.5));
    let mut f = scripts.filter_with(
        r#"local summary = table.concat({read_config("s"), tostring(read_config("b")),
            read_config("i") + 1, read_config("f") * 2, tostring(read_config("missing"))}, ",")
        function process_message() inject_payload("txt", "", summary) return 0 end"#,
        cfg,
    );
    let mut ctx = ctx();
    f.process_message(&sample(), &mut ctx).expect("process");
    assert_eq!(ctx.take_injected()[0].payload(), b"text,true,43,3,nil");
}

#[test]
fn read_next_field_iterates_all_fields() {
    let got = probe(
        r#"local parts = {}
        while true do
            local vt, name, value, repr, count = read_next_field()
            if not vt then break end
            parts[#parts+1] = string.format("%d:%s:%s:%s:%d", vt, name, tostring(value), repr, count)
        end
        parts[#parts+1] = tostring(select(5, read_next_field()))
        inject_payload("txt", "", table.concat(parts, "|"))"#,
        &sample(),
    );
    // Lua 5.1's `%s` stops at the blob's leading NUL byte.
    assert_eq!(
        got,
        "2:status:200:code:1|3:ratio:0.25::1|4:ok:true::1|1:blob:::1|0:tags:a::2|0:tags:second::1|nil"
    );
}

#[test]
fn add_to_payload_and_inject_payload() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"function process_message()
            add_to_payload("n=", 5, " f=", 0.5, " third=", 1/3, " big=", 3e9, " ", true, " ", nil)
            return 0
        end
        function timer_event(ns)
            inject_payload("json", "stats", "|end")
            inject_payload()   -- empty buffer: nothing
        end"#,
    );
    let mut ctx = ctx();
    f.process_message(&sample(), &mut ctx).expect("process");
    assert!(
        ctx.take_injected().is_empty(),
        "the buffer waits for inject_payload"
    );
    ctx.begin_timer();
    f.timer_event(0, &mut ctx).expect("timer");
    let out = ctx.take_injected();
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].payload(),
        b"n=5 f=0.5 third=0.33333333 big=3e+09 true nil|end"
    );
    assert_eq!(out[0].type_(), "heka.sandbox-output");
    assert_eq!(
        out[0].field_value("payload_type", 0, 0),
        Some(FieldValue::String(b"json"))
    );
    assert_eq!(
        out[0].field_value("payload_name", 0, 0),
        Some(FieldValue::String(b"stats"))
    );
}

#[test]
fn add_to_payload_rejects_tables() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(r#"function process_message() add_to_payload({}) return 0 end"#);
    let err = f.process_message(&sample(), &mut ctx()).unwrap_err();
    assert!(
        matches!(&err, PluginError::Fatal(r) if r.contains("unsupported type")),
        "{err:?}"
    );
}

#[test]
fn inject_message_table_with_heka_filter_rules() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"function process_message()
            inject_message({
                Type = "alert", Logger = "ignored", Hostname = "ignored", Payload = "p",
                Severity = 2, Pid = 7, EnvVersion = "1", Timestamp = 5e9,
                Fields = {
                    count = 3,
                    name = "x",
                    flag = false,
                    list = {"a", "b"},
                    int = {value = 12, value_type = 2, representation = "ms"},
                    ints = {value = {1, 2, 3}, value_type = 2},
                    raw = {value = "\0\1", value_type = 1},
                },
            })
            return 0
        end"#,
    );
    let mut ctx = ctx();
    f.process_message(&sample(), &mut ctx).expect("process");
    let out = ctx.take_injected();
    assert_eq!(out.len(), 1);
    let m = &out[0];
    assert_eq!(m.type_(), "heka.sandbox.alert");
    assert_eq!(m.logger(), "TestFilter");
    assert_eq!(m.hostname(), "hekad-host");
    assert_eq!(
        (m.payload(), m.severity(), m.pid(), m.env_version()),
        (&b"p"[..], 2, 7, "1")
    );
    assert_eq!(m.timestamp, 5_000_000_000);
    assert_eq!(m.uuid.len(), 16, "a fresh uuid");
    assert_eq!(m.field_value("count", 0, 0), Some(FieldValue::Double(3.0)));
    assert_eq!(m.field_value("name", 0, 0), Some(FieldValue::String(b"x")));
    assert_eq!(m.field_value("flag", 0, 0), Some(FieldValue::Bool(false)));
    assert_eq!(m.field_value("list", 0, 1), Some(FieldValue::String(b"b")));
    assert_eq!(m.field_value("int", 0, 0), Some(FieldValue::Integer(12)));
    assert_eq!(m.field("int", 0).map(|f| f.representation()), Some("ms"));
    assert_eq!(
        m.field("ints", 0).map(|f| (f.kind(), f.len())),
        Some((ValueType::Integer, 3))
    );
    assert_eq!(m.field_value("raw", 0, 0), Some(FieldValue::Bytes(&[0, 1])));
}

#[test]
fn inject_message_fields_in_array_form_and_protobuf_strings() {
    let scripts = Scripts::new();
    // Two injections per message: Heka's default `max_process_inject` is 1.
    let mut cfg = LuaConfig::new("TestFilter");
    cfg.spec.limits.max_process_inject = 2;
    let mut f = scripts.filter_with(
        r#"function process_message()
            local m = decode_message(read_message("raw"))
            m.Type = "copy"
            m.Uuid = nil
            inject_message(m)                      -- array form, as decode_message gives
            inject_message(read_message("raw"))    -- a protobuf string
            return 0
        end"#,
        cfg,
    );
    let mut ctx = ctx();
    let original = sample();
    f.process_message(&original, &mut ctx).expect("process");
    let out = ctx.take_injected();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].type_(), "heka.sandbox.copy");
    assert_eq!(
        out[0].fields, original.fields,
        "fields survive the array form"
    );
    assert_ne!(out[0].uuid, original.uuid);
    assert_eq!(out[1].type_(), "heka.sandbox.logfile");
    assert_eq!(out[1].uuid, original.uuid, "a 16-byte Uuid is kept");
    assert_eq!(out[1].payload(), original.payload());
}

#[test]
fn inject_message_bad_input_is_fatal_for_filters() {
    let scripts = Scripts::new();
    let mut f =
        scripts.filter(r#"function process_message() inject_message("not protobuf") return 0 end"#);
    let err = f.process_message(&sample(), &mut ctx()).unwrap_err();
    assert!(
        matches!(&err, PluginError::Fatal(r) if r.contains("inject_message()")),
        "{err:?}"
    );
    let mut f = scripts
        .filter(r#"function process_message() inject_message({Fields = {x = {{}}}}) return 0 end"#);
    assert!(matches!(
        f.process_message(&sample(), &mut ctx()),
        Err(PluginError::Fatal(_))
    ));
}

#[test]
fn injection_limits_of_the_pipeline_are_fatal() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"function process_message()
            inject_payload("txt", "", "1") inject_payload("txt", "", "2")
            return 0
        end"#,
    );
    let settings = heka_pipeline::Settings {
        max_process_inject: 1,
        ..settings()
    };
    let mut ctx = heka_pipeline::FilterContext::standalone("F", &settings, None);
    let err = f.process_message(&sample(), &mut ctx).unwrap_err();
    assert!(
        matches!(&err, PluginError::Fatal(r) if r.contains("exceeded InjectMessage count (1 per process_message)")),
        "{err:?}"
    );
}

#[test]
fn decode_message_gives_the_array_form() {
    let got = probe(
        r#"local m = decode_message(read_message("raw"))
        local f = m.Fields
        inject_payload("txt", "", table.concat({m.Type, m.Logger, m.Severity, m.Pid, #m.Uuid,
            #f, f[1].name, f[1].value_type, f[1].value[1], f[1].representation,
            f[5].name, #f[5].value, f[5].value[2]}, ","))"#,
        &sample(),
    );
    assert_eq!(
        got,
        "logfile,ExampleLog,6,4242,16,6,status,2,200,code,tags,2,b"
    );
}

#[test]
fn process_message_return_codes() {
    let scripts = Scripts::new();
    let cases: &[(&str, Result<(), PluginError>)] = &[
        ("return 0", Ok(())),
        ("return -1", Err(PluginError::Failed(String::new()))),
        (
            "return -1, 'bad input'",
            Err(PluginError::Failed("bad input".into())),
        ),
        ("return -2", Err(PluginError::Failed(String::new()))),
        (
            "return 1",
            Err(PluginError::Fatal("process_message() returned 1".into())),
        ),
        (
            "return 3, 'broken'",
            Err(PluginError::Fatal(
                "process_message() returned 3: broken".into(),
            )),
        ),
        (
            "return 'zero'",
            Err(PluginError::Fatal(
                "process_message() must return a numeric status code".into(),
            )),
        ),
        (
            "return",
            Err(PluginError::Fatal(
                "process_message() must return a numeric status code".into(),
            )),
        ),
        (
            "return -1, {}",
            Err(PluginError::Fatal(
                "process_message() must return a nil or string error message".into(),
            )),
        ),
    ];
    for (body, expected) in cases {
        let mut f = scripts.filter(&format!("function process_message() {body} end"));
        assert_eq!(
            &f.process_message(&sample(), &mut ctx()),
            expected,
            "{body}"
        );
    }
}

#[test]
fn failed_messages_in_a_batch_are_counted_and_the_filter_lives() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"function process_message()
            if read_message("Payload") == "bad" then return -1, "bad payload" end
            return 0
        end"#,
    );
    let packs: Vec<Pack> = ["ok", "bad", "ok"]
        .iter()
        .map(|p| Pack::new(payload_message(p), None))
        .collect();
    let mut ctx = ctx();
    f.process_batch(&packs, &mut ctx).expect("batch");
    assert_eq!(ctx.failures(), 1);
}

#[test]
fn runtime_errors_terminate_with_file_and_line() {
    let scripts = Scripts::new();
    let mut f = scripts.filter("function process_message()\n  local x = nil\n  return x.y\nend");
    let err = f.process_message(&sample(), &mut ctx()).unwrap_err();
    let PluginError::Fatal(reason) = &err else {
        panic!("{err:?}")
    };
    assert!(reason.starts_with("process_message() "), "{reason}");
    assert!(reason.contains("filter.lua:3:"), "{reason}");
    // Terminated: later calls fail at once.
    let again = f.process_message(&sample(), &mut ctx()).unwrap_err();
    assert!(
        matches!(&again, PluginError::Fatal(r) if r.starts_with("terminated earlier")),
        "{again:?}"
    );
}

#[test]
fn timer_event_gets_the_time_in_ns() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"function process_message() return 0 end
        function timer_event(ns) inject_payload("txt", "", string.format("%.0f", ns)) end"#,
    );
    let mut ctx = ctx();
    ctx.begin_timer();
    f.timer_event(1_700_000_000_000_000_000, &mut ctx)
        .expect("timer");
    assert_eq!(ctx.take_injected()[0].payload(), b"1700000000000000000");
    // A filter without timer_event is terminated when ticked (Heka's behaviour).
    let mut g = scripts.filter("function process_message() return 0 end");
    let err = g.timer_event(1, &mut ctx).unwrap_err();
    assert!(
        matches!(&err, PluginError::Fatal(r) if r.contains("timer_event() function was not found"))
    );
}

#[test]
fn encoder_output_rules() {
    let scripts = Scripts::new();
    // inject_payload: the payload is the output.
    let mut e = scripts.encoder(r#"function process_message() inject_payload("txt", "", read_message("Type")) return 0 end"#);
    let mut out = Vec::new();
    e.encode(&sample(), &mut out).expect("encode");
    assert_eq!(out, b"logfile");
    // No injection: the protobuf of the (written) message.
    let mut e = scripts
        .encoder(r#"function process_message() write_message("Type", "changed") return 0 end"#);
    let mut out = Vec::new();
    let original = sample();
    e.encode(&original, &mut out).expect("encode");
    let m = heka_message::decode_message(&out).expect("protobuf");
    assert_eq!(m.type_(), "changed");
    assert_eq!(original.type_(), "logfile", "copy on write");
    // inject_message: its protobuf, the last one wins.
    let mut e = scripts.encoder(
        r#"function process_message() inject_message({Type="a"}) inject_message({Type="b", Payload="x"}) return 0 end"#,
    );
    let mut out = Vec::new();
    e.encode(&sample(), &mut out).expect("encode");
    assert_eq!(heka_message::decode_message(&out).expect("pb").type_(), "b");
    // -2: skip.
    let mut e = scripts.encoder("function process_message() return -2 end");
    assert_eq!(e.encode(&sample(), &mut Vec::new()), Err(PluginError::Skip));
}

#[test]
fn write_message_in_a_decoder() {
    let scripts = Scripts::new();
    let mut d = scripts.decoder(
        r#"function process_message()
            write_message("Type", "decoded")
            write_message("Logger", "L") write_message("Hostname", "h") write_message("EnvVersion", "2")
            write_message("Payload", "new payload")
            write_message("Severity", "3") write_message("Pid", 12)
            write_message("Timestamp", "2020-01-01T00:00:00Z")
            write_message("Uuid", "00000000-0000-4000-8000-000000000001")
            write_message("Fields[n]", 1.5)
            write_message("Fields[s]", "x", "repr")
            write_message("Fields[s]", "y", "", 0, 1)
            write_message("Fields[b]", true)
            write_message("Fields[gone]", "z")
            write_message("Fields[gone]", nil)
            return 0
        end"#,
    );
    let mut out = Vec::new();
    d.decode(payload_message("line"), None, &mut out)
        .expect("decode");
    assert_eq!(out.len(), 1);
    let m = &out[0];
    assert_eq!(
        (m.type_(), m.logger(), m.hostname(), m.env_version()),
        ("decoded", "L", "h", "2")
    );
    assert_eq!(
        (m.payload(), m.severity(), m.pid()),
        (&b"new payload"[..], 3, 12)
    );
    assert_eq!(m.timestamp, 1_577_836_800_000_000_000);
    assert_eq!(m.uuid[15], 1);
    assert_eq!(m.field_value("n", 0, 0), Some(FieldValue::Double(1.5)));
    assert_eq!(m.field_value("s", 0, 1), Some(FieldValue::String(b"y")));
    assert_eq!(m.field("s", 0).map(|f| f.representation()), Some("repr"));
    assert_eq!(m.field_value("b", 0, 0), Some(FieldValue::Bool(true)));
    assert!(m.field("gone", 0).is_none());
}

#[test]
fn decoder_injections_replace_the_message_and_inherit_headers() {
    let scripts = Scripts::new();
    let mut d = scripts.decoder(
        r#"function process_message()
            for part in string.gmatch(read_message("Payload"), "%S+") do
                inject_message({Payload = part, Fields = {raw = tostring(read_message("raw"))}})
            end
            return 0
        end"#,
    );
    let mut out = Vec::new();
    let original = payload_message("a b");
    d.decode(original.clone(), None, &mut out).expect("decode");
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].payload(), b"b");
    assert_eq!(out[1].type_(), original.type_());
    assert_eq!(out[1].logger(), original.logger());
    assert_eq!(out[1].timestamp, original.timestamp);
    assert_ne!(out[0].uuid, out[1].uuid);
    assert_eq!(
        out[0].field_value("raw", 0, 0),
        Some(FieldValue::String(b"nil")),
        "no raw record"
    );
    // With a raw record from a message-bytes splitter, read_message("raw") is it.
    let mut out = Vec::new();
    d.decode(payload_message("x"), Some(b"RAW"), &mut out)
        .expect("decode");
    assert_eq!(
        out[0].field_value("raw", 0, 0),
        Some(FieldValue::String(b"RAW"))
    );
}

#[test]
fn decoder_failure_wording() {
    let scripts = Scripts::new();
    let mut d = scripts.decoder(r#"function process_message() return -1, "no match" end"#);
    let err = d
        .decode(payload_message("junk"), None, &mut Vec::new())
        .unwrap_err();
    assert_eq!(
        err,
        PluginError::Failed("Failed parsing: no match payload: junk".into())
    );
}

#[test]
fn filters_have_no_write_message() {
    let got = probe(
        r#"inject_payload("txt", "", type(write_message))"#,
        &sample(),
    );
    assert_eq!(got, "nil");
}

#[test]
fn environment_is_heka_s() {
    let got = probe(
        r#"local t = {}
        for _, n in ipairs({"collectgarbage", "coroutine", "dofile", "load", "loadfile", "loadstring",
                            "newproxy", "print", "io", "debug", "package"}) do
            t[#t+1] = n .. "=" .. type(_G[n])
        end
        for _, n in ipairs({"getenv", "execute", "exit", "remove", "rename", "setlocale", "tmpname"}) do
            t[#t+1] = "os." .. n .. "=" .. type(os[n])
        end
        t[#t+1] = os.date("%Y-%m-%d %H:%M:%S", 0)
        t[#t+1] = os.date("!%H", 3600)
        t[#t+1] = tostring(os.time({year=2000, month=1, day=1, hour=0}))
        t[#t+1] = type(os.clock())
        t[#t+1] = type(pcall) .. type(string.format) .. type(table.concat) .. type(math.floor)
        inject_payload("txt", "", table.concat(t, ","))"#,
        &sample(),
    );
    assert_eq!(
        got,
        "collectgarbage=nil,coroutine=nil,dofile=nil,load=nil,loadfile=nil,loadstring=nil,\
         newproxy=nil,print=nil,io=nil,debug=nil,package=nil,\
         os.getenv=nil,os.execute=nil,os.exit=nil,os.remove=nil,os.rename=nil,os.setlocale=nil,os.tmpname=nil,\
         1970-01-01 00:00:00,01,946684800,number,functionfunctionfunctionfunction"
    );
}

#[test]
fn require_builtins_cjson_modules_and_unknown() {
    let scripts = Scripts::new();
    let modules = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(modules.path().join("util")).expect("mkdir");
    std::fs::write(
        modules.path().join("util/greet.lua"),
        "local M = {} function M.hi(n) return 'hi ' .. n end return M",
    )
    .expect("write module");
    let mut cfg = LuaConfig::new("Req");
    cfg.module_directory = vec![modules.path().to_path_buf()];
    let mut f = scripts.filter_with(
        r#"local s = require "string"
        assert(s == string)
        require "cjson"              -- also sets the global, as Heka's did
        local greet = require "util.greet"
        assert(greet == require("util.greet"))
        local ok, err = pcall(require, "no_such_module")
        assert(not pcall(require, ".etc.passwd"))
        function process_message()
            inject_payload("txt", "", greet.hi("x") .. "|" .. type(cjson.encode) .. "|" .. tostring(ok) .. "|" .. err)
            return 0
        end"#,
        cfg,
    );
    let mut ctx = ctx();
    f.process_message(&sample(), &mut ctx).expect("process");
    let payload = String::from_utf8_lossy(ctx.take_injected()[0].payload()).into_owned();
    assert!(payload.starts_with("hi x|function|false|"), "{payload}");
    assert!(
        payload.contains("module 'no_such_module' not found"),
        "{payload}"
    );
}

#[test]
fn unknown_module_at_load_names_it() {
    let scripts = Scripts::new();
    let path = scripts.write(
        "x.lua",
        "require 'no_such_module'\nfunction process_message() return 0 end",
    );
    let err = heka_lua::load_filter(&path, LuaConfig::new("X"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("x.lua: plugin init failed"), "{err}");
    assert!(err.contains("module 'no_such_module' not found"), "{err}");
}

#[test]
fn cjson_encode_like_lua_cjson() {
    let got = probe(
        r#"require "cjson"
        inject_payload("txt", "", table.concat({
            cjson.encode({}),
            cjson.encode({1, 2, "three", true, false}),
            cjson.encode({[1] = 1, [3] = 3}),
            cjson.encode({a = {b = {c = 0.1}}}),
            cjson.encode("a/b\"\n\1"),
            cjson.encode(1/3), cjson.encode(1e20), cjson.encode(100), cjson.encode(-0.5),
            cjson.encode(cjson.null), cjson.encode({[5] = "x", [1] = "y", [2]= "z", [3] = 1, [4] = 2}),
            tostring(pcall(cjson.encode, {[1000] = 1})),
            tostring(pcall(cjson.encode, 0/0)),
            tostring(pcall(cjson.encode, {f = print or function() end})),
            tostring(pcall(cjson.encode, {[true] = 1})),
        }, " "))"#,
        &sample(),
    );
    assert_eq!(
        got,
        r#"{} [1,2,"three",true,false] [1,null,3] {"a":{"b":{"c":0.1}}} "a\/b\"\n\u0001" 0.33333333333333 1e+20 100 -0.5 null ["y","z",1,2,"x"] false false false false"#
    );
}

#[test]
fn cjson_decode_like_heka_s_cjson() {
    let got = probe(
        r#"require "cjson"
        local v = cjson.decode('{"a":[1,2.5,"x\\u00e9\\/",true,null,{"b":null}],"n":-1e3,"s":"\\ud83d\\ude00"}')
        local parts = {#v.a, v.a[1], v.a[2], v.a[3], tostring(v.a[4]), tostring(v.a[5]),
                       tostring(next(v.a[6])), v.n, v.s}
        local ok, err = pcall(cjson.decode, '{"a":}')
        parts[#parts+1] = err
        cjson.decode_null(true)
        parts[#parts+1] = tostring(cjson.decode('[null]')[1] == cjson.null)
        inject_payload("txt", "", table.concat(parts, ","))"#,
        &sample(),
    );
    // JSON null is dropped by default (the array keeps its length up to the last value).
    assert!(
        got.starts_with("6,1,2.5,xé/,true,nil,nil,-1000,😀,"),
        "{got}"
    );
    assert!(
        got.contains("Expected value but found '}' at character 6"),
        "{got}"
    );
    assert!(got.ends_with(",true"), "{got}");
}

#[test]
fn inject_payload_empty_type_is_txt() {
    let scripts = Scripts::new();
    let mut f =
        scripts.filter(r#"function process_message() inject_payload("", nil, "x") return 0 end"#);
    let mut ctx = ctx();
    f.process_message(&sample(), &mut ctx).expect("process");
    let out = ctx.take_injected();
    assert_eq!(
        out[0].field_value("payload_type", 0, 0),
        Some(FieldValue::String(b"txt"))
    );
    assert_eq!(
        out[0].field_value("payload_name", 0, 0),
        Some(FieldValue::String(b""))
    );
}

/// `max_process_inject` is per message even when a batch of messages reaches the
/// script in one call (the bench's Lua aggregator injects from process_message).
#[test]
fn one_injection_per_message_of_a_batch_is_allowed() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"function process_message()
            inject_payload("txt", "", read_message("Payload"))
            return 0
        end"#,
    );
    let mut ctx = ctx();
    let packs: Vec<Pack> = ["a", "b", "c"]
        .iter()
        .map(|p| {
            let mut m = sample();
            m.payload = Some(p.as_bytes().to_vec());
            Pack::new(m, None)
        })
        .collect();
    f.process_batch(&packs, &mut ctx)
        .expect("one injection per message");
    let out: Vec<Vec<u8>> = ctx
        .take_injected()
        .iter()
        .map(|m| m.payload().to_vec())
        .collect();
    assert_eq!(out, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
}
