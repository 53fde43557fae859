//! Strict deserialisation of one section's table into a serde struct, with errors
//! that name the offending key.
//!
//! Deserialising a `toml::Table` directly loses the key in error messages, so the
//! table is written back to TOML text and parsed from there: the parser's error span
//! then points into that small text, where the key (and its sub-table) can be read
//! off. This runs once per section at start-up, never per message.

use serde::de::DeserializeOwned;

use super::error::ErrorKind;

/// A deserialisation problem: the dotted key it concerns (when one can be named) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub key: Option<String>,
    pub kind: ErrorKind,
}

/// Deserialises `table` into `T` (which should use `deny_unknown_fields`).
pub fn from_table<T: DeserializeOwned>(table: &toml::Table) -> Result<T, KeyError> {
    let text = toml::to_string(table).map_err(|e| KeyError {
        key: None,
        kind: ErrorKind::InvalidValue(e.to_string()),
    })?;
    toml::from_str::<T>(&text).map_err(|e| {
        let message = e.message().trim().to_owned();
        let at = e.span().and_then(|span| key_at(&text, span.start));
        let mut key = at.as_ref().map(|(_, k)| k.clone());
        let kind = if let Some(rest) = message.strip_prefix("unknown field ") {
            let (name, expected) = split_backticked(rest);
            if let Some(name) = name {
                key = Some(join_parent(key.as_deref(), name));
            }
            ErrorKind::UnknownKey(expected_hint(expected, key.as_deref()))
        } else if let Some(rest) = message.strip_prefix("missing field ") {
            let (name, _) = split_backticked(rest);
            if let Some(name) = name {
                // The span of a missing field points at its enclosing table: a
                // sub-table header, or somewhere in the top level.
                key = Some(match &at {
                    Some((true, parent)) if !parent.is_empty() => format!("{parent}.{name}"),
                    _ => name.to_owned(),
                });
            }
            ErrorKind::MissingKey
        } else {
            ErrorKind::InvalidValue(message)
        };
        KeyError { key, kind }
    })
}

/// When the span of an unknown field points at the key itself, `key_at` already
/// returned the full dotted path ending in `name`; otherwise it is the parent table.
fn join_parent(found: Option<&str>, name: &str) -> String {
    match found {
        Some(k) if k == name || k.ends_with(&format!(".{name}")) => k.to_owned(),
        Some(parent) if !parent.is_empty() => format!("{parent}.{name}"),
        _ => name.to_owned(),
    }
}

/// `"`adress`, expected one of `address`, `net`"` -> (Some("adress"), ", expected ...").
fn split_backticked(s: &str) -> (Option<&str>, &str) {
    let Some(rest) = s.strip_prefix('`') else {
        return (None, s);
    };
    match rest.find('`') {
        Some(end) => (Some(&rest[..end]), &rest[end + 1..]),
        None => (None, s),
    }
}

/// Turns serde's ", expected one of `a`, `b`" into a closest-name hint.
fn expected_hint(expected: &str, key: Option<&str>) -> String {
    let names: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let last = key.map(|k| k.rsplit('.').next().unwrap_or(k)).unwrap_or("");
    let close = super::suggest::closest(last, names.iter().map(String::as_str));
    if !close.is_empty() {
        let quoted: Vec<String> = close.iter().map(|n| format!("{n:?}")).collect();
        format!(" (did you mean {}?)", quoted.join(" or "))
    } else if names.is_empty() {
        String::new()
    } else {
        format!(" (known: {})", names.join(", "))
    }
}

/// The dotted key whose line holds byte `offset` of `text` (a TOML document as written
/// by `toml::to_string`: `key = value` lines under `[a.b]` headers). On a header line
/// the header's own path is returned, flagged `true` ("a table").
fn key_at(text: &str, offset: usize) -> Option<(bool, String)> {
    let mut header = String::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let line_end = line_start + line.len();
        let trimmed = line.trim();
        let is_header = trimmed.starts_with('[');
        if is_header {
            header = trimmed
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
                .to_owned();
        }
        if offset < line_end || line_end == text.len() {
            if is_header {
                return Some((true, header));
            }
            let key = trimmed.split('=').next().unwrap_or("").trim();
            let key = key.trim_matches('"');
            if key.is_empty() {
                return Some((true, header));
            }
            let path = if header.is_empty() {
                key.to_owned()
            } else {
                format!("{header}.{key}")
            };
            return Some((false, path));
        }
        line_start = line_end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        delay: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cfg {
        address: String,
        #[serde(default)]
        count: u32,
        retries: Option<Inner>,
    }

    fn table(s: &str) -> toml::Table {
        toml::from_str(s).unwrap()
    }

    #[test]
    fn unknown_key_is_named_with_suggestion() {
        let e = from_table::<Cfg>(&table("adress = 'x'\naddress = 'y'")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("adress"));
        assert_eq!(
            e.kind,
            ErrorKind::UnknownKey(" (did you mean \"address\"?)".into())
        );
    }

    #[test]
    fn wrong_type_is_named() {
        let e = from_table::<Cfg>(&table("address = 'x'\ncount = 'many'")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("count"));
        assert!(matches!(e.kind, ErrorKind::InvalidValue(_)), "{e:?}");
    }

    #[test]
    fn missing_key_is_named() {
        let e = from_table::<Cfg>(&table("count = 1")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("address"));
        assert_eq!(e.kind, ErrorKind::MissingKey);
    }

    #[test]
    fn nested_keys_are_dotted() {
        let e = from_table::<Cfg>(&table("address = 'x'\n[retries]\ndelai = '1s'")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("retries.delai"), "{e:?}");
    }
}
