//! The Lua binding: the `lpeg` module (LPeg 1.0's API) and the `re` module, for mlua's
//! Lua 5.1.
//!
//! Patterns are userdata ([`LPattern`]) holding a shared tree and, once matched, its
//! compiled program. Capture arguments (functions, tables, constants, names) are Lua
//! values held by the tree; a value referring back to its own pattern keeps both alive
//! until the Lua state closes (LPeg keeps them in the userdata's environment instead).
//!
//! `construct` has the constructors and operators, `captures` runs match-time
//! captures and turns the capture list into Lua values (straight on the Lua stack,
//! `captures::raw`, when the list is worth it), `re` is the regex-like syntax.
//! Matching work is charged to the [`StepHook`] the embedder installs as app data.

mod captures;
mod construct;
mod re;

use std::sync::{Arc, OnceLock};

use mlua::{
    AnyUserData, Lua, MetaMethod, Table, UserData, UserDataFields, UserDataMethods, Value, Variadic,
};

use crate::compile::Program;
use crate::tree::Patt;
use crate::vm::{self, DEFAULT_MAX_STACK};

pub use construct::to_patt;

/// LPeg's version string (`lpeg.version()`).
pub const VERSION: &str = "1.0.2";

/// Largest value `lpeg.setmaxstack` accepts: each entry is 24 bytes, so the backtrack
/// stack of one match stays under 24 MiB.
pub const MAX_STACK_LIMIT: usize = 1_000_000;

/// Called with the number of matching steps done since the last call; an error aborts
/// the match (and is raised in Lua). Install with `lua.set_app_data(StepHook(..))`:
/// heka-lua charges the steps to the sandbox's instruction budget.
pub struct StepHook(pub Box<StepFn>);

/// The function a [`StepHook`] holds.
pub type StepFn = dyn Fn(&Lua, u64) -> mlua::Result<()> + Send;

/// Per-state settings (`lpeg.setmaxstack`).
struct Settings {
    max_stack: usize,
}

/// A pattern value.
pub struct LPattern {
    pub(crate) tree: Patt<Value>,
    prog: OnceLock<Result<Arc<Program<Value>>, crate::Error>>,
    /// The program's capture arguments as a Lua table, for [`captures::raw`].
    keys: OnceLock<Table>,
}

impl LPattern {
    pub(crate) fn new(tree: Patt<Value>) -> LPattern {
        LPattern {
            tree,
            prog: OnceLock::new(),
            keys: OnceLock::new(),
        }
    }

    /// The table of the compiled program's capture arguments (built on first use).
    fn keys_table(&self, lua: &Lua, prog: &Program<Value>) -> mlua::Result<&Table> {
        if let Some(t) = self.keys.get() {
            return Ok(t);
        }
        let t = captures::raw::keys_table(lua, prog)?;
        Ok(self.keys.get_or_init(|| t))
    }

    /// The compiled program (compiled on first use, as LPeg does).
    pub(crate) fn program(&self) -> mlua::Result<Arc<Program<Value>>> {
        self.prog
            .get_or_init(|| crate::compile::compile(&self.tree).map(Arc::new))
            .clone()
            .map_err(lerr)
    }
}

/// An LPeg error as a Lua error.
pub(crate) fn lerr(e: crate::Error) -> mlua::Error {
    mlua::Error::runtime(e.to_string())
}

/// A `bad argument` error in luaL_argerror's words.
pub(crate) fn arg_err(n: usize, fname: &str, msg: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(format!("bad argument #{n} to '{fname}' ({msg})"))
}

const MODULE_KEY: &str = "heka.lpeg.module";

