//! Grammars (`lpeg.P{...}`): resolving `lpeg.V` references to rule indexes and LPeg's
//! checks, "rule 'x' undefined in given grammar", "rule 'x' may be left recursive" and
//! "empty loop in rule 'x'", all made when the grammar is built, as LPeg does.
//!
//! Unlike LPeg, which re-walks called rules for every question (exponential in the
//! worst case: a chain of rules each calling the next twice), the analysis here is
//! polynomial: which rules may match empty is a fixpoint, left recursion is a cycle in
//! the graph of head calls, and each rule's facts ([`Facts`]) are computed once, callees
//! first, for every later question to read.

use crate::Error;
use crate::charset::Charset;
use crate::props::{self, MAX_FOLLOW, nullable_in};
use crate::tree::{self, Facts, Grammar, Kind, Name, Node, Patt, Rule};

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
    let mut g = Grammar {
        facts: vec![Facts::default(); resolved.len()],
        rules: resolved,
    };
    let nullable = nullable_rules(&g)?;
    let order = head_order(&g, &nullable)?;
    compute_facts(&mut g, &nullable, &order);
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

/// Which rules may match the empty string: a fixpoint over the rules (a rule is
/// nullable once its body is, given what is known of the others), so each body is
/// visited at most once per round and the rounds are at most the number of rules.
fn nullable_rules<K>(g: &Grammar<K>) -> Result<Vec<bool>, Error> {
    let mut known = vec![false; g.rules.len()];
    loop {
        let mut changed = false;
        for (i, r) in g.rules.iter().enumerate() {
            if !known[i] && head_calls(&r.body, &known, &mut Vec::new(), 0)? {
                known[i] = true;
                changed = true;
            }
        }
        if !changed {
            return Ok(known);
        }
    }
}

/// Collects the rules `p` calls before consuming input (its head calls), given which
/// rules are nullable; returns whether `p` may match empty.
fn head_calls<K>(
    p: &Node<K>,
    nullable: &[bool],
    out: &mut Vec<u32>,
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
            head_calls(c, nullable, out, d + 1)?;
            true
        }
        Kind::Capture { child, .. } => head_calls(child, nullable, out, d + 1)?,
        Kind::Seq(v) => {
            for q in v {
                if !head_calls(q, nullable, out, d + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        Kind::Choice(v) => {
            let mut any = false;
            for q in v {
                any |= head_calls(q, nullable, out, d + 1)?;
            }
            any
        }
        Kind::Call(i) => {
            out.push(*i);
            nullable.get(*i as usize).copied().unwrap_or(true)
        }
        Kind::Grammar(gg) => gg.facts.first().is_none_or(|f| f.nullable),
    })
}

/// Refuses left recursion (a cycle of head calls) and returns the rules in an order
/// where every rule comes after the rules it calls in head position.
fn head_order<K>(g: &Grammar<K>, nullable: &[bool]) -> Result<Vec<usize>, Error> {
    let n = g.rules.len();
    let mut edges = Vec::with_capacity(n);
    for r in &g.rules {
        let mut calls = Vec::new();
        head_calls(&r.body, nullable, &mut calls, 0)?;
        edges.push(calls);
    }
    // Iterative depth-first search: 0 unvisited, 1 on the path, 2 done.
    let mut state = vec![0u8; n];
    let mut order = Vec::with_capacity(n);
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (v, ref mut next)) = path.last_mut() {
            if let Some(&w) = edges[v].get(*next) {
                *next += 1;
                let w = w as usize;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        path.push((w, 0));
                    }
                    1 => return Err(Error::LeftRecursive(g.rules[w].name.to_string())),
                    _ => {}
                }
            } else {
                state[v] = 2;
                order.push(v);
                path.pop();
            }
        }
    }
    Ok(order)
}

/// Fills in each rule's facts, callees first (`order`), so every fact is computed
/// from facts already known: nothing follows a rule reference.
fn compute_facts<K>(g: &mut Grammar<K>, nullable: &[bool], order: &[usize]) {
    for (i, f) in g.facts.iter_mut().enumerate() {
        f.nullable = nullable[i];
    }
    // nofail looks only at head calls; headfail also at nofail of later calls, so all
    // nofail facts come first.
    for &i in order {
        let v = props::nofail(&g.rules[i].body, Some(&*g), 0);
        g.facts[i].nofail = v;
    }
    for &i in order {
        let body = &g.rules[i].body;
        let headfail = props::headfail(body, Some(&*g), 0);
        let (first, _) = props::first(body, &Charset::EMPTY, Some(&*g), 0);
        g.facts[i].headfail = headfail;
        g.facts[i].first = first;
    }
    // A length can depend on rules called anywhere, recursively: rounds until stable,
    // starting from "unknown" (recursive rules stay unknown, which is right).
    for _ in 0..g.rules.len().min(64) {
        let mut changed = false;
        for i in 0..g.rules.len() {
            let v = props::fixed_len_in(&g.rules[i].body, Some(&*g), 0);
            if v != g.facts[i].fixed {
                g.facts[i].fixed = v;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
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
