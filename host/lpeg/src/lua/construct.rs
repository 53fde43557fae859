//! `lpeg`'s constructors and operators: Lua values in, pattern userdata out.
//! Every argument is checked; a wrong one raises a `bad argument` error as LPeg's
//! `luaL_argcheck` would.

use mlua::{AnyUserData, Lua, Table, Value, Variadic};

use super::{LPattern, arg_err, lerr, new_pattern};
use crate::charset::Charset;
use crate::checked;
use crate::grammar;
use crate::tree::{self, CapKind, Name, Patt};

type R = mlua::Result<AnyUserData>;

/// Converts a value to a pattern as `lpeg.P` does (argument `argn` of `fname`).
pub fn to_patt(_lua: &Lua, v: &Value, fname: &str, argn: usize) -> mlua::Result<Patt<Value>> {
    Ok(match v {
        Value::UserData(ud) if ud.is::<LPattern>() => ud.borrow::<LPattern>()?.tree.clone(),
        Value::String(s) => tree::literal(&s.as_bytes()),
        Value::Integer(n) => number(*n as f64)?,
        Value::Number(n) => number(*n)?,
        Value::Boolean(true) => tree::succeed(),
        Value::Boolean(false) => tree::fail(),
        Value::Table(t) => grammar_of(t)?,
        Value::Function(_) => {
            tree::capture(CapKind::Runtime, Some(v.clone()), 0, &tree::succeed()).map_err(lerr)?
        }
        other => {
            return Err(arg_err(
                argn,
                fname,
                format!("pattern expected, got {}", other.type_name()),
            ));
        }
    })
}

fn number(n: f64) -> mlua::Result<Patt<Value>> {
    let k = n.abs().trunc();
    if k > u32::MAX as f64 || k.is_nan() {
        return Err(lerr(crate::Error::TooComplex));
    }
    let p = tree::any(k as u32);
    if n >= 0.0 {
        Ok(p)
    } else {
        tree::not(&p).map_err(lerr)
    }
}

/// A grammar rule name from a table key.
pub(crate) fn to_name(v: &Value) -> Name {
    match v {
        Value::String(s) => Name::Str(s.as_bytes().to_vec().into_boxed_slice()),
        Value::Integer(i) => Name::Num((*i as f64).to_bits()),
        Value::Number(n) => Name::Num(n.to_bits()),
        Value::Boolean(b) => Name::Other(*b as usize, b.to_string().into()),
        other => Name::Other(
            other.to_pointer() as usize,
            format!("{}: {:p}", other.type_name(), other.to_pointer()).into(),
        ),
    }
}

fn grammar_of(t: &Table) -> mlua::Result<Patt<Value>> {
    let first: Value = t.raw_get(1)?;
    let (initial, named) = match &first {
        Value::String(_) | Value::Integer(_) | Value::Number(_) => (to_name(&first), true),
        _ => (Name::Num(1f64.to_bits()), false),
    };
    let mut rules = Vec::new();
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair?;
        if named && matches!(k, Value::Integer(1)) {
            continue;
        }
        let name = to_name(&k);
        // As LPeg: rule values must already be patterns (no string or number).
        let p = match &v {
            Value::UserData(ud) if ud.is::<LPattern>() => ud.borrow::<LPattern>()?.tree.clone(),
            _ => {
                return Err(mlua::Error::runtime(format!(
                    "rule '{name}' is not a pattern"
                )));
            }
        };
        rules.push((name, p));
    }
    grammar::build(rules, &initial).map_err(lerr)
}

fn patt1(lua: &Lua, v: &Value, fname: &str) -> mlua::Result<Patt<Value>> {
    to_patt(lua, v, fname, 1)
}

fn capture(lua: &Lua, kind: CapKind, key: Option<Value>, num: u32, child: &Patt<Value>) -> R {
    new_pattern(lua, tree::capture(kind, key, num, child).map_err(lerr)?)
}

/// Fails unless `v` is a function (the `re` operators that call one).
pub(crate) fn check_function(v: &Value, op: &str) -> mlua::Result<()> {
    match v {
        Value::Function(_) => Ok(()),
        other => Err(mlua::Error::runtime(format!(
            "{op}: function expected, got {}",
            other.type_name()
        ))),
    }
}

fn function_arg(v: Value, n: usize, fname: &str) -> mlua::Result<Value> {
    match v {
        Value::Function(_) => Ok(v),
        other => Err(arg_err(
            n,
            fname,
            format!("function expected, got {}", other.type_name()),
        )),
    }
}

