//! Capture evaluation straight on the Lua stack, as C LPeg's `lpcap.c` does, instead of
//! through mlua [`Value`]s (each of which takes a reference slot and a lock).
//!
//! Soundness rests on [`Lua::exec_raw`]: its callback runs inside `lua_pcall` (mlua's
//! `protect_lua_closure`), so a Lua error raised here (an allocation failure under the
//! memory limit, an error in a capture function, the instruction limit) longjmps to that
//! `pcall` and comes back as an [`mlua::Error`], the same one the [`Value`] path gets.
//! A longjmp skips the Rust frames in between, so those frames own nothing with a
//! destructor: [`Raw`] holds only references and integers, the capture list and the
//! close table are built before the call, and an error of our own is written to a slot
//! the caller owns, after which the evaluation returns without calling Lua again.
//! Every push is preceded by `lua_checkstack`. Nothing here panics on input (indices come
//! from the VM's capture list and are checked where a script chooses them).
//!
//! Accumulators (LPeg 1.1's `%`, which fold into the value before them) and more than
//! [`MAX_ARGS`] values to pass in make [`supported`] false, and the whole match is
//! evaluated by the [`Value`] path in the parent module. The captures that build text are in [`text`].

mod text;

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};
use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value};

use super::{MAX_NESTING, MAX_STR_CAPS, closes, rt};
use crate::compile::Program;
use crate::tree::CapKind;
use crate::vm::{Capture, NO_KEY, Tag};

/// Most values (extra arguments of `match` plus values of match-time captures) passed
/// to the raw evaluation as arguments on the Lua stack; beyond, the [`Value`] path
/// (which keeps them in a `Vec`) evaluates the match.
const MAX_ARGS: usize = 200;

/// Whether the match can be evaluated on the raw stack: no accumulator, and few enough
/// extra arguments and match-time values to pass on the stack.
pub(crate) fn supported(caps: &[Capture], values: &[Value], extra: &[Value]) -> bool {
    values.len() + extra.len() <= MAX_ARGS && caps.iter().all(|c| c.kind != CapKind::Accum)
}

/// Below this many evaluated capture entries, the [`Value`] path is cheaper: `exec_raw`
/// costs a `pcall` and two C closures per call, more than a few reference slots.
const RAW_MIN: usize = 4;

/// Whether evaluating on the raw stack pays: a table capture is evaluated, or the
/// entries evaluated (not under a `/ 0` or a named group outside a table, which yield
/// nothing) number at least [`RAW_MIN`]. Walks the list once, without allocating.
pub(crate) fn worthwhile(prog: &Program<Value>, caps: &[Capture]) -> bool {
    let (mut k, mut evaluated) = (0, 0);
    while k < caps.len() && evaluated < RAW_MIN {
        let c = caps[k];
        let arg = prog.keys.get(c.key as usize);
        let silent = match c.kind {
            CapKind::Num => arg.is_some_and(|(_, n)| *n == 0),
            CapKind::Group => arg.is_some_and(|(v, _)| v.is_some()),
            _ => false,
        };
        if c.kind == CapKind::Table {
            return true;
        }
        if !silent {
            evaluated += 1;
            k += 1;
            continue;
        }
        // Skip the capture and everything nested in it.
        k += 1;
        if c.tag == Tag::Open {
            let mut depth = 1usize;
            while k < caps.len() && depth > 0 {
                match caps[k].tag {
                    Tag::Open => depth += 1,
                    Tag::Close => depth -= 1,
                    Tag::Full => {}
                }
                k += 1;
            }
        }
    }
    evaluated >= RAW_MIN
}

/// The Lua table holding a program's capture arguments: `keys[i + 1]` is `prog.keys[i]`'s
/// value (absent for none). Built once per pattern and passed to each evaluation.
pub(crate) fn keys_table(lua: &Lua, prog: &Program<Value>) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(prog.keys.len(), 0)?;
    for (i, (v, _)) in prog.keys.iter().enumerate() {
        if let Some(v) = v {
            t.raw_set(i + 1, v)?;
        }
    }
    Ok(t)
}

