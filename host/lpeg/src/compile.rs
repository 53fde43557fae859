//! The code generator: a pattern tree becomes a [`Program`] for the VM ([`crate::vm`]),
//! following LPeg's compilation scheme.
//!
//! The optimisations that make LPeg fast are here: a repeated set becomes one `Span`;
//! a choice, repetition or predicate whose first alternative can only fail on its first
//! byte (or whose first bytes are disjoint from what follows) is guarded by a
//! `TestChar`/`TestSet` instead of pushing a backtrack entry; a byte already checked by
//! a test compiles to `Any`; a loop that must backtrack reuses its entry through
//! `PartialCommit`; a rule call in tail position becomes a jump.

use crate::Error;
use crate::charset::Charset;
use crate::props::{first, fixed_len, headfail};
use crate::tree::{CapKind, Grammar, Kind, Node, as_set};

/// Largest program (instructions) the compiler emits.
pub const MAX_CODE: usize = 1 << 22;

/// One VM instruction. Addresses are absolute indexes into [`Program::code`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// Consume any one byte.
    Any,
    /// Consume any `n` bytes.
    AnyN(u32),
    /// Consume this byte.
    Char(u8),
    /// Consume literal `strs[i]`.
    Str(u32),
    /// Consume a byte of `sets[i]`.
    Set(u32),
    /// If a byte remains go on, else jump (consumes nothing).
    TestAny(u32),
    /// If the next byte is this one go on, else jump.
    TestChar(u8, u32),
    /// If the next byte is in `sets[i]` go on, else jump.
    TestSet(u32, u32),
    /// Consume bytes of `sets[i]` while there are some.
    Span(u32),
    /// Move back `n` bytes (fail when fewer precede).
    Behind(u32),
    /// Return from a rule.
    Ret,
    /// Successful end of the match.
    End,
    /// Jump.
    Jmp(u32),
    /// Push a backtrack entry resuming at the address.
    Choice(u32),
    /// Call the rule at the address.
    Call(u32),
    /// Pop the backtrack entry and jump.
    Commit(u32),
    /// Update the top backtrack entry to the current state and jump.
    PartialCommit(u32),
    /// Restore the position and captures of the top entry, pop it and jump.
    BackCommit(u32),
    /// Pop an entry, then fail.
    FailTwice,
    /// Fail: backtrack.
    Fail,
    /// A capture of the `len` bytes just matched.
    FullCapture { kind: CapKind, key: u32, len: u32 },
    /// The start of a capture closed by a later `CloseCapture`.
    OpenCapture { kind: CapKind, key: u32 },
    /// The end of the innermost open capture.
    CloseCapture,
    /// The end of a match-time capture: run its function now.
    CloseRuntime,
}

/// A compiled pattern.
#[derive(Debug)]
pub struct Program<K> {
    /// The instructions; execution starts at 0.
    pub code: Vec<Op>,
    /// Charsets referred to by `Set`, `TestSet` and `Span`.
    pub sets: Vec<Charset>,
    /// Literals referred to by `Str`.
    pub strs: Vec<Box<[u8]>>,
    /// Capture arguments referred to by the capture instructions: (value, number).
    pub keys: Vec<(Option<K>, u32)>,
}

struct Gen<K> {
    prog: Program<K>,
    /// Rule addresses of each grammar compiled so far.
    rules: Vec<Vec<u32>>,
    /// Calls to fix: (instruction, grammar id, rule).
    calls: Vec<(usize, usize, u32)>,
}

type G<'a, K> = Option<(&'a Grammar<K>, usize)>;

/// Compiles a pattern.
pub fn compile<K: Clone>(p: &Node<K>) -> Result<Program<K>, Error> {
    let mut gen_ = Gen {
        prog: Program {
            code: Vec::new(),
            sets: Vec::new(),
            strs: Vec::new(),
            keys: Vec::new(),
        },
        rules: Vec::new(),
        calls: Vec::new(),
    };
    gen_.code_for(p, None, None, &Charset::FULL)?;
    gen_.emit(Op::End)?;
    gen_.fix_calls();
    Ok(gen_.prog)
}

impl<K: Clone> Gen<K> {
    fn pc(&self) -> u32 {
        self.prog.code.len() as u32
    }

    fn emit(&mut self, op: Op) -> Result<usize, Error> {
        if self.prog.code.len() >= MAX_CODE {
            return Err(Error::TooComplex);
        }
        self.prog.code.push(op);
        Ok(self.prog.code.len() - 1)
    }

    /// Points the jump at `at` to the current end of the code.
    fn patch_here(&mut self, at: usize) {
        let here = self.pc();
        self.prog.code[at] = match self.prog.code[at] {
            Op::TestAny(_) => Op::TestAny(here),
            Op::TestChar(c, _) => Op::TestChar(c, here),
            Op::TestSet(s, _) => Op::TestSet(s, here),
            Op::Jmp(_) => Op::Jmp(here),
            Op::Choice(_) => Op::Choice(here),
            Op::Commit(_) => Op::Commit(here),
            Op::BackCommit(_) => Op::BackCommit(here),
            Op::PartialCommit(_) => Op::PartialCommit(here),
            op => op,
        };
    }

