//! Noticing changes on disk: inotify (via `notify`) wakes the tailer on writes and
//! directory changes, with a timeout (`idle_check`) and a periodic full rescan
//! (`rescan_interval`) as fallbacks, so nothing polls in a busy loop; a scan lists
//! each stream's files through [`crate::Discovery`] and keeps the directories' times
//! ([`DirStamp`]), since a copytruncate copy can be on disk before its inotify event
//! reaches us.
//!
//! Two costs are kept per stream rather than per tailer, so that 1,000 streams cost
//! about what one does (bench row 9):
//!
//! - a stream that must not trust an old file list (it is starting, or its file got
//!   its first data) calls `check_stream`: when no directory of the tree changed
//!   since the last scan, no file was created, removed or renamed, so a `stat` of
//!   each of its own files brings its list up to date; otherwise it scans;
//! - the watcher forwards only the events that can matter (creations, removals,
//!   renames, writes, queue overflows): our own opens and reads would otherwise wake
//!   the tailer once per file opened. notify 8 has no event mask (9 adds one), so the
//!   kernel still queues `IN_OPEN` for our opens; scans avoid opening files they
//!   already know instead. Events are not queued: one flag says "rescan", one
//!   wake-up token says "look again", so a burst of writes costs no memory.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};

use super::identity::FileId;
use super::open::is_gzip;
use super::{Scanned, Stream, StreamId, TailSink, Tailer};
use crate::discovery::DirStamp;
use crate::error::TailError;
use crate::journal;

/// A recursive watch on the log directory: the watcher, the wake-up tokens and the
/// "something was created, removed or renamed" flag its handler sets.
pub(super) struct FileWatcher {
    _watcher: notify::RecommendedWatcher,
    wake: mpsc::Receiver<()>,
    rescan: Arc<AtomicBool>,
}

/// Watches `root` recursively.
pub(super) fn watch(root: &Path) -> Result<FileWatcher, TailError> {
    // One token at most: a wake-up already pending covers every later event.
    let (tx, wake) = mpsc::sync_channel(1);
    let rescan = Arc::new(AtomicBool::new(false));
    let flag = rescan.clone();
    let handler = move |ev: notify::Result<notify::Event>| {
        let (wake_up, rescan) = classify(&ev);
        if rescan {
            flag.store(true, Ordering::Release);
        }
        if wake_up {
            // Full: a wake-up is pending already. Disconnected: the tailer is gone.
            let _ = tx.try_send(());
        }
    };
    let mut w = notify::recommended_watcher(handler).map_err(|source| TailError::Watch {
        path: root.to_path_buf(),
        source,
    })?;
    w.watch(root, RecursiveMode::Recursive)
        .map_err(|source| TailError::Watch {
            path: root.to_path_buf(),
            source,
        })?;
    Ok(FileWatcher {
        _watcher: w,
        wake,
        rescan,
    })
}

/// (wake the tailer, rescan) for an event. Opens, reads and closes after reading
/// (ours, mostly) and metadata changes move no data and no name: ignored.
fn classify(ev: &notify::Result<notify::Event>) -> (bool, bool) {
    let ev = match ev {
        Ok(ev) => ev,
        Err(e) => {
            tracing::warn!(error = %e, "file watcher error; rescanning");
            return (true, true);
        }
    };
    if ev.need_rescan() {
        // The kernel's queue overflowed: creations may have been lost.
        return (true, true);
    }
    match ev.kind {
        EventKind::Create(_) | EventKind::Remove(_) => (true, true),
        EventKind::Modify(ModifyKind::Name(_)) => (true, true),
        EventKind::Modify(ModifyKind::Metadata(_)) => (false, false),
        // Writes: every stream is serviced on each poll anyway.
        EventKind::Modify(_) => (true, false),
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => (true, false),
        EventKind::Access(_) => (false, false),
        EventKind::Any | EventKind::Other => (true, true),
    }
}

impl Tailer {
    /// Waits up to `wait` for a file event, then takes in every pending one.
    pub(super) fn wait_event(&mut self, wait: Duration) {
        let event = match &self.watcher {
            Some(w) => w.wake.recv_timeout(wait),
            None => {
                // No watcher configured: the timeout is the check interval.
                std::thread::sleep(wait);
                return;
            }
        };
        if let Err(mpsc::RecvTimeoutError::Disconnected) = event {
            tracing::warn!("file watcher stopped; falling back to periodic checks");
            self.watcher = None;
            self.rescan_needed = true;
        }
        self.drain_events();
    }

