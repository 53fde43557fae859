//! Static facts about pattern trees that the checks and the code generator rely on:
//! whether a pattern may match the empty string, can never fail, can fail only on its
//! first byte ("head-fail"), has a fixed length, and which bytes may start a match.
//!
//! A reference to a rule ([`Kind::Call`]) is answered from the facts its grammar
//! computed once when built ([`crate::tree::Facts`], see [`crate::grammar`]), never by
//! following it: following references can take exponential time. A depth budget
//! ([`MAX_FOLLOW`]) bounds the recursion whatever the tree, answering conservatively
//! when spent.

use crate::charset::Charset;
use crate::tree::{CapKind, Facts, Grammar, Kind, Node};

/// How deep the analyses recurse (tree levels plus rules followed) before giving the
/// conservative answer.
pub const MAX_FOLLOW: u32 = 1000;

type G<'a, K> = Option<&'a Grammar<K>>;

/// The precomputed facts of rule `i` of `g` (conservative ones if out of range).
fn facts<K>(g: G<'_, K>, i: u32) -> Facts {
    g.and_then(|g| g.facts.get(i as usize))
        .copied()
        .unwrap_or_default()
}

/// The facts of a grammar's initial rule.
fn start<K>(gg: &Grammar<K>) -> Facts {
    gg.facts.first().copied().unwrap_or_default()
}

/// Whether `p` may match without consuming input.
pub fn nullable<K>(p: &Node<K>) -> bool {
    nullable_in(p, None, 0)
}

pub(crate) fn nullable_in<K>(p: &Node<K>, g: G<'_, K>, d: u32) -> bool {
    if d > MAX_FOLLOW {
        return true;
    }
    match &p.kind {
        Kind::Char(_) | Kind::Str(_) | Kind::Set(_) | Kind::Any(_) | Kind::False => false,
        Kind::Open(_) => false,
        Kind::True | Kind::Rep(_) | Kind::Not(_) | Kind::And(_) | Kind::Behind(..) => true,
        Kind::Seq(v) => v.iter().all(|q| nullable_in(q, g, d + 1)),
        Kind::Choice(v) => v.iter().any(|q| nullable_in(q, g, d + 1)),
        Kind::Capture { child, .. } => nullable_in(child, g, d + 1),
        Kind::Call(i) => facts(g, *i).nullable,
        Kind::Grammar(gg) => start(gg).nullable,
    }
}

/// Whether `p` can never fail.
pub fn nofail<K>(p: &Node<K>, g: G<'_, K>, d: u32) -> bool {
    if d > MAX_FOLLOW {
        return false;
    }
    match &p.kind {
        Kind::True | Kind::Rep(_) => true,
        Kind::Seq(v) => v.iter().all(|q| nofail(q, g, d + 1)),
        Kind::Choice(v) => v.iter().any(|q| nofail(q, g, d + 1)),
        Kind::Capture { kind, child, .. } => *kind != CapKind::Runtime && nofail(child, g, d + 1),
        Kind::Call(i) => facts(g, *i).nofail,
        Kind::Grammar(gg) => start(gg).nofail,
        _ => false,
    }
}

/// Whether `p` can fail only by its first byte, before consuming anything.
pub fn headfail<K>(p: &Node<K>, g: G<'_, K>, d: u32) -> bool {
    if d > MAX_FOLLOW {
        return false;
    }
    match &p.kind {
        Kind::Char(_) | Kind::Set(_) | Kind::Any(1) | Kind::False => true,
        Kind::And(c) => headfail(c, g, d + 1),
        Kind::Capture { kind, child, .. } => *kind != CapKind::Runtime && headfail(child, g, d + 1),
        Kind::Seq(v) => headfail(&v[0], g, d + 1) && v[1..].iter().all(|q| nofail(q, g, d + 1)),
        Kind::Choice(v) => v.iter().all(|q| headfail(q, g, d + 1)),
        Kind::Call(i) => facts(g, *i).headfail,
        Kind::Grammar(gg) => start(gg).headfail,
        _ => false,
    }
}

/// The number of bytes `p` always consumes, if fixed.
pub fn fixed_len<K>(p: &Node<K>) -> Option<usize> {
    fixed_len_in(p, None, 0)
}