    fn set_index(&mut self, cs: Charset) -> u32 {
        if let Some(i) = self.prog.sets.iter().position(|s| *s == cs) {
            return i as u32;
        }
        self.prog.sets.push(cs);
        (self.prog.sets.len() - 1) as u32
    }

    /// A test that jumps (to be patched) when the next byte is not in `cs`.
    fn test(&mut self, cs: Charset) -> Result<usize, Error> {
        let op = match (cs.len(), cs.only()) {
            (256, _) => Op::TestAny(0),
            (_, Some(c)) => Op::TestChar(c, 0),
            _ => Op::TestSet(self.set_index(cs), 0),
        };
        self.emit(op)
    }

    /// Code for `p`. `known`: a test just established the next byte is in this set.
    /// `follow`: bytes that may come after `p` in a successful match.
    ///
    /// One `match` arm per pattern node (as `codegen` in LPeg's `lpcode.c`): longer
    /// than the project's ~80 lines on purpose, each arm a few lines or a call.
    fn code_for(
        &mut self,
        p: &Node<K>,
        g: G<'_, K>,
        known: Option<Charset>,
        follow: &Charset,
    ) -> Result<(), Error> {
        let covered = |s: &Charset| known.is_some_and(|k| k.minus(s).is_empty());
        match &p.kind {
            Kind::Char(c) => {
                let op = if covered(&Charset::single(*c)) {
                    Op::Any
                } else {
                    Op::Char(*c)
                };
                self.emit(op)?;
            }
            Kind::Str(s) => {
                self.prog.strs.push(s.clone());
                self.emit(Op::Str((self.prog.strs.len() - 1) as u32))?;
            }
            Kind::Set(s) => {
                let op = if covered(s) {
                    Op::Any
                } else {
                    Op::Set(self.set_index(*s))
                };
                self.emit(op)?;
            }
            Kind::Any(1) => {
                self.emit(Op::Any)?;
            }
            Kind::Any(n) => {
                self.emit(Op::AnyN(*n))?;
            }
            Kind::True => {}
            Kind::False => {
                self.emit(Op::Fail)?;
            }
            Kind::Seq(v) => self.gen_seq(v, g, known, follow)?,
            Kind::Choice(v) => self.gen_choice(v, g, known, follow)?,
            Kind::Rep(c) => self.gen_rep(c, g, follow)?,
            Kind::Not(c) => self.gen_not(c, g)?,
            Kind::And(c) => match fixed_len(c) {
                Some(n) if n <= u32::MAX as usize && !c.has_caps => {
                    self.code_for(c, g, known, &Charset::FULL)?;
                    self.emit(Op::Behind(n as u32))?;
                }
                _ => {
                    let choice = self.emit(Op::Choice(0))?;
                    self.code_for(c, g, None, &Charset::FULL)?;
                    let commit = self.emit(Op::BackCommit(0))?;
                    self.patch_here(choice);
                    self.emit(Op::Fail)?;
                    self.patch_here(commit);
                }
            },
            Kind::Behind(c, n) => {
                self.emit(Op::Behind(*n))?;
                self.code_for(c, g, None, &Charset::FULL)?;
            }
            Kind::Capture {
                kind,
                key,
                num,
                child,
            } => {
                self.prog.keys.push((key.clone(), *num));
                let key = (self.prog.keys.len() - 1) as u32;
                let fixed = fixed_len(child).filter(|n| *n <= u32::MAX as usize);
                match fixed {
                    Some(n) if !child.has_caps && *kind != CapKind::Runtime => {
                        self.code_for(child, g, known, follow)?;
                        self.emit(Op::FullCapture {
                            kind: *kind,
                            key,
                            len: n as u32,
                        })?;
                    }
                    _ => {
                        self.emit(Op::OpenCapture { kind: *kind, key })?;
                        self.code_for(child, g, known, follow)?;
                        let close = if *kind == CapKind::Runtime {
                            Op::CloseRuntime
                        } else {
                            Op::CloseCapture
                        };
                        self.emit(close)?;
                    }
                }
            }
            Kind::Open(name) => return Err(Error::OutsideGrammar(name.to_string())),
            Kind::Call(i) => {
                let (_, gid) = g.ok_or(Error::TooComplex)?;
                let at = self.emit(Op::Call(0))?;
                self.calls.push((at, gid, *i));
            }
            Kind::Grammar(gg) => self.gen_grammar(gg)?,
        }
        Ok(())
    }

    fn gen_seq(
        &mut self,
        v: &[crate::tree::Patt<K>],
        g: G<'_, K>,
        known: Option<Charset>,
        follow: &Charset,
    ) -> Result<(), Error> {
        let gr = g.map(|(g, _)| g);
        // follows[i]: what may start the match after v[i].
        let mut follows = vec![*follow; v.len()];
        let mut cur = *follow;
        for i in (0..v.len()).rev() {
            follows[i] = cur;
            cur = first(&v[i], &cur, gr, 0).0;
        }
        for (i, q) in v.iter().enumerate() {
            self.code_for(q, g, if i == 0 { known } else { None }, &follows[i])?;
        }
        Ok(())
    }

