//! 256-bit character sets, LPeg's `Charset`: one bit per byte value.
//!
//! Sets are the workhorse of the VM (`Set`, `Span`, `TestSet`) and of the compiler's
//! first-character analysis, so they are plain `[u64; 4]` values copied freely.

/// A set of byte values.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Charset(pub [u64; 4]);

impl Charset {
    /// The empty set.
    pub const EMPTY: Charset = Charset([0; 4]);
    /// Every byte value.
    pub const FULL: Charset = Charset([u64::MAX; 4]);

    /// The set holding only `c`.
    pub fn single(c: u8) -> Charset {
        let mut s = Charset::EMPTY;
        s.insert(c);
        s
    }

    /// The set of the bytes in `bytes` (`lpeg.S`).
    pub fn from_bytes(bytes: &[u8]) -> Charset {
        let mut s = Charset::EMPTY;
        for &c in bytes {
            s.insert(c);
        }
        s
    }

    /// The bytes `lo..=hi` (`lpeg.R`); empty when `lo > hi`.
    pub fn range(lo: u8, hi: u8) -> Charset {
        let mut s = Charset::EMPTY;
        for c in lo..=hi {
            s.insert(c);
        }
        s
    }

    /// Adds `c`.
    pub fn insert(&mut self, c: u8) {
        self.0[(c >> 6) as usize] |= 1u64 << (c & 63);
    }

    /// Whether `c` is in the set.
    #[inline(always)]
    pub fn contains(&self, c: u8) -> bool {
        self.0[(c >> 6) as usize] & (1u64 << (c & 63)) != 0
    }

    /// Set union.
    pub fn union(&self, o: &Charset) -> Charset {
        Charset(std::array::from_fn(|i| self.0[i] | o.0[i]))
    }

    /// Set intersection.
    pub fn intersect(&self, o: &Charset) -> Charset {
        Charset(std::array::from_fn(|i| self.0[i] & o.0[i]))
    }

    /// Set difference `self - o`.
    pub fn minus(&self, o: &Charset) -> Charset {
        Charset(std::array::from_fn(|i| self.0[i] & !o.0[i]))
    }

    /// The complement.
    pub fn complement(&self) -> Charset {
        Charset(std::array::from_fn(|i| !self.0[i]))
    }

    /// Whether the two sets share no byte.
    pub fn is_disjoint(&self, o: &Charset) -> bool {
        self.intersect(o) == Charset::EMPTY
    }

    /// Number of bytes in the set.
    pub fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        *self == Charset::EMPTY
    }

    /// The only member, when the set has exactly one.
    pub fn only(&self) -> Option<u8> {
        if self.len() != 1 {
            return None;
        }
        (0..=255u8).find(|&c| self.contains(c))
    }
}

impl std::fmt::Debug for Charset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[")?;
        for c in 0..=255u8 {
            if self.contains(c) {
                write!(f, "{}", std::ascii::escape_default(c))?;
            }
        }
        write!(f, "]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_algebra() {
        let az = Charset::range(b'a', b'z');
        assert!(az.contains(b'a') && az.contains(b'z') && !az.contains(b'A'));
        assert_eq!(az.len(), 26);
        assert_eq!(Charset::range(b'z', b'a'), Charset::EMPTY);
        let vowels = Charset::from_bytes(b"aeiou");
        assert_eq!(az.minus(&vowels).len(), 21);
        assert!(vowels.is_disjoint(&Charset::range(b'0', b'9')));
        assert_eq!(az.complement().len(), 230);
        assert_eq!(Charset::single(255).only(), Some(255));
        assert_eq!(Charset::FULL.len(), 256);
    }
}
