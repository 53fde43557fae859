//! Heka's logstreamer journal: one JSON file per stream at
//! `<journal_directory>/<stream name>` holding
//! `{"seek":N,"file_name":"/abs/path","last_hash":"<sha1 hex>"}`.
//!
//! `last_hash` is the SHA-1 of the 500 bytes before `seek` (left-padded with zero
//! bytes when `seek` < 500), which is how a restarted reader recognises the position
//! even after the file was renamed, compressed or copied ([`HashWindow`]). Saves are
//! atomic (temporary file, fsync, rename) so a crash never leaves a torn journal
//! (Heka issue #1275); a journal that does not parse is reported and ignored rather
//! than fatal.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::error::TailError;

/// Heka's `LINEBUFFERLEN`: bytes hashed before the seek position.
pub const HASH_WINDOW: usize = 500;

/// A stream's saved position (the JSON body of a journal file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Byte offset in the (decompressed) file just past the last record handled.
    pub seek: u64,
    /// Absolute path of the file the offset refers to.
    pub file_name: PathBuf,
    /// SHA-1 hex of the [`HASH_WINDOW`] bytes before `seek`.
    #[serde(default)]
    pub last_hash: String,
}

/// The last (up to) 500 bytes before a position, to compute `last_hash`.
#[derive(Clone, Default)]
pub struct HashWindow {
    buf: Vec<u8>,
}

impl HashWindow {
    /// An empty window (position 0).
    pub fn new() -> HashWindow {
        HashWindow {
            buf: Vec::with_capacity(HASH_WINDOW),
        }
    }

    /// A window holding the last `HASH_WINDOW` bytes of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> HashWindow {
        let mut w = HashWindow::new();
        w.feed(bytes);
        w
    }

    /// Appends bytes that follow the current position (copies at most 500 bytes).
    pub fn feed(&mut self, data: &[u8]) {
        if data.len() >= HASH_WINDOW {
            self.buf.clear();
            self.buf
                .extend_from_slice(&data[data.len() - HASH_WINDOW..]);
            return;
        }
        let overflow = (self.buf.len() + data.len()).saturating_sub(HASH_WINDOW);
        if overflow > 0 {
            self.buf.drain(..overflow);
        }
        self.buf.extend_from_slice(data);
    }

    /// Forgets everything (position 0 of a new file).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The bytes held (at most 500).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Heka's `last_hash`: SHA-1 hex of the window left-padded with zeros to 500 bytes.
    pub fn hash_hex(&self) -> String {
        hash_hex(&self.buf)
    }
}

impl std::fmt::Debug for HashWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashWindow")
            .field("len", &self.buf.len())
            .finish()
    }
}

/// SHA-1 hex of `bytes` (at most 500 of them) left-padded with zeros to 500 bytes.
pub fn hash_hex(bytes: &[u8]) -> String {
    let bytes = &bytes[bytes.len().saturating_sub(HASH_WINDOW)..];
    let mut h = Sha1::new();
    h.update(&[0u8; HASH_WINDOW][..HASH_WINDOW - bytes.len()]);
    h.update(bytes);
    hex::encode(h.finalize())
}

/// The journal file of `stream` in `dir`. Path separators and `..` in the stream
/// name (possible with differentiators) are replaced so the journal stays in `dir`.
pub fn path_for(dir: &Path, stream: &str) -> PathBuf {
    let safe: String = stream
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == '\0' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = match safe.as_str() {
        "" | "." | ".." => format!("_{safe}"),
        _ => safe,
    };
    dir.join(safe)
}

/// Loads `stream`'s journal. `Ok(None)` when there is none (or it is empty);
/// a journal that does not parse is logged and treated as absent.
pub fn load(dir: &Path, stream: &str) -> Option<Position> {
    let path = path_for(dir, stream);
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(journal = %path.display(), error = %e, "cannot read journal; starting without it");
            return None;
        }
    };
    let text = text.trim_ascii();
    if text.is_empty() {
        return None;
    }
    match serde_json::from_slice::<Position>(text) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(journal = %path.display(), error = %e, "journal does not parse; starting without it");
            None
        }
    }
}

/// Saves `pos` as `stream`'s journal atomically: write a temporary file, fsync it,
/// rename it over the journal.
pub fn save(dir: &Path, stream: &str, pos: &Position) -> Result<(), TailError> {
    let path = path_for(dir, stream);
    let err = |source| TailError::Journal {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(dir).map_err(err)?;
    let json = serde_json::to_vec(pos).map_err(|e| err(io::Error::other(e)))?;
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    {
        let mut f = fs::File::create(&tmp).map_err(err)?;
        f.write_all(&json).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    fs::rename(&tmp, &path).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_last_500() {
        let mut w = HashWindow::new();
        w.feed(&[1; 300]);
        w.feed(&[2; 300]);
        assert_eq!(w.bytes().len(), 500);
        assert_eq!(&w.bytes()[..200], &[1; 200][..]);
        assert_eq!(&w.bytes()[200..], &[2; 300][..]);
        w.feed(&[3; 800]);
        assert_eq!(w.bytes(), &[3; 500][..]);
    }

    #[test]
    fn hash_is_zero_padded_like_heka() {
        // Heka hashes 500 bytes: zeros, then the file's first `seek` bytes.
        let mut padded = vec![0u8; 495];
        padded.extend_from_slice(b"abcd\n");
        let expect = hex::encode(Sha1::digest(&padded));
        assert_eq!(HashWindow::from_bytes(b"abcd\n").hash_hex(), expect);
    }

    #[test]
    fn save_load_roundtrip_and_heka_format() {
        let dir = tempfile::tempdir().unwrap();
        let pos = Position {
            seek: 42,
            file_name: "/var/log/a.log".into(),
            last_hash: "ab".into(),
        };
        save(dir.path(), "a/b", &pos).unwrap();
        let text = fs::read_to_string(dir.path().join("a_b")).unwrap();
        assert_eq!(
            text,
            r#"{"seek":42,"file_name":"/var/log/a.log","last_hash":"ab"}"#
        );
        assert_eq!(load(dir.path(), "a/b"), Some(pos));
        fs::write(dir.path().join("bad"), b"{not json").unwrap();
        assert_eq!(load(dir.path(), "bad"), None);
        assert_eq!(load(dir.path(), "none"), None);
    }
}
