//! The functions Heka 0.10 gave sandbox scripts (reference §9): `read_config`,
//! `read_message`, `read_next_field`, `decode_message`, `add_to_payload`,
//! `inject_payload`, `inject_message`, `write_message` (decoders and encoders only),
//! `require`, and the UTC-only `os.date` / `os.time`.
//!
//! Everything works on [`State`], the Lua state's app data. Errors are raised as Lua
//! errors with Heka's function-name prefix (an uncaught one terminates the plugin);
//! broken limits are also recorded as fatal (see [`crate::runtime`]).

use heka_message::var::{self, Var, VarValue};
use heka_message::{Field, FieldValue, Message, Value as FieldVal, ValueType};
use mlua::{AppDataRefMut, Lua, Table, Value, Variadic};

use crate::ConfigValue;
use crate::runtime::{Kind, RawState, State};

/// The state, or a Lua error when it is already borrowed (re-entrancy).
pub(crate) fn state(lua: &Lua) -> mlua::Result<AppDataRefMut<'_, State>> {
    match lua.try_app_data_mut::<State>() {
        Ok(Some(s)) => Ok(s),
        _ => Err(mlua::Error::runtime("sandbox state unavailable")),
    }
}

fn err(msg: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(msg)
}

/// Installs the API globals for a plugin of `kind`.
pub(crate) fn install(lua: &Lua, kind: Kind) -> mlua::Result<()> {
    let g = lua.globals();
    g.raw_set("read_config", lua.create_function(read_config)?)?;
    g.raw_set("read_message", lua.create_function(read_message)?)?;
    g.raw_set("read_next_field", lua.create_function(read_next_field)?)?;
    g.raw_set("decode_message", lua.create_function(decode_message)?)?;
    g.raw_set("add_to_payload", lua.create_function(add_to_payload)?)?;
    g.raw_set("inject_payload", lua.create_function(inject_payload)?)?;
    g.raw_set("inject_message", lua.create_function(inject_message)?)?;
    g.raw_set("require", lua.create_function(require)?)?;
    if kind != Kind::Filter {
        g.raw_set("write_message", lua.create_function(write_message)?)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- read_config

fn read_config(lua: &Lua, name: mlua::LuaString) -> mlua::Result<Value> {
    let s = state(lua)?;
    let key = name.to_str()?;
    Ok(match s.config.get(&*key) {
        None => Value::Nil,
        Some(ConfigValue::String(v)) => Value::String(lua.create_string(v)?),
        Some(ConfigValue::Boolean(b)) => Value::Boolean(*b),
        Some(ConfigValue::Integer(i)) => Value::Number(*i as f64),
        Some(ConfigValue::Float(f)) => Value::Number(*f),
    })
}

// ---------------------------------------------------------------- read_message

fn index_arg(v: Option<f64>, what: &str) -> mlua::Result<usize> {
    match v {
        None => Ok(0),
        Some(n) if n >= 0.0 && n.is_finite() => Ok(n as usize),
        Some(_) => Err(err(format!("read_message() {what} index must be >= 0"))),
    }
}

fn field_value(lua: &Lua, v: FieldValue<'_>) -> mlua::Result<Value> {
    Ok(match v {
        FieldValue::String(s) => Value::String(lua.create_string(s)?),
        FieldValue::Bytes(b) => Value::String(lua.create_string(b)?),
        FieldValue::Integer(i) => Value::Number(i as f64),
        FieldValue::Double(d) => Value::Number(d),
        FieldValue::Bool(b) => Value::Boolean(b),
    })
}

fn read_message(
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
fn read_next_field(lua: &Lua, (): ()) -> mlua::Result<(Value, Value, Value, Value, Value)> {
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

// ---------------------------------------------------------------- output buffer

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

fn add_to_payload(lua: &Lua, values: Variadic<Value>) -> mlua::Result<()> {
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

fn inject_payload(lua: &Lua, args: Variadic<Value>) -> mlua::Result<()> {
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

// ---------------------------------------------------------------- inject_message

fn inject_message(lua: &Lua, arg: Value) -> mlua::Result<()> {
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
        Some(tz) => crate::decoder::in_zone(msg, tz),
        None => msg,
    };
    let size = heka_message::encoded_len(&msg);
    let at = s.at;
    s.emitted
        .inject_decoded(at, msg, size)
        .map_err(State::emit_error)
}

/// A Lua string (or number, as Lua coerces) as the bytes it holds: Payload and string
/// fields take any bytes, as in Heka.
fn lua_bytes(v: &Value, what: &str) -> Result<Vec<u8>, String> {
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

/// A header held as text (Type, Logger, Hostname, EnvVersion): bytes that are not
/// UTF-8 are refused with an error rather than replaced.
fn lua_str(v: &Value, what: &str) -> Result<String, String> {
    String::from_utf8(lua_bytes(v, what)?).map_err(|_| format!("{what} must be UTF-8 text"))
}

fn lua_num(v: &Value, what: &str) -> Result<f64, String> {
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
                Value::String(s) => s.to_string_lossy(),
                _ => return Err("Fields array entries need a string name".into()),
            };
            m.fields.push(make_field(name, &Value::Table(entry))?);
        }
        return Ok(());
    }
    for pair in fields.clone().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let name = match k {
            Value::String(s) => s.to_string_lossy(),
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
                if let Value::String(r) = t
                    .raw_get::<Value>("representation")
                    .map_err(|e| e.to_string())?
                {
                    field.representation = Some(r.to_string_lossy());
                }
                let declared = match t
                    .raw_get::<Value>("value_type")
                    .map_err(|e| e.to_string())?
                {
                    Value::Nil => None,
                    vt => {
                        let n = lua_num(&vt, "value_type")? as i32;
                        Some(
                            ValueType::try_from(n)
                                .map_err(|_| format!("invalid value_type {n}"))?,
                        )
                    }
                };
                (value, declared)
            }
        }
        other => (other.clone(), None),
    };
    let push = |v: &Value, field: &mut Field| -> Result<(), String> {
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
            (ValueType::Integer, v) => {
                FieldVal::Integer(lua_num(v, "an integer field value")? as i64)
            }
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
    };
    match &values {
        Value::Table(arr) => {
            for item in arr.clone().sequence_values::<Value>() {
                push(&item.map_err(|e| e.to_string())?, &mut field)?;
            }
            if field.value_type.is_none() {
                field.value_type = Some(declared.unwrap_or(ValueType::String) as i32);
            }
        }
        v => push(v, &mut field)?,
    }
    Ok(field)
}

// ---------------------------------------------------------------- decode_message

/// A protobuf message as Heka's array-form table (every field's `value` an array).
fn decode_message(lua: &Lua, bytes: mlua::LuaString) -> mlua::Result<Table> {
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

// ---------------------------------------------------------------- write_message

fn write_message(
    lua: &Lua,
    (var, value, repr, fi, ai): (
        mlua::LuaString,
        Value,
        Option<mlua::LuaString>,
        Option<f64>,
        Option<f64>,
    ),
) -> mlua::Result<()> {
    let has_ai = ai.is_some();
    let fi = index_arg(fi, "field").map_err(|_| err("write_message() field index must be >= 0"))?;
    let ai = index_arg(ai, "array").map_err(|_| err("write_message() array index must be >= 0"))?;
    let repr = repr.map(|r| r.to_string_lossy()).unwrap_or_default();
    let var = var.to_string_lossy();
    let mut s = state(lua)?;
    let Some(m) = s.msg.get_mut() else {
        return Err(err("write_message() no message to write to"));
    };
    write_to(m, &var, &value, repr, fi, ai, has_ai)
        .map_err(|e| err(format!("write_message() {e}")))?;
    // The encoding cached for `raw` is stale now.
    if s.raw_state == RawState::Valid && s.kind != Kind::Decoder {
        s.raw_state = RawState::Stale;
    }
    Ok(())
}

fn write_to(
    m: &mut Message,
    var: &str,
    value: &Value,
    repr: String,
    fi: usize,
    ai: usize,
    has_ai: bool,
) -> Result<(), String> {
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
                        Err(_) => parse_rfc3339(text.trim())
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
            write_field(m, name, value, repr, fi, ai, has_ai)?;
        }
        _ => return Err(unknown()),
    }
    Ok(())
}