impl UserData for LPattern {
    fn add_fields<F: UserDataFields<Self>>(f: &mut F) {
        // `p:match(s)` etc.: the module table itself, looked up by Lua without a call.
        f.add_meta_field_with(MetaMethod::Index, |lua| {
            lua.named_registry_value::<Table>(MODULE_KEY)
        });
    }

    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        let bin = |f: fn(&Lua, Value, Value) -> mlua::Result<AnyUserData>| {
            move |lua: &Lua, (a, b): (Value, Value)| f(lua, a, b)
        };
        m.add_meta_function(MetaMethod::Add, bin(construct::add));
        m.add_meta_function(MetaMethod::Sub, bin(construct::sub));
        m.add_meta_function(MetaMethod::Mul, bin(construct::mul));
        m.add_meta_function(MetaMethod::Pow, bin(construct::pow));
        m.add_meta_function(MetaMethod::Div, bin(construct::div));
        m.add_meta_function(MetaMethod::Mod, bin(construct::modulo));
        m.add_meta_function(MetaMethod::Unm, |lua, (a, _b): (Value, Value)| {
            construct::unm(lua, a)
        });
        m.add_meta_function(MetaMethod::Len, |lua, (a, _b): (Value, Value)| {
            construct::len(lua, a)
        });
    }
}

/// Patterns whose tree and code are estimated below this many bytes are not charged:
/// their userdata costs Lua about as much.
const CHARGE_MIN: u64 = 4096;
/// Bytes charged per unit of a pattern's size estimate (its tree and compiled code).
const BYTES_PER_UNIT: u64 = 8;

/// Makes a pattern userdata. Its tree (and later its code) lives on the Rust heap, out
/// of Lua's sight: a pattern of some size also holds a Lua string of about that many
/// bytes, so `memory_limit` bounds the patterns a script can keep.
pub(crate) fn new_pattern(lua: &Lua, tree: Patt<Value>) -> mlua::Result<AnyUserData> {
    let bytes = tree.size.saturating_mul(BYTES_PER_UNIT);
    let ud = lua.create_userdata(LPattern::new(tree))?;
    if bytes >= CHARGE_MIN {
        ud.set_user_value(charge(lua, bytes as usize)?)?;
    }
    Ok(ud)
}

/// A Lua object of `bytes` bytes, allocated (not written) by Lua's allocator, so it
/// counts toward `memory_limit`. A string would not do: Lua interns strings, so equal
/// charges would share one.
fn charge(lua: &Lua, bytes: usize) -> mlua::Result<AnyUserData> {
    // SAFETY: the closure runs in a protected call (an allocation failure becomes an
    // mlua error) and pushes exactly one value, a full userdata with no metatable,
    // which is returned as the result.
    unsafe {
        lua.exec_raw((), |state| {
            mlua::ffi::lua_newuserdata(state, bytes);
        })
    }
}

/// The `lpeg` module table (`require "lpeg"`).
pub fn open_lpeg(lua: &Lua) -> mlua::Result<Table> {
    if let Ok(Value::Table(t)) = lua.named_registry_value::<Value>(MODULE_KEY) {
        return Ok(t);
    }
    let t = lua.create_table()?;
    lua.set_named_registry_value(MODULE_KEY, &t)?;
    if lua.app_data_ref::<Settings>().is_none() {
        lua.set_app_data(Settings {
            max_stack: DEFAULT_MAX_STACK,
        });
    }
    construct::register(lua, &t)?;
    t.raw_set("match", lua.create_function(lpeg_match)?)?;
    t.raw_set("version", lua.create_function(|_, ()| Ok(VERSION))?)?;
    t.raw_set(
        "type",
        lua.create_function(|_, v: Value| {
            Ok(match v {
                Value::UserData(ud) if ud.is::<LPattern>() => Some("pattern"),
                _ => None,
            })
        })?,
    )?;
    t.raw_set(
        "setmaxstack",
        lua.create_function(|lua, n: Value| {
            let n = match num(&n) {
                Some(n) if n >= 1.0 && n <= MAX_STACK_LIMIT as f64 => n as usize,
                _ => {
                    return Err(arg_err(
                        1,
                        "setmaxstack",
                        format!("limit must be between 1 and {MAX_STACK_LIMIT}"),
                    ));
                }
            };
            lua.set_app_data(Settings { max_stack: n });
            Ok(())
        })?,
    )?;
    Ok(t)
}

