//! Reading the current message from Lua: `read_message` (headers, `raw`, fields by
//! Heka's variable addressing in [`heka_message::var`]), `read_next_field`, and
//! `decode_message` / [`message_to_table`] (Heka's array-form message table).

use heka_message::var::{self, Var, VarValue};
use heka_message::{FieldValue, Message};
use mlua::{Lua, Table, Value};

use super::{err, field_value, index_arg};
use crate::state::RawState;
use crate::state::state;

pub(super) fn read_message(
    lua: &Lua,
    (var, fi, ai): (mlua::LuaString, Option<f64>, Option<f64>),
) -> mlua::Result<Value> {
    let fi = index_arg(fi, "field")?;
    let ai = index_arg(ai, "array")?;
    let mut guard = state(lua)?;
    let s = &mut *guard;
    let var = var.as_bytes();
    if &*var == b"raw" {
        match s.raw_state {
            RawState::Absent => return Ok(Value::Nil),
            RawState::Valid => {}
            RawState::Stale => {
                let Some(m) = s.msg.get() else {
                    return Ok(Value::Nil);
                };
                s.raw.clear();
                heka_message::encode_message(m, &mut s.raw);
                s.raw_state = RawState::Valid;
            }
        }
        return Ok(Value::String(lua.create_string(&s.raw)?));
    }
    let Some(m) = s.msg.get() else {
        return Ok(Value::Nil);
    };
    let Some(v) = Var::parse(&var) else {
        return Ok(Value::Nil);
    };
    let mut uuid = [0u8; 36];
    Ok(match var::read(m, v, fi, ai, &mut uuid) {
        // Bytes as they are: Lua strings are binary-safe, and so was Heka's API.
        Some(VarValue::Bytes(b)) => Value::String(lua.create_string(b)?),
        // Heka's Timestamp is a Lua number (a double); Severity and Pid integers.
        Some(VarValue::Integer(i)) if v == Var::Timestamp => Value::Number(i as f64),
        Some(VarValue::Integer(i)) => Value::Integer(i),
        // Heka read an empty bytes value as nil.
        Some(VarValue::Field(FieldValue::Bytes([]))) => Value::Nil,
        Some(VarValue::Field(f)) => field_value(lua, f)?,
        // A Uuid that is not 16 bytes reads as "", as in Heka.
        None if v == Var::Uuid => Value::String(lua.create_string("")?),
        None => Value::Nil,
    })
}

/// `value_type, name, value, representation, count` of the next field; nil×5 at end.
pub(super) fn read_next_field(
    lua: &Lua,
    (): (),
) -> mlua::Result<(Value, Value, Value, Value, Value)> {
    let mut guard = state(lua)?;
    let s = &mut *guard;
    let i = s.next_field;
    let Some(f) = s.msg.get().and_then(|m| m.fields.get(i)) else {
        return Ok((Value::Nil, Value::Nil, Value::Nil, Value::Nil, Value::Nil));
    };
    let value = match f.value(0) {
        Some(v) => field_value(lua, v)?,
        None => Value::Nil,
    };
    let out = (
        Value::Integer(f.kind() as i64),
        Value::String(lua.create_string(&f.name)?),
        value,
        Value::String(lua.create_string(f.representation())?),
        Value::Integer(f.len() as i64),
    );
    s.next_field += 1;
    Ok(out)
}

/// A protobuf message as Heka's array-form table (every field's `value` an array).
pub(super) fn decode_message(lua: &Lua, bytes: mlua::LuaString) -> mlua::Result<Table> {
    let m = heka_message::decode_message(&bytes.as_bytes()).map_err(|e| {
        err(format!(
            "decode_message() could not decode protobuf string: {e}"
        ))
    })?;
    message_to_table(lua, &m)
}

pub(crate) fn message_to_table(lua: &Lua, m: &Message) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("Uuid", lua.create_string(&m.uuid)?)?;
    t.raw_set("Timestamp", m.timestamp as f64)?;
    for (key, v) in [
        ("Type", &m.r#type),
        ("Logger", &m.logger),
        ("EnvVersion", &m.env_version),
        ("Hostname", &m.hostname),
    ] {
        if let Some(v) = v {
            t.raw_set(key, lua.create_string(v)?)?;
        }
    }
    if let Some(p) = &m.payload {
        t.raw_set("Payload", lua.create_string(p)?)?;
    }
    if let Some(s) = m.severity {
        t.raw_set("Severity", s)?;
    }
    if let Some(p) = m.pid {
        t.raw_set("Pid", p)?;
    }
    if !m.fields.is_empty() {
        let fields = lua.create_table_with_capacity(m.fields.len(), 0)?;
        for (i, f) in m.fields.iter().enumerate() {
            let ft = lua.create_table()?;
            ft.raw_set("name", lua.create_string(&f.name)?)?;
            ft.raw_set("value_type", f.kind() as i32)?;
            if let Some(r) = &f.representation {
                ft.raw_set("representation", lua.create_string(r)?)?;
            }
            let values = lua.create_table_with_capacity(f.len(), 0)?;
            for ai in 0..f.len() {
                if let Some(v) = f.value(ai) {
                    values.raw_set(ai + 1, field_value(lua, v)?)?;
                }
            }
            ft.raw_set("value", values)?;
            fields.raw_set(i + 1, ft)?;
        }
        t.raw_set("Fields", fields)?;
    }
    Ok(t)
}
