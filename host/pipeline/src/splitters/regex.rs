//! RegexSplitter: records are separated by matches of a regular expression with at
//! most one capture group (Heka's semantics):
//! - no group: the delimiter text is dropped;
//! - a group and `delimiter_eol = true`: the record runs up to the end of the group
//!   (the captured text ends the record);
//! - a group and `delimiter_eol = false`: the captured text starts the *next* record.
//!
//! Matching reuses one `CaptureLocations`, so finding a record allocates nothing.

use regex::bytes::{CaptureLocations, Regex};

use crate::plugin::{SplitResult, Splitter};

/// Why a `RegexSplitter` delimiter was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegexSplitterError {
    /// The delimiter does not compile.
    #[error("invalid delimiter regex {pattern:?}: {source}")]
    Invalid {
        pattern: String,
        #[source]
        source: regex::Error,
    },
    /// Heka allows zero or one capture group.
    #[error(
        "delimiter regex {pattern:?} must not contain more than one capture group (has {groups})"
    )]
    TooManyGroups { pattern: String, groups: usize },
    /// A delimiter matching "" would split forever without consuming anything.
    #[error("delimiter regex {pattern:?} matches the empty string")]
    MatchesEmpty { pattern: String },
}

/// Heka's `RegexSplitter`.
#[derive(Debug, Clone)]
pub struct RegexSplitter {
    delimiter: Regex,
    eol: bool,
    locations: CaptureLocations,
    /// With `eol = false`: length of the captured text that begins the buffer and
    /// belongs to the record being built (the search starts after it).
    capture_len: usize,
}

impl RegexSplitter {
    /// Compiles `delimiter` (Heka default `"\n"`; `delimiter_eol` default true).
    pub fn new(delimiter: &str, delimiter_eol: bool) -> Result<RegexSplitter, RegexSplitterError> {
        let regex = Regex::new(delimiter).map_err(|source| RegexSplitterError::Invalid {
            pattern: delimiter.to_owned(),
            source,
        })?;
        let groups = regex.captures_len() - 1;
        if groups > 1 {
            return Err(RegexSplitterError::TooManyGroups {
                pattern: delimiter.to_owned(),
                groups,
            });
        }
        if regex.is_match(b"") {
            return Err(RegexSplitterError::MatchesEmpty {
                pattern: delimiter.to_owned(),
            });
        }
        Ok(RegexSplitter {
            locations: regex.capture_locations(),
            delimiter: regex,
            eol: delimiter_eol,
            capture_len: 0,
        })
    }
}

impl Splitter for RegexSplitter {
    fn find_record(&mut self, buf: &[u8], _eof: bool) -> SplitResult {
        let cl = self.capture_len.min(buf.len());
        let Some(m) = self
            .delimiter
            .captures_read(&mut self.locations, &buf[cl..])
        else {
            return SplitResult::NeedMore;
        };
        let (m_start, m_end) = (m.start() + cl, m.end() + cl);
        match self.locations.get(1) {
            Some((_, g_end)) if self.eol => SplitResult::Record {
                start: 0,
                end: g_end + cl,
                consumed: m_end,
            },
            Some((g_start, g_end)) => {
                // The record is what precedes the match; the capture begins the next
                // record, so consume only up to it and remember its length.
                self.capture_len = g_end - g_start;
                SplitResult::Record {
                    start: 0,
                    end: m_start,
                    consumed: (g_start + cl).max(1),
                }
            }
            None => SplitResult::Record {
                start: 0,
                end: m_start,
                consumed: m_end,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::{SplitOptions, SplitRunner};

    fn split(re: &str, eol: bool, input: &[u8]) -> Vec<String> {
        let mut r = SplitRunner::new(
            Box::new(RegexSplitter::new(re, eol).unwrap()),
            SplitOptions::default(),
        );
        let mut out = Vec::new();
        for chunk in input.chunks(3) {
            r.push(chunk);
            while let Some(rec) = r.next_record() {
                out.push(String::from_utf8_lossy(rec.bytes).into_owned());
            }
        }
        out
    }

    #[test]
    fn no_group_drops_delimiter() {
        assert_eq!(split(r"\n+", true, b"a\n\nbb\nc"), vec!["a", "bb"]);
    }

    #[test]
    fn group_eol_appends() {
        assert_eq!(split(r"(;)\s*", true, b"a; b;c;"), vec!["a;", "b;", "c;"]);
    }

    #[test]
    fn group_not_eol_prepends() {
        assert_eq!(
            split(r"\n(\d{4}-)", false, b"2024-a\nx\n2025-b\n2026-c"),
            vec!["2024-a\nx", "2025-b"]
        );
    }

    #[test]
    fn refuses_bad_delimiters() {
        assert!(matches!(
            RegexSplitter::new("(a)(b)", true),
            Err(RegexSplitterError::TooManyGroups { groups: 2, .. })
        ));
        assert!(matches!(
            RegexSplitter::new("x*", true),
            Err(RegexSplitterError::MatchesEmpty { .. })
        ));
        assert!(matches!(
            RegexSplitter::new("(", true),
            Err(RegexSplitterError::Invalid { .. })
        ));
    }
}
