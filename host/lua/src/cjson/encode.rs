//! `cjson.encode`: Lua values to JSON text as lua-cjson 2.1 writes it (numbers as
//! `%.{precision}g`, `/` escaped as `\/`, control characters as short escapes or
//! `\u00XX`, bytes ≥ 0x80 as they are, keys in Lua's own table order), honouring
//! the `encode_*` settings; the text is capped by `output_limit`.

use mlua::{Lua, Table, Value};

use super::{Invalid, Settings, err, format_g};
use crate::state::state;

/// What one `encode` call needs: the settings and the output cap.
struct Encoder {
    settings: Settings,
    limit: usize,
}

pub(super) fn encode(lua: &Lua, value: Value) -> mlua::Result<mlua::LuaString> {
    let enc = Encoder {
        settings: super::settings(lua),
        limit: state(lua)?.emitted.output_limit(),
    };
    let mut out = Vec::with_capacity(64);
    enc.value(&value, &mut out, 0)?;
    lua.create_string(&out)
}

impl Encoder {
    fn number(&self, n: f64, out: &mut Vec<u8>) -> mlua::Result<()> {
        if !n.is_finite() {
            match self.settings.encode_invalid {
                Invalid::Refuse => {
                    return Err(err("Cannot serialise number: must not be NaN or Inf"));
                }
                Invalid::Null => {
                    out.extend_from_slice(b"null");
                    return Ok(());
                }
                // lua-cjson printed them with %g: nan, inf, -inf.
                Invalid::Allow => {}
            }
        }
        out.extend_from_slice(format_g(n, self.settings.precision).as_bytes());
        Ok(())
    }

    fn value(&self, v: &Value, out: &mut Vec<u8>, depth: usize) -> mlua::Result<()> {
        match v {
            Value::Nil => out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
            Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Integer(i) => self.number(*i as f64, out)?,
            Value::Number(n) => self.number(*n, out)?,
            Value::String(s) => encode_string(&s.as_bytes(), out),
            Value::Table(t) => {
                if depth + 1 > self.settings.encode_max_depth {
                    return Err(err(format!(
                        "Cannot serialise, excessive nesting ({})",
                        depth + 1
                    )));
                }
                self.table(t, out, depth + 1)?;
            }
            other => {
                return Err(err(format!(
                    "Cannot serialise {}: type not supported",
                    other.type_name()
                )));
            }
        }
        if out.len() > self.limit {
            return Err(err(heka_pipeline::sandbox::LimitExceeded::Output(
                self.limit,
            )
            .to_string()));
        }
        Ok(())
    }

    /// lua-cjson's `lua_array_length`: the array length, or `None` for an object
    /// (not all keys positive integers, empty, or excessively sparse with
    /// `encode_sparse_array(true)`).
    fn array_length(&self, t: &Table) -> mlua::Result<Option<usize>> {
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
        let s = &self.settings;
        if s.sparse_ratio > 0 && max > items.saturating_mul(s.sparse_ratio) && max > s.sparse_safe {
            if s.sparse_convert {
                return Ok(None);
            }
            return Err(err("Cannot serialise table: excessively sparse array"));
        }
        Ok(if items == 0 { None } else { Some(max) })
    }

    fn table(&self, t: &Table, out: &mut Vec<u8>, depth: usize) -> mlua::Result<()> {
        if let Some(len) = self.array_length(t)? {
            out.push(b'[');
            for i in 1..=len {
                if i > 1 {
                    out.push(b',');
                }
                self.value(&t.raw_get::<Value>(i)?, out, depth)?;
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
                Value::Integer(_) | Value::Number(_) => {
                    let n = if let Value::Integer(i) = k {
                        i as f64
                    } else {
                        k.as_f64().unwrap_or(0.0)
                    };
                    out.push(b'"');
                    self.number(n, out)?;
                    out.push(b'"');
                }
                _ => {
                    return Err(err(
                        "Cannot serialise table: table key must be a number or string",
                    ));
                }
            }
            out.push(b':');
            self.value(&v, out, depth)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// A JSON string as lua-cjson writes it: unlike `heka_message::json_text` (every
/// JSON body hekad writes) it escapes `/` as `\/` and DEL as `\u007f`, so that a
/// script's `cjson.encode` output is byte for byte what Heka's sandbox gave.
pub(crate) fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    // Runs of bytes that stay as they are are copied whole (a JSON body of log lines
    // is mostly such runs), each escape between them written on its own.
    let mut run = 0;
    for (i, &c) in s.iter().enumerate() {
        if !ESCAPED[usize::from(c)] {
            continue;
        }
        out.extend_from_slice(&s[run..i]);
        run = i + 1;
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&s[run..]);
    out.push(b'"');
}

/// The bytes [`encode_string`] escapes: controls, DEL, the quote, the backslash and `/`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        table[c] = true;
        c += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[b'/' as usize] = true;
    table[0x7f] = true;
    table
};

#[cfg(test)]
mod tests {
    use super::encode_string;

    #[test]
    fn strings_escape_like_lua_cjson() {
        let mut out = Vec::new();
        encode_string(b"a/b\"c\\\n\x01\x7f\xc3\xa9", &mut out);
        assert_eq!(out, b"\"a\\/b\\\"c\\\\\\n\\u0001\\u007f\xc3\xa9\"");
    }

    /// Every byte alone and between plain bytes: lua-cjson's escape of each (its
    /// `char2escape` table), runs copied as they are.
    #[test]
    fn every_byte_escapes_as_lua_cjson_does() {
        for b in 0..=255u8 {
            let want: Vec<u8> = match b {
                b'"' => b"\\\"".to_vec(),
                b'\\' => b"\\\\".to_vec(),
                b'/' => b"\\/".to_vec(),
                b'\n' => b"\\n".to_vec(),
                b'\r' => b"\\r".to_vec(),
                b'\t' => b"\\t".to_vec(),
                0x08 => b"\\b".to_vec(),
                0x0c => b"\\f".to_vec(),
                c if c < 0x20 || c == 0x7f => format!("\\u{c:04x}").into_bytes(),
                c => vec![c],
            };
            let mut out = Vec::new();
            encode_string(&[b'a', b, b'z', b'z'], &mut out);
            let mut expected = b"\"a".to_vec();
            expected.extend_from_slice(&want);
            expected.extend_from_slice(b"zz\"");
            assert_eq!(out, expected, "byte {b:#04x}");
        }
    }
}
