//! What a matcher requires of a text header, for indexing routes: the set of
//! literals one of `Type`, `Logger`, `Hostname` or `EnvVersion` must equal for the
//! matcher to match ([`Matcher::required_values`](super::Matcher::required_values)).
//!
//! It is a *necessary* condition, never a sufficient one: a router that tests a
//! matcher only when the message's header is in the set gets exactly the answers it
//! would get by testing every matcher, because the matcher is false for every other
//! value. The rule, over the compiled tree (`eval`):
//!
//! - `H == 'lit'` and `H =~ /^lit$/` (which `eval` compiles to an exact test) require
//!   `{lit}`; `FALSE` requires the empty set (it matches nothing);
//! - `a && b && ...` requires the intersection of what its terms require (the terms
//!   that require nothing are left out);
//! - `a || b || ...` requires the union, if *every* term requires something;
//! - anything else (`TRUE`, `!=`, `<`, other regexes, `!~`, other headers, numbers,
//!   fields) requires nothing. The grammar has no `!`, so no test is ever negated
//!   from outside.
//!
//! `Payload` and `Uuid` are not offered: a payload is a body, not a label to route
//! on, and a Uuid would have to be formatted per message.

use super::eval::{Expr, Pattern, StrTest, Test};
use super::lexer::{Op, StrVar};
use crate::Message;

/// A text header a route index can key on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextHeader {
    /// `Type`.
    Type,
    /// `Logger`.
    Logger,
    /// `Hostname`.
    Hostname,
    /// `EnvVersion`.
    EnvVersion,
}

impl TextHeader {
    /// Every header an index can key on.
    pub const ALL: [TextHeader; 4] = [
        TextHeader::Type,
        TextHeader::Logger,
        TextHeader::Hostname,
        TextHeader::EnvVersion,
    ];

    /// The header's value in `msg` as the matcher reads it ("" when unset).
    pub fn value(self, msg: &Message) -> &[u8] {
        match self {
            TextHeader::Type => msg.type_().as_bytes(),
            TextHeader::Logger => msg.logger().as_bytes(),
            TextHeader::Hostname => msg.hostname().as_bytes(),
            TextHeader::EnvVersion => msg.env_version().as_bytes(),
        }
    }

    fn var(self) -> StrVar {
        match self {
            TextHeader::Type => StrVar::Type,
            TextHeader::Logger => StrVar::Logger,
            TextHeader::Hostname => StrVar::Hostname,
            TextHeader::EnvVersion => StrVar::EnvVersion,
        }
    }
}

/// The values `header` must have for `expr` to be true (sorted, without
/// duplicates), or `None` when `expr` does not restrict it.
pub(super) fn required(expr: &Expr, header: TextHeader) -> Option<Vec<Box<[u8]>>> {
    match expr {
        Expr::Const(true) => None,
        Expr::Const(false) => Some(Vec::new()),
        Expr::Test(Test::Header { var, test }) if *var == header.var() => match test {
            StrTest::Compare { op: Op::Eq, value } => Some(vec![value.clone()]),
            StrTest::Regex {
                pattern: Pattern::Exact(value),
                negate: false,
            } => Some(vec![value.clone()]),
            _ => None,
        },
        Expr::Test(_) => None,
        Expr::All(terms) => terms
            .iter()
            .filter_map(|t| required(t, header))
            .reduce(intersection),
        Expr::Any(terms) => terms
            .iter()
            .map(|t| required(t, header))
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .reduce(union),
    }
}

/// The values in both sorted sets.
fn intersection(a: Vec<Box<[u8]>>, b: Vec<Box<[u8]>>) -> Vec<Box<[u8]>> {
    a.into_iter()
        .filter(|v| b.binary_search(v).is_ok())
        .collect()
}

