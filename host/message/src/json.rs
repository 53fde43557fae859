//! The JSON form of a message (feature `json`), used by `hekad match --message`, by
//! tests and anywhere a human writes or reads a message.
//!
//! It can express everything the protobuf form can (except values stored in an
//! array that does not match the field's `value_type`, which Heka ignores too), and
//! [`message_to_json`] followed by [`message_from_json`] gives back an equal message.
//!
//! # The form
//!
//! ```json
//! {
//!   "uuid": "0f8fad5b-d9cb-469f-a165-70867728950e",
//!   "timestamp": 1700000000123456789,
//!   "type": "nginx.access",
//!   "logger": "tail",
//!   "severity": 6,
//!   "payload": "GET / 200",
//!   "env_version": "0.8",
//!   "pid": 4242,
//!   "hostname": "web-1",
//!   "fields": [
//!     {"name": "status", "value_type": "integer", "representation": "", "value": [200]},
//!     {"name": "path",   "value_type": "string",  "value": ["/", "/index.html"]},
//!     {"name": "raw",    "value_type": "bytes",   "value": ["00ff1e"]},
//!     {"name": "ms",     "value_type": "double",  "value": [12.5, "Infinity"]},
//!     {"name": "cached", "value_type": "bool",    "value": [true]}
//!   ]
//! }
//! ```
//!
//! - `uuid`: the 36-character `8-4-4-4-12` hex form when the Uuid has 16 bytes; any
//!   other length is written as plain lowercase hex (`""` when empty). On input both
//!   forms are accepted (hyphens anywhere are ignored, hex is case-insensitive).
//! - `timestamp`: integer nanoseconds since the Unix epoch.
//! - `type`, `logger`, `payload`, `env_version`, `hostname`: strings; `severity`,
//!   `pid`: 32-bit integers. A header is written only when it is set, so "unset" and
//!   "empty" survive the round trip (unset `severity` reads as 7). `payload` and
//!   string field values are bytes in the message (Heka passes any bytes through):
//!   when they are not UTF-8 they are written as `{"hex": "<lowercase hex>"}`, which
//!   is also accepted on input, so the form stays lossless.
//! - `fields`: an array in message order; several entries may share a `name`
//!   (that is Heka's `Fields[name][fi]`). Each entry has `name`, `value_type`
//!   (`"string"`, `"bytes"`, `"integer"`, `"double"` or `"bool"`; an unknown enum value
//!   from the wire is written as its number), `representation` (written only when
//!   set) and `value`, the array of values (Heka's `[ai]`):
//!   strings as JSON strings, bytes as lowercase hex strings (hex rather than base64
//!   because it is readable and needs no dependency), integers as JSON integers
//!   (full `i64` range), doubles as JSON numbers, or the strings `"NaN"`,
//!   `"Infinity"`, `"-Infinity"` for values JSON cannot hold, bools as `true`/`false`.
//!
//! On input every key is optional: a missing `uuid` gives an empty Uuid, a missing
//! `timestamp` gives 0 (callers that want fresh ones fill them in), missing headers
//! stay unset. In a field, a missing `value_type` is inferred from the first value (JSON
//! string → string, integer → integer, other number → double, bool → bool, none →
//! string); `value` may be a single value instead of an array; a missing `name` is
//! `""`. Unknown keys are errors, so a typo does not silently drop data. Every error
//! names the JSON path where it was found (`$.fields[1].value[0]`).

use crate::{Field, Message, ValueType};
use serde_json::Value as Json;
use std::fmt::Write as _;

/// Why a JSON text is not a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid message JSON at {path}: {reason}")]
pub struct JsonError {
    /// Where in the document (`$`, `$.fields[2].value[0]`, ...).
    pub path: String,
    /// What was wrong there.
    pub reason: String,
}

