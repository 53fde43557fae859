//! `heka-lua-modules`: the C modules Heka 0.10's Lua sandbox linked in, written in
//! Rust for heka-lua's `require`: `circular_buffer` (every graphing filter),
//! `struct` (Roberto Ierusalimschy's binary pack/unpack), and the probabilistic
//! counters `hyperloglog`, `bloom_filter`, `cuckoo_filter`.
//!
//! Heka's behaviour and text formats are the specification (lua_circular_buffer's
//! `cbuf`/`cbufd` output and preservation text, `serialize_double`'s numbers); the
//! code is written from their documentation and observed output, not translated.
//!
//! What heka-lua needs, and nothing else, is public:
//! - [`open`]: the module table for a `require` name (or `None`).
//! - [`output`]: what `add_to_payload(ud)` / `inject_payload(..., ud)` appends for one
//!   of our userdata (a circular buffer's `cbuf`/`cbufd` text).
//! - [`serialize`]: the Lua text that `preserve_data` writes to rebuild one of our
//!   userdata (Heka saved circular buffers that way).
//! - [`number`]: Heka's number formatting, shared with heka-lua's `cjson` and
//!   `add_to_payload`.
//!
//! Start with `circular_buffer/mod.rs`.

mod bloom_filter;
mod circular_buffer;
mod cuckoo_filter;
mod hyperloglog;
pub mod number;
mod structlib;

use mlua::{AnyUserData, Lua, Table, UserData};

pub use bloom_filter::BloomFilter;
pub use circular_buffer::CircularBuffer;
pub use cuckoo_filter::CuckooFilter;
pub use hyperloglog::HyperLogLog;

/// The names [`open`] knows.
pub const MODULES: [&str; 5] = [
    "circular_buffer",
    "struct",
    "hyperloglog",
    "bloom_filter",
    "cuckoo_filter",
];

/// The user value slot of an object's memory charge (see [`charged`]).
const CHARGE: usize = 2;

/// `value` as userdata whose Rust-side state (`bytes`) is charged to the Lua
/// state's `memory_limit`: a string of that size is allocated by Lua and kept as a
/// user value, so an object over the limit fails with Lua's "not enough memory"
/// and is counted while it lives, as Heka's objects allocated inside Lua were.
pub(crate) fn charged<T: UserData + mlua::MaybeSend + mlua::MaybeSync + 'static>(
    lua: &Lua,
    value: T,
    bytes: usize,
) -> mlua::Result<AnyUserData> {
    let charge = lua.create_string(vec![0u8; bytes])?;
    let ud = lua.create_userdata(value)?;
    ud.set_nth_user_value(CHARGE, charge)?;
    Ok(ud)
}

/// The module table of `name`, freshly made (the caller caches it per state and
/// sets the global of the same name, as Heka's `require` did).
pub fn open(lua: &Lua, name: &str) -> mlua::Result<Option<Table>> {
    Ok(Some(match name {
        "circular_buffer" => circular_buffer::module(lua)?,
        "struct" => structlib::module(lua)?,
        "hyperloglog" => hyperloglog::module(lua)?,
        "bloom_filter" => bloom_filter::module(lua)?,
        "cuckoo_filter" => cuckoo_filter::module(lua)?,
        _ => return Ok(None),
    }))
}

/// Appends the output form of `ud` when it is one of ours (`Ok(false)` otherwise).
pub fn output(ud: &AnyUserData, out: &mut Vec<u8>) -> mlua::Result<bool> {
    if ud.is::<CircularBuffer>() {
        let mut text = String::new();
        circular_buffer::output(ud, &mut text)?;
        out.extend_from_slice(text.as_bytes());
        return Ok(true);
    }
    Ok(false)
}

/// Appends the Lua statements that rebuild `ud` at the Lua expression `key` (such
/// as `_G["data"]`) when it is one of ours (`Ok(false)` otherwise: not preserved).
pub fn serialize(ud: &AnyUserData, key: &str, out: &mut String) -> mlua::Result<bool> {
    if ud.is::<CircularBuffer>() {
        circular_buffer::serialize(ud, key, out)?;
    } else if ud.is::<HyperLogLog>() {
        hyperloglog::serialize(ud, key, out)?;
    } else if ud.is::<BloomFilter>() {
        bloom_filter::serialize(ud, key, out)?;
    } else if ud.is::<CuckooFilter>() {
        cuckoo_filter::serialize(ud, key, out)?;
    } else {
        return Ok(false);
    }
    Ok(true)
}
