//! FileOutput's unit tests: real files in temp dirs.

use std::os::unix::fs::PermissionsExt;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use heka_message::Message;
use heka_pipeline::{Output, OutputError};

use super::config::parse_perm;
use super::output::unix_secs;
use super::{FileOutput, FileOutputConfig, MAX_BUFFERED};
use crate::timefmt::TimeFormat;

fn config(path: PathBuf, extra: &str) -> FileOutputConfig {
    let text = format!("path = {:?}\n{extra}", path.display().to_string());
    toml::from_str(&text).expect("valid test config")
}

fn output(path: PathBuf, extra: &str) -> FileOutput {
    FileOutput::new("TestFileOutput", &config(path, extra)).expect("valid config")
}

fn send(out: &mut FileOutput, payload: &str) {
    out.send(&Message::default(), payload.as_bytes())
        .expect("send");
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn defaults_are_heka_s() {
    let cfg = config("/tmp/x".into(), "");
    assert_eq!(cfg.perm, "644");
    assert_eq!(cfg.folder_perm, "700");
    assert_eq!(cfg.flush_interval, 1000);
    assert_eq!(cfg.flush_count, 1);
    assert_eq!(cfg.flush_operator, "AND");
    assert_eq!(cfg.rotation_interval, 0);
}

#[test]
fn bad_settings_name_their_key() {
    for (extra, key) in [
        ("perm = \"rw-r--r--\"", "perm"),
        ("perm = \"99\"", "perm"),
        ("folder_perm = \"17777\"", "folder_perm"),
        ("flush_operator = \"XOR\"", "flush_operator"),
        ("rotation_interval = 2", "rotation_interval"),
    ] {
        let err = FileOutput::new("f", &config("/tmp/x".into(), extra)).unwrap_err();
        assert_eq!(err.0, key, "{extra}: {}", err.1);
    }
    assert!(toml::from_str::<FileOutputConfig>("path = \"/x\"\nflush = 1").is_err());
    assert!(toml::from_str::<FileOutputConfig>("perm = \"644\"").is_err());
    assert_eq!(parse_perm("0640"), Ok(0o640));
}

#[test]
fn building_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/out.log");
    let _out = output(path.clone(), "");
    assert!(!dir.path().join("sub").exists());
}

#[test]
fn writes_create_dirs_and_file_with_their_perms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/out.log");
    // Owner-only modes survive any usual umask.
    let mut out = output(path.clone(), "perm = \"600\"\nfolder_perm = \"700\"");
    send(&mut out, "one\n");
    out.flush().unwrap();
    assert_eq!(read(&path), "one\n");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&dir.path().join("a/b")), 0o700);
}

#[test]
fn appends_to_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    std::fs::write(&path, "old\n").unwrap();
    let mut out = output(path.clone(), "flush_interval = 0");
    send(&mut out, "new\n");
    assert_eq!(read(&path), "old\nnew\n");
}

#[test]
fn count_rule_alone_when_interval_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut out = output(path.clone(), "flush_interval = 0\nflush_count = 3");
    send(&mut out, "1\n");
    send(&mut out, "2\n");
    assert_eq!(read(&path), "", "held until 3 messages");
    assert_eq!(out.buffered(), (4, 2));
    send(&mut out, "3\n");
    assert_eq!(read(&path), "1\n2\n3\n");
    assert_eq!(out.buffered(), (0, 0));
}

#[test]
fn and_needs_both_count_and_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    // An interval that cannot elapse during the test: the count alone is not
    // enough with AND.
    let mut out = output(path.clone(), "flush_interval = 3600000\nflush_count = 2");
    for line in ["1\n", "2\n", "3\n"] {
        send(&mut out, line);
    }
    assert_eq!(read(&path), "");
    // Once the interval has passed, the next message (count reached) writes.
    out.last_write = Instant::now() - Duration::from_secs(3601);
    send(&mut out, "4\n");
    assert_eq!(read(&path), "1\n2\n3\n4\n");
}

#[test]
fn or_writes_on_count_or_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut out = output(
        path.clone(),
        "flush_interval = 3600000\nflush_count = 2\nflush_operator = \"OR\"",
    );
    send(&mut out, "1\n");
    assert_eq!(read(&path), "");
    send(&mut out, "2\n");
    assert_eq!(read(&path), "1\n2\n", "count reached");
    send(&mut out, "3\n");
    assert_eq!(read(&path), "1\n2\n");
    out.last_write = Instant::now() - Duration::from_secs(3601);
    out.timer_event(0).unwrap();
    assert_eq!(read(&path), "1\n2\n3\n", "interval elapsed on a tick");
}

