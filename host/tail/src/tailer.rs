//! [`Tailer`]: reads every stream's files in order, follows rotation, resumes from
//! journals, and hands the bytes to a [`TailSink`].
//!
//! Files are identified by what they are, not by their name: while running, by the
//! open descriptor's (device, inode) — a renamed file is still "our" file — plus the
//! 500 bytes before the read position, re-checked at every end of data so a file that
//! was truncated and regrew is noticed; across restarts, by Heka's journal hash; and a
//! file already read to its end is remembered by (device, inode, first bytes) so it
//! is never read twice (a gzip'd copy of it is recognised by its decompressed first
//! bytes). The rules at the end of the data of the current file:
//!
//! - it grew: read on;
//! - it shrank, or the bytes before our position changed (copytruncate): look for
//!   those bytes at the same offset in the stream's other files (the copy) and go on
//!   there; failing that, read the truncated file again from its start;
//! - a newer file follows it in `priority` order: switch once the newer file has data
//!   or ours has been quiet for `rotate_grace` (a writer may still append to a
//!   renamed file for a moment); gzip'd files are switched from at once;
//! - its path now names another file or nothing: rescan at once.
//!
//! Before reading again after an end of data, the bytes before the position are
//! re-checked (a file truncated and regrown past our offset is not read from the
//! middle), and a change of the file's directory (a new copy, a rename) triggers a
//! rescan first, since a copytruncate copy can be on disk before its inotify event
//! reaches us. A copy that appeared after we opened our file, is ordered before it
//! and holds our position is where the rest of our data is: we continue there. At
//! offset 0 nothing can be compared, so the first data of a file also triggers a
//! rescan (Heka's "previously empty file grew" rule).
//!
//! Waiting is event-driven: inotify (via `notify`) wakes the tailer on writes and
//! directory changes, with a timeout (`idle_check`) and a periodic full rescan
//! (`rescan_interval`) as fallbacks. Nothing polls in a busy loop.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use flate2::read::MultiGzDecoder;
use notify::{EventKind, RecursiveMode, Watcher};

use crate::discovery::Discovery;
use crate::error::TailError;
use crate::journal::{self, HASH_WINDOW, HashWindow, Position};

/// Index of a stream in its [`Tailer`] (stable for the tailer's life).
pub type StreamId = usize;

/// Bytes of a finished file remembered to recognise it later.
const HEAD_LEN: usize = 256;
/// Finished files remembered per stream.
const MAX_CONSUMED: usize = 256;

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

/// Identity of an open file while it exists (device, inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
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

#[derive(Debug, Clone)]
struct Fingerprint {
    id: FileId,
    head: Vec<u8>,
}

struct Current {
    path: PathBuf,
    file: File,
    gz: Option<MultiGzDecoder<File>>,
    id: FileId,
    /// Bytes read so far (decompressed bytes for gzip).
    offset: u64,
    /// The bytes before `offset`.
    window: HashWindow,
    /// Re-read from 0 after a truncation with no copy found: a copy showing up later
    /// holds content already read.
    restarted: bool,
    /// Files of the stream known when this one was opened (or last checked for
    /// copies): a file that shows up later, ordered before ours, may be a copy.
    known: HashSet<FileId>,
    /// The file was checked for truncation since the last end of data.
    checked: bool,
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
    watcher: Option<(
        notify::RecommendedWatcher,
        mpsc::Receiver<notify::Result<notify::Event>>,
    )>,
    last_scan: Instant,
    rescan_needed: bool,
    /// Modification times of the directories of the current files at the last
    /// scan: a new entry (a copytruncate copy) changes them before any event
    /// reaches us.
    dir_mtimes: HashMap<PathBuf, Option<SystemTime>>,
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

enum Start {
    Started,
    /// The scan is stale; rescan and try again.
    Stale,
    /// No file to read yet.
    Nothing,
}

enum Eof {
    /// Nothing more for now.
    Idle,
    /// Read again (data appeared, or the stream moved to another file).
    Continue,
}

impl Tailer {
    /// Sets up the watcher and scans once; journals of the streams found are loaded
    /// now and applied when each stream opens its first file.
    pub fn new(discovery: Discovery, options: TailOptions) -> Result<Tailer, TailError> {
        let watcher = if options.watch {
            let (tx, rx) = mpsc::channel();
            let root = discovery.root().to_path_buf();
            let mut w = notify::recommended_watcher(tx).map_err(|source| TailError::Watch {
                path: root.clone(),
                source,
            })?;
            w.watch(&root, RecursiveMode::Recursive)
                .map_err(|source| TailError::Watch { path: root, source })?;
            Some((w, rx))
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
            dir_mtimes: HashMap::new(),
        };
        tailer.scan_files();
        Ok(tailer)
    }

