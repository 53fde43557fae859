//! Captures in Lua: the host that runs match-time captures (`Cmt`, `lpeg.P(function)`)
//! during a match, and the evaluation of the capture list into Lua values after it,
//! with LPeg's rules for each kind (what a group, fold, table or substitution yields,
//! when the whole match stands in for missing values, and the errors).
//!
//! The list is flat (see [`crate::vm::Capture`]); evaluation walks it recursively, one
//! level per nested capture, bounded by [`MAX_NESTING`]. The captures that build text
//! (`Cs`, `patt / string`) are in [`text`]. Matches whose captures are all of the
//! kinds [`raw`] handles are evaluated there instead, straight on the Lua stack.

pub(crate) mod raw;
mod text;

use mlua::{Lua, MultiValue, Table, Value};

use super::{StepHook, lerr};
use crate::compile::Program;
use crate::tree::CapKind;
use crate::vm::{Capture, Host, NO_KEY, Runtime, Tag};

/// Deepest capture nesting evaluated ("subcapture nesting too deep" beyond).
pub const MAX_NESTING: u32 = 400;
/// LPeg's limit on the captures a string capture (`patt / "%1"`) can refer to.
const MAX_STR_CAPS: usize = 10;

fn rt(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(msg.into())
}

/// The match host for Lua.
pub(crate) struct LuaHost<'a> {
    lua: &'a Lua,
    subject: &'a [u8],
    /// The subject as the script passed it, handed to match-time functions as it is
    /// (not copied into a new string per call).
    subject_value: &'a mlua::LuaString,
    extra: &'a [Value],
}

impl<'a> LuaHost<'a> {
    pub(crate) fn new(
        lua: &'a Lua,
        subject: &'a [u8],
        subject_value: &'a mlua::LuaString,
        extra: &'a [Value],
    ) -> Self {
        LuaHost {
            lua,
            subject,
            subject_value,
            extra,
        }
    }
}

impl Host<Value> for LuaHost<'_> {
    type Value = Value;
    type Error = mlua::Error;

    fn runtime(
        &mut self,
        prog: &Program<Value>,
        caps: &[Capture],
        open: usize,
        pos: usize,
        values: &[Value],
    ) -> mlua::Result<Runtime<Value>> {
        let Some(Value::Function(f)) = key_of(prog, caps[open].key) else {
            return Err(rt("match-time capture without a function"));
        };
        let mut ev = Eval {
            lua: self.lua,
            prog,
            subject: self.subject,
            caps,
            values,
            extra: self.extra,
            depth: 0,
            // Only the captures nested in this one (everything after `open`): pairing
            // the whole list at every match-time capture made a pattern with many of
            // them quadratic, outside the instruction budget.
            close: closes(caps, open + 1),
            base: open + 1,
        };
        let mut args = vec![
            Value::String(self.subject_value.clone()),
            Value::Integer(pos as i64 + 1),
        ];
        let start = caps[open].pos;
        let before = args.len();
        let mut k = open + 1;
        while k < caps.len() {
            k = ev.push(k, &mut args)?;
        }
        if args.len() == before {
            args.push(ev.substring(start, pos)?);
        }
        let mut out = f.call::<MultiValue>(MultiValue::from_vec(args))?.into_vec();
        if out.is_empty() {
            return Ok(Runtime::Fail);
        }
        let first = out.remove(0);
        let at = match first {
            Value::Nil | Value::Boolean(false) => return Ok(Runtime::Fail),
            Value::Boolean(true) => pos,
            v => match super::num(&v) {
                Some(n) if n >= pos as f64 + 1.0 && n <= self.subject.len() as f64 + 1.0 => {
                    n as usize - 1
                }
                _ => return Err(lerr(crate::Error::InvalidPosition)),
            },
        };
        Ok(Runtime::Continue(at, out))
    }

    fn charge(&mut self, steps: u64) -> mlua::Result<()> {
        match self.lua.app_data_ref::<StepHook>() {
            Some(h) => (h.0)(self.lua, steps),
            None => Ok(()),
        }
    }
}

fn key_of(prog: &Program<Value>, key: u32) -> Option<&Value> {
    if key == NO_KEY {
        return None;
    }
    prog.keys.get(key as usize).and_then(|(v, _)| v.as_ref())
}

/// Evaluates the top-level captures of a successful match.
pub(crate) fn evaluate(
    lua: &Lua,
    prog: &Program<Value>,
    subject: &[u8],
    _s: &mlua::LuaString,
    caps: &[Capture],
    values: &[Value],
    extra: &[Value],
) -> mlua::Result<Vec<Value>> {
    let mut ev = Eval {
        lua,
        prog,
        subject,
        caps,
        values,
        extra,
        depth: 0,
        close: closes(caps, 0),
        base: 0,
    };
    let mut out = Vec::new();
    let mut k = 0;
    while k < caps.len() {
        k = ev.push(k, &mut out)?;
    }
    Ok(out)
}

