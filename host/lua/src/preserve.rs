//! `preserve_data`: the script's global data saved at clean shutdown as a Lua script
//! and run again at start, in Heka's format (lua_sandbox's `preserve_global_data`):
//!
//! ```lua
//! _G["count"] = 10
//! _G["t"] = {}
//! _G["t"]["name"] = "x"
//! _G["alias"] = _G["t"]
//! ```
//!
//! Every global is written under `_G[...]`; tables once, later references (shared or
//! cyclic) as the path where they were first written. Circular buffers are written
//! as Heka wrote them (`if _G["cb"] == nil then _G["cb"] = circular_buffer.new(...)
//! end`, `set_header` calls, `fromstring("...")`; heka-lua-modules has the format).
//! Skipped, as in Heka: functions, other userdata, threads, `_G` itself and tables with a metatable (library tables, which
//! Heka marked so) plus our library tables. Strings are Lua's `%q`. Numbers are
//! written so that they read back exactly (Heka rounded to 8 decimals).
//!
//! Restoration honours `_PRESERVATION_VERSION`: when the saved value differs from the
//! one the freshly loaded script set (0 when unset), the file is not run and the
//! plugin starts clean.

use std::collections::HashMap;
use std::fmt::Write as _;

use mlua::{Lua, Table, Value};

use crate::state::State;

const VERSION_KEY: &str = "_PRESERVATION_VERSION";
/// Deepest table nesting saved (the data file is refused beyond it).
const MAX_DEPTH: usize = 100;

/// The global data as Heka's data file (the sandbox contract writes it atomically).
pub(crate) fn save(lua: &Lua) -> Result<Vec<u8>, String> {
    let skip = lua
        .app_data_ref::<State>()
        .map(|s| s.library_tables.clone())
        .unwrap_or_default();
    let mut out = String::new();
    let mut seen: HashMap<usize, String> = HashMap::new();
    let globals = lua.globals();
    serialize_table(&globals, "_G", &mut out, &mut seen, &skip, 0)?;
    Ok(out.into_bytes())
}

fn skippable(v: &Value, skip: &[usize]) -> bool {
    match v {
        Value::Table(t) => t.metatable().is_some() || skip.contains(&(t.to_pointer() as usize)),
        Value::Boolean(_) | Value::Integer(_) | Value::Number(_) | Value::String(_) => false,
        // Circular buffers are saved (heka-lua-modules writes them); other userdata not.
        Value::UserData(_) => false,
        _ => true,
    }
}

fn serialize_table(
    t: &Table,
    path: &str,
    out: &mut String,
    seen: &mut HashMap<usize, String>,
    skip: &[usize],
    depth: usize,
) -> Result<(), String> {
    // Bounded so that a deep (linked-list shaped) table cannot overflow the stack.
    if depth > MAX_DEPTH {
        return Err(format!("{path}: tables nested deeper than {MAX_DEPTH}"));
    }
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        if skippable(&v, skip) {
            continue;
        }
        let key = match &k {
            Value::String(s) => quote(&s.as_bytes()),
            Value::Integer(i) => number(*i as f64),
            Value::Number(n) => number(*n),
            Value::Boolean(b) => b.to_string(),
            _ => continue,
        };
        let child = format!("{path}[{key}]");
        match &v {
            Value::Table(table) => {
                let ptr = table.to_pointer() as usize;
                if let Some(first) = seen.get(&ptr) {
                    let _ = writeln!(out, "{child} = {first}");
                } else {
                    seen.insert(ptr, child.clone());
                    let _ = writeln!(out, "{child} = {{}}");
                    serialize_table(table, &child, out, seen, skip, depth + 1)?;
                }
            }
            Value::String(s) => {
                let _ = writeln!(out, "{child} = {}", quote(&s.as_bytes()));
            }
            Value::Integer(i) => {
                let _ = writeln!(out, "{child} = {}", number(*i as f64));
            }
            Value::Number(n) => {
                let _ = writeln!(out, "{child} = {}", number(*n));
            }
            Value::Boolean(b) => {
                let _ = writeln!(out, "{child} = {b}");
            }
            Value::UserData(ud) => {
                let ptr = ud.to_pointer() as usize;
                if let Some(first) = seen.get(&ptr) {
                    let _ = writeln!(out, "{child} = {first}");
                } else if heka_lua_modules::serialize(ud, &child, out).map_err(|e| e.to_string())? {
                    seen.insert(ptr, child.clone());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A Lua literal that reads back as exactly `n`.
fn number(n: f64) -> String {
    if n.is_nan() {
        "0/0".into()
    } else if n.is_infinite() {
        if n > 0.0 { "1/0" } else { "-1/0" }.into()
    } else if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        format!("{}", n as i64)
    } else {
        // Rust's shortest round-trip form; Lua reads `1e-07` and `1.5e+300` alike.
        format!("{n:?}")
    }
}

/// Lua 5.1's `string.format("%q", s)`.
fn quote(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\000"),
            c => out.push(c),
        }
    }
    out.push(b'"');
    // Lua source is bytes; non-UTF-8 content is kept by the lossless path below.
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => {
            // Escape every byte ≥ 0x80 as \ddd so the file stays valid UTF-8 text.
            let mut s = String::new();
            for &b in e.as_bytes() {
                if b >= 0x80 {
                    let _ = write!(s, "\\{b:03}");
                } else {
                    s.push(b as char);
                }
            }
            s
        }
    }
}

/// The saved `_PRESERVATION_VERSION` in `text` (0 when absent, as Heka assumes).
fn saved_version(text: &str) -> f64 {
    let prefix = format!("_G[\"{VERSION_KEY}\"] = ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Runs the saved data `text` if its version matches the script's. Memory is limited
/// as always; instructions get the start-up budget (Heka cleared its hook, but a data
/// file is a script, and an endless one must not hang the start).
pub(crate) fn restore(lua: &Lua, text: &[u8]) -> Result<(), String> {
    let current = match lua.globals().raw_get::<Value>(VERSION_KEY) {
        Ok(Value::Integer(i)) => i as f64,
        Ok(Value::Number(n)) => n,
        _ => 0.0,
    };
    let saved = saved_version(&String::from_utf8_lossy(text));
    if saved != current {
        tracing::warn!(
            saved,
            current,
            "_PRESERVATION_VERSION changed: preserved data not restored, starting clean"
        );
        return Ok(());
    }
    let limit = lua.app_data_mut::<State>().map(|mut s| {
        s.instructions = 0;
        std::mem::replace(&mut s.instruction_limit, crate::state::START_INSTRUCTIONS)
    });
    let result = lua
        .load(text)
        .set_name("=preserved data")
        .exec()
        .map_err(|e| crate::state::error_text(&e));
    if let (Some(limit), Some(mut s)) = (limit, lua.app_data_mut::<State>()) {
        s.instruction_limit = limit;
    }
    result?;
    lua.gc_collect().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_exactly() {
        assert_eq!(number(10.0), "10");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(1.7e18), "1.7e18");
        assert_eq!(number(f64::INFINITY), "1/0");
    }

    #[test]
    fn quote_is_lua_percent_q() {
        assert_eq!(quote(b"a\"b\\c\nd\0"), "\"a\\\"b\\\\c\\\nd\\000\"");
    }

    #[test]
    fn version_line_is_found() {
        assert_eq!(
            saved_version("_G[\"x\"] = 1\n_G[\"_PRESERVATION_VERSION\"] = 3\n"),
            3.0
        );
        assert_eq!(saved_version("_G[\"x\"] = 1\n"), 0.0);
    }
}
