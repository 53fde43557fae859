//! The functions Heka 0.10 gave sandbox scripts (reference §9), one file per concern:
//!
//! - `read`: `read_message`, `read_next_field`, `decode_message` (message → Lua);
//! - `payload`: `add_to_payload`, `inject_payload`, `inject_message` (Lua → the
//!   contract's bounded output);
//! - `table`: Heka's message table schema → a [`Message`] (`inject_message`'s table);
//! - `write`: `write_message` (decoders and encoders only);
//! - `os`: the UTC-only `os.date` / `os.time`; `require`: the module loader.
//!
//! `read_config` and the shared helpers live here. Everything works on [`State`], the
//! Lua state's app data. Errors are raised as Lua errors with Heka's function-name
//! prefix (an uncaught one terminates the plugin); broken limits are also recorded as
//! fatal (see [`crate::runtime`]).

mod os;
mod payload;
mod read;
mod require;
mod table;
mod write;

use heka_message::FieldValue;
#[cfg(doc)]
use heka_message::Message;
use mlua::{Lua, Value};

use crate::ConfigValue;
use crate::state::{Kind, state};

pub(crate) use os::install_os;

/// A Lua runtime error with `msg` (the API functions' messages carry Heka's
/// function-name prefix).
pub(crate) fn err(msg: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(msg)
}

/// Installs the API globals for a plugin of `kind`.
pub(crate) fn install(lua: &Lua, kind: Kind) -> mlua::Result<()> {
    let g = lua.globals();
    g.raw_set("read_config", lua.create_function(read_config)?)?;
    g.raw_set("read_message", lua.create_function(read::read_message)?)?;
    g.raw_set(
        "read_next_field",
        lua.create_function(read::read_next_field)?,
    )?;
    g.raw_set("decode_message", lua.create_function(read::decode_message)?)?;
    g.raw_set(
        "add_to_payload",
        lua.create_function(payload::add_to_payload)?,
    )?;
    g.raw_set(
        "inject_payload",
        lua.create_function(payload::inject_payload)?,
    )?;
    g.raw_set(
        "inject_message",
        lua.create_function(payload::inject_message)?,
    )?;
    g.raw_set("require", lua.create_function(require::require)?)?;
    if kind != Kind::Filter {
        g.raw_set("write_message", lua.create_function(write::write_message)?)?;
    }
    Ok(())
}

/// `read_config(name)`: the plugin's option, nil when absent.
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

/// A field or array index argument (absent: 0).
pub(super) fn index_arg(v: Option<f64>, what: &str) -> mlua::Result<usize> {
    match v {
        None => Ok(0),
        Some(n) if n >= 0.0 && n.is_finite() => Ok(n as usize),
        Some(_) => Err(err(format!("read_message() {what} index must be >= 0"))),
    }
}

/// A field value as Lua sees it (bytes as strings, integers as numbers).
pub(super) fn field_value(lua: &Lua, v: FieldValue<'_>) -> mlua::Result<Value> {
    Ok(match v {
        FieldValue::String(s) => Value::String(lua.create_string(s)?),
        FieldValue::Bytes(b) => Value::String(lua.create_string(b)?),
        FieldValue::Integer(i) => Value::Number(i as f64),
        FieldValue::Double(d) => Value::Number(d),
        FieldValue::Bool(b) => Value::Boolean(b),
    })
}
