//! [`ConfigError`]: one problem in a configuration, with where it is.
//!
//! Every error carries the file, and where known the line, the section (plugin name)
//! and the key, so that `hekad validate` can print `file:line: [section] key: message`
//! lines a user can jump to. Loading collects every problem it can find into
//! [`ConfigErrors`] instead of stopping at the first one.

use std::fmt;
use std::path::PathBuf;

/// Where in the configuration a problem is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file the section or key was read from.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The section (plugin name, or `hekad`).
    pub section: Option<String>,
    /// The key inside the section (dotted for sub-tables: `retries.delay`).
    pub key: Option<String>,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The file or directory could not be read.
    #[error("cannot read: {0}")]
    Io(String),
    /// The directory holds no `*.toml` file.
    #[error("no *.toml file in directory")]
    EmptyDirectory,
    /// `%ENV[` without its closing `]`.
    #[error("%ENV[ without closing ']'")]
    EnvMissingClose,
    /// `%ENV[...]` whose name holds whitespace or a nested `%ENV[`.
    #[error("invalid characters in %ENV[] name {0:?}")]
    EnvInvalidName(String),
    /// The file is not valid TOML.
    #[error("TOML syntax: {0}")]
    Syntax(String),
    /// A top-level key that is not a table (every section must be a `[table]`).
    #[error("top-level key is not a section")]
    NotASection,
    /// A key the plugin (or `[hekad]`) does not know.
    #[error("unknown config setting{0}")]
    UnknownKey(String),
    /// A value of the wrong type or out of range.
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// The `type` is not registered.
    #[error("unknown plugin type {type_name:?}{}", suggest(.suggestions))]
    UnknownType {
        type_name: String,
        suggestions: Vec<String>,
    },
    /// The type name has no `Input|Splitter|Decoder|Filter|Encoder|Output` suffix.
    #[error("type {0:?} does not end in Input, Splitter, Decoder, Filter, Encoder or Output")]
    NoKind(String),
    /// A `decoder` / `encoder` / `splitter` naming nothing of that kind.
    #[error("{kind} {name:?} is not defined{}", suggest(.suggestions))]
    MissingReference {
        kind: &'static str,
        name: String,
        suggestions: Vec<String>,
    },
    /// A reference to a plugin of another kind.
    #[error(
        "{name:?} is {} {actual}, not {} {expected}",
        article(actual),
        article(expected)
    )]
    WrongKind {
        name: String,
        expected: &'static str,
        actual: &'static str,
    },
    /// `message_matcher` does not parse.
    #[error(
        "invalid message_matcher {expression:?}: expected {expected} at offset {offset}, found {found}"
    )]
    BadMatcher {
        expression: String,
        offset: usize,
        expected: String,
        found: String,
    },
    /// An output that needs an encoder has none.
    #[error("{0} requires an encoder (set `encoder = \"...\"`)")]
    MissingEncoder(String),
    /// A required key is absent.
    #[error("missing required setting")]
    MissingKey,
    /// The plugin rejected its configuration for another reason.
    #[error("{0}")]
    Plugin(String),
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn suggest(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => format!(" (did you mean {one:?}?)"),
        many => {
            let quoted: Vec<String> = many.iter().map(|n| format!("{n:?}")).collect();
            format!(" (did you mean one of {}?)", quoted.join(", "))
        }
    }
}

/// One configuration problem and where it is.
///
/// Both parts are boxed so that `Result<_, ConfigError>` stays two words wide: every
/// plugin constructor returns one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub location: Box<Location>,
    pub kind: Box<ErrorKind>,
}

impl ConfigError {
    /// An error in `file` with no finer location yet.
    pub fn new(file: impl Into<PathBuf>, kind: ErrorKind) -> ConfigError {
        ConfigError {
            location: Box::new(Location {
                file: file.into(),
                ..Location::default()
            }),
            kind: Box::new(kind),
        }
    }

    /// Sets the section.
    pub fn section(mut self, section: impl Into<String>) -> ConfigError {
        self.location.section = Some(section.into());
        self
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<String>) -> ConfigError {
        self.location.key = Some(key.into());
        self
    }

    /// Sets the line.
    pub fn line(mut self, line: Option<usize>) -> ConfigError {
        self.location.line = line;
        self
    }
}

impl fmt::Display for ConfigError {
    /// `file:line: [section] key: message`, leaving out what is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = &self.location;
        write!(f, "{}", loc.file.display())?;
        if let Some(line) = loc.line {
            write!(f, ":{line}")?;
        }
        write!(f, ":")?;
        if let Some(section) = &loc.section {
            write!(f, " [{section}]")?;
        }
        if let Some(key) = &loc.key {
            write!(f, " {key}")?;
        }
        if loc.section.is_some() || loc.key.is_some() {
            write!(f, ":")?;
        }
        write!(f, " {}", self.kind)
    }
}

/// Every problem found in a configuration (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    /// One problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> ConfigErrors {
        ConfigErrors(vec![e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_everything_known() {
        let e = ConfigError::new("/etc/hekad.toml", ErrorKind::UnknownKey(String::new()))
            .section("tcp")
            .key("adress")
            .line(Some(4));
        assert_eq!(
            e.to_string(),
            "/etc/hekad.toml:4: [tcp] adress: unknown config setting"
        );
        let e = ConfigError::new("a.toml", ErrorKind::EnvMissingClose).line(Some(2));
        assert_eq!(e.to_string(), "a.toml:2: %ENV[ without closing ']'");
    }

    #[test]
    fn suggestions_are_listed() {
        let k = ErrorKind::UnknownType {
            type_name: "TcpInptu".into(),
            suggestions: vec!["TcpInput".into()],
        };
        assert_eq!(
            k.to_string(),
            "unknown plugin type \"TcpInptu\" (did you mean \"TcpInput\"?)"
        );
    }
}