struct Eval<'a> {
    lua: &'a Lua,
    prog: &'a Program<Value>,
    subject: &'a [u8],
    caps: &'a [Capture],
    values: &'a [Value],
    extra: &'a [Value],
    depth: u32,
    /// For each `Open` entry from `base` on, `close[k - base]` is the index of its
    /// `Close` (`caps.len()` while still open); entries before `base` (a back capture
    /// looking behind a match-time capture) are paired on demand ([`Eval::close_of`]).
    close: Vec<u32>,
    base: usize,
}

/// Pairs each open capture with its close, in one pass.
/// For each `Open` entry of `caps[base..]`, the index (in `caps`) of its `Close`,
/// `caps.len()` while still open; indexed from `base`.
fn closes(caps: &[Capture], base: usize) -> Vec<u32> {
    let tail = caps.get(base..).unwrap_or_default();
    let mut close = vec![caps.len() as u32; tail.len()];
    let mut open = Vec::new();
    for (k, c) in tail.iter().enumerate() {
        match c.tag {
            Tag::Open => open.push(k),
            Tag::Close => {
                if let Some(o) = open.pop() {
                    close[o] = (base + k) as u32;
                }
            }
            Tag::Full => {}
        }
    }
    close
}

/// Lua's raw equality, for group names.
fn raw_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.as_bytes() == y.as_bytes(),
        (Value::Nil, Value::Nil) => true,
        (Value::Boolean(x), Value::Boolean(y)) => x == y,
        (x, y) if super::num(x).is_some() && super::num(y).is_some() => {
            super::num(x) == super::num(y)
        }
        (x, y) => !x.to_pointer().is_null() && x.to_pointer() == y.to_pointer(),
    }
}

impl<'a> Eval<'a> {
    fn substring(&self, s: usize, e: usize) -> mlua::Result<Value> {
        Ok(Value::String(
            self.lua.create_string(&self.subject[s..e.max(s)])?,
        ))
    }

