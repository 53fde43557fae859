//! The raw-stack captures that build text, substitution (`Cs`) and string captures
//! (`patt / "%1..."`), with the rules of the [`Value`](mlua::Value) path's `text` module
//! and LPeg's conversions (a number becomes text as Lua's `tostring` writes it).
//!
//! The text is gathered in a byte buffer that the caller of `exec_raw` owns, so a
//! longjmp leaves nothing to drop here; nested text captures append to it and only the
//! outermost one turns its part into a Lua string (and cuts the buffer back). A string
//! capture's format is read from the keys table and stays on the stack while in use.

use std::ffi::{CStr, c_int};

use mlua::ffi;

use super::{MAX_STR_CAPS, Pushed, Raw, Stop};
use crate::tree::CapKind;
use crate::vm::Tag;

/// One `%n` of a string capture: subject text, or a capture to evaluate on use.
#[derive(Clone, Copy)]
enum Piece {
    Text(usize, usize),
    Cap(usize),
}

impl Raw<'_, '_> {
    /// Pushes the string a `Cs` or `/ string` capture builds.
    pub(super) unsafe fn text(&mut self, i: usize) -> Pushed {
        let start = self.buf.len();
        let next = unsafe {
            if self.cap(i).kind == CapKind::Subst {
                self.subst(i)?
            } else {
                self.string_cap(i)?
            }
        };
        unsafe { self.room(1)? };
        let state = self.state;
        let part = self.buf.get(start..).unwrap_or_default();
        unsafe { ffi::lua_pushlstring(state, part.as_ptr().cast(), part.len()) };
        self.buf.truncate(start);
        Ok((next, 1))
    }

    fn add_subject(&mut self, s: usize, e: usize) {
        let bytes = self.shape.subject.get(s..e.max(s)).unwrap_or_default();
        self.buf.extend_from_slice(bytes);
    }

    /// Appends capture `i`'s first value as text; returns (index after it, whether it
    /// had a value).
    unsafe fn add_one_string(&mut self, i: usize, what: &str) -> Result<(usize, bool), Stop> {
        unsafe {
            match self.cap(i).kind {
                CapKind::String => return Ok((self.string_cap(i)?, true)),
                CapKind::Subst => return Ok((self.subst(i)?, true)),
                _ => {}
            }
            let state = self.state;
            let base = ffi::lua_gettop(state);
            let (next, n) = self.push(i)?;
            if n == 0 {
                return Ok((next, false));
            }
            let t = ffi::lua_type(state, base + 1);
            if t != ffi::LUA_TSTRING && t != ffi::LUA_TNUMBER {
                let name = CStr::from_ptr(ffi::lua_typename(state, t)).to_string_lossy();
                return Err(self.fail(format!("invalid {what} value (a {name})")));
            }
            let mut len = 0usize;
            // Converts a number in place, as C LPeg's `luaL_addvalue` does.
            let p = ffi::lua_tolstring(state, base + 1, &mut len);
            if !p.is_null() {
                self.buf
                    .extend_from_slice(std::slice::from_raw_parts(p.cast::<u8>(), len));
            }
            ffi::lua_settop(state, base);
            Ok((next, true))
        }
    }

    /// `Cs`: the matched text with each nested capture replaced by its first value.
    unsafe fn subst(&mut self, i: usize) -> Result<usize, Stop> {
        let (s, e, next) = self.extent(i);
        let mut cur = s;
        if self.cap(i).tag == Tag::Open {
            let mut k = i + 1;
            while k + 1 < next {
                let (cs, ce, _) = self.extent(k);
                self.add_subject(cur, cs);
                let (n, had) = unsafe { self.add_one_string(k, "replacement")? };
                cur = if had { ce } else { cs.max(cur) };
                k = n;
            }
        }
        self.add_subject(cur.min(e), e);
        Ok(next)
    }

