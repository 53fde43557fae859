//! `cjson`: the JSON module Heka scripts `require`, compatible with lua-cjson 2.1 as
//! Heka configured it for the common cases.
//!
//! Encoding follows lua-cjson: numbers as `%.14g`; `/` escaped as `\/`; control
//! characters as `\b \f \n \r \t` or `\u00XX`; bytes ≥ 0x80 copied as they are; a
//! table whose keys are all positive integers is an array (holes become `null`,
//! "excessively sparse" arrays are refused), any other table an object, the empty
//! table `{}`; keys in Lua's own traversal order (so output matches Heka's Lua 5.1
//! byte for byte); NaN/Inf, functions and userdata are errors; nesting is capped at
//! 200 (lua-cjson: 1000). Decoding is a small recursive-descent parser straight into Lua values (keys
//! inserted in document order, as lua-cjson does); JSON `null` is dropped (nil)
//! unless `cjson.decode_null(true)` (Heka's sandbox default). The output is capped by
//! `output_limit`, as Heka capped the encode buffer.

use mlua::{LightUserData, Lua, Table, Value};

use crate::api::state;

/// Nesting cap for encode and decode. lua-cjson's is 1000; ours is lower because
/// the recursion runs on the plugin thread's own stack (a debug build overflows a
/// 2 MiB thread stack near 1000 levels). Real documents are far shallower.
const MAX_DEPTH: usize = 200;
/// lua-cjson's `encode_sparse_array` defaults: ratio 2, safe 10.
const SPARSE_RATIO: usize = 2;
const SPARSE_SAFE: usize = 10;

fn err(msg: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(msg)
}

/// The `cjson` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("encode", lua.create_function(encode)?)?;
    t.raw_set("decode", lua.create_function(decode)?)?;
    t.raw_set(
        "null",
        Value::LightUserData(LightUserData(std::ptr::null_mut())),
    )?;
    t.raw_set("version", "2.1.0")?;
    t.raw_set(
        "decode_null",
        lua.create_function(|lua, on: Option<bool>| {
            let mut s = state(lua)?;
            if let Some(on) = on {
                s.decode_null = on;
            }
            Ok(s.decode_null)
        })?,
    )?;
    // Configuration functions scripts call at load time: accepted, the defaults stay.
    for name in [
        "encode_sparse_array",
        "encode_max_depth",
        "decode_max_depth",
        "encode_number_precision",
        "encode_keep_buffer",
        "encode_invalid_numbers",
        "decode_invalid_numbers",
    ] {
        t.raw_set(
            name,
            lua.create_function(|_, args: mlua::MultiValue| Ok(args))?,
        )?;
    }
    t.raw_set(
        "new",
        lua.create_function(|_, ()| -> mlua::Result<()> { Err(err("cjson.new is disabled")) })?,
    )?;
    Ok(t)
}

// ---------------------------------------------------------------- numbers

// Heka's number formats live in heka-lua-modules (shared with circular_buffer).
pub(crate) use heka_lua_modules::number::{format_g, heka_number};

// ---------------------------------------------------------------- encode

fn encode(lua: &Lua, value: Value) -> mlua::Result<mlua::LuaString> {
    let limit = state(lua)?.output_limit;
    let mut out = Vec::with_capacity(64);
    encode_value(&value, &mut out, 0, limit)?;
    lua.create_string(&out)
}

fn encode_number(n: f64, out: &mut Vec<u8>) -> mlua::Result<()> {
    if !n.is_finite() {
        return Err(err("Cannot serialise number: must not be NaN or Inf"));
    }
    out.extend_from_slice(format_g(n, 14).as_bytes());
    Ok(())
}

pub(crate) fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(c >> 4) as usize]);
                out.push(HEX[(c & 0xf) as usize]);
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn encode_value(v: &Value, out: &mut Vec<u8>, depth: usize, limit: usize) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => encode_number(*i as f64, out)?,
        Value::Number(n) => encode_number(*n, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(t) => {
            if depth + 1 > MAX_DEPTH {
                return Err(err(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                )));
            }
            encode_table(t, out, depth + 1, limit)?;
        }
        other => {
            return Err(err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            )));
        }
    }
    if out.len() > limit {
        return Err(err(format!("output_limit exceeded ({limit} bytes)")));
    }
    Ok(())
}

/// lua-cjson's `lua_array_length`: the array length, or `None` for an object.
fn array_length(t: &Table) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let index = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 && n < 1e15 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(index);
        items += 1;
    }
    if max > items * SPARSE_RATIO && max > SPARSE_SAFE {
        return Err(err("Cannot serialise table: excessively sparse array"));
    }
    Ok(if items == 0 { None } else { Some(max) })
}