/// Evaluates the top-level captures of a successful match into Lua values.
pub(crate) fn evaluate(
    lua: &Lua,
    prog: &Program<Value>,
    keys: &Table,
    subject: &[u8],
    caps: &[Capture],
    values: &[Value],
    extra: &[Value],
) -> mlua::Result<MultiValue> {
    let close = closes(caps, 0);
    let mut err = None;
    let mut buf = Vec::new();
    let shape = Shape {
        prog,
        subject,
        caps,
        close: &close,
        nextra: extra.len() as c_int,
        nvalues: values.len() as c_int,
    };
    let out = if extra.is_empty() && values.is_empty() {
        run(lua, keys, &shape, &mut err, &mut buf)
    } else {
        let mut args = Vec::with_capacity(1 + extra.len() + values.len());
        args.push(Value::Table(keys.clone()));
        args.extend(extra.iter().cloned());
        args.extend(values.iter().cloned());
        run(lua, MultiValue::from_vec(args), &shape, &mut err, &mut buf)
    };
    match err {
        Some(e) => Err(e),
        None => out,
    }
}

/// What an evaluation reads (all borrowed, nothing to drop).
struct Shape<'a> {
    prog: &'a Program<Value>,
    subject: &'a [u8],
    caps: &'a [Capture],
    close: &'a [u32],
    nextra: c_int,
    nvalues: c_int,
}

/// Runs the evaluation under `exec_raw`. The arguments are the keys table (stack slot 1),
/// then the extra arguments of `match`, then the match-time capture values; they are
/// removed at the end, leaving the capture values as the results.
fn run(
    lua: &Lua,
    args: impl IntoLuaMulti,
    shape: &Shape,
    err: &mut Option<mlua::Error>,
    buf: &mut Vec<u8>,
) -> mlua::Result<MultiValue> {
    // SAFETY: see the module documentation. The callback owns nothing with a destructor
    // (`Raw` is references and integers), checks the stack before each push, and
    // leaves only the capture values on the stack.
    unsafe {
        lua.exec_raw::<MultiValue>(args, |state| {
            let nargs = 1 + shape.nextra + shape.nvalues;
            let mut ev = Raw {
                state,
                shape,
                depth: 0,
                err,
                buf,
            };
            let mut k = 0;
            while k < shape.caps.len() {
                match ev.push(k) {
                    Ok((next, _)) => k = next,
                    Err(Stop) => {
                        ffi::lua_settop(state, 0);
                        return;
                    }
                }
            }
            for _ in 0..nargs {
                ffi::lua_remove(state, 1);
            }
        })
    }
}

/// An evaluation error, already written to the caller's slot.
struct Stop;

/// (index after the capture, number of values pushed).
type Pushed = Result<(usize, c_int), Stop>;

/// Stack slot of the keys table.
const KEYS: c_int = 1;

struct Raw<'a, 'e> {
    state: *mut lua_State,
    shape: &'a Shape<'a>,
    depth: u32,
    err: &'e mut Option<mlua::Error>,
    /// Text of the `Cs` and `/ string` captures being built (owned by the caller).
    buf: &'e mut Vec<u8>,
}

impl Raw<'_, '_> {
    fn fail(&mut self, msg: String) -> Stop {
        *self.err = Some(rt(msg));
        Stop
    }

    /// Room for `n` more values (LPeg's `luaL_checkstack(L, 4, "too many captures")`, in its words).
    unsafe fn room(&mut self, n: c_int) -> Result<(), Stop> {
        if unsafe { ffi::lua_checkstack(self.state, n) } == 0 {
            return Err(self.fail("stack overflow (too many captures)".into()));
        }
        Ok(())
    }

    fn cap(&self, i: usize) -> Capture {
        self.shape.caps[i]
    }

    fn num(&self, i: usize) -> u32 {
        let keys = &self.shape.prog.keys;
        keys.get(self.cap(i).key as usize).map_or(0, |(_, n)| *n)
    }

    /// (match start, match end, index just after the capture and its nested ones).
    fn extent(&self, i: usize) -> (usize, usize, usize) {
        let c = self.cap(i);
        if c.tag == Tag::Full {
            return (c.pos, c.pos + c.len, i + 1);
        }
        match self.shape.close[i] as usize {
            j if j < self.shape.caps.len() => (c.pos, self.shape.caps[j].pos, j + 1),
            _ => (c.pos, c.pos, self.shape.caps.len()),
        }
    }

    /// Capture `i`'s argument as a Rust value (for error messages).
    fn key_value(&self, i: usize) -> Option<&Value> {
        let keys = &self.shape.prog.keys;
        keys.get(self.cap(i).key as usize)
            .and_then(|(v, _)| v.as_ref())
    }

