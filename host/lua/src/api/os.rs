//! `os.date` and `os.time` as Heka's sandbox had them: always UTC (Heka forced
//! `TZ=UTC`), the calendar from [`heka_message::civil`].

use heka_message::civil::timegm;
use mlua::{Lua, Table, Value};

use super::err;

pub(crate) fn install_os(lua: &Lua, os: &Table) -> mlua::Result<()> {
    let date: mlua::Function = os.raw_get("date")?;
    os.raw_set(
        "date",
        lua.create_function(move |lua, (fmt, t): (Option<mlua::LuaString>, Value)| {
            let fmt = fmt
                .map(|f| f.as_bytes().to_vec())
                .unwrap_or_else(|| b"%c".to_vec());
            let fmt = if fmt.starts_with(b"!") {
                fmt
            } else {
                [b"!".as_slice(), &fmt].concat()
            };
            date.call::<Value>((lua.create_string(&fmt)?, t))
        })?,
    )?;
    let time: mlua::Function = os.raw_get("time")?;
    os.raw_set(
        "time",
        lua.create_function(move |_, t: Option<Table>| {
            let Some(t) = t else {
                return time.call::<Value>(());
            };
            let field = |k: &str, default: Option<i64>| -> mlua::Result<i64> {
                match t.raw_get::<Value>(k)? {
                    Value::Integer(i) => Ok(i),
                    Value::Number(n) => Ok(n as i64),
                    Value::Nil => {
                        default.ok_or_else(|| err(format!("field '{k}' missing in date table")))
                    }
                    _ => Err(err(format!("field '{k}' missing in date table"))),
                }
            };
            let secs = timegm(
                field("year", None)?,
                field("month", None)?,
                field("day", None)?,
                field("hour", Some(12))?,
                field("min", Some(0))?,
                field("sec", Some(0))?,
            );
            Ok(Value::Number(secs as f64))
        })?,
    )?;
    Ok(())
}