    /// Collects `%0..%9`: plain simple captures (flattened) as text, others by index.
    fn str_caps(&self, i: usize, list: &mut [Piece; MAX_STR_CAPS], n: &mut usize) -> usize {
        let (s, e, next) = self.extent(i);
        if *n < MAX_STR_CAPS {
            list[*n] = Piece::Text(s, e);
            *n += 1;
        }
        if self.cap(i).tag == Tag::Open {
            let mut k = i + 1;
            while k + 1 < next {
                let after = self.extent(k).2;
                if *n < MAX_STR_CAPS {
                    if self.cap(k).kind == CapKind::Simple {
                        self.str_caps(k, list, n);
                    } else {
                        list[*n] = Piece::Cap(k);
                        *n += 1;
                    }
                }
                k = after;
            }
        }
        next
    }

    /// `patt / string`: the format with `%n` replaced by the n-th value.
    unsafe fn string_cap(&mut self, i: usize) -> Result<usize, Stop> {
        let state = self.state;
        let mut list = [Piece::Text(0, 0); MAX_STR_CAPS];
        let mut count = 0;
        let next = self.str_caps(i, &mut list, &mut count);
        unsafe {
            self.room(1)?;
            self.push_key(i);
            let at = ffi::lua_gettop(state);
            let mut len = 0usize;
            let p = if ffi::lua_type(state, at) == ffi::LUA_TSTRING {
                ffi::lua_tolstring(state, at, &mut len)
            } else {
                std::ptr::null()
            };
            // The format stays at stack slot `at` (nothing below it is popped) until the end.
            let fmt: &[u8] = if p.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(p.cast::<u8>(), len)
            };
            let mut j = 0;
            while j < fmt.len() {
                let ch = fmt[j];
                j += 1;
                if ch != b'%' {
                    self.buf.push(ch);
                    continue;
                }
                // A trailing '%' reads C LPeg's string terminator: a NUL byte.
                let d = fmt.get(j).copied().unwrap_or(0);
                j += 1;
                if !d.is_ascii_digit() {
                    self.buf.push(d);
                    continue;
                }
                let l = (d - b'0') as usize;
                match list.get(l) {
                    Some(Piece::Text(s, e)) if l < count => self.add_subject(*s, *e),
                    Some(Piece::Cap(k)) if l < count => {
                        if !self.add_one_string(*k, "capture")?.1 {
                            return Err(self.fail(format!("no values in capture index {l}")));
                        }
                    }
                    _ => return Err(self.fail(format!("invalid capture index ({l})"))),
                }
            }
            ffi::lua_settop(state, at - 1);
        }
        Ok(next)
    }

    /// `lpeg.Cb`: the values of the most recent complete, outermost group with the same
    /// name (compared with Lua's raw equality) before capture `i`.
    pub(super) unsafe fn backref(&mut self, i: usize) -> Pushed {
        let Some(g) = (unsafe { self.find_group(i)? }) else {
            let name = match self.key_value(i) {
                Some(mlua::Value::String(s)) => s.to_string_lossy(),
                Some(v) => format!("{v:?}"),
                None => format!("{:?}", mlua::Value::Nil),
            };
            return Err(self.fail(format!("back reference '{name}' not found")));
        };
        let (_, n) = unsafe { self.nested(g, true)? };
        Ok((self.extent(i).2, n))
    }

    unsafe fn find_group(&mut self, i: usize) -> Result<Option<usize>, Stop> {
        let state = self.state;
        unsafe { self.room(2)? };
        let mut k = i;
        while k > 0 {
            k -= 1;
            match self.cap(k).tag {
                Tag::Open => continue,
                Tag::Close => {
                    let mut depth = 0usize;
                    while k > 0 {
                        k -= 1;
                        match self.cap(k).tag {
                            Tag::Close => depth += 1,
                            Tag::Open if depth == 0 => break,
                            Tag::Open => depth -= 1,
                            Tag::Full => {}
                        }
                    }
                }
                Tag::Full => {}
            }
            if self.cap(k).kind == CapKind::Group && self.named(k) {
                let same: c_int = unsafe {
                    self.push_key(i);
                    self.push_key(k);
                    let same = ffi::lua_rawequal(state, -1, -2);
                    ffi::lua_pop(state, 2);
                    same
                };
                if same != 0 {
                    return Ok(Some(k));
                }
            }
        }
        Ok(None)
    }
}
