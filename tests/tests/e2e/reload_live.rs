//! A reload restarts only what changed, end to end: under steady load over one TCP
//! connection, a Lua SandboxFilter's script file changes and `POST /api/v1/reload`
//! replaces that filter alone. The reply lists it as replaced with its state carried
//! and the input and outputs as kept; the connection stays open throughout (the
//! TcpInput was not restarted: every line written on it before and after the reload
//! arrives); every line reaches the receiving file exactly once, in order; and the
//! filter's counter goes on from where the old version left it instead of starting
//! again at 1.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use heka_e2e::{Daemon, free_port, http, http_get, wait_for, write};
use heka_message::Message;
use serde_json::Value;

use crate::tcp_to_file::{connect, send};

const WAIT: Duration = Duration::from_secs(60);

/// The counting filter: one `inject_payload` per line, `<tag>:<count>`.
fn script(tag: &str) -> String {
    format!(
        r#"
count = 0

function process_message()
    count = count + 1
    inject_payload("txt", "count", "{tag}:" .. count)
    return 0
end

function timer_event(ns)
end
"#
    )
}

fn config(dir: &Path, ops: u16, tcp: u16) -> PathBuf {
    write(
        dir,
        "hekad.toml",
        &format!(
            r#"
[hekad]
base_dir = "{dir}/base"
share_dir = "{dir}"
ops_address = "127.0.0.1:{ops}"

[tcp]
type = "TcpInput"
address = "127.0.0.1:{tcp}"

[count]
type = "SandboxFilter"
message_matcher = "Type == 'line'"
filename = "count.lua"

[PayloadEncoder]

[lines]
type = "FileOutput"
message_matcher = "Type == 'line'"
path = "{dir}/lines.txt"
encoder = "PayloadEncoder"
flush_interval = 0

[counts]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output'"
path = "{dir}/counts.txt"
encoder = "PayloadEncoder"
flush_interval = 0
"#,
            dir = dir.display(),
        ),
    )
}

fn line(n: u64) -> Message {
    Message {
        uuid: n.to_be_bytes().repeat(2),
        timestamp: 1_700_000_000_000_000_000 + n as i64,
        r#type: Some("line".into()),
        logger: Some("client".into()),
        payload: Some(format!("line {n}").into()),
        ..Default::default()
    }
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn reload_replaces_a_changed_filter_under_load_keeping_the_input_and_its_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("count.lua"), script("a")).unwrap();
    let (ops, tcp) = (free_port(), free_port());
    let cfg = config(dir.path(), ops, tcp);
    let mut daemon = Daemon::start(&cfg, dir.path());
    wait_for(WAIT, || http_get(ops, "/readyz"))
        .unwrap_or_else(|| panic!("never ready: {}", daemon.log_text()));
    let (lines_txt, counts_txt) = (dir.path().join("lines.txt"), dir.path().join("counts.txt"));

    // One connection, written to steadily until told to stop; a write error (the
    // input closed it) fails the test.
    let mut stream = connect(tcp);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<Message> = (n + 1..=n + 10).map(line).collect();
                send(&mut stream, &batch);
                n += 10;
                std::thread::sleep(Duration::from_millis(5));
            }
            n
        })
    };
    wait_for(WAIT, || (lines_of(&counts_txt).len() > 50).then_some(()))
        .unwrap_or_else(|| panic!("nothing counted: {}", daemon.log_text()));

    // The script changes; the configuration file does not.
    std::fs::write(dir.path().join("count.lua"), script("b")).unwrap();
    let (code, body) = http(ops, "POST", "/api/v1/reload").expect("reload answer");
    assert_eq!(code, 200, "{body}\n{}", daemon.log_text());
    let outcome: Value = serde_json::from_str(&body).expect("JSON outcome");
    let changes = &outcome["changes"];
    assert_eq!(names(&changes["replaced"]), ["count"], "{body}");
    assert_eq!(names(&changes["state_carried"]), ["count"], "{body}");
    assert_eq!(
        names(&changes["kept"]),
        ["counts", "lines", "tcp"],
        "{body}"
    );
    assert!(names(&changes["started"]).is_empty(), "{body}");
    assert!(names(&changes["stopped"]).is_empty(), "{body}");
    assert!(changes["full_restart"].is_null(), "{body}");

    // Lines keep coming over the same connection after the reload.
    wait_for(WAIT, || {
        lines_of(&counts_txt)
            .iter()
            .filter(|c| c.starts_with("b:"))
            .nth(50)
            .map(|_| ())
    })
    .unwrap_or_else(|| panic!("no counts after the reload: {}", daemon.log_text()));
    stop.store(true, Ordering::Relaxed);
    let sent = writer.join().expect("the connection stayed open");
    wait_for(WAIT, || {
        (lines_of(&counts_txt).len() as u64 >= sent).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "{} of {sent} counted: {}",
            lines_of(&counts_txt).len(),
            daemon.log_text()
        )
    });
    wait_for(WAIT, || {
        (lines_of(&lines_txt).len() as u64 >= sent).then_some(())
    })
    .unwrap_or_else(|| panic!("lines missing: {}", daemon.log_text()));
    daemon.stop_clean();

    // Every line exactly once, in order (none lost or repeated by the reload).
    let want: Vec<String> = (1..=sent).map(|n| format!("line {n}")).collect();
    assert_eq!(lines_of(&lines_txt), want);
    // The count went on: a:1..a:k then b:k+1..b:sent, never back to 1.
    let counts = lines_of(&counts_txt);
    let switch = counts
        .iter()
        .position(|c| c.starts_with("b:"))
        .expect("counts of the new version");
    let want: Vec<String> = (1..=sent)
        .map(|n| {
            let tag = if n as usize <= switch { "a" } else { "b" };
            format!("{tag}:{n}")
        })
        .collect();
    assert_eq!(counts, want, "the count restarted or skipped");
    let log = daemon.log_text();
    assert!(
        log.contains("reload: the new configuration runs (live"),
        "{log}"
    );
}

