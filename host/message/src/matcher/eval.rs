//! The compiled matcher and its evaluation. Everything a test needs (literals,
//! compiled regexes, substring finders) is built at parse time, so [`Expr::eval`]
//! reads the message and allocates nothing.

use super::lexer::{NumVar, Op, StrVar};
use crate::{Message, ValueType};
use memchr::memmem::Finder;

#[derive(Clone, Debug)]
pub(super) enum Expr {
    Const(bool),
    Test(Test),
    /// `a && b && ...`, evaluated left to right, stopping at the first false.
    All(Vec<Expr>),
    /// `a || b || ...`, evaluated left to right, stopping at the first true.
    Any(Vec<Expr>),
}

#[derive(Clone, Debug)]
pub(super) enum Test {
    Header {
        var: StrVar,
        test: StrTest,
    },
    Numeric {
        var: NumVar,
        op: Op,
        value: f64,
    },
    Field {
        name: String,
        fi: usize,
        ai: usize,
        test: FieldTest,
    },
}

#[derive(Clone, Debug)]
pub(super) enum FieldTest {
    /// Applies to STRING and BYTES values.
    Str(StrTest),
    /// Applies to INTEGER and DOUBLE values (compared as f64).
    Numeric { op: Op, value: f64 },
    /// `== TRUE` / `== FALSE`: applies to BOOL values.
    Bool(bool),
    /// `== NIL` (`present == false`) or `!= NIL` (`present == true`).
    Nil { present: bool },
}

#[derive(Clone, Debug)]
pub(super) enum StrTest {
    Compare { op: Op, value: Box<[u8]> },
    Regex { pattern: Pattern, negate: bool },
}

/// A `/regex/`, or the cheaper test it reduces to.
#[derive(Clone, Debug)]
pub(super) enum Pattern {
    /// `/^literal/`
    Prefix(Box<[u8]>),
    /// `/literal$/`
    Suffix(Box<[u8]>),
    /// `/^literal$/`
    Exact(Box<[u8]>),
    /// `/literal/`
    /// (boxed: a `Finder` is ~300 bytes and would size every node like it)
    Contains(Box<Finder<'static>>),
    Regex(regex::bytes::Regex),
}

impl Pattern {
    /// Compiles a regex body, reducing it to a literal test when it is one. The
    /// reductions are exact (same answer as the regex), unlike Heka's, which also
    /// reduced `/^abc$/` to "ends with abc".
    pub(super) fn compile(re: &str) -> Result<Pattern, String> {
        let (anchored_start, rest) = match re.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, re),
        };
        // A trailing `$` is an anchor unless it is escaped (`\$`): count the
        // backslashes before it.
        let (anchored_end, body) = match rest.strip_suffix('$') {
            Some(b) if b.bytes().rev().take_while(|&c| c == b'\\').count() % 2 == 0 => (true, b),
            _ => (false, rest),
        };
        if let Some(lit) = literal(body) {
            let lit = lit.into_bytes().into_boxed_slice();
            return Ok(match (anchored_start, anchored_end) {
                (true, true) => Pattern::Exact(lit),
                (true, false) => Pattern::Prefix(lit),
                (false, true) => Pattern::Suffix(lit),
                (false, false) => Pattern::Contains(Box::new(Finder::new(&lit[..]).into_owned())),
            });
        }
        regex::bytes::Regex::new(re)
            .map(Pattern::Regex)
            .map_err(|e| e.to_string())
    }

    pub(super) fn is_match(&self, s: &[u8]) -> bool {
        match self {
            Pattern::Prefix(p) => s.starts_with(p),
            Pattern::Suffix(p) => s.ends_with(p),
            Pattern::Exact(p) => s == &p[..],
            Pattern::Contains(f) => f.find(s).is_some(),
            Pattern::Regex(r) => r.is_match(s),
        }
    }
}

