//! `circular_buffer`: Heka's sliding-window time series store (lua_circular_buffer
//! as Heka 0.10's sandbox linked it), its `cbuf`/`cbufd` output and its
//! preservation text.
//!
//! The script sees `circular_buffer.new(rows, columns, seconds_per_row
//! [, enable_delta])` and the methods `add set get get_configuration set_header
//! get_header get_range current_time compute mannwhitneyu format fromstring` (plus
//! `tostring(cb)`, the `cbuf` text). Heka's rules (row arithmetic, header cleaning,
//! the text formats) live in `buffer`; the statistics in `stats`.
//!
//! Two things are kept in Lua, as Heka kept them, beside the userdata (its user
//! values): the delta table (`{[row time] = {[column0] = change}}`, so `cbufd` rows
//! come out in Lua's own table order, Heka's order) and a string as large as the
//! values, which charges the buffer to the sandbox's `memory_limit` (Heka allocated
//! the values inside Lua; ours live on the Rust heap). A buffer is also capped at
//! [`buffer::MAX_CELLS`] cells.

mod buffer;
mod stats;

use mlua::{AnyUserData, Lua, MetaMethod, Table, UserData, UserDataMethods, Value};

use buffer::{Aggregation, Buffer, Format};
use stats::Function;

/// The user value slot of the delta table (slot 2 holds the memory charge, see
/// `crate::charged`).
const DELTAS: usize = 1;

/// The userdata behind a `circular_buffer.new(...)` value.
pub struct CircularBuffer {
    buf: Buffer,
}

fn arg_error(arg: usize, func: &str, msg: &str) -> mlua::Error {
    mlua::Error::runtime(format!("bad argument #{arg} to '{func}' ({msg})"))
}

/// Lua's `luaL_checkint` truncation of a number argument.
fn int(v: f64) -> i64 {
    if v.is_finite() { v as i64 } else { 0 }
}

/// The module table (`circular_buffer`).
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("new", lua.create_function(new)?)?;
    t.raw_set("version", lua.create_function(|_, ()| Ok("1.0.0"))?)?;
    Ok(t)
}

fn new(lua: &Lua, args: mlua::Variadic<Value>) -> mlua::Result<AnyUserData> {
    if !(3..=4).contains(&args.len()) {
        return Err(arg_error(0, "new", "incorrect number of arguments"));
    }
    let num = |i: usize| match &args[i] {
        Value::Integer(n) => Ok(*n),
        Value::Number(n) => Ok(int(*n)),
        other => Err(arg_error(
            i + 1,
            "new",
            &format!("number expected, got {}", other.type_name()),
        )),
    };
    let (rows, columns, spr) = (num(0)?, num(1)?, num(2)?);
    if rows <= 1 {
        return Err(arg_error(1, "new", "rows must be > 1"));
    }
    if columns <= 0 {
        return Err(arg_error(2, "new", "columns must be > 0"));
    }
    if spr <= 0 || spr > i64::from(i32::MAX) {
        return Err(arg_error(3, "new", "seconds_per_row is out of range"));
    }
    let cells = (rows as u64).saturating_mul(columns as u64);
    if cells > buffer::MAX_CELLS as u64 {
        return Err(arg_error(
            0,
            "new",
            &format!("rows × columns is over {}", buffer::MAX_CELLS),
        ));
    }
    let delta = args
        .get(3)
        .is_some_and(|v| !matches!(v, Value::Nil | Value::Boolean(false)));
    let cb = CircularBuffer {
        buf: Buffer::new(rows as usize, columns as usize, spr, delta),
    };
    crate::charged(lua, cb, cells as usize * 8)
}

impl CircularBuffer {
    fn column(&self, v: f64, arg: usize, func: &str) -> mlua::Result<usize> {
        let c = int(v);
        if c < 1 || c as u64 > self.buf.columns as u64 {
            return Err(arg_error(arg, func, "column out of range"));
        }
        Ok(c as usize - 1)
    }

