//! Shared by the Lua-level tests: a Lua state with `lpeg` and `re` loaded and a helper
//! that runs a chunk of assertions.
#![allow(dead_code)]

use mlua::Lua;

pub fn state() -> Lua {
    let lua = Lua::new();
    let lpeg = heka_lpeg::open_lpeg(&lua).expect("lpeg opens");
    let re = heka_lpeg::open_re(&lua).expect("re opens");
    lua.globals().set("lpeg", lpeg).expect("global");
    lua.globals().set("re", re).expect("global");
    lua
}

/// Runs `code`; panics with Lua's message (and the chunk name) if it raises.
pub fn run(name: &str, code: &str) {
    let lua = state();
    if let Err(e) = lua.load(code).set_name(name).exec() {
        panic!("{name}: {e}");
    }
}

/// The error message `code` raises.
pub fn error_of(code: &str) -> String {
    let lua = state();
    match lua.load(code).exec() {
        Ok(()) => panic!("no error from: {code}"),
        Err(e) => e.to_string(),
    }
}