fn write_field(
    m: &mut Message,
    name: &str,
    value: &Value,
    repr: String,
    fi: usize,
    ai: usize,
    has_ai: bool,
) -> Result<(), String> {
    let position = var::field_position(m, name, fi);
    let new_value = match value {
        Value::Nil => None,
        Value::Boolean(b) => Some(FieldVal::Bool(*b)),
        Value::Integer(i) => Some(FieldVal::Double(*i as f64)),
        Value::Number(n) => Some(FieldVal::Double(*n)),
        Value::String(s) => Some(FieldVal::String(s.as_bytes().to_vec())),
        other => return Err(format!("unsupported value type {}", other.type_name())),
    };
    match (position, new_value) {
        (None, None) => {}
        (None, Some(v)) => m.fields.push(Field::new(name, v, &repr)),
        (Some(i), None) if has_ai => {
            let f = &mut m.fields[i];
            if ai < f.len() {
                match f.kind() {
                    ValueType::String => _ = f.value_string.remove(ai),
                    ValueType::Bytes => _ = f.value_bytes.remove(ai),
                    ValueType::Integer => _ = f.value_integer.remove(ai),
                    ValueType::Double => _ = f.value_double.remove(ai),
                    ValueType::Bool => _ = f.value_bool.remove(ai),
                }
            }
        }
        (Some(i), None) => _ = m.fields.remove(i),
        (Some(i), Some(v)) => {
            let f = &mut m.fields[i];
            if !has_ai || (f.kind() != v.value_type() && f.len() <= 1 && ai == 0) {
                *f = Field::new(name, v, &repr);
                return Ok(());
            }
            if f.kind() != v.value_type() {
                return Err(format!("field '{name}' holds {:?} values", f.kind()));
            }
            if !repr.is_empty() {
                f.representation = Some(repr);
            }
            let len = f.len();
            if ai > len {
                return Err(format!(
                    "array index {ai} past the end of field '{name}' ({len})"
                ));
            }
            if ai == len {
                f.push(v);
            } else {
                match v {
                    FieldVal::String(x) => f.value_string[ai] = x,
                    FieldVal::Bytes(x) => f.value_bytes[ai] = x,
                    FieldVal::Integer(x) => f.value_integer[ai] = x,
                    FieldVal::Double(x) => f.value_double[ai] = x,
                    FieldVal::Bool(x) => f.value_bool[ai] = x,
                }
            }
        }
    }
    Ok(())
}

