//! Heka's `message_matcher` language (feature `matcher`).

use crate::Message;

/// A parse error: the expression, where, and what was expected there.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid message_matcher {expression:?}: {expected} at offset {offset}")]
pub struct MatcherError {
    pub expression: String,
    pub offset: usize,
    pub expected: String,
}

/// A compiled matcher expression.
#[derive(Clone, Debug)]
pub struct Matcher {
    expression: String,
}

impl Matcher {
    /// Parses and compiles `expr`.
    pub fn parse(expr: &str) -> Result<Matcher, MatcherError> {
        let _ = expr;
        todo!()
    }

    /// Whether `msg` matches. Allocates nothing.
    pub fn matches(&self, msg: &Message) -> bool {
        let _ = msg;
        todo!()
    }

    /// The source text.
    pub fn expression(&self) -> &str {
        &self.expression
    }
}

impl std::str::FromStr for Matcher {
    type Err = MatcherError;
    fn from_str(s: &str) -> Result<Matcher, MatcherError> {
        Matcher::parse(s)
    }
}
