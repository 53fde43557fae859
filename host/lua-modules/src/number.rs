//! How Heka's sandbox writes numbers as text: `serialize_double` (lua_sandbox's
//! `lsb_outputd`, used by `add_to_payload`, the circular buffer's `cbuf`/`cbufd`
//! rows and its preservation text) and C's `%.{prec}g` (lua-cjson's `%.14g`).
//!
//! The one place these rules live: heka-lua's `cjson` and `add_to_payload` use them
//! from here.

/// C's `%.{prec}g`.
pub fn format_g(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mantissa = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{x:.decimals$}")).to_owned()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Heka's `serialize_double`: `nan`, `inf`, `-inf` by name (any NaN is `nan`, as
/// `isnan` tests it); within `INT_MAX` the whole part exact and up to 8 decimals
/// (banker's rounding at the 8th); `%0.9g` beyond.
pub fn heka_number(d: f64) -> String {
    let mut out = String::new();
    push_heka_number(&mut out, d);
    out
}

/// [`heka_number`] appended to `out` (no allocation for the common cases).
pub fn push_heka_number(out: &mut String, d: f64) {
    if d.is_nan() {
        out.push_str("nan");
        return;
    }
    if !d.is_finite() || d.abs() > i32::MAX as f64 {
        out.push_str(&format_g(d, 9));
        return;
    }
    const MAGNITUDE: f64 = 100_000_000.0;
    let negative = d < 0.0;
    let d = d.abs();
    let mut number = d as i64;
    let tmp = (d - number as f64) * MAGNITUDE;
    let mut fraction = tmp as u64;
    let diff = tmp - fraction as f64;
    if diff > 0.5 {
        fraction += 1;
        if fraction >= MAGNITUDE as u64 {
            fraction = 0;
            number += 1;
        }
    } else if diff == 0.5 && (fraction == 0 || fraction & 1 == 1) {
        fraction += 1;
    }
    use std::fmt::Write as _;
    if negative {
        out.push('-');
    }
    let _ = write!(out, "{number}");
    if fraction != 0 {
        let digits = format!("{fraction:08}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Appends `bytes` as a Lua string literal that reads back as exactly those bytes
/// (printable ASCII as is, `"` and `\\` escaped, everything else `\ddd`), for the
/// preservation text of binary state.
pub fn push_lua_string(out: &mut String, bytes: &[u8]) {
    use std::fmt::Write as _;
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g_matches_c() {
        assert_eq!(format_g(1.0, 14), "1");
        assert_eq!(format_g(0.1, 14), "0.1");
        assert_eq!(format_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(format_g(1e15, 14), "1e+15");
        assert_eq!(format_g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(format_g(0.0001, 14), "0.0001");
        assert_eq!(format_g(0.00001, 14), "1e-05");
        assert_eq!(format_g(-2.5, 14), "-2.5");
        assert_eq!(format_g(1e100, 9), "1e+100");
    }

    #[test]
    fn heka_number_matches_serialize_double() {
        assert_eq!(heka_number(5.0), "5");
        assert_eq!(heka_number(-0.5), "-0.5");
        assert_eq!(heka_number(1.0 / 3.0), "0.33333333");
        assert_eq!(heka_number(3e9), "3e+09");
        assert_eq!(heka_number(f64::NAN), "nan");
        assert_eq!(heka_number(-f64::NAN), "nan");
        assert_eq!(heka_number(f64::INFINITY), "inf");
        assert_eq!(heka_number(f64::NEG_INFINITY), "-inf");
        assert_eq!(heka_number(-2.0), "-2");
    }

    #[test]
    fn lua_strings_escape_what_is_not_printable() {
        let mut s = String::new();
        push_lua_string(&mut s, b"a\"\\\n\x00\xff");
        assert_eq!(s, "\"a\\\"\\\\\\010\\000\\255\"");
    }
}
