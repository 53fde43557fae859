//! Agent → aggregator over TLS with signed records, through the real binary.
//!
//! The aggregator's TcpInput speaks TLS with a certificate made by the test
//! (`heka_e2e::pki`) and requires client certificates; its HekaFramingSplitter knows
//! the key of signer `ops` version 1. One agent hekad ships three log files through
//! three TcpOutputs, all over TLS with the agent's client certificate:
//! `Good` signs with the right key, `Forged` with a wrong one, `Plain` not at all.
//!
//! Checked: the aggregator's `Signed` output (`message_signer = "ops"`) gets every
//! good line and nothing else; its `Everything` output (no `message_signer`) gets the
//! good and the plain lines but no forged one (forged records never enter the
//! pipeline); the aggregator's log says, for each forged record, that its signature
//! does not match; both daemons stop with exit code 0.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use heka_e2e::{Daemon, free_port, wait_for, write};

/// Lines per log file.
const LINES: usize = 300;

fn agent_config(dir: &Path, logs: &Path, pki: &Path, port: u16) -> PathBuf {
    let mut text = format!("[hekad]\nbase_dir = \"{}\"\n", dir.join("base").display());
    for (name, key) in [
        ("Good", Some("right")),
        ("Forged", Some("wrong")),
        ("Plain", None),
    ] {
        let file = name.to_lowercase();
        text.push_str(&format!(
            r#"
[{name}]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = '{file}\.log'

[{name}Out]
type = "TcpOutput"
message_matcher = "Logger == '{name}'"
address = "127.0.0.1:{port}"
delivery_acks = true
use_tls = true

[{name}Out.tls]
root_cafile = "{pki}/ca.pem"
cert_file = "{pki}/client.pem"
key_file = "{pki}/client.key"

[{name}Out.retries]
delay = "50ms"
max_delay = "500ms"
"#,
            logs = logs.display(),
            pki = pki.display(),
        ));
        if let Some(key) = key {
            text.push_str(&format!(
                "\n[{name}Out.signer]\nname = \"ops\"\nhmac_hash = \"sha1\"\nhmac_key = \"{key}\"\nversion = 1\n"
            ));
        }
    }
    write(dir, "hekad.toml", &text)
}

fn aggregator_config(dir: &Path, pki: &Path, port: u16) -> PathBuf {
    let text = format!(
        r#"
[hekad]
base_dir = "{base}"

[In]
type = "TcpInput"
address = "127.0.0.1:{port}"
delivery_acks = true
use_tls = true
splitter = "Verified"

[In.tls]
cert_file = "{pki}/server.pem"
key_file = "{pki}/server.key"
client_auth = "RequireAndVerifyClientCert"
client_cafile = "{pki}/ca.pem"

[Verified]
type = "HekaFramingSplitter"

[Verified.signer.ops_1]
hmac_key = "right"

[PayloadEncoder]
append_newlines = false

[Signed]
type = "FileOutput"
message_matcher = "TRUE"
message_signer = "ops"
path = "{signed}"
encoder = "PayloadEncoder"
flush_interval = 0

[Everything]
type = "FileOutput"
message_matcher = "TRUE"
path = "{everything}"
encoder = "PayloadEncoder"
flush_interval = 0
"#,
        base = dir.join("base").display(),
        pki = pki.display(),
        signed = dir.join("signed.log").display(),
        everything = dir.join("everything.log").display(),
    );
    write(dir, "hekad.toml", &text)
}

fn lines(kind: &str) -> Vec<String> {
    (0..LINES).map(|n| format!("{kind} line {n:05}")).collect()
}

fn read_lines(path: &Path) -> Vec<String> {
    let mut got: Vec<String> = fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    got.sort();
    got
}

#[test]
fn tls_with_client_certificates_and_signed_records_end_to_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (agent_dir, agg_dir, logs, pki) = (
        dir.path().join("agent"),
        dir.path().join("aggregator"),
        dir.path().join("logs"),
        dir.path().join("pki"),
    );
    for d in [&agent_dir, &agg_dir, &logs, &pki] {
        fs::create_dir_all(d).unwrap();
    }
    heka_e2e::pki::write_pki(&pki);
    for kind in ["good", "forged", "plain"] {
        let mut text = lines(kind).join("\n");
        text.push('\n');
        fs::write(logs.join(format!("{kind}.log")), text).unwrap();
    }
    let port = free_port();
    let mut aggregator = Daemon::start(&aggregator_config(&agg_dir, &pki, port), &agg_dir);
    let mut agent = Daemon::start(&agent_config(&agent_dir, &logs, &pki, port), &agent_dir);

    let report = |what: &str| {
        format!(
            "{what}\nagent log:\n{}\naggregator log:\n{}",
            fs::read_to_string(agent_dir.join("hekad.log")).unwrap_or_default(),
            fs::read_to_string(agg_dir.join("hekad.log")).unwrap_or_default()
        )
    };
    let mut good = lines("good");
    good.sort();
    let mut good_and_plain = [lines("good"), lines("plain")].concat();
    good_and_plain.sort();
    let rejections = || {
        fs::read_to_string(agg_dir.join("hekad.log"))
            .unwrap_or_default()
            .matches("does not match the message")
            .count()
    };
    let done = wait_for(Duration::from_secs(60), || {
        (read_lines(&agg_dir.join("everything.log")).len() >= good_and_plain.len()
            && rejections() >= LINES)
            .then_some(())
    });
    assert!(done.is_some(), "{}", report("not everything arrived"));
    agent.stop_clean();
    aggregator.stop_clean();

    assert_eq!(
        read_lines(&agg_dir.join("signed.log")),
        good,
        "{}",
        report("message_signer output")
    );
    assert_eq!(
        read_lines(&agg_dir.join("everything.log")),
        good_and_plain,
        "{}",
        report("unfiltered output")
    );
    // At least one per forged record (a record sent again after a reconnect is
    // rejected again).
    assert!(
        rejections() >= LINES,
        "{}",
        report("a rejection per forged record")
    );
}
