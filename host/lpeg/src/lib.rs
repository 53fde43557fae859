//! LPeg 1.0 in Rust: Parsing Expression Grammars for the Lua sandbox, and the `re`
//! module on top.
//!
//! The design is LPeg's own. Patterns are immutable trees ([`tree`]) built by the
//! constructors and operators; grammars resolve `lpeg.V` references and are checked for
//! left recursion and empty loops when built ([`grammar`]). On first use a tree is
//! compiled ([`compile`], guided by the analyses in [`props`]) to a small instruction
//! set run by a backtracking machine ([`vm`]) with 256-bit charsets ([`charset`]). The
//! machine records captures on a flat list; they are turned into Lua values after a
//! successful match, except match-time captures, which run during it.
//!
//! Everything up to here is plain Rust, testable without Lua (the host value type is a
//! parameter). [`lua`] binds it to mlua as the `lpeg` and `re` modules: start at
//! [`open_lpeg`] and [`open_re`].
//!
//! Limits (no input can exhaust the host): tree depth and size ([`tree::MAX_DEPTH`],
//! [`tree::MAX_SIZE`]), code size ([`compile::MAX_CODE`]), rules per grammar
//! ([`grammar::MAX_RULES`]), backtrack entries (`setmaxstack`, default
//! [`vm::DEFAULT_MAX_STACK`]), captures per match ([`vm::MAX_CAPTURES`]), and the
//! matching work, charged to the host every [`vm::CHARGE_EVERY`] steps.

pub mod charset;
pub mod checked;
pub mod compile;
pub mod grammar;
pub mod lua;
pub mod props;
pub mod tree;
pub mod vm;

pub use lua::{StepHook, open_lpeg, open_re};

/// LPeg's errors, with LPeg's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A repetition of a pattern that may match the empty string.
    #[error("loop body may accept empty string")]
    EmptyLoop,
    /// The same inside a grammar rule.
    #[error("empty loop in rule '{0}'")]
    EmptyLoopInRule(String),
    /// A rule that can call itself without consuming input.
    #[error("rule '{0}' may be left recursive")]
    LeftRecursive(String),
    /// `lpeg.V(name)` with no such rule in its grammar.
    #[error("rule '{0}' undefined in given grammar")]
    UndefinedRule(String),
    /// `lpeg.V(name)` in a pattern matched outside any grammar.
    #[error("rule '{0}' used outside a grammar")]
    OutsideGrammar(String),
    /// The grammar's initial rule does not exist.
    #[error("initial rule '{0}' is not defined in given grammar")]
    NoInitialRule(String),
    /// More than [`grammar::MAX_RULES`] rules.
    #[error("grammar has too many rules")]
    TooManyRules,
    /// `lpeg.B` of a pattern of variable length.
    #[error("pattern may not have fixed length")]
    NotFixedLength,
    /// `lpeg.B` of a pattern with captures.
    #[error("pattern have captures")]
    BehindCaptures,
    /// `lpeg.B` of a pattern longer than [`tree::MAX_BEHIND`].
    #[error("pattern too long to look behind")]
    BehindTooLong,
    /// A pattern past the depth or size limits.
    #[error("pattern too complex")]
    TooComplex,
    /// More backtrack entries than `setmaxstack` allows.
    #[error("backtrack stack overflow (current limit is {0})")]
    StackOverflow(usize),
    /// More captures than [`vm::MAX_CAPTURES`].
    #[error("too many captures")]
    TooManyCaptures,
    /// A match-time capture returned a position out of range.
    #[error("invalid position returned by match-time capture")]
    InvalidPosition,
}
