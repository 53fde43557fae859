//! [`Tailer`]: reads every stream's files in order, follows rotation, resumes from
//! journals, and hands the bytes to a [`TailSink`].
//!
//! One concern per file:
//!
//! - this file: the types, [`Tailer::poll`] (one round over every stream) and
//!   `service` (one stream's turn: read until nothing more or the budget is used);
//! - `rotation`: the rules at the end of a file's data (grown, truncated, copied,
//!   renamed, followed by a newer file) — read its doc for the rules;
//! - `identity`: how a file is known whatever its name ((device, inode), the bytes
//!   before the position, the first bytes of finished files);
//! - `open`: opening a stream's first file and files at a hashed offset;
//! - `watch`: inotify events, rescans, directory change times, and the cheap check
//!   of one stream's files that keeps 1,000 streams from costing 1,000 scans each.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::discovery::{DirStamp, Discovery};
use crate::error::TailError;
use crate::journal::Position;

mod identity;
mod open;
mod rotation;
mod watch;

pub use identity::FileId;
use identity::Fingerprint;
use open::{Current, Start, Tee};
use rotation::Eof;

/// Index of a stream in its [`Tailer`] (stable for the tailer's life).
pub type StreamId = usize;

/// What the tailer reports to. All calls come from the thread calling
/// [`Tailer::poll`].
pub trait TailSink {
    /// `stream` starts a new byte sequence: `file` from `offset`. Drop any partial
    /// record kept for the stream. `before` holds up to 500 bytes preceding `offset`
    /// (to compute journal hashes).
    fn begin(&mut self, stream: StreamId, name: &str, file: &Path, offset: u64, before: &[u8]);

    /// The current byte sequence goes on, at the same offset, in `file` (the file was
    /// renamed, or a copytruncate copy holds the rest of what we were reading).
    fn moved(&mut self, stream: StreamId, file: &Path);

    /// Read once from `reader` (the stream's current file at its read position),
    /// e.g. with `SplitRunner::read_from`, and handle the records now complete.
    /// Returns the bytes read; 0 means no more data for now. An error that did not
    /// come from `reader` stops the tailer.
    fn read(&mut self, stream: StreamId, reader: &mut dyn Read) -> io::Result<usize>;

    /// The current file is finished: a trailing partial record will never complete.
    fn end(&mut self, stream: StreamId);

    /// The stream has no more data for now (a good moment to save its journal).
    fn idle(&mut self, _stream: StreamId) {}

    /// The stream's turn of a [`Tailer::poll`] round is over (no more data, or its
    /// `read_budget` used); it reads nothing until its next turn, so whatever it
    /// needed only for reading can be given back or shared with the next stream.
    fn turn_over(&mut self, _stream: StreamId) {}
}

/// Work a [`Tailer`] did, counted so tests can tell that a stream's start or first
/// data costs a look at that stream's files, not a scan of every stream's
/// (`Tailer::counters`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailCounters {
    /// Scans of the whole `log_directory` (start-up, creations, removals and renames,
    /// `rescan_interval`, a stream finding its files changed).
    pub full_scans: u64,
    /// Files opened by those scans (a file already known by path and identity is
    /// only `stat`ed).
    pub scan_opens: u64,
    /// One stream's files checked with a `stat` each instead of a full scan.
    pub stream_checks: u64,
}

/// Runtime options of a [`Tailer`].
#[derive(Debug, Clone)]
pub struct TailOptions {
    /// Where journals are read from at stream creation (`<dir>/<stream name>`).
    pub journal_directory: PathBuf,
    /// Full rescan period (Heka `rescan_interval`, default 1 min).
    pub rescan_interval: Duration,
    /// A new stream without journal starts at the end of its newest file.
    pub initial_tail: bool,
    /// Longest wait without any file event before idle streams are checked again.
    pub idle_check: Duration,
    /// How long a rotated-away file must be quiet before moving on while the newer
    /// file is still empty.
    pub rotate_grace: Duration,
    /// Bytes read from one stream before the others get a turn.
    pub read_budget: usize,
    /// Use inotify; without it the tailer rechecks every `idle_check`.
    pub watch: bool,
}

impl Default for TailOptions {
    fn default() -> TailOptions {
        TailOptions {
            journal_directory: PathBuf::from("logstreamer"),
            rescan_interval: Duration::from_secs(60),
            initial_tail: false,
            idle_check: Duration::from_secs(1),
            rotate_grace: Duration::from_secs(1),
            read_budget: 4 << 20,
            watch: true,
        }
    }
}

#[derive(Debug, Clone)]
struct Scanned {
    path: PathBuf,
    id: FileId,
    gz: bool,
    len: u64,
}

struct Stream {
    name: String,
    files: Vec<Scanned>,
    cur: Option<Current>,
    consumed: VecDeque<Fingerprint>,
    /// The journal, until the stream has opened its first file.
    resume: Option<Position>,
}

/// Tails the streams of one LogstreamerInput.
pub struct Tailer {
    discovery: Discovery,
    options: TailOptions,
    streams: Vec<Stream>,
    by_name: HashMap<String, StreamId>,
    watcher: Option<watch::FileWatcher>,
    last_scan: Instant,
    rescan_needed: bool,
    /// Every directory of the last scan with its time before the listing: a new
    /// entry (a copytruncate copy) changes it before any event reaches us.
    dir_stamps: HashMap<PathBuf, DirStamp>,
    /// When the racy directory times of the last scan settle: scan again then.
    settle_scan: Option<Instant>,
    counters: TailCounters,
}

