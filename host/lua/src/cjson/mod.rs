//! `cjson`: the JSON module Heka scripts `require`, lua-cjson 2.1 as Heka's sandbox
//! configured it: `encode`, `decode`, `null`, `version`, `decode_null` (Heka's
//! addition: JSON null becomes `cjson.null` instead of nil), and lua-cjson's
//! settings, each returning the current values as lua-cjson does:
//! `encode_sparse_array([convert[, ratio[, safe]]])` (default false, 2, 10),
//! `encode_max_depth([n])` and `decode_max_depth([n])` (default and most:
//! [`MAX_DEPTH`]), `encode_number_precision([1..14])` (14),
//! `encode_invalid_numbers([true|false|"null"])` (false),
//! `decode_invalid_numbers([bool])` (true), `encode_keep_buffer([bool])` (true;
//! accepted and reported, every encode has its own buffer here). `cjson.new` is
//! disabled, as in Heka.
//!
//! The settings are per Lua state (the state's [`Settings`] app data), as they were
//! per sandbox in Heka. `encode` lives in `encode`, `decode` in `decode`.

mod decode;
mod encode;

use mlua::{LightUserData, Lua, Table, Value};

use crate::state::state;

// Heka's number formats live in heka-lua-modules (shared with circular_buffer).
pub(crate) use heka_lua_modules::number::{format_g, heka_number};

/// Nesting cap for encode and decode. lua-cjson's is 1000; ours is lower because
/// the recursion runs on the plugin thread's own stack (a debug build overflows a
/// 2 MiB thread stack near 1000 levels). Real documents are far shallower.
pub(crate) const MAX_DEPTH: usize = 200;

fn err(msg: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(msg)
}

/// `encode_invalid_numbers`: NaN and ±Inf refused, written as `nan`/`inf`, or null.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    Refuse,
    Allow,
    Null,
}

/// lua-cjson's per-state configuration.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) sparse_convert: bool,
    pub(crate) sparse_ratio: usize,
    pub(crate) sparse_safe: usize,
    pub(crate) encode_max_depth: usize,
    pub(crate) decode_max_depth: usize,
    pub(crate) precision: usize,
    pub(crate) encode_invalid: Invalid,
    pub(crate) decode_invalid: bool,
    pub(crate) keep_buffer: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: MAX_DEPTH,
            decode_max_depth: MAX_DEPTH,
            precision: 14,
            encode_invalid: Invalid::Refuse,
            decode_invalid: true,
            keep_buffer: true,
        }
    }
}

/// The state's settings (a copy: calls read them once).
pub(crate) fn settings(lua: &Lua) -> Settings {
    lua.app_data_ref::<Settings>()
        .map(|s| s.clone())
        .unwrap_or_default()
}

fn update(lua: &Lua, f: impl FnOnce(&mut Settings)) {
    if let Some(mut s) = lua.app_data_mut::<Settings>() {
        f(&mut s);
    }
}

fn bad(func: &str, n: usize, what: &str) -> mlua::Error {
    err(format!("bad argument #{n} to '{func}' ({what})"))
}

/// An optional integer argument in `lo..=hi`.
fn int_arg(
    v: Option<&Value>,
    func: &str,
    n: usize,
    lo: usize,
    hi: usize,
) -> mlua::Result<Option<usize>> {
    let x = match v {
        None | Some(Value::Nil) => return Ok(None),
        Some(Value::Integer(i)) => *i as f64,
        Some(Value::Number(x)) => *x,
        Some(_) => return Err(bad(func, n, "number expected")),
    };
    if x.fract() != 0.0 || x < lo as f64 || x > hi as f64 {
        return Err(bad(
            func,
            n,
            &format!("expected integer between {lo} and {hi}"),
        ));
    }
    Ok(Some(x as usize))
}

/// An optional boolean argument (lua-cjson also takes "on"/"off").
fn bool_arg(v: Option<&Value>, func: &str, n: usize) -> mlua::Result<Option<bool>> {
    match v {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if &*s.as_bytes() == b"on" => Ok(Some(true)),
        Some(Value::String(s)) if &*s.as_bytes() == b"off" => Ok(Some(false)),
        Some(_) => Err(bad(func, n, "invalid option")),
    }
}

type Args = mlua::Variadic<Value>;

