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

mod circular_buffer;
pub mod number;
mod structlib;

use mlua::{AnyUserData, Lua, Table};

pub use circular_buffer::CircularBuffer;

/// The names [`open`] knows.
pub const MODULES: [&str; 2] = ["circular_buffer", "struct"];

/// The module table of `name`, freshly made (the caller caches it per state and
/// sets the global of the same name, as Heka's `require` did).
pub fn open(lua: &Lua, name: &str) -> mlua::Result<Option<Table>> {
    Ok(Some(match name {
        "circular_buffer" => circular_buffer::module(lua)?,
        "struct" => structlib::module(lua)?,
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
        return Ok(true);
    }
    Ok(false)
}