impl std::fmt::Debug for Tailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tailer")
            .field("root", &self.discovery.root())
            .field(
                "streams",
                &self.streams.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Tailer {
    /// Sets up the watcher and scans once; journals of the streams found are loaded
    /// now and applied when each stream opens its first file.
    pub fn new(discovery: Discovery, options: TailOptions) -> Result<Tailer, TailError> {
        let watcher = if options.watch {
            Some(watch::watch(discovery.root())?)
        } else {
            None
        };
        let mut tailer = Tailer {
            discovery,
            options,
            streams: Vec::new(),
            by_name: HashMap::new(),
            watcher,
            last_scan: Instant::now(),
            rescan_needed: true,
            dir_stamps: HashMap::new(),
            settle_scan: None,
            counters: TailCounters::default(),
        };
        tailer.scan_files();
        Ok(tailer)
    }

    /// Names of the streams found so far, by id.
    pub fn stream_names(&self) -> Vec<&str> {
        self.streams.iter().map(|s| s.name.as_str()).collect()
    }

    /// The work done so far (see [`TailCounters`]).
    pub fn counters(&self) -> TailCounters {
        self.counters
    }

    /// The file and read offset of `stream`'s current file.
    pub fn current(&self, stream: StreamId) -> Option<(&Path, u64)> {
        let cur = self.streams.get(stream)?.cur.as_ref()?;
        Some((&cur.path, cur.offset))
    }

    /// One round: take in file events, rescan when due, give every stream a turn
    /// (up to `read_budget` bytes each). When no stream had anything to read, waits
    /// for a file event up to `max_wait` (bounded by `idle_check`). Returns whether
    /// any bytes were read or any stream moved on.
    pub fn poll(&mut self, sink: &mut dyn TailSink, max_wait: Duration) -> Result<bool, TailError> {
        self.drain_events();
        let settled = self.settle_scan.is_some_and(|t| Instant::now() >= t);
        if self.rescan_needed || settled || self.last_scan.elapsed() >= self.options.rescan_interval
        {
            self.rescan(sink);
        }
        let mut progressed = false;
        for id in 0..self.streams.len() {
            let serviced = self.service(id, sink);
            sink.turn_over(id);
            progressed |= serviced?;
        }
        if !progressed {
            let until_rescan = self
                .options
                .rescan_interval
                .saturating_sub(self.last_scan.elapsed());
            let until_settled = self.settle_scan.map_or(until_rescan, |t| {
                t.saturating_duration_since(Instant::now())
            });
            let wait = max_wait
                .min(self.options.idle_check)
                .min(until_rescan)
                .min(until_settled);
            self.wait_event(wait);
        }
        Ok(progressed)
    }

    /// Reads `id` until it has nothing more or used its budget.
    fn service(&mut self, id: StreamId, sink: &mut dyn TailSink) -> Result<bool, TailError> {
        if self.streams[id].cur.is_none() {
            if self.streams[id].files.is_empty() {
                return Ok(false);
            }
            // Starting must not trust a list older than the files: rotations
            // between the last scan and now would otherwise be missed. A look at
            // this stream's own files, not a scan of every stream's: 1,000 streams
            // starting would be 1,000 scans of 1,000 files (bench row 9).
            self.check_stream(id, sink);
            let mut started = self.start_stream(id, sink);
            if matches!(started, Start::Stale) {
                // Files moved since the last scan (rotation racing our start).
                self.rescan(sink);
                started = self.start_stream(id, sink);
            }
            if !matches!(started, Start::Started) {
                return Ok(false);
            }
        }
        let mut budget = self.options.read_budget;
        let mut progressed = false;
        let mut rechecks = 0;
        loop {
            self.check_before_read(id, sink);
            let Some(cur) = self.streams[id].cur.as_mut() else {
                return Ok(progressed);
            };
            let mut tee = Tee {
                cur,
                file_error: false,
            };
            let n = match sink.read(id, &mut tee) {
                Ok(n) => n,
                Err(e) if tee.file_error => {
                    let gz = tee.cur.gz.is_some();
                    tracing::warn!(stream = id, file = %tee.cur.path.display(), offset = tee.cur.offset, error = %e,
                        "error reading log file");
                    if gz {
                        // A damaged or truncated archive will not get better: move on
                        // (Heka looped on these, issues #1746 and #1899).
                        progressed |= self.finish_current(id, sink);
                    }
                    return Ok(progressed);
                }
                Err(e) => return Err(TailError::Sink(e.to_string())),
            };
            if n > 0 {
                progressed = true;
                if budget <= n {
                    return Ok(true);
                }
                budget -= n;
                continue;
            }
            if let Some(cur) = self.streams[id].cur.as_mut() {
                cur.checked = false;
            }
            match self.at_eof(id, sink) {
                Eof::Idle => {
                    sink.idle(id);
                    return Ok(progressed);
                }
                Eof::Continue => {
                    rechecks += 1;
                    if rechecks > 4 {
                        return Ok(true);
                    }
                }
            }
        }
    }
}
