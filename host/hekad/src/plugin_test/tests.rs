//! Unit tests of `hekad test`: spec errors name file and key, diffs read well, and
//! specs run through the real Lua engine (the e2e tests in `tests/tests/e2e/
//! plugin_tests.rs` drive the binary, wasm included).

use std::path::{Path, PathBuf};

use heka_message::{Message, Value};

use super::check::{line_diff, text_diff};
use super::{run_spec, spec};

/// The seed's Lua scripts (no wasm to compile: fast).
pub(super) fn lua(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/lua");
    dir.join(name).display().to_string()
}

pub(super) fn write_spec(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("x.test.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn aggregator(cases: &str) -> String {
    format!(
        "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"Logger != 'Agg'\"\nfilename = {:?}\n{cases}",
        lua("log_aggregator.lua")
    )
}

/// The error text of loading `text` as a spec.
pub(super) fn spec_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write_spec(dir.path(), text);
    match spec::load(&path) {
        Ok(_) => panic!("loaded:\n{text}"),
        Err(e) => e.to_string().replace(&path.display().to_string(), "SPEC"),
    }
}

#[test]
fn spec_errors_name_the_key() {
    let cases = [
        (
            "[[case]]\nname = \"a\"\ninput = [{ tick = 1, line = \"x\" }]\n",
            "SPEC: case[0].input[0]: invalid value: give exactly one of",
        ),
        (
            "[[case]]\nname = \"a\"\ninput = [{ lin = \"x\" }]\n",
            "SPEC: case[0].input[0].lin: unknown config setting",
        ),
        (
            "[[case]]\nname = \"a\"\n[[case]]\nnam = \"b\"\n",
            "SPEC: case[1].nam: unknown config setting",
        ),
        (
            "[[case]]\nname = \"a\"\nexpect = [{ matcher = \"Type ==\" }]\n",
            "SPEC: case[0].expect[0].matcher: invalid value:",
        ),
        (
            "[[case]]\nname = \"a\"\nexpect = [{ fields = { x = { y = 1 } } }]\n",
            "SPEC: case[0].expect[0].fields.x: invalid value:",
        ),
        (
            "[[case]]\nname = \"a\"\ninput = [{ message = { typ = \"x\" } }]\n",
            "SPEC: case[0].input[0].message: invalid value: invalid message JSON at $.typ",
        ),
        (
            "[[case]]\nname = \"a\"\ninput = [{ lines_file = \"nope.log\" }]\n",
            "SPEC: case[0].input[0].lines_file: invalid value: nope.log:",
        ),
        (
            "[[case]]\nname = \"a\"\ninput = [{ tick = 1, logger = \"L\" }]\n",
            "SPEC: case[0].input[0].logger: invalid value: only for line and lines_file",
        ),
        (
            "",
            "SPEC: case: invalid value: a spec needs at least one [[case]]",
        ),
        (
            "plugin = \"Nope\"\n[[case]]\nname = \"a\"\n",
            "SPEC: plugin: invalid value: no section [Nope] (sections: Agg)",
        ),
    ];
    for (text, want) in cases {
        // Top-level keys go before the section.
        let spec = if text.starts_with("plugin") {
            format!("{text}{}", aggregator(""))
        } else {
            aggregator(text)
        };
        let got = spec_error(&spec);
        assert!(
            got.starts_with(want),
            "{text}\n  got:  {got}\n  want: {want}"
        );
    }
}

#[test]
fn kind_specific_keys_are_refused() {
    let encoder = format!(
        "[Enc]\ntype = \"SandboxEncoder\"\nfilename = {:?}\n[[case]]\nname = \"a\"\n",
        lua("slack_encoder.lua")
    );
    let got = spec_error(&format!("{encoder}expect = [{{ type = \"x\" }}]\n"));
    assert!(
        got.contains("case[0].expect[0]: invalid value: an encoder's output is bytes"),
        "{got}"
    );
    let got = spec_error(&format!("{encoder}respond = [500]\n"));
    assert!(
        got.contains("case[0].respond: invalid value: only for the plugin kinds"),
        "{got}"
    );
    let splitter = "[Lines]\ntype = \"TokenSplitter\"\n";
    let got = spec_error(&format!(
        "plugin = \"Lines\"\n{splitter}[[case]]\nname = \"a\"\n"
    ));
    assert!(
        got.contains("plugin: invalid value: [Lines] is a splitter"),
        "{got}"
    );
}

