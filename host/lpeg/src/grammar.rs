//! Grammars (`lpeg.P{...}`): resolving `lpeg.V` references to rule indexes and LPeg's
//! checks, "rule 'x' undefined in given grammar", "rule 'x' may be left recursive" and
//! "empty loop in rule 'x'", all made when the grammar is built, as LPeg does.

use crate::Error;
use crate::props::{MAX_FOLLOW, nullable_in};
use crate::tree::{self, Grammar, Kind, Name, Node, Patt, Rule};

/// Most rules one grammar may have (LPeg's MAXRULES).
pub const MAX_RULES: usize = 1000;

/// Builds a grammar from its rules (in table order) and the initial rule's name.
pub fn build<K: Clone>(rules: Vec<(Name, Patt<K>)>, initial: &Name) -> Result<Patt<K>, Error> {
    if rules.len() > MAX_RULES {
        return Err(Error::TooManyRules);
    }
    let start = rules
        .iter()
        .position(|(n, _)| n == initial)
        .ok_or_else(|| Error::NoInitialRule(initial.to_string()))?;
    let mut ordered = rules;
    let first = ordered.remove(start);
    ordered.insert(0, first);
    let names: Vec<Name> = ordered.iter().map(|(n, _)| n.clone()).collect();
    let mut resolved = Vec::with_capacity(ordered.len());
    for (name, body) in ordered {
        let body = resolve(&body, &names)?;
        resolved.push(Rule { name, body });
    }
    let g = Grammar { rules: resolved };
    for i in 0..g.rules.len() {
        let mut passed = vec![i as u32];
        verify_rule(&g.rules[i].body, &g, &mut passed, 0)?;
    }
    for r in &g.rules {
        check_loops(&r.body, &g, &r.name, 0)?;
    }
    tree::grammar_node(g)
}

/// Replaces each `Open(name)` under `p` with `Call(index of name)`.
fn resolve<K: Clone>(p: &Patt<K>, names: &[Name]) -> Result<Patt<K>, Error> {
    if !p.has_open {
        return Ok(p.clone());
    }
    let kind = match &p.kind {
        Kind::Open(n) => {
            let i = names
                .iter()
                .position(|m| m == n)
                .ok_or_else(|| Error::UndefinedRule(n.to_string()))?;
            Kind::Call(i as u32)
        }
        Kind::Seq(v) => Kind::Seq(
            v.iter()
                .map(|q| resolve(q, names))
                .collect::<Result<_, _>>()?,
        ),
        Kind::Choice(v) => Kind::Choice(
            v.iter()
                .map(|q| resolve(q, names))
                .collect::<Result<_, _>>()?,
        ),
        Kind::Rep(c) => Kind::Rep(resolve(c, names)?),
        Kind::Not(c) => Kind::Not(resolve(c, names)?),
        Kind::And(c) => Kind::And(resolve(c, names)?),
        Kind::Behind(c, n) => Kind::Behind(resolve(c, names)?, *n),
        Kind::Capture {
            kind,
            key,
            num,
            child,
        } => Kind::Capture {
            kind: *kind,
            key: key.clone(),
            num: *num,
            child: resolve(child, names)?,
        },
        // Leaves and closed grammars carry no open reference.
        _ => return Ok(p.clone()),
    };
    tree::rebuild(kind)
}

/// Walks the head positions of a rule; a rule reached again before any input is
/// consumed makes the grammar left recursive. Returns whether `p` may match empty.
fn verify_rule<K>(
    p: &Node<K>,
    g: &Grammar<K>,
    passed: &mut Vec<u32>,
    d: u32,
) -> Result<bool, Error> {
    if d > MAX_FOLLOW {
        return Err(Error::TooComplex);
    }
    Ok(match &p.kind {
        Kind::Char(_)
        | Kind::Str(_)
        | Kind::Set(_)
        | Kind::Any(_)
        | Kind::False
        | Kind::Open(_) => false,
        Kind::True | Kind::Behind(..) => true,
        Kind::Not(c) | Kind::And(c) | Kind::Rep(c) => {
            verify_rule(c, g, passed, d + 1)?;
            true
        }
        Kind::Capture { child, .. } => verify_rule(child, g, passed, d + 1)?,
        Kind::Seq(v) => {
            for q in v {
                if !verify_rule(q, g, passed, d + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        Kind::Choice(v) => {
            let mut any = false;
            for q in v {
                any |= verify_rule(q, g, passed, d + 1)?;
            }
            any
        }
        Kind::Call(i) => {
            let r = &g.rules[*i as usize];
            if passed.contains(i) {
                return Err(Error::LeftRecursive(r.name.to_string()));
            }
            passed.push(*i);
            let e = verify_rule(&r.body, g, passed, d + 1)?;
            passed.pop();
            e
        }
        Kind::Grammar(_) => nullable_in(p, Some(g), d),
    })
}

/// Refuses a repetition whose body may match empty (it would loop for ever).
fn check_loops<K>(p: &Node<K>, g: &Grammar<K>, rule: &Name, d: u32) -> Result<(), Error> {
    if d > MAX_FOLLOW {
        return Err(Error::TooComplex);
    }
    if let Kind::Rep(c) = &p.kind
        && nullable_in(c, Some(g), 0)
    {
        return Err(Error::EmptyLoopInRule(rule.to_string()));
    }
    for c in tree::children(&p.kind) {
        check_loops(c, g, rule, d + 1)?;
    }
    Ok(())
}