/// RFC 3339 (`2006-01-02T15:04:05.999Z07:00`) to ns since the epoch.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut nanos = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let mut n: i64 = frac[..digits.min(9)].parse().ok()?;
        for _ in digits.min(9)..9 {
            n *= 10;
        }
        nanos = n;
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && matches!(&tz[..1], "+" | "-") => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (tz.get(1..3)?.parse::<i64>().ok()? * 3600
                + tz.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    let secs = timegm(y, mo, d, h, mi, se) - offset;
    Some(secs * 1_000_000_000 + nanos)
}

/// Seconds since the epoch of a UTC civil time; out-of-range months and days are
/// carried over (as C's `timegm`).
pub(crate) fn timegm(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    let y = y + (mo - 1).div_euclid(12);
    let m = (mo - 1).rem_euclid(12) + 1;
    // Howard Hinnant's days_from_civil.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468 + (d - 1);
    days * 86_400 + h * 3600 + mi * 60 + s
}

// ---------------------------------------------------------------- os (UTC)

/// `os.date` always formats in UTC (Heka forced TZ=UTC) and `os.time{...}` reads
/// the table as UTC.
pub(crate) fn install_os(lua: &Lua, os: &Table) -> mlua::Result<()> {
    let date: mlua::Function = os.raw_get("date")?;
    os.raw_set(
        "date",
        lua.create_function(move |lua, (fmt, t): (Option<mlua::LuaString>, Value)| {
            let fmt = fmt
                .map(|f| f.as_bytes().to_vec())
                .unwrap_or_else(|| b"%c".to_vec());
            let fmt = if fmt.starts_with(b"!") {
                fmt
            } else {
                [b"!".as_slice(), &fmt].concat()
            };
            date.call::<Value>((lua.create_string(&fmt)?, t))
        })?,
    )?;
    let time: mlua::Function = os.raw_get("time")?;
    os.raw_set(
        "time",
        lua.create_function(move |_, t: Option<Table>| {
            let Some(t) = t else {
                return time.call::<Value>(());
            };
            let field = |k: &str, default: Option<i64>| -> mlua::Result<i64> {
                match t.raw_get::<Value>(k)? {
                    Value::Integer(i) => Ok(i),
                    Value::Number(n) => Ok(n as i64),
                    Value::Nil => {
                        default.ok_or_else(|| err(format!("field '{k}' missing in date table")))
                    }
                    _ => Err(err(format!("field '{k}' missing in date table"))),
                }
            };
            let secs = timegm(
                field("year", None)?,
                field("month", None)?,
                field("day", None)?,
                field("hour", Some(12))?,
                field("min", Some(0))?,
                field("sec", Some(0))?,
            );
            Ok(Value::Number(secs as f64))
        })?,
    )?;
    Ok(())
}

