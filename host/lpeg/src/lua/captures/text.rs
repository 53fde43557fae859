//! The captures that build text: substitution (`Cs`: the match with each nested
//! capture replaced by its first value) and string captures (`patt / "%1..."`), with
//! LPeg's rules for what may stand in for a piece and its errors.

use mlua::Value;

use super::{Eval, MAX_STR_CAPS, rt};
use crate::tree::CapKind;
use crate::vm::Tag;

impl Eval<'_> {
    /// Appends capture `i`'s value as a string (`Cs` and `/string` pieces); returns
    /// (index after it, whether it had a value).
    fn add_one_string(
        &mut self,
        i: usize,
        buf: &mut Vec<u8>,
        what: &str,
    ) -> mlua::Result<(usize, bool)> {
        match self.caps[i].kind {
            CapKind::String => return Ok((self.string_cap(i, buf)?, true)),
            CapKind::Subst => return Ok((self.subst(i, buf)?, true)),
            _ => {}
        }
        let mut v = Vec::new();
        let next = self.push(i, &mut v)?;
        let Some(first) = v.into_iter().next() else {
            return Ok((next, false));
        };
        match first {
            Value::String(s) => buf.extend_from_slice(&s.as_bytes()),
            // As Lua's `tostring` writes a number (`1e+15`), whichever way mlua
            // carries it, as the raw path and C LPeg do.
            Value::Integer(_) | Value::Number(_) => {
                let s = self
                    .lua
                    .coerce_string(first)?
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_default();
                buf.extend_from_slice(&s);
            }
            other => {
                return Err(rt(format!(
                    "invalid {what} value (a {})",
                    other.type_name()
                )));
            }
        }
        Ok((next, true))
    }

    pub(super) fn subst(&mut self, i: usize, buf: &mut Vec<u8>) -> mlua::Result<usize> {
        let (s, e, next) = self.extent(i);
        let mut cur = s;
        if self.caps[i].tag == Tag::Open {
            let mut k = i + 1;
            while k + 1 < next {
                let (cs, ce, _) = self.extent(k);
                buf.extend_from_slice(&self.subject[cur..cs.max(cur)]);
                let (n, had) = self.add_one_string(k, buf, "replacement")?;
                cur = if had { ce } else { cs.max(cur) };
                k = n;
            }
        }
        buf.extend_from_slice(&self.subject[cur.min(e)..e]);
        Ok(next)
    }

    /// Collects `%0..%9` for a string capture: plain simple captures (flattened) as
    /// text, other captures by index to evaluate on use.
    fn str_caps(&self, i: usize, list: &mut Vec<Piece>) -> usize {
        let (s, e, next) = self.extent(i);
        let at = list.len();
        list.push(Piece::Text(s, e));
        let _ = at;
        if self.caps[i].tag == Tag::Open {
            let mut k = i + 1;
            while k + 1 < next {
                let (_, _, n) = self.extent(k);
                if list.len() < MAX_STR_CAPS {
                    if self.caps[k].kind == CapKind::Simple {
                        self.str_caps(k, list);
                    } else {
                        list.push(Piece::Cap(k));
                    }
                }
                k = n;
            }
        }
        next
    }

    pub(super) fn string_cap(&mut self, i: usize, buf: &mut Vec<u8>) -> mlua::Result<usize> {
        let fmt = match self.key(i) {
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            _ => Vec::new(),
        };
        let mut pieces = Vec::new();
        let next = self.str_caps(i, &mut pieces);
        let mut j = 0;
        while j < fmt.len() {
            let ch = fmt[j];
            j += 1;
            if ch != b'%' {
                buf.push(ch);
                continue;
            }
            // A trailing '%' reads C LPeg's string terminator: a NUL byte.
            let d = fmt.get(j).copied().unwrap_or(0);
            j += 1;
            if !d.is_ascii_digit() {
                buf.push(d);
                continue;
            }
            let l = (d - b'0') as usize;
            match pieces.get(l) {
                None => return Err(rt(format!("invalid capture index ({l})"))),
                Some(Piece::Text(s, e)) => buf.extend_from_slice(&self.subject[*s..*e]),
                Some(Piece::Cap(k)) => {
                    if !self.add_one_string(*k, buf, "capture")?.1 {
                        return Err(rt(format!("no values in capture index {l}")));
                    }
                }
            }
        }
        Ok(next)
    }
}

/// One `%n` of a string capture.
enum Piece {
    Text(usize, usize),
    Cap(usize),
}
