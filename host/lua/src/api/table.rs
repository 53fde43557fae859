//! Heka's message table schema (reference §9) → a [`Message`]: the table a script
//! passes to `inject_message`. Headers that are text refuse non-UTF-8 bytes with an
//! error; Payload and string fields take any bytes, as in Heka.

use heka_message::{Field, Message, Value as FieldVal, ValueType};
use mlua::{Table, Value};

pub(super) fn lua_bytes(v: &Value, what: &str) -> Result<Vec<u8>, String> {
    match v {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Integer(i) => Ok(i.to_string().into_bytes()),
        Value::Number(n) => Ok(crate::cjson::format_g(*n, 14).into_bytes()),
        other => Err(format!(
            "{what} must be a string, not {}",
            other.type_name()
        )),
    }
}

/// Text the message model holds as a `String` (field names, representations): bytes
/// that are not UTF-8 are refused with an error, never replaced.
pub(super) fn utf8(s: &mlua::LuaString, what: &str) -> Result<String, String> {
    s.to_str()
        .map(|t| t.to_owned())
        .map_err(|_| format!("{what} must be UTF-8 text"))
}

/// A header held as text (Type, Logger, Hostname, EnvVersion): bytes that are not
/// UTF-8 are refused with an error rather than replaced.
pub(super) fn lua_str(v: &Value, what: &str) -> Result<String, String> {
    String::from_utf8(lua_bytes(v, what)?).map_err(|_| format!("{what} must be UTF-8 text"))
}

pub(super) fn lua_num(v: &Value, what: &str) -> Result<f64, String> {
    match v {
        Value::Integer(i) => Ok(*i as f64),
        Value::Number(n) => Ok(*n),
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .ok_or_else(|| format!("{what} must be a number")),
        other => Err(format!(
            "{what} must be a number, not {}",
            other.type_name()
        )),
    }
}

/// Heka's table schema (reference §9) → a message. Unset headers stay unset; the
/// plugin wrapper fills them (fresh Uuid, now, ...).
pub(crate) fn table_to_message(t: &Table) -> Result<Message, String> {
    let mut m = Message::default();
    let get = |k: &str| t.raw_get::<Value>(k).map_err(|e| e.to_string());
    if let Value::String(u) = get("Uuid")? {
        let b = u.as_bytes();
        if b.len() == 16 {
            m.uuid = b.to_vec();
        }
    }
    match get("Timestamp")? {
        Value::Nil => {}
        v => m.timestamp = lua_num(&v, "Timestamp")? as i64,
    }
    if let v @ (Value::String(_) | Value::Integer(_) | Value::Number(_)) = get("Payload")? {
        m.payload = Some(lua_bytes(&v, "Payload")?);
    } else if !matches!(get("Payload")?, Value::Nil) {
        lua_bytes(&get("Payload")?, "Payload")?;
    }
    for (key, slot) in [
        ("Type", &mut m.r#type),
        ("Logger", &mut m.logger),
        ("Hostname", &mut m.hostname),
        ("EnvVersion", &mut m.env_version),
    ] {
        match get(key)? {
            Value::Nil => {}
            v => *slot = Some(lua_str(&v, key)?),
        }
    }
    match get("Pid")? {
        Value::Nil => {}
        v => m.pid = Some(lua_num(&v, "Pid")? as i32),
    }
    match get("Severity")? {
        Value::Nil => {}
        v => m.severity = Some(lua_num(&v, "Severity")? as i32),
    }
    match get("Fields")? {
        Value::Nil => {}
        Value::Table(fields) => read_fields(&fields, &mut m)?,
        other => return Err(format!("Fields must be a table, not {}", other.type_name())),
    }
    Ok(m)
}

fn read_fields(fields: &Table, m: &mut Message) -> Result<(), String> {
    let array_form = !matches!(fields.raw_get::<Value>(1), Ok(Value::Nil));
    if array_form {
        for entry in fields.clone().sequence_values::<Value>() {
            let Value::Table(entry) = entry.map_err(|e| e.to_string())? else {
                return Err("Fields array entries must be tables".into());
            };
            let name = match entry.raw_get::<Value>("name").map_err(|e| e.to_string())? {
                Value::String(s) => utf8(&s, "a field name")?,
                _ => return Err("Fields array entries need a string name".into()),
            };
            m.fields.push(make_field(name, &Value::Table(entry))?);
        }
        return Ok(());
    }
    for pair in fields.clone().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let name = match k {
            Value::String(s) => utf8(&s, "a field name")?,
            other => {
                return Err(format!(
                    "field names must be strings, not {}",
                    other.type_name()
                ));
            }
        };
        m.fields.push(make_field(name, &v)?);
    }
    Ok(())
}