    /// The rows of `[start, end]` (default: the whole window) or `None` when a
    /// bound is outside the window.
    fn range(
        &mut self,
        start: Option<f64>,
        end: Option<f64>,
        arg: usize,
        func: &str,
    ) -> mlua::Result<Option<(usize, usize)>> {
        let start = start.unwrap_or(self.buf.start_time() as f64 * 1e9);
        let end = end.unwrap_or(self.buf.current_time as f64 * 1e9);
        if end < start {
            return Err(arg_error(arg, func, "end must be >= start"));
        }
        Ok(self.buf.row(start, false).zip(self.buf.row(end, false)))
    }
}

/// Adds `value` to the delta of (`row time`, `column`), Heka's `cb_add_delta`.
fn add_delta(lua: &Lua, ud: &AnyUserData, t: i64, column: usize, value: f64) -> mlua::Result<()> {
    let deltas = match ud.nth_user_value::<Option<Table>>(DELTAS)? {
        Some(d) => d,
        None => {
            let d = lua.create_table()?;
            ud.set_nth_user_value(DELTAS, &d)?;
            d
        }
    };
    let row = match deltas.raw_get::<Option<Table>>(t)? {
        Some(r) => r,
        None => {
            let r = lua.create_table()?;
            deltas.raw_set(t, &r)?;
            r
        }
    };
    let previous = row.raw_get::<Option<f64>>(column)?.unwrap_or(0.0);
    row.raw_set(column, previous + value)
}

/// `add` and `set`: one cell written, the delta recorded as Heka did.
fn write(
    lua: &Lua,
    ud: &AnyUserData,
    ns: f64,
    col: f64,
    value: f64,
    add: bool,
) -> mlua::Result<Value> {
    let func = if add { "add" } else { "set" };
    let mut cb = ud.borrow_mut::<CircularBuffer>()?;
    let Some(row) = cb.buf.row(ns, true) else {
        return Ok(Value::Nil);
    };
    let column = cb.column(col, 2, func)?;
    let i = row * cb.buf.columns + column;
    let old = cb.buf.values[i];
    let aggregation = cb.buf.headers[column].aggregation;
    let mut delta = None;
    if add {
        cb.buf.values[i] = if old.is_nan() { value } else { old + value };
        if value != 0.0 {
            delta = Some(if aggregation == Aggregation::Sum {
                value
            } else {
                cb.buf.values[i]
            });
        }
    } else {
        match aggregation {
            Aggregation::Min | Aggregation::Max => {
                let better = if aggregation == Aggregation::Min {
                    value < old
                } else {
                    value > old
                };
                if old.is_nan() || better {
                    cb.buf.values[i] = value;
                    delta = Some(value);
                }
            }
            _ => {
                cb.buf.values[i] = value;
                delta = Some(if old.is_finite() { value - old } else { value });
            }
        }
    }
    let result = cb.buf.values[i];
    let t = cb.buf.row_time(ns);
    let tracked = cb.buf.delta;
    drop(cb);
    if let (true, Some(d)) = (tracked, delta) {
        add_delta(lua, ud, t, column, d)?;
    }
    Ok(Value::Number(result))
}

fn compute(
    cb: &mut CircularBuffer,
    args: (String, f64, Option<f64>, Option<f64>),
) -> mlua::Result<(Value, Value)> {
    let (name, col, start, end) = args;
    let Some(f) = Function::parse(&name) else {
        return Err(arg_error(1, "compute", &format!("invalid option '{name}'")));
    };
    let column = cb.column(col, 2, "compute")?;
    let Some((s, e)) = cb.range(start, end, 4, "compute")? else {
        return Ok((Value::Nil, Value::Nil));
    };
    let (v, n) = stats::compute(f, &cb.buf.column_range(column, s, e));
    Ok((Value::Number(v), Value::Integer(n as i64)))
}

