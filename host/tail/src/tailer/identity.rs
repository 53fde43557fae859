//! How the tailer knows a file, whatever its name: (device, inode) while it is open,
//! the 500 bytes before the read position (re-checked at every end of data, so a
//! file truncated and regrown is noticed), and, for files already read to their end,
//! (device, inode, first bytes) so that they are never read twice (a gzip'd copy of
//! one is recognised by its decompressed first bytes). Across restarts the journal's
//! hash plays the part of the window (`journal`).

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt};

use flate2::read::MultiGzDecoder;

use super::{Scanned, Stream};
use crate::journal::{HASH_WINDOW, HashWindow};

/// Bytes of a finished file remembered to recognise it later.
const HEAD_LEN: usize = 256;
/// Finished files remembered per stream.
const MAX_CONSUMED: usize = 256;

/// Identity of an open file while it exists (device, inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub(super) fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// A finished file: its identity and first bytes.
#[derive(Debug, Clone)]
pub(super) struct Fingerprint {
    pub(super) id: FileId,
    pub(super) head: Vec<u8>,
}

/// True when the bytes before `offset` in `file` are still the ones we read.
pub(super) fn window_matches(file: &File, offset: u64, window: &HashWindow) -> bool {
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

/// The first bytes of a file (decompressed when `gz`), to recognise it later.
pub(super) fn read_head(file: &File, gz: bool) -> Vec<u8> {
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
pub(super) fn remember_older(s: &mut Stream, upto: usize) {
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

pub(super) fn push_consumed(s: &mut Stream, fp: Fingerprint) {
    if s.consumed.len() >= MAX_CONSUMED {
        s.consumed.pop_front();
    }
    s.consumed.push_back(fp);
}

/// Was `f` already read to its end (the same file, or a gzip'd copy of one)?
pub(super) fn is_consumed(s: &Stream, f: &Scanned) -> bool {
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
