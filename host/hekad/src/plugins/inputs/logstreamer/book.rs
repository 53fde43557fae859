//! [`JournalBook`]: the journal positions of a LogstreamerInput's streams, advanced
//! by acknowledgements in chunk order, and saved (atomically) every 500 records,
//! within a second of the last change, at stop, and when the last acknowledgement
//! lets go of it.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use heka_pipeline::AckSink;
use heka_tail::journal::{self, Position};

/// Heka saves a journal after this many records.
const SAVE_EVERY: usize = 500;
/// ... or this long after its position changed.
const SAVE_AFTER: Duration = Duration::from_secs(1);

/// Journal positions by stream, advanced by acknowledgements in chunk order. Shared
/// by the input and every unit's acknowledgement; dropped when the last of them is
/// gone, which is when it saves its journals for the last time.
pub(super) struct JournalBook {
    /// Where the journals go.
    dir: PathBuf,
    inner: Mutex<BookInner>,
}

#[derive(Default)]
struct BookInner {
    streams: HashMap<String, StreamBook>,
    /// Ack id → stream name.
    owners: HashMap<u64, String>,
}

#[derive(Default)]
struct StreamBook {
    /// Chunks in read order: (ack id, position, records, verdict when completed).
    chunks: VecDeque<(u64, Position, usize, Option<bool>)>,
    acked: Option<Position>,
    records_since_save: usize,
    changed_at: Option<Instant>,
}

impl JournalBook {
    pub(super) fn new(dir: PathBuf) -> JournalBook {
        JournalBook {
            dir,
            inner: Mutex::default(),
        }
    }

    pub(super) fn chunk(&self, id: u64, stream: &str, pos: Position, records: usize) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.owners.insert(id, stream.to_owned());
        let sb = inner.streams.entry(stream.to_owned()).or_default();
        sb.chunks.push_back((id, pos, records, None));
    }

    /// Saves the journals that changed: when `force`, or after `SAVE_EVERY` records
    /// or `SAVE_AFTER`.
    pub(super) fn save_due(&self, force: bool) {
        let dir = &self.dir;
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, sb) in inner.streams.iter_mut() {
            let Some(changed) = sb.changed_at else {
                continue;
            };
            if !(force || sb.records_since_save >= SAVE_EVERY || changed.elapsed() >= SAVE_AFTER) {
                continue;
            }
            let Some(pos) = &sb.acked else { continue };
            match journal::save(dir, name, pos) {
                Ok(()) => {
                    sb.changed_at = None;
                    sb.records_since_save = 0;
                }
                Err(e) => tracing::warn!(stream = %name, error = %e, "cannot save journal"),
            }
        }
    }
}

impl Drop for JournalBook {
    /// The last save: every record the input read has been delivered or abandoned by
    /// now, so a graceful stop (or a reload's drain) leaves journals at the last
    /// delivered record, and the next start repeats nothing.
    fn drop(&mut self) {
        self.save_due(true);
    }
}

impl AckSink for JournalBook {
    fn completed(&self, id: u64, delivered: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(stream) = inner.owners.remove(&id) else {
            return;
        };
        let Some(sb) = inner.streams.get_mut(&stream) else {
            return;
        };
        if let Some(chunk) = sb.chunks.iter_mut().find(|c| c.0 == id) {
            chunk.3 = Some(delivered);
        }
        // Advance over the completed, delivered prefix. An abandoned chunk stops the
        // journal there: after a restart it is read again (at least once).
        while let Some((_, _, _, Some(true))) = sb.chunks.front() {
            if let Some((_, pos, records, _)) = sb.chunks.pop_front() {
                sb.acked = Some(pos);
                sb.records_since_save += records;
                sb.changed_at.get_or_insert_with(Instant::now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn pos(seek: u64) -> Position {
        Position {
            seek,
            file_name: "/f".into(),
            last_hash: String::new(),
        }
    }

    #[test]
    fn journal_advances_in_chunk_order_only() {
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(JournalBook::new(dir.path().to_path_buf()));
        book.chunk(1, "s", pos(10), 1);
        book.chunk(2, "s", pos(20), 1);
        book.chunk(3, "s", pos(30), 1);
        book.completed(2, true);
        assert!(book.inner.lock().unwrap().streams["s"].acked.is_none());
        book.completed(1, true);
        assert_eq!(book.inner.lock().unwrap().streams["s"].acked, Some(pos(20)));
        book.completed(3, false);
        assert_eq!(book.inner.lock().unwrap().streams["s"].acked, Some(pos(20)));
        book.save_due(true);
        assert_eq!(journal::load(dir.path(), "s"), Some(pos(20)));
    }

    #[test]
    fn the_last_acknowledgement_saves_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(JournalBook::new(dir.path().to_path_buf()));
        book.chunk(1, "s", pos(10), 1);
        // The input stops and saves while unit 1 is still in an output.
        let ack = heka_pipeline::Ack::new(1, book.clone());
        book.save_due(true);
        drop(book);
        assert_eq!(journal::load(dir.path(), "s"), None);
        // The output delivers it after the input is gone: the journal follows.
        ack.done();
        assert_eq!(journal::load(dir.path(), "s"), Some(pos(10)));
    }
}