pub(super) fn add(lua: &Lua, a: Value, b: Value) -> R {
    let (x, y) = (to_patt(lua, &a, "+", 1)?, to_patt(lua, &b, "+", 2)?);
    new_pattern(lua, tree::choice(&x, &y).map_err(lerr)?)
}

pub(super) fn sub(lua: &Lua, a: Value, b: Value) -> R {
    let (x, y) = (to_patt(lua, &a, "-", 1)?, to_patt(lua, &b, "-", 2)?);
    new_pattern(lua, tree::diff(&x, &y).map_err(lerr)?)
}

pub(super) fn mul(lua: &Lua, a: Value, b: Value) -> R {
    let (x, y) = (to_patt(lua, &a, "*", 1)?, to_patt(lua, &b, "*", 2)?);
    new_pattern(lua, tree::seq(&x, &y).map_err(lerr)?)
}

pub(super) fn pow(lua: &Lua, a: Value, b: Value) -> R {
    let x = to_patt(lua, &a, "^", 1)?;
    let n = super::num(&b)
        .ok_or_else(|| arg_err(2, "^", format!("number expected, got {}", b.type_name())))?;
    if n.abs() > i32::MAX as f64 {
        return Err(lerr(crate::Error::TooComplex));
    }
    new_pattern(lua, checked::repeat(&x, n as i64).map_err(lerr)?)
}

pub(crate) fn div(lua: &Lua, a: Value, b: Value) -> R {
    let x = to_patt(lua, &a, "/", 1)?;
    match b {
        Value::String(_) => capture(lua, CapKind::String, Some(b), 0, &x),
        Value::Integer(_) | Value::Number(_) => {
            let n = super::num(&b).unwrap_or(-1.0);
            if !(0.0..=i16::MAX as f64).contains(&n) {
                return Err(arg_err(2, "/", "invalid number"));
            }
            capture(lua, CapKind::Num, None, n as u32, &x)
        }
        Value::Table(_) => capture(lua, CapKind::Query, Some(b), 0, &x),
        Value::Function(_) => capture(lua, CapKind::Function, Some(b), 0, &x),
        other => Err(mlua::Error::runtime(format!(
            "unexpected {} as 2nd operand to LPeg '/'",
            other.type_name()
        ))),
    }
}

pub(super) fn modulo(lua: &Lua, a: Value, b: Value) -> R {
    let x = to_patt(lua, &a, "%", 1)?;
    capture(lua, CapKind::Accum, Some(function_arg(b, 2, "%")?), 0, &x)
}

pub(super) fn unm(lua: &Lua, a: Value) -> R {
    new_pattern(lua, tree::not(&patt1(lua, &a, "-")?).map_err(lerr)?)
}

pub(super) fn len(lua: &Lua, a: Value) -> R {
    new_pattern(lua, tree::and(&patt1(lua, &a, "#")?).map_err(lerr)?)
}