fn sparse_array(lua: &Lua, a: Args) -> mlua::Result<(bool, usize, usize)> {
    let convert = bool_arg(a.first(), "encode_sparse_array", 1)?;
    let ratio = int_arg(a.get(1), "encode_sparse_array", 2, 0, i32::MAX as usize)?;
    let safe = int_arg(a.get(2), "encode_sparse_array", 3, 0, i32::MAX as usize)?;
    update(lua, |s| {
        s.sparse_convert = convert.unwrap_or(s.sparse_convert);
        s.sparse_ratio = ratio.unwrap_or(s.sparse_ratio);
        s.sparse_safe = safe.unwrap_or(s.sparse_safe);
    });
    let s = settings(lua);
    Ok((s.sparse_convert, s.sparse_ratio, s.sparse_safe))
}

fn invalid_numbers(lua: &Lua, a: Args) -> mlua::Result<Value> {
    let setting = match a.first() {
        Some(Value::String(s)) if &*s.as_bytes() == b"null" => Some(Invalid::Null),
        v => bool_arg(v, "encode_invalid_numbers", 1)?
            .map(|b| if b { Invalid::Allow } else { Invalid::Refuse }),
    };
    update(lua, |s| {
        s.encode_invalid = setting.unwrap_or(s.encode_invalid)
    });
    Ok(match settings(lua).encode_invalid {
        Invalid::Refuse => Value::Boolean(false),
        Invalid::Allow => Value::Boolean(true),
        Invalid::Null => Value::String(lua.create_string("null")?),
    })
}

/// Installs a setting function `name` that reads/updates one field.
fn setting<R: mlua::IntoLuaMulti>(
    lua: &Lua,
    t: &Table,
    name: &'static str,
    f: impl Fn(&Lua, Args) -> mlua::Result<R> + mlua::MaybeSend + 'static,
) -> mlua::Result<()> {
    t.raw_set(name, lua.create_function(move |lua, a: Args| f(lua, a))?)
}

/// The `cjson` table; also gives the state its default [`Settings`].
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    lua.set_app_data(Settings::default());
    let t = lua.create_table()?;
    t.raw_set("encode", lua.create_function(encode::encode)?)?;
    t.raw_set("decode", lua.create_function(decode::decode)?)?;
    t.raw_set(
        "null",
        Value::LightUserData(LightUserData(std::ptr::null_mut())),
    )?;
    t.raw_set("version", "2.1.0")?;
    t.raw_set(
        "decode_null",
        lua.create_function(|lua, on: Option<bool>| {
            let mut s = state(lua)?;
            if let Some(on) = on {
                s.decode_null = on;
            }
            Ok(s.decode_null)
        })?,
    )?;
    setting(lua, &t, "encode_sparse_array", sparse_array)?;
    setting(lua, &t, "encode_invalid_numbers", invalid_numbers)?;
    setting(lua, &t, "encode_max_depth", |lua, a| {
        let n = int_arg(a.first(), "encode_max_depth", 1, 1, i32::MAX as usize)?;
        update(lua, |s| {
            s.encode_max_depth = n.map_or(s.encode_max_depth, |n| n.min(MAX_DEPTH))
        });
        Ok(settings(lua).encode_max_depth)
    })?;
    setting(lua, &t, "decode_max_depth", |lua, a| {
        let n = int_arg(a.first(), "decode_max_depth", 1, 1, i32::MAX as usize)?;
        update(lua, |s| {
            s.decode_max_depth = n.map_or(s.decode_max_depth, |n| n.min(MAX_DEPTH))
        });
        Ok(settings(lua).decode_max_depth)
    })?;
    setting(lua, &t, "encode_number_precision", |lua, a| {
        let n = int_arg(a.first(), "encode_number_precision", 1, 1, 14)?;
        update(lua, |s| s.precision = n.unwrap_or(s.precision));
        Ok(settings(lua).precision)
    })?;
    setting(lua, &t, "decode_invalid_numbers", |lua, a| {
        let b = bool_arg(a.first(), "decode_invalid_numbers", 1)?;
        update(lua, |s| s.decode_invalid = b.unwrap_or(s.decode_invalid));
        Ok(settings(lua).decode_invalid)
    })?;
    setting(lua, &t, "encode_keep_buffer", |lua, a| {
        let b = bool_arg(a.first(), "encode_keep_buffer", 1)?;
        update(lua, |s| s.keep_buffer = b.unwrap_or(s.keep_buffer));
        Ok(settings(lua).keep_buffer)
    })?;
    t.raw_set(
        "new",
        lua.create_function(|_, ()| -> mlua::Result<()> { Err(err("cjson.new is disabled")) })?,
    )?;
    Ok(t)
}
