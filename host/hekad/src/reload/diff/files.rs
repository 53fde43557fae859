//! The files a section loads when its plugin starts, hashed into its fingerprint so
//! that a reload replaces the plugin when one of them changed even though the
//! section's text did not:
//!
//! - the sandbox `filename` (under `share_dir`);
//! - a Lua sandbox's modules: every file below each `module_directory` entry
//!   (`;`-separated, under `share_dir`; default `<share_dir>/lua_modules`), since
//!   which ones a script `require`s is only known when it runs;
//! - the TLS files of `[x.tls]` (`cert_file`, `key_file`, `client_cafile`,
//!   `root_cafile`) and NATS's `credentials_file`, as the plugins open them (relative
//!   to the working directory).
//!
//! A module directory is walked with a bound ([`MAX_MODULE_FILES`] files,
//! [`MAX_DEPTH`] levels): past it the rest is not looked at and the fingerprint says
//! so, which keeps a reload's cost bounded whatever the directory holds.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// Files hashed per module directory at most.
pub(super) const MAX_MODULE_FILES: usize = 4096;
/// Directory levels walked below a module directory (dotted module names).
pub(super) const MAX_DEPTH: usize = 8;

/// Keys of `[x.tls]` that name a file.
const TLS_FILES: [&str; 4] = ["cert_file", "key_file", "client_cafile", "root_cafile"];

/// Appends ` key=<hash>` for every file the section's `table` loads.
pub(super) fn write_loaded(share_dir: &Path, table: &toml::Table, text: &mut String) {
    let str_key = |t: &toml::Table, k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    if let Some(file) = str_key(table, "filename") {
        push(text, "file", &file_hash(&share_dir.join(&file)));
        if file.ends_with(".lua") {
            let dirs = str_key(table, "module_directory").unwrap_or_else(|| "lua_modules".into());
            for dir in dirs.split(';').filter(|d| !d.is_empty()) {
                push(text, "modules", &tree_hash(&share_dir.join(dir)));
            }
        }
    }
    if let Some(creds) = str_key(table, "credentials_file") {
        push(text, "credentials_file", &file_hash(Path::new(&creds)));
    }
    if let Some(tls) = table.get("tls").and_then(|v| v.as_table()) {
        for key in TLS_FILES {
            if let Some(file) = str_key(tls, key) {
                push(text, key, &file_hash(Path::new(&file)));
            }
        }
    }
}

fn push(text: &mut String, key: &str, hash: &str) {
    text.push(' ');
    text.push_str(key);
    text.push('=');
    text.push_str(hash);
}

/// A hash of a file's content (or of why it cannot be read), as text. Read in chunks,
/// so a large file costs time, not memory.
fn file_hash(path: &Path) -> String {
    use std::io::Read as _;
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) => return format!("unreadable({:?})", e.kind()),
    };
    // Compared within one process only: the std hasher is stable enough.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut buf = [0u8; 16 * 1024];
    let mut len = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.write(&buf[..n]);
                len += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return format!("unreadable({:?})", e.kind()),
        }
    }
    format!("{len}:{:016x}", h.finish())
}

/// A hash of every file below `dir` (relative names and contents, in name order), or
/// `absent` when it is not a directory. Links are not followed.
fn tree_hash(dir: &Path) -> String {
    if !dir.is_dir() {
        return "absent".into();
    }
    let mut files = Vec::new();
    let complete = collect(dir, dir, 0, &mut files);
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for rel in &files {
        rel.hash(&mut h);
        file_hash(&dir.join(rel)).hash(&mut h);
    }
    let bound = if complete { "" } else { ",truncated" };
    format!("{}files:{:016x}{bound}", files.len(), h.finish())
}

/// Collects the files below `at` (relative to `root`); false when a bound cut it.
fn collect(root: &Path, at: &Path, depth: usize, files: &mut Vec<PathBuf>) -> bool {
    let Ok(entries) = std::fs::read_dir(at) else {
        return true;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            if depth + 1 >= MAX_DEPTH || !collect(root, &path, depth + 1, files) {
                return false;
            }
        } else if kind.is_file() {
            if files.len() >= MAX_MODULE_FILES {
                return false;
            }
            if let Ok(rel) = path.strip_prefix(root) {
                files.push(rel.to_owned());
            }
        }
    }
    true
}
