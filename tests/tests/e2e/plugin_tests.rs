//! `hekad test` (docs/plugin-tests.md): the bundled specs pass; a wrong expectation
//! fails with a readable diff (exit 1); a bad spec names its file and key (exit 2);
//! `--bless` writes a golden file; `--junit` writes XML a parser reads; a hostile
//! guest's termination and its reason can be asserted.

use std::path::{Path, PathBuf};

use heka_e2e::{run_hekad, write};
use heka_guest_build::{plugin_path, testing};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The repository root (the bundled specs live under it).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn hekad_test(args: &[&str]) -> (Option<i32>, String) {
    let mut argv = vec!["test"];
    argv.extend_from_slice(args);
    let out = run_hekad(&argv);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    (out.status.code(), all)
}

/// A spec for the seed's Lua aggregator (no wasm to compile: fast).
fn lua_aggregator_spec(cases: &str) -> String {
    let script = repo().join("config/lua/log_aggregator.lua");
    format!(
        "plugin = \"Agg\"\n\n[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"Logger != 'Agg'\"\n\
         filename = {:?}\n\n{cases}",
        script.display().to_string()
    )
}

#[test]
fn plugin_tests_bundled_specs_pass() {
    // The guests the wasm specs load (built by heka-guest-build, a dev-dependency).
    for guest in ["log-aggregator", "slack-encoder", "json-decoder"] {
        assert!(plugin_path(guest).exists(), "{guest} not built");
    }
    let root = repo();
    let guests = root.join("guest-plugins");
    let lua = root.join("config/lua");
    let io = root.join("config/io");
    let (code, out) = hekad_test(&[
        guests.to_str().unwrap(),
        lua.to_str().unwrap(),
        io.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    for spec in [
        "log-aggregator.test.toml",
        "slack-encoder.test.toml",
        "json-decoder.test.toml",
        "log_aggregator.test.toml",
        "log_aggregator_table.test.toml",
        "slack_encoder.test.toml",
        // Inputs and outputs, in a running pipeline against capture sinks.
        "config/lua/http_output.test.toml",
        "config/io/http_output.test.toml",
        "logstreamer_input.test.toml",
        "tcp.test.toml",
        "tcp_input.test.toml",
        "tcp_lines.test.toml",
        "file_output.test.toml",
        "log_output.test.toml",
    ] {
        let passed = out
            .lines()
            .any(|l| l.starts_with("PASS ") && l.contains(spec));
        assert!(passed, "{spec} not run:\n{out}");
    }
    assert!(
        out.contains("14 specs,") && out.contains(" 0 failed, 0 bad specs"),
        "{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn plugin_tests_wrong_expectation_fails_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(
        dir.path(),
        "agg.test.toml",
        &lua_aggregator_spec(
            r#"
[[case]]
name = "two lines"
input = [{ line = "a\n" }, { line = "b\n" }, { tick = 1_000_000_000 }]
[[case.expect]]
payload = "a\nc\n"
fields = { payload_type = "json" }

[[case]]
name = "right"
input = [{ line = "a\n" }, { tick = 1_000_000_000 }]
expect = [{ payload = "a\n" }]
"#,
        ),
    );
    let (code, out) = hekad_test(&[spec.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    let shown = spec.display().to_string();
    assert!(out.contains(&format!("FAIL {shown}: two lines")), "{out}");
    assert!(out.contains(&format!("PASS {shown}: right")), "{out}");
    assert!(
        out.contains("Payload differs (- expected, + actual):"),
        "{out}"
    );
    assert!(
        out.contains("- \"c\\n\"") && out.contains("+ \"b\\n\""),
        "{out}"
    );
    assert!(
        out.contains("Fields[payload_type]: expected \"json\", actual [\"txt\"]"),
        "{out}"
    );
    assert!(out.contains("2 cases: 1 passed, 1 failed"), "{out}");
}

#[test]
fn plugin_tests_bad_spec_names_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = repo().join("config/lua/slack_encoder.lua");
    let tick = write(
        dir.path(),
        "tick.test.toml",
        &format!(
            "[Enc]\ntype = \"SandboxEncoder\"\nfilename = {:?}\n\n[[case]]\nname = \"x\"\n\
             input = [{{ tick = 1 }}]\n",
            encoder.display().to_string()
        ),
    );
    let (code, out) = hekad_test(&[tick.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!(
            "{}: case[0].input[0].tick: invalid value: only filters have timer_event",
            tick.display()
        )),
        "{out}"
    );
    // A typo in an expectation, and one in the plugin's own section.
    let typo = write(
        dir.path(),
        "typo.test.toml",
        &lua_aggregator_spec("[[case]]\nname = \"x\"\nexpect = [{ paylod = \"a\" }]\n"),
    );
    let (code, out) = hekad_test(&[typo.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!(
            "{}: case[0].expect[0].paylod: unknown config setting",
            typo.display()
        )),
        "{out}"
    );
    let section = write(
        dir.path(),
        "section.test.toml",
        &lua_aggregator_spec("[[case]]\nname = \"x\"\n")
            .replace("message_matcher", "memory_limt = 1\nmessage_matcher"),
    );
    let (code, out) = hekad_test(&[section.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    let shown = section.display().to_string();
    let line = out
        .lines()
        .find(|l| l.contains("[Agg] memory_limt: unknown config setting"));
    assert!(
        line.is_some_and(|l| l.starts_with(&format!("{shown}:5:"))),
        "{out}"
    );
}

#[test]
fn plugin_tests_bless_writes_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(
        dir.path(),
        "golden.test.toml",
        &lua_aggregator_spec(
            r#"
[[case]]
name = "golden"
input = [{ line = "a\n", logger = "L" }, { line = "b\n" }, { tick = 1_000_000_000 }]
golden = "golden/all.jsonl"
[[case.expect]]
golden = "golden/payload.txt"
"#,
        ),
    );
    let path = spec.to_str().unwrap();
    let (code, out) = hekad_test(&[path]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("is missing (run `hekad test --bless` to write it)"),
        "{out}"
    );
    let (code, out) = hekad_test(&["--bless", path]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("blessed "), "{out}");
    let payload = std::fs::read(dir.path().join("golden/payload.txt")).unwrap();
    assert_eq!(payload, b"a\nb\n");
    let all = std::fs::read_to_string(dir.path().join("golden/all.jsonl")).unwrap();
    assert_eq!(all.lines().count(), 1, "{all}");
    let msg = heka_message::message_from_json(all.trim_end()).unwrap();
    assert_eq!(msg.payload(), b"a\nb\n");
    assert_eq!(msg.logger.as_deref(), Some("Agg"));
    assert_eq!(msg.hostname.as_deref(), Some("hekad-test"));
    // Blessed: now it passes as it is, and a changed golden file fails with a diff.
    let (code, out) = hekad_test(&[path]);
    assert_eq!(code, Some(0), "{out}");
    std::fs::write(dir.path().join("golden/payload.txt"), "a\nx\n").unwrap();
    let (code, out) = hekad_test(&[path]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("- \"x\\n\"") && out.contains("+ \"b\\n\""),
        "{out}"
    );
}

#[test]
fn plugin_tests_junit_and_termination() {
    let dir = tempfile::tempdir().unwrap();
    let hog = testing::unbounded_alloc();
    write(
        dir.path(),
        "hog.test.toml",
        &format!(
            r#"
[Hog]
type = "SandboxFilter"
message_matcher = "TRUE"
filename = {:?}
memory_limit = 4_194_304

[[case]]
name = "terminated by its memory_limit"
input = [{{ line = "x" }}, {{ line = "never delivered" }}]
terminated = "memory_limit"
no_output = true

[[case]]
name = "wrongly expected to live"
input = [{{ line = "x" }}]
"#,
            hog.display().to_string()
        ),
    );
    let junit = dir.path().join("junit.xml");
    let (code, out) = hekad_test(&[
        "--junit",
        junit.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("PASS") && out.contains("terminated by its memory_limit"),
        "{out}"
    );
    assert!(out.contains("terminated: memory_limit exceeded"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("2"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2);
    let failed = cases
        .iter()
        .find(|c| c.attribute("name") == Some("wrongly expected to live"))
        .expect("the failing case");
    let failure = failed
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("<failure>");
    assert!(
        failure
            .text()
            .unwrap_or_default()
            .contains("memory_limit exceeded"),
        "{xml}"
    );
}

#[test]
fn plugin_tests_preserve_data_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    // Lua: globals are preserved (Heka's rule); wasm: the guest's save_state.
    write(
        dir.path(),
        "counter.lua",
        "count = 0\nfunction process_message() count = count + 1 return 0 end\n\
         function timer_event(ns) inject_payload(\"txt\", \"count\", tostring(count)) end\n",
    );
    let cases = r#"
[[case]]
name = "state saved at the stop, restored in a fresh instance"
input = [
  { line = "a" }, { line = "b" },
  { restart = true },
  { line = "c" },
  { tick = 1_000_000_000 },
]
expect = [{ payload = "@3" }]

[[case]]
name = "each case starts from nothing"
input = [{ line = "a" }, { tick = 1_000_000_000 }]
expect = [{ payload = "@1" }]
"#;
    for (name, file, shown) in [
        ("lua", "counter.lua".to_owned(), ""),
        ("wasm", testing::stateful().display().to_string(), "count="),
    ] {
        write(
            dir.path(),
            &format!("{name}.test.toml"),
            &format!(
                "[Counter]\ntype = \"SandboxFilter\"\nmessage_matcher = \"Logger != 'Counter'\"\nfilename = {file:?}\n\
                 preserve_data = true\n{}",
                cases.replace('@', shown)
            ),
        );
    }
    let (code, out) = hekad_test(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("2 specs, 4 cases: 4 passed"), "{out}");
}
