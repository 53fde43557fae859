//! Reading a configuration: one file or a directory of `*.toml` files, `%ENV[]`
//! substitution, TOML parsing, merging, `[hekad]` and the sections' common options.
//!
//! Problems are collected, not returned at the first one: a broken file does not hide
//! the mistakes in the next. Types, references and matchers are resolved afterwards by
//! `crate::assemble`, which knows the registry; this layer knows no plugin type.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::common::{Common, split_common};
use super::de::from_table;
use super::env;
use super::error::{ConfigError, ErrorKind};
use super::globals::{Globals, GlobalsConfig};
use super::{PluginKind, Section, Source};

/// The name of the global section.
pub const GLOBAL_SECTION: &str = "hekad";

/// The files a configuration path stands for: the file itself, or the directory's
/// `*.toml` files in name order (other files are ignored, as in Heka).
pub fn config_files(path: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ConfigError::new(path, ErrorKind::Io(e.to_string())))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| ConfigError::new(path, ErrorKind::Io(e.to_string())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ConfigError::new(path, ErrorKind::EmptyDirectory));
    }
    Ok(files)
}

/// One section merged over every file that defines it.
#[derive(Debug, Default)]
pub(super) struct Merged {
    pub table: toml::Table,
    /// Source index of each top-level key's winning definition.
    pub key_sources: BTreeMap<String, usize>,
    /// Source index of the last file defining the section.
    pub source: usize,
}

/// Reads, substitutes and parses every file; returns the sources (with their
/// substituted text) and the sections merged key by key (later files win).
pub(super) fn read_all(
    files: &[PathBuf],
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
) -> (Vec<Source>, BTreeMap<String, Merged>) {
    let mut sources = Vec::new();
    let mut merged: BTreeMap<String, Merged> = BTreeMap::new();
    for file in files {
        let (text, doc) = match read_one(file, lookup) {
            Ok(read) => read,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let index = sources.len();
        for (name, value) in doc {
            let toml::Value::Table(table) = value else {
                errors.push(
                    ConfigError::new(file, ErrorKind::NotASection)
                        .key(name.clone())
                        .line(
                            find_line(&text, None, Some(&name))
                                .or_else(|| array_header_line(&text, &name)),
                        ),
                );
                continue;
            };
            let entry = merged.entry(name).or_default();
            entry.source = index;
            for (k, v) in table {
                entry.key_sources.insert(k.clone(), index);
                entry.table.insert(k, v);
            }
        }
        sources.push(Source {
            path: file.clone(),
            text,
        });
    }
    (sources, merged)
}

/// One file read, checked as UTF-8, `%ENV[...]`-substituted and parsed: its text
/// after substitution and its TOML document, or the error with its line, section and
/// key where they are known.
fn read_one(
    file: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, toml::Table), ConfigError> {
    let bytes =
        std::fs::read(file).map_err(|e| ConfigError::new(file, ErrorKind::Io(e.to_string())))?;
    let raw = String::from_utf8(bytes).map_err(|e| {
        // TOML is UTF-8: say where the first bad byte is, not just "cannot read".
        let at = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..at]);
        let line = line_of(&valid, at);
        let err = ConfigError::new(
            file,
            ErrorKind::Syntax(format!("invalid UTF-8 at byte offset {at}")),
        )
        .line(Some(line));
        match section_at_line(&valid, line) {
            Some(s) => err.section(s),
            None => err,
        }
    })?;
    let text = match env::substitute(&raw, lookup) {
        Ok(t) => t.into_owned(),
        Err((line, kind)) => {
            let mut e = ConfigError::new(file, kind).line(Some(line));
            if let Some(s) = section_at_line(&raw, line) {
                e = e.section(s);
            }
            if let Some(k) = key_on_line(&raw, line) {
                e = e.key(k);
            }
            return Err(e);
        }
    };
    match toml::from_str(&text) {
        Ok(doc) => Ok((text, doc)),
        Err(e) => {
            let line = e.span().map(|s| line_of(&text, s.start));
            let err =
                ConfigError::new(file, ErrorKind::Syntax(e.message().trim().to_owned())).line(line);
            Err(match line.and_then(|l| section_at_line(&text, l)) {
                Some(s) => err.section(s),
                None => err,
            })
        }
    }
}

