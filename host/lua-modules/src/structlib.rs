//! `struct`: Roberto Ierusalimschy's binary packing library (struct 1.4, which
//! Heka's sandbox shipped): `struct.pack(fmt, ...)`, `struct.unpack(fmt, s [, i])`
//! (the values, then the next position), `struct.size(fmt)`.
//!
//! Format: `<` little, `>` big, `=` native (little) endian; `!n` maximum alignment
//! (`!` alone: 8; default 1, no alignment); `x` a zero byte; `b B h H l L T` char,
//! short, long (8), size_t (8), lower case signed; `i[n] I[n]` an int of n bytes
//! (default 4, at most 32); `c[n]` n bytes (`c0`: the whole string when packing, the
//! length read just before when unpacking); `s` a zero-terminated string; `f` float;
//! `d` double; spaces ignored. Integers beyond 8 bytes are zero-extended, as in C.

use mlua::{Lua, Table, Value, Variadic};

const MAX_INT_SIZE: usize = 32;
const MAX_ALIGN: usize = 8;

fn err(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(msg.into())
}

/// The module table (`struct`).
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    Ok(t)
}

struct Format<'a> {
    fmt: &'a [u8],
    pos: usize,
    little: bool,
    align: usize,
}

impl<'a> Format<'a> {
    fn new(fmt: &'a [u8]) -> Format<'a> {
        Format {
            fmt,
            pos: 0,
            little: true,
            align: 1,
        }
    }

    /// The next option and its size (0 for options without one).
    fn next(&mut self) -> mlua::Result<Option<(u8, usize)>> {
        let Some(&opt) = self.fmt.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let size = match opt {
            b'b' | b'B' => 1,
            b'h' | b'H' => 2,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let n = self.number(4)?;
                if n > MAX_INT_SIZE {
                    return Err(err(format!(
                        "integral size {n} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                n
            }
            _ => 0,
        };
        Ok(Some((opt, size)))
    }

    fn number(&mut self, default: usize) -> mlua::Result<usize> {
        let digits = self.fmt[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return Ok(default);
        }
        let text = std::str::from_utf8(&self.fmt[self.pos..self.pos + digits]).unwrap_or("");
        self.pos += digits;
        text.parse::<i32>()
            .map(|n| n as usize)
            .map_err(|_| err("integral size overflow"))
    }

    /// Padding before an item of `size` at offset `len`.
    fn padding(&self, len: usize, opt: u8, size: usize) -> usize {
        if size == 0 || opt == b'c' {
            return 0;
        }
        let size = size.min(self.align);
        (size - (len & (size - 1))) & (size - 1)
    }

    /// Endianness, alignment and spaces; anything else is an error.
    fn control(&mut self, opt: u8) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'<' | b'=' => self.little = true,
            b'>' => self.little = false,
            b'!' => {
                let a = self.number(MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(err(format!("alignment {a} is not a power of 2")));
                }
                self.align = a;
            }
            other => {
                return Err(err(format!(
                    "bad argument #1 to 'struct' (invalid format option '{}')",
                    other as char
                )));
            }
        }
        Ok(())
    }
}

fn number_arg(args: &[Value], i: usize) -> mlua::Result<f64> {
    match args.get(i) {
        Some(Value::Integer(n)) => Ok(*n as f64),
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .ok_or_else(|| {
                err(format!(
                    "bad argument #{} to 'pack' (number expected, got string)",
                    i + 1
                ))
            }),
        other => Err(err(format!(
            "bad argument #{} to 'pack' (number expected, got {})",
            i + 1,
            other.map_or("no value", |v| v.type_name())
        ))),
    }
}

fn pack(lua: &Lua, args: Variadic<Value>) -> mlua::Result<mlua::LuaString> {
    let Some(Value::String(fmt)) = args.first() else {
        return Err(err("bad argument #1 to 'pack' (string expected)"));
    };
    let fmt = fmt.as_bytes();
    let mut f = Format::new(&fmt);
    let mut out: Vec<u8> = Vec::new();
    let mut arg = 1;
    while let Some((opt, mut size)) = f.next()? {
        let pad = f.padding(out.len(), opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = number_arg(&args, arg)?;
                arg += 1;
                let mut v: u64 = if n < 0.0 { (n as i64) as u64 } else { n as u64 };
                let mut bytes = vec![0u8; size];
                for i in 0..size {
                    let at = if f.little { i } else { size - 1 - i };
                    bytes[at] = (v & 0xff) as u8;
                    v = v.checked_shr(8).unwrap_or(0);
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let v = number_arg(&args, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if f.little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                });
            }
            b'd' => {
                let v = number_arg(&args, arg)?;
                arg += 1;
                out.extend_from_slice(&if f.little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = match args.get(arg) {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(Value::Integer(n)) => n.to_string().into_bytes(),
                    Some(Value::Number(n)) => crate::number::format_g(*n, 14).into_bytes(),
                    _ => {
                        return Err(err(format!(
                            "bad argument #{} to 'pack' (string expected)",
                            arg + 1
                        )));
                    }
                };
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(err(format!(
                        "bad argument #{arg} to 'pack' (string too short)"
                    )));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            other => f.control(other)?,
        }
    }
    lua.create_string(out)
}

fn unpack(
    _lua: &Lua,
    (fmt, data, init): (mlua::LuaString, mlua::LuaString, Option<f64>),
) -> mlua::Result<Variadic<Value>> {
    let fmt = fmt.as_bytes();
    let data = data.as_bytes();
    let len = data.len();
    let start = init.unwrap_or(1.0);
    if start < 1.0 || (start as usize) - 1 > len {
        return Err(err(
            "bad argument #3 to 'unpack' (offset must be 1 or greater)",
        ));
    }
    let mut pos = start as usize - 1;
    let mut f = Format::new(&fmt);
    let mut out: Variadic<Value> = Variadic::new();
    let too_short = || err("bad argument #2 to 'unpack' (data string too short)");
    while let Some((opt, mut size)) = f.next()? {
        pos += f.padding(pos, opt, size);
        if size > len || pos > len - size {
            return Err(too_short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                out.push(Value::Number(read_int(
                    &data[pos..pos + size],
                    f.little,
                    signed,
                )));
            }
            b'x' => {}
            b'f' | b'd' => {
                let v = read_float(&data[pos..pos + size], f.little).ok_or_else(too_short)?;
                out.push(Value::Number(v));
            }
            b'c' => {
                if size == 0 {
                    let Some(Value::Number(n)) = out.pop() else {
                        return Err(err("format 'c0' needs a previous size"));
                    };
                    size = if n > 0.0 { n as usize } else { 0 };
                    if size > len || pos > len - size {
                        return Err(too_short());
                    }
                }
                out.push(Value::String(_lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(err("unfinished string in data"));
                };
                out.push(Value::String(_lua.create_string(&data[pos..pos + end])?));
                size = end + 1;
            }
            other => f.control(other)?,
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(out)
}

/// An integer of `bytes.len()` bytes (sign-extended when `signed` and at most 8).
fn read_int(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let size = bytes.len();
    let mut v: u64 = 0;
    for i in 0..size {
        let b = if little {
            bytes[size - 1 - i]
        } else {
            bytes[i]
        };
        v = v.checked_shl(8).unwrap_or(0) | u64::from(b);
    }
    if signed && size > 0 && size <= 8 {
        let shift = 64 - size * 8;
        (((v << shift) as i64) >> shift) as f64
    } else {
        v as f64
    }
}

/// A 4-byte float or an 8-byte double; `None` for another size.
fn read_float(bytes: &[u8], little: bool) -> Option<f64> {
    if let Ok(b) = <[u8; 4]>::try_from(bytes) {
        let v = if little {
            f32::from_le_bytes(b)
        } else {
            f32::from_be_bytes(b)
        };
        return Some(f64::from(v));
    }
    let b = <[u8; 8]>::try_from(bytes).ok()?;
    Some(if little {
        f64::from_le_bytes(b)
    } else {
        f64::from_be_bytes(b)
    })
}

fn size(_: &Lua, fmt: mlua::LuaString) -> mlua::Result<f64> {
    let fmt = fmt.as_bytes();
    let mut f = Format::new(&fmt);
    let mut pos = 0usize;
    while let Some((opt, size)) = f.next()? {
        pos += f.padding(pos, opt, size);
        if opt == b's' || (opt == b'c' && size == 0) {
            return Err(err(
                "bad argument #1 to 'size' (options 'c0' and 's' have variable size)",
            ));
        }
        if !opt.is_ascii_alphanumeric() {
            f.control(opt)?;
        }
        pos = pos.saturating_add(size);
    }
    Ok(pos as f64)
}