#[test]
fn line_diff_keeps_common_lines_in_place() {
    let want = ["a\n", "b\n", "c\n"];
    let got = ["a\n", "c\n", "d\n"];
    let marks: String = line_diff(&want, &got).iter().map(|(m, _)| *m).collect();
    assert_eq!(marks, " - +");
    let text = text_diff("Payload", b"a\nb\n", b"a\nx\n");
    assert_eq!(
        text,
        "Payload differs (- expected, + actual):\n        \"a\\n\"\n      - \"b\\n\"\n      + \"x\\n\""
    );
    assert_eq!(
        text_diff("Payload", b"ab", b"ac"),
        "Payload:\n      expected \"ab\"\n      actual   \"ac\""
    );
}

pub(super) fn run(text: &str) -> super::SpecReport {
    let dir = tempfile::tempdir().unwrap();
    let path = write_spec(dir.path(), text);
    run_spec(&path, &dir.path().join("base"), false)
}

pub(super) fn problems(report: &super::SpecReport) -> Vec<String> {
    let cases = report.outcome.as_ref().unwrap_or_else(|e| panic!("{e}"));
    cases.iter().flat_map(|c| c.problems.clone()).collect()
}

#[test]
fn message_diffs_name_each_header_and_field() {
    let report = run(&aggregator(
        r#"
[[case]]
name = "a"
input = [{ line = "x\n" }, { tick = 5 }]
[[case.expect]]
type = "other"
hostname = "h"
severity = 3
fields = { payload_type = ["txt", "more"], payload_name = 1, absent = true }
json = { a = 1 }
matcher = "Fields[payload_type] == 'csv'"
"#,
    ));
    let got = problems(&report).join("\n");
    for want in [
        "output 0 (Type \"heka.sandbox-output\"):",
        "Type: expected \"other\", actual \"heka.sandbox-output\"",
        "Hostname: expected \"h\", actual \"hekad-test\"",
        "Severity: expected 3, actual (unset)",
        "Fields[payload_type]: expected [\"txt\", \"more\"], actual [\"txt\"]",
        "Fields[payload_name]: expected 1, actual [\"\"]",
        "Fields[absent]: expected true, actual missing",
        "Payload is not JSON",
        "does not match \"Fields[payload_type] == 'csv'\"",
    ] {
        assert!(got.contains(want), "missing {want:?} in:\n{got}");
    }
}

#[test]
fn counts_failures_terminations_and_extra_outputs() {
    let report = run(&aggregator(
        r#"
[[case]]
name = "extra"
input = [{ line = "x\n" }, { tick = 5 }, { line = "y\n" }, { tick = 6 }]
expect = [{ payload = "x\n" }]
failures = 1
terminated = "memory"
"#,
    ));
    let got = problems(&report).join("\n");
    for want in [
        "failed messages: expected 1, actual 0",
        "expected a termination with a reason containing \"memory\"; the plugin ran on",
        "outputs: expected 1, actual 2",
        "output 1 not expected: {",
    ] {
        assert!(got.contains(want), "missing {want:?} in:\n{got}");
    }
}

#[test]
fn timer_event_on_shutdown_runs_at_the_end_and_at_restarts() {
    let report = run(&aggregator(
        r#"timer_event_on_shutdown = true
[[case]]
name = "final ticks"
start_time = 7
input = [{ line = "a\n" }, { restart = true }, { line = "b\n" }]
expect = [{ payload = "a\n" }, { payload = "b\n" }]
"#,
    ));
    assert_eq!(problems(&report), Vec::<String>::new());
}

#[test]
fn messages_get_a_uuid_and_the_virtual_time() {
    let m = Message {
        payload: Some(b"x".to_vec()),
        ..Default::default()
    };
    let stamped = super::stamped(&m, 42);
    assert_eq!(stamped.uuid.len(), 16);
    assert_eq!(stamped.timestamp, 42);
    let mut given = m.clone();
    given.timestamp = 1;
    given.add_field("f", Value::Integer(1), "");
    assert_eq!(super::stamped(&given, 42).timestamp, 1);
}

#[test]
fn data_goes_through_the_named_splitter() {
    // Lines, a record split across two inputs, and a partial last record that the
    // stream's end drops (deliver_incomplete_final is off by default).
    let spec = format!(
        "splitter = \"Lines\"\n{}[Lines]\ntype = \"TokenSplitter\"\n",
        aggregator(
            r#"
[[case]]
name = "lines"
input = [{ data = "a\nb" }, { data = "c\nd" }, { tick = 1 }]
expect = [{ payload = "a\nbc\n" }]
"#
        )
    );
    assert_eq!(problems(&run(&spec)), Vec::<String>::new());
}