type MannWhitneyArgs = (f64, f64, f64, f64, f64, Option<bool>);

fn mannwhitneyu(cb: &mut CircularBuffer, args: MannWhitneyArgs) -> mlua::Result<(Value, Value)> {
    let (col, s1, e1, s2, e2, continuity) = args;
    let column = cb.column(col, 1, "mannwhitneyu")?;
    let a = cb.range(Some(s1), Some(e1), 3, "mannwhitneyu")?;
    let b = cb.range(Some(s2), Some(e2), 5, "mannwhitneyu")?;
    let (Some((s1, e1)), Some((s2, e2))) = (a, b) else {
        return Ok((Value::Nil, Value::Nil));
    };
    let x = cb.buf.column_range(column, s1, e1);
    let y = cb.buf.column_range(column, s2, e2);
    Ok(
        match stats::mann_whitney_u(&x, &y, continuity.unwrap_or(true)) {
            Some((u, p)) => (Value::Number(u), Value::Number(p)),
            None => (Value::Nil, Value::Nil),
        },
    )
}

fn set_header(
    cb: &mut CircularBuffer,
    (col, name, unit, agg): (
        f64,
        mlua::LuaString,
        Option<mlua::LuaString>,
        Option<mlua::LuaString>,
    ),
) -> mlua::Result<i64> {
    let column = cb.column(col, 1, "set_header")?;
    let aggregation = match &agg {
        None => Aggregation::Sum,
        Some(a) => {
            let a = a.to_string_lossy();
            Aggregation::parse(&a)
                .ok_or_else(|| arg_error(4, "set_header", &format!("invalid option '{a}'")))?
        }
    };
    let unit = unit
        .map(|u| u.as_bytes().to_vec())
        .unwrap_or_else(|| b"count".to_vec());
    cb.buf
        .set_header(column, &name.as_bytes(), &unit, aggregation);
    Ok(column as i64 + 1)
}

fn fromstring(lua: &Lua, (ud, text): (AnyUserData, mlua::LuaString)) -> mlua::Result<()> {
    let mut cb = ud.borrow_mut::<CircularBuffer>()?;
    let text = text
        .to_str()
        .map_err(|_| mlua::Error::runtime("fromstring() invalid text"))?;
    let rest = cb.buf.restore(&text).map_err(mlua::Error::runtime)?;
    let (columns, spr) = (cb.buf.columns, cb.buf.seconds_per_row);
    drop(cb);
    for row in rest.chunks(columns + 1) {
        let t = (row[0] as i64) - (row[0] as i64).rem_euclid(spr);
        for (c, v) in row[1..].iter().enumerate() {
            add_delta(lua, &ud, t, c, *v)?;
        }
    }
    Ok(())
}

