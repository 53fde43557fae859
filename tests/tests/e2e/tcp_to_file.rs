//! TcpInput -> message_matcher -> FileOutput (ProtobufEncoder, framed): messages sent as
//! framed protobuf over TCP come back out of the file, decoded; SIGTERM stops hekad
//! with exit code 0 after everything sent was delivered.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use heka_e2e::{Daemon, free_port, wait_for, write};
use heka_message::{
    DEFAULT_MAX_MESSAGE_SIZE, Message, Unframed, Value, decode_message, encode_message,
    frame_message, unframe,
};

fn config(dir: &Path, port: u16, out: &Path) -> std::path::PathBuf {
    write(
        dir,
        "hekad.toml",
        &format!(
            r#"
[hekad]
base_dir = "{base}"

[tcp]
type = "TcpInput"
address = "127.0.0.1:{port}"

[out]
type = "FileOutput"
message_matcher = "Type == 'e2e.keep' && Fields[n] >= 0"
path = "{out}"
encoder = "ProtobufEncoder"
use_framing = true
flush_interval = 0
"#,
            base = dir.display(),
            out = out.display()
        ),
    )
}

fn message(i: i64, keep: bool) -> Message {
    let mut m = Message {
        uuid: (0..16).map(|b| b as u8 ^ i as u8).collect(),
        timestamp: 1_700_000_000_000_000_000 + i,
        r#type: Some(if keep { "e2e.keep" } else { "e2e.drop" }.into()),
        logger: Some("e2e".into()),
        severity: Some(6),
        payload: Some(format!("message {i}").into()),
        hostname: Some("client".into()),
        pid: Some(42),
        ..Default::default()
    };
    m.add_field("n", Value::Integer(i), "count");
    m.add_field("s", Value::String(format!("v{i}").into()), "");
    m.add_field("b", Value::Bytes(vec![0, 0x1e, 0x1f, i as u8]), "");
    m.add_field("d", Value::Double(i as f64 / 2.0), "");
    m.add_field("t", Value::Bool(i % 2 == 0), "");
    m
}

/// Every framed message in the file so far.
pub(crate) fn read_back(path: &Path) -> Vec<Message> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while let Unframed::Message {
        message, consumed, ..
    } = unframe(rest, DEFAULT_MAX_MESSAGE_SIZE)
    {
        out.push(decode_message(message).expect("decodable message in output file"));
        rest = &rest[consumed..];
    }
    out
}

pub(crate) fn connect(port: u16) -> TcpStream {
    wait_for(Duration::from_secs(30), || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .expect("hekad listens within 30 s")
}

pub(crate) fn send(stream: &mut TcpStream, msgs: &[Message]) {
    let mut buf = Vec::new();
    for m in msgs {
        let mut bytes = Vec::new();
        encode_message(m, &mut bytes);
        frame_message(&bytes, DEFAULT_MAX_MESSAGE_SIZE, &mut buf).unwrap();
    }
    stream.write_all(&buf).unwrap();
}

#[test]
fn tcp_matcher_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = dir.path().join("out/all.log");
    let cfg = config(dir.path(), port, &out);
    let mut daemon = Daemon::start(&cfg, dir.path());
    let mut stream = connect(port);
    let sent: Vec<Message> = (0..20).map(|i| message(i, i % 3 != 0)).collect();
    // Garbage between frames is skipped by the framing splitter, as in Heka.
    send(&mut stream, &sent[..10]);
    stream.write_all(b"garbage between frames").unwrap();
    send(&mut stream, &sent[10..]);
    drop(stream);
    let expected: Vec<Message> = sent
        .iter()
        .filter(|m| m.type_() == "e2e.keep")
        .cloned()
        .collect();
    let got = wait_for(Duration::from_secs(30), || {
        let got = read_back(&out);
        (got.len() >= expected.len()).then_some(got)
    });
    let log = daemon.log_text();
    let got = got.unwrap_or_else(|| panic!("messages not delivered; log:\n{log}"));
    assert_eq!(got, expected, "every field type survives TCP -> file");
    daemon.signal(libc::SIGTERM);
    let status = daemon
        .wait(Duration::from_secs(30))
        .expect("hekad exits after SIGTERM");
    assert_eq!(status.code(), Some(0), "log:\n{}", daemon.log_text());
}

#[test]
fn sigterm_delivers_everything_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = dir.path().join("all.log");
    let cfg = config(dir.path(), port, &out);
    let pid_file = dir.path().join("hekad.pid");
    // Also check pid_file handling on the way.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "[hekad]\n",
        &format!("[hekad]\npid_file = \"{}\"\n", pid_file.display()),
    );
    std::fs::write(&cfg, text).unwrap();
    let mut daemon = Daemon::start(&cfg, dir.path());
    let mut stream = connect(port);
    let sent: Vec<Message> = (0..200).map(|i| message(i, true)).collect();
    send(&mut stream, &sent);
    drop(stream);
    assert_eq!(
        std::fs::read_to_string(&pid_file)
            .ok()
            .map(|s| s.trim().to_owned()),
        Some(daemon.pid().to_string())
    );
    // Stop at once: what was sent before the signal must still come out.
    daemon.signal(libc::SIGTERM);
    let status = daemon
        .wait(Duration::from_secs(30))
        .expect("hekad exits after SIGTERM");
    let log = daemon.log_text();
    assert_eq!(status.code(), Some(0), "log:\n{log}");
    assert_eq!(read_back(&out), sent, "log:\n{log}");
    assert!(!pid_file.exists(), "pid file removed at exit");
}