#[test]
fn framed_records_reach_a_filter_as_the_messages_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let mut framed = Vec::new();
    for payload in ["one\n", "two\n"] {
        let msg = Message {
            uuid: vec![7; 16],
            payload: Some(payload.as_bytes().to_vec()),
            logger: Some("Framed".into()),
            ..Default::default()
        };
        let mut bytes = Vec::new();
        heka_message::encode_message(&msg, &mut bytes);
        heka_message::frame_message(&bytes, 65536, &mut framed).unwrap();
    }
    framed.extend_from_slice(b"\x1enot a record");
    std::fs::write(dir.path().join("stream.bin"), &framed).unwrap();
    let spec = format!(
        "splitter = \"Framed\"\n{}[Framed]\ntype = \"HekaFramingSplitter\"\n",
        aggregator(
            r#"
[[case]]
name = "framed"
input = [{ data_file = "stream.bin" }, { tick = 1 }]
expect = [{ payload = "one\ntwo\n" }]
"#
        )
    );
    let path = write_spec(dir.path(), &spec);
    let report = run_spec(&path, &dir.path().join("base"), false);
    assert_eq!(problems(&report), Vec::<String>::new());
    let got = spec_error(&aggregator(
        "[[case]]\nname = \"a\"\ninput = [{ data = \"x\" }]\n",
    ));
    assert!(
        got.contains("case[0].input[0]: invalid value: data needs a splitter"),
        "{got}"
    );
}

#[test]
fn failed_messages_are_shown_with_their_reasons() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fails.lua"),
        "function process_message() return -1, \"bad \" .. read_message(\"Payload\") end\n",
    )
    .unwrap();
    let spec = "[Fails]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"fails.lua\"\n\
                [[case]]\nname = \"a\"\ninput = [{ line = \"x\" }, { line = \"y\" }]\nfailures = 1\n";
    let path = write_spec(dir.path(), spec);
    let report = run_spec(&path, &dir.path().join("base"), false);
    let got = problems(&report).join("\n");
    assert!(
        got.starts_with("failed messages: expected 1, actual 2\n"),
        "{got}"
    );
    assert!(got.contains("bad x") && got.contains("bad y"), "{got}");
}

#[test]
fn the_message_clock_fires_ticks_every_ticker_interval_of_message_time() {
    let report = run(&aggregator(
        r#"ticker_interval = 10
[[case]]
name = "hindsight's clock"
clock = "messages"
input = [
  { message = { timestamp = 1_000_000_000, payload = "a\n" } },
  { message = { timestamp = 5_000_000_000, payload = "b\n" } },
  { message = { timestamp = 12_000_000_000, payload = "c\n" } },
  { message = { timestamp = 35_000_000_000, payload = "d\n" } },
]
expect = [{ payload = "a\nb\n" }, { payload = "c\n" }]

[[case]]
name = "a stray timestamp fires a bounded number of ticks"
clock = "messages"
input = [
  { message = { timestamp = 1, payload = "a\n" } },
  { message = { timestamp = 9_000_000_000_000_000_000, payload = "b\n" } },
  { tick = 9_100_000_000_000_000_000 },
]
expect = [{ payload = "a\n" }, { payload = "b\n" }]
"#,
    ));
    assert_eq!(problems(&report), Vec::<String>::new());
    let got = spec_error(&aggregator(
        "[[case]]\nname = \"a\"\nclock = \"messages\"\n",
    ));
    assert!(got.contains("case[0].clock: invalid value: clock = \"messages\" needs the section's ticker_interval ([Agg])"), "{got}");
}

#[test]
fn settings_change_the_plugin_keys_of_one_case() {
    let report = run(&aggregator(
        r#"
[[case]]
name = "a small output_limit"
settings = { output_limit = 4 }
input = [{ line = "too long\n" }, { tick = 1 }]
terminated = "output_limit exceeded (4 bytes)"

[[case]]
name = "the next case has the section as written"
input = [{ line = "too long\n" }, { tick = 1 }]
count = 1
"#,
    ));
    assert_eq!(problems(&report), Vec::<String>::new());
    let got = spec_error(&aggregator(
        "[[case]]\nname = \"a\"\nsettings = { message_matcher = \"TRUE\" }\n",
    ));
    assert!(
        got.contains("case[0].settings.message_matcher: invalid value: only the plugin's own keys"),
        "{got}"
    );
}
