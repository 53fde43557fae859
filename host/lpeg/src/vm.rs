//! The matching machine: runs a [`Program`] over a subject with an explicit backtrack
//! stack (bounded by `setmaxstack`, LPeg's default 400 entries) and records captures
//! on a flat capture list, to be evaluated after a successful match; only match-time
//! captures (`Cmt`) call back into the host during the match.
//!
//! Work is counted: every backward jump, call, choice and failure is a step, and every
//! [`CHARGE_EVERY`] steps the host is charged (the Lua binding turns that into the
//! sandbox's instruction budget), so no pattern can keep the host busy unaccounted.

use crate::Error;
use crate::compile::{Op, Program};
use crate::tree::CapKind;

/// Steps between two charges to the host.
pub const CHARGE_EVERY: u64 = 4096;
/// Most capture entries one match may record (each is 24 bytes: 24 MiB at most).
pub const MAX_CAPTURES: usize = 1 << 20;
/// Room the backtrack stack and the capture list get on their first push: one
/// allocation each for typical log-line grammars instead of one per doubling.
const FIRST_STACK: usize = 32;
const FIRST_CAPS: usize = 64;
/// LPeg's default backtrack stack limit (`lpeg.setmaxstack`).
pub const DEFAULT_MAX_STACK: usize = 400;

/// Whether a capture entry is complete, opens or closes a nested capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// A capture of `len` bytes at `pos`, nothing nested.
    Full,
    /// Opens a capture at `pos`; its nested captures follow up to the matching `Close`.
    Open,
    /// Closes the innermost open capture at `pos`.
    Close,
}

/// One entry of the capture list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capture {
    /// Subject offset where the capture starts (or, for `Close`, ends).
    pub pos: usize,
    /// Length of a `Full` capture.
    pub len: usize,
    /// Which capture.
    pub kind: CapKind,
    /// Index into [`Program::keys`]; for `CapKind::Runtime` entries, into the values
    /// returned by match-time functions; [`NO_KEY`] for none.
    pub key: u32,
    /// Full, open or close.
    pub tag: Tag,
}

/// `key` of a capture without a key entry.
pub const NO_KEY: u32 = u32::MAX;

/// What a match-time capture decided.
pub enum Runtime<V> {
    /// Fail at this point (backtrack).
    Fail,
    /// Go on from this position (not before the current one) with these values.
    Continue(usize, Vec<V>),
}

/// The host of a match: runs match-time captures and pays for the work.
pub trait Host<K> {
    /// Values returned by match-time functions.
    type Value;
    /// The host's error; LPeg's errors convert into it.
    type Error: From<Error>;
    /// Runs the match-time capture opened at `caps[open]` (its nested captures are
    /// `caps[open + 1..]`), ending at `pos`.
    fn runtime(
        &mut self,
        prog: &Program<K>,
        caps: &[Capture],
        open: usize,
        pos: usize,
        values: &[Self::Value],
    ) -> Result<Runtime<Self::Value>, Self::Error>;
    /// Accounts for `steps` units of matching work; an error aborts the match.
    fn charge(&mut self, steps: u64) -> Result<(), Self::Error>;
}

#[derive(Clone, Copy)]
struct Entry {
    /// Subject position to resume at, or [`CALL`] for a return address.
    s: usize,
    p: u32,
    caps: u32,
    values: u32,
}

const CALL: usize = usize::MAX;

/// The outcome of a match, with the captures it recorded.
pub struct Matched<V> {
    /// Offset just past the match.
    pub end: usize,
    /// The capture list.
    pub caps: Vec<Capture>,
    /// Values of match-time captures, referred to by `CapKind::Runtime` entries.
    pub values: Vec<V>,
}

