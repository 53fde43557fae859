//! A line-splitting [`TailSink`] for the tailer's tests: collects `(stream, line)`
//! pairs, tracks the journal position (file, offset past the last whole line, hash
//! window) as a real consumer does, and saves journals on demand.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heka_tail::journal::{self, HashWindow, Position};
use heka_tail::{Discovery, DiscoveryConfig, StreamId, TailOptions, TailSink, Tailer};

#[derive(Default)]
struct StreamState {
    name: String,
    file: PathBuf,
    partial: Vec<u8>,
    consumed: u64,
    window: HashWindow,
    /// The journal position: only ever the end of a line handed out, so a new file
    /// begun but not yet read never replaces the end of the previous one.
    journal: Option<Position>,
}

/// Collects lines; `journal_dir` receives journals on `save_journals`.
pub struct LineSink {
    streams: HashMap<StreamId, StreamState>,
    pub lines: Vec<(String, String)>,
    pub journal_dir: PathBuf,
    scratch: Vec<u8>,
}

impl LineSink {
    pub fn new(journal_dir: &Path) -> LineSink {
        LineSink {
            streams: HashMap::new(),
            lines: Vec::new(),
            journal_dir: journal_dir.to_path_buf(),
            scratch: vec![0; 64 * 1024],
        }
    }

    /// Writes every stream's journal (what a clean stop does).
    pub fn save_journals(&self) {
        for st in self.streams.values() {
            if let Some(pos) = &st.journal {
                journal::save(&self.journal_dir, &st.name, pos).unwrap();
            }
        }
    }

    pub fn payloads(&self) -> Vec<String> {
        self.lines.iter().map(|(_, l)| l.clone()).collect()
    }
}

impl TailSink for LineSink {
    fn begin(&mut self, stream: StreamId, name: &str, file: &Path, offset: u64, before: &[u8]) {
        let st = self.streams.entry(stream).or_default();
        st.name = name.to_owned();
        st.file = file.to_path_buf();
        st.partial.clear();
        st.consumed = offset;
        st.window = HashWindow::from_bytes(before);
    }

    fn moved(&mut self, stream: StreamId, file: &Path) {
        if let Some(st) = self.streams.get_mut(&stream) {
            let old = std::mem::replace(&mut st.file, file.to_path_buf());
            if let Some(j) = st.journal.as_mut().filter(|j| j.file_name == old) {
                j.file_name = file.to_path_buf();
            }
        }
    }

    fn read(&mut self, stream: StreamId, reader: &mut dyn Read) -> io::Result<usize> {
        let n = reader.read(&mut self.scratch)?;
        let st = self.streams.get_mut(&stream).expect("begin before read");
        st.partial.extend_from_slice(&self.scratch[..n]);
        let mut start = 0;
        while let Some(i) = st.partial[start..].iter().position(|&b| b == b'\n') {
            let line = &st.partial[start..start + i];
            self.lines
                .push((st.name.clone(), String::from_utf8_lossy(line).into_owned()));
            st.window.feed(&st.partial[start..start + i + 1]);
            st.consumed += (i + 1) as u64;
            start += i + 1;
        }
        if start > 0 {
            // Once per read, as a real consumer computes it once per chunk.
            st.journal = Some(Position {
                seek: st.consumed,
                file_name: st.file.clone(),
                last_hash: st.window.hash_hex(),
            });
        }
        st.partial.drain(..start);
        Ok(n)
    }

    fn end(&mut self, stream: StreamId) {
        if let Some(st) = self.streams.get_mut(&stream) {
            st.partial.clear();
        }
    }
}

/// A tailer over `dir` with `file_match`/`priority`, journals in `journals`, quick
/// grace and checks for tests.
pub fn tailer(dir: &Path, journals: &Path, file_match: &str, priority: &[&str]) -> Tailer {
    tailer_with(dir, journals, file_match, priority, &[])
}

pub fn tailer_with(
    dir: &Path,
    journals: &Path,
    file_match: &str,
    priority: &[&str],
    differentiator: &[&str],
) -> Tailer {
    let discovery = Discovery::new(&DiscoveryConfig {
        log_directory: dir.to_path_buf(),
        file_match: file_match.into(),
        priority: priority.iter().map(|s| s.to_string()).collect(),
        differentiator: differentiator.iter().map(|s| s.to_string()).collect(),
        default_stream: "test".into(),
        ..Default::default()
    })
    .unwrap();
    Tailer::new(
        discovery,
        TailOptions {
            journal_directory: journals.to_path_buf(),
            idle_check: Duration::from_millis(50),
            rotate_grace: Duration::from_millis(20),
            ..TailOptions::default()
        },
    )
    .unwrap()
}

/// Polls until `sink` holds `n` lines (bounded: panics after 20 s), then a few more
/// rounds so that any extra (replayed) line would show up.
pub fn poll_until(tailer: &mut Tailer, sink: &mut LineSink, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while sink.lines.len() < n {
        assert!(
            Instant::now() < deadline,
            "timed out with {} of {n} lines: {:?}",
            sink.lines.len(),
            sink.payloads()
        );
        tailer.poll(sink, Duration::from_millis(50)).unwrap();
    }
    settle(tailer, sink);
}

/// A few rounds of polling (lets the tailer pass rotate grace and notice changes).
pub fn settle(tailer: &mut Tailer, sink: &mut LineSink) {
    for _ in 0..4 {
        tailer.poll(sink, Duration::from_millis(30)).unwrap();
    }
}

pub fn append(path: &Path, lines: &[String]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

pub fn lines(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix} line {i}")).collect()
}
