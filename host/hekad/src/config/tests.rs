//! Loader tests on real files in temp dirs.

use std::path::Path;

use super::*;

/// The test environment for `%ENV[]`.
pub(crate) fn env(name: &str) -> Option<String> {
    (name == "E2E_PORT").then(|| "5566".to_owned())
}

/// `text` written to `hekad.toml` in a fresh temp dir, then read by `read`.
pub(crate) fn with_text<T>(
    text: &str,
    read: impl FnOnce(&Path) -> Result<T, ConfigErrors>,
) -> (tempfile::TempDir, Result<T, ConfigErrors>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hekad.toml");
    std::fs::write(&path, text).unwrap();
    let r = read(&path);
    (dir, r)
}

/// The problems `read` finds in `text`, each without the temp path (`:3: [a] ...`).
pub(crate) fn errors_of<T>(
    text: &str,
    read: impl FnOnce(&Path) -> Result<T, ConfigErrors>,
) -> Vec<String> {
    match with_text(text, read).1 {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(ConfigErrors(es)) => es
            .iter()
            .map(|e| {
                let s = e.to_string();
                s[s.find("hekad.toml").map_or(0, |i| i + "hekad.toml".len())..].to_owned()
            })
            .collect(),
    }
}

fn load_text(text: &str) -> (tempfile::TempDir, Result<Config, ConfigErrors>) {
    with_text(text, |path| load_with_env(path, &env))
}

fn errors(text: &str) -> Vec<String> {
    errors_of(text, |path| load_with_env(path, &env))
}

#[test]
fn sections_types_kinds_and_defaults() {
    let (_d, r) = load_text(
        "[hekad]\nbase_dir = '/b'\nhostname = 'h'\n\n[TcpInput]\naddress = '127.0.0.1:%ENV[E2E_PORT]'\n\n[counter]\ntype = 'CounterFilter'\nmessage_matcher = 'TRUE'\nticker_interval = 2\n",
    );
    let c = r.unwrap();
    assert_eq!(c.globals.base_dir, Path::new("/b"));
    assert_eq!(c.globals.hostname, "h");
    let tcp = c.section("TcpInput").unwrap();
    assert_eq!(tcp.type_name, "TcpInput");
    assert_eq!(tcp.kind, PluginKind::Input);
    assert_eq!(
        tcp.table.get("address").and_then(|v| v.as_str()),
        Some("127.0.0.1:5566")
    );
    let counter = c.section("counter").unwrap();
    assert_eq!(counter.kind, PluginKind::Filter);
    let Common::Filter(f) = &counter.common else {
        panic!("filter common")
    };
    assert_eq!(f.ticker_interval, Some(2));
    assert!(counter.table.is_empty(), "common keys removed");
    // Always-present plugins are the assembler's business, not the loader's.
    assert!(c.section("ProtobufDecoder").is_none());
    // Load order: decoders before inputs before filters.
    let kinds: Vec<PluginKind> = c.sections.iter().map(|s| s.kind).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(kinds, sorted);
}

#[test]
fn directory_merges_in_name_order_later_keys_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("20-b.toml"),
        "[in]\naddress = '127.0.0.1:2'\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("10-a.toml"),
        "[in]\ntype = 'TcpInput'\naddress = '127.0.0.1:1'\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "[broken").unwrap();
    let c = load_with_env(dir.path(), &env).unwrap();
    let s = c.section("in").unwrap();
    assert_eq!(s.type_name, "TcpInput");
    assert_eq!(s.table["address"].as_str(), Some("127.0.0.1:2"));
    assert!(c.file_of(s, Some("type")).ends_with("10-a.toml"));
    assert!(c.file_of(s, Some("address")).ends_with("20-b.toml"));
}

#[test]
fn env_errors_name_line_and_key() {
    let es = errors("[a]\ntype = 'TcpInput'\naddress = '%ENV[PORT'\n");
    assert_eq!(es, vec![":3: [a] address: %ENV[ without closing ']'"]);
}

#[test]
fn syntax_errors_name_line() {
    let es = errors("[a]\ntype = 'TcpInput'\naddress = \n");
    assert_eq!(es.len(), 1);
    assert!(es[0].starts_with(":3: [a]: TOML syntax"), "{es:?}");
}

#[test]
fn top_level_values_are_not_sections() {
    let es = errors("stray = 1\n[a]\ntype = 'TcpInput'\naddress = ':1'\n");
    assert_eq!(es, vec![":1: stray: top-level key is not a section"]);
}

#[test]
fn types_without_a_kind_suffix_are_named() {
    // The loader knows no registered type: a misspelt suffix is "no kind" here, and
    // the assembler adds the close names (assemble::tests::every_problem_is_collected).
    let es = errors("[a]\ntype = 'TcpInptu'\n");
    assert_eq!(
        es,
        vec![
            ":2: [a] type: type \"TcpInptu\" does not end in Input, Splitter, Decoder, Filter, Encoder or Output"
        ]
    );
}