    /// Names of the streams found so far, by id.
    pub fn stream_names(&self) -> Vec<&str> {
        self.streams.iter().map(|s| s.name.as_str()).collect()
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
        if self.rescan_needed || self.last_scan.elapsed() >= self.options.rescan_interval {
            self.rescan(sink);
        }
        let mut progressed = false;
        for id in 0..self.streams.len() {
            progressed |= self.service(id, sink)?;
        }
        if !progressed {
            let until_rescan = self
                .options
                .rescan_interval
                .saturating_sub(self.last_scan.elapsed());
            let wait = max_wait.min(self.options.idle_check).min(until_rescan);
            self.wait_event(wait);
        }
        Ok(progressed)
    }

    fn wait_event(&mut self, wait: Duration) {
        let event = match &self.watcher {
            Some((_, rx)) => rx.recv_timeout(wait),
            None => {
                // No watcher configured: the timeout is the check interval.
                std::thread::sleep(wait);
                return;
            }
        };
        match event {
            Ok(ev) => self.note_event(ev),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                tracing::warn!("file watcher stopped; falling back to periodic checks");
                self.watcher = None;
            }
        }
        self.drain_events();
    }

    fn drain_events(&mut self) {
        let mut events = Vec::new();
        if let Some((_, rx)) = &self.watcher {
            while let Ok(ev) = rx.try_recv() {
                events.push(ev);
            }
        }
        for ev in events {
            self.note_event(ev);
        }
    }

    fn note_event(&mut self, ev: notify::Result<notify::Event>) {
        match ev {
            Ok(ev) => match ev.kind {
                EventKind::Create(_) | EventKind::Remove(_) => self.rescan_needed = true,
                EventKind::Modify(notify::event::ModifyKind::Name(_)) => self.rescan_needed = true,
                // Writes: every stream is serviced on each poll anyway.
                _ => {}
            },
            Err(e) => {
                tracing::warn!(error = %e, "file watcher error; rescanning");
                self.rescan_needed = true;
            }
        }
    }

    /// Rescans the directory and updates every stream's file list.
    fn rescan(&mut self, sink: &mut dyn TailSink) {
        self.scan_files();
        for (id, s) in self.streams.iter_mut().enumerate() {
            let Some(cur) = s.cur.as_mut() else { continue };
            let pos = s.files.iter().position(|f| f.id == cur.id);
            // Follow renames of the current file so journals name the right file.
            if let Some(f) = pos.map(|i| &s.files[i])
                && f.path != cur.path
            {
                tracing::debug!(stream = %s.name, from = %cur.path.display(), to = %f.path.display(), "file renamed");
                cur.path = f.path.clone();
                sink.moved(id, &cur.path);
            }
            // A file new since the last scan, ordered before ours, holding what we
            // read so far and more: a copytruncate copy taken before we could see
            // the truncation (e.g. at offset 0, where there is nothing to compare).
            // The rest of our data is in there.
            let Some(pos) = pos else { continue };
            if cur.gz.is_some() || cur.restarted {
                continue;
            }
            let (offset, hash) = (cur.offset, cur.window.hash_hex());
            let known = std::mem::take(&mut cur.known);
            let s_ref = &*s;
            // Oldest first: at offset 0 every copy "matches", and all of them hold
            // data we have not read, the oldest first.
            let copy = s_ref.files[..pos].iter().find_map(|f| {
                if known.contains(&f.id) || f.gz || f.len <= offset || is_consumed(s_ref, f) {
                    return None;
                }
                open_at(&f.path, offset, Some(&hash)).filter(|c| c.id == f.id)
            });
            let all: HashSet<FileId> = s.files.iter().map(|f| f.id).collect();
            if let Some(mut copy) = copy {
                tracing::info!(stream = %s.name, copy = %copy.path.display(), offset,
                    "log file copied (copytruncate); continuing in the copy");
                sink.moved(id, &copy.path);
                copy.known = all;
                copy.checked = true;
                s.cur = Some(copy);
            } else if let Some(cur) = s.cur.as_mut() {
                cur.known = all;
            }
        }
    }