impl UserData for CircularBuffer {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_function(
            "add",
            |lua, (ud, ns, col, v): (AnyUserData, f64, f64, f64)| write(lua, &ud, ns, col, v, true),
        );
        m.add_function(
            "set",
            |lua, (ud, ns, col, v): (AnyUserData, f64, f64, f64)| {
                write(lua, &ud, ns, col, v, false)
            },
        );
        m.add_method_mut("get", |_, cb, (ns, col): (f64, f64)| {
            let row = cb.buf.row(ns, false);
            let column = cb.column(col, 2, "get")?;
            Ok(row.map(|r| cb.buf.values[r * cb.buf.columns + column]))
        });
        m.add_method("get_configuration", |_, cb, ()| {
            Ok((cb.buf.rows, cb.buf.columns, cb.buf.seconds_per_row))
        });
        m.add_method_mut("set_header", |_, cb, args| set_header(cb, args));
        m.add_method("get_header", |_, cb, col: f64| {
            let h = &cb.buf.headers[cb.column(col, 1, "get_header")?];
            Ok((h.name.clone(), h.unit.clone(), h.aggregation.name()))
        });
        m.add_method_mut(
            "get_range",
            |lua, cb, (col, s, e): (f64, Option<f64>, Option<f64>)| {
                let column = cb.column(col, 1, "get_range")?;
                let Some((s, e)) = cb.range(s, e, 3, "get_range")? else {
                    return Ok(Value::Nil);
                };
                Ok(Value::Table(
                    lua.create_sequence_from(cb.buf.column_range(column, s, e))?,
                ))
            },
        );
        m.add_method("current_time", |_, cb, ()| {
            Ok(cb.buf.current_time as f64 * 1e9)
        });
        m.add_method_mut("compute", |_, cb, args| compute(cb, args));
        m.add_method_mut("mannwhitneyu", |_, cb, args| mannwhitneyu(cb, args));
        m.add_function("format", |_, (ud, fmt): (AnyUserData, mlua::LuaString)| {
            let format = match &*fmt.as_bytes() {
                b"cbuf" => Format::Cbuf,
                b"cbufd" => Format::Cbufd,
                _ => {
                    return Err(arg_error(
                        1,
                        "format",
                        &format!("invalid option '{}'", fmt.display()),
                    ));
                }
            };
            ud.borrow_mut::<CircularBuffer>()?.buf.format = format;
            Ok(ud)
        });
        m.add_function("fromstring", fromstring);
        m.add_meta_method(MetaMethod::ToString, |_, cb, ()| {
            let mut out = String::new();
            cb.buf.write_cbuf(&mut out);
            Ok(out)
        });
    }
}

/// The text `add_to_payload(cb)` appends: `cbuf`, or for `format("cbufd")` the
/// changes since the last such output (nothing when there are none), which are then
/// forgotten.
pub(crate) fn output(ud: &AnyUserData, out: &mut String) -> mlua::Result<()> {
    let cb = ud.borrow::<CircularBuffer>()?;
    if cb.buf.format == Format::Cbuf {
        cb.buf.write_cbuf(out);
        return Ok(());
    }
    let Some(deltas) = ud.nth_user_value::<Option<Table>>(DELTAS)? else {
        return Ok(());
    };
    cb.buf.write_header(out);
    write_deltas(&deltas, cb.buf.columns, '\t', Some('\n'), out)?;
    ud.set_nth_user_value(DELTAS, Value::Nil)
}

/// The delta rows in the table's order: `time<sep>v0<sep>v1...`, each ended by
/// `end` (`cbufd`) or each started by `sep` (the preservation text).
fn write_deltas(
    deltas: &Table,
    columns: usize,
    sep: char,
    end: Option<char>,
    out: &mut String,
) -> mlua::Result<()> {
    use crate::number::push_heka_number;
    for pair in deltas.pairs::<f64, Table>() {
        let (t, row) = pair?;
        if end.is_none() {
            out.push(sep);
        }
        push_heka_number(out, t);
        for c in 0..columns {
            out.push(sep);
            match row.raw_get::<Option<f64>>(c)? {
                Some(v) => push_heka_number(out, v),
                // A column without a change: Heka wrote `nan` in cbufd, 0 when saving.
                None => out.push_str(if end.is_some() { "nan" } else { "0" }),
            }
        }
        if let Some(e) = end {
            out.push(e);
        }
    }
    Ok(())
}

/// The Lua text that rebuilds the buffer at `key` (e.g. `_G["cb"]`), Heka's
/// preservation format; pending deltas are saved with it.
pub(crate) fn serialize(ud: &AnyUserData, key: &str, out: &mut String) -> mlua::Result<()> {
    let cb = ud.borrow::<CircularBuffer>()?;
    cb.buf.write_restore(key, out);
    if let Some(deltas) = ud.nth_user_value::<Option<Table>>(DELTAS)? {
        write_deltas(&deltas, cb.buf.columns, ' ', None, out)?;
    }
    out.push_str("\")\n");
    Ok(())
}
