//! The decoder `tz` option (`[x.config] tz = "America/New_York"`): Heka's
//! SandboxDecoder loaded that IANA zone and re-read the Timestamp of every message
//! the script injected (and a `timegenerated` double field) as a wall-clock time in
//! that zone instead of UTC, because Lua had no time zone support. [`Zone`] does the
//! same from the system's zoneinfo files (TZif, `$ZONEINFO` or
//! `/usr/share/zoneinfo`), including the POSIX rule at their end for times past the
//! last listed transition.

use std::path::PathBuf;

use heka_message::Message;

/// A time zone: transitions (UTC seconds) and the UTC offset from each on.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Zone {
    /// (first UTC second, offset in seconds), ascending.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition.
    initial: i32,
    /// The POSIX TZ rule for times after the last transition.
    rule: Option<Rule>,
}

/// A POSIX TZ rule `STD offset [DST [offset], start, end]` with `Mm.w.d` dates.
#[derive(Clone, Debug, PartialEq)]
struct Rule {
    std: i32,
    dst: Option<(i32, Date, Date)>,
}

/// `Mm.w.d/time`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`, at
/// `time` seconds of local time.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Date {
    month: i64,
    week: i64,
    day: i64,
    time: i64,
}

impl Zone {
    pub(crate) fn utc() -> Zone {
        Zone {
            transitions: Vec::new(),
            initial: 0,
            rule: None,
        }
    }

    /// Go's `time.LoadLocation(name)` for the names a config holds.
    pub(crate) fn load(name: &str) -> Result<Zone, String> {
        if name.is_empty() || name == "UTC" {
            return Ok(Zone::utc());
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return Err(format!("invalid time zone name '{name}'"));
        }
        let dir = std::env::var_os("ZONEINFO")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/share/zoneinfo"));
        let path = dir.join(name);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("unknown time zone '{name}' ({}: {e})", path.display()))?;
        parse_tzif(&bytes).map_err(|e| format!("time zone '{name}' ({}): {e}", path.display()))
    }

    pub(crate) fn is_utc(&self) -> bool {
        self.transitions.is_empty() && self.initial == 0 && self.rule.is_none()
    }

    /// The offset at UTC second `t` and the UTC range `[start, end)` it holds for.
    fn lookup(&self, t: i64) -> (i32, i64, i64) {
        let i = self.transitions.partition_point(|(at, _)| *at <= t);
        let end = self.transitions.get(i).map_or(i64::MAX, |(at, _)| *at);
        if i == 0 {
            return (self.initial, i64::MIN, end);
        }
        let (start, offset) = self.transitions[i - 1];
        if i == self.transitions.len()
            && let Some(rule) = &self.rule
        {
            return rule.lookup(t);
        }
        (offset, start, end)
    }

    /// The UTC second of local wall-clock second `local` (Go's `time.Date`).
    fn local_to_utc(&self, local: i64) -> i64 {
        let (offset, start, end) = self.lookup(local);
        if offset == 0 {
            return local;
        }
        let utc = local - i64::from(offset);
        if utc < start || utc >= end {
            return local - i64::from(self.lookup(utc).0);
        }
        utc
    }

    /// Heka's `convert_tz`: `ns` read as UTC wall time becomes that wall time here.
    pub(crate) fn convert(&self, ns: i64) -> i64 {
        let (secs, frac) = (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000));
        self.local_to_utc(secs)
            .saturating_mul(1_000_000_000)
            .saturating_add(frac)
    }
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| "truncated TZif data".to_owned())
}

