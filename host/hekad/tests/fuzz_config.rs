//! Fuzzes hekad's config loader (`hekad::config::load_with_env`: TOML text → a loaded
//! `Config` or every problem found) with mutants of real configurations.
//!
//! Promises checked: no panic, no hang; a rejection is a non-empty list of
//! `ConfigError`s, each naming the file it was given, a line inside the text when it
//! gives one, and at least a line or a section (a TOML syntax error always a line),
//! with a non-empty message (`file:line: [section] key: message`).
//!
//! A few seconds by default; `HEKA_FUZZ_SECS=600 cargo test -p hekad --test
//! fuzz_config -- --nocapture` for a long run.

use std::path::Path;

use heka_fuzz::{self as fuzz, Budget};
use hekad::config::{ErrorKind, load_with_env};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("host/hekad lives two levels down")
}

const INLINE: &[&str] = &[
    r#"
[hekad]
base_dir = "/tmp/x"
maxprocs = 2
plugin_chansize = 30

[TrialLog]
type = "LogstreamerInput"
log_directory = "/var/log"
file_match = 'app\.log\.?(?P<Seq>\d*)'
priority = ["^Seq"]

[Aggregator]
type = "SandboxFilter"
message_matcher = "Logger == 'TrialLog' && Fields[status] >= 500"
filename = "log-aggregator.wasm"
ticker_interval = 1

[Aggregator.config]
max_lines = 50

[SlackEncoder]
type = "SandboxEncoder"
filename = "slack-encoder.wasm"

[HttpOutput]
message_matcher = "Logger == 'Aggregator'"
address = "http://127.0.0.1:1/hook"
encoder = "SlackEncoder"
use_buffering = true

[HttpOutput.retries]
delay = "100ms"
max_delay = "1s"

[HttpOutput.buffering]
max_file_size = 1048576
max_buffer_size = 8388608
full_action = "block"
"#,
    r#"
[tcp]
type = "TcpInput"
address = "127.0.0.1:5565"
splitter = "HekaFramingSplitter"
decoder = "ProtobufDecoder"

[out]
type = "FileOutput"
message_matcher = "TRUE"
path = "%ENV[HOME]/out.log"
encoder = "PayloadEncoder"

[PayloadEncoder]
append_newlines = true

[line_splitter]
type = "TokenSplitter"
delimiter = "\n"
"#,
];

const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"[[",
    b"]]",
    b"=",
    b"\"",
    b"'",
    b"'''",
    b"\"\"\"",
    b"\n",
    b"#",
    b".",
    b"{",
    b"}",
    b"type = ",
    b"Input",
    b"Output",
    b"Filter",
    b"Decoder",
    b"Encoder",
    b"Splitter",
    b"message_matcher = ",
    b"encoder = ",
    b"decoder = ",
    b"splitter = ",
    b"%ENV[",
    b"%ENV[HOME]",
    b"true",
    b"-1",
    b"1e400",
    b"9223372036854775808",
    b"1979-05-27T07:32:00Z",
    b"\\u",
    b"[hekad]\n",
    b"[x.retries]\n",
    b"[x.buffering]\n",
    b"use_buffering = true\n",
];

#[test]
fn fuzz_config_loader() {
    let mut seeds: Vec<Vec<u8>> = INLINE.iter().map(|s| s.as_bytes().to_vec()).collect();
    for name in ["hekad.toml", "slack.toml"] {
        let path = workspace().join("config").join(name);
        seeds.push(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hekad.toml");
    let env = |name: &str| match name {
        "HOME" => Some("/home/heka".to_owned()),
        "SLACK_WEBHOOK_URL" => Some("https://hooks.slack.com/services/T/B/x".to_owned()),
        _ => None,
    };
    fuzz::run("config", &seeds, TOKENS, Budget::from_env(2.0), |input| {
        std::fs::write(&path, input).map_err(|e| format!("cannot write the case: {e}"))?;
        let errors = match load_with_env(&path, &env) {
            Ok(_) => return Ok(true),
            Err(errors) => errors.0,
        };
        if errors.is_empty() {
            return Err("rejected without a single error".into());
        }
        let lines = input.split(|&b| b == b'\n').count();
        for e in &errors {
            let loc = &e.location;
            let text = e.to_string();
            if loc.file != path {
                return Err(format!("error names another file: {text}"));
            }
            if loc.line.is_some_and(|l| l == 0 || l > lines) {
                return Err(format!("line outside the text ({lines} lines): {text}"));
            }
            if loc.line.is_none() && loc.section.is_none() {
                return Err(format!("error says neither line nor section: {text}"));
            }
            if matches!(*e.kind, ErrorKind::Syntax(_)) && loc.line.is_none() {
                return Err(format!("syntax error without a line: {text}"));
            }
            if e.kind.to_string().trim().is_empty() {
                return Err(format!("error without a message: {text}"));
            }
        }
        Ok(false)
    });
}

/// Found by `fuzz_config_loader`: a config with invalid UTF-8 was reported as
/// "cannot read: stream did not contain valid UTF-8", with no line or section.
#[test]
fn invalid_utf8_is_a_syntax_error_with_line_and_section() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hekad.toml");
    std::fs::write(
        &path,
        b"[hekad]\nbase_dir = '/b'\n\n[ExampleLogAggregator]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\x1e\x03\xdc\xd4\n",
    )
    .unwrap();
    let errors = load_with_env(&path, &|_| None)
        .expect_err("invalid UTF-8")
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e.location.line, Some(6));
    assert_eq!(e.location.section.as_deref(), Some("ExampleLogAggregator"));
    assert!(
        e.to_string().contains("invalid UTF-8 at byte offset 97"),
        "{e}"
    );
}

/// Found by `fuzz_config_loader`: a top-level array of tables (`[[heka]]`) was
/// reported as "top-level key is not a section" with neither a line nor a section.
#[test]
fn array_of_tables_at_top_level_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hekad.toml");
    std::fs::write(&path, "## a comment\n[[heka]]\nx = 1\n").unwrap();
    let errors = load_with_env(&path, &|_| None)
        .expect_err("[[heka]] is not a section")
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].location.line, Some(2), "{}", errors[0]);
    assert_eq!(errors[0].location.key.as_deref(), Some("heka"));
}
