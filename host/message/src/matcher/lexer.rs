//! The matcher's tokenizer, following Heka's hand-written `Lex` in
//! `message_matcher_parser.y` rule for rule (see the module doc of `matcher`), but
//! reporting an error where Heka silently produced an end-of-input token or a 0.

use super::MatcherError;

/// Comparison operators; `Re`/`NotRe` take a `/regex/`, the others a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Re,
    NotRe,
}

impl Op {
    pub(super) fn is_regex(self) -> bool {
        matches!(self, Op::Re | Op::NotRe)
    }
}

/// The string-valued header variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StrVar {
    Uuid,
    Type,
    Logger,
    Payload,
    EnvVersion,
    Hostname,
}

/// The numeric header variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NumVar {
    Timestamp,
    Severity,
    Pid,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Op(Op),
    StrVar(StrVar),
    NumVar(NumVar),
    Field { name: String, fi: usize, ai: usize },
    Str(String),
    Num(f64),
    Regex(String),
    True,
    False,
    Nil,
    End,
}

impl Tok {
    /// How the token is named in "found ..." messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::And => "'&&'".into(),
            Tok::Or => "'||'".into(),
            Tok::Op(op) => format!("'{}'", op_text(*op)),
            Tok::StrVar(v) => format!("the variable {v:?}"),
            Tok::NumVar(v) => format!("the variable {v:?}"),
            Tok::Field { name, .. } => format!("Fields[{name}]"),
            Tok::Str(s) => format!("the string {s:?}"),
            Tok::Num(n) => format!("the number {n}"),
            Tok::Regex(r) => format!("the regex /{r}/"),
            Tok::True => "TRUE".into(),
            Tok::False => "FALSE".into(),
            Tok::Nil => "NIL".into(),
            Tok::End => "the end of the expression".into(),
        }
    }
}

pub(super) fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "==",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Re => "=~",
        Op::NotRe => "!~",
    }
}

/// A token and the byte offset where it starts.
#[derive(Clone, Debug)]
pub(super) struct Spanned {
    pub tok: Tok,
    pub offset: usize,
}

