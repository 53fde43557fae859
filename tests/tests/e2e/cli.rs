//! `hekad -version`, `hekad validate` and `hekad match`: outputs and exit codes.

use heka_e2e::{run_hekad, write};
use heka_message::{Message, Value, encode_message, frame_message};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn version_in_both_spellings() {
    for flag in ["-version", "--version"] {
        let out = run_hekad(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(
            text(&out.stdout).starts_with("hekad "),
            "{flag}: {}",
            text(&out.stdout)
        );
    }
}

#[test]
fn validate_accepts_a_good_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "hekad.toml",
        r#"
[hekad]
base_dir = "/tmp"

[tcp]
type = "TcpInput"
address = "127.0.0.1:5565"

[Counter]
type = "CounterFilter"
message_matcher = "Type != 'heka.counter-output'"

[out]
type = "LogOutput"
message_matcher = "TRUE"
encoder = "PayloadEncoder"

[PayloadEncoder]
"#,
    );
    let out = run_hekad(&["validate", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("OK"), "{}", text(&out.stdout));
}

#[test]
fn validate_lists_every_problem_one_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "hekad.toml",
        r#"[tcp]
type = "TcpInptu"
address = "127.0.0.1:5565"

[out]
type = "LogOutput"
message_matcher = "Type == "
bogus = 1
"#,
    );
    let path = cfg.to_str().unwrap();
    let out = run_hekad(&["validate", path]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with(path)).collect();
    assert!(lines.len() >= 2, "expected several problems, got:\n{err}");
    assert!(
        err.contains(&format!(
            "{path}:2: [tcp] type: unknown plugin type \"TcpInptu\" (did you mean \"TcpInput\"?)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{path}:7: [out] message_matcher:")),
        "{err}"
    );
    assert!(err.contains("offset"), "{err}");
}

fn message() -> Message {
    let mut m = Message {
        uuid: vec![9; 16],
        timestamp: 1_700_000_000_000_000_000,
        r#type: Some("nginx.access".into()),
        severity: Some(6),
        payload: Some("GET / 200".into()),
        ..Default::default()
    };
    m.add_field("status", Value::Integer(200), "");
    m
}

#[test]
fn match_json_raw_and_framed_messages() {
    let dir = tempfile::tempdir().unwrap();
    let json = write(
        dir.path(),
        "m.json",
        r#"{"type": "nginx.access", "severity": 6, "fields": [{"name": "status", "value": [200]}]}"#,
    );
    let mut raw = Vec::new();
    encode_message(&message(), &mut raw);
    let mut framed = Vec::new();
    frame_message(&raw, 65536, &mut framed).unwrap();
    let raw_path = dir.path().join("m.pb");
    std::fs::write(&raw_path, &raw).unwrap();
    let framed_path = dir.path().join("m.framed");
    std::fs::write(&framed_path, &framed).unwrap();
    for file in [&json, &raw_path, &framed_path] {
        let f = file.to_str().unwrap();
        let yes = run_hekad(&[
            "match",
            "--message",
            f,
            "Type == 'nginx.access' && Fields[status] == 200",
        ]);
        assert_eq!(yes.status.code(), Some(0), "{f}: {}", text(&yes.stderr));
        let no = run_hekad(&["match", "--message", f, "Severity < 6"]);
        assert_eq!(no.status.code(), Some(1), "{f}: {}", text(&no.stderr));
    }
    // Heka's single-dash spelling works too.
    let f = json.to_str().unwrap();
    let yes = run_hekad(&["match", &format!("-message={f}"), "Fields[status] >= 200"]);
    assert_eq!(yes.status.code(), Some(0), "{}", text(&yes.stderr));
}

#[test]
fn match_malformed_expression_or_message_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let json = write(dir.path(), "m.json", r#"{"type": "x"}"#);
    let out = run_hekad(&["match", "--message", json.to_str().unwrap(), "Type == "]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("offset"),
        "{}",
        text(&out.stderr)
    );

    let bad = write(dir.path(), "bad.json", r#"{"typo": "x"}"#);
    let out = run_hekad(&["match", "--message", bad.to_str().unwrap(), "TRUE"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    let garbage = dir.path().join("garbage.pb");
    std::fs::write(&garbage, b"\xff\xfe\xfd\x00\x01").unwrap();
    let out = run_hekad(&["match", "--message", garbage.to_str().unwrap(), "TRUE"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    let out = run_hekad(&["match", "--message", "/nonexistent/m.json", "TRUE"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stderr).contains("panicked"));
}