fn err(path: &str, reason: impl Into<String>) -> JsonError {
    JsonError {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// The JSON form of `msg`, on one line, keys in the order documented above.
pub fn message_to_json(msg: &Message) -> String {
    let mut out = String::with_capacity(128 + msg.payload().len());
    out.push_str("{\"uuid\":\"");
    let mut buf = [0u8; 36];
    match msg.uuid_str(&mut buf) {
        Some(s) => out.push_str(s),
        None => push_hex(&mut out, &msg.uuid),
    }
    let _ = write!(out, "\",\"timestamp\":{}", msg.timestamp);
    let strings = [("type", &msg.r#type), ("logger", &msg.logger)];
    for (key, value) in strings {
        push_opt_str(&mut out, key, value);
    }
    if let Some(sev) = msg.severity {
        let _ = write!(out, ",\"severity\":{sev}");
    }
    if let Some(v) = &msg.payload {
        out.push_str(",\"payload\":");
        push_json_bytes(&mut out, v);
    }
    push_opt_str(&mut out, "env_version", &msg.env_version);
    if let Some(pid) = msg.pid {
        let _ = write!(out, ",\"pid\":{pid}");
    }
    push_opt_str(&mut out, "hostname", &msg.hostname);
    if !msg.fields.is_empty() {
        out.push_str(",\"fields\":[");
        for (i, f) in msg.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_field(&mut out, f);
        }
        out.push(']');
    }
    out.push('}');
    out
}

fn push_opt_str(out: &mut String, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        let _ = write!(out, ",\"{key}\":");
        push_json_str(out, v);
    }
}

fn push_json_str(out: &mut String, s: &str) {
    // serde_json's escaping is the reference one; serialising a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// A `string` value that may not be UTF-8: a JSON string when it is, else
/// `{"hex":"…"}` (lowercase hex of the bytes), so the form stays lossless.
fn push_json_bytes(out: &mut String, b: &[u8]) {
    match std::str::from_utf8(b) {
        Ok(s) => push_json_str(out, s),
        Err(_) => {
            out.push_str("{\"hex\":\"");
            push_hex(out, b);
            out.push_str("\"}");
        }
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::String => "string",
        ValueType::Bytes => "bytes",
        ValueType::Integer => "integer",
        ValueType::Double => "double",
        ValueType::Bool => "bool",
    }
}

fn push_field(out: &mut String, f: &Field) {
    out.push_str("{\"name\":");
    push_json_str(out, &f.name);
    out.push_str(",\"value_type\":");
    let raw = f.value_type.unwrap_or(0);
    match ValueType::try_from(raw) {
        Ok(t) => {
            let _ = write!(out, "\"{}\"", type_name(t));
        }
        Err(_) => {
            let _ = write!(out, "{raw}");
        }
    }
    if let Some(r) = &f.representation {
        out.push_str(",\"representation\":");
        push_json_str(out, r);
    }
    out.push_str(",\"value\":[");
    for ai in 0..f.len() {
        if ai > 0 {
            out.push(',');
        }
        match f.value(ai) {
            Some(crate::FieldValue::String(s)) => push_json_bytes(out, s),
            Some(crate::FieldValue::Bytes(b)) => {
                out.push('"');
                push_hex(out, b);
                out.push('"');
            }
            Some(crate::FieldValue::Integer(i)) => {
                let _ = write!(out, "{i}");
            }
            Some(crate::FieldValue::Double(d)) => push_double(out, d),
            Some(crate::FieldValue::Bool(b)) => {
                let _ = write!(out, "{b}");
            }
            None => {}
        }
    }
    out.push_str("]}");
}

fn push_double(out: &mut String, d: f64) {
    if d.is_nan() {
        out.push_str("\"NaN\"");
    } else if d.is_infinite() {
        out.push_str(if d > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
    } else {
        // serde_json prints the shortest text that reads back as the same f64 and
        // always with a `.` or exponent, so it parses back as a double.
        out.push_str(&serde_json::to_string(&d).unwrap_or_default());
    }
}

/// Parses the JSON form documented in this module.
pub fn message_from_json(s: &str) -> Result<Message, JsonError> {
    let doc: Json = serde_json::from_str(s).map_err(|e| err("$", e.to_string()))?;
    let Json::Object(obj) = doc else {
        return Err(err("$", "expected an object"));
    };
    let mut msg = Message::default();
    for (key, value) in &obj {
        let path = format!("$.{key}");
        match key.as_str() {
            "uuid" => msg.uuid = parse_hex(&path, as_str(&path, value)?, true)?,
            "timestamp" => msg.timestamp = as_i64(&path, value)?,
            "type" => msg.r#type = Some(as_str(&path, value)?.to_owned()),
            "logger" => msg.logger = Some(as_str(&path, value)?.to_owned()),
            "severity" => msg.severity = Some(as_i32(&path, value)?),
            "payload" => msg.payload = Some(as_text(&path, value)?),
            "env_version" => msg.env_version = Some(as_str(&path, value)?.to_owned()),
            "pid" => msg.pid = Some(as_i32(&path, value)?),
            "hostname" => msg.hostname = Some(as_str(&path, value)?.to_owned()),
            "fields" => {
                let Json::Array(items) = value else {
                    return Err(err(&path, "expected an array of fields"));
                };
                for (i, item) in items.iter().enumerate() {
                    msg.fields
                        .push(parse_field(&format!("$.fields[{i}]"), item)?);
                }
            }
            other => {
                return Err(err(
                    &path,
                    format!(
                        "unknown key {other:?} (expected uuid, timestamp, type, logger, \
                         severity, payload, env_version, pid, hostname or fields)"
                    ),
                ));
            }
        }
    }
    Ok(msg)
}

fn parse_field(path: &str, item: &Json) -> Result<Field, JsonError> {
    let Json::Object(obj) = item else {
        return Err(err(path, "expected a field object"));
    };
    let mut field = Field::default();
    let mut declared: Option<i32> = None;
    let mut values: &[Json] = &[];
    for (key, value) in obj {
        let kpath = format!("{path}.{key}");
        match key.as_str() {
            "name" => field.name = as_str(&kpath, value)?.to_owned(),
            "representation" => field.representation = Some(as_str(&kpath, value)?.to_owned()),
            "value_type" => {
                declared = Some(match value {
                    Json::String(s) => match s.as_str() {
                        "string" => 0,
                        "bytes" => 1,
                        "integer" => 2,
                        "double" => 3,
                        "bool" => 4,
                        _ => {
                            return Err(err(
                                &kpath,
                                format!(
                                    "unknown value_type {s:?} (expected string, bytes, \
                                     integer, double or bool)"
                                ),
                            ));
                        }
                    },
                    _ => as_i32(&kpath, value)?,
                })
            }
            "value" => {
                values = match value {
                    Json::Array(a) => a,
                    single => std::slice::from_ref(single),
                }
            }
            other => {
                return Err(err(
                    &kpath,
                    format!(
                        "unknown key {other:?} (expected name, value_type, representation or value)"
                    ),
                ));
            }
        }
    }
    let raw_type = declared.unwrap_or_else(|| match values.first() {
        Some(Json::Bool(_)) => ValueType::Bool as i32,
        Some(Json::Number(n)) if n.is_i64() => ValueType::Integer as i32,
        Some(Json::Number(_)) => ValueType::Double as i32,
        _ => ValueType::String as i32,
    });
    field.value_type = Some(raw_type);
    let kind = ValueType::try_from(raw_type).unwrap_or(ValueType::String);
    for (ai, v) in values.iter().enumerate() {
        let vpath = format!("{path}.value[{ai}]");
        match kind {
            ValueType::String => field.value_string.push(as_text(&vpath, v)?),
            ValueType::Bytes => {
                field
                    .value_bytes
                    .push(parse_hex(&vpath, as_str(&vpath, v)?, false)?)
            }
            ValueType::Integer => field.value_integer.push(as_i64(&vpath, v)?),
            ValueType::Double => field.value_double.push(as_f64(&vpath, v)?),
            ValueType::Bool => match v {
                Json::Bool(b) => field.value_bool.push(*b),
                _ => return Err(err(&vpath, "expected true or false (the field is bool)")),
            },
        }
    }
    Ok(field)
}

fn as_str<'a>(path: &str, v: &'a Json) -> Result<&'a str, JsonError> {
    v.as_str()
        .ok_or_else(|| err(path, format!("expected a string, found {}", kind_of(v))))
}

/// A payload or string field value: a JSON string, or `{"hex": "…"}` for bytes that
/// are not UTF-8.
fn as_text(path: &str, v: &Json) -> Result<Vec<u8>, JsonError> {
    if let Json::Object(obj) = v
        && obj.len() == 1
        && let Some(hex) = obj.get("hex")
    {
        let path = format!("{path}.hex");
        return parse_hex(&path, as_str(&path, hex)?, false);
    }
    Ok(as_str(path, v)?.as_bytes().to_vec())
}

fn as_i64(path: &str, v: &Json) -> Result<i64, JsonError> {
    v.as_i64().ok_or_else(|| {
        err(
            path,
            format!("expected an integer (64-bit), found {}", kind_of(v)),
        )
    })
}

fn as_i32(path: &str, v: &Json) -> Result<i32, JsonError> {
    let wide = v
        .as_i64()
        .ok_or_else(|| err(path, format!("expected an integer, found {}", kind_of(v))))?;
    i32::try_from(wide).map_err(|_| err(path, format!("{wide} does not fit in 32 bits")))
}

fn as_f64(path: &str, v: &Json) -> Result<f64, JsonError> {
    match v {
        Json::Number(n) => n
            .as_f64()
            .ok_or_else(|| err(path, "number out of range for a double")),
        Json::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(err(
                path,
                format!("expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", found {s:?}"),
            )),
        },
        _ => Err(err(
            path,
            format!("expected a number, found {}", kind_of(v)),
        )),
    }
}

/// Hex to bytes; with `allow_hyphens` (the Uuid) `-` separators are skipped.
fn parse_hex(path: &str, s: &str, allow_hyphens: bool) -> Result<Vec<u8>, JsonError> {
    let mut out = Vec::with_capacity(s.len() / 2);
    let mut high: Option<u8> = None;
    for (i, c) in s.char_indices() {
        if allow_hyphens && c == '-' {
            continue;
        }
        let Some(d) = c.to_digit(16) else {
            return Err(err(
                path,
                format!("expected hex digits, found {c:?} at character {i}"),
            ));
        };
        let d = d as u8;
        match high.take() {
            None => high = Some(d),
            Some(h) => out.push(h << 4 | d),
        }
    }
    if high.is_some() {
        return Err(err(path, "odd number of hex digits"));
    }
    Ok(out)
}

fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn sample() -> Message {
        let mut m = Message {
            uuid: vec![
                0x0f, 0x8f, 0xad, 0x5b, 0xd9, 0xcb, 0x46, 0x9f, 0xa1, 0x65, 0x70, 0x86, 0x77, 0x28,
                0x95, 0x0e,
            ],
            timestamp: 1_700_000_000_123_456_789,
            r#type: Some("nginx.access".into()),
            logger: Some(String::new()),
            severity: Some(6),
            payload: Some("GET \"/\" 200\n".into()),
            env_version: Some("0.8".into()),
            pid: Some(-1),
            hostname: Some("web-1".into()),
            fields: Vec::new(),
        };
        m.add_field("status", Value::Integer(i64::MAX), "");
        let mut p = Field::new("path", Value::String("/".into()), "uri");
        p.push(Value::String("/ü".into()));
        m.fields.push(p);
        m.add_field("raw", Value::Bytes(vec![0, 0xff, 0x1e]), "");
        let mut d = Field::new("ms", Value::Double(12.5), "ms");
        d.push(Value::Double(f64::INFINITY));
        d.push(Value::Double(f64::NEG_INFINITY));
        d.push(Value::Double(-0.0));
        d.push(Value::Double(1.0));
        m.fields.push(d);
        m.add_field("cached", Value::Bool(true), "");
        m.add_field("path", Value::String("/again".into()), "");
        m.fields.last_mut().unwrap().representation = None;
        m
    }

    #[test]
    fn exact_form() {
        let mut m = Message {
            uuid: vec![0xab; 16],
            timestamp: 5,
            severity: Some(3),
            ..Default::default()
        };
        m.add_field("n", Value::Integer(1), "count");
        m.add_field("b", Value::Bytes(vec![1, 0xfe]), "");
        assert_eq!(
            message_to_json(&m),
            r#"{"uuid":"abababab-abab-abab-abab-abababababab","timestamp":5,"severity":3,"fields":[{"name":"n","value_type":"integer","representation":"count","value":[1]},{"name":"b","value_type":"bytes","representation":"","value":["01fe"]}]}"#
        );
    }

    #[test]
    fn round_trip() {
        let m = sample();
        let text = message_to_json(&m);
        assert_eq!(message_from_json(&text).unwrap(), m, "{text}");
    }

    #[test]
    fn nan_round_trips_as_a_string() {
        let mut m = Message::default();
        m.add_field("x", Value::Double(f64::NAN), "");
        let text = message_to_json(&m);
        assert!(text.contains("[\"NaN\"]"), "{text}");
        let back = message_from_json(&text).unwrap();
        assert!(back.fields[0].value_double[0].is_nan());
    }

    #[test]
    fn odd_uuid_lengths_are_plain_hex() {
        let m = Message {
            uuid: vec![1, 2, 3],
            ..Default::default()
        };
        let text = message_to_json(&m);
        assert!(
            text.starts_with(r#"{"uuid":"010203","timestamp":0"#),
            "{text}"
        );
        assert_eq!(message_from_json(&text).unwrap(), m);
    }

    #[test]
    fn everything_is_optional_and_types_are_inferred() {
        let m = message_from_json(
            r#"{"payload":"hi","fields":[{"name":"a","value":1},{"name":"b","value":[1.5]},
                {"name":"c","value":true},{"name":"d","value":"s"},{"name":"e"}]}"#,
        )
        .unwrap();
        assert_eq!(m.uuid, Vec::<u8>::new());
        assert_eq!(m.timestamp, 0);
        assert_eq!(m.payload(), b"hi");
        assert_eq!(m.severity, None);
        let kinds: Vec<_> = m.fields.iter().map(|f| f.value_type()).collect();
        use ValueType::*;
        assert_eq!(kinds, [Integer, Double, Bool, String, String]);
        assert_eq!(m.fields[4].len(), 0);
        // A declared double accepts integer literals.
        let m = message_from_json(r#"{"fields":[{"name":"d","value_type":"double","value":[3]}]}"#)
            .unwrap();
        assert_eq!(m.fields[0].value_double, [3.0]);
        // Hyphen-less upper-case uuid.
        let m = message_from_json(r#"{"uuid":"0F8FAD5BD9CB469FA16570867728950E"}"#).unwrap();
        assert_eq!(m.uuid.len(), 16);
    }

    #[test]
    fn errors_name_the_path() {
        let cases = [
            ("[]", "$", "expected an object"),
            ("{", "$", "EOF"),
            (r#"{"tipe":"x"}"#, "$.tipe", "unknown key"),
            (
                r#"{"timestamp":"now"}"#,
                "$.timestamp",
                "expected an integer",
            ),
            (r#"{"severity":99999999999}"#, "$.severity", "32 bits"),
            (r#"{"uuid":"zz"}"#, "$.uuid", "hex"),
            (r#"{"fields":{}}"#, "$.fields", "array"),
            (r#"{"fields":[1]}"#, "$.fields[0]", "field object"),
            (
                r#"{"fields":[{"name":"a"},{"name":"b","value_type":"integer","value":[1,"x"]}]}"#,
                "$.fields[1].value[1]",
                "expected an integer",
            ),
            (
                r#"{"fields":[{"name":"a","value_type":"int"}]}"#,
                "$.fields[0].value_type",
                "unknown value_type",
            ),
            (
                r#"{"fields":[{"name":"a","value_type":"bytes","value":["abc"]}]}"#,
                "$.fields[0].value[0]",
                "odd number",
            ),
            (
                r#"{"fields":[{"name":"a","value_type":"bool","value":[1]}]}"#,
                "$.fields[0].value[0]",
                "true or false",
            ),
            (
                r#"{"fields":[{"nom":"a"}]}"#,
                "$.fields[0].nom",
                "unknown key",
            ),
        ];
        for (text, path, reason) in cases {
            let e = message_from_json(text).unwrap_err();
            assert_eq!(e.path, path, "{text}: {e}");
            assert!(e.reason.contains(reason), "{text}: {e}");
        }
    }
}