fn encode_table(t: &Table, out: &mut Vec<u8>, depth: usize, limit: usize) -> mlua::Result<()> {
    if let Some(len) = array_length(t)? {
        out.push(b'[');
        for i in 1..=len {
            if i > 1 {
                out.push(b',');
            }
            encode_value(&t.raw_get::<Value>(i)?, out, depth, limit)?;
        }
        out.push(b']');
        return Ok(());
    }
    out.push(b'{');
    let mut first = true;
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        if !first {
            out.push(b',');
        }
        first = false;
        match &k {
            Value::String(s) => encode_string(&s.as_bytes(), out),
            Value::Integer(i) => encode_string(format_g(*i as f64, 14).as_bytes(), out),
            Value::Number(n) => encode_string(format_g(*n, 14).as_bytes(), out),
            _ => {
                return Err(err(
                    "Cannot serialise table: table key must be a number or string",
                ));
            }
        }
        out.push(b':');
        encode_value(&v, out, depth, limit)?;
    }
    out.push(b'}');
    Ok(())
}

// ---------------------------------------------------------------- decode

fn decode(lua: &Lua, text: mlua::LuaString) -> mlua::Result<Value> {
    let decode_null = state(lua)?.decode_null;
    let bytes = text.as_bytes();
    let mut p = Parser {
        lua,
        s: &bytes,
        pos: 0,
        decode_null,
    };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos < p.s.len() {
        return Err(p.error("the end of input"));
    }
    Ok(v)
}

struct Parser<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
    decode_null: bool,
}

impl Parser<'_> {
    fn error(&self, expected: &str) -> mlua::Error {
        let found = match self.s.get(self.pos) {
            None => "the end of input".to_owned(),
            Some(c) => format!("'{}'", *c as char),
        };
        err(format!(
            "Expected {expected} but found {found} at character {}",
            self.pos + 1
        ))
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        match self.s.get(self.pos) {
            Some(b'{') | Some(b'[') if depth + 1 > MAX_DEPTH => Err(err(format!(
                "Found too many nested data structures ({}) at character {}",
                depth + 1,
                self.pos + 1
            ))),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.lua.create_string(self.string()?)?)),
            Some(b't') if self.eat(b"true") => Ok(Value::Boolean(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Boolean(false)),
            Some(b'n') if self.eat(b"null") => Ok(if self.decode_null {
                Value::LightUserData(LightUserData(std::ptr::null_mut()))
            } else {
                Value::Nil
            }),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error("value")),
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.pos;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.s.get(self.pos) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => {
                self.pos = start;
                Err(self.error("value"))
            }
        }
    }

    fn hex4(&mut self) -> mlua::Result<u32> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.error("a \\u escape of 4 hex digits"))?;
        self.pos += 4;
        Ok(digits)
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Err(self.error("a closing quote"));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(self.error("an escape"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp) && self.eat(b"\\u") {
                                let low = self.hex4()?;
                                if (0xdc00..0xe000).contains(&low) {
                                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                                }
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.error("a valid escape"));
                        }
                    }
                }
                c if c < 0x20 => {
                    self.pos -= 1;
                    return Err(self.error("a string character"));
                }
                c => out.push(c),
            }
        }
    }

    fn array(&mut self, depth: usize) -> mlua::Result<Value> {
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.eat(b"]") {
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            self.skip_ws();
            let v = self.value(depth)?;
            t.raw_set(i, v)?;
            i += 1;
            self.skip_ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"]") {
                return Ok(Value::Table(t));
            }
            return Err(self.error("comma or array end"));
        }
    }

    fn object(&mut self, depth: usize) -> mlua::Result<Value> {
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.eat(b"}") {
            return Ok(Value::Table(t));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.error("object key string"));
            }
            let key = self.lua.create_string(self.string()?)?;
            self.skip_ws();
            if !self.eat(b":") {
                return Err(self.error("colon"));
            }
            self.skip_ws();
            let v = self.value(depth)?;
            t.raw_set(key, v)?;
            self.skip_ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"}") {
                return Ok(Value::Table(t));
            }
            return Err(self.error("comma or object end"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_like_lua_cjson() {
        let mut out = Vec::new();
        encode_string(b"a/b\"c\\\n\x01\x7f\xc3\xa9", &mut out);
        assert_eq!(out, b"\"a\\/b\\\"c\\\\\\n\\u0001\\u007f\xc3\xa9\"");
    }
}