/// The counting encoder: `<tag>:<count>` per message, its count kept by
/// `preserve_data`.
fn encoder_script(tag: &str) -> String {
    format!(
        r#"
count = 0

function process_message()
    count = count + 1
    inject_payload("txt", "", "{tag}:" .. count .. "\n")
    return 0
end
"#
    )
}

/// A sandbox encoder's state crosses a reload that replaces its output, through
/// `preserve_data` (saved when the old output stops, restored when the new one makes
/// its encoder), as it crosses a restart: the count goes on instead of starting at 1.
#[test]
fn reload_replacing_an_output_keeps_its_sandbox_encoders_preserved_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("enc.lua"), encoder_script("a")).unwrap();
    let (ops, tcp) = (free_port(), free_port());
    let cfg = write(
        dir.path(),
        "hekad.toml",
        &format!(
            r#"
[hekad]
base_dir = "{dir}/base"
share_dir = "{dir}"
ops_address = "127.0.0.1:{ops}"

[tcp]
type = "TcpInput"
address = "127.0.0.1:{tcp}"

[enc]
type = "SandboxEncoder"
filename = "enc.lua"
preserve_data = true

[out]
type = "FileOutput"
message_matcher = "Type == 'line'"
path = "{dir}/out.txt"
encoder = "enc"
flush_interval = 0
"#,
            dir = dir.path().display(),
        ),
    );
    let mut daemon = Daemon::start(&cfg, dir.path());
    wait_for(WAIT, || http_get(ops, "/readyz"))
        .unwrap_or_else(|| panic!("never ready: {}", daemon.log_text()));
    let out = dir.path().join("out.txt");
    let mut stream = connect(tcp);
    send(&mut stream, &(1..=20).map(line).collect::<Vec<_>>());
    wait_for(WAIT, || (lines_of(&out).len() >= 20).then_some(()))
        .unwrap_or_else(|| panic!("nothing encoded: {}", daemon.log_text()));

    std::fs::write(dir.path().join("enc.lua"), encoder_script("b")).unwrap();
    let (code, body) = http(ops, "POST", "/api/v1/reload").expect("reload answer");
    assert_eq!(code, 200, "{body}\n{}", daemon.log_text());
    let outcome: Value = serde_json::from_str(&body).expect("JSON outcome");
    assert_eq!(names(&outcome["changes"]["replaced"]), ["out"], "{body}");
    assert_eq!(names(&outcome["changes"]["kept"]), ["tcp"], "{body}");

    send(&mut stream, &(21..=40).map(line).collect::<Vec<_>>());
    wait_for(WAIT, || (lines_of(&out).len() >= 40).then_some(()))
        .unwrap_or_else(|| panic!("{:?}: {}", lines_of(&out), daemon.log_text()));
    daemon.stop_clean();
    let want: Vec<String> = (1..=40)
        .map(|n| format!("{}:{n}", if n <= 20 { "a" } else { "b" }))
        .collect();
    assert_eq!(lines_of(&out), want, "the encoder's count restarted");
}
