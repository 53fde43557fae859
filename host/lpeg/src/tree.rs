//! Pattern trees: what `lpeg.P`, the operators and the capture functions build, before
//! compilation. Immutable and shared (`Arc`), so combining patterns never copies them.
//!
//! Sequences and choices are n-ary and flattened as they are built, so the common
//! `p = p + word` loop makes one wide node rather than a deep chain; every node records
//! its nesting depth and an estimate of its code size, and construction refuses trees
//! beyond [`MAX_DEPTH`] / [`MAX_SIZE`] ("pattern too complex") so that no later
//! recursive pass can exhaust the Rust stack or memory.
//!
//! `K` is the host's value type for capture arguments (a Lua value in the binding);
//! the core never looks inside it.

use std::sync::Arc;

use crate::Error;
use crate::charset::Charset;

/// Deepest nesting of tree nodes accepted (flattened `*`/`+` chains do not count).
pub const MAX_DEPTH: u32 = 400;
/// Largest estimated code size (instructions) of one pattern.
pub const MAX_SIZE: u64 = 1 << 22;
/// Longest look-behind `lpeg.B` accepts (LPeg's MAXBEHIND).
pub const MAX_BEHIND: usize = 255;

/// A shared pattern tree.
pub type Patt<K> = Arc<Node<K>>;

/// A rule name in a grammar (any Lua value; compared as Lua compares table keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Name {
    /// A string key.
    Str(Box<[u8]>),
    /// A number key (its bits).
    Num(u64),
    /// Any other value, by identity (a pointer or a boolean), with its printed form.
    Other(usize, Box<str>),
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::Str(s) => write!(f, "{}", String::from_utf8_lossy(s)),
            Name::Num(bits) => {
                let n = f64::from_bits(*bits);
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    write!(f, "{}", n as i64)
                } else {
                    write!(f, "{n}")
                }
            }
            Name::Other(_, shown) => write!(f, "{shown}"),
        }
    }
}

/// The kinds of capture (LPeg's `CapKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapKind {
    /// `lpeg.C`
    Simple,
    /// `lpeg.Cp`
    Position,
    /// one value of `lpeg.Cc`
    Const,
    /// `lpeg.Carg` (`num` is the argument index)
    Arg,
    /// `lpeg.Cb` (key: the group name)
    Backref,
    /// `lpeg.Cf` (key: the function)
    Fold,
    /// `lpeg.Cg` (key: the name, if any)
    Group,
    /// `patt / string` (key: the format)
    String,
    /// `patt / number` (`num`)
    Num,
    /// `patt / table` (key: the table)
    Query,
    /// `patt / function` (key: the function)
    Function,
    /// `lpeg.Cs`
    Subst,
    /// `lpeg.Ct`
    Table,
    /// `lpeg.Cmt` (key: the function); evaluated during the match
    Runtime,
    /// `patt % function` (LPeg 1.1's accumulator; key: the function)
    Accum,
}

/// A grammar: its rules, the initial one first.
#[derive(Debug)]
pub struct Grammar<K> {
    /// The rules; rule 0 is the initial rule. Bodies refer to rules by index ([`Kind::Call`]).
    pub rules: Vec<Rule<K>>,
    /// What the analyses know of each rule, computed once when the grammar is built, so
    /// that they never follow a rule reference (which could take exponential time).
    pub facts: Vec<Facts>,
}

/// The static facts of one grammar rule (see [`crate::props`]).
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    /// May match the empty string.
    pub nullable: bool,
    /// Never fails.
    pub nofail: bool,
    /// Fails only on its first byte.
    pub headfail: bool,
    /// Bytes that may start a match (followed by nothing).
    pub first: Charset,
    /// Fixed length, if any.
    pub fixed: Option<usize>,
}

impl Default for Facts {
    /// The conservative answers.
    fn default() -> Facts {
        Facts {
            nullable: true,
            nofail: false,
            headfail: false,
            first: Charset::FULL,
            fixed: None,
        }
    }
}

/// One grammar rule.
#[derive(Debug)]
pub struct Rule<K> {
    /// The rule's key in the grammar table.
    pub name: Name,
    /// Its pattern, with its references resolved.
    pub body: Patt<K>,
}

