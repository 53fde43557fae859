//! A strftime subset for timestamps in encoders (`PayloadEncoder`'s `ts_format`), in
//! UTC, without a date-time dependency.
//!
//! Supported: `%Y %y %m %b %B %h %d %e %j %H %I %M %S %p %a %A %z %Z %s %F %T %D %R %%`
//! plus `%L`/`%3N` style milliseconds as `%L`. The format is checked once at build time
//! ([`TimeFormat::parse`]) so formatting a message never fails and never re-parses.

use std::fmt::Write;

use heka_message::civil::{civil_from_days, days_from_civil};

/// One piece of a parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Spec(char),
}

/// A checked strftime format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeFormat {
    pieces: Vec<Piece>,
}

const SPECS: &str = "YymbBhdejHIMSpaAzZsFTDRL%";

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

impl TimeFormat {
    /// Parses `format`; the error names the unsupported specifier.
    pub fn parse(format: &str) -> Result<TimeFormat, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            let Some(spec) = chars.next() else {
                return Err("format ends with a lone '%'".into());
            };
            if !SPECS.contains(spec) {
                return Err(format!(
                    "unsupported strftime specifier %{spec} (supported: %Y %y %m %b %B %h %d %e %j %H %I %M %S %L %p %a %A %z %Z %s %F %T %D %R %%)"
                ));
            }
            if spec == '%' {
                lit.push('%');
                continue;
            }
            if !lit.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Spec(spec));
        }
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit));
        }
        Ok(TimeFormat { pieces })
    }

    /// Appends `ts_ns` (ns since the epoch, UTC) formatted to `out`.
    pub fn format_into(&self, ts_ns: i64, out: &mut String) {
        let secs = ts_ns.div_euclid(1_000_000_000);
        let nanos = ts_ns.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (sod / 3600, (sod / 60) % 60, sod % 60);
        for p in &self.pieces {
            // Writing to a String cannot fail.
            let _ = match p {
                Piece::Literal(s) => {
                    out.push_str(s);
                    Ok(())
                }
                Piece::Spec(c) => match c {
                    'Y' => write!(out, "{y:04}"),
                    'y' => write!(out, "{:02}", y.rem_euclid(100)),
                    'm' => write!(out, "{m:02}"),
                    'b' | 'h' => write!(out, "{}", &MONTHS[(m - 1) as usize][..3]),
                    'B' => write!(out, "{}", MONTHS[(m - 1) as usize]),
                    'd' => write!(out, "{d:02}"),
                    'e' => write!(out, "{d:2}"),
                    'j' => write!(out, "{:03}", days - days_from_civil(y, 1, 1) + 1),
                    'H' => write!(out, "{hh:02}"),
                    'I' => write!(out, "{:02}", if hh % 12 == 0 { 12 } else { hh % 12 }),
                    'M' => write!(out, "{mm:02}"),
                    'S' => write!(out, "{ss:02}"),
                    'L' => write!(out, "{:03}", nanos / 1_000_000),
                    'p' => write!(out, "{}", if hh < 12 { "AM" } else { "PM" }),
                    'a' => write!(out, "{}", &DAYS[days.rem_euclid(7) as usize][..3]),
                    'A' => write!(out, "{}", DAYS[days.rem_euclid(7) as usize]),
                    'z' => write!(out, "+0000"),
                    'Z' => write!(out, "UTC"),
                    's' => write!(out, "{secs}"),
                    'F' => write!(out, "{y:04}-{m:02}-{d:02}"),
                    'T' => write!(out, "{hh:02}:{mm:02}:{ss:02}"),
                    'D' => write!(out, "{m:02}/{d:02}/{:02}", y.rem_euclid(100)),
                    'R' => write!(out, "{hh:02}:{mm:02}"),
                    _ => Ok(()),
                },
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: &str, ns: i64) -> String {
        let mut s = String::new();
        TimeFormat::parse(f).unwrap().format_into(ns, &mut s);
        s
    }

    #[test]
    fn heka_default_format() {
        // 2015-03-04 05:06:07.089 UTC, a Wednesday.
        let ns = 1_425_445_567_089_000_000;
        assert_eq!(
            fmt("[%Y/%b/%d:%H:%M:%S %z]", ns),
            "[2015/Mar/04:05:06:07 +0000]"
        );
        assert_eq!(
            fmt("%F %T.%L %a %A %j %I%p %%", ns),
            "2015-03-04 05:06:07.089 Wed Wednesday 063 05AM %"
        );
        assert_eq!(fmt("%s", 0), "0");
        assert_eq!(fmt("%F", -1), "1969-12-31");
    }

    #[test]
    fn unsupported_specifier_rejected() {
        assert!(TimeFormat::parse("%Q").is_err());
        assert!(TimeFormat::parse("abc%").is_err());
    }
}