#[test]
fn tick_with_and_waits_for_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut out = output(path.clone(), "flush_interval = 10\nflush_count = 2");
    out.last_write = Instant::now() - Duration::from_secs(1);
    send(&mut out, "1\n");
    out.timer_event(0).unwrap();
    assert_eq!(read(&path), "", "count not reached");
    out.flush().unwrap();
    assert_eq!(read(&path), "1\n", "flush() writes regardless of the rules");
}

#[test]
fn big_buffers_are_written_whatever_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let mut out = output(
        path.clone(),
        "flush_interval = 3600000\nflush_count = 1000000",
    );
    let chunk = "x".repeat(64 * 1024);
    for _ in 0..(MAX_BUFFERED / chunk.len()) {
        send(&mut out, &chunk);
    }
    assert_eq!(read(&path).len(), MAX_BUFFERED);
    assert_eq!(out.buffered(), (0, 0));
}

#[test]
fn reopen_after_rename_starts_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    let rotated = dir.path().join("out.log.1");
    let mut out = output(path.clone(), "");
    send(&mut out, "before\n");
    out.flush().unwrap();
    std::fs::rename(&path, &rotated).unwrap();
    // Buffered before the signal: belongs to the old file.
    send(&mut out, "buffered\n");
    out.reopen().unwrap();
    assert!(path.exists(), "reopen creates the new file at once");
    send(&mut out, "after\n");
    out.flush().unwrap();
    assert_eq!(read(&rotated), "before\nbuffered\n");
    assert_eq!(read(&path), "after\n");
}

#[test]
fn first_open_failure_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory is needed.
    std::fs::write(dir.path().join("file"), "").unwrap();
    let mut out = output(dir.path().join("file/out.log"), "flush_interval = 0");
    let err = out.send(&Message::default(), b"x").unwrap_err();
    assert!(matches!(err, OutputError::Fatal(_)), "{err:?}");
}

#[test]
fn later_open_failure_is_retried_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    let path = sub.join("out.log");
    let mut out = output(path.clone(), "flush_interval = 0");
    send(&mut out, "1\n");
    // The directory vanishes and a file takes its place: reopen cannot succeed.
    std::fs::remove_dir_all(&sub).unwrap();
    std::fs::write(&sub, "").unwrap();
    assert!(matches!(out.reopen(), Err(OutputError::Retry { .. })));
    let err = out.send(&Message::default(), b"2\n").unwrap_err();
    assert!(matches!(err, OutputError::Retry { .. }), "{err:?}");
    assert_eq!(out.buffered(), (0, 0), "the failed message is not kept");
    // The path becomes writable again: the runner's retry succeeds, once.
    std::fs::remove_file(&sub).unwrap();
    send(&mut out, "2\n");
    assert_eq!(read(&path), "2\n");
}

#[test]
fn rotation_switches_files_at_period_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("%Y/%m/%d-%H.log");
    let mut out = output(pattern, "rotation_interval = 1\nflush_interval = 0");
    let now = SystemTime::now();
    let name = |t: SystemTime| {
        let mut s = String::new();
        let hour = unix_secs(t) / 3600 * 3600;
        TimeFormat::parse("%Y/%m/%d-%H.log")
            .unwrap()
            .format_into(hour as i64 * 1_000_000_000, &mut s);
        dir.path().join(s)
    };
    send(&mut out, "first\n");
    assert_eq!(read(&name(now)), "first\n");
    // An hour later (the clock is passed in rather than waited for).
    let later = now + Duration::from_secs(3600);
    out.rotate_if_due(later);
    send(&mut out, "second\n");
    assert_eq!(read(&name(now)), "first\n");
    assert_eq!(read(&name(later)), "second\n");
    // Not yet due again: stays on the same file.
    out.rotate_if_due(later);
    send(&mut out, "third\n");
    assert_eq!(read(&name(later)), "second\nthird\n");
}

#[test]
fn rotation_pattern_is_checked() {
    let err =
        FileOutput::new("f", &config("/tmp/%Q.log".into(), "rotation_interval = 24")).unwrap_err();
    assert_eq!(err.0, "path", "{}", err.1);
    // Without rotation the path is taken literally.
    assert!(FileOutput::new("f", &config("/tmp/%Q.log".into(), "")).is_ok());
}