/// What a node matches.
#[derive(Debug)]
pub enum Kind<K> {
    /// One byte.
    Char(u8),
    /// A literal of two or more bytes.
    Str(Box<[u8]>),
    /// One byte of the set.
    Set(Charset),
    /// Exactly `n >= 1` bytes, whatever they are.
    Any(u32),
    /// Always succeeds, consuming nothing.
    True,
    /// Always fails.
    False,
    /// Each in order.
    Seq(Vec<Patt<K>>),
    /// The first that matches (ordered choice).
    Choice(Vec<Patt<K>>),
    /// Zero or more (greedy, possessive).
    Rep(Patt<K>),
    /// Succeeds when the child fails; consumes nothing.
    Not(Patt<K>),
    /// Succeeds when the child does; consumes nothing.
    And(Patt<K>),
    /// The child (of fixed length `n`) matches just before the current position.
    Behind(Patt<K>, u32),
    /// `lpeg.V(name)`, not yet inside a grammar.
    Open(Name),
    /// A reference to rule `i` of the nearest enclosing grammar.
    Call(u32),
    /// A grammar.
    Grammar(Arc<Grammar<K>>),
    /// A capture around the child.
    Capture {
        /// Which capture.
        kind: CapKind,
        /// Its host value (function, table, name, format, constant), if it has one.
        key: Option<K>,
        /// Its number (argument index for `Carg`, value index for `/n`).
        num: u32,
        /// What it captures.
        child: Patt<K>,
    },
}

/// A tree node and the facts construction keeps about it.
#[derive(Debug)]
pub struct Node<K> {
    /// What it matches.
    pub kind: Kind<K>,
    /// Nesting depth (a leaf is 1).
    pub depth: u32,
    /// Estimated code size in instructions.
    pub size: u64,
    /// Whether an unresolved `lpeg.V` is inside (outside any grammar).
    pub has_open: bool,
    /// Whether any capture is inside.
    pub has_caps: bool,
}

pub(crate) fn node<K>(kind: Kind<K>) -> Result<Patt<K>, Error> {
    let (depth, size, has_open, has_caps) = {
        let kids: Vec<&Patt<K>> = children(&kind);
        let mut depth = 1 + kids.iter().map(|k| k.depth).max().unwrap_or(0);
        let mut size = 2 + kids.iter().map(|k| k.size).sum::<u64>();
        if let Kind::Grammar(g) = &kind {
            size += g.rules.iter().map(|r| r.body.size + 1).sum::<u64>();
            depth = 1 + g.rules.iter().map(|r| r.body.depth).max().unwrap_or(0);
        }
        let has_open = matches!(kind, Kind::Open(_)) || kids.iter().any(|k| k.has_open);
        let has_caps = matches!(kind, Kind::Capture { .. })
            || kids.iter().any(|k| k.has_caps)
            || matches!(&kind, Kind::Grammar(g) if g.rules.iter().any(|r| r.body.has_caps));
        (depth, size, has_open, has_caps)
    };
    if depth > MAX_DEPTH || size > MAX_SIZE {
        return Err(Error::TooComplex);
    }
    Ok(Arc::new(Node {
        kind,
        depth,
        size,
        has_open,
        has_caps,
    }))
}

/// The direct children of a node (not the rules of a grammar).
pub fn children<K>(kind: &Kind<K>) -> Vec<&Patt<K>> {
    match kind {
        Kind::Seq(v) | Kind::Choice(v) => v.iter().collect(),
        Kind::Rep(p) | Kind::Not(p) | Kind::And(p) | Kind::Behind(p, _) => vec![p],
        Kind::Capture { child, .. } => vec![child],
        _ => Vec::new(),
    }
}

/// Builds a node; used by the grammar resolver, which rebuilds rule bodies.
pub(crate) fn rebuild<K>(kind: Kind<K>) -> Result<Patt<K>, Error> {
    node(kind)
}

/// `lpeg.P(true)`: matches the empty string.
pub fn succeed<K>() -> Patt<K> {
    leaf(Kind::True)
}

/// `lpeg.P(false)`: never matches.
pub fn fail<K>() -> Patt<K> {
    leaf(Kind::False)
}

fn leaf<K>(kind: Kind<K>) -> Patt<K> {
    Arc::new(Node {
        size: match &kind {
            Kind::Str(s) => s.len() as u64 + 1,
            _ => 2,
        },
        kind,
        depth: 1,
        has_open: false,
        has_caps: false,
    })
}

/// `lpeg.P(string)`: the literal bytes.
pub fn literal<K>(bytes: &[u8]) -> Patt<K> {
    match bytes {
        [] => succeed(),
        [c] => leaf(Kind::Char(*c)),
        _ => leaf(Kind::Str(bytes.into())),
    }
}