    /// Takes in the pending file events.
    pub(super) fn drain_events(&mut self) {
        if let Some(w) = &self.watcher {
            while w.wake.try_recv().is_ok() {}
            if w.rescan.swap(false, Ordering::Acquire) {
                self.rescan_needed = true;
            }
        }
    }

    /// Lists every stream's files again (new streams load their journal).
    pub(super) fn scan_files(&mut self) {
        self.counters.full_scans += 1;
        let (found, dirs) = self.discovery.scan_with_stamps();
        let mut seen = vec![false; self.streams.len()];
        for (name, files) in found {
            let old = self.by_name.get(&name).map(|&id| &self.streams[id].files);
            let mut opens = 0;
            let scanned: Vec<Scanned> = files
                .into_iter()
                .filter_map(|f| identify(f.path, old.map_or(&[][..], |v| v), &mut opens))
                .collect();
            self.counters.scan_opens += opens;
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
                        consumed: Default::default(),
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
        // A racy directory time (see `DirStamp`) is trusted by the frequent checks
        // (`dir_changed`) but not by `check_stream`; one more scan once it has
        // settled sees whatever it may hide.
        self.settle_scan = dirs.iter().filter_map(|(_, st)| st.settles()).max();
        self.dir_stamps = dirs.into_iter().collect();
    }

    /// Brings stream `id`'s file list up to date for a decision that must not trust
    /// an old one: a `stat` of each of its files when no directory changed since the
    /// last scan (names and identities are then as scanned; only lengths move), a
    /// full rescan otherwise or when a file is not what the scan saw.
    pub(super) fn check_stream(&mut self, id: StreamId, sink: &mut dyn TailSink) {
        if self.rescan_needed || self.tree_changed() {
            self.rescan(sink);
            return;
        }
        self.counters.stream_checks += 1;
        let mut stale = false;
        for f in &mut self.streams[id].files {
            match fs::metadata(&f.path) {
                Ok(m) if FileId::of(&m) == f.id => f.len = m.len(),
                _ => {
                    stale = true;
                    break;
                }
            }
        }
        if stale {
            self.rescan(sink);
        }
    }

    /// True unless every directory the last scan listed certainly holds the same
    /// entries (one `stat` per directory, not per file).
    fn tree_changed(&self) -> bool {
        self.dir_stamps.is_empty()
            || self
                .dir_stamps
                .iter()
                .any(|(dir, stamp)| stamp.racy() || stamp.moved(dir))
    }
}

/// A scanned file's identity, length and kind. A file the previous scan saw under
/// the same path with the same identity and at least the two bytes of a gzip magic
/// keeps its kind: a `stat` instead of an open and a read (each open of ours is an
/// inotify event for every watcher of the directory, this one included).
fn identify(path: PathBuf, old: &[Scanned], opens: &mut u64) -> Option<Scanned> {
    let meta = fs::metadata(&path).ok()?;
    let id = FileId::of(&meta);
    if let Some(known) = old
        .iter()
        .find(|o| o.id == id && o.path == path && o.len >= 2)
    {
        return Some(Scanned {
            gz: known.gz,
            id,
            len: meta.len(),
            path,
        });
    }
    *opens += 1;
    let file = File::open(&path).ok()?;
    let meta = file.metadata().ok()?;
    Some(Scanned {
        gz: is_gzip(&file),
        id: FileId::of(&meta),
        len: meta.len(),
        path,
    })
}

/// Whether the directory of `file` changed since the scan that noted `stamps` (an
/// entry was added or renamed: maybe a copy holding data we have not read). Checked
/// before every read after an end of data, so a racy time is taken at its word here:
/// distrusting it would scan once per stream and read for as long as it is racy;
/// the scan when it settles (`Tailer::settle_scan`) covers that moment instead.
pub(super) fn dir_changed(stamps: &HashMap<PathBuf, DirStamp>, file: &Path) -> bool {
    let Some(dir) = file.parent() else {
        return false;
    };
    stamps.get(dir).is_none_or(|stamp| stamp.moved(dir))
}
