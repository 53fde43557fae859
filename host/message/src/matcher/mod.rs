//! Heka's `message_matcher` language (feature `matcher`): parse once, then decide
//! for each message, without allocating, whether a filter or output wants it.
//!
//! Start with [`Matcher::parse`] and [`Matcher::matches`]. The lexer (`lexer`)
//! and parser (`parser`) follow Heka's `message/message_matcher_parser.y`; `eval`
//! holds the compiled tree and the semantics of `message/message_matcher.go`.
//!
//! # Grammar
//!
//! ```text
//! spec        := expr | spec expr            (the LAST expr decides, as in Heka)
//! expr        := '(' expr ')' | expr '&&' expr | expr '||' expr
//!              | string_test | numeric_test | field_test | TRUE | FALSE
//! string_test := STRVAR rel STRING | STRVAR ('=~' | '!~') REGEX
//! numeric_test:= NUMVAR rel NUMBER
//! field_test  := FIELD rel NUMBER | FIELD rel STRING | FIELD '==' (TRUE | FALSE)
//!              | FIELD ('=~' | '!~') REGEX | FIELD ('==' | '!=') NIL
//! rel         := '==' | '!=' | '<' | '<=' | '>' | '>='
//! STRVAR      := Uuid | Type | Logger | Payload | EnvVersion | Hostname
//! NUMVAR      := Timestamp | Severity | Pid
//! FIELD       := 'Fields[' name ']' ( '[' digits ']' ( '[' digits ']' )? )?
//! ```
//!
//! `&&` binds tighter than `||`; both associate left and short-circuit. Spaces and
//! tabs separate tokens; a newline ends the expression (the rest is ignored).
//! Strings are single- or double-quoted; `\<quote>` is the quote, any other `\c`
//! stays as both characters. `/regex/` is RE2 syntax (the `regex` crate; its
//! `\d`, `\w`, `\s` are Unicode-aware where Go's are ASCII), `\/` is `/`.
//! Numbers start with a digit or `.`, continue with `0-9 . e + -`, and are float64;
//! there are no negative literals. A field name is anything up to `]`;
//! `Fields[x]` is `Fields[x][0][0]` (field index, then array index).
//!
//! # Semantics
//!
//! String headers compare byte-wise; `Uuid` is its 36-character form. Numeric
//! headers (`Timestamp` in ns, `Severity` (7 when unset), `Pid`) compare as float64.
//! A field's STRING and BYTES values take string and regex tests, INTEGER and
//! DOUBLE values numeric tests, BOOL values only `== TRUE` / `== FALSE`; any other
//! combination is false. A missing field or index makes `== NIL` true and every
//! other test false; a present value makes `!= NIL` true.
//!
//! Regexes that are plain literals become cheaper tests: `/^lit/` a prefix test,
//! `/lit$/` a suffix test, `/^lit$/` an equality test, `/lit/` a substring search.
//!
//! # Differences from Heka, on purpose
//!
//! Heka turned some errors into silent behaviour; here they are parse errors: an
//! unknown identifier after a complete expression (`TRUE Foo`), a malformed number
//! (Heka used 0), more than [`MAX_DEPTH`](parser::MAX_DEPTH) nested parentheses.
//! Heka compared a string field to `TRUE`/`FALSE` as the text "TRUE"/"FALSE" and
//! let any non-TRUE literal test a BOOL field for false; here those are type
//! mismatches (false). Heka also reduced `/^abc$/` to "ends with abc"; here it is
//! exact equality.

mod eval;
mod lexer;
mod necessary;
mod parser;

pub use necessary::TextHeader;

use crate::Message;

/// A matcher expression that does not parse: the expression, the byte offset,
/// what was expected there and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} at offset {offset}, found {found}, in message_matcher {expression:?}")]
pub struct MatcherError {
    /// The whole expression as given.
    pub expression: String,
    /// Byte offset into `expression` of the problem.
    pub offset: usize,
    /// What the grammar allows there ("a comparison operator (==, ...)").
    pub expected: String,
    /// What is there instead (a token, a character, or a regex compiler's message).
    pub found: String,
}

/// A compiled `message_matcher`. Cheap to clone (regexes are shared).
#[derive(Clone, Debug)]
pub struct Matcher {
    expression: String,
    root: eval::Expr,
}

impl Matcher {
    /// Parses and compiles `expr` (regexes included).
    pub fn parse(expr: &str) -> Result<Matcher, MatcherError> {
        Ok(Matcher {
            expression: expr.to_owned(),
            root: parser::parse(expr)?,
        })
    }

    /// Whether `msg` matches. Allocates nothing.
    pub fn matches(&self, msg: &Message) -> bool {
        self.root.eval(msg)
    }

    /// The values `header` must equal for this matcher to match (sorted, without
    /// duplicates; empty when it matches nothing), or `None` when it does not
    /// restrict `header`. A message whose header is not among them does not match,
    /// so a router may skip the matcher for it (the rule: module `necessary`).
    pub fn required_values(&self, header: TextHeader) -> Option<Vec<Box<[u8]>>> {
        necessary::required(&self.root, header)
    }

    /// The expression as given to [`Matcher::parse`].
    pub fn expression(&self) -> &str {
        &self.expression
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.expression)
    }
}

