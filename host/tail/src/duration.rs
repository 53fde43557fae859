//! Go duration strings as Heka's config uses them (`oldest_duration = "720h"`,
//! `rescan_interval = "1m"`): a sequence of decimal numbers with units `ns`, `us`
//! (`µs`), `ms`, `s`, `m`, `h`, e.g. `"1h30m"`, `"1.5s"`; `"0"` alone is zero.
//!
//! The one Go-duration parser of the workspace: hekad's config (`[hekad] max_pack_idle`,
//! `[x.retries] delay`) calls it too, so every duration option reads the same way.

use std::time::Duration;

/// Parses a Go duration string. Negative durations are refused (nothing here needs
/// them). Errors are static descriptions; callers add the option name.
pub fn parse(s: &str) -> Result<Duration, &'static str> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration");
    }
    if s.starts_with('-') {
        return Err("negative duration");
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or("missing unit (ns, us, ms, s, m, h)")?;
        if num_len == 0 {
            return Err("expected a number");
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| "bad number")?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err("unknown unit (ns, us, ms, s, m, h)"),
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err("duration too large");
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse("720h"), Ok(Duration::from_secs(720 * 3600)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert!(parse("5").is_err());
        assert!(parse("5x").is_err());
        assert!(parse("-1s").is_err());
        assert!(parse("").is_err());
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse("ms").is_err());
        assert!(parse("5 s").is_err());
    }
}