    fn scan_files(&mut self) {
        // Directory times are taken before the walk, so a change during it is seen
        // as a change next time rather than lost.
        let mut before: HashMap<PathBuf, Option<SystemTime>> = HashMap::new();
        for f in self.streams.iter().flat_map(|s| &s.files) {
            if let Some(dir) = f.path.parent()
                && !before.contains_key(dir)
            {
                before.insert(
                    dir.to_path_buf(),
                    fs::metadata(dir).and_then(|m| m.modified()).ok(),
                );
            }
        }
        let found = self.discovery.scan();
        let mut seen = vec![false; self.streams.len()];
        for (name, files) in found {
            let scanned: Vec<Scanned> = files
                .into_iter()
                .filter_map(|f| {
                    let file = File::open(&f.path).ok()?;
                    let meta = file.metadata().ok()?;
                    Some(Scanned {
                        gz: is_gzip(&file),
                        id: FileId::of(&meta),
                        len: meta.len(),
                        path: f.path,
                    })
                })
                .collect();
            match self.by_name.get(&name) {
                Some(&id) => {
                    self.streams[id].files = scanned;
                    seen[id] = true;
                }
                None => {
                    let resume = journal::load(&self.options.journal_directory, &name);
                    tracing::info!(stream = %name, files = scanned.len(), journal = resume.is_some(), "new log stream");
                    self.by_name.insert(name.clone(), self.streams.len());
                    self.streams.push(Stream {
                        name,
                        files: scanned,
                        cur: None,
                        consumed: VecDeque::new(),
                        resume,
                    });
                }
            }
        }
        for (id, seen) in seen.into_iter().enumerate() {
            if !seen {
                self.streams[id].files.clear();
            }
        }
        self.last_scan = Instant::now();
        self.rescan_needed = false;
        self.dir_mtimes = before;
        for s in &self.streams {
            for f in &s.files {
                if let Some(dir) = f.path.parent()
                    && !self.dir_mtimes.contains_key(dir)
                {
                    let mtime = fs::metadata(dir).and_then(|m| m.modified()).ok();
                    self.dir_mtimes.insert(dir.to_path_buf(), mtime);
                }
            }
        }
    }