/// A TZif file (RFC 8536), version 1 or the 64-bit data of versions 2+.
fn parse_tzif(b: &[u8]) -> Result<Zone, String> {
    if !b.starts_with(b"TZif") {
        return Err("not a TZif file".into());
    }
    let counts = |at: usize| -> Result<[usize; 6], String> {
        let mut c = [0usize; 6];
        for (i, slot) in c.iter_mut().enumerate() {
            *slot = be32(b, at + 20 + 4 * i)? as usize;
        }
        Ok(c)
    };
    // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
    let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(0)?;
    let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
    let (base, width, [isut, isstd, leap, timecnt, typecnt, charcnt]) = if b[4] >= b'2' {
        let second = 44 + v1_len;
        (second + 44, 8, counts(second)?)
    } else {
        (44, 4, [isut, isstd, leap, timecnt, typecnt, charcnt])
    };
    let times_end = base + timecnt * width;
    let idx_end = times_end + timecnt;
    let types_end = idx_end + typecnt * 6;
    if b.len() < types_end || typecnt == 0 {
        return Err("truncated TZif data".into());
    }
    let offset_of = |t: usize| -> Result<i32, String> {
        if t >= typecnt {
            return Err("bad local time type".into());
        }
        Ok(be32(b, idx_end + t * 6)? as i32)
    };
    let mut transitions = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let at = base + i * width;
        let t = if width == 8 {
            i64::from_be_bytes(
                b[at..at + 8]
                    .try_into()
                    .map_err(|_| "truncated TZif data")?,
            )
        } else {
            i64::from(be32(b, at)? as i32)
        };
        transitions.push((t, offset_of(b[times_end + i] as usize)?));
    }
    // RFC 8536: before the first transition, the first type (type 0).
    let initial = offset_of(0)?;
    let footer_at = types_end + charcnt + leap * (width + 4) + isstd + isut;
    let rule = b
        .get(footer_at..)
        .filter(|f| f.first() == Some(&b'\n'))
        .and_then(|f| f[1..].split(|c| *c == b'\n').next())
        .and_then(|f| std::str::from_utf8(f).ok())
        .and_then(parse_rule);
    Ok(Zone {
        transitions,
        initial,
        rule,
    })
}

/// `STD offset [DST [offset] ,Mm.w.d[/time],Mm.w.d[/time]]`; `None` for what this
/// does not read (Julian-day rules), which keeps the last transition's offset.
fn parse_rule(s: &str) -> Option<Rule> {
    let mut p = s;
    let name = |p: &mut &str| -> Option<()> {
        if let Some(rest) = p.strip_prefix('<') {
            let end = rest.find('>')?;
            *p = &rest[end + 1..];
        } else {
            let n = p.bytes().take_while(u8::is_ascii_alphabetic).count();
            if n < 3 {
                return None;
            }
            *p = &p[n..];
        }
        Some(())
    };
    name(&mut p)?;
    let std = -hms(&mut p)?;
    if p.is_empty() {
        return Some(Rule { std, dst: None });
    }
    name(&mut p)?;
    let dst = if p.starts_with(',') {
        std + 3600
    } else {
        -hms(&mut p)?
    };
    let mut dates = p.strip_prefix(',')?.split(',');
    let start = date(dates.next()?)?;
    let end = date(dates.next()?)?;
    Some(Rule {
        std,
        dst: Some((dst, start, end)),
    })
}

/// `[+-]hh[:mm[:ss]]` in seconds.
fn hms(p: &mut &str) -> Option<i32> {
    let (sign, rest) = match p.as_bytes().first()? {
        b'-' => (-1, &p[1..]),
        b'+' => (1, &p[1..]),
        _ => (1, *p),
    };
    let n = rest
        .bytes()
        .take_while(|c| c.is_ascii_digit() || *c == b':')
        .count();
    let mut secs = 0i32;
    for (i, part) in rest[..n].split(':').enumerate() {
        let v: i32 = part.parse().ok()?;
        secs += v * [3600, 60, 1].get(i)?;
    }
    *p = &rest[n..];
    Some(sign * secs)
}

fn date(s: &str) -> Option<Date> {
    let (d, time) = match s.split_once('/') {
        Some((d, t)) => {
            let mut t = t;
            (d, i64::from(hms(&mut t)?))
        }
        None => (s, 7200),
    };
    let mut parts = d.strip_prefix('M')?.split('.');
    let mut next = || parts.next()?.parse::<i64>().ok();
    Some(Date {
        month: next()?,
        week: next()?,
        day: next()?,
        time,
    })
}

