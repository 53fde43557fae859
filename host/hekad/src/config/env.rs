//! `%ENV[NAME]` substitution, done on a file's text before TOML parsing (as Heka does).
//!
//! Heka's rules: the value of the environment variable replaces the whole `%ENV[NAME]`
//! (an unset variable gives the empty string); the name may not hold a space, tab, CR,
//! LF or a nested `%ENV[`; a `%ENV[` with no closing `]` is an error; any other `%` is
//! left alone. Errors carry the 1-based line of the offending `%ENV[`.

use std::borrow::Cow;

use super::error::ErrorKind;

const OPEN: &str = "%ENV[";

/// Substitutes every `%ENV[NAME]` in `text` using `lookup` (unset = `None` = "").
/// Returns the line and the problem on a malformed reference.
pub fn substitute<'a>(
    text: &'a str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Cow<'a, str>, (usize, ErrorKind)> {
    if !text.contains(OPEN) {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let line = line_of(text, text.len() - rest.len() + start);
        let Some(end) = after.find(']') else {
            return Err((line, ErrorKind::EnvMissingClose));
        };
        let name = &after[..end];
        if name.contains([' ', '\t', '\r', '\n']) || name.contains(OPEN) {
            // A newline before the `]` almost always means the `]` was forgotten.
            let shown = name.lines().next().unwrap_or_default().to_owned();
            return Err(if name.contains('\n') {
                (line, ErrorKind::EnvMissingClose)
            } else {
                (line, ErrorKind::EnvInvalidName(shown))
            });
        }
        out.push_str(&lookup(name).unwrap_or_default());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// The process environment as a lookup (non-UTF-8 values read as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/h".into()),
            "PORT" => Some("5565".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_set_and_unset() {
        let s = substitute("a = \"%ENV[HOME]/x:%ENV[PORT]%ENV[NOPE]\"", env).unwrap();
        assert_eq!(s, "a = \"/home/h/x:5565\"");
    }

    #[test]
    fn other_percent_signs_are_kept() {
        let s = substitute("fmt = \"%Y %ENV %EN[\"", env).unwrap();
        assert!(matches!(s, Cow::Borrowed(_)));
        assert_eq!(s, "fmt = \"%Y %ENV %EN[\"");
    }

    #[test]
    fn missing_close_names_line() {
        let err = substitute("[a]\nb = \"%ENV[HOME\"\n", env).unwrap_err();
        assert_eq!(err, (2, ErrorKind::EnvMissingClose));
    }

    #[test]
    fn whitespace_and_nesting_rejected() {
        let err = substitute("x = \"%ENV[A B]\"", env).unwrap_err();
        assert_eq!(err, (1, ErrorKind::EnvInvalidName("A B".into())));
        let err = substitute("x = \"%ENV[%ENV[A]]\"", env).unwrap_err();
        assert_eq!(err.0, 1);
    }
}
