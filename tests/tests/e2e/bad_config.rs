//! Bad configurations: each gives one clear error naming file, section and key, exits
//! non-zero, and never panics — both when running the daemon and in `hekad validate`.

use heka_e2e::{run_hekad, write};

/// Runs the daemon on `config` and returns its stderr, asserting a non-zero exit
/// without a panic.
fn fails(dir: &std::path::Path, config: &str) -> (String, String) {
    let path = write(dir, "hekad.toml", config);
    let p = path.to_str().unwrap().to_owned();
    let out = run_hekad(&[&format!("-config={p}")]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    // The same problem from `validate`.
    let v = run_hekad(&["validate", &p]);
    assert_eq!(v.status.code(), Some(1));
    (p, err)
}

#[test]
fn unknown_type_suggests_closest() {
    let dir = tempfile::tempdir().unwrap();
    let (p, err) = fails(
        dir.path(),
        "[hekad]\nbase_dir = '/tmp'\n\n[in]\ntype = \"TcpInptu\"\naddress = '127.0.0.1:1'\n",
    );
    assert!(
        err.contains(&format!(
            "{p}:5: [in] type: unknown plugin type \"TcpInptu\" (did you mean \"TcpInput\"?)"
        )),
        "{err}"
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (p, err) = fails(
        dir.path(),
        "[in]\ntype = 'TcpInput'\nadress = '127.0.0.1:1'\naddress = '127.0.0.1:1'\n",
    );
    assert!(
        err.contains(&format!(
            "{p}:3: [in] adress: unknown config setting (did you mean \"address\"?)"
        )),
        "{err}"
    );
}

#[test]
fn unknown_global_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (p, err) = fails(dir.path(), "[hekad]\nmaxprocs = 2\npoolsizee = 10\n");
    assert!(
        err.contains(&format!("{p}:3: [hekad] poolsizee: unknown config setting")),
        "{err}"
    );
}

#[test]
fn bad_matcher_shows_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (p, err) = fails(
        dir.path(),
        "[out]\ntype = 'LogOutput'\nmessage_matcher = \"Type == 'a' &&\"\n",
    );
    assert!(
        err.contains(&format!(
            "{p}:3: [out] message_matcher: invalid message_matcher"
        )),
        "{err}"
    );
    assert!(err.contains("at offset"), "{err}");
}

#[test]
fn missing_encoder_for_http_output() {
    let dir = tempfile::tempdir().unwrap();
    let (p, err) = fails(
        dir.path(),
        "[post]\ntype = 'HttpOutput'\nmessage_matcher = 'TRUE'\naddress = 'http://127.0.0.1:1/'\n",
    );
    assert!(
        err.contains(&format!(
            "{p}:1: [post] encoder: HttpOutput requires an encoder"
        )),
        "{err}"
    );
}

#[test]
fn undefined_encoder_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (p, err) = fails(
        dir.path(),
        "[out]\ntype = 'LogOutput'\nmessage_matcher = 'TRUE'\nencoder = 'PayloadEncodr'\n\n[PayloadEncoder]\n",
    );
    assert!(
        err.contains(&format!("{p}:4: [out] encoder: encoder \"PayloadEncodr\" is not defined (did you mean \"PayloadEncoder\"?)")),
        "{err}"
    );
}

#[test]
fn bad_env_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (p, err) = fails(
        dir.path(),
        "[in]\ntype = 'TcpInput'\naddress = \"%ENV[HEKA_E2E_ADDR\"\n",
    );
    assert!(
        err.contains(&format!("{p}:3: [in] address: %ENV[ without closing ']'")),
        "{err}"
    );
}

#[test]
fn toml_syntax_error_has_line() {
    let dir = tempfile::tempdir().unwrap();
    let (p, err) = fails(dir.path(), "[in]\ntype = 'TcpInput'\naddress = \n");
    assert!(err.contains(&format!("{p}:3:")), "{err}");
    assert!(err.contains("TOML syntax"), "{err}");
}

#[test]
fn missing_config_file() {
    let out = run_hekad(&["-config=/nonexistent/hekad.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/hekad.toml: cannot read"),
        "{err}"
    );
}

#[test]
fn every_problem_of_a_directory_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "10-in.toml",
        "[in]\ntype = 'TcpInput'\naddress = '127.0.0.1:1'\nbogus = true\n",
    );
    write(dir.path(), "20-out.toml", "[out]\ntype = 'LogOutputt'\n");
    write(dir.path(), "README", "not toml, ignored");
    let out = run_hekad(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("10-in.toml:4: [in] bogus: unknown config setting"),
        "{err}"
    );
    assert!(
        err.contains("20-out.toml:2: [out] type: unknown plugin type \"LogOutputt\""),
        "{err}"
    );
}