    /// Reads `id` until it has nothing more or used its budget.
    fn service(&mut self, id: StreamId, sink: &mut dyn TailSink) -> Result<bool, TailError> {
        if self.streams[id].cur.is_none() {
            if self.streams[id].files.is_empty() {
                return Ok(false);
            }
            // Starting is rare and must not trust a list older than the files:
            // rotations between the last scan and now would otherwise be missed.
            self.rescan(sink);
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

    /// Opens the first file of a stream: the journal's position if it can be found,
    /// else the end of the newest file (`initial_tail`), else the oldest file.
    fn start_stream(&mut self, id: StreamId, sink: &mut dyn TailSink) -> Start {
        let s = &mut self.streams[id];
        if s.files.is_empty() {
            return Start::Nothing;
        }
        if let Some(pos) = s.resume.take() {
            // The journal's own file first, then the others newest → oldest.
            let mut order: Vec<usize> = (0..s.files.len())
                .filter(|&i| s.files[i].path == pos.file_name)
                .collect();
            order.extend(
                (0..s.files.len())
                    .rev()
                    .filter(|&i| s.files[i].path != pos.file_name),
            );
            for i in order {
                let f = &s.files[i];
                if !f.gz && f.len < pos.seek {
                    continue;
                }
                let cur = match open_scanned(f, pos.seek, Some(&pos.last_hash)) {
                    Opened::Ok(cur) => cur,
                    Opened::Stale => {
                        s.resume = Some(pos);
                        return Start::Stale;
                    }
                    Opened::No => continue,
                };
                {
                    tracing::info!(stream = %s.name, file = %f.path.display(), offset = pos.seek, "resuming from journal");
                    remember_older(s, i);
                    sink.begin(id, &s.name, &cur.path, cur.offset, cur.window.bytes());
                    s.cur = Some(with_known(cur, &s.files));
                    return Start::Started;
                }
            }
            tracing::warn!(stream = %s.name, file = %pos.file_name.display(), offset = pos.seek,
                "journal position not found in the stream's files; starting at its oldest file");
        } else if self.options.initial_tail {
            let newest = s.files.len() - 1;
            let f = s.files[newest].clone();
            if !f.gz {
                match open_scanned(&f, f.len, None) {
                    Opened::Ok(cur) => {
                        remember_older(s, newest);
                        sink.begin(id, &s.name, &cur.path, cur.offset, cur.window.bytes());
                        s.cur = Some(with_known(cur, &s.files));
                        return Start::Started;
                    }
                    Opened::Stale => return Start::Stale,
                    Opened::No => {}
                }
            }
        }
        for i in 0..s.files.len() {
            match open_scanned(&s.files[i], 0, None) {
                Opened::Ok(cur) => {
                    sink.begin(id, &s.name, &cur.path, 0, &[]);
                    s.cur = Some(with_known(cur, &s.files));
                    return Start::Started;
                }
                Opened::Stale => return Start::Stale,
                Opened::No => {}
            }
        }
        Start::Nothing
    }

    fn at_eof(&mut self, id: StreamId, sink: &mut dyn TailSink) -> Eof {
        let s = &mut self.streams[id];
        let Some(cur) = s.cur.as_mut() else {
            return Eof::Idle;
        };
        let mut quiet = true;
        if cur.gz.is_none() {
            let Ok(meta) = cur.file.metadata() else {
                return Eof::Idle;
            };
            if meta.len() > cur.offset {
                return Eof::Continue;
            }
            if meta.len() < cur.offset || !window_matches(&cur.file, cur.offset, &cur.window) {
                // The copy (if any) was made before the truncation: make sure the
                // file list shows it. The rescan may already move us into it.
                let before = cur.id;
                self.rescan(sink);
                if self.streams[id]
                    .cur
                    .as_ref()
                    .is_some_and(|c| c.id == before)
                {
                    self.relocate_truncated(id, sink);
                }
                return Eof::Continue;
            }
            quiet = meta
                .modified()
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age >= self.options.rotate_grace);
            // Does the path still name our file? If not, the file list is stale.
            let replaced = fs::metadata(&cur.path).map_or(true, |m| FileId::of(&m) != cur.id);
            if replaced {
                let before = cur.id;
                self.rescan(sink);
                if self.streams[id].cur.as_ref().is_none_or(|c| c.id != before) {
                    // The rescan moved us into a copy: read it before anything else.
                    return Eof::Continue;
                }
            }
        }
        let Some(next) = self.successor(id) else {
            return Eof::Idle;
        };
        let s = &self.streams[id];
        let next_has_data = s.files[next].gz
            || s.files[next].len > 0
            || fs::metadata(&s.files[next].path).is_ok_and(|m| m.len() > 0);
        if !quiet && !next_has_data {
            // The writer may still be appending to the rotated file.
            return Eof::Idle;
        }
        let next = s.files[next].clone();
        // A copytruncate copy seen before its original was truncated ends where the
        // original goes on: the same bytes before our offset mean the same data, so
        // continue there instead of reading the original again from its start.
        let resume = s
            .cur
            .as_ref()
            .filter(|c| c.gz.is_none() && !next.gz && c.offset > 0)
            .and_then(
                |c| match open_scanned(&next, c.offset, Some(&c.window.hash_hex())) {
                    Opened::Ok(cont) => Some(cont),
                    _ => None,
                },
            );
        let opened = match resume {
            Some(cont) => Opened::Ok(cont),
            None => open_scanned(&next, 0, None),
        };
        match opened {
            Opened::Ok(cur) => {
                self.finish_current(id, sink);
                let s = &mut self.streams[id];
                if cur.offset > 0 {
                    tracing::info!(stream = %s.name, file = %next.path.display(), offset = cur.offset,
                        "the copy's original is not truncated yet; continuing in it where the copy ended");
                } else {
                    tracing::debug!(stream = %s.name, file = %next.path.display(), "moving on to the next file");
                }
                sink.begin(id, &s.name, &cur.path, cur.offset, cur.window.bytes());
                s.cur = Some(with_known(cur, &s.files));
                Eof::Continue
            }
            Opened::Stale => {
                self.rescan(sink);
                Eof::Continue
            }
            Opened::No => {
                self.rescan_needed = true;
                Eof::Idle
            }
        }
    }

    /// Before reading after an end of data: was the file truncated meanwhile? At
    /// offset 0 nothing can tell, so the first data of a file triggers a rescan that
    /// finds a copytruncate copy if one appeared (Heka's "previously empty file grew").
    fn check_before_read(&mut self, id: StreamId, sink: &mut dyn TailSink) {
        let Some(cur) = self.streams[id].cur.as_mut() else {
            return;
        };
        if cur.checked || cur.gz.is_some() {
            return;
        }
        cur.checked = true;
        // Entries added or renamed next to our file since the last scan: look at
        // them first (a copy may hold data we have not read).
        if let Some(dir) = cur.path.parent() {
            let now = fs::metadata(dir).and_then(|m| m.modified()).ok();
            if self.dir_mtimes.get(dir) != Some(&now) {
                self.rescan(sink);
            }
        }
        let Some(cur) = self.streams[id].cur.as_mut() else {
            return;
        };
        let Ok(meta) = cur.file.metadata() else {
            return;
        };
        if cur.offset == 0 {
            if meta.len() > 0 && !cur.restarted {
                self.rescan(sink);
            }
            return;
        }
        if meta.len() < cur.offset || !window_matches(&cur.file, cur.offset, &cur.window) {
            let before = cur.id;
            self.rescan(sink);
            if self.streams[id]
                .cur
                .as_ref()
                .is_some_and(|c| c.id == before)
            {
                self.relocate_truncated(id, sink);
            }
        }
    }

    /// The current file is done: tell the sink, remember it, close it.
    fn finish_current(&mut self, id: StreamId, sink: &mut dyn TailSink) -> bool {
        let s = &mut self.streams[id];
        let Some(cur) = s.cur.take() else {
            return false;
        };
        sink.end(id);
        let head = read_head(&cur.file, cur.gz.is_some());
        push_consumed(s, Fingerprint { id: cur.id, head });
        true
    }

    /// The current file shrank or its bytes before our position changed: continue in
    /// the copy holding those bytes, or read the file again from its start.
    fn relocate_truncated(&mut self, id: StreamId, sink: &mut dyn TailSink) {
        let s = &mut self.streams[id];
        let Some(mut cur) = s.cur.take() else { return };
        let hash = cur.window.hash_hex();
        for f in s.files.iter().rev() {
            if f.id == cur.id || (!f.gz && f.len < cur.offset) {
                continue;
            }
            if let Some(copy) = open_at(&f.path, cur.offset, Some(&hash)) {
                tracing::info!(stream = %s.name, file = %cur.path.display(), copy = %f.path.display(), offset = cur.offset,
                    "log file truncated (copytruncate); continuing in its copy");
                sink.moved(id, &copy.path);
                let mut copy = with_known(copy, &s.files);
                copy.checked = true;
                s.cur = Some(copy);
                return;
            }
        }
        tracing::warn!(stream = %s.name, file = %cur.path.display(), offset = cur.offset,
            "log file truncated and no copy found; reading it again from the start \
             (lines written between a copy and the truncation would be lost)");
        if (&cur.file).seek(SeekFrom::Start(0)).is_ok() {
            cur.offset = 0;
            cur.window.clear();
            cur.restarted = true;
            sink.begin(id, &s.name, &cur.path, 0, &[]);
            s.cur = Some(cur);
        }
    }

    /// The next file to read after the current one, if any.
    fn successor(&self, id: StreamId) -> Option<usize> {
        let s = &self.streams[id];
        let cur = s.cur.as_ref()?;
        let start = s
            .files
            .iter()
            .position(|f| f.id == cur.id)
            .map_or(0, |i| i + 1);
        (start..s.files.len()).find(|&i| s.files[i].id != cur.id && !is_consumed(s, &s.files[i]))
    }
}

/// Reads through to the current file, keeping offset and hash window up to date and
/// noting whether an error came from the file (rather than the sink).
struct Tee<'a> {
    cur: &'a mut Current,
    file_error: bool,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match &mut self.cur.gz {
            Some(d) => d.read(buf),
            None => (&self.cur.file).read(buf),
        };
        match r {
            Ok(n) => {
                self.cur.window.feed(&buf[..n]);
                self.cur.offset += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.file_error = true;
                Err(e)
            }
        }
    }
}

