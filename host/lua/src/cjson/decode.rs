//! `cjson.decode`: a small recursive-descent parser straight into Lua values (keys
//! inserted in document order, as lua-cjson does), nesting capped by
//! `decode_max_depth`; JSON `null` is nil unless `cjson.decode_null(true)`;
//! `nan`/`inf`/hex numbers accepted only with `decode_invalid_numbers` (the default).

use mlua::{LightUserData, Lua, Value};

use super::{Settings, err};
use crate::state::state;

pub(super) fn decode(lua: &Lua, text: mlua::LuaString) -> mlua::Result<Value> {
    let decode_null = state(lua)?.decode_null;
    let settings: Settings = super::settings(lua);
    let bytes = text.as_bytes();
    let mut p = Parser {
        lua,
        s: &bytes,
        pos: 0,
        decode_null,
        max_depth: settings.decode_max_depth,
        invalid_numbers: settings.decode_invalid,
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
    max_depth: usize,
    invalid_numbers: bool,
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
            Some(b'{') | Some(b'[') if depth + 1 > self.max_depth => Err(err(format!(
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
            Some(b'i' | b'I' | b'n' | b'N') if self.invalid_numbers => self.number(),
            _ => Err(self.error("value")),
        }
    }

    /// A JSON number; with `decode_invalid_numbers` also what C's `strtod` reads
    /// that JSON does not: `inf`, `infinity`, `nan` (any case, signed) and hex.
    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.pos;
        while let Some(c) = self.s.get(self.pos) {
            let ok = match c {
                b'-' | b'+' | b'.' | b'0'..=b'9' => true,
                _ => self.invalid_numbers && c.is_ascii_alphanumeric(),
            };
            if !ok {
                break;
            }
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        if let Some(n) = self.parse_number(text) {
            return Ok(Value::Number(n));
        }
        self.pos = start;
        Err(self.error("value"))
    }

    fn parse_number(&self, text: &str) -> Option<f64> {
        let strict = |t: &str| {
            // JSON: no leading '+', no leading zeros, digits around the '.'.
            let body = t.strip_prefix('-').unwrap_or(t);
            let int_end = body.find(['.', 'e', 'E']).unwrap_or(body.len());
            let int = &body[..int_end];
            let ok = !int.is_empty()
                && int.bytes().all(|c| c.is_ascii_digit())
                && (int == "0" || !int.starts_with('0'))
                && !body.starts_with('+');
            ok.then(|| t.parse::<f64>().ok()).flatten()
        };
        if !self.invalid_numbers {
            return strict(text);
        }
        if let Some(n) = strict(text) {
            return Some(n);
        }
        let (neg, body) = match text.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, text),
        };
        let lower = body.to_ascii_lowercase();
        let n = match lower.as_str() {
            "inf" | "infinity" => f64::INFINITY,
            "nan" => f64::NAN,
            h if h.starts_with("0x") && h.len() > 2 => {
                u64::from_str_radix(&h[2..], 16).ok()? as f64
            }
            _ => body
                .parse::<f64>()
                .ok()
                .filter(|_| !body.starts_with(['+', 'i', 'n']))?,
        };
        Some(if neg { -n } else { n })
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
