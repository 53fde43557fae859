//! `require` of the sandbox's C modules (heka-lua-modules: `circular_buffer`,
//! `struct`, ...): made once per Lua state, cached with the other loaded modules,
//! registered as the global of the same name (Heka's modules registered themselves
//! with `luaL_register`), and left out of `preserve_data` like the built-in
//! libraries.

use mlua::{Lua, Table, Value};

/// The module `name` when heka-lua-modules has it; `None` otherwise.
pub(crate) fn require(lua: &Lua, name: &str, loaded: &Table) -> mlua::Result<Option<Value>> {
    if let v @ Value::Table(_) = loaded.raw_get::<Value>(name)? {
        return Ok(Some(v));
    }
    let module = match name {
        "lpeg" => Some(heka_lpeg::open_lpeg(lua)?),
        "re" => Some(heka_lpeg::open_re(lua)?),
        _ => heka_lua_modules::open(lua, name)?,
    };
    let Some(module) = module else {
        return Ok(None);
    };
    crate::state::state(lua)?
        .library_tables
        .push(module.to_pointer() as usize);
    loaded.raw_set(name, &module)?;
    lua.globals().raw_set(name, &module)?;
    Ok(Some(Value::Table(module)))
}
