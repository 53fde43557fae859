//! The proleptic Gregorian calendar in UTC, for every place that turns a Heka
//! `Timestamp` (ns since the epoch) into a date or back: the Lua sandbox's `os.time`,
//! its time zones and `write_message("Timestamp", "2006-01-02T15:04:05Z")`, hekad's
//! strftime-style `timestamp` formats, and HTTP dates (`Retry-After`).
//!
//! One home so that a calendar rule (the March-based year, the 400-year era) is written
//! once. Howard Hinnant's `days_from_civil` / `civil_from_days`
//! (<https://howardhinnant.github.io/date_algorithms.html>), in `i64` so that dates
//! before 1970 work, with no I/O and no allocation.

/// Days since 1970-01-01 of the civil date `y-m-d` (month 1–12, day 1–31; a day out of
/// range counts on from the month's first day, as C's `timegm`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month 1–12, day 1–31)` of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds since the epoch of a UTC civil time. Months out of 1–12 carry into the
/// year and days out of range into the month, as C's `timegm` (Lua's `os.time{}`
/// relies on it).
pub fn timegm(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    let y = y + (mo - 1).div_euclid(12);
    let m = (mo - 1).rem_euclid(12) + 1;
    days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s
}

/// RFC 3339 (`2006-01-02T15:04:05.999999999Z07:00`, `T`, `t` or a space between date
/// and time) to ns since the epoch; `None` when `s` is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..)?;
    let mut nanos = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let mut n: i64 = frac[..digits.min(9)].parse().ok()?;
        for _ in digits.min(9)..9 {
            n *= 10;
        }
        nanos = n;
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && matches!(tz.as_bytes()[0], b'+' | b'-') => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (tz.get(1..3)?.parse::<i64>().ok()? * 3600
                + tz.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    let secs = timegm(y, mo, d, h, mi, se).checked_sub(offset)?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timegm_matches_known_dates() {
        assert_eq!(timegm(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(timegm(2000, 3, 1, 0, 0, 0), 951_868_800);
        assert_eq!(timegm(1969, 12, 31, 23, 59, 59), -1);
        // Month 13 carries into the next year, as timegm does.
        assert_eq!(timegm(1999, 13, 1, 0, 0, 0), timegm(2000, 1, 1, 0, 0, 0));
    }

    #[test]
    fn days_and_civil_are_inverse() {
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d), "{z}");
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn rfc3339_with_fraction_and_offset() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00é"), None);
        assert_eq!(parse_rfc3339("9999999999-01-01T00:00:00Z"), None);
        // A multi-byte character where the offset's sign goes: no panic.
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00é1:00"), None);
    }
}
