//! The tailer on real files in temp dirs: appends, rotations (rename+create,
//! copytruncate, while stopped), deletion, several streams, priority order with a
//! gzip'd file, and resuming from a journal written the way Heka writes it.

mod common;

use std::fs;
use std::io::Write;

use common::*;
use sha1::{Digest, Sha1};

const ROTATED: &str = r"access\.log\.?(?P<Seq>\d*)(\.gz)?";

#[test]
fn append_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, &lines("a", 0..3));
    let mut t = tailer(dir.path(), journals.path(), r"app\.log", &[]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 3);
    // A partial line is held back until its newline arrives.
    let mut f = fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"a line 3 first half").unwrap();
    settle(&mut t, &mut sink);
    assert_eq!(sink.lines.len(), 3);
    f.write_all(b", second half\n").unwrap();
    append(&log, &lines("a", 4..6));
    poll_until(&mut t, &mut sink, 6);
    let mut want = lines("a", 0..3);
    want.push("a line 3 first half, second half".into());
    want.extend(lines("a", 4..6));
    assert_eq!(sink.payloads(), want);
    assert!(sink.lines.iter().all(|(s, _)| s == "test"));
}

#[test]
fn rename_and_create_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &lines("r", 0..5));
    let mut t = tailer(dir.path(), journals.path(), ROTATED, &["^Seq"]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 5);
    // Lines written just before the rename must not be lost.
    append(&log, &lines("r", 5..8));
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, &lines("r", 8..12));
    poll_until(&mut t, &mut sink, 12);
    assert_eq!(sink.payloads(), lines("r", 0..12));
    append(&log, &lines("r", 12..14));
    poll_until(&mut t, &mut sink, 14);
    assert_eq!(sink.payloads(), lines("r", 0..14));
}

#[test]
fn copytruncate_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &lines("c", 0..5));
    let mut t = tailer(dir.path(), journals.path(), ROTATED, &["^Seq"]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 5);
    // Lines the tailer has not read yet when the copy is taken are read from the copy.
    append(&log, &lines("c", 5..9));
    fs::copy(&log, dir.path().join("access.log.1")).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &lines("c", 9..11));
    poll_until(&mut t, &mut sink, 11);
    assert_eq!(sink.payloads(), lines("c", 0..11));
}

/// Found by the trial harness: the tailer sees the copytruncate copy before the
/// original is truncated, reads the copy to its end, and moves on to the original,
/// which still holds the same bytes. It must go on where the copy ended, not read the
/// original again from its start (duplicates without a crash).
#[test]
fn copy_seen_before_the_truncation_is_not_read_twice() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &lines("c", 0..5));
    let mut t = tailer(dir.path(), journals.path(), ROTATED, &["^Seq"]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 5);
    append(&log, &lines("c", 5..9));
    fs::copy(&log, dir.path().join("access.log.1")).unwrap();
    // The tailer looks now, between the copy and the truncation.
    poll_until(&mut t, &mut sink, 9);
    settle(&mut t, &mut sink);
    assert_eq!(sink.payloads(), lines("c", 0..9));
    fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &lines("c", 9..11));
    poll_until(&mut t, &mut sink, 11);
    settle(&mut t, &mut sink);
    assert_eq!(sink.payloads(), lines("c", 0..11));
}

#[test]
fn truncation_without_copy_restarts_file() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, &lines("t", 0..5));
    let mut t = tailer(dir.path(), journals.path(), r"app\.log", &[]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 5);
    fs::write(&log, b"").unwrap();
    settle(&mut t, &mut sink);
    // Regrown past the old size before the tailer looks: still detected (hash window).
    append(&log, &lines("new", 0..20));
    poll_until(&mut t, &mut sink, 25);
    let mut want = lines("t", 0..5);
    want.extend(lines("new", 0..20));
    assert_eq!(sink.payloads(), want);
}

#[test]
fn rotation_and_appends_while_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &lines("s", 0..10));
    {
        let mut t = tailer(dir.path(), journals.path(), ROTATED, &["^Seq"]);
        let mut sink = LineSink::new(journals.path());
        poll_until(&mut t, &mut sink, 10);
        sink.save_journals();
        assert_eq!(sink.payloads(), lines("s", 0..10));
    }
    // While stopped: appends, two rotations (one compressed), more appends.
    append(&log, &lines("s", 10..15));
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, &lines("s", 15..20));
    gzip(
        &dir.path().join("access.log.1"),
        &dir.path().join("access.log.2.gz"),
    );
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, &lines("s", 20..25));
    let mut t = tailer(dir.path(), journals.path(), ROTATED, &["^Seq"]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 15);
    assert_eq!(sink.payloads(), lines("s", 10..25));
}

#[test]
fn deleted_current_file_then_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, &lines("d", 0..4));
    let mut t = tailer(dir.path(), journals.path(), r"app\.log", &[]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 4);
    fs::remove_file(&log).unwrap();
    settle(&mut t, &mut sink);
    append(&log, &lines("e", 0..3));
    poll_until(&mut t, &mut sink, 7);
    let mut want = lines("d", 0..4);
    want.extend(lines("e", 0..3));
    assert_eq!(sink.payloads(), want);
}