/// The values in either sorted set, sorted.
fn union(mut a: Vec<Box<[u8]>>, b: Vec<Box<[u8]>>) -> Vec<Box<[u8]>> {
    a.extend(b);
    a.sort_unstable();
    a.dedup();
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Matcher;

    /// What `expr` requires of `Type`, as text.
    fn req(expr: &str) -> Option<Vec<String>> {
        req_of(expr, TextHeader::Type)
    }

    fn req_of(expr: &str, header: TextHeader) -> Option<Vec<String>> {
        Matcher::parse(expr)
            .unwrap()
            .required_values(header)
            .map(|vs| {
                vs.iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect()
            })
    }

    fn set(values: &[&str]) -> Option<Vec<String>> {
        Some(values.iter().map(|v| (*v).to_owned()).collect())
    }

    #[test]
    fn equalities_in_the_top_level_conjunction_are_required() {
        assert_eq!(req("Type == 'a'"), set(&["a"]));
        assert_eq!(req("Type =~ /^a$/"), set(&["a"]));
        assert_eq!(
            req("Logger == 'Bench' && Type == 'other7'"),
            set(&["other7"])
        );
        assert_eq!(
            req_of("Logger == 'Bench' && Type == 'other7'", TextHeader::Logger),
            set(&["Bench"])
        );
        assert_eq!(req("(Type == 'a' && Severity < 4) && TRUE"), set(&["a"]));
        // Two equalities of one header: the intersection (empty: matches nothing).
        assert_eq!(req("Type == 'a' && Type == 'a'"), set(&["a"]));
        assert_eq!(req("Type == 'a' && Type == 'b'"), set(&[]));
        assert_eq!(req("FALSE"), set(&[]));
        assert_eq!(req("FALSE && Logger == 'x'"), set(&[]));
        // Only the last of juxtaposed expressions decides (Heka's `spec expr`).
        assert_eq!(req("Type == 'a' Type == 'b'"), set(&["b"]));
        assert_eq!(req("Type == 'a' TRUE"), None);
        for h in [TextHeader::Hostname, TextHeader::EnvVersion] {
            assert_eq!(
                req_of("Hostname == 'h' && EnvVersion == 'h'", h),
                set(&["h"])
            );
        }
    }

    #[test]
    fn an_or_requires_the_union_only_when_every_branch_requires() {
        assert_eq!(req("Type == 'b' || Type == 'a'"), set(&["a", "b"]));
        assert_eq!(
            req("Type == 'a' || (Type == 'b' && Logger == 'x') || Type == 'a'"),
            set(&["a", "b"])
        );
        assert_eq!(req("Type == 'a' || Logger == 'x'"), None);
        assert_eq!(req("Type == 'a' || TRUE"), None);
        assert_eq!(req("Type == 'a' || FALSE"), set(&["a"]));
        // An || under an &&: (a or b) and (b or c) requires b.
        assert_eq!(
            req("(Type == 'a' || Type == 'b') && (Type == 'b' || Type == 'c')"),
            set(&["b"])
        );
        assert_eq!(
            req("(Type == 'a' || Logger == 'x') && Type == 'c'"),
            set(&["c"])
        );
    }

    #[test]
    fn negations_orders_regexes_and_other_headers_require_nothing() {
        for expr in [
            "TRUE",
            "Type != 'a'",
            "Type < 'a'",
            "Type >= 'a'",
            "Type =~ /^a/",
            "Type =~ /a$/",
            "Type =~ /a/",
            "Type =~ /^a.$/",
            "Type !~ /^a$/",
            "Logger == 'a'",
            "Payload == 'a'",
            "Uuid == 'a'",
            "Severity == 1",
            "Fields[Type] == 'a'",
            "Fields[x] == NIL",
        ] {
            assert_eq!(req(expr), None, "{expr}");
        }
    }

    /// The required set is necessary: whenever the matcher matches, the header is
    /// in it (checked on a few messages per expression).
    #[test]
    fn a_match_has_a_required_value() {
        let exprs = [
            "Type == 'a'",
            "Type =~ /^a$/ && Logger == 'l'",
            "Type == 'a' || Type == 'b' && Logger == 'l'",
            "(Type == 'a' || Type == '') && Hostname != 'h'",
        ];
        for expr in exprs {
            let m = Matcher::parse(expr).unwrap();
            let want = m.required_values(TextHeader::Type).unwrap();
            for t in [None, Some(""), Some("a"), Some("b"), Some("ab")] {
                let msg = Message {
                    r#type: t.map(str::to_owned),
                    logger: Some("l".into()),
                    ..Default::default()
                };
                if m.matches(&msg) {
                    let v = TextHeader::Type.value(&msg);
                    assert!(want.iter().any(|w| &w[..] == v), "{expr} on {t:?}");
                }
            }
        }
    }
}
