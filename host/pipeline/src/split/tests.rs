//! Tests of [`super::SplitRunner`]: record boundaries, offsets, over-long records,
//! final records and buffer growth.

use super::*;
use crate::splitters::{NullSplitter, TokenSplitter};

fn runner(max: usize, keep: bool) -> SplitRunner {
    SplitRunner::new(
        Box::new(TokenSplitter::new(b'\n', 1)),
        SplitOptions {
            max_record_size: max,
            keep_truncated: keep,
            deliver_incomplete_final: false,
            min_buffer_size: 4,
        },
    )
}

fn drain(r: &mut SplitRunner) -> Vec<(String, u64, bool)> {
    let mut out = Vec::new();
    while let Some(rec) = r.next_record() {
        out.push((
            String::from_utf8_lossy(rec.bytes).into_owned(),
            rec.end_offset,
            rec.truncated,
        ));
    }
    out
}

#[test]
fn records_and_offsets() {
    let mut r = runner(100, false);
    r.push(b"ab\ncd");
    assert_eq!(drain(&mut r), vec![("ab\n".into(), 3, false)]);
    assert_eq!(r.offset(), 3);
    assert_eq!(r.buffered(), 2);
    r.push(b"e\n\nf");
    assert_eq!(
        drain(&mut r),
        vec![("cde\n".into(), 7, false), ("\n".into(), 8, false)]
    );
    assert_eq!(r.offset(), 8);
    // The partial "f" is never emitted, even at final EOF by default.
    assert!(r.next_final_record().is_none());
    assert_eq!(r.offset(), 8);
}

#[test]
fn incomplete_final_delivered_when_asked() {
    let mut r = SplitRunner::new(
        Box::new(TokenSplitter::new(b'\n', 1)),
        SplitOptions {
            deliver_incomplete_final: true,
            ..SplitOptions::default()
        },
    );
    r.push(b"a\nbc");
    assert_eq!(drain(&mut r).len(), 1);
    let rec = r.next_final_record().unwrap();
    assert_eq!((rec.bytes, rec.end_offset), (&b"bc"[..], 4));
    assert!(r.next_final_record().is_none());
}

#[test]
fn read_from_byte_at_a_time() {
    let data = b"one\ntwo\nthree\n".repeat(50);
    let mut r = runner(100, false);
    let mut got = Vec::new();
    for chunk in data.chunks(3) {
        let mut c = chunk;
        while !c.is_empty() {
            r.read_from(&mut c).unwrap();
        }
        got.extend(drain(&mut r).into_iter().map(|x| x.0));
    }
    assert_eq!(got.concat().as_bytes(), &data[..]);
    assert_eq!(r.offset(), data.len() as u64);
}

#[test]
fn oversized_dropped_in_small_reads() {
    let mut r = runner(10, false);
    let mut data = Vec::new();
    data.extend_from_slice(b"ok\n");
    data.extend_from_slice(&[b'x'; 1000]);
    data.extend_from_slice(b"\nnext\n");
    let mut got = Vec::new();
    for chunk in data.chunks(7) {
        r.push(chunk);
        got.extend(drain(&mut r));
    }
    assert_eq!(
        got,
        vec![
            ("ok\n".into(), 3, false),
            ("next\n".into(), data.len() as u64, false)
        ]
    );
    assert_eq!(r.oversized_records(), 1);
}

#[test]
fn oversized_truncated_ends_past_whole_record() {
    let mut r = runner(10, true);
    let mut data = Vec::new();
    data.extend_from_slice(&[b'y'; 1000]);
    data.extend_from_slice(b"\nnext\n");
    let mut got = Vec::new();
    for chunk in data.chunks(5) {
        r.push(chunk);
        got.extend(drain(&mut r));
    }
    assert_eq!(
        got,
        vec![
            ("yyyyyyyyyy".into(), 1001, true),
            ("next\n".into(), 1006, false)
        ]
    );
}

#[test]
fn oversized_in_one_push() {
    let mut r = runner(4, true);
    r.push(b"abcdefgh\nij\n");
    assert_eq!(
        drain(&mut r),
        vec![("abcd".into(), 9, true), ("ij\n".into(), 12, false)]
    );
    let mut r = runner(4, false);
    r.push(b"abcdefgh\nij\n");
    assert_eq!(drain(&mut r), vec![("ij\n".into(), 12, false)]);
}

#[test]
fn reset_restarts_offsets() {
    let mut r = runner(100, false);
    r.push(b"partial");
    r.reset(500);
    r.push(b"x\n");
    assert_eq!(drain(&mut r), vec![("x\n".into(), 502, false)]);
}

#[test]
fn buffer_stays_bounded() {
    let mut r = runner(64, false);
    for _ in 0..10_000 {
        r.push(b"zzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
        assert!(drain(&mut r).is_empty());
    }
    assert!(r.buf.len() <= 64 + 4 + 29, "buffer grew to {}", r.buf.len());
}

#[test]
fn take_consumed_returns_handled_bytes_once() {
    let mut r = runner(100, false);
    r.push(b"ab\ncd\nef");
    assert_eq!(drain(&mut r).len(), 2);
    assert_eq!(r.take_consumed(), b"ab\ncd\n");
    assert_eq!(r.take_consumed(), b"");
    r.push(b"\n");
    assert_eq!(drain(&mut r).len(), 1);
    assert_eq!(r.take_consumed(), b"ef\n");
}

#[test]
fn null_splitter_one_record_per_chunk() {
    let mut r = SplitRunner::new(Box::new(NullSplitter), SplitOptions::default());
    r.push(b"datagram one");
    assert_eq!(drain(&mut r), vec![("datagram one".into(), 12, false)]);
    r.push(b"two");
    assert_eq!(drain(&mut r), vec![("two".into(), 15, false)]);
}

#[test]
fn released_buffer_keeps_the_partial_record_only() {
    let mut a = runner(1000, false);
    let mut b = runner(1000, false);
    a.set_read_size(4096);
    a.push(b"one\ntw");
    assert_eq!(drain(&mut a), vec![("one\n".into(), 4, false)]);
    let big = a.release_buffer();
    assert_eq!(big.len(), 4096);
    assert_eq!(a.buffer_capacity(), 2, "only the partial record is kept");
    // Another stream reads with the big buffer and gives it back.
    b.push(b"x");
    let small = b.adopt_buffer(big);
    assert_eq!(b.buffer_capacity(), 4096);
    assert!(small.len() < 4096);
    b.push(b"y\n");
    assert_eq!(drain(&mut b), vec![("xy\n".into(), 3, false)]);
    let big = b.release_buffer();
    assert_eq!(b.buffer_capacity(), 0);
    // The first stream takes it back and completes its record where it stopped.
    let _ = a.adopt_buffer(big);
    a.push(b"o\n");
    assert_eq!(drain(&mut a), vec![("two\n".into(), 8, false)]);
    // A smaller buffer is not adopted.
    assert_eq!(a.adopt_buffer(vec![0; 16]).len(), 16);
    assert_eq!(a.buffer_capacity(), 4096);
}