#[test]
fn streams_by_differentiator() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("web1")).unwrap();
    fs::create_dir_all(dir.path().join("web2")).unwrap();
    append(&dir.path().join("web1/access.log"), &lines("w1", 0..3));
    append(&dir.path().join("web2/access.log"), &lines("w2", 0..2));
    let mut t = tailer_with(
        dir.path(),
        journals.path(),
        r"(?P<Host>web\d)/access\.log",
        &[],
        &["nginx-", "Host"],
    );
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 5);
    // A stream appearing later is picked up too.
    fs::create_dir_all(dir.path().join("web3")).unwrap();
    append(&dir.path().join("web3/access.log"), &lines("w3", 0..1));
    poll_until(&mut t, &mut sink, 6);
    let of = |s: &str| -> Vec<String> {
        sink.lines
            .iter()
            .filter(|(n, _)| n == s)
            .map(|(_, l)| l.clone())
            .collect()
    };
    assert_eq!(of("nginx-web1"), lines("w1", 0..3));
    assert_eq!(of("nginx-web2"), lines("w2", 0..2));
    assert_eq!(of("nginx-web3"), lines("w3", 0..1));
    sink.save_journals();
    assert!(journals.path().join("nginx-web1").exists());
}

#[test]
fn priority_order_with_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    append(&dir.path().join("old"), &lines("p", 0..3));
    gzip(&dir.path().join("old"), &dir.path().join("access.log.2.gz"));
    append(&dir.path().join("access.log.1"), &lines("p", 3..6));
    append(&dir.path().join("access.log"), &lines("p", 6..9));
    let mut t = tailer(dir.path(), journals.path(), ROTATED, &["^Seq"]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 9);
    assert_eq!(sink.payloads(), lines("p", 0..9));
    // Resume inside the gzip'd file: seek = decompress and discard.
    sink.lines.clear();
    let gz_text: String = lines("p", 0..3).iter().map(|l| format!("{l}\n")).collect();
    let seek = gz_text.find("p line 1").unwrap();
    write_heka_journal(
        journals.path(),
        "test",
        &dir.path().join("access.log.2.gz"),
        gz_text.as_bytes(),
        seek,
    );
    let mut t = tailer(dir.path(), journals.path(), ROTATED, &["^Seq"]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 8);
    assert_eq!(sink.payloads(), lines("p", 1..9));
}

#[test]
fn resumes_from_heka_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    // Long enough that the hash covers a full 500-byte window.
    append(&log, &lines("h", 0..100));
    let content = fs::read(&log).unwrap();
    let seek = String::from_utf8_lossy(&content)
        .find("h line 60\n")
        .unwrap();
    write_heka_journal(journals.path(), "test", &log, &content, seek);
    let mut t = tailer(dir.path(), journals.path(), r"app\.log", &[]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 40);
    assert_eq!(sink.payloads(), lines("h", 60..100));
    // Our journal is byte-compatible: what we save hashes like Heka's.
    sink.save_journals();
    let saved: serde_json::Value =
        serde_json::from_slice(&fs::read(journals.path().join("test")).unwrap()).unwrap();
    let mut h = Sha1::new();
    h.update(&content[content.len() - 500..]);
    assert_eq!(saved["seek"], content.len());
    assert_eq!(saved["last_hash"], hex::encode(h.finalize()));
    // A journal whose hash matches nothing starts the stream over.
    fs::write(
        journals.path().join("test"),
        format!(
            r#"{{"seek":10,"file_name":"{}","last_hash":"00"}}"#,
            log.display()
        ),
    )
    .unwrap();
    let mut t = tailer(dir.path(), journals.path(), r"app\.log", &[]);
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 100);
}

/// Writes a journal as Heka 0.10 does: SHA-1 of the 500 bytes before `seek`,
/// zero-padded at the front.
fn write_heka_journal(
    dir: &std::path::Path,
    stream: &str,
    file: &std::path::Path,
    content: &[u8],
    seek: usize,
) {
    let mut buf = vec![0u8; 500];
    let from = seek.saturating_sub(500);
    let part = &content[from..seek];
    buf[500 - part.len()..].copy_from_slice(part);
    let hash = hex::encode(Sha1::digest(&buf));
    fs::write(
        dir.join(stream),
        format!(
            r#"{{"seek":{seek},"file_name":"{}","last_hash":"{hash}"}}"#,
            file.display()
        ),
    )
    .unwrap();
}

fn gzip(from: &std::path::Path, to: &std::path::Path) {
    let data = fs::read(from).unwrap();
    let mut enc = flate2::write::GzEncoder::new(
        fs::File::create(to).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&data).unwrap();
    enc.finish().unwrap();
    fs::remove_file(from).unwrap();
}
