//! Unit tests of the disk queue on real files in temp dirs: order, rolling, checkpoint
//! and restart, torn tails, damaged checkpoints, room accounting.

use std::io::Write;
use std::time::Duration;

use heka_message::Message;

use super::*;
use crate::buffer::FullAction;

const MAX: usize = heka_message::DEFAULT_MAX_MESSAGE_SIZE;

fn msg(i: usize) -> Message {
    Message {
        uuid: vec![1; 16],
        timestamp: i as i64,
        payload: Some(format!("message {i:05} {}", "x".repeat(100)).into()),
        ..Default::default()
    }
}

fn options(max_file_size: u64) -> BufferOptions {
    BufferOptions {
        base_dir: PathBuf::new(),
        max_file_size,
        max_buffer_size: 0,
        full_action: FullAction::Block,
        cursor_update_count: 1,
    }
}

fn write(writer: &mut QueueWriter, range: std::ops::Range<usize>) {
    for i in range {
        writer.prepare(&msg(i)).unwrap();
        assert!(writer.has_room());
        writer.push().unwrap();
    }
    writer.sync().unwrap();
}

/// Reads everything published, committing each message; returns their timestamps.
fn read_all(reader: &mut QueueReader) -> Vec<i64> {
    let mut seen = Vec::new();
    while let Some(Record { msg: m, cursor, .. }) = reader.next().unwrap() {
        seen.push(m.timestamp);
        reader.commit(cursor, 1);
    }
    seen
}

fn segments(dir: &Path) -> Vec<u64> {
    list_segments(dir).unwrap()
}

#[test]
fn reads_in_order_what_was_written_and_only_once_published() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut w, mut r) = open(tmp.path(), &options(0), MAX).unwrap();
    assert!(r.next().unwrap().is_none());
    w.prepare(&msg(0)).unwrap();
    w.push().unwrap();
    // Batched, not yet synced: invisible to the reader.
    assert!(r.next().unwrap().is_none());
    w.sync().unwrap();
    write(&mut w, 1..100);
    assert_eq!(read_all(&mut r), (0..100).collect::<Vec<i64>>());
    assert_eq!(r.queued_bytes(), 0);
    write(&mut w, 100..110);
    assert_eq!(read_all(&mut r), (100..110).collect::<Vec<i64>>());
}

#[test]
fn rolls_segments_and_deletes_the_delivered_ones() {
    let tmp = tempfile::tempdir().unwrap();
    // ~130 bytes per record: about 7 records per 1000-byte segment.
    let (mut w, mut r) = open(tmp.path(), &options(1000), MAX).unwrap();
    write(&mut w, 0..50);
    let before = segments(tmp.path());
    assert!(before.len() >= 7, "segments: {before:?}");
    for id in &before {
        let len = fs::metadata(segment_path(tmp.path(), *id)).unwrap().len();
        assert!(len <= 1000, "segment {id} is {len} bytes");
    }
    assert_eq!(read_all(&mut r), (0..50).collect::<Vec<i64>>());
    let after = segments(tmp.path());
    assert!(after.len() <= 2, "delivered segments remain: {after:?}");
    assert_eq!(w.queued_bytes(), 0);
}

#[test]
fn restart_resumes_at_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (mut w, mut r) = open(tmp.path(), &options(1000), MAX).unwrap();
        write(&mut w, 0..30);
        for expected in 0..12 {
            let Record { msg: m, cursor, .. } = r.next().unwrap().unwrap();
            assert_eq!(m.timestamp, expected);
            r.commit(cursor, 1);
        }
        // Read but not committed: must come again after the restart.
        r.next().unwrap().unwrap();
    }
    let checkpoint = fs::read_to_string(tmp.path().join(CHECKPOINT)).unwrap();
    assert_eq!(checkpoint.split(' ').count(), 2, "{checkpoint}");
    let (mut w, mut r) = open(tmp.path(), &options(1000), MAX).unwrap();
    assert!(r.queued_bytes() > 0);
    write(&mut w, 30..35);
    assert_eq!(read_all(&mut r), (12..35).collect::<Vec<i64>>());
}

#[test]
fn checkpoint_written_every_cursor_update_count_records_and_at_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(0);
    opts.cursor_update_count = 5;
    let checkpoint = || fs::read_to_string(tmp.path().join(CHECKPOINT)).ok();
    let (mut w, mut r) = open(tmp.path(), &opts, MAX).unwrap();
    write(&mut w, 0..12);
    let mut cursors = Vec::new();
    for _ in 0..7 {
        let cursor = r.next().unwrap().unwrap().cursor;
        r.commit(cursor, 1);
        cursors.push(cursor);
    }
    let at = |c: Cursor| Some(format!("{} {}", c.segment, c.offset));
    // 5 committed records were checkpointed; the other 2 not yet.
    assert_eq!(checkpoint(), at(cursors[4]));
    drop(r);
    assert_eq!(checkpoint(), at(cursors[6]));
    drop(w);
    let (_w, mut r) = open(tmp.path(), &opts, MAX).unwrap();
    assert_eq!(r.next().unwrap().unwrap().msg.timestamp, 7);
}