/// Parses `[hekad]` (defaults when absent).
pub(super) fn globals(
    merged: &mut BTreeMap<String, Merged>,
    sources: &[Source],
    errors: &mut Vec<ConfigError>,
) -> Globals {
    let Some(section) = merged.remove(GLOBAL_SECTION) else {
        return Globals::default();
    };
    let locate = |key: &str, kind: ErrorKind| {
        let top = key.split('.').next().unwrap_or(key);
        let src = &sources[*section.key_sources.get(top).unwrap_or(&section.source)];
        ConfigError::new(&src.path, kind)
            .section(GLOBAL_SECTION)
            .key(key)
            .line(find_line(&src.text, Some(GLOBAL_SECTION), Some(key)))
    };
    let config: GlobalsConfig = match from_table(&section.table) {
        Ok(c) => c,
        Err(e) => {
            errors.push(match e.key {
                Some(k) => locate(&k, e.kind),
                None => {
                    let src = &sources[section.source];
                    ConfigError::new(&src.path, e.kind)
                        .section(GLOBAL_SECTION)
                        .line(find_line(&src.text, Some(GLOBAL_SECTION), None))
                }
            });
            return Globals::default();
        }
    };
    match Globals::from_config(config) {
        Ok(g) => g,
        Err((key, message)) => {
            errors.push(locate(key, ErrorKind::InvalidValue(message)));
            Globals::default()
        }
    }
}

/// Turns every other merged table into a [`Section`]: type, kind, common options.
pub(super) fn sections(
    merged: BTreeMap<String, Merged>,
    sources: &[Source],
    errors: &mut Vec<ConfigError>,
) -> Vec<Section> {
    let mut out = Vec::new();
    for (name, m) in merged {
        let Merged {
            mut table,
            key_sources,
            source,
        } = m;
        let key_error = |key: &str, kind: ErrorKind| {
            let top = key.split('.').next().unwrap_or(key);
            let src = &sources[*key_sources.get(top).unwrap_or(&source)];
            ConfigError::new(&src.path, kind)
                .section(name.clone())
                .key(key)
                .line(find_line(&src.text, Some(&name), Some(key)))
        };
        let type_name = match table.remove("type") {
            None => name.clone(),
            Some(toml::Value::String(t)) => t,
            Some(other) => {
                errors.push(key_error(
                    "type",
                    ErrorKind::InvalidValue(format!(
                        "expected a string, found {}",
                        other.type_str()
                    )),
                ));
                continue;
            }
        };
        let Some(kind) = PluginKind::from_type_name(&type_name) else {
            let key = if key_sources.contains_key("type") {
                Some("type")
            } else {
                None
            };
            let src = &sources[source];
            // The assembler turns this into "unknown plugin type" when a registered
            // name is close (a misspelt suffix: "TcpInptu").
            let kind = ErrorKind::NoKind(type_name.clone());
            let mut e = ConfigError::new(&src.path, kind)
                .section(name.clone())
                .line(find_line(&src.text, Some(&name), key));
            if let Some(k) = key {
                e = e.key(k);
            }
            errors.push(e);
            continue;
        };
        let common_table = split_common(kind, &mut table);
        let common = match Common::from_table(kind, &common_table) {
            Ok(c) => c,
            Err(e) => {
                errors.push(key_error(e.key.as_deref().unwrap_or(""), e.kind));
                Common::default_for(kind)
            }
        };
        let key_files = key_sources.iter().map(|(k, &i)| (k.clone(), i)).collect();
        out.push(Section {
            name,
            type_name,
            kind,
            table,
            common,
            source: Some(source),
            key_sources: key_files,
        });
    }
    out
}

/// The 1-based line of byte `offset`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The name of a `[header]` line (first component, quotes removed), if it is one.
fn header_of(line: &str) -> Option<String> {
    let t = line.trim();
    if !t.starts_with('[') {
        return None;
    }
    let inner = t.trim_start_matches('[');
    let inner = inner.split(']').next().unwrap_or("").trim();
    Some(inner.to_owned())
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches('"').trim_matches('\'')
}

/// The section whose body holds `line` (1-based).
fn section_at_line(text: &str, line: usize) -> Option<String> {
    let mut current = None;
    for (i, l) in text.lines().enumerate() {
        if i + 1 > line {
            break;
        }
        if let Some(h) = header_of(l) {
            current = Some(unquote(h.split('.').next().unwrap_or("")).to_owned());
        }
    }
    current
}

