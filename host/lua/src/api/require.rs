//! `require`: the sandbox's built-in libraries, the Rust modules (`lpeg`, `re`,
//! `circular_buffer`, ... in [`crate::modules`]) and `<name>.lua` files under the
//! plugin's `module_directory`, each loaded once per sandbox.

use mlua::{Lua, Table, Value};

use super::err;
use crate::state::state;

const BUILTIN_MODULES: [&str; 4] = ["string", "table", "math", "os"];

pub(super) fn require(lua: &Lua, name: String) -> mlua::Result<Value> {
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
