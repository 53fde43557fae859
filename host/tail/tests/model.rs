//! Model-based test of the tailer: random sequences of appends, rename+create
//! rotations, copytruncate rotations, clean restarts and tailer turns, checked
//! against the model "every line written is emitted exactly once, in order".
//!
//! Copytruncate here copies and truncates with no write in between, so the one
//! loss copytruncate allows by design (lines written between the copy and the
//! truncation) cannot occur and exactly-once is required for it too.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use proptest::prelude::*;

const ROTATED: &str = r"access\.log\.?(?P<Seq>\d*)";

#[derive(Debug, Clone)]
enum Op {
    /// Append this many lines to access.log.
    Append(usize),
    /// Write half a line now and the rest with the next append.
    Partial,
    /// access.log.N → N+1, access.log → access.log.1, new access.log.
    Rotate,
    /// access.log.N → N+1, copy access.log → access.log.1, truncate access.log.
    CopyTruncate,
    /// Save journals, drop the tailer, start a new one.
    Restart,
    /// Let the tailer run a few rounds.
    Poll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..20).prop_map(Op::Append),
        1 => Just(Op::Partial),
        2 => Just(Op::Rotate),
        2 => Just(Op::CopyTruncate),
        1 => Just(Op::Restart),
        3 => Just(Op::Poll),
    ]
}

struct World {
    written: Vec<String>,
    /// Text of a line started by `Partial`, completed by the next append.
    partial: Option<String>,
    rotated: usize,
}

impl World {
    fn append(&mut self, dir: &Path, n: usize) {
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("access.log"))
            .unwrap();
        for _ in 0..n {
            let line = format!(
                "model line {:06} {}",
                self.written.len(),
                "x".repeat(self.written.len() % 37)
            );
            match self.partial.take() {
                Some(head) => {
                    let rest = &line[head.len()..];
                    writeln!(f, "{rest}").unwrap();
                }
                None => writeln!(f, "{line}").unwrap(),
            }
            self.written.push(line);
        }
    }

    fn start_partial(&mut self, dir: &Path) {
        use std::io::Write;
        if self.partial.is_some() {
            return;
        }
        let line = format!(
            "model line {:06} {}",
            self.written.len(),
            "x".repeat(self.written.len() % 37)
        );
        let head = line[..10].to_string();
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("access.log"))
            .unwrap();
        f.write_all(head.as_bytes()).unwrap();
        self.partial = Some(head);
    }

    fn shift(&mut self, dir: &Path) {
        for i in (1..=self.rotated).rev() {
            fs::rename(
                dir.join(format!("access.log.{i}")),
                dir.join(format!("access.log.{}", i + 1)),
            )
            .unwrap();
        }
        self.rotated += 1;
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut world = World {
        written: Vec::new(),
        partial: None,
        rotated: 0,
    };
    fs::write(d.join("access.log"), b"").unwrap();
    let mut emitted: Vec<String> = Vec::new();
    let mut tailer = common::tailer(d, journals.path(), ROTATED, &["^Seq"]);
    let mut sink = LineSink::new(journals.path());
    for op in ops {
        match op {
            Op::Append(n) => world.append(d, *n),
            Op::Partial => world.start_partial(d),
            Op::Rotate => {
                // A half-written line stays in the rotated file; finish it first, as a
                // writer flushes before reopening.
                if world.partial.is_some() {
                    world.append(d, 1);
                }
                world.shift(d);
                fs::rename(d.join("access.log"), d.join("access.log.1")).unwrap();
                fs::write(d.join("access.log"), b"").unwrap();
            }
            Op::CopyTruncate => {
                if world.partial.is_some() {
                    world.append(d, 1);
                }
                world.shift(d);
                fs::copy(d.join("access.log"), d.join("access.log.1")).unwrap();
                fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("access.log"))
                    .unwrap()
                    .set_len(0)
                    .unwrap();
            }
            Op::Restart => {
                sink.save_journals();
                emitted.extend(sink.payloads());
                drop(tailer);
                tailer = common::tailer(d, journals.path(), ROTATED, &["^Seq"]);
                sink = LineSink::new(journals.path());
            }
            Op::Poll => settle(&mut tailer, &mut sink),
        }
    }
    let want = world.written.len() - emitted.len();
    poll_until(&mut tailer, &mut sink, want);
    emitted.extend(sink.payloads());
    prop_assert_eq!(emitted, world.written);
    Ok(())
}

/// Found by the property test (300 cases): copies made while the tailer sat at
/// offset 0 of the live file, followed by a rename rotation.
#[test]
fn regression_copies_then_rename_at_offset_zero() {
    use Op::*;
    run(&[
        Poll,
        Rotate,
        Append(5),
        Partial,
        CopyTruncate,
        Poll,
        Poll,
        Append(13),
        CopyTruncate,
        Append(11),
        CopyTruncate,
        Rotate,
    ])
    .unwrap();
}

/// Found by the property test: a partial line read at offset 0, then copytruncate
/// and new lines sharing the partial's prefix (a 10-byte hash window matches).
#[test]
fn regression_partial_then_copytruncate() {
    use Op::*;
    run(&[
        Partial,
        Poll,
        CopyTruncate,
        Append(6),
        Append(11),
        Rotate,
        Poll,
        Poll,
        CopyTruncate,
        Append(15),
        Append(10),
        Append(19),
        Rotate,
    ])
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_line_exactly_once_in_order(ops in proptest::collection::vec(op(), 1..25)) {
        run(&ops)?;
    }
}
