//! The assembly pass on real files: every problem of both layers collected, with the
//! loader's wording kept (these cases moved here from `config::tests` when the
//! registry checks left the loader).

use super::*;

use crate::config::tests::{env, errors_of, with_text};

fn assemble_text(text: &str) -> (tempfile::TempDir, Result<(Config, Assembled), ConfigErrors>) {
    with_text(text, |path| load_and_assemble_with_env(path, &env))
}

fn errors(text: &str) -> Vec<String> {
    errors_of(text, |path| load_and_assemble_with_env(path, &env))
}

#[test]
fn always_present_plugins_exist_without_a_section() {
    // TcpInput's defaults: HekaFramingSplitter and ProtobufDecoder, neither written.
    let (_d, r) = assemble_text(
        "[TcpInput]\naddress = '127.0.0.1:%ENV[E2E_PORT]'\n\n[out]\ntype = 'FileOutput'\nmessage_matcher = 'TRUE'\npath = 'x.log'\nencoder = 'ProtobufEncoder'\n",
    );
    let (_config, assembled) = r.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(assembled.inputs.len(), 1);
    assert!(
        assembled.inputs[0].2.decoder.is_some(),
        "ProtobufDecoder by default"
    );
    // FileOutput frames when its encoder is the (default) ProtobufEncoder.
    assert!(assembled.outputs[0].2.use_framing);
}

#[test]
fn a_failed_template_is_reported_once() {
    // The splitter's own key is wrong; its user does not also say "not defined".
    let es = errors(
        "[split]\ntype = 'TokenSplitter'\ndelimiter = 'ab'\n\n[in]\ntype = 'TcpInput'\naddress = '127.0.0.1:1'\nsplitter = 'split'\n",
    );
    assert_eq!(es.len(), 1, "{es:?}");
    assert!(es[0].starts_with(":3: [split] delimiter:"), "{es:?}");
}

#[test]
fn one_section_reports_every_mistake() {
    let es = errors(
        "[o]\ntype = 'HttpOutput'\nmessage_matcher = 'Type =='\naddress = 'http://127.0.0.1:1/'\nencoder = 'Nope'\n[o.retries]\ndelay = '5 parsecs'\n",
    );
    let joined = es.join("\n");
    assert!(
        joined.contains("[o] message_matcher: invalid message_matcher"),
        "{joined}"
    );
    assert!(
        joined.contains("[o] encoder: encoder \"Nope\" is not defined"),
        "{joined}"
    );
    assert!(
        joined.contains("[o] retries.delay: invalid value: invalid duration \"5 parsecs\""),
        "{joined}"
    );
    assert_eq!(es.len(), 3, "{joined}");
}

#[test]
fn every_problem_is_collected() {
    let es = errors(
        "[hekad]\nplugin_chansize = 'x'\n\n[a]\ntype = 'TcpInptu'\n\n[b]\ntype = 'LogOutput'\nmessage_matcher = 'Type =='\n\n[c]\ntype = 'Nothing'\n\n[d]\ntype = 'TcpInput'\ndecoder = 'PayloadEncoder'\naddress = '127.0.0.1:1'\n\n[PayloadEncoder]\n[e]\ntype = 'TcpInput'\nsplitter = 'NoSuchSplitter'\nretries = { delai = '1s' }\naddress = '127.0.0.1:2'\n",
    );
    let joined = es.join("\n");
    assert!(
        joined.contains(":2: [hekad] plugin_chansize: invalid value"),
        "{joined}"
    );
    assert!(
        joined.contains(
            ":5: [a] type: unknown plugin type \"TcpInptu\" (did you mean \"TcpInput\"?)"
        ),
        "{joined}"
    );
    assert!(
        joined.contains(":9: [b] message_matcher: invalid message_matcher"),
        "{joined}"
    );
    assert!(
        joined.contains(":12: [c] type: type \"Nothing\" does not end in"),
        "{joined}"
    );
    assert!(
        joined.contains(":16: [d] decoder: \"PayloadEncoder\" is an encoder, not a decoder"),
        "{joined}"
    );
    assert!(
        joined.contains(":23: [e] retries.delai: unknown config setting"),
        "{joined}"
    );
    assert_eq!(es.len(), 6, "{joined}");
}

#[test]
fn missing_encoder_and_wrong_references() {
    let es = errors(
        "[h]\ntype = 'HttpOutput'\nmessage_matcher = 'TRUE'\naddress = 'http://127.0.0.1:1/'\n",
    );
    assert_eq!(es.len(), 1, "{es:?}");
    assert!(
        es[0].starts_with(":1: [h] encoder: HttpOutput requires an encoder"),
        "{es:?}"
    );
}