impl Rule {
    fn lookup(&self, t: i64) -> (i32, i64, i64) {
        let Some((dst, start, end)) = self.dst else {
            return (self.std, i64::MIN, i64::MAX);
        };
        let year = year_of(t + i64::from(self.std));
        // DST starts at its local standard time and ends at its local DST time.
        let on = start.utc_second(year) - i64::from(self.std);
        let off = end.utc_second(year) - i64::from(dst);
        let in_dst = if on < off {
            t >= on && t < off
        } else {
            !(t >= off && t < on)
        };
        let (a, b) = if on < off { (on, off) } else { (off, on) };
        let (range_start, range_end) = if t < a {
            (i64::MIN, a)
        } else if t < b {
            (a, b)
        } else {
            (b, i64::MAX)
        };
        (if in_dst { dst } else { self.std }, range_start, range_end)
    }
}

/// The civil (UTC) year of second `t`.
fn year_of(t: i64) -> i64 {
    heka_message::civil::civil_from_days(t.div_euclid(86_400)).0
}

impl Date {
    /// The second (as if UTC) of this rule's day and time in `year`.
    fn utc_second(&self, year: i64) -> i64 {
        let first = heka_message::civil::timegm(year, self.month, 1, 0, 0, 0);
        // 1970-01-01 was a Thursday (4).
        let weekday = (first.div_euclid(86_400) + 4).rem_euclid(7);
        let mut day = 1 + (self.day - weekday).rem_euclid(7) + (self.week - 1) * 7;
        let days_in_month =
            (heka_message::civil::timegm(year, self.month + 1, 1, 0, 0, 0) - first) / 86_400;
        while day > days_in_month {
            day -= 7;
        }
        first + (day - 1) * 86_400 + self.time
    }
}

/// Heka's `convert_tz` on an injected message: a set Timestamp and the first value
/// of a `timegenerated` double field.
pub(crate) fn in_zone(mut m: Message, tz: &Zone) -> Message {
    if m.timestamp != 0 {
        m.timestamp = tz.convert(m.timestamp);
    }
    if let Some(f) = m.fields.iter_mut().find(|f| f.name == "timegenerated")
        && let Some(d) = f.value_double.first_mut()
    {
        *d = tz.convert(*d as i64) as f64;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_rules_read() {
        let r = parse_rule("EST5EDT,M3.2.0,M11.1.0").expect("rule");
        assert_eq!(r.std, -5 * 3600);
        let (dst, start, end) = r.dst.expect("dst");
        assert_eq!(dst, -4 * 3600);
        assert_eq!(
            (start.month, start.week, start.day, start.time),
            (3, 2, 0, 7200)
        );
        assert_eq!((end.month, end.week, end.day), (11, 1, 0));
        assert_eq!(parse_rule("<+0330>-3:30").map(|r| r.std), Some(12_600));
        // 2040-07-01 12:00 UTC is summer time in New York (-4 h), 2040-01-01 is not.
        assert_eq!(r.lookup(2_224_843_200).0, -4 * 3600);
        assert_eq!(r.lookup(2_208_988_800).0, -5 * 3600);
    }

    #[test]
    fn years_of_seconds() {
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(951_868_800), 2000);
        assert_eq!(year_of(2_208_988_799), 2039);
        assert_eq!(year_of(-1), 1969);
    }

    /// Heka's `convert_tz` for New York (from the system's zoneinfo): a wall time
    /// in winter is 5 h behind UTC, in summer 4 h; UTC changes nothing.
    #[test]
    fn convert_reads_wall_time_in_the_zone() {
        let Ok(ny) = Zone::load("America/New_York") else {
            panic!("the system zoneinfo (tzdata) is needed for this test");
        };
        let s = 1_000_000_000i64;
        // 2024-01-15 12:00:00 "UTC" → 17:00 UTC; 2024-07-15 12:00:00 → 16:00 UTC.
        assert_eq!(
            ny.convert(1_705_320_000 * s + 7),
            (1_705_320_000 + 5 * 3600) * s + 7
        );
        assert_eq!(
            ny.convert(1_721_044_800 * s),
            (1_721_044_800 + 4 * 3600) * s
        );
        assert_eq!(Zone::utc().convert(42), 42);
    }

    #[test]
    fn zone_names_are_checked() {
        assert!(Zone::load("../etc/passwd").is_err());
        assert!(Zone::load("/etc/localtime").is_err());
        assert!(Zone::load("No/Such_Zone").is_err());
        assert!(Zone::load("UTC").expect("utc").is_utc());
    }
}