/// The `re` module table (`require "re"`).
pub fn open_re(lua: &Lua) -> mlua::Result<Table> {
    open_lpeg(lua)?;
    re::open(lua)
}

/// Where a match starts: LPeg's `init` rules (1-based, negative from the end, clamped).
fn init_position(init: Option<Value>, len: usize) -> mlua::Result<usize> {
    let ii = match init {
        None | Some(Value::Nil) => return Ok(0),
        Some(v) => num(&v).ok_or_else(|| arg_err(3, "match", "number expected"))? as i64,
    };
    Ok(if ii > 0 {
        ((ii - 1) as usize).min(len)
    } else {
        len.saturating_sub(ii.unsigned_abs() as usize)
    })
}

/// `lpeg.match(pattern, subject [, init] [, extra...])`.
fn lpeg_match(lua: &Lua, args: Variadic<Value>) -> mlua::Result<mlua::MultiValue> {
    let mut it = args.into_iter();
    let p = it.next().unwrap_or(Value::Nil);
    let subject = match it.next() {
        Some(Value::String(s)) => s,
        Some(v @ (Value::Integer(_) | Value::Number(_))) => lua
            .coerce_string(v)?
            .ok_or_else(|| arg_err(2, "match", "string expected"))?,
        Some(v) => {
            return Err(arg_err(
                2,
                "match",
                format!("string expected, got {}", v.type_name()),
            ));
        }
        None => return Err(arg_err(2, "match", "string expected, got no value")),
    };
    let init = it.next();
    let extra: Vec<Value> = it.collect();
    match_value(lua, &p, &subject, init, &extra)
}

/// Matches any pattern-like value (also used by `re`).
pub(crate) fn match_value(
    lua: &Lua,
    p: &Value,
    subject: &mlua::LuaString,
    init: Option<Value>,
    extra: &[Value],
) -> mlua::Result<mlua::MultiValue> {
    // The pattern stays borrowed (shared) for the match: its keys table is used below.
    let (borrowed, temp);
    let pat: &LPattern = match p {
        Value::UserData(ud) if ud.is::<LPattern>() => {
            borrowed = ud.borrow::<LPattern>()?;
            &borrowed
        }
        other => {
            temp = LPattern::new(to_patt(lua, other, "match", 1)?);
            &temp
        }
    };
    let prog = pat.program()?;
    let bytes = subject.as_bytes();
    let start = init_position(init, bytes.len())?;
    let max_stack = lua
        .app_data_ref::<Settings>()
        .map_or(DEFAULT_MAX_STACK, |s| s.max_stack);
    let mut host = captures::LuaHost::new(lua, &bytes, subject, extra);
    let Some(r) = vm::run(&prog, &bytes, start, max_stack, &mut host)? else {
        return Ok(mlua::MultiValue::from_vec(vec![Value::Nil]));
    };
    if r.caps.is_empty() {
        return Ok(mlua::MultiValue::from_vec(vec![Value::Integer(
            r.end as i64 + 1,
        )]));
    }
    let out = if captures::raw::supported(&r.caps, &r.values, extra)
        && captures::raw::worthwhile(&prog, &r.caps)
    {
        let keys = pat.keys_table(lua, &prog)?;
        captures::raw::evaluate(lua, &prog, keys, &bytes, &r.caps, &r.values, extra)?
    } else {
        let v = captures::evaluate(lua, &prog, &bytes, subject, &r.caps, &r.values, extra)?;
        mlua::MultiValue::from_vec(v)
    };
    if out.is_empty() {
        return Ok(mlua::MultiValue::from_vec(vec![Value::Integer(
            r.end as i64 + 1,
        )]));
    }
    Ok(out)
}

impl From<crate::Error> for mlua::Error {
    fn from(e: crate::Error) -> Self {
        lerr(e)
    }
}

/// A Lua number (integral or not) as f64; strings are not numbers here.
pub(crate) fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}