/// The text a regex body matches literally, if it has no regex meaning: no
/// metacharacters except backslash-escaped punctuation.
fn literal(body: &str) -> Option<String> {
    const META: &str = "\\.+*?()|[]{}^$";
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e) if META.contains(e) || e == '/' => out.push(e),
                _ => return None,
            }
        } else if META.contains(c) {
            return None;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

impl Expr {
    pub(super) fn eval(&self, msg: &Message) -> bool {
        match self {
            Expr::Const(b) => *b,
            Expr::Test(t) => t.eval(msg),
            Expr::All(terms) => terms.iter().all(|t| t.eval(msg)),
            Expr::Any(terms) => terms.iter().any(|t| t.eval(msg)),
        }
    }
}

#[cfg(test)]
thread_local! {
    /// How many leaf tests ran on this thread (to observe short-circuiting).
    pub(super) static TESTS_RUN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Test {
    fn eval(&self, msg: &Message) -> bool {
        #[cfg(test)]
        TESTS_RUN.with(|n| n.set(n.get() + 1));
        match self {
            Test::Header { var, test } => {
                let mut buf = [0u8; 36];
                let s: &[u8] = match var {
                    StrVar::Uuid => msg.uuid_str(&mut buf).unwrap_or("").as_bytes(),
                    StrVar::Type => msg.type_().as_bytes(),
                    StrVar::Logger => msg.logger().as_bytes(),
                    StrVar::Payload => msg.payload(),
                    StrVar::EnvVersion => msg.env_version().as_bytes(),
                    StrVar::Hostname => msg.hostname().as_bytes(),
                };
                test.eval(s)
            }
            Test::Numeric { var, op, value } => {
                let v = match var {
                    // Heka compares as float64 too (precision loss above 2^53 ns included).
                    NumVar::Timestamp => msg.timestamp as f64,
                    NumVar::Severity => f64::from(msg.severity()),
                    NumVar::Pid => f64::from(msg.pid()),
                };
                compare_f64(v, *op, *value)
            }
            Test::Field { name, fi, ai, test } => {
                let absent = matches!(test, FieldTest::Nil { present: false });
                let Some(field) = msg.fields.iter().filter(|f| f.name == *name).nth(*fi) else {
                    return absent;
                };
                let (fi_len, kind) = match ValueType::try_from(field.value_type.unwrap_or(0)) {
                    Ok(kind) => (field_len(field, kind), kind),
                    // An unknown value type matches nothing, not even NIL (as Heka).
                    Err(_) => return false,
                };
                if *ai >= fi_len {
                    return absent;
                }
                match (test, kind) {
                    (FieldTest::Nil { present }, _) => *present,
                    (FieldTest::Str(t), ValueType::String) => t.eval(&field.value_string[*ai]),
                    (FieldTest::Str(t), ValueType::Bytes) => t.eval(&field.value_bytes[*ai]),
                    (FieldTest::Numeric { op, value }, ValueType::Integer) => {
                        compare_f64(field.value_integer[*ai] as f64, *op, *value)
                    }
                    (FieldTest::Numeric { op, value }, ValueType::Double) => {
                        compare_f64(field.value_double[*ai], *op, *value)
                    }
                    (FieldTest::Bool(want), ValueType::Bool) => field.value_bool[*ai] == *want,
                    // Type mismatch: false.
                    _ => false,
                }
            }
        }
    }
}

fn field_len(f: &crate::Field, kind: ValueType) -> usize {
    match kind {
        ValueType::String => f.value_string.len(),
        ValueType::Bytes => f.value_bytes.len(),
        ValueType::Integer => f.value_integer.len(),
        ValueType::Double => f.value_double.len(),
        ValueType::Bool => f.value_bool.len(),
    }
}

impl StrTest {
    fn eval(&self, s: &[u8]) -> bool {
        match self {
            // Byte-wise lexicographic, as Go's string comparison.
            StrTest::Compare { op, value } => compare_ord(s.cmp(value), *op),
            StrTest::Regex { pattern, negate } => pattern.is_match(s) != *negate,
        }
    }
}

fn compare_ord(ord: std::cmp::Ordering, op: Op) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => ord == Equal,
        Op::Ne => ord != Equal,
        Op::Lt => ord == Less,
        Op::Le => ord != Greater,
        Op::Gt => ord == Greater,
        Op::Ge => ord != Less,
        Op::Re | Op::NotRe => false,
    }
}

/// IEEE comparisons, as Go's: NaN is unequal to everything and `!=` is true for it.
fn compare_f64(v: f64, op: Op, lit: f64) -> bool {
    match op {
        Op::Eq => v == lit,
        Op::Ne => v != lit,
        Op::Lt => v < lit,
        Op::Le => v <= lit,
        Op::Gt => v > lit,
        Op::Ge => v >= lit,
        Op::Re | Op::NotRe => false,
    }
}