fn is_gzip(file: &File) -> bool {
    let mut magic = [0u8; 2];
    matches!(file.read_at(&mut magic, 0), Ok(2)) && magic == [0x1f, 0x8b]
}

/// Opens `path` positioned at `offset`. With `expect_hash`, the 500 bytes before
/// `offset` must hash to it (offset 0 always matches, as in Heka).
fn open_at(path: &Path, offset: u64, expect_hash: Option<&str>) -> Option<Current> {
    let file = File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    let id = FileId::of(&meta);
    let wlen = offset.min(HASH_WINDOW as u64) as usize;
    let mut window = vec![0u8; wlen];
    let mut gz = None;
    if is_gzip(&file) {
        let mut d = MultiGzDecoder::new(file.try_clone().ok()?);
        // Seeking in a gzip stream = decompressing and discarding.
        let skip = offset - wlen as u64;
        let copied = io::copy(&mut (&mut d).take(skip), &mut io::sink()).ok()?;
        if copied != skip || d.read_exact(&mut window).is_err() {
            return None;
        }
        gz = Some(d);
    } else {
        if meta.len() < offset {
            return None;
        }
        file.read_exact_at(&mut window, offset - wlen as u64).ok()?;
        (&file).seek(SeekFrom::Start(offset)).ok()?;
    }
    if let Some(expect) = expect_hash
        && offset > 0
        && !journal::hash_hex(&window).eq_ignore_ascii_case(expect)
    {
        return None;
    }
    Some(Current {
        path: path.to_path_buf(),
        file,
        gz,
        id,
        offset,
        window: HashWindow::from_bytes(&window),
        restarted: false,
        known: HashSet::new(),
        checked: false,
    })
}

