//! `preserve_data` files: read with a bound, written atomically.
//!
//! A save goes to `<file>.tmp` in the same directory, is synced, then renamed over
//! the old file, so a crash or a failed write at any point leaves the previous state
//! file whole (a partial state file would fail the next start). A state of `None`
//! removes the file (the plugin has nothing to keep).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::engine::Engine;
use super::limits::{SandboxError, SandboxSpec};

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PreserveError {
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    #[error("the file holds {size} bytes, more than the plugin's memory_limit ({limit} bytes)")]
    TooLarge { size: u64, limit: usize },
    #[error("cannot create {dir}: {source}")]
    CreateDir { dir: String, source: std::io::Error },
    #[error("cannot write {tmp}: {source} (the previous state file is kept)")]
    Write { tmp: String, source: std::io::Error },
    #[error("cannot remove the old state file: {0}")]
    Remove(std::io::Error),
}

/// The saved state, or `None` when there is none. A file larger than `max` bytes is
/// refused without reading it (it cannot be the state of a guest limited to `max`).
pub fn read(file: &Path, max: usize) -> Result<Option<Vec<u8>>, PreserveError> {
    let size = match std::fs::metadata(file) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PreserveError::Read(e)),
    };
    if size > max as u64 {
        return Err(PreserveError::TooLarge { size, limit: max });
    }
    match std::fs::read(file) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PreserveError::Read(e)),
    }
}

/// Replaces `file` with `state` atomically, or removes it when `state` is `None`.
pub fn write(file: &Path, state: Option<&[u8]>) -> Result<(), PreserveError> {
    let Some(data) = state else {
        return match std::fs::remove_file(file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PreserveError::Remove(e)),
            _ => Ok(()),
        };
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|source| PreserveError::CreateDir {
            dir: dir.display().to_string(),
            source,
        })?;
    }
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(data)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, file));
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        PreserveError::Write {
            tmp: tmp.display().to_string(),
            source,
        }
    })
}

/// A started engine with its `preserve_data` file, the part the three generic
/// plugins share: restored when wrapped, saved when the plugin stops cleanly.
pub(crate) struct Preserved<E> {
    pub(crate) engine: E,
    file: Option<PathBuf>,
}

impl<E: Engine> Preserved<E> {
    /// Wraps `engine`, restoring what the last clean stop saved in `spec`'s
    /// preservation file (at most `memory_limit` bytes: a larger file cannot be the
    /// guest's own state). `path` names the plugin file in errors.
    pub(crate) fn restore(
        mut engine: E,
        path: &str,
        spec: &SandboxSpec,
    ) -> Result<Preserved<E>, SandboxError> {
        let file = spec.preservation_file.clone();
        restore_engine(&mut engine, path, file.as_deref(), spec.limits.memory_limit)?;
        Ok(Preserved { engine, file })
    }

    /// Saves the state when `preserve_data` is on (see [`save_engine`]).
    pub(crate) fn save(&mut self) {
        if let Some(file) = &self.file {
            save_engine(&mut self.engine, file);
        }
    }

    /// A reload replaces the plugin: its state for the next instance (never after a
    /// termination), also written to the `preserve_data` file when that is on, so the
    /// file stays the state of the last clean stop.
    pub(crate) fn hand_over(&mut self) -> Option<Vec<u8>> {
        if self.engine.is_terminated() {
            return None;
        }
        match self.engine.save_state() {
            Ok(state) => {
                if let Some(file) = &self.file
                    && let Err(error) = write(file, state.as_deref())
                {
                    tracing::error!(plugin = %self.engine.name(), file = %file.display(), %error, "cannot preserve global data; the previous file is kept");
                }
                state
            }
            Err(error) => {
                tracing::error!(plugin = %self.engine.name(), %error, "cannot save the state to hand over");
                None
            }
        }
    }

    /// Takes over the state a previous instance handed over.
    pub(crate) fn take_over(&mut self, state: &[u8]) -> Result<(), String> {
        self.engine.restore_state(state)
    }
}

/// Restores `engine`'s preserved state from `file` (when set and present). `path`
/// names the plugin in errors; `max` bounds the file (the plugin's memory limit).
fn restore_engine<E: Engine>(
    engine: &mut E,
    path: &str,
    file: Option<&Path>,
    max: usize,
) -> Result<(), SandboxError> {
    let Some(file) = file else {
        return Ok(());
    };
    let err = |reason: String| SandboxError::Restore {
        path: path.to_owned(),
        data: file.display().to_string(),
        reason,
    };
    if let Some(data) = read(file, max).map_err(|e| err(e.to_string()))? {
        engine.restore_state(&data).map_err(err)?;
        tracing::info!(plugin = %engine.name(), file = %file.display(), "preserved data restored");
    }
    Ok(())
}

/// Saves `engine`'s state to `file` at a clean stop; never after a termination (the
/// guest's state is gone, as Heka's Lua state was). A failure is logged and leaves
/// the previous file whole.
fn save_engine<E: Engine>(engine: &mut E, file: &Path) {
    let plugin = engine.name().to_owned();
    if engine.is_terminated() {
        tracing::info!(plugin, "terminated: global data not preserved");
        return;
    }
    let result = engine
        .save_state()
        .and_then(|state| write(file, state.as_deref()).map_err(|e| e.to_string()));
    match result {
        Ok(()) => tracing::info!(plugin, file = %file.display(), "global data preserved"),
        Err(error) => {
            tracing::error!(plugin, file = %file.display(), %error, "cannot preserve global data; the previous file is kept")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.data");
        write(&file, Some(b"old")).unwrap();
        // A directory where the temporary file should go makes the write fail.
        std::fs::create_dir(dir.path().join("x.data.tmp")).unwrap();
        let err = write(&file, Some(b"new")).unwrap_err();
        assert!(
            err.to_string().contains("previous state file is kept"),
            "{err}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"old");
    }

    #[test]
    fn read_is_bounded_and_none_when_absent() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("y.data");
        assert!(read(&file, 10).unwrap().is_none());
        write(&file, Some(&[0xff; 11])).unwrap();
        assert!(matches!(
            read(&file, 10),
            Err(PreserveError::TooLarge { size: 11, .. })
        ));
        assert_eq!(read(&file, 11).unwrap().unwrap(), vec![0xff; 11]);
        write(&file, None).unwrap();
        assert!(!file.exists());
    }
}