pub(super) struct Lexer<'a> {
    /// The whole expression (for error messages).
    expr: &'a str,
    /// The part that is lexed: up to the first newline (Heka treats a newline as
    /// the end of the input and ignores the rest).
    src: &'a [u8],
    pos: usize,
    peeked: Option<Spanned>,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(expr: &'a str) -> Lexer<'a> {
        let end = expr.find('\n').unwrap_or(expr.len());
        Lexer {
            expr,
            src: &expr.as_bytes()[..end],
            pos: 0,
            peeked: None,
        }
    }

    pub(super) fn error(
        &self,
        offset: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> MatcherError {
        MatcherError {
            expression: self.expr.to_owned(),
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub(super) fn peek(&mut self) -> Result<&Spanned, MatcherError> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lex()?,
        };
        Ok(self.peeked.insert(t))
    }

    pub(super) fn next(&mut self) -> Result<Spanned, MatcherError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex(),
        }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.src.get(at).copied()
    }

    /// The character at `at` for "found ..." messages.
    fn char_at(&self, at: usize) -> String {
        match self.expr[at..].chars().next() {
            Some(c) if at < self.src.len() => format!("{c:?}"),
            _ => "the end of the expression".into(),
        }
    }

    fn lex(&mut self) -> Result<Spanned, MatcherError> {
        while matches!(self.byte(self.pos), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        let start = self.pos;
        let spanned = |tok| Ok(Spanned { tok, offset: start });
        let Some(c) = self.byte(start) else {
            return spanned(Tok::End);
        };
        let two = |this: &mut Self, tok| {
            this.pos += 2;
            spanned(tok)
        };
        let next = self.byte(start + 1);
        match c {
            b'A'..=b'Z' => self.identifier(start),
            b'0'..=b'9' | b'.' => self.number(start),
            b'"' | b'\'' => self.string(start, c),
            b'/' => self.regex(start),
            b'(' => {
                self.pos += 1;
                spanned(Tok::LParen)
            }
            b')' => {
                self.pos += 1;
                spanned(Tok::RParen)
            }
            b'=' if next == Some(b'=') => two(self, Tok::Op(Op::Eq)),
            b'=' if next == Some(b'~') => two(self, Tok::Op(Op::Re)),
            b'!' if next == Some(b'=') => two(self, Tok::Op(Op::Ne)),
            b'!' if next == Some(b'~') => two(self, Tok::Op(Op::NotRe)),
            b'<' if next == Some(b'=') => two(self, Tok::Op(Op::Le)),
            b'>' if next == Some(b'=') => two(self, Tok::Op(Op::Ge)),
            b'<' => {
                self.pos += 1;
                spanned(Tok::Op(Op::Lt))
            }
            b'>' => {
                self.pos += 1;
                spanned(Tok::Op(Op::Gt))
            }
            b'&' if next == Some(b'&') => two(self, Tok::And),
            b'|' if next == Some(b'|') => two(self, Tok::Or),
            b'=' | b'!' | b'&' | b'|' => Err(self.error(
                start,
                match c {
                    b'=' => "'==' or '=~'",
                    b'!' => "'!=' or '!~'",
                    b'&' => "'&&'",
                    _ => "'||'",
                },
                format!("{:?} followed by {}", c as char, self.char_at(start + 1)),
            )),
            b'-' => Err(self.error(
                start,
                "a token (numbers cannot be negative in Heka's matcher)",
                "'-'",
            )),
            _ => Err(self.error(start, "a token", self.char_at(start))),
        }
    }

    fn identifier(&mut self, start: usize) -> Result<Spanned, MatcherError> {
        let mut end = start + 1;
        while self.byte(end).is_some_and(|b| b.is_ascii_alphabetic()) {
            end += 1;
        }
        let word = &self.expr[start..end];
        self.pos = end;
        let tok = match word {
            "Uuid" => Tok::StrVar(StrVar::Uuid),
            "Type" => Tok::StrVar(StrVar::Type),
            "Logger" => Tok::StrVar(StrVar::Logger),
            "Payload" => Tok::StrVar(StrVar::Payload),
            "EnvVersion" => Tok::StrVar(StrVar::EnvVersion),
            "Hostname" => Tok::StrVar(StrVar::Hostname),
            "Timestamp" => Tok::NumVar(NumVar::Timestamp),
            "Severity" => Tok::NumVar(NumVar::Severity),
            "Pid" => Tok::NumVar(NumVar::Pid),
            "TRUE" => Tok::True,
            "FALSE" => Tok::False,
            "NIL" => Tok::Nil,
            "Fields" => return self.fields(start),
            _ => {
                return Err(self.error(
                    start,
                    "a variable (Uuid, Type, Logger, Payload, EnvVersion, Hostname, \
                     Timestamp, Severity, Pid, Fields[name]) or TRUE, FALSE, NIL",
                    format!("{word:?}"),
                ));
            }
        };
        Ok(Spanned { tok, offset: start })
    }

    /// `Fields[name]`, `Fields[name][fi]`, `Fields[name][fi][ai]`; `self.pos` is
    /// just after `Fields`.
    fn fields(&mut self, start: usize) -> Result<Spanned, MatcherError> {
        if self.byte(self.pos) != Some(b'[') {
            return Err(self.error(self.pos, "'[' after Fields", self.char_at(self.pos)));
        }
        // The name: anything up to ']' (Heka allows dots, spaces, quotes...).
        let name_start = self.pos + 1;
        let Some(len) = self.src[name_start..].iter().position(|&b| b == b']') else {
            return Err(self.error(
                self.src.len(),
                "']' closing the field name",
                "the end of the expression",
            ));
        };
        if len == 0 {
            return Err(self.error(name_start, "a field name", "']'"));
        }
        let name = self.expr[name_start..name_start + len].to_owned();
        self.pos = name_start + len + 1;
        let mut idx = [0usize; 2];
        for slot in &mut idx {
            if self.byte(self.pos) != Some(b'[') {
                break;
            }
            let digits_start = self.pos + 1;
            let mut end = digits_start;
            while self.byte(end).is_some_and(|b| b.is_ascii_digit()) {
                end += 1;
            }
            if end == digits_start || self.byte(end) != Some(b']') {
                let what = if end == digits_start {
                    "an index (decimal digits)"
                } else {
                    "']' closing the index"
                };
                return Err(self.error(end, what, self.char_at(end)));
            }
            *slot = self.expr[digits_start..end].parse().map_err(|_| {
                self.error(
                    digits_start,
                    "an index that fits in memory",
                    format!("{:?}", &self.expr[digits_start..end]),
                )
            })?;
            self.pos = end + 1;
        }
        Ok(Spanned {
            tok: Tok::Field {
                name,
                fi: idx[0],
                ai: idx[1],
            },
            offset: start,
        })
    }

    /// Heka's number: a digit or `.` followed by any of `0-9 . e + -`, parsed as f64.
    fn number(&mut self, start: usize) -> Result<Spanned, MatcherError> {
        let mut end = start + 1;
        while self
            .byte(end)
            .is_some_and(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'+' | b'-'))
        {
            end += 1;
        }
        let text = &self.expr[start..end];
        // Heka logged the error and used 0; a config error is kinder.
        let value: f64 = text
            .parse()
            .map_err(|_| self.error(start, "a number", format!("{text:?}")))?;
        self.pos = end;
        Ok(Spanned {
            tok: Tok::Num(value),
            offset: start,
        })
    }

    /// A single- or double-quoted string: `\<quote>` is the quote, any other `\c`
    /// stays as both characters.
    fn string(&mut self, start: usize, quote: u8) -> Result<Spanned, MatcherError> {
        let text = self.delimited(start, quote, "string")?;
        Ok(Spanned {
            tok: Tok::Str(text),
            offset: start,
        })
    }

    /// `/.../`: `\/` is `/`, any other escape goes to the regex engine as written.
    fn regex(&mut self, start: usize) -> Result<Spanned, MatcherError> {
        let text = self.delimited(start, b'/', "regex")?;
        Ok(Spanned {
            tok: Tok::Regex(text),
            offset: start,
        })
    }

    /// The text between the delimiter at `start` and the next unescaped `close`, with
    /// `\<close>` read as `close` and any other escape kept as written (both
    /// characters, skipped together so an escaped backslash cannot escape the
    /// delimiter after it). `what` names the literal in the error.
    fn delimited(&mut self, start: usize, close: u8, what: &str) -> Result<String, MatcherError> {
        let mut out = String::new();
        let mut i = start + 1;
        let mut chunk = i;
        loop {
            match self.byte(i) {
                None => {
                    return Err(self.error(
                        self.src.len(),
                        format!(
                            "the closing {} of the {what} started at offset {start}",
                            close as char
                        ),
                        "the end of the expression",
                    ));
                }
                Some(b'\\') if self.byte(i + 1) == Some(close) => {
                    out.push_str(&self.expr[chunk..i]);
                    out.push(close as char);
                    i += 2;
                    chunk = i;
                }
                Some(b'\\') if self.byte(i + 1).is_some() => {
                    i += 1 + utf8_len(self.src[i + 1]);
                }
                Some(b) if b == close => {
                    out.push_str(&self.expr[chunk..i]);
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(_) => i += 1,
            }
        }
    }
}

/// Length of the UTF-8 sequence starting with `b` (so escapes never split a char).
fn utf8_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}
