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
mod parser;

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