pub(crate) fn fixed_len_in<K>(p: &Node<K>, g: G<'_, K>, d: u32) -> Option<usize> {
    if d > MAX_FOLLOW {
        return None;
    }
    match &p.kind {
        Kind::Char(_) | Kind::Set(_) => Some(1),
        Kind::Str(s) => Some(s.len()),
        Kind::Any(n) => Some(*n as usize),
        Kind::True | Kind::False | Kind::Not(_) | Kind::And(_) | Kind::Behind(..) => Some(0),
        Kind::Rep(_) | Kind::Open(_) => None,
        Kind::Capture { kind, child, .. } => match kind {
            CapKind::Runtime => None,
            _ => fixed_len_in(child, g, d + 1),
        },
        Kind::Seq(v) => v.iter().try_fold(0usize, |acc, q| {
            Some(acc.saturating_add(fixed_len_in(q, g, d + 1)?))
        }),
        Kind::Choice(v) => {
            let n = fixed_len_in(&v[0], g, d + 1)?;
            v[1..]
                .iter()
                .all(|q| fixed_len_in(q, g, d + 1) == Some(n))
                .then_some(n)
        }
        Kind::Call(i) => facts(g, *i).fixed,
        Kind::Grammar(gg) => start(gg).fixed,
    }
}

fn rule_first(f: Facts, follow: &Charset) -> (Charset, bool) {
    if f.nullable {
        (f.first.union(follow), true)
    } else {
        (f.first, false)
    }
}

/// The bytes that may start a successful match of `p` followed by something starting
/// with `follow`, and whether `p` may succeed without consuming (then no test on the
/// next byte can guard it, since it may also succeed at the end of the subject).
pub fn first<K>(p: &Node<K>, follow: &Charset, g: G<'_, K>, d: u32) -> (Charset, bool) {
    if d > MAX_FOLLOW {
        return (Charset::FULL, true);
    }
    match &p.kind {
        Kind::Char(c) => (Charset::single(*c), false),
        Kind::Str(s) => (Charset::single(s[0]), false),
        Kind::Set(s) => (*s, false),
        Kind::Any(_) => (Charset::FULL, false),
        Kind::False => (Charset::EMPTY, false),
        Kind::True | Kind::Behind(..) => (*follow, true),
        Kind::Open(_) => (Charset::FULL, true),
        Kind::Not(c) => match crate::tree::as_set(c) {
            Some(s) => (s.complement().intersect(follow), true),
            None => (*follow, true),
        },
        Kind::And(c) => {
            let (s, e) = first(c, follow, g, d + 1);
            (s.intersect(follow), e)
        }
        Kind::Rep(c) => {
            let (s, _) = first(c, follow, g, d + 1);
            (s.union(follow), true)
        }
        Kind::Seq(v) => {
            // Only the prefix up to the first element that must consume matters.
            let stop = v.iter().position(|q| !nullable_in(q, g, d + 1));
            let (mut cur, mut empty, prefix) = match stop {
                Some(k) => (first(&v[k], &Charset::FULL, g, d + 1).0, false, &v[..k]),
                None => (*follow, true, &v[..]),
            };
            for q in prefix.iter().rev() {
                let (s, e) = first(q, &cur, g, d + 1);
                cur = s;
                empty = empty && e;
            }
            (cur, empty)
        }
        Kind::Choice(v) => v.iter().fold((Charset::EMPTY, false), |(acc, ae), q| {
            let (s, e) = first(q, follow, g, d + 1);
            (acc.union(&s), ae || e)
        }),
        Kind::Capture { kind, child, .. } => {
            if *kind == CapKind::Runtime {
                // The function may move on past anything: only a consuming body tells.
                let (s, e) = first(child, &Charset::FULL, g, d + 1);
                return if e { (Charset::FULL, true) } else { (s, false) };
            }
            first(child, follow, g, d + 1)
        }
        // first(rule, follow) = first(rule, nothing) plus follow when the rule may
        // match empty: a superset of the exact set, which is all a test needs.
        Kind::Call(i) => rule_first(facts(g, *i), follow),
        Kind::Grammar(gg) => rule_first(start(gg), follow),
    }
}
