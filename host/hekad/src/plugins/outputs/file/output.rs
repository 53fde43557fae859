//! [`FileOutput`], the running output: the batch buffer, Heka's flush rules, opening
//! and reopening the file, and time-based rotation.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use heka_message::Message;
use heka_pipeline::{Output, OutputError};

use super::config::{FileOutputConfig, MAX_BUFFERED, parse_perm};
use crate::timefmt::TimeFormat;

/// The running output.
#[derive(Debug)]
pub struct FileOutput {
    name: String,
    /// The file written now (with rotation: the current period's name).
    path: PathBuf,
    /// `Some` when `rotation_interval` is set.
    rotation: Option<Rotation>,
    perm: u32,
    folder_perm: u32,
    /// `None` before the first open and after a failed reopen.
    file: Option<File>,
    /// Whether the file was ever opened: a first failure is fatal, later ones retried.
    opened_once: bool,
    /// Encoded messages not yet written, oldest first.
    buf: Vec<u8>,
    /// Messages in `buf` (for `flush_count`).
    pending: u32,
    flush_interval: Option<Duration>,
    flush_count: u32,
    /// `flush_operator = "AND"`.
    both_rules: bool,
    pub(super) last_write: Instant,
}

impl FileOutput {
    /// Checks `cfg`; errors name the key. Does no I/O.
    pub fn new(name: &str, cfg: &FileOutputConfig) -> Result<FileOutput, (&'static str, String)> {
        if cfg.path.as_os_str().is_empty() {
            return Err(("path", "must not be empty".to_owned()));
        }
        let perm = parse_perm(&cfg.perm).map_err(|m| ("perm", m))?;
        let folder_perm = parse_perm(&cfg.folder_perm).map_err(|m| ("folder_perm", m))?;
        let both_rules = match cfg.flush_operator.as_str() {
            "AND" => true,
            "OR" => false,
            other => {
                return Err((
                    "flush_operator",
                    format!("must be \"AND\" or \"OR\" (got {other:?})"),
                ));
            }
        };
        let mut path = cfg.path.clone();
        let rotation = match cfg.rotation_interval {
            0 => None,
            hours @ (1 | 4 | 12 | 24) => {
                let pattern = cfg.path.to_str().ok_or((
                    "path",
                    "must be UTF-8 to be used as a strftime pattern".to_owned(),
                ))?;
                let format = TimeFormat::parse(pattern).map_err(|m| ("path", m))?;
                let mut rotation = Rotation {
                    format,
                    interval: u64::from(hours) * 3600,
                    next: 0,
                };
                path = rotation.advance(SystemTime::now());
                Some(rotation)
            }
            other => {
                return Err((
                    "rotation_interval",
                    format!("must be 0, 1, 4, 12 or 24 hours (got {other})"),
                ));
            }
        };
        Ok(FileOutput {
            name: name.to_owned(),
            path,
            rotation,
            perm,
            folder_perm,
            file: None,
            opened_once: false,
            buf: Vec::new(),
            pending: 0,
            flush_interval: (cfg.flush_interval > 0)
                .then(|| Duration::from_millis(u64::from(cfg.flush_interval))),
            flush_count: cfg.flush_count.max(1),
            both_rules,
            last_write: Instant::now(),
        })
    }

    /// Opens `path` for appending, creating it and its parent directories.
    fn open(&mut self) -> Result<(), OutputError> {
        if self.file.is_none() {
            let result = self.create_parent().and_then(|()| {
                OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(self.perm)
                    .open(&self.path)
            });
            match result {
                Ok(file) => {
                    self.file = Some(file);
                    self.opened_once = true;
                }
                Err(e) => {
                    let reason = format!("cannot open {}: {e}", self.path.display());
                    return Err(if self.opened_once {
                        OutputError::Retry {
                            reason,
                            after: None,
                        }
                    } else {
                        OutputError::Fatal(reason)
                    });
                }
            }
        }
        Ok(())
    }