/// `lpeg.P(n)`: exactly `n` bytes (`n = 0` is the empty string).
pub fn any<K>(n: u32) -> Patt<K> {
    if n == 0 {
        succeed()
    } else {
        leaf(Kind::Any(n))
    }
}

/// `lpeg.S` / `lpeg.R`: one byte of the set.
pub fn set<K>(cs: Charset) -> Patt<K> {
    match (cs.len(), cs.only()) {
        (0, _) => fail(),
        (256, _) => leaf(Kind::Any(1)),
        (_, Some(c)) => leaf(Kind::Char(c)),
        _ => leaf(Kind::Set(cs)),
    }
}

/// `lpeg.V(name)`: a non-terminal.
pub fn open<K>(name: Name) -> Patt<K> {
    Arc::new(Node {
        kind: Kind::Open(name),
        depth: 1,
        size: 2,
        has_open: true,
        has_caps: false,
    })
}

/// The set a single-byte pattern matches, if it is one.
pub fn as_set<K>(p: &Node<K>) -> Option<Charset> {
    match &p.kind {
        Kind::Char(c) => Some(Charset::single(*c)),
        Kind::Set(s) => Some(*s),
        Kind::Any(1) => Some(Charset::FULL),
        Kind::False => Some(Charset::EMPTY),
        _ => None,
    }
}

/// `p1 * p2`.
pub fn seq<K>(a: &Patt<K>, b: &Patt<K>) -> Result<Patt<K>, Error> {
    match (&a.kind, &b.kind) {
        (Kind::True, _) => return Ok(b.clone()),
        (_, Kind::True) | (Kind::False, _) => return Ok(a.clone()),
        _ => {}
    }
    let mut v = Vec::new();
    for p in [a, b] {
        match &p.kind {
            Kind::Seq(kids) => v.extend(kids.iter().cloned()),
            _ => v.push(p.clone()),
        }
    }
    node(Kind::Seq(v))
}

/// `p1 + p2`.
pub fn choice<K>(a: &Patt<K>, b: &Patt<K>) -> Result<Patt<K>, Error> {
    if let (Some(x), Some(y)) = (as_set(a), as_set(b)) {
        return Ok(set(x.union(&y)));
    }
    match (&a.kind, &b.kind) {
        (Kind::False, _) => return Ok(b.clone()),
        (_, Kind::False) => return Ok(a.clone()),
        _ => {}
    }
    let mut v = Vec::new();
    for p in [a, b] {
        match &p.kind {
            Kind::Choice(kids) => v.extend(kids.iter().cloned()),
            _ => v.push(p.clone()),
        }
    }
    node(Kind::Choice(v))
}

/// `-p`.
pub fn not<K>(p: &Patt<K>) -> Result<Patt<K>, Error> {
    node(Kind::Not(p.clone()))
}

/// `#p`.
pub fn and<K>(p: &Patt<K>) -> Result<Patt<K>, Error> {
    node(Kind::And(p.clone()))
}

/// `p1 - p2`: `p1` where `p2` does not match (sets subtract directly).
pub fn diff<K>(a: &Patt<K>, b: &Patt<K>) -> Result<Patt<K>, Error> {
    if let (Some(x), Some(y)) = (as_set(a), as_set(b)) {
        return Ok(set(x.minus(&y)));
    }
    seq(&not(b)?, a)
}

/// The sequence of `parts`, flattened.
pub fn seq_all<K>(parts: Vec<Patt<K>>) -> Result<Patt<K>, Error> {
    let mut v = Vec::with_capacity(parts.len());
    for p in parts {
        match &p.kind {
            Kind::True => {}
            Kind::Seq(kids) => v.extend(kids.iter().cloned()),
            _ => v.push(p),
        }
    }
    match v.len() {
        0 => Ok(succeed()),
        1 => Ok(v.pop().unwrap_or_else(succeed)),
        _ => node(Kind::Seq(v)),
    }
}

/// A capture of `kind` around `child`.
pub fn capture<K>(
    kind: CapKind,
    key: Option<K>,
    num: u32,
    child: &Patt<K>,
) -> Result<Patt<K>, Error> {
    node(Kind::Capture {
        kind,
        key,
        num,
        child: child.clone(),
    })
}

/// A grammar node (see [`crate::grammar::build`], which resolves and checks the rules).
pub(crate) fn grammar_node<K>(g: Grammar<K>) -> Result<Patt<K>, Error> {
    node(Kind::Grammar(Arc::new(g)))
}
