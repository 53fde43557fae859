//! Heka 0.10 API details beyond the basics: the decoder `tz` option.

mod common;

use common::*;
use heka_lua::{ConfigValue, LuaConfig};
use heka_message::Message;
use heka_pipeline::Decoder;

const TZ_DECODER: &str = r#"
function process_message()
    -- 2024-01-15 12:00:00 and 2024-07-15 12:00:00 as if UTC, as Lua computes them.
    inject_message({Timestamp = 1705320000e9, Fields = {timegenerated = 1721044800e9}})
    inject_message({Payload = "no timestamp of its own"})
    return 0
end
"#;

fn decode_with(tz: Option<&str>) -> Result<Vec<Message>, String> {
    let scripts = Scripts::new();
    let path = scripts.write("tz.lua", TZ_DECODER);
    let mut cfg = LuaConfig::new("TzDecoder");
    if let Some(tz) = tz {
        cfg = cfg.with_config("tz", ConfigValue::String(tz.into()));
    }
    let mut d = heka_lua::load_decoder(&path, cfg).map_err(|e| e.to_string())?;
    let mut original = payload_message("line");
    original.timestamp = 42;
    let mut out = Vec::new();
    d.decode(original, None, &mut out)
        .map_err(|e| format!("{e:?}"))?;
    Ok(out)
}

#[test]
fn decoder_tz_reads_injected_times_as_wall_clock_in_the_zone() {
    let s = 1_000_000_000i64;
    let utc = decode_with(None).expect("decode");
    assert_eq!(utc[0].timestamp, 1_705_320_000 * s);
    let ny = decode_with(Some("America/New_York")).expect("decode");
    // Winter: UTC-5; the timegenerated field in summer: UTC-4.
    assert_eq!(ny[0].timestamp, (1_705_320_000 + 5 * 3600) * s);
    assert_eq!(
        ny[0].fields[0].value_double,
        [((1_721_044_800 + 4 * 3600) * s) as f64]
    );
    // A message without a Timestamp inherits the original's, unconverted.
    assert_eq!(ny[1].timestamp, 42);
}

#[test]
fn decoder_tz_must_name_a_zone() {
    let err = decode_with(Some("Mars/Olympus_Mons")).expect_err("unknown zone refused");
    assert!(
        err.contains("config tz: unknown time zone 'Mars/Olympus_Mons'"),
        "{err}"
    );
}

/// Heka read an empty bytes field as nil, a non-empty one as its bytes; an empty
/// string field stays "".
#[test]
fn empty_bytes_field_reads_nil() {
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"function process_message()
            inject_payload("txt", "", string.format("%s|%s|[%s]",
                tostring(read_message("Fields[empty]")), read_message("Fields[full]"),
                tostring(read_message("Fields[blank]"))))
            return 0
        end"#,
    );
    let mut m = payload_message("x");
    m.add_field("empty", heka_message::Value::Bytes(Vec::new()), "");
    m.add_field("full", heka_message::Value::Bytes(b"ab".to_vec()), "");
    m.add_field("blank", heka_message::Value::String(Vec::new()), "");
    let mut ctx = ctx();
    heka_pipeline::Filter::process_message(&mut f, &m, &mut ctx).expect("process");
    assert_eq!(ctx.take_injected()[0].payload(), b"nil|ab|[]");
}

/// inject_message takes arrays of every value type Heka accepted.
#[test]
fn inject_message_arrays_of_every_type() {
    use heka_message::FieldValue as F;
    let scripts = Scripts::new();
    let mut f = scripts.filter(
        r#"function process_message()
            inject_message({Fields = {
                bools = {true, false},
                doubles = {1.5, 2},
                strings = {"a", "b"},
                ints = {value = {7, 8}, value_type = 2, representation = "ms"},
                blobs = {value = {"\0", "\255"}, value_type = 1},
            }})
            return 0
        end"#,
    );
    let mut ctx = ctx();
    heka_pipeline::Filter::process_message(&mut f, &payload_message("x"), &mut ctx)
        .expect("process");
    let m = &ctx.take_injected()[0];
    let both = |name: &str| (m.field_value(name, 0, 0), m.field_value(name, 0, 1));
    assert_eq!(both("bools"), (Some(F::Bool(true)), Some(F::Bool(false))));
    assert_eq!(
        both("doubles"),
        (Some(F::Double(1.5)), Some(F::Double(2.0)))
    );
    assert_eq!(
        both("strings"),
        (Some(F::String(b"a")), Some(F::String(b"b")))
    );
    assert_eq!(both("ints"), (Some(F::Integer(7)), Some(F::Integer(8))));
    assert_eq!(m.field("ints", 0).map(|f| f.representation()), Some("ms"));
    assert_eq!(
        both("blobs"),
        (Some(F::Bytes(&[0][..])), Some(F::Bytes(&[255][..])))
    );
}
