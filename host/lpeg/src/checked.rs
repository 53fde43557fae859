//! The two pattern constructors whose LPeg errors depend on what a pattern can match:
//! `lpeg.B(p)` (a look-behind needs a fixed length) and `p^n` (a loop body must not
//! match the empty string, "loop body may accept empty string").
//!
//! Apart from `tree` on purpose: they read a pattern's properties (`props`), and
//! `props` reads the tree's types, so keeping them in `tree` would make the two
//! modules import each other.

use crate::Error;
use crate::props::{fixed_len, nullable};
use crate::tree::{Kind, MAX_BEHIND, MAX_SIZE, Patt, choice, node, seq_all, succeed};

/// `lpeg.B(p)`.
pub fn behind<K>(p: &Patt<K>) -> Result<Patt<K>, Error> {
    let n = fixed_len(p).ok_or(Error::NotFixedLength)?;
    if p.has_caps {
        return Err(Error::BehindCaptures);
    }
    if n > MAX_BEHIND {
        return Err(Error::BehindTooLong);
    }
    if n == 0 {
        return Ok(succeed());
    }
    node(Kind::Behind(p.clone(), n as u32))
}

/// `p^n`: at least `n` repetitions for `n >= 0`, at most `-n` for `n < 0`.
pub fn repeat<K>(p: &Patt<K>, n: i64) -> Result<Patt<K>, Error> {
    let count = n.unsigned_abs();
    if count.saturating_mul(p.size) > MAX_SIZE {
        return Err(Error::TooComplex);
    }
    let mut parts: Vec<Patt<K>> = Vec::with_capacity(count as usize + 1);
    if n >= 0 {
        if !p.has_open && nullable(p) {
            return Err(Error::EmptyLoop);
        }
        parts.extend((0..count).map(|_| p.clone()));
        parts.push(node(Kind::Rep(p.clone()))?);
    } else {
        // At most `count`: `p? p? ... p?`. Matching is deterministic at a position, so
        // once one optional `p` fails the following ones fail too: the same language as
        // LPeg's nested `(p (p ...)?)?`, without the nesting depth.
        let opt = choice(p, &succeed())?;
        parts.extend((0..count).map(|_| opt.clone()));
    }
    seq_all(parts)
}