    fn create_parent(&self) -> io::Result<()> {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => DirBuilder::new()
                .recursive(true)
                .mode(self.folder_perm)
                .create(parent),
            _ => Ok(()),
        }
    }

    /// Writes the whole buffer. On an error what was written is removed from the
    /// buffer and the rest kept, so nothing is written twice.
    fn write_out(&mut self) -> Result<(), OutputError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.rotate_if_due(SystemTime::now());
        self.open()?;
        let Some(file) = self.file.as_mut() else {
            return Err(OutputError::Fatal("file handle vanished".to_owned()));
        };
        let mut written = 0;
        let result = loop {
            if written == self.buf.len() {
                break Ok(());
            }
            match file.write(&self.buf[written..]) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..written);
        match result {
            Ok(()) => {
                self.pending = 0;
                self.last_write = Instant::now();
                Ok(())
            }
            Err(e) => Err(OutputError::Retry {
                reason: format!("cannot write {}: {e}", self.path.display()),
                after: None,
            }),
        }
    }

    /// Switches to the next period's file once `now` has passed its boundary.
    pub(super) fn rotate_if_due(&mut self, now: SystemTime) {
        let Some(rotation) = &mut self.rotation else {
            return;
        };
        if unix_secs(now) < rotation.next {
            return;
        }
        self.path = rotation.advance(now);
        self.file = None;
        tracing::debug!(plugin = %self.name, path = %self.path.display(), "rotated");
    }

    fn interval_elapsed(&self) -> bool {
        self.flush_interval
            .is_some_and(|d| self.last_write.elapsed() >= d)
    }

    /// Heka's flush rules, checked after each message. With the interval rule off
    /// (`flush_interval = 0`), `AND` reduces to the count rule.
    fn due_after_message(&self) -> bool {
        if self.buf.len() >= MAX_BUFFERED {
            return true;
        }
        let count = self.pending >= self.flush_count;
        if self.both_rules {
            count && (self.flush_interval.is_none() || self.interval_elapsed())
        } else {
            count || self.interval_elapsed()
        }
    }

    /// Heka's rules on a timer tick: `OR` writes whatever is pending, `AND` only a
    /// full count.
    fn due_on_tick(&self) -> bool {
        self.pending > 0
            && self.interval_elapsed()
            && (!self.both_rules || self.pending >= self.flush_count)
    }

    /// Bytes and messages waiting to be written.
    pub fn buffered(&self) -> (usize, u32) {
        (self.buf.len(), self.pending)
    }
}

/// Time-based file names (`rotation_interval`).
#[derive(Debug)]
struct Rotation {
    format: TimeFormat,
    /// Seconds per period.
    interval: u64,
    /// Unix seconds at which the next period starts.
    next: u64,
}

impl Rotation {
    /// Enters the period holding `now`: returns its file name and remembers when it
    /// ends. Periods are aligned on the epoch (Go's `Truncate` does the same, its zero
    /// time being a whole number of days before 1970).
    fn advance(&mut self, now: SystemTime) -> PathBuf {
        let secs = unix_secs(now);
        let start = secs - secs % self.interval;
        self.next = start + self.interval;
        let mut name = String::new();
        let start_ns = i64::try_from(start)
            .unwrap_or(i64::MAX / 1_000_000_000)
            .saturating_mul(1_000_000_000);
        self.format.format_into(start_ns, &mut name);
        PathBuf::from(name)
    }
}

pub(super) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Output for FileOutput {
    fn send(&mut self, _msg: &Message, payload: &[u8]) -> Result<(), OutputError> {
        self.buf.extend_from_slice(payload);
        self.pending += 1;
        if !self.due_after_message() {
            return Ok(());
        }
        match self.write_out() {
            Ok(()) => Ok(()),
            // None of this message reached the file: take it back out so the
            // runner's retry does not write it twice.
            Err(e) if self.buf.len() >= payload.len() && !matches!(e, OutputError::Fatal(_)) => {
                self.buf.truncate(self.buf.len() - payload.len());
                self.pending -= 1;
                Err(e)
            }
            Err(OutputError::Fatal(reason)) => Err(OutputError::Fatal(reason)),
            // Part of it is in the file: the rest stays buffered for the next write.
            Err(e) => {
                tracing::warn!(plugin = %self.name, error = %e, "write failed, will retry on flush");
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.write_out()
    }

    fn timer_event(&mut self, _now_ns: i64) -> Result<(), OutputError> {
        if self.due_on_tick() {
            self.write_out()?;
        }
        Ok(())
    }

    fn reopen(&mut self) -> Result<(), OutputError> {
        // What was buffered belongs to the old file (logrotate already renamed it).
        let written = self.write_out();
        self.file = None;
        written?;
        self.open()
    }
}

impl Drop for FileOutput {
    /// Last resort: the runner flushes at shutdown, but a plugin dropped on another
    /// path should still not lose what it buffered.
    fn drop(&mut self) {
        if !self.buf.is_empty() && self.file.is_some() {
            let _ = self.write_out();
        }
    }
}