    // gen_seq, gen_choice: the same signature and the same backwards pass over `follow`
    // on purpose; what each emits between its parts differs (LPeg's codeseq1/codechoice).
    fn gen_choice(
        &mut self,
        v: &[crate::tree::Patt<K>],
        g: G<'_, K>,
        known: Option<Charset>,
        follow: &Charset,
    ) -> Result<(), Error> {
        let gr = g.map(|(g, _)| g);
        // suffix[i]: the bytes that may start alternatives i.. (then what follows).
        let mut suffix = vec![Charset::EMPTY; v.len() + 1];
        for i in (0..v.len()).rev() {
            suffix[i] = suffix[i + 1].union(&first(&v[i], follow, gr, 0).0);
        }
        let mut exits = Vec::new();
        for (i, p1) in v.iter().enumerate() {
            if i + 1 == v.len() {
                self.code_for(p1, g, known, follow)?;
                break;
            }
            let (cs1, e1) = first(p1, &Charset::FULL, gr, 0);
            if !e1 && (headfail(p1, gr, 0) || cs1.is_disjoint(&suffix[i + 1])) {
                // Test the first byte; past the test p1 cannot fail, or the other
                // alternatives could not match either.
                let test = self.test(cs1)?;
                self.code_for(p1, g, Some(cs1), follow)?;
                exits.push(self.emit(Op::Jmp(0))?);
                self.patch_here(test);
            } else {
                let test = if e1 { None } else { Some(self.test(cs1)?) };
                let choice = self.emit(Op::Choice(0))?;
                self.code_for(p1, g, test.map(|_| cs1), follow)?;
                exits.push(self.emit(Op::Commit(0))?);
                self.patch_here(choice);
                if let Some(t) = test {
                    self.patch_here(t);
                }
            }
        }
        for e in exits {
            self.patch_here(e);
        }
        Ok(())
    }

    fn gen_rep(&mut self, c: &Node<K>, g: G<'_, K>, follow: &Charset) -> Result<(), Error> {
        let gr = g.map(|(g, _)| g);
        if let Some(s) = as_set(c) {
            let i = self.set_index(s);
            self.emit(Op::Span(i))?;
            return Ok(());
        }
        let (cs, e) = first(c, &Charset::FULL, gr, 0);
        if !e && (headfail(c, gr, 0) || cs.is_disjoint(follow)) {
            let top = self.pc();
            let test = self.test(cs)?;
            self.code_for(c, g, Some(cs), &cs.union(follow))?;
            self.emit(Op::Jmp(top))?;
            self.patch_here(test);
        } else {
            let test = if e { None } else { Some(self.test(cs)?) };
            let choice = self.emit(Op::Choice(0))?;
            let body = self.pc();
            self.code_for(c, g, None, &Charset::FULL)?;
            self.emit(Op::PartialCommit(body))?;
            self.patch_here(choice);
            if let Some(t) = test {
                self.patch_here(t);
            }
        }
        Ok(())
    }

    fn gen_not(&mut self, c: &Node<K>, g: G<'_, K>) -> Result<(), Error> {
        let gr = g.map(|(g, _)| g);
        let (cs, e) = first(c, &Charset::FULL, gr, 0);
        if !e && headfail(c, gr, 0) {
            // Passing the test is matching `c`.
            let test = self.test(cs)?;
            self.emit(Op::Fail)?;
            self.patch_here(test);
            return Ok(());
        }
        let test = if e { None } else { Some(self.test(cs)?) };
        let choice = self.emit(Op::Choice(0))?;
        self.code_for(c, g, test.map(|_| cs), &Charset::FULL)?;
        self.emit(Op::FailTwice)?;
        self.patch_here(choice);
        if let Some(t) = test {
            self.patch_here(t);
        }
        Ok(())
    }

    fn gen_grammar(&mut self, gg: &Grammar<K>) -> Result<(), Error> {
        let gid = self.rules.len();
        self.rules.push(vec![0; gg.rules.len()]);
        let call = self.emit(Op::Call(0))?;
        self.calls.push((call, gid, 0));
        let jmp = self.emit(Op::Jmp(0))?;
        for (i, r) in gg.rules.iter().enumerate() {
            self.rules[gid][i] = self.pc();
            self.code_for(&r.body, Some((gg, gid)), None, &Charset::FULL)?;
            self.emit(Op::Ret)?;
        }
        self.patch_here(jmp);
        Ok(())
    }

    /// Points each call at its rule; a call followed by a return becomes a jump.
    fn fix_calls(&mut self) {
        for &(at, gid, rule) in &self.calls {
            let target = self.rules[gid][rule as usize];
            let code = &self.prog.code;
            let mut next = at + 1;
            let mut hops = 0;
            while let Some(Op::Jmp(t)) = code.get(next) {
                next = *t as usize;
                hops += 1;
                if hops > 16 {
                    break;
                }
            }
            let tail = matches!(code.get(next), Some(Op::Ret));
            self.prog.code[at] = if tail {
                Op::Jmp(target)
            } else {
                Op::Call(target)
            };
        }
    }
}
