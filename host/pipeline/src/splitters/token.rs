//! TokenSplitter: records end after `count` occurrences of a one-byte delimiter
//! (default `\n`, count 1); the delimiters stay in the record, as in Heka.
//!
//! The scan is `memchr`, the only per-record cost of line splitting.

use crate::plugin::{SplitResult, Splitter};

/// Heka's `TokenSplitter`.
#[derive(Debug, Clone)]
pub struct TokenSplitter {
    delimiter: u8,
    count: usize,
}

impl TokenSplitter {
    /// Records end after `count` delimiters (0 is treated as 1, as Heka does).
    pub fn new(delimiter: u8, count: usize) -> TokenSplitter {
        TokenSplitter {
            delimiter,
            count: count.max(1),
        }
    }

    /// Newline-delimited lines.
    pub fn lines() -> TokenSplitter {
        TokenSplitter::new(b'\n', 1)
    }
}

impl Default for TokenSplitter {
    fn default() -> TokenSplitter {
        TokenSplitter::lines()
    }
}

impl Splitter for TokenSplitter {
    fn find_record(&mut self, buf: &[u8], _eof: bool) -> SplitResult {
        if self.count == 1 {
            return match memchr::memchr(self.delimiter, buf) {
                Some(i) => SplitResult::Record {
                    start: 0,
                    end: i + 1,
                    consumed: i + 1,
                },
                None => SplitResult::NeedMore,
            };
        }
        match memchr::memchr_iter(self.delimiter, buf).nth(self.count - 1) {
            Some(i) => SplitResult::Record {
                start: 0,
                end: i + 1,
                consumed: i + 1,
            },
            None => SplitResult::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_counted() {
        let mut t = TokenSplitter::lines();
        assert_eq!(
            t.find_record(b"ab\ncd\n", false),
            SplitResult::Record {
                start: 0,
                end: 3,
                consumed: 3
            }
        );
        assert_eq!(t.find_record(b"abc", false), SplitResult::NeedMore);
        let mut t = TokenSplitter::new(b'|', 2);
        assert_eq!(t.find_record(b"a|b", false), SplitResult::NeedMore);
        assert_eq!(
            t.find_record(b"a|b|c|", false),
            SplitResult::Record {
                start: 0,
                end: 4,
                consumed: 4
            }
        );
        let mut t = TokenSplitter::new(b'\n', 0);
        assert_eq!(
            t.find_record(b"\n", false),
            SplitResult::Record {
                start: 0,
                end: 1,
                consumed: 1
            }
        );
    }
}