impl std::str::FromStr for Matcher {
    type Err = MatcherError;
    fn from_str(s: &str) -> Result<Matcher, MatcherError> {
        Matcher::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::eval::{Expr, Pattern, TESTS_RUN};
    use super::*;

    fn msg() -> Message {
        Message {
            r#type: Some("a".into()),
            ..Default::default()
        }
    }

    /// Runs `expr` against `msg()` and returns (matched, leaf tests evaluated).
    fn run(expr: &str) -> (bool, usize) {
        let m = Matcher::parse(expr).unwrap();
        TESTS_RUN.with(|n| n.set(0));
        let r = m.matches(&msg());
        (r, TESTS_RUN.with(|n| n.get()))
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // If || bound tighter these would be (a || b) && c.
        assert!(run("Type == 'a' || Type == 'b' && Type == 'c'").0);
        assert!(run("Type == 'c' && Type == 'b' || Type == 'a'").0);
        assert!(!run("(Type == 'a' || Type == 'b') && Type == 'c'").0);
        // The tree shape: one Any over [Test, All[Test, Test]].
        let m = Matcher::parse("Type == 'a' || Type == 'b' && Type == 'c'").unwrap();
        match &m.root {
            Expr::Any(terms) => {
                assert_eq!(terms.len(), 2);
                assert!(matches!(terms[0], Expr::Test(_)));
                assert!(matches!(&terms[1], Expr::All(t) if t.len() == 2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chains_are_flattened_left_to_right() {
        let m = Matcher::parse("TRUE && FALSE && TRUE && TRUE").unwrap();
        assert!(matches!(&m.root, Expr::All(t) if t.len() == 4));
        let m = Matcher::parse("FALSE || (FALSE || TRUE) || FALSE").unwrap();
        assert!(matches!(&m.root, Expr::Any(t) if t.len() == 3));
    }

    #[test]
    fn or_and_and_short_circuit() {
        assert_eq!(run("Type == 'a' || Type == 'b' || Type == 'c'"), (true, 1));
        assert_eq!(run("Type == 'x' || Type == 'a' || Type == 'c'"), (true, 2));
        assert_eq!(run("Type == 'x' && Type == 'a' && Type == 'a'"), (false, 1));
        assert_eq!(run("Type == 'a' && Type == 'x' && Type == 'a'"), (false, 2));
        assert_eq!(run("Type == 'a' && Type == 'a' && Type == 'a'"), (true, 3));
        // (x && _) || a: the && stops after x, then the || tries a.
        assert_eq!(run("Type == 'x' && Type == 'a' || Type == 'a'"), (true, 2));
        assert_eq!(run("TRUE || Type == 'a'"), (true, 0));
        assert_eq!(run("FALSE && Type == 'a'"), (false, 0));
    }

    #[test]
    fn literal_regexes_become_cheap_tests() {
        let kind = |re: &str| match Pattern::compile(re).unwrap() {
            Pattern::Prefix(p) => format!("prefix {}", String::from_utf8_lossy(&p)),
            Pattern::Suffix(p) => format!("suffix {}", String::from_utf8_lossy(&p)),
            Pattern::Exact(p) => format!("exact {}", String::from_utf8_lossy(&p)),
            Pattern::Contains(f) => format!("contains {}", String::from_utf8_lossy(f.needle())),
            Pattern::Regex(r) => format!("regex {}", r.as_str()),
        };
        assert_eq!(kind("^abc"), "prefix abc");
        assert_eq!(kind("abc$"), "suffix abc");
        assert_eq!(kind("^abc$"), "exact abc");
        assert_eq!(kind("abc"), "contains abc");
        assert_eq!(kind(r"a\.b"), "contains a.b");
        assert_eq!(kind(r"^a/b\$"), "prefix a/b$");
        assert_eq!(kind(r"a\\$"), r"suffix a\");
        assert_eq!(kind("a.c"), "regex a.c");
        assert_eq!(kind(r"^\d"), r"regex ^\d");
        assert_eq!(kind("^a|b$"), "regex ^a|b$");
        assert!(Pattern::compile("(").is_err());
    }

    #[test]
    fn shortcuts_agree_with_the_regex_engine() {
        let subjects = ["", "abc", "xabc", "abcx", "a.b", "axb", "a/b$", "ab", "ABC"];
        for re in [
            "^abc", "abc$", "^abc$", "abc", r"a\.b", r"^a/b\$", "^", "$", "^$", "",
        ] {
            let fast = Pattern::compile(re).unwrap();
            let slow = regex::bytes::Regex::new(re).unwrap();
            for s in subjects {
                assert_eq!(
                    fast.is_match(s.as_bytes()),
                    slow.is_match(s.as_bytes()),
                    "/{re}/ on {s:?}"
                );
            }
        }
    }

    #[test]
    fn matcher_is_send_sync_clone_and_displays_its_source() {
        fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug>() {}
        assert_traits::<Matcher>();
        let m: Matcher = "Type == 'a'".parse().unwrap();
        assert_eq!(m.to_string(), "Type == 'a'");
        assert_eq!(m.clone().expression(), "Type == 'a'");
    }
}