/// The key assigned on `line` (1-based), if the line is `key = ...`.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (k, _) = l.split_once('=')?;
    let k = unquote(k);
    (!k.is_empty() && !k.starts_with('[')).then(|| k.to_owned())
}

/// Finds the line of `key` (dotted for sub-tables) in `section` of a TOML text, or the
/// section's header line when `key` is `None` or not found. Used where the TOML parser
/// gives no position (values are checked after parsing).
/// The line of the first `[[name]]` (or `[[name.x]]`) header: a top-level array of
/// tables, which is not a section and has no `name = ` line of its own.
fn array_header_line(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix("[[")
                .and_then(|rest| rest.split_once("]]"))
                .is_some_and(|(inner, _)| {
                    unquote(inner.split('.').next().unwrap_or("").trim()) == name
                })
        })
        .map(|i| i + 1)
}

pub fn find_line(text: &str, section: Option<&str>, key: Option<&str>) -> Option<usize> {
    // The table path the key lives in, and the key's last component.
    let mut path: Vec<&str> = section.into_iter().collect();
    let mut leaf = None;
    if let Some(key) = key {
        let parts: Vec<&str> = key.split('.').collect();
        if let Some((last, parents)) = parts.split_last() {
            path.extend_from_slice(parents);
            leaf = Some(*last);
        }
    }
    let wanted: Vec<String> = path.iter().map(|p| (*p).to_owned()).collect();
    let mut current: Vec<String> = Vec::new();
    let mut header_line = None;
    let mut section_line = None;
    for (i, l) in text.lines().enumerate() {
        if let Some(h) = header_of(l) {
            current = h.split('.').map(|p| unquote(p).to_owned()).collect();
            if current == wanted {
                header_line = Some(i + 1);
            }
            if section.is_some_and(|s| current.first().is_some_and(|c| c == s))
                && section_line.is_none()
            {
                section_line = Some(i + 1);
            }
            continue;
        }
        let Some(leaf) = leaf else { continue };
        let Some((k, _)) = l.split_once('=') else {
            continue;
        };
        let k = k.trim();
        // Either `leaf = ` inside the wanted table, or a dotted key `a.leaf = ` relative
        // to the current table, or the whole dotted key at the top level.
        let full: Vec<String> = current
            .iter()
            .cloned()
            .chain(k.split('.').map(|p| unquote(p).to_owned()))
            .collect();
        let mut target = wanted.clone();
        target.push(leaf.to_owned());
        if full == target {
            return Some(i + 1);
        }
    }
    if let Some((parent, _)) = key.and_then(|k| k.rsplit_once('.')) {
        // `retries = { delai = ... }`: no line of its own, point at the parent key.
        return find_line(text, section, Some(parent));
    }
    header_line.or(section_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[hekad]\nbase_dir = '/x'\n\n[tcp]\ntype = 'TcpInput'\naddress = ':1'\n[tcp.retries]\ndelay = '1s'\n[\"quoted\"]\nk = 1\n";

    #[test]
    fn lines_are_found() {
        assert_eq!(find_line(TEXT, Some("hekad"), Some("base_dir")), Some(2));
        assert_eq!(find_line(TEXT, Some("tcp"), Some("address")), Some(6));
        assert_eq!(find_line(TEXT, Some("tcp"), Some("retries.delay")), Some(8));
        assert_eq!(find_line(TEXT, Some("tcp"), Some("missing")), Some(4));
        assert_eq!(find_line(TEXT, Some("tcp"), None), Some(4));
        assert_eq!(find_line(TEXT, Some("quoted"), Some("k")), Some(10));
        let inline = "[e]\ntype = 'x'\nretries = { delai = '1s' }\n";
        assert_eq!(find_line(inline, Some("e"), Some("retries.delai")), Some(3));
    }

    #[test]
    fn section_and_key_of_a_line() {
        assert_eq!(section_at_line(TEXT, 6).as_deref(), Some("tcp"));
        assert_eq!(key_on_line(TEXT, 6).as_deref(), Some("address"));
        assert_eq!(line_of(TEXT, 0), 1);
    }
}
