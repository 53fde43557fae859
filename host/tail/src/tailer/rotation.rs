//! Rotation: what the tailer does at the end of the data of the current file, and
//! when the directory changed under it.
//!
//! Files are identified by what they are, not by their name (see `identity`): a
//! renamed file is still "our" file, and the bytes before the read position tell
//! whether the file still holds what we read. The rules at the end of the data of
//! the current file:
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

use std::collections::HashSet;
use std::fs;
use std::io::{Seek, SeekFrom};
use std::ops::ControlFlow;
use std::time::SystemTime;

use super::identity::{FileId, Fingerprint, is_consumed, push_consumed, read_head, window_matches};
use super::open::{Opened, open_at, open_scanned, with_known};
use super::watch::dir_changed;
use super::{StreamId, TailSink, Tailer};

/// What [`Tailer::at_eof`] decided.
pub(super) enum Eof {
    /// Nothing more for now.
    Idle,
    /// Read again (data appeared, or the stream moved to another file).
    Continue,
}

impl Tailer {
    /// Rescans the directory and updates every stream's file list, following
    /// renames of current files and moving into copytruncate copies.
    pub(super) fn rescan(&mut self, sink: &mut dyn TailSink) {
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

    /// The current file has no more data: apply the rules above.
    pub(super) fn at_eof(&mut self, id: StreamId, sink: &mut dyn TailSink) -> Eof {
        match self.examine_end(id, sink) {
            ControlFlow::Break(eof) => eof,
            ControlFlow::Continue(quiet) => self.move_on(id, sink, quiet),
        }
    }

    /// Did the current file grow, shrink, change or lose its name? `Continue(quiet)`
    /// when it is as we left it (`quiet`: unmodified for `rotate_grace`).
    fn examine_end(&mut self, id: StreamId, sink: &mut dyn TailSink) -> ControlFlow<Eof, bool> {
        let Some(cur) = self.streams[id].cur.as_mut() else {
            return ControlFlow::Break(Eof::Idle);
        };
        if cur.gz.is_some() {
            return ControlFlow::Continue(true);
        }
        let Ok(meta) = cur.file.metadata() else {
            return ControlFlow::Break(Eof::Idle);
        };
        if meta.len() > cur.offset {
            return ControlFlow::Break(Eof::Continue);
        }
        if meta.len() < cur.offset || !window_matches(&cur.file, cur.offset, &cur.window) {
            // The copy (if any) was made before the truncation: make sure the
            // file list shows it. The rescan may already move us into it.
            let before = cur.id;
            self.truncated(id, sink, before);
            return ControlFlow::Break(Eof::Continue);
        }
        let quiet = meta
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
                return ControlFlow::Break(Eof::Continue);
            }
        }
        ControlFlow::Continue(quiet)
    }

    /// Moves on to the next file of the stream, if there is one and it is time.
    fn move_on(&mut self, id: StreamId, sink: &mut dyn TailSink, quiet: bool) -> Eof {
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

    /// The current file (`before`) was truncated: rescan so the file list shows a
    /// copy made before the truncation (the rescan may already move us into it),
    /// else look for the copy or read the file again.
    fn truncated(&mut self, id: StreamId, sink: &mut dyn TailSink, before: FileId) {
        self.rescan(sink);
        if self.streams[id]
            .cur
            .as_ref()
            .is_some_and(|c| c.id == before)
        {
            self.relocate_truncated(id, sink);
        }
    }

    /// Before reading after an end of data: was the file truncated meanwhile? At
    /// offset 0 nothing can tell, so the first data of a file triggers a rescan that
    /// finds a copytruncate copy if one appeared (Heka's "previously empty file grew").
    pub(super) fn check_before_read(&mut self, id: StreamId, sink: &mut dyn TailSink) {
        let Some(cur) = self.streams[id].cur.as_mut() else {
            return;
        };
        if cur.checked || cur.gz.is_some() {
            return;
        }
        cur.checked = true;
        // Entries added or renamed next to our file since the last scan: look at
        // them first (a copy may hold data we have not read).
        if dir_changed(&self.dir_stamps, &cur.path) {
            self.rescan(sink);
        }
        let Some(cur) = self.streams[id].cur.as_mut() else {
            return;
        };
        let Ok(meta) = cur.file.metadata() else {
            return;
        };
        if cur.offset == 0 {
            if meta.len() > 0 && !cur.restarted {
                // A copy is a new directory entry: `check_stream` scans when any
                // directory changed since the last scan (whose end looked for
                // copies of every current file), and only `stat`s this stream's
                // files otherwise.
                self.check_stream(id, sink);
            }
            return;
        }
        if meta.len() < cur.offset || !window_matches(&cur.file, cur.offset, &cur.window) {
            let before = cur.id;
            self.truncated(id, sink, before);
        }
    }

    /// The current file is done: tell the sink, remember it, close it.
    pub(super) fn finish_current(&mut self, id: StreamId, sink: &mut dyn TailSink) -> bool {
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
