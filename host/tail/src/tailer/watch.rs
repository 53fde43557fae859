//! Noticing changes on disk: inotify (via `notify`) wakes the tailer on writes and
//! directory changes, with a timeout (`idle_check`) and a periodic full rescan
//! (`rescan_interval`) as fallbacks, so nothing polls in a busy loop; a scan lists
//! each stream's files through [`crate::Discovery`] and notes the directories'
//! modification times, since a copytruncate copy can be on disk before its inotify
//! event reaches us.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, RecursiveMode, Watcher};

use super::identity::FileId;
use super::open::is_gzip;
use super::{Scanned, Stream, Tailer};
use crate::error::TailError;
use crate::journal;

/// A recursive watch on the log directory and its event channel.
pub(super) type FileWatcher = (
    notify::RecommendedWatcher,
    mpsc::Receiver<notify::Result<notify::Event>>,
);

/// Watches `root` recursively.
pub(super) fn watch(root: &Path) -> Result<FileWatcher, TailError> {
    let (tx, rx) = mpsc::channel();
    let mut w = notify::recommended_watcher(tx).map_err(|source| TailError::Watch {
        path: root.to_path_buf(),
        source,
    })?;
    w.watch(root, RecursiveMode::Recursive)
        .map_err(|source| TailError::Watch {
            path: root.to_path_buf(),
            source,
        })?;
    Ok((w, rx))
}

impl Tailer {
    /// Waits up to `wait` for a file event, then takes in every pending one.
    pub(super) fn wait_event(&mut self, wait: Duration) {
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

    /// Takes in the pending file events.
    pub(super) fn drain_events(&mut self) {
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

    /// Lists every stream's files again (new streams load their journal).
    pub(super) fn scan_files(&mut self) {
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
}

/// Whether the directory of `file` changed since the scan that noted `dir_mtimes` (an
/// entry was added or renamed: maybe a copy holding data we have not read).
pub(super) fn dir_changed(dir_mtimes: &HashMap<PathBuf, Option<SystemTime>>, file: &Path) -> bool {
    let Some(dir) = file.parent() else {
        return false;
    };
    let now = fs::metadata(dir).and_then(|m| m.modified()).ok();
    dir_mtimes.get(dir) != Some(&now)
}
