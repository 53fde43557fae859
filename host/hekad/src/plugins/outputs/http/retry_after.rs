//! Parsing of the `Retry-After` response header (RFC 9110 §10.2.3).
//!
//! The value is either a number of seconds or an HTTP-date. Only the IMF-fixdate form
//! of dates (`Sun, 06 Nov 1994 08:49:37 GMT`) is understood: it is the only form
//! servers may generate, and a date we cannot read just leaves the back-off to the
//! runner. Written here rather than pulling a date crate for one header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the server asked us to wait, measured from `now`. A date in the past
/// means "now" (zero); anything unparsable is `None`.
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long digit strings saturate rather than fail.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = parse_imf_fixdate(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` → the instant.
fn parse_imf_fixdate(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    // Fixed layout: "Www, DD Mon YYYY HH:MM:SS GMT" is 29 bytes.
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' {
        return None;
    }
    let day = digits(&b[5..7])?;
    let month = match &b[8..11] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let year = digits(&b[12..16])?;
    let (hour, minute, second) = (
        digits(&b[17..19])?,
        digits(&b[20..22])?,
        digits(&b[23..25])?,
    );
    // 60 allows a leap second; the day is checked only loosely, as a server's clock
    // is not ours to validate.
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || year < 1970 {
        return None;
    }
    let secs = heka_message::civil::timegm(
        year as i64,
        month,
        day as i64,
        hour as i64,
        minute as i64,
        second as i64,
    );
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

fn digits(b: &[u8]) -> Option<u64> {
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        let now = SystemTime::now();
        assert_eq!(parse("1", now), Some(Duration::from_secs(1)));
        assert_eq!(parse(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(parse("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse("-1", now), None);
        assert_eq!(parse("1.5", now), None);
        assert_eq!(parse("", now), None);
    }

    #[test]
    fn http_dates() {
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example).
        let at = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"), Some(at));
        let before = at - Duration::from_secs(90);
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:37 GMT", before),
            Some(Duration::from_secs(90))
        );
        // In the past: retry now.
        let after = at + Duration::from_secs(5);
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:37 GMT", after),
            Some(Duration::ZERO)
        );
        // Leap-year arithmetic: 2024-02-29 and 2000-03-01.
        assert_eq!(
            parse_imf_fixdate("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_709_164_800))
        );
        assert_eq!(
            parse_imf_fixdate("Wed, 01 Mar 2000 12:00:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(951_912_000))
        );
    }

    #[test]
    fn malformed_dates_are_none() {
        let now = SystemTime::now();
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nox 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "soon",
        ] {
            assert_eq!(parse(bad, now), None, "{bad}");
        }
    }
}
