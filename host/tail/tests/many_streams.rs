//! Many streams cost about what one does: the work the tailer does to start 200
//! streams and read their first data, counted (`Tailer::counters`), not timed.
//! Before this was fixed (bench row 9), every stream start and every file's first
//! data scanned the whole directory, opening each of its files: 200 streams meant
//! 400 scans and 80,000 opens. And the cheap check that replaced those scans still
//! sees a copytruncate copy, without inotify to tell it.

mod common;

use std::fs;
use std::time::{Duration, SystemTime};

use common::*;
use heka_tail::{Discovery, DiscoveryConfig, TailOptions, Tailer};

const STREAMS: usize = 200;

/// Sets `dir`'s modification time 10 s back: a directory time is distrusted right
/// after a change (another change within the file system's granularity may leave
/// it as it is), so a freshly made directory would make every check a full scan.
fn age(dir: &std::path::Path) {
    let past = SystemTime::now() - Duration::from_secs(10);
    fs::File::open(dir).unwrap().set_modified(past).unwrap();
}

#[test]
fn starting_many_streams_scans_once() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    for i in 0..STREAMS {
        append(
            &dir.path().join(format!("app-{i}.log")),
            &lines(&format!("s{i}"), 0..3),
        );
    }
    // As a log directory is when hekad starts, so that the count below is exact.
    age(dir.path());
    let mut t = tailer_with(
        dir.path(),
        journals.path(),
        r"app-(?P<Idx>\d+)\.log",
        &[],
        &["app-", "Idx"],
    );
    let mut sink = LineSink::new(journals.path());
    poll_until(&mut t, &mut sink, 3 * STREAMS);
    let c = t.counters();
    // The scan at start-up, and nothing since: our own opens and reads wake nobody,
    // a start and a first read look at the stream's own file.
    assert_eq!(c.full_scans, 1, "{c:?}");
    assert_eq!(c.scan_opens, STREAMS as u64, "{c:?}");
    assert!(c.stream_checks >= STREAMS as u64, "{c:?}");

    // A rotation of one stream: its lines all arrive, and the cost is a few scans
    // (the rename and the creation), not one per stream.
    let log = dir.path().join("app-7.log");
    append(&log, &lines("s7", 3..5));
    fs::rename(&log, dir.path().join("app-7.log.1")).unwrap();
    append(&log, &lines("s7", 5..6));
    poll_until(&mut t, &mut sink, 3 * STREAMS + 3);
    let of7: Vec<String> = sink
        .lines
        .iter()
        .filter(|(n, _)| n == "app-7")
        .map(|(_, l)| l.clone())
        .collect();
    // The renamed file no longer matches `file_match`: what was written to it
    // before the rename is read only if the tailer got there first, as in Heka; the
    // new file is read from its start.
    assert!(of7.ends_with(&lines("s7", 5..6)), "{of7:?}");
    let c2 = t.counters();
    assert!(c2.full_scans - c.full_scans < 20, "{c2:?}");
    // Known files are only `stat`ed by the scans that followed: the new file is opened.
    assert!(
        c2.scan_opens - c.scan_opens <= c2.full_scans - c.full_scans,
        "{c2:?}"
    );
}

/// A stream opened its file while it was empty (offset 0: no bytes before the
/// position to compare); then the file got lines, was copied and truncated, and got
/// more, all before the tailer looked again. Without a watcher, only the first
/// data's check can see the copy: the directory's time moved, so it scans, and the
/// lines of the copy are read before the truncated file's new ones.
#[test]
fn the_cheap_check_still_finds_a_copy_at_offset_zero() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    fs::write(&log, b"").unwrap();
    age(dir.path());
    let discovery = Discovery::new(&DiscoveryConfig {
        log_directory: dir.path().to_path_buf(),
        file_match: r"access\.log\.?(?P<Seq>\d*)".into(),
        priority: vec!["^Seq".into()],
        default_stream: "test".into(),
        ..Default::default()
    })
    .unwrap();
    let mut t = Tailer::new(
        discovery,
        TailOptions {
            journal_directory: journals.path().to_path_buf(),
            idle_check: Duration::from_millis(20),
            rotate_grace: Duration::from_millis(20),
            watch: false,
            ..TailOptions::default()
        },
    )
    .unwrap();
    let mut sink = LineSink::new(journals.path());
    settle(&mut t, &mut sink);
    assert_eq!(t.current(0).map(|(_, offset)| offset), Some(0));
    let scans = t.counters().full_scans;
    append(&log, &lines("c", 0..5));
    fs::copy(&log, dir.path().join("access.log.1")).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &lines("c", 5..7));
    poll_until(&mut t, &mut sink, 7);
    assert_eq!(sink.payloads(), lines("c", 0..7));
    assert!(t.counters().full_scans > scans, "{:?}", t.counters());
}
