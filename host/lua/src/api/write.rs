//! `write_message` (decoders and encoders only): set a header or a field of the
//! message being decoded or encoded, by Heka's variable addressing.

use heka_message::var::{self, Var};
use heka_message::{Field, Message, Value as FieldVal};
use mlua::{Lua, Value};

use super::table::{lua_bytes, lua_num, lua_str, utf8};
use super::{err, index_arg};
use crate::state::state;
use crate::state::{Kind, RawState};

pub(super) fn write_message(
    lua: &Lua,
    (var, value, repr, fi, ai): (
        mlua::LuaString,
        Value,
        Option<mlua::LuaString>,
        Option<f64>,
        Option<f64>,
    ),
) -> mlua::Result<()> {
    let fi = index_arg(fi, "field").map_err(|_| err("write_message() field index must be >= 0"))?;
    let ai = match ai {
        None => None,
        ai => Some(
            index_arg(ai, "array").map_err(|_| err("write_message() array index must be >= 0"))?,
        ),
    };
    let utf8 =
        |s: &mlua::LuaString, what| utf8(s, what).map_err(|e| err(format!("write_message() {e}")));
    let repr = match repr {
        Some(r) => utf8(&r, "the representation")?,
        None => String::new(),
    };
    let var = utf8(&var, "the variable name")?;
    let mut s = state(lua)?;
    let Some(m) = s.msg.get_mut() else {
        return Err(err("write_message() no message to write to"));
    };
    let at = At { repr, fi, ai };
    write_to(m, &var, &value, at).map_err(|e| err(format!("write_message() {e}")))?;
    // The encoding cached for `raw` is stale now.
    if s.raw_state == RawState::Valid && s.kind != Kind::Decoder {
        s.raw_state = RawState::Stale;
    }
    Ok(())
}

/// Where `write_message` writes: a field's representation, field index and optional
/// array index (without one, the whole field is replaced).
struct At {
    repr: String,
    fi: usize,
    ai: Option<usize>,
}

fn write_to(m: &mut Message, var: &str, value: &Value, at: At) -> Result<(), String> {
    let unknown = || format!("unknown variable '{var}'");
    let v = Var::parse(var.as_bytes()).ok_or_else(unknown)?;
    if let Some(slot) = v.text_header(m) {
        *slot = Some(lua_str(value, var)?);
        return Ok(());
    }
    match v {
        Var::Uuid => {
            let Value::String(s) = value else {
                return Err("Uuid must be a string".into());
            };
            let b = s.as_bytes();
            m.uuid = if b.len() == 16 {
                b.to_vec()
            } else {
                var::parse_uuid(&b)
                    .ok_or_else(|| format!("invalid Uuid '{}'", s.to_string_lossy()))?
                    .to_vec()
            };
        }
        Var::Payload => m.payload = Some(lua_bytes(value, var)?),
        Var::Timestamp => {
            m.timestamp = match value {
                Value::String(s) => {
                    let text = s.to_string_lossy();
                    match text.trim().parse::<f64>() {
                        Ok(n) => n as i64,
                        Err(_) => heka_message::civil::parse_rfc3339(text.trim())
                            .ok_or_else(|| format!("cannot parse Timestamp '{text}'"))?,
                    }
                }
                v => lua_num(v, "Timestamp")? as i64,
            }
        }
        Var::Severity => m.severity = Some(lua_num(value, "Severity")? as i32),
        Var::Pid => m.pid = Some(lua_num(value, "Pid")? as i32),
        Var::Field(name) => {
            let name = std::str::from_utf8(name).map_err(|_| unknown())?;
            write_field(m, name, value, at)?;
        }
        _ => return Err(unknown()),
    }
    Ok(())
}

/// `Fields[name][fi][ai] = value` with Heka's Lua rules: nil removes the value (with
/// an array index) or the field; a value of another type replaces a field of at most
/// one value; numbers are doubles.
fn write_field(m: &mut Message, name: &str, value: &Value, at: At) -> Result<(), String> {
    let At { repr, fi, ai } = at;
    let position = var::field_position(m, name, fi);
    let new_value = match value {
        Value::Nil => None,
        Value::Boolean(b) => Some(FieldVal::Bool(*b)),
        Value::Integer(i) => Some(FieldVal::Double(*i as f64)),
        Value::Number(n) => Some(FieldVal::Double(*n)),
        Value::String(s) => Some(FieldVal::String(s.as_bytes().to_vec())),
        other => return Err(format!("unsupported value type {}", other.type_name())),
    };
    match (position, new_value, ai) {
        (None, None, _) => {}
        (None, Some(v), _) => m.fields.push(Field::new(name, v, &repr)),
        (Some(i), None, Some(ai)) => m.fields[i].remove(ai),
        (Some(i), None, None) => _ = m.fields.remove(i),
        (Some(i), Some(v), None) => m.fields[i] = Field::new(name, v, &repr),
        (Some(i), Some(v), Some(ai)) => {
            let f = &mut m.fields[i];
            if f.kind() != v.value_type() {
                if f.len() <= 1 && ai == 0 {
                    *f = Field::new(name, v, &repr);
                    return Ok(());
                }
                return Err(format!("field '{name}' holds {:?} values", f.kind()));
            }
            if !repr.is_empty() {
                f.representation = Some(repr);
            }
            f.set(ai, v).map_err(|len| {
                format!("array index {ai} past the end of field '{name}' ({len})")
            })?;
        }
    }
    Ok(())
}