/// Matches `prog` against `subject` from offset `init`.
///
/// One function over the project's ~80-line rule, on purpose: it is the interpreter's
/// dispatch loop, one `match` arm per instruction, as `match` is in LPeg's `lpvm.c`.
/// Each arm is short; splitting arms into functions would put a call (and the
/// machine state's spill) on every instruction of every match.
pub fn run<K, H: Host<K>>(
    prog: &Program<K>,
    subject: &[u8],
    init: usize,
    max_stack: usize,
    host: &mut H,
) -> Result<Option<Matched<H::Value>>, H::Error> {
    let code = &prog.code[..];
    let mut stack: Vec<Entry> = Vec::new();
    let mut caps: Vec<Capture> = Vec::new();
    let mut values: Vec<H::Value> = Vec::new();
    let mut i = init.min(subject.len());
    let mut pc = 0usize;
    let mut steps = 0u64;
    let len = subject.len();
    macro_rules! fail {
        () => {{
            steps += 1;
            loop {
                match stack.pop() {
                    None => return Ok(None),
                    Some(e) if e.s == CALL => continue,
                    Some(e) => {
                        i = e.s;
                        pc = e.p as usize;
                        caps.truncate(e.caps as usize);
                        values.truncate(e.values as usize);
                        break;
                    }
                }
            }
            continue;
        }};
    }
    macro_rules! push {
        ($s:expr, $p:expr) => {{
            if stack.len() >= max_stack {
                return Err(Error::StackOverflow(max_stack).into());
            }
            if stack.capacity() == 0 {
                stack.reserve(FIRST_STACK);
            }
            stack.push(Entry {
                s: $s,
                p: $p as u32,
                caps: caps.len() as u32,
                values: values.len() as u32,
            });
        }};
    }
    macro_rules! capture {
        ($c:expr) => {{
            if caps.len() >= MAX_CAPTURES {
                return Err(Error::TooManyCaptures.into());
            }
            if caps.capacity() == 0 {
                caps.reserve(FIRST_CAPS);
            }
            caps.push($c);
        }};
    }
    loop {
        if steps >= CHARGE_EVERY {
            host.charge(steps)?;
            steps = 0;
        }
        match code[pc] {
            Op::End => {
                if steps > 0 {
                    host.charge(steps)?;
                }
                return Ok(Some(Matched {
                    end: i,
                    caps,
                    values,
                }));
            }
            Op::Any => {
                if i < len {
                    i += 1;
                    pc += 1;
                } else {
                    fail!()
                }
            }
            Op::AnyN(n) => {
                if len - i >= n as usize {
                    i += n as usize;
                    pc += 1;
                } else {
                    fail!()
                }
            }
            Op::Char(c) => {
                if i < len && subject[i] == c {
                    i += 1;
                    pc += 1;
                } else {
                    fail!()
                }
            }
            Op::Str(k) => {
                let lit = &prog.strs[k as usize];
                if subject[i..].starts_with(lit) {
                    i += lit.len();
                    pc += 1;
                } else {
                    fail!()
                }
            }
            Op::Set(k) => {
                if i < len && prog.sets[k as usize].contains(subject[i]) {
                    i += 1;
                    pc += 1;
                } else {
                    fail!()
                }
            }
            Op::TestAny(t) => pc = if i < len { pc + 1 } else { t as usize },
            Op::TestChar(c, t) => {
                pc = if i < len && subject[i] == c {
                    pc + 1
                } else {
                    t as usize
                }
            }
            Op::TestSet(k, t) => {
                pc = if i < len && prog.sets[k as usize].contains(subject[i]) {
                    pc + 1
                } else {
                    t as usize
                }
            }
            Op::Span(k) => {
                let set = &prog.sets[k as usize];
                while i < len && set.contains(subject[i]) {
                    i += 1;
                }
                pc += 1;
            }
            Op::Behind(n) => {
                if i >= n as usize {
                    i -= n as usize;
                    pc += 1;
                } else {
                    fail!()
                }
            }
            Op::Ret => match stack.pop() {
                Some(e) if e.s == CALL => pc = e.p as usize,
                // Calls and returns pair up in compiled code; a stray return is a
                // compiler bug, reported rather than trusted.
                _ => return Err(Error::TooComplex.into()),
            },
            Op::Jmp(t) => {
                steps += 1;
                pc = t as usize;
            }
            Op::Choice(t) => {
                steps += 1;
                push!(i, t);
                pc += 1;
            }
            Op::Call(t) => {
                steps += 1;
                push!(CALL, pc + 1);
                pc = t as usize;
            }
            Op::Commit(t) => {
                stack.pop();
                pc = t as usize;
            }
            Op::PartialCommit(t) => {
                steps += 1;
                if let Some(top) = stack.last_mut() {
                    top.s = i;
                    top.caps = caps.len() as u32;
                    top.values = values.len() as u32;
                }
                pc = t as usize;
            }
            Op::BackCommit(t) => {
                // An and-predicate succeeded: back to where it started, without the
                // captures it made (LPeg 1.0's `#patt` produces none).
                if let Some(top) = stack.pop() {
                    i = top.s;
                    caps.truncate(top.caps as usize);
                    values.truncate(top.values as usize);
                }
                pc = t as usize;
            }
            Op::FailTwice => {
                stack.pop();
                fail!()
            }
            Op::Fail => fail!(),
            Op::FullCapture { kind, key, len: n } => {
                capture!(Capture {
                    pos: i.saturating_sub(n as usize),
                    len: n as usize,
                    kind,
                    key,
                    tag: Tag::Full
                });
                pc += 1;
            }
            Op::OpenCapture { kind, key } => {
                capture!(Capture {
                    pos: i,
                    len: 0,
                    kind,
                    key,
                    tag: Tag::Open
                });
                pc += 1;
            }
            Op::CloseCapture => {
                capture!(Capture {
                    pos: i,
                    len: 0,
                    kind: CapKind::Simple,
                    key: NO_KEY,
                    tag: Tag::Close
                });
                pc += 1;
            }
            Op::CloseRuntime => {
                steps += 1;
                let Some(open) = open_of(&caps) else {
                    return Err(Error::TooComplex.into());
                };
                match host.runtime(prog, &caps, open, i, &values)? {
                    Runtime::Fail => fail!(),
                    Runtime::Continue(at, vals) => {
                        if at < i || at > len {
                            return Err(Error::InvalidPosition.into());
                        }
                        caps.truncate(open);
                        i = at;
                        if !vals.is_empty() {
                            if caps.len() + vals.len() + 2 > MAX_CAPTURES {
                                return Err(Error::TooManyCaptures.into());
                            }
                            caps.push(Capture {
                                pos: i,
                                len: 0,
                                kind: CapKind::Group,
                                key: NO_KEY,
                                tag: Tag::Open,
                            });
                            for v in vals {
                                let key = values.len() as u32;
                                values.push(v);
                                caps.push(Capture {
                                    pos: i,
                                    len: 0,
                                    kind: CapKind::Runtime,
                                    key,
                                    tag: Tag::Full,
                                });
                            }
                            caps.push(Capture {
                                pos: i,
                                len: 0,
                                kind: CapKind::Simple,
                                key: NO_KEY,
                                tag: Tag::Close,
                            });
                        }
                        pc += 1;
                    }
                }
            }
        }
    }
}

/// Index of the innermost capture still open at the end of `caps`.
pub fn open_of(caps: &[Capture]) -> Option<usize> {
    let mut depth = 0usize;
    for (k, c) in caps.iter().enumerate().rev() {
        match c.tag {
            Tag::Close => depth += 1,
            Tag::Open if depth == 0 => return Some(k),
            Tag::Open => depth -= 1,
            Tag::Full => {}
        }
    }
    None
}