#[test]
fn torn_tail_after_a_crash_is_skipped_with_the_rest_delivered() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (mut w, _r) = open(tmp.path(), &options(0), MAX).unwrap();
        write(&mut w, 0..10);
    }
    // Simulate a crash mid-write: half a record at the end of the segment.
    let last = *segments(tmp.path()).last().unwrap();
    let path = segment_path(tmp.path(), last);
    let mut record = Vec::new();
    let mut encoded = Vec::new();
    heka_message::encode_message(&msg(10), &mut encoded);
    heka_message::frame_message(&encoded, MAX, &mut record).unwrap();
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&record[..record.len() / 2]).unwrap();
    drop(f);

    let (mut w, mut r) = open(tmp.path(), &options(0), MAX).unwrap();
    write(&mut w, 11..15);
    let seen = read_all(&mut r);
    assert_eq!(
        seen,
        (0..10).chain(11..15).map(|i| i as i64).collect::<Vec<_>>()
    );
}

#[test]
fn garbage_inside_a_segment_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (mut w, _r) = open(tmp.path(), &options(0), MAX).unwrap();
        write(&mut w, 0..3);
    }
    let last = *segments(tmp.path()).last().unwrap();
    let path = segment_path(tmp.path(), last);
    let mut bytes = fs::read(&path).unwrap();
    bytes.splice(0..0, b"garbage".iter().copied());
    fs::write(&path, &bytes).unwrap();
    let (_w, mut r) = open(tmp.path(), &options(0), MAX).unwrap();
    assert_eq!(read_all(&mut r), vec![0, 1, 2]);
}

#[test]
fn damaged_checkpoint_starts_at_the_oldest_segment() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (mut w, mut r) = open(tmp.path(), &options(0), MAX).unwrap();
        write(&mut w, 0..4);
        let cursor = r.next().unwrap().unwrap().cursor;
        r.commit(cursor, 1);
    }
    fs::write(tmp.path().join(CHECKPOINT), "not a checkpoint").unwrap();
    let (_w, mut r) = open(tmp.path(), &options(0), MAX).unwrap();
    // Duplicates (0 again), never loss.
    assert_eq!(read_all(&mut r), vec![0, 1, 2, 3]);
}

#[test]
fn room_is_bounded_by_max_buffer_size_and_freed_by_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(0);
    opts.max_buffer_size = 1000;
    let (mut w, mut r) = open(tmp.path(), &opts, MAX).unwrap();
    let mut written = 0;
    loop {
        w.prepare(&msg(written)).unwrap();
        if !w.has_room() {
            break;
        }
        w.push().unwrap();
        written += 1;
    }
    w.sync().unwrap();
    assert!((5..10).contains(&written), "{written} records fit");
    assert!(w.queued_bytes() <= 1000);
    assert!(!w.wait_for_room(Duration::from_millis(1)));
    let cursor = r.next().unwrap().unwrap().cursor;
    r.commit(cursor, 1);
    assert!(w.wait_for_room(Duration::from_millis(1)));
}

#[test]
fn a_record_bigger_than_the_limit_still_fits_an_empty_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(0);
    opts.max_buffer_size = 10;
    let (mut w, mut r) = open(tmp.path(), &opts, MAX).unwrap();
    w.prepare(&msg(0)).unwrap();
    assert!(w.has_room());
    w.push().unwrap();
    w.sync().unwrap();
    w.prepare(&msg(1)).unwrap();
    assert!(!w.has_room());
    assert_eq!(read_all(&mut r), vec![0]);
    assert!(w.has_room());
}

#[test]
fn crash_resends_at_most_cursor_update_count_records() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(0);
    opts.cursor_update_count = 10;
    {
        let (mut w, mut r) = open(tmp.path(), &opts, MAX).unwrap();
        write(&mut w, 0..100);
        for _ in 0..37 {
            let cursor = r.next().unwrap().unwrap().cursor;
            r.commit(cursor, 1);
        }
        // A crash: no final checkpoint.
        std::mem::forget(r);
    }
    let (_w, mut r) = open(tmp.path(), &opts, MAX).unwrap();
    let seen = read_all(&mut r);
    // Checkpointed at 30: 30..37 come again (7 < cursor_update_count), none lost.
    assert_eq!(seen, (30..100).collect::<Vec<i64>>());
}
