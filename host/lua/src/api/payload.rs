//! What a script sends out: `add_to_payload` and `inject_payload` append to the
//! contract's bounded output buffer ([`crate::runtime`]'s `Emitted`, bounded by
//! `output_limit`), `inject_message` queues a message built from a table or a
//! protobuf string.

use mlua::{Lua, Value, Variadic};

use super::err;
use super::table::table_to_message;
use crate::state::{State, state};

/// Appends one `add_to_payload` argument; numbers as Heka's `serialize_double`.
fn append_value(out: &mut Vec<u8>, v: &Value, func: &str) -> mlua::Result<()> {
    match v {
        Value::String(s) => out.extend_from_slice(&s.as_bytes()),
        Value::Integer(i) => out.extend_from_slice(crate::cjson::heka_number(*i as f64).as_bytes()),
        Value::Number(n) => out.extend_from_slice(crate::cjson::heka_number(*n).as_bytes()),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Nil => out.extend_from_slice(b"nil"),
        // A circular buffer appends its cbuf/cbufd text (heka-lua-modules).
        Value::UserData(ud) if heka_lua_modules::output(ud, out)? => {}
        other => {
            return Err(err(format!(
                "{func}() unsupported type: {}",
                other.type_name()
            )));
        }
    }
    Ok(())
}

/// Appends the values to the output buffer, all or none (the contract's [`Emitted`]
/// bounds it by `output_limit`).
fn add_values(lua: &Lua, values: &[Value], func: &str) -> mlua::Result<()> {
    let mut s = state(lua)?;
    match values {
        // The common case, one string: no staging copy.
        [Value::String(v)] => s.emitted.add_to_payload(&v.as_bytes()),
        _ => {
            let mut staged = Vec::new();
            for v in values {
                append_value(&mut staged, v, func)?;
            }
            s.emitted.add_to_payload(&staged)
        }
    }
    .map_err(State::emit_error)
}

pub(super) fn add_to_payload(lua: &Lua, values: Variadic<Value>) -> mlua::Result<()> {
    add_values(lua, &values, "add_to_payload")
}

fn opt_string(v: Option<&Value>, default: &str, what: &str) -> mlua::Result<String> {
    match v {
        None | Some(Value::Nil) => Ok(default.to_owned()),
        Some(Value::String(s)) => s
            .to_str()
            .map(|t| t.to_owned())
            .map_err(|_| err(format!("inject_payload() {what} must be UTF-8 text"))),
        Some(_) => Err(err(format!("inject_payload() {what} must be a string"))),
    }
}

pub(super) fn inject_payload(lua: &Lua, args: Variadic<Value>) -> mlua::Result<()> {
    let mut payload_type = opt_string(args.first(), "txt", "payload_type")?;
    if payload_type.is_empty() {
        // Heka: an empty type is "txt".
        payload_type.push_str("txt");
    }
    let payload_name = opt_string(args.get(1), "", "payload_name")?;
    if args.len() > 2 {
        add_values(lua, &args[2..], "inject_payload")?;
    }
    let mut s = state(lua)?;
    let at = s.at;
    s.emitted
        .inject_payload(at, &payload_type, &payload_name, &[])
        .map_err(State::emit_error)
}

pub(super) fn inject_message(lua: &Lua, arg: Value) -> mlua::Result<()> {
    let msg = match arg {
        Value::Table(t) => {
            table_to_message(&t).map_err(|e| err(format!("inject_message() {e}")))?
        }
        Value::String(s) => heka_message::decode_message(&s.as_bytes()).map_err(|e| {
            err(format!(
                "inject_message() could not decode protobuf string: {e}"
            ))
        })?,
        other => {
            return Err(err(format!(
                "inject_message() takes a table or a protobuf string, not {}",
                other.type_name()
            )));
        }
    };
    let mut s = state(lua)?;
    let msg = match &s.tz {
        Some(tz) => crate::tz::in_zone(msg, tz),
        None => msg,
    };
    let size = heka_message::encoded_len(&msg);
    let at = s.at;
    s.emitted
        .inject_decoded(at, msg, size)
        .map_err(State::emit_error)
}