/// One field from `value`, `{v1, v2}` or `{value=..., value_type=N, representation=...}`.
fn make_field(name: String, v: &Value) -> Result<Field, String> {
    let mut field = Field {
        name,
        ..Default::default()
    };
    let (values, declared) = match v {
        Value::Table(t) => {
            let value: Value = t.raw_get("value").map_err(|e| e.to_string())?;
            if value.is_nil() && !t.contains_key("name").unwrap_or(false) {
                (v.clone(), None)
            } else {
                (value, described(t, &mut field)?)
            }
        }
        other => (other.clone(), None),
    };
    match &values {
        Value::Table(arr) => {
            for item in arr.clone().sequence_values::<Value>() {
                push_value(&mut field, declared, &item.map_err(|e| e.to_string())?)?;
            }
            if field.value_type.is_none() {
                field.value_type = Some(declared.unwrap_or(ValueType::String) as i32);
            }
        }
        v => push_value(&mut field, declared, v)?,
    }
    Ok(field)
}

/// The `representation` (set on `field`) and declared `value_type` of a
/// `{value=..., value_type=N, representation=...}` table.
fn described(t: &Table, field: &mut Field) -> Result<Option<ValueType>, String> {
    if let Value::String(r) = t
        .raw_get::<Value>("representation")
        .map_err(|e| e.to_string())?
    {
        field.representation = Some(utf8(&r, "a representation")?);
    }
    match t
        .raw_get::<Value>("value_type")
        .map_err(|e| e.to_string())?
    {
        Value::Nil => Ok(None),
        vt => {
            let n = lua_num(&vt, "value_type")? as i32;
            ValueType::try_from(n)
                .map(Some)
                .map_err(|_| format!("invalid value_type {n}"))
        }
    }
}

/// Appends one Lua value to `field`, as the declared type or the value's natural one
/// (strings, numbers as doubles, booleans); every value of a field has one type.
fn push_value(field: &mut Field, declared: Option<ValueType>, v: &Value) -> Result<(), String> {
    let natural = match v {
        Value::String(_) => ValueType::String,
        Value::Integer(_) | Value::Number(_) => ValueType::Double,
        Value::Boolean(_) => ValueType::Bool,
        other => {
            return Err(format!(
                "field '{}': unsupported value type {}",
                field.name,
                other.type_name()
            ));
        }
    };
    let vt = declared.unwrap_or(natural);
    if field.value_type.is_none() {
        field.value_type = Some(vt as i32);
    } else if field.kind() != vt {
        return Err(format!(
            "field '{}': array values of mixed types",
            field.name
        ));
    }
    let value = match (vt, v) {
        (ValueType::String, v) => FieldVal::String(lua_bytes(v, "a string field value")?),
        (ValueType::Bytes, Value::String(s)) => FieldVal::Bytes(s.as_bytes().to_vec()),
        (ValueType::Integer, v) => FieldVal::Integer(lua_num(v, "an integer field value")? as i64),
        (ValueType::Double, v) => FieldVal::Double(lua_num(v, "a double field value")?),
        (ValueType::Bool, Value::Boolean(b)) => FieldVal::Bool(*b),
        (vt, v) => {
            return Err(format!(
                "field '{}': a {} cannot be stored as {vt:?}",
                field.name,
                v.type_name()
            ));
        }
    };
    field.push(value);
    Ok(())
}
