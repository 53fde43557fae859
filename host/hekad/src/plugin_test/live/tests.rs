//! Inputs and outputs under `hekad test` through the seed's Lua Slack encoder (no
//! wasm to compile): request diffs, retries, restarts, and the types refused.

use super::super::tests::{lua, problems, run};

fn http_output(cases: &str) -> String {
    format!(
        "plugin = \"Out\"\n[Slack]\ntype = \"SandboxEncoder\"\nfilename = {:?}\n\
         [Out]\ntype = \"HttpOutput\"\nmessage_matcher = \"Logger == 'Agg'\"\n\
         address = \"https://hooks.example/services/A?b=1\"\nencoder = \"Slack\"\n{cases}",
        lua("slack_encoder.lua")
    )
}

#[test]
fn an_http_output_shows_what_differs_in_each_request() {
    let report = run(&http_output(
        r#"
[[case]]
name = "a 503 is retried; the expectations are wrong"
respond = [503]
input = [{ message = { logger = "Agg", payload = "x" } }, { message = { logger = "No", payload = "y" } }]
[[case.expect]]
method = "PUT"
path = "/services/B"
headers = { "X-Missing" = "1" }
json = { text = "z" }
"#,
    ));
    let got = problems(&report).join("\n");
    for want in [
        "outputs: expected 1, actual 2",
        "output 0 (POST /services/A?b=1, ",
        "method: expected \"PUT\", actual \"POST\"",
        "path: expected \"/services/B\", actual \"/services/A?b=1\"",
        "header X-Missing: expected \"1\", actual []",
        "$.text",
        "output 1 not expected: POST /services/A?b=1 ",
    ] {
        assert!(got.contains(want), "missing {want:?} in:\n{got}");
    }
}

#[test]
fn an_http_output_passes_and_restarts() {
    let report = run(&http_output(
        r##"
[[case]]
name = "two runs, one message each"
input = [{ message = { logger = "Agg", payload = "a" } }, { restart = true }, { message = { logger = "Agg", payload = "b" } }]
expect = [{ method = "POST", path = "/services/A?b=1", json = { text = "a", channel = "#something", username = "something you like", icon_emoji = ":heavy_exclamation_mark:" } }, { json = { text = "b", channel = "#something", username = "something you like", icon_emoji = ":heavy_exclamation_mark:" } }]
"##,
    ));
    assert_eq!(problems(&report), Vec::<String>::new());
}

#[test]
fn a_logstreamer_input_reads_and_resumes_from_its_journal() {
    let report = run(r#"
[Logs]
type = "LogstreamerInput"
log_directory = "/nonexistent"
file_match = 'app\.log'

[[case]]
name = "wrong on purpose: the second line is expected twice"
file = "app.log"
input = [{ line = "one" }, { restart = true }, { data = "two\n" }]
expect = [{ payload = "one\n", logger = "Logs" }, { payload = "two\n" }, { payload = "two\n" }]
timeout = 3
"#);
    let got = problems(&report).join("\n");
    assert!(got.contains("outputs: expected 3, actual 2"), "{got}");
    assert!(got.contains("output 2 expected, none produced"), "{got}");
    assert!(!got.contains("output 0 ("), "{got}");
    assert!(!got.contains("output 1 ("), "{got}");
}

#[test]
fn inputs_and_outputs_without_a_stand_in_are_refused() {
    for (section, want) in [
        (
            "[Out]\ntype = \"NatsOutput\"\nmessage_matcher = \"TRUE\"\nsubject = \"x\"\n",
            "no capture sink for NatsOutput",
        ),
        (
            "[In]\ntype = \"StdinInput\"\n",
            "StdinInput reads from a source",
        ),
    ] {
        let report = run(&format!("{section}[[case]]\nname = \"a\"\n"));
        let Err(e) = &report.outcome else {
            panic!("{section} ran: {:?}", report.outcome)
        };
        assert!(e.to_string().contains(want), "{e}");
    }
}
