//! The `re` syntax parser: recursive descent over the source, building pattern trees
//! directly (see the module above for the syntax). Recursion follows the nesting of
//! the source, bounded by [`MAX_NESTING`].

use mlua::{Lua, Table, Value};

use super::super::{LPattern, lerr, new_pattern, to_patt};
use super::{P, Res};
use crate::charset::Charset;
use crate::checked;
use crate::grammar;
use crate::tree::{self, CapKind, Name};

/// Deepest parenthesis/prefix nesting a `re` pattern may have.
const MAX_NESTING: u32 = 200;

pub(super) struct Parser<'a> {
    lua: &'a Lua,
    src: &'a [u8],
    i: usize,
    defs: Option<&'a Table>,
    /// How many grammars enclose the current point (names are rules only inside one).
    grammars: u32,
    depth: u32,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'a> Parser<'a> {
    pub(super) fn new(lua: &'a Lua, src: &'a [u8], defs: Option<&'a Table>) -> Self {
        Parser {
            lua,
            src,
            i: 0,
            defs,
            grammars: 0,
            depth: 0,
        }
    }

    fn error(&self) -> mlua::Error {
        let rest = &self.src[self.i.min(self.src.len())..];
        let shown = if rest.len() < 20 {
            String::from_utf8_lossy(rest).into_owned()
        } else {
            format!(
                "{}...",
                String::from_utf8_lossy(&rest[..21.min(rest.len())])
            )
        };
        mlua::Error::runtime(format!("pattern error near '{shown}'"))
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.i).copied()
    }

    fn at(&self, s: &str) -> bool {
        self.src[self.i..].starts_with(s.as_bytes())
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.at(s) {
            self.i += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str) -> Res<()> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// Skips spaces and `--` comments.
    fn space(&mut self) {
        loop {
            while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                self.i += 1;
            }
            if self.at("--") {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.i += 1;
                }
            } else {
                return;
            }
        }
    }

    fn name(&mut self) -> Option<String> {
        let start = self.i;
        if !self.peek().is_some_and(is_name_start) {
            return None;
        }
        while self.peek().is_some_and(is_name_char) {
            self.i += 1;
        }
        Some(String::from_utf8_lossy(&self.src[start..self.i]).into_owned())
    }

    fn num(&mut self) -> Option<i64> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.src[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    /// Whether a definition (`name <-`) starts here.
    fn at_definition(&mut self) -> bool {
        let save = self.i;
        let yes = self.name().is_some() && {
            self.space();
            self.at("<-")
        };
        self.i = save;
        yes
    }

    pub(super) fn pattern(mut self) -> Res<P> {
        let p = self.exp()?;
        if self.i < self.src.len() {
            return Err(self.error());
        }
        Ok(p)
    }

    fn exp(&mut self) -> Res<P> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(mlua::Error::runtime("pattern error: nesting too deep"));
        }
        self.space();
        let r = if self.at_definition() {
            self.grammar()
        } else {
            self.alternative()
        };
        self.depth -= 1;
        r
    }

    fn alternative(&mut self) -> Res<P> {
        let mut p = self.seq()?;
        while self.eat("/") {
            self.space();
            let q = self.seq()?;
            p = tree::choice(&p, &q).map_err(lerr)?;
        }
        Ok(p)
    }

    fn seq(&mut self) -> Res<P> {
        let mut parts = Vec::new();
        loop {
            self.space();
            let end = match self.peek() {
                None => true,
                Some(b'/' | b')') => true,
                Some(b'}') => true,
                Some(b':' | b'~' | b'|') => self.src.get(self.i + 1) == Some(&b'}'),
                _ => self.at_definition(),
            };
            if end {
                break;
            }
            parts.push(self.prefix()?);
        }
        tree::seq_all(parts).map_err(lerr)
    }

    fn prefix(&mut self) -> Res<P> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(mlua::Error::runtime("pattern error: nesting too deep"));
        }
        let r = if self.eat("&") {
            self.space();
            let p = self.prefix()?;
            tree::and(&p).map_err(lerr)
        } else if self.eat("!") {
            self.space();
            let p = self.prefix()?;
            tree::not(&p).map_err(lerr)
        } else {
            self.suffix()
        };
        self.depth -= 1;
        r
    }

    fn suffix(&mut self) -> Res<P> {
        let mut p = self.primary()?;
        loop {
            self.space();
            p = if self.eat("+") {
                checked::repeat(&p, 1).map_err(lerr)?
            } else if self.eat("*") {
                checked::repeat(&p, 0).map_err(lerr)?
            } else if self.eat("?") {
                checked::repeat(&p, -1).map_err(lerr)?
            } else if self.eat("^") {
                let sign = if self.eat("+") {
                    1
                } else if self.eat("-") {
                    -1
                } else {
                    0
                };
                let n = self.num().ok_or_else(|| self.error())?;
                match sign {
                    0 => tree::seq_all(vec![p.clone(); n.min(1 << 20) as usize]).map_err(lerr)?,
                    s => checked::repeat(&p, s * n).map_err(lerr)?,
                }
            } else if self.eat("->") {
                self.space();
                self.arrow(p)?
            } else if self.eat("=>") {
                self.space();
                let f = self.def_name()?;
                super::super::construct::check_function(&f, "=>")?;
                tree::capture(CapKind::Runtime, Some(f), 0, &p).map_err(lerr)?
            } else if self.eat("~>") {
                self.space();
                let f = self.def_name()?;
                super::super::construct::check_function(&f, "~>")?;
                tree::capture(CapKind::Fold, Some(f), 0, &p).map_err(lerr)?
            } else {
                return Ok(p);
            };
        }
    }

    /// What follows `->`: a string, a number, `{}` or a name from the definitions.
    fn arrow(&mut self, p: P) -> Res<P> {
        let ud = new_pattern(self.lua, p.clone())?;
        let rhs = if let Some(s) = self.string()? {
            Value::String(self.lua.create_string(&s)?)
        } else if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            Value::Integer(self.num().ok_or_else(|| self.error())?)
        } else if self.eat("{}") {
            return tree::capture(CapKind::Table, None, 0, &p).map_err(lerr);
        } else {
            self.def_name()?
        };
        let r = super::super::construct::div(self.lua, Value::UserData(ud), rhs)?;
        let t = r.borrow::<LPattern>()?.tree.clone();
        Ok(t)
    }

    /// `name` looked up in the definitions table (for `->`, `=>`, `~>`).
    fn def_name(&mut self) -> Res<Value> {
        let name = self.name().ok_or_else(|| self.error())?;
        let v = match self.defs {
            Some(d) => d.get::<Value>(name.as_str())?,
            None => Value::Nil,
        };
        if v.is_nil() {
            return Err(mlua::Error::runtime(format!("undefined name: {name}")));
        }
        Ok(v)
    }

    fn string(&mut self) -> Res<Option<Vec<u8>>> {
        let Some(q @ (b'\'' | b'"')) = self.peek() else {
            return Ok(None);
        };
        let start = self.i + 1;
        let Some(len) = self.src[start..].iter().position(|&c| c == q) else {
            return Err(self.error());
        };
        self.i = start + len + 1;
        Ok(Some(self.src[start..start + len].to_vec()))
    }

    fn primary(&mut self) -> Res<P> {
        let e = |r: Result<P, crate::Error>| r.map_err(lerr);
        if self.eat("(") {
            let p = self.exp()?;
            self.expect(")")?;
            return Ok(p);
        }
        if let Some(s) = self.string()? {
            return Ok(tree::literal(&s));
        }
        match self.peek() {
            Some(b'[') => return self.class(),
            Some(b'%') => {
                self.i += 1;
                return self.defined();
            }
            Some(b'.') => {
                self.i += 1;
                return Ok(tree::any(1));
            }
            Some(b'=') => {
                self.i += 1;
                let name = self.name().ok_or_else(|| self.error())?;
                return self.back_reference(&name);
            }
            _ => {}
        }
        if self.eat("{:") {
            let save = self.i;
            let name = match self.name() {
                Some(n) if self.eat(":") => Some(Value::String(self.lua.create_string(&n)?)),
                _ => {
                    self.i = save;
                    None
                }
            };
            let p = self.exp()?;
            self.expect(":}")?;
            return e(tree::capture(CapKind::Group, name, 0, &p));
        }
        if self.eat("{}") {
            return e(tree::capture(CapKind::Position, None, 0, &tree::succeed()));
        }
        for (open, close, kind) in [
            ("{~", "~}", CapKind::Subst),
            ("{|", "|}", CapKind::Table),
            ("{", "}", CapKind::Simple),
        ] {
            if self.eat(open) {
                let p = self.exp()?;
                self.expect(close)?;
                return e(tree::capture(kind, None, 0, &p));
            }
        }
        let name = if self.eat("<") {
            let n = self.name().ok_or_else(|| self.error())?;
            self.expect(">")?;
            n
        } else {
            let save = self.i;
            match self.name() {
                Some(n) => {
                    let after = self.i;
                    self.space();
                    if self.at("<-") {
                        self.i = save;
                        return Err(self.error());
                    }
                    self.i = after;
                    n
                }
                None => return Err(self.error()),
            }
        };
        if self.grammars == 0 {
            return Err(mlua::Error::runtime(format!(
                "rule '{name}' used outside a grammar"
            )));
        }
        Ok(tree::open(Name::Str(name.into_bytes().into_boxed_slice())))
    }

    /// `%name`: the definitions' value or a predefined class.
    fn defined(&mut self) -> Res<P> {
        let name = self.name().ok_or_else(|| self.error())?;
        if let Some(d) = self.defs {
            let v: Value = d.get(name.as_str())?;
            if !v.is_nil() {
                return to_patt(self.lua, &v, "compile", 2);
            }
        }
        predefined(&name).ok_or_else(|| mlua::Error::runtime(format!("name '{name}' undefined")))
    }

    fn class(&mut self) -> Res<P> {
        self.expect("[")?;
        let negate = self.eat("^");
        let mut items: Vec<P> = Vec::new();
        let mut first = true;
        loop {
            match self.peek() {
                None => return Err(self.error()),
                Some(b']') if !first => break,
                Some(b'%') => {
                    self.i += 1;
                    items.push(self.defined()?);
                }
                Some(c) => {
                    if self.src.get(self.i + 1) == Some(&b'-')
                        && self.src.get(self.i + 2).is_some_and(|&d| d != b']')
                    {
                        let d = self.src[self.i + 2];
                        self.i += 3;
                        items.push(tree::set(Charset::range(c, d)));
                    } else {
                        self.i += 1;
                        items.push(tree::set(Charset::single(c)));
                    }
                }
            }
            first = false;
        }
        self.i += 1;
        let mut p = tree::fail();
        for q in items {
            p = tree::choice(&p, &q).map_err(lerr)?;
        }
        if negate {
            p = tree::diff(&tree::any(1), &p).map_err(lerr)?;
        }
        Ok(p)
    }

    /// `=name`: matches what the group `name` captured last.
    fn back_reference(&mut self, name: &str) -> Res<P> {
        let key = Value::String(self.lua.create_string(name)?);
        let cb = tree::capture(CapKind::Backref, Some(key), 0, &tree::succeed()).map_err(lerr)?;
        let equal = self
            .lua
            .create_function(|_, (s, i, c): (mlua::LuaString, i64, Value)| {
                let Value::String(c) = c else {
                    return Ok(Value::Nil);
                };
                let (s, c) = (s.as_bytes(), c.as_bytes());
                let start = (i - 1).max(0) as usize;
                Ok(if s.get(start..).is_some_and(|rest| rest.starts_with(&c)) {
                    Value::Integer(i + c.len() as i64)
                } else {
                    Value::Nil
                })
            })?;
        tree::capture(CapKind::Runtime, Some(Value::Function(equal)), 0, &cb).map_err(lerr)
    }

    fn grammar(&mut self) -> Res<P> {
        self.grammars += 1;
        let mut rules: Vec<(Name, P)> = Vec::new();
        while self.at_definition() {
            let name = self.name().ok_or_else(|| self.error())?;
            self.space();
            self.expect("<-")?;
            let body = self.exp()?;
            let key = Name::Str(name.clone().into_bytes().into_boxed_slice());
            if rules.iter().any(|(n, _)| *n == key) {
                return Err(mlua::Error::runtime(format!(
                    "'{name}' already defined as a rule"
                )));
            }
            rules.push((key, body));
            self.space();
        }
        self.grammars -= 1;
        let initial = rules
            .first()
            .map(|(n, _)| n.clone())
            .ok_or_else(|| self.error())?;
        grammar::build(rules, &initial).map_err(lerr)
    }
}

/// re's predefined classes: `%nl`, LPeg's locale names and Lua's one-letter classes
/// (upper case: the complement).
fn predefined(name: &str) -> Option<P> {
    if name == "nl" {
        return Some(tree::literal(b"\n"));
    }
    let full = match name.to_ascii_lowercase().as_str() {
        "a" => "alpha",
        "c" => "cntrl",
        "d" => "digit",
        "g" => "graph",
        "l" => "lower",
        "p" => "punct",
        "s" => "space",
        "u" => "upper",
        "w" => "alnum",
        "x" => "xdigit",
        _ => name,
    };
    let cs = super::super::construct::class_set(full)?;
    let upper_single = name.len() == 1 && name.as_bytes()[0].is_ascii_uppercase();
    Some(tree::set(if upper_single { cs.complement() } else { cs }))
}
