//! `write_message` (decoders): Heka's copy-on-write change of the current message.
//!
//! The first write copies the current message; later reads ([`crate::read_message`])
//! see the copy, and the decoder export hands the copy back to the host encoded.

use heka_message::var::{self, Var};
use heka_message::{Field, Message, Value};

use crate::{CURRENT, Error, Result, WRITTEN};

/// Something [`write_message`] accepts as a value (Rust's stand-in for Lua's dynamic
/// values).
pub trait IntoValue {
    fn into_value(self) -> Value;
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}
impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::String(self.as_bytes().to_vec())
    }
}
impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::String(self.into_bytes())
    }
}
impl IntoValue for i64 {
    fn into_value(self) -> Value {
        Value::Integer(self)
    }
}
impl IntoValue for i32 {
    fn into_value(self) -> Value {
        Value::Integer(self.into())
    }
}
impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Double(self)
    }
}
impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}
impl IntoValue for Vec<u8> {
    fn into_value(self) -> Value {
        Value::Bytes(self)
    }
}

/// Heka's `write_message(var, value, representation, field_index, array_index)`.
///
/// Headers: `Type`, `Logger`, `Payload`, `EnvVersion`, `Hostname` (strings),
/// `Timestamp` (ns, or a decimal string), `Severity`, `Pid` (integers or decimal
/// strings), `Uuid` (16 raw bytes or the 36-character text form). `Fields[name]`: sets
/// value `ai` of the `fi`-th field of that name, creating the field (typed by the
/// value) when `fi` is one past the last; a value of another type replaces the field's
/// values. Errors (unknown variable, bad value) are `Failed` outcomes.
pub fn write_message(
    var: &str,
    value: impl IntoValue,
    representation: &str,
    fi: usize,
    ai: usize,
) -> Result {
    let value = value.into_value();
    WRITTEN.with_borrow_mut(|w| {
        let msg = w.get_or_insert_with(|| CURRENT.with_borrow(Message::clone));
        write(msg, var, value, representation, fi, ai)
    })
}

fn as_int(var: &str, v: &Value) -> Result<i64> {
    match v {
        Value::Integer(i) => Ok(*i),
        Value::Double(d) if d.fract() == 0.0 => Ok(*d as i64),
        Value::String(s) => std::str::from_utf8(s)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| {
                Error::failed(format!(
                    "write_message: {var}: not an integer: {:?}",
                    String::from_utf8_lossy(s)
                ))
            }),
        other => Err(Error::failed(format!(
            "write_message: {var}: not an integer: {other:?}"
        ))),
    }
}

/// A value as the bytes of a string (the Payload takes any bytes).
fn as_bytes(v: Value) -> Vec<u8> {
    match v {
        Value::String(s) | Value::Bytes(s) => s,
        Value::Integer(i) => i.to_string().into_bytes(),
        Value::Double(d) => d.to_string().into_bytes(),
        Value::Bool(b) => b.to_string().into_bytes(),
    }
}

/// A value as a text header (Type, Logger, ...): bytes that are not UTF-8 fail.
fn as_string(var: &str, v: Value) -> Result<String> {
    String::from_utf8(as_bytes(v))
        .map_err(|_| Error::failed(format!("write_message: {var}: not UTF-8")))
}

fn write(msg: &mut Message, var: &str, value: Value, repr: &str, fi: usize, ai: usize) -> Result {
    let unknown = || Error::failed(format!("write_message: unknown variable {var:?}"));
    let v = Var::parse(var.as_bytes()).ok_or_else(unknown)?;
    if let Some(slot) = v.text_header(msg) {
        *slot = Some(as_string(var, value)?);
        return Ok(());
    }
    let small = |value: &Value| {
        i32::try_from(as_int(var, value)?)
            .map_err(|e| Error::failed(format!("write_message: {var}: {e}")))
    };
    match v {
        Var::Payload => msg.payload = Some(as_bytes(value)),
        Var::Timestamp => msg.timestamp = as_int(var, &value)?,
        Var::Severity => msg.severity = Some(small(&value)?),
        Var::Pid => msg.pid = Some(small(&value)?),
        Var::Uuid => {
            msg.uuid = match value {
                Value::Bytes(b) if b.len() == 16 => b,
                Value::String(s) => var::parse_uuid(&s).map(|u| u.to_vec()).ok_or_else(|| {
                    Error::failed(format!(
                        "write_message: Uuid: invalid {:?}",
                        String::from_utf8_lossy(&s)
                    ))
                })?,
                other => {
                    return Err(Error::failed(format!(
                        "write_message: Uuid: invalid {other:?}"
                    )));
                }
            }
        }
        Var::Field(name) => {
            let name = std::str::from_utf8(name).map_err(|_| unknown())?;
            write_field(msg, var, name, value, repr, fi, ai)?;
        }
        _ => return Err(unknown()),
    }
    Ok(())
}

/// `Fields[name][fi][ai] = value`: creates the field when `fi` is one past the last
/// of that name; a value of another type replaces the field's values.
fn write_field(
    msg: &mut Message,
    var: &str,
    name: &str,
    value: Value,
    repr: &str,
    fi: usize,
    ai: usize,
) -> Result {
    match var::field_position(msg, name, fi) {
        Some(pos) => {
            let field = &mut msg.fields[pos];
            if field.kind() != value.value_type() {
                *field = Field::new(name, value, repr);
                return Ok(());
            }
            if !repr.is_empty() {
                field.representation = Some(repr.to_owned());
            }
            set_at(field, ai, value)
        }
        None if ai == 0 && msg.fields.iter().filter(|f| f.name == name).count() == fi => {
            msg.fields.push(Field::new(name, value, repr));
            Ok(())
        }
        None => Err(Error::failed(format!(
            "write_message: {var}: field index {fi} out of range"
        ))),
    }
}

fn set_at(field: &mut Field, ai: usize, value: Value) -> Result {
    field.set(ai, value).map_err(|len| {
        Error::failed(format!(
            "write_message: array index {ai} out of range ({len})"
        ))
    })
}