// ---------------------------------------------------------------- require

const BUILTIN_MODULES: [&str; 4] = ["string", "table", "math", "os"];

fn require(lua: &Lua, name: String) -> mlua::Result<Value> {
    if BUILTIN_MODULES.contains(&name.as_str()) {
        return lua.named_registry_value(&format!("heka.lib.{name}"));
    }
    if name == "cjson" {
        let cjson: Table = lua.named_registry_value("heka.lib.cjson")?;
        lua.globals().raw_set("cjson", cjson.clone())?;
        return Ok(Value::Table(cjson));
    }
    let loaded: Table = lua.named_registry_value("heka.loaded")?;
    if let Some(v) = crate::modules::require(lua, &name, &loaded)? {
        return Ok(v);
    }
    if let v @ Value::Table(_) | v @ Value::Boolean(true) =
        loaded.raw_get::<Value>(name.as_str())?
    {
        return Ok(v);
    }
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        // No empty path segments: "..", a leading "." ("/x.lua" would be absolute)...
        && !name.contains("..")
        && !name.starts_with('.')
        && !name.ends_with('.');
    let dirs = state(lua)?.module_directory.clone();
    if valid {
        let rel = format!("{}.lua", name.replace('.', "/"));
        for dir in &dirs {
            let path = dir.join(&rel);
            let Ok(source) = std::fs::read(&path) else {
                continue;
            };
            let f = lua
                .load(source)
                .set_name(format!("@{}", path.display()))
                .into_function()?;
            let v = match f.call::<Value>(name.as_str())? {
                Value::Nil => Value::Boolean(true),
                v => v,
            };
            loaded.raw_set(name.as_str(), v.clone())?;
            return Ok(v);
        }
    }
    Err(err(format!(
        "module '{name}' not found: the sandbox provides string, table, math, os, cjson, lpeg, re, circular_buffer, struct, hyperloglog, bloom_filter and cuckoo_filter{}",
        if dirs.is_empty() {
            String::new()
        } else {
            format!(
                ", and <name>.lua files under module_directory ({})",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(";")
            )
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timegm_matches_known_dates() {
        assert_eq!(timegm(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(timegm(2000, 3, 1, 0, 0, 0), 951_868_800);
        // Month 13 carries into the next year, as timegm does.
        assert_eq!(timegm(1999, 13, 1, 0, 0, 0), timegm(2000, 1, 1, 0, 0, 0));
    }

    #[test]
    fn rfc3339_with_fraction_and_offset() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