    /// Whether capture `i` has an argument (a group's name).
    fn named(&self, i: usize) -> bool {
        let keys = &self.shape.prog.keys;
        keys.get(self.cap(i).key as usize)
            .is_some_and(|(v, _)| v.is_some())
    }

    /// Pushes capture `i`'s argument (nil for none).
    unsafe fn push_key(&mut self, i: usize) {
        let key = self.cap(i).key;
        unsafe {
            if key == NO_KEY {
                ffi::lua_pushnil(self.state);
            } else {
                ffi::lua_rawgeti_(self.state, KEYS, key as c_int + 1);
            }
        }
    }

    unsafe fn push_text(&mut self, s: usize, e: usize) {
        let bytes = self.shape.subject.get(s..e.max(s)).unwrap_or_default();
        unsafe { ffi::lua_pushlstring(self.state, bytes.as_ptr().cast(), bytes.len()) };
    }

    /// Pushes the values of the captures nested in `i`; with `whole`, the matched text
    /// when they yield none.
    unsafe fn nested(&mut self, i: usize, whole: bool) -> Pushed {
        let (s, e, next) = self.extent(i);
        let mut n = 0;
        if self.cap(i).tag == Tag::Open {
            let mut k = i + 1;
            while k + 1 < next {
                let (after, m) = unsafe { self.push(k)? };
                k = after;
                n += m;
            }
        }
        if whole && n == 0 {
            unsafe {
                self.room(1)?;
                self.push_text(s, e);
            }
            n = 1;
        }
        Ok((next, n))
    }

    /// Pushes the first value nested in `i` (or the matched text).
    unsafe fn first_nested(&mut self, i: usize) -> Result<usize, Stop> {
        let (next, n) = unsafe { self.nested(i, true)? };
        unsafe { ffi::lua_pop(self.state, n - 1) };
        Ok(next)
    }

    /// Pushes the values of capture `i`.
    unsafe fn push(&mut self, i: usize) -> Pushed {
        if self.depth >= MAX_NESTING {
            return Err(self.fail("subcapture nesting too deep".into()));
        }
        unsafe { self.room(4)? };
        self.depth += 1;
        let r = unsafe { self.push_inner(i) };
        self.depth -= 1;
        r
    }

    unsafe fn push_inner(&mut self, i: usize) -> Pushed {
        let c = self.cap(i);
        let state = self.state;
        unsafe {
            match c.kind {
                CapKind::Position => {
                    ffi::lua_pushinteger(state, c.pos as ffi::lua_Integer + 1);
                    Ok((self.extent(i).2, 1))
                }
                CapKind::Const => {
                    self.push_key(i);
                    Ok((self.extent(i).2, 1))
                }
                CapKind::Runtime => {
                    if (c.key as c_int) < self.shape.nvalues {
                        ffi::lua_pushvalue(state, 2 + self.shape.nextra + c.key as c_int);
                    } else {
                        ffi::lua_pushnil(state);
                    }
                    Ok((i + 1, 1))
                }
                CapKind::Arg => {
                    let n = self.num(i) as c_int;
                    if n < 1 || n > self.shape.nextra {
                        return Err(self.fail(format!("reference to absent extra argument #{n}")));
                    }
                    ffi::lua_pushvalue(state, 1 + n);
                    Ok((self.extent(i).2, 1))
                }
                CapKind::Simple => {
                    let (s, e, _) = self.extent(i);
                    self.push_text(s, e);
                    let (next, n) = self.nested(i, false)?;
                    Ok((next, n + 1))
                }
                CapKind::Group if self.named(i) => Ok((self.extent(i).2, 0)),
                CapKind::Group => self.nested(i, true),
                CapKind::Table => self.table(i),
                CapKind::Num if self.num(i) == 0 => Ok((self.extent(i).2, 0)),
                CapKind::Num => self.select(i),
                CapKind::Query => self.query(i),
                CapKind::Function => self.function(i),
                CapKind::Fold => self.fold(i),
                CapKind::Subst | CapKind::String => self.text(i),
                CapKind::Backref => self.backref(i),
                CapKind::Accum => Err(self.fail("capture not evaluated on the raw stack".into())),
            }
        }
    }