/// `cur` with the stream's current files noted as known.
fn with_known(mut cur: Current, files: &[Scanned]) -> Current {
    cur.known = files.iter().map(|f| f.id).collect();
    cur
}

/// Result of opening a file as listed by the last scan.
#[allow(clippy::large_enum_variant)] // short-lived, returned once per file open
enum Opened {
    Ok(Current),
    /// The path names another file now: the scan is stale.
    Stale,
    /// Cannot be opened there (gone, too short, hash mismatch).
    No,
}

/// Opens a scanned file, checking it is still the file the scan saw.
fn open_scanned(f: &Scanned, offset: u64, expect_hash: Option<&str>) -> Opened {
    match open_at(&f.path, offset, expect_hash) {
        Some(cur) if cur.id == f.id => Opened::Ok(cur),
        Some(_) => Opened::Stale,
        None => match fs::metadata(&f.path) {
            Ok(m) if FileId::of(&m) != f.id => Opened::Stale,
            Ok(_) => Opened::No,
            Err(_) => Opened::Stale,
        },
    }
}

/// True when the bytes before `offset` in `file` are still the ones we read.
fn window_matches(file: &File, offset: u64, window: &HashWindow) -> bool {
    let want = window.bytes();
    if want.is_empty() {
        return true;
    }
    let mut got = [0u8; HASH_WINDOW];
    let got = &mut got[..want.len()];
    match file.read_exact_at(got, offset - want.len() as u64) {
        Ok(()) => got == want,
        Err(_) => false,
    }
}

fn read_head(file: &File, gz: bool) -> Vec<u8> {
    let mut head = vec![0u8; HEAD_LEN];
    let n = if gz {
        // Decompress from the start without moving the descriptor's position.
        let mut d = MultiGzDecoder::new(AtReader { file, pos: 0 });
        let mut n = 0;
        while n < HEAD_LEN {
            match d.read(&mut head[n..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        n
    } else {
        file.read_at(&mut head, 0).unwrap_or(0)
    };
    head.truncate(n);
    head
}

/// Positional reads of a shared file.
struct AtReader<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for AtReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Marks the files before index `upto` as read (they are older than where we start).
fn remember_older(s: &mut Stream, upto: usize) {
    let prints: Vec<Fingerprint> = s.files[..upto]
        .iter()
        .filter_map(|f| {
            let file = File::open(&f.path).ok()?;
            Some(Fingerprint {
                id: f.id,
                head: read_head(&file, f.gz),
            })
        })
        .collect();
    for fp in prints {
        push_consumed(s, fp);
    }
}

fn push_consumed(s: &mut Stream, fp: Fingerprint) {
    if s.consumed.len() >= MAX_CONSUMED {
        s.consumed.pop_front();
    }
    s.consumed.push_back(fp);
}

/// Was `f` already read to its end (the same file, or a gzip'd copy of one)?
fn is_consumed(s: &Stream, f: &Scanned) -> bool {
    if s.consumed.is_empty() {
        return false;
    }
    let same_id = s.consumed.iter().any(|fp| fp.id == f.id);
    if !same_id && !f.gz {
        return false;
    }
    let Ok(file) = File::open(&f.path) else {
        return false;
    };
    let head = read_head(&file, f.gz);
    if head.is_empty() {
        // An empty file holds nothing to replay, and may be a new file on a reused inode.
        return false;
    }
    s.consumed.iter().any(|fp| {
        (fp.id == f.id || f.gz) && {
            let n = fp.head.len().min(head.len());
            n > 0 && fp.head[..n] == head[..n]
        }
    })
}
