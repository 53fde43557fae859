//! The `re` module: LPeg's regex-like syntax for patterns (`re.compile`, `re.match`,
//! `re.find`, `re.gsub`, `re.updatelocale`), parsed here by recursive descent straight
//! into pattern trees.
//!
//! Syntax (LPeg's re.html): `'lit'` `"lit"` `[class]` `.` `%name` `name` `<name>`
//! `( p )` `{}` `{ p }` `{: p :}` `{:name: p :}` `{~ p ~}` `{| p |}` `=name` `p?` `p*`
//! `p+` `p^n` `p^+n` `p^-n` `p -> 'string'` `p -> num` `p -> {}` `p -> name`
//! `p => name` `p ~> name` `&p` `!p` `p1 p2` `p1 / p2`, grammars `name <- p ...`, and
//! comments from `--` to the end of a line. [`parser`] reads that syntax; this file
//! holds the module's functions and its per-state caches.

use std::collections::HashMap;

use mlua::{AnyUserData, Lua, LuaString, Table, Value};

mod parser;

use parser::Parser;

use super::{LPattern, lerr, match_value, new_pattern};
use crate::checked;
use crate::grammar;
use crate::tree::{self, CapKind, Name, Patt};

/// Compiled strings kept per Lua state (`re.compile` without definitions); the cache
/// is cleared when full.
const CACHE_MAX: usize = 512;

pub(super) type P = Patt<Value>;
pub(super) type Res<T> = mlua::Result<T>;

/// Compiled `re` strings (without definitions) and `re.find` searchers, per state.
#[derive(Default)]
struct Cache {
    compiled: HashMap<Vec<u8>, AnyUserData>,
    find: HashMap<Vec<u8>, AnyUserData>,
}

/// Looks `key` up in one of the caches.
fn cached(lua: &Lua, find: bool, key: &[u8]) -> Option<AnyUserData> {
    let c = lua.app_data_ref::<Cache>()?;
    let map = if find { &c.find } else { &c.compiled };
    map.get(key).cloned()
}

/// Remembers `ud` under `key` (a full cache is emptied first).
fn remember(lua: &Lua, find: bool, key: Vec<u8>, ud: &AnyUserData) {
    let mut c = lua.remove_app_data::<Cache>().unwrap_or_default();
    let map = if find { &mut c.find } else { &mut c.compiled };
    if map.len() >= CACHE_MAX {
        map.clear();
    }
    map.insert(key, ud.clone());
    lua.set_app_data(c);
}

/// The `re` module table.
pub(super) fn open(lua: &Lua) -> Res<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "compile",
        lua.create_function(|lua, (p, defs): (Value, Option<Table>)| {
            compile_value(lua, &p, defs.as_ref())
        })?,
    )?;
    t.raw_set(
        "match",
        lua.create_function(|lua, (s, p, i): (LuaString, Value, Option<Value>)| {
            let p = compile_value(lua, &p, None)?;
            match_value(lua, &Value::UserData(p), &s, i, &[])
        })?,
    )?;
    t.raw_set("find", lua.create_function(find)?)?;
    t.raw_set("gsub", lua.create_function(gsub)?)?;
    t.raw_set(
        "updatelocale",
        lua.create_function(|lua, ()| {
            lua.remove_app_data::<Cache>();
            Ok(())
        })?,
    )?;
    lua.globals().raw_set("re", &t)?;
    Ok(t)
}

/// `re.find(subject, pattern [, init])`: where the pattern first matches (start, end).
fn find(lua: &Lua, (s, p, i): (LuaString, Value, Option<Value>)) -> Res<(Value, Value)> {
    let key = match &p {
        Value::String(k) => Some(k.as_bytes().to_vec()),
        _ => None,
    };
    let searcher = match key.as_deref().and_then(|k| cached(lua, true, k)) {
        Some(ud) => ud,
        None => {
            let ud = new_pattern(lua, searcher(lua, &p)?)?;
            if let Some(k) = key {
                remember(lua, true, k, &ud);
            }
            ud
        }
    };
    let r = match_value(lua, &Value::UserData(searcher), &s, i, &[])?.into_vec();
    Ok(match (r.first(), r.get(1)) {
        (Some(Value::Integer(a)), Some(Value::Integer(e))) => {
            (Value::Integer(*a), Value::Integer(e - 1))
        }
        _ => (Value::Nil, Value::Nil),
    })
}

/// `re.find`'s searcher for `p`: `{ {} p {} + . V(1) }` with p's captures dropped.
fn searcher(lua: &Lua, p: &Value) -> Res<P> {
    let cp = compile_value(lua, p, None)?;
    let body = cp.borrow::<LPattern>()?.tree.clone();
    let inner = tree::capture(CapKind::Num, None, 0, &body).map_err(lerr)?;
    let pos = || tree::capture(CapKind::Position, None, 0, &tree::succeed()).map_err(lerr);
    let found = tree::seq_all(vec![pos()?, inner, pos()?]).map_err(lerr)?;
    let one = Name::Num(1f64.to_bits());
    let again = tree::seq(&tree::any(1), &tree::open(one.clone())).map_err(lerr)?;
    let rule = tree::choice(&found, &again).map_err(lerr)?;
    grammar::build(vec![(one.clone(), rule)], &one).map_err(lerr)
}

/// `re.gsub(subject, pattern, replacement)`: `Cs((p / rep + 1)^0)`.
fn gsub(lua: &Lua, (s, p, rep): (LuaString, Value, Value)) -> Res<Value> {
    let cp = compile_value(lua, &p, None)?;
    let replaced = super::construct::div(lua, Value::UserData(cp), rep)?;
    let r = replaced.borrow::<LPattern>()?.tree.clone();
    let body = checked::repeat(&tree::choice(&r, &tree::any(1)).map_err(lerr)?, 0).map_err(lerr)?;
    let cs = tree::capture(CapKind::Subst, None, 0, &body).map_err(lerr)?;
    let out = match_value(lua, &Value::UserData(new_pattern(lua, cs)?), &s, None, &[])?;
    Ok(out.into_iter().next().unwrap_or(Value::Nil))
}

/// `re.compile`: a pattern unchanged, or a string parsed (cached when no `defs`).
fn compile_value(lua: &Lua, p: &Value, defs: Option<&Table>) -> Res<AnyUserData> {
    let src = match p {
        Value::UserData(ud) if ud.is::<LPattern>() => return Ok(ud.clone()),
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(p.clone())?
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default(),
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument #1 to 'compile' (string expected, got {})",
                other.type_name()
            )));
        }
    };
    if defs.is_none()
        && let Some(ud) = cached(lua, false, &src)
    {
        return Ok(ud);
    }
    let parser = Parser::new(lua, &src, defs);
    let ud = new_pattern(lua, parser.pattern()?)?;
    if defs.is_none() {
        remember(lua, false, src, &ud);
    }
    Ok(ud)
}