    /// `patt / n`: the n-th nested value.
    unsafe fn select(&mut self, i: usize) -> Pushed {
        let want = self.num(i) as c_int;
        let (next, n) = unsafe { self.nested(i, true)? };
        if want > n {
            return Err(self.fail(format!("no capture '{want}'")));
        }
        unsafe {
            self.room(1)?;
            let base = ffi::lua_gettop(self.state) - n;
            ffi::lua_pushvalue(self.state, base + want);
            ffi::lua_replace(self.state, base + 1);
            ffi::lua_settop(self.state, base + 1);
        }
        Ok((next, 1))
    }

    /// `patt / table`: the table indexed (with metamethods) by the first nested value;
    /// no value when that is nil.
    unsafe fn query(&mut self, i: usize) -> Pushed {
        let state = self.state;
        unsafe {
            self.push_key(i);
            let next = self.first_nested(i)?;
            if ffi::lua_type(state, -2) != ffi::LUA_TTABLE {
                ffi::lua_pop(state, 2);
                return Ok((next, 0));
            }
            ffi::lua_gettable(state, -2);
            if ffi::lua_isnil(state, -1) != 0 {
                ffi::lua_pop(state, 2);
                return Ok((next, 0));
            }
            ffi::lua_replace(state, -2);
            Ok((next, 1))
        }
    }

    /// `patt / function`: the function's results for the nested values.
    unsafe fn function(&mut self, i: usize) -> Pushed {
        let state = self.state;
        unsafe {
            let base = ffi::lua_gettop(state);
            self.push_key(i);
            let (next, n) = self.nested(i, true)?;
            if ffi::lua_type(state, base + 1) != ffi::LUA_TFUNCTION {
                return Err(self.fail("capture function expected".into()));
            }
            ffi::lua_call(state, n, ffi::LUA_MULTRET);
            Ok((next, ffi::lua_gettop(state) - base))
        }
    }

    /// `lpeg.Cf`: folds the values of the nested captures with the function.
    unsafe fn fold(&mut self, i: usize) -> Pushed {
        let (_, _, next) = self.extent(i);
        let state = self.state;
        let mut k = i + 1;
        if self.cap(i).tag != Tag::Open || k + 1 >= next {
            return Err(self.fail("no initial value for fold capture".into()));
        }
        unsafe {
            let base = ffi::lua_gettop(state);
            self.push_key(i);
            let (after, n) = self.push(k)?;
            if n == 0 {
                return Err(self.fail("no initial value for fold capture".into()));
            }
            ffi::lua_pop(state, n - 1);
            k = after;
            while k + 1 < next {
                if ffi::lua_type(state, base + 1) != ffi::LUA_TFUNCTION {
                    return Err(self.fail("capture function expected".into()));
                }
                self.room(2)?;
                ffi::lua_pushvalue(state, base + 1);
                ffi::lua_insert(state, -2);
                let (after, n) = self.push(k)?;
                k = after;
                ffi::lua_call(state, n + 1, 1);
            }
            ffi::lua_replace(state, base + 1);
        }
        Ok((next, 1))
    }

    /// `lpeg.Ct`: positional values in order, named groups under their names, each
    /// stored as it is evaluated (as LPeg does).
    unsafe fn table(&mut self, i: usize) -> Pushed {
        let (_, _, next) = self.extent(i);
        let open = self.cap(i).tag == Tag::Open;
        let (mut npos, mut nnamed) = (0, 0);
        let mut k = i + 1;
        while open && k + 1 < next {
            match self.cap(k).kind {
                CapKind::Group if self.named(k) => nnamed += 1,
                _ => npos += 1,
            }
            k = self.extent(k).2;
        }
        let state = self.state;
        unsafe {
            ffi::lua_createtable(state, npos, nnamed);
            let t = ffi::lua_gettop(state);
            let mut idx: c_int = 0;
            let mut k = i + 1;
            while open && k + 1 < next {
                if self.cap(k).kind == CapKind::Group && self.named(k) {
                    self.room(2)?;
                    self.push_key(k);
                    k = self.first_nested(k)?;
                    ffi::lua_rawset(state, t);
                } else {
                    let (after, n) = self.push(k)?;
                    k = after;
                    for j in (1..=n).rev() {
                        ffi::lua_rawseti_(state, -(j + 1), idx + j);
                    }
                    idx += n;
                }
            }
        }
        Ok((next, 1))
    }
}