    fn key(&self, i: usize) -> Option<&'a Value> {
        key_of(self.prog, self.caps[i].key)
    }

    fn num(&self, i: usize) -> u32 {
        self.prog
            .keys
            .get(self.caps[i].key as usize)
            .map_or(0, |(_, n)| *n)
    }

    /// (match start, match end, index just after the capture and its nested ones).
    /// The index of the `Close` of the `Open` entry `i` (`caps.len()` while open):
    /// from the table, or, before `base`, by scanning forward as C LPeg does (only a
    /// back capture reaching behind a match-time capture gets there).
    fn close_of(&self, i: usize) -> usize {
        if let Some(k) = i.checked_sub(self.base) {
            return self.close.get(k).map_or(self.caps.len(), |&j| j as usize);
        }
        let mut depth = 0usize;
        for (k, c) in self.caps.iter().enumerate().skip(i) {
            match c.tag {
                Tag::Open => depth += 1,
                Tag::Close => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return k;
                    }
                }
                Tag::Full => {}
            }
        }
        self.caps.len()
    }

    fn extent(&self, i: usize) -> (usize, usize, usize) {
        let c = self.caps[i];
        if c.tag == Tag::Full {
            return (c.pos, c.pos + c.len, i + 1);
        }
        match self.close_of(i) {
            j if j < self.caps.len() => (c.pos, self.caps[j].pos, j + 1),
            _ => (c.pos, c.pos, self.caps.len()),
        }
    }

    /// Pushes the values of the captures nested in capture `i`; with `whole`, the
    /// matched text when they yield none. Returns the index after capture `i`.
    fn nested(&mut self, i: usize, out: &mut Vec<Value>, whole: bool) -> mlua::Result<usize> {
        let (s, e, next) = self.extent(i);
        let before = out.len();
        if self.caps[i].tag == Tag::Open {
            let mut k = i + 1;
            while k + 1 < next {
                k = self.push(k, out)?;
            }
        }
        if whole && out.len() == before {
            out.push(self.substring(s, e)?);
        }
        Ok(next)
    }

    /// The first value of the captures nested in `i` (or the matched text); `scratch`
    /// is borrowed for the others and left as it was.
    fn first_nested(&mut self, i: usize, scratch: &mut Vec<Value>) -> mlua::Result<(Value, usize)> {
        let before = scratch.len();
        let next = self.nested(i, scratch, true)?;
        // Moved out, not cloned: cloning a Lua value takes a new reference slot.
        let v = if scratch.len() > before {
            scratch.swap_remove(before)
        } else {
            Value::Nil
        };
        scratch.truncate(before);
        Ok((v, next))
    }

    /// Pushes the values of capture `i`; returns the index after it.
    pub(crate) fn push(&mut self, i: usize, out: &mut Vec<Value>) -> mlua::Result<usize> {
        if self.depth >= MAX_NESTING {
            return Err(rt("subcapture nesting too deep"));
        }
        self.depth += 1;
        let r = self.push_inner(i, out);
        self.depth -= 1;
        r
    }

    /// One `match` arm per capture kind (as `pushcapture` in LPeg's `lpcap.c`): over
    /// the project's ~80 lines on purpose, so that a capture's value is built in one
    /// place per kind.
    fn push_inner(&mut self, i: usize, out: &mut Vec<Value>) -> mlua::Result<usize> {
        let c = self.caps[i];
        match c.kind {
            CapKind::Position => {
                out.push(Value::Integer(c.pos as i64 + 1));
                Ok(self.extent(i).2)
            }
            CapKind::Const => {
                out.push(self.key(i).cloned().unwrap_or(Value::Nil));
                Ok(self.extent(i).2)
            }
            CapKind::Runtime => {
                out.push(
                    self.values
                        .get(c.key as usize)
                        .cloned()
                        .unwrap_or(Value::Nil),
                );
                Ok(i + 1)
            }
            CapKind::Arg => {
                let n = self.num(i) as usize;
                let v = self
                    .extra
                    .get(n - 1)
                    .ok_or_else(|| rt(format!("reference to absent extra argument #{n}")))?;
                out.push(v.clone());
                Ok(self.extent(i).2)
            }
            CapKind::Simple => {
                let (s, e, _) = self.extent(i);
                out.push(self.substring(s, e)?);
                self.nested(i, out, false)
            }
            CapKind::Group => match self.key(i) {
                Some(_) => Ok(self.extent(i).2),
                None => self.nested(i, out, true),
            },
            CapKind::Backref => {
                let name = self.key(i).cloned().unwrap_or(Value::Nil);
                let g = self.find_group(i, &name)?;
                self.nested(g, out, true)?;
                Ok(self.extent(i).2)
            }
            CapKind::Table => self.table(i, out),
            CapKind::Subst => {
                let mut buf = Vec::new();
                let next = self.subst(i, &mut buf)?;
                out.push(Value::String(self.lua.create_string(&buf)?));
                Ok(next)
            }
            CapKind::String => {
                let mut buf = Vec::new();
                let next = self.string_cap(i, &mut buf)?;
                out.push(Value::String(self.lua.create_string(&buf)?));
                Ok(next)
            }
            CapKind::Num if self.num(i) == 0 => Ok(self.extent(i).2),
            CapKind::Num => {
                let n = self.num(i) as usize;
                let mut v = Vec::new();
                let next = self.nested(i, &mut v, true)?;
                if n > 0 {
                    let x = v
                        .into_iter()
                        .nth(n - 1)
                        .ok_or_else(|| rt(format!("no capture '{n}'")))?;
                    out.push(x);
                }
                Ok(next)
            }
            CapKind::Query => {
                let (k, next) = self.first_nested(i, out)?;
                if let Some(Value::Table(t)) = self.key(i) {
                    let v: Value = t.get(k)?;
                    if !v.is_nil() {
                        out.push(v);
                    }
                }
                Ok(next)
            }
            CapKind::Function => {
                let mut args = Vec::new();
                let next = self.nested(i, &mut args, true)?;
                out.extend(self.call(i, args)?);
                Ok(next)
            }
            CapKind::Fold => self.fold(i, out),
            CapKind::Accum => {
                let acc = out
                    .pop()
                    .ok_or_else(|| rt("no previous value for accumulator capture"))?;
                let mut args = vec![acc];
                let next = self.nested(i, &mut args, true)?;
                out.push(self.call(i, args)?.into_iter().next().unwrap_or(Value::Nil));
                Ok(next)
            }
        }
    }

    fn call(&self, i: usize, args: Vec<Value>) -> mlua::Result<Vec<Value>> {
        match self.key(i) {
            Some(Value::Function(f)) => {
                Ok(f.call::<MultiValue>(MultiValue::from_vec(args))?.into_vec())
            }
            _ => Err(rt("capture function expected")),
        }
    }

    fn fold(&mut self, i: usize, out: &mut Vec<Value>) -> mlua::Result<usize> {
        let (_, _, next) = self.extent(i);
        let mut k = i + 1;
        if self.caps[i].tag != Tag::Open || k + 1 >= next {
            return Err(rt("no initial value for fold capture"));
        }
        let mut first = Vec::new();
        k = self.push(k, &mut first)?;
        let mut acc = first
            .into_iter()
            .next()
            .ok_or_else(|| rt("no initial value for fold capture"))?;
        while k + 1 < next {
            let mut args = vec![acc];
            k = self.push(k, &mut args)?;
            acc = self.call(i, args)?.into_iter().next().unwrap_or(Value::Nil);
        }
        out.push(acc);
        Ok(next)
    }

    /// `Ct`: positional values in order, named groups under their names, each stored
    /// as it is evaluated (as LPeg does). Plain text (a simple capture or a named group
    /// without nested captures) goes straight from the subject into the table, without
    /// an intermediate Lua value.
    fn table(&mut self, i: usize, out: &mut Vec<Value>) -> mlua::Result<usize> {
        let (_, _, next) = self.extent(i);
        let (mut npos, mut nnamed) = (0usize, 0usize);
        let mut k = i + 1;
        while self.caps[i].tag == Tag::Open && k + 1 < next {
            match (self.caps[k].kind, self.key(k)) {
                (CapKind::Group, Some(_)) => nnamed += 1,
                // An accumulator folds into the previous value: evaluate it the slow way.
                (CapKind::Accum, _) => return self.table_via_values(i, out),
                _ => npos += 1,
            }
            k = self.extent(k).2;
        }
        let t: Table = self.lua.create_table_with_capacity(npos, nnamed)?;
        let mut idx = 0usize;
        let mut k = i + 1;
        while self.caps[i].tag == Tag::Open && k + 1 < next {
            let c = self.caps[k];
            match (c.kind, self.key(k)) {
                (CapKind::Group, Some(name)) if c.tag == Tag::Full => {
                    self.set_text(&t, name, c.pos, c.pos + c.len)?;
                    k += 1;
                }
                (CapKind::Group, Some(name)) => {
                    let (v, n) = self.first_nested(k, out)?;
                    t.raw_set(name, v)?;
                    k = n;
                }
                (CapKind::Simple, _) if c.tag == Tag::Full => {
                    idx += 1;
                    self.set_text(&t, idx, c.pos, c.pos + c.len)?;
                    k += 1;
                }
                _ => {
                    let base = out.len();
                    k = self.push(k, out)?;
                    for v in out.drain(base..) {
                        idx += 1;
                        t.raw_set(idx, v)?;
                    }
                }
            }
        }
        out.push(Value::Table(t));
        Ok(next)
    }

    /// Stores subject bytes `s..e` in `t` (UTF-8 text is pushed directly by mlua,
    /// other bytes through a Lua string value).
    fn set_text(&self, t: &Table, key: impl mlua::IntoLua, s: usize, e: usize) -> mlua::Result<()> {
        let bytes = &self.subject[s..e.max(s)];
        match std::str::from_utf8(bytes) {
            Ok(text) => t.raw_set(key, text),
            Err(_) => t.raw_set(key, self.lua.create_string(bytes)?),
        }
    }

    /// `Ct` with every value made first (needed when an accumulator folds into the
    /// value before it).
    fn table_via_values(&mut self, i: usize, out: &mut Vec<Value>) -> mlua::Result<usize> {
        let (_, _, next) = self.extent(i);
        let t: Table = self.lua.create_table()?;
        let base = out.len();
        let mut idx = 0usize;
        let mut k = i + 1;
        while k + 1 < next {
            match (self.caps[k].kind, self.key(k)) {
                (CapKind::Group, Some(name)) => {
                    let (v, n) = self.first_nested(k, out)?;
                    t.raw_set(name, v)?;
                    k = n;
                }
                _ => k = self.push(k, out)?,
            }
        }
        for v in out.drain(base..) {
            idx += 1;
            t.raw_set(idx, v)?;
        }
        out.push(Value::Table(t));
        Ok(next)
    }

    /// The most recent complete, outermost group named `name` before capture `i`.
    fn find_group(&self, i: usize, name: &Value) -> mlua::Result<usize> {
        let mut k = i;
        while k > 0 {
            k -= 1;
            match self.caps[k].tag {
                Tag::Open => continue,
                Tag::Close => {
                    let mut depth = 0usize;
                    while k > 0 {
                        k -= 1;
                        match self.caps[k].tag {
                            Tag::Close => depth += 1,
                            Tag::Open if depth == 0 => break,
                            Tag::Open => depth -= 1,
                            Tag::Full => {}
                        }
                    }
                }
                Tag::Full => {}
            }
            if self.caps[k].kind == CapKind::Group
                && let Some(n) = self.key(k)
                && raw_eq(n, name)
            {
                return Ok(k);
            }
        }
        let shown = match name {
            Value::String(s) => s.to_string_lossy(),
            v => format!("{v:?}"),
        };
        Err(rt(format!("back reference '{shown}' not found")))
    }
}