/// The C locale's classes, as `lpeg.locale` returns them.
type Class = (&'static str, fn(u8) -> bool);

fn locale_classes() -> [Class; 11] {
    [
        ("alnum", |c| c.is_ascii_alphanumeric()),
        ("alpha", |c| c.is_ascii_alphabetic()),
        ("cntrl", |c| c.is_ascii_control()),
        ("digit", |c| c.is_ascii_digit()),
        ("graph", |c| c.is_ascii_graphic()),
        ("lower", |c| c.is_ascii_lowercase()),
        ("print", |c| c.is_ascii_graphic() || c == b' '),
        ("punct", |c| c.is_ascii_punctuation()),
        ("space", |c| {
            matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
        }),
        ("upper", |c| c.is_ascii_uppercase()),
        ("xdigit", |c| c.is_ascii_hexdigit()),
    ]
}

/// The set of locale class `name` (C locale).
pub(crate) fn class_set(name: &str) -> Option<Charset> {
    let (_, f) = locale_classes().into_iter().find(|(n, _)| *n == name)?;
    let mut cs = Charset::EMPTY;
    for c in 0..=255u8 {
        if f(c) {
            cs.insert(c);
        }
    }
    Some(cs)
}

/// Fills `t` with the locale class patterns.
pub(crate) fn locale(lua: &Lua, t: &Table) -> mlua::Result<()> {
    for (name, _) in locale_classes() {
        let cs = class_set(name).unwrap_or(Charset::EMPTY);
        t.raw_set(name, new_pattern(lua, tree::set(cs))?)?;
    }
    Ok(())
}

/// Registers the constructors in the module table.
pub(super) fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    let f1 = |name: &'static str, kind: CapKind| {
        lua.create_function(move |lua, p: Value| {
            capture(lua, kind, None, 0, &patt1(lua, &p, name)?)
        })
    };
    t.raw_set("C", f1("C", CapKind::Simple)?)?;
    t.raw_set("Cs", f1("Cs", CapKind::Subst)?)?;
    t.raw_set("Ct", f1("Ct", CapKind::Table)?)?;
    t.raw_set(
        "P",
        lua.create_function(|lua, v: Value| new_pattern(lua, patt1(lua, &v, "P")?))?,
    )?;
    t.raw_set(
        "R",
        lua.create_function(|lua, ranges: Variadic<Value>| {
            let mut cs = Charset::EMPTY;
            for (i, r) in ranges.iter().enumerate() {
                match r {
                    Value::String(s) if s.as_bytes().len() == 2 => {
                        let b = s.as_bytes();
                        cs = cs.union(&Charset::range(b[0], b[1]));
                    }
                    _ => return Err(arg_err(i + 1, "R", "range must have two characters")),
                }
            }
            new_pattern(lua, tree::set(cs))
        })?,
    )?;
    t.raw_set(
        "S",
        lua.create_function(|lua, s: mlua::LuaString| {
            new_pattern(lua, tree::set(Charset::from_bytes(&s.as_bytes())))
        })?,
    )?;
    t.raw_set(
        "V",
        lua.create_function(|lua, v: Value| {
            if v.is_nil() {
                return Err(arg_err(1, "V", "non-nil value expected"));
            }
            new_pattern(lua, tree::open(to_name(&v)))
        })?,
    )?;
    t.raw_set(
        "B",
        lua.create_function(|lua, p: Value| {
            let x = patt1(lua, &p, "B")?;
            new_pattern(lua, checked::behind(&x).map_err(|e| arg_err(1, "B", e))?)
        })?,
    )?;
    t.raw_set(
        "locale",
        lua.create_function(|lua, t: Option<Table>| {
            let t = match t {
                Some(t) => t,
                None => lua.create_table()?,
            };
            locale(lua, &t)?;
            Ok(t)
        })?,
    )?;
    register_captures(lua, t)
}

fn register_captures(lua: &Lua, t: &Table) -> mlua::Result<()> {
    t.raw_set(
        "Cp",
        lua.create_function(|lua, ()| capture(lua, CapKind::Position, None, 0, &tree::succeed()))?,
    )?;
    t.raw_set(
        "Carg",
        lua.create_function(|lua, n: Value| {
            let n = super::num(&n).unwrap_or(0.0);
            if !(1.0..=u16::MAX as f64).contains(&n) {
                return Err(arg_err(1, "Carg", "invalid argument index"));
            }
            capture(lua, CapKind::Arg, None, n as u32, &tree::succeed())
        })?,
    )?;
    t.raw_set(
        "Cb",
        lua.create_function(|lua, name: Value| {
            capture(lua, CapKind::Backref, Some(name), 0, &tree::succeed())
        })?,
    )?;
    t.raw_set(
        "Cc",
        lua.create_function(|lua, vals: Variadic<Value>| {
            let mut parts = Vec::with_capacity(vals.len());
            for v in vals.iter() {
                parts.push(
                    tree::capture(CapKind::Const, Some(v.clone()), 0, &tree::succeed())
                        .map_err(lerr)?,
                );
            }
            let p = match parts.len() {
                0 => tree::succeed(),
                1 => parts.remove(0),
                _ => tree::capture(
                    CapKind::Group,
                    None,
                    0,
                    &tree::seq_all(parts).map_err(lerr)?,
                )
                .map_err(lerr)?,
            };
            new_pattern(lua, p)
        })?,
    )?;
    t.raw_set(
        "Cf",
        lua.create_function(|lua, (p, f): (Value, Value)| {
            let x = patt1(lua, &p, "Cf")?;
            capture(lua, CapKind::Fold, Some(function_arg(f, 2, "Cf")?), 0, &x)
        })?,
    )?;
    t.raw_set(
        "Cmt",
        lua.create_function(|lua, (p, f): (Value, Value)| {
            let x = patt1(lua, &p, "Cmt")?;
            capture(
                lua,
                CapKind::Runtime,
                Some(function_arg(f, 2, "Cmt")?),
                0,
                &x,
            )
        })?,
    )?;
    t.raw_set(
        "Cg",
        lua.create_function(|lua, (p, name): (Value, Value)| {
            let x = patt1(lua, &p, "Cg")?;
            let key = if name.is_nil() { None } else { Some(name) };
            capture(lua, CapKind::Group, key, 0, &x)
        })?,
    )?;
    Ok(())
}
