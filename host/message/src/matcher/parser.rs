//! Recursive-descent parser for Heka's matcher grammar, producing the compiled
//! tree that `eval` walks. Precedence and associativity follow Heka's yacc file
//! (`%left OP_OR` then `%left OP_AND`: `&&` binds tighter, both associate left);
//! chains of the same operator are flattened into one n-ary node, so evaluation
//! depth grows only with parentheses, which are capped at [`MAX_DEPTH`].

use super::MatcherError;
use super::eval::{Expr, FieldTest, Pattern, StrTest, Test};
use super::lexer::{Lexer, Op, Spanned, Tok, op_text};

/// Parentheses nested deeper than this are refused (the parser and the evaluator
/// recurse once per level; no real matcher comes close).
pub(super) const MAX_DEPTH: usize = 64;

pub(super) fn parse(expr: &str) -> Result<Expr, MatcherError> {
    let mut p = Parser {
        lex: Lexer::new(expr),
        depth: 0,
    };
    // `spec := expr | spec expr`: Heka accepts expressions written one after the
    // other and (because its tree builder keeps the last one on its stack) only
    // the LAST one decides the match. Reproduced for compatibility.
    let mut last = p.or_expr()?;
    loop {
        let t = p.lex.peek()?;
        match t.tok {
            Tok::End => return Ok(last),
            Tok::LParen
            | Tok::True
            | Tok::False
            | Tok::StrVar(_)
            | Tok::NumVar(_)
            | Tok::Field { .. } => {
                last = p.or_expr()?;
            }
            _ => {
                let (offset, found) = (t.offset, t.tok.describe());
                return Err(p
                    .lex
                    .error(offset, "'&&', '||' or the end of the expression", found));
            }
        }
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    depth: usize,
}

impl Parser<'_> {
    fn unexpected(&self, t: &Spanned, expected: &str) -> MatcherError {
        self.lex.error(t.offset, expected, t.tok.describe())
    }

    fn or_expr(&mut self) -> Result<Expr, MatcherError> {
        let mut terms = vec![self.and_expr()?];
        while self.lex.peek()?.tok == Tok::Or {
            self.lex.next()?;
            terms.push(self.and_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Any(terms)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, MatcherError> {
        let mut terms = vec![self.primary()?];
        while self.lex.peek()?.tok == Tok::And {
            self.lex.next()?;
            terms.push(self.primary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::All(terms)
        })
    }

    fn primary(&mut self) -> Result<Expr, MatcherError> {
        let t = self.lex.next()?;
        match t.tok {
            Tok::LParen => {
                if self.depth >= MAX_DEPTH {
                    return Err(self.lex.error(
                        t.offset,
                        format!("at most {MAX_DEPTH} nested parentheses"),
                        "one more '('",
                    ));
                }
                self.depth += 1;
                let inner = self.or_expr()?;
                self.depth -= 1;
                let close = self.lex.next()?;
                if close.tok != Tok::RParen {
                    return Err(self.unexpected(
                        &close,
                        &format!("'&&', '||' or ')' closing the '(' at offset {}", t.offset),
                    ));
                }
                Ok(inner)
            }
            Tok::True => Ok(Expr::Const(true)),
            Tok::False => Ok(Expr::Const(false)),
            Tok::StrVar(var) => {
                let op = self.operator(true)?;
                let test = self.string_operand(op)?;
                Ok(Expr::Test(Test::Header { var, test }))
            }
            Tok::NumVar(var) => {
                let op = self.operator(false)?;
                let v = self.lex.next()?;
                match v.tok {
                    Tok::Num(value) => Ok(Expr::Test(Test::Numeric { var, op, value })),
                    _ => {
                        Err(self
                            .unexpected(&v, &format!("a number after {:?} {}", var, op_text(op))))
                    }
                }
            }
            Tok::Field { name, fi, ai } => {
                let op = self.operator(true)?;
                let v = self.lex.peek()?.clone();
                let test = match (&v.tok, op) {
                    (Tok::Num(value), op) if !op.is_regex() => {
                        self.lex.next()?;
                        FieldTest::Numeric { op, value: *value }
                    }
                    (Tok::True | Tok::False, Op::Eq) => {
                        self.lex.next()?;
                        FieldTest::Bool(v.tok == Tok::True)
                    }
                    (Tok::Nil, Op::Eq | Op::Ne) => {
                        self.lex.next()?;
                        FieldTest::Nil {
                            present: op == Op::Ne,
                        }
                    }
                    (Tok::Str(_) | Tok::Regex(_), _) => FieldTest::Str(self.string_operand(op)?),
                    _ => {
                        let expected = match op {
                            Op::Re | Op::NotRe => "a /regex/",
                            Op::Eq => "a quoted string, a number, TRUE, FALSE or NIL",
                            Op::Ne => "a quoted string, a number or NIL (TRUE/FALSE only with ==)",
                            _ => "a quoted string or a number",
                        };
                        return Err(self.unexpected(
                            &v,
                            &format!("{expected} after Fields[{name}] {}", op_text(op)),
                        ));
                    }
                };
                Ok(Expr::Test(Test::Field { name, fi, ai, test }))
            }
            _ => Err(self.unexpected(
                &t,
                "a test (Uuid, Type, Logger, Payload, EnvVersion, Hostname, Timestamp, \
                 Severity, Pid or Fields[name] followed by an operator), TRUE, FALSE or '('",
            )),
        }
    }

    /// The operator after a variable; `strings` says whether `=~`/`!~` are allowed.
    fn operator(&mut self, strings: bool) -> Result<Op, MatcherError> {
        let t = self.lex.next()?;
        match t.tok {
            Tok::Op(op) if strings || !op.is_regex() => Ok(op),
            Tok::Op(_) => Err(self.unexpected(
                &t,
                "a relational operator (==, !=, <, <=, >, >=); =~ and !~ apply to strings only",
            )),
            _ => Err(self.unexpected(
                &t,
                if strings {
                    "a comparison operator (==, !=, <, <=, >, >=, =~, !~)"
                } else {
                    "a relational operator (==, !=, <, <=, >, >=)"
                },
            )),
        }
    }

    /// A quoted string after a relational operator or a `/regex/` after `=~`/`!~`.
    fn string_operand(&mut self, op: Op) -> Result<StrTest, MatcherError> {
        let t = self.lex.next()?;
        match (t.tok, op.is_regex()) {
            (Tok::Str(s), false) => Ok(StrTest::Compare {
                op,
                value: s.into_bytes().into_boxed_slice(),
            }),
            (Tok::Regex(re), true) => {
                let pattern = Pattern::compile(&re).map_err(|e| {
                    self.lex
                        .error(t.offset, "a valid regular expression (RE2 syntax)", e)
                })?;
                Ok(StrTest::Regex {
                    pattern,
                    negate: op == Op::NotRe,
                })
            }
            (tok, regex) => Err(self.unexpected(
                &Spanned {
                    tok,
                    offset: t.offset,
                },
                &format!(
                    "{} after {}",
                    if regex {
                        "a /regex/"
                    } else {
                        "a quoted string"
                    },
                    op_text(op)
                ),
            )),
        }
    }
}
