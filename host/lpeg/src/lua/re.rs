//! re (stub)
use mlua::{Lua, Table};
pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    lua.create_table()
}
