//! Opening files: a stream's first file (from its journal, `initial_tail`, or its
//! oldest file), any file at an offset whose preceding bytes must match a hash, and
//! the [`Current`] file being read, with the [`Tee`] that keeps its offset and hash
//! window in step with what the sink reads.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::identity::{FileId, remember_older};
use super::{Scanned, StreamId, TailSink, Tailer};
use crate::journal::{self, HASH_WINDOW, HashWindow};

/// The file a stream is reading.
pub(super) struct Current {
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) gz: Option<MultiGzDecoder<File>>,
    pub(super) id: FileId,
    /// Bytes read so far (decompressed bytes for gzip).
    pub(super) offset: u64,
    /// The bytes before `offset`.
    pub(super) window: HashWindow,
    /// Re-read from 0 after a truncation with no copy found: a copy showing up later
    /// holds content already read.
    pub(super) restarted: bool,
    /// Files of the stream known when this one was opened (or last checked for
    /// copies): a file that shows up later, ordered before ours, may be a copy.
    pub(super) known: HashSet<FileId>,
    /// The file was checked for truncation since the last end of data.
    pub(super) checked: bool,
}

/// What [`Tailer::start_stream`] achieved.
pub(super) enum Start {
    Started,
    /// The scan is stale; rescan and try again.
    Stale,
    /// No file to read yet.
    Nothing,
}

impl Tailer {
    /// Opens the first file of a stream: the journal's position if it can be found,
    /// else the end of the newest file (`initial_tail`), else the oldest file.
    pub(super) fn start_stream(&mut self, id: StreamId, sink: &mut dyn TailSink) -> Start {
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
}

/// Reads through to the current file, keeping offset and hash window up to date and
/// noting whether an error came from the file (rather than the sink).
pub(super) struct Tee<'a> {
    pub(super) cur: &'a mut Current,
    pub(super) file_error: bool,
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

pub(super) fn is_gzip(file: &File) -> bool {
    let mut magic = [0u8; 2];
    matches!(file.read_at(&mut magic, 0), Ok(2)) && magic == [0x1f, 0x8b]
}

/// Opens `path` positioned at `offset`. With `expect_hash`, the 500 bytes before
/// `offset` must hash to it (offset 0 always matches, as in Heka).
pub(super) fn open_at(path: &Path, offset: u64, expect_hash: Option<&str>) -> Option<Current> {
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
pub(super) fn with_known(mut cur: Current, files: &[Scanned]) -> Current {
    cur.known = files.iter().map(|f| f.id).collect();
    cur
}

/// Result of opening a file as listed by the last scan.
#[allow(clippy::large_enum_variant)] // short-lived, returned once per file open
pub(super) enum Opened {
    Ok(Current),
    /// The path names another file now: the scan is stale.
    Stale,
    /// Cannot be opened there (gone, too short, hash mismatch).
    No,
}

/// Opens a scanned file, checking it is still the file the scan saw.
pub(super) fn open_scanned(f: &Scanned, offset: u64, expect_hash: Option<&str>) -> Opened {
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
