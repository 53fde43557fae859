//! `FileOutput`: appends each encoded message to a file (Heka's FileOutput).
//!
//! Messages are collected in memory and written in batches decided by Heka's flush
//! rules: `flush_count` messages and/or (`flush_operator`) `flush_interval` ms since
//! the last write. On top of those rules, the runner's `flush()` (queue ran empty,
//! ticker, shutdown) always writes everything, so a quiet stream is never held back
//! and nothing is left in memory at shutdown. The buffer is also written whenever it
//! reaches [`MAX_BUFFERED`] so memory stays bounded whatever the rules say.
//!
//! The file is opened on first use, not at build time, so `hekad validate` creates
//! nothing; a first open that fails is fatal (as Heka's failing `Init`), a later one
//! (after `reopen`) is retried. `reopen()` (SIGHUP) writes what is buffered, closes
//! the file and opens `path` again: after logrotate renamed the file, a fresh one is
//! created. Parent directories are created with `folder_perm`, the file with `perm`
//! (both subject to the process umask, as in Heka).
//!
//! ```toml
//! [FileOutput]
//! message_matcher = "TRUE"
//! path = "/var/log/hekad/all.log"
//! perm = "644"
//! folder_perm = "700"
//! flush_interval = 1000
//! flush_count = 1
//! flush_operator = "AND"
//! encoder = "PayloadEncoder"
//! ```
//!
//! With `rotation_interval` (hours: 1, 4, 12 or 24) `path` is a strftime pattern
//! (`/var/log/hekad/%Y-%m-%d.log`): at each interval boundary (aligned on the epoch,
//! as Go's `Time.Truncate`) the output switches to the file named by the boundary's
//! time. Unlike Heka, the time is UTC (`crate::timefmt`), not local. The switch happens
//! at the next write, so a period without messages creates no file.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use heka_message::Message;
use heka_pipeline::{Output, OutputError};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;
use crate::timefmt::TimeFormat;

/// Buffered bytes that force a write regardless of the flush rules.
pub const MAX_BUFFERED: usize = 1024 * 1024;

/// `[x]` keys of a FileOutput (`encoder` and `use_framing` are common output keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutputConfig {
    /// The file to append to.
    pub path: PathBuf,
    /// Octal permissions of a created file.
    #[serde(default = "default_perm")]
    pub perm: String,
    /// Octal permissions of created parent directories.
    #[serde(default = "default_folder_perm")]
    pub folder_perm: String,
    /// Milliseconds between writes of the batch; 0 turns the interval rule off.
    #[serde(default = "default_flush_interval")]
    pub flush_interval: u32,
    /// Messages per batch (0 counts as 1, Heka's minimum).
    #[serde(default = "default_flush_count")]
    pub flush_count: u32,
    /// How the two rules combine: `AND` (both) or `OR` (either).
    #[serde(default = "default_flush_operator")]
    pub flush_operator: String,
    /// Hours between file rotations (0 = none, 1, 4, 12, 24); with rotation `path`
    /// is a strftime pattern.
    #[serde(default)]
    pub rotation_interval: u32,
}

fn default_perm() -> String {
    "644".to_owned()
}
fn default_folder_perm() -> String {
    "700".to_owned()
}
fn default_flush_interval() -> u32 {
    1000
}
fn default_flush_count() -> u32 {
    1
}
fn default_flush_operator() -> String {
    "AND".to_owned()
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn heka_pipeline::Output>, ConfigError> {
    let cfg: FileOutputConfig = ctx.parse()?;
    let output =
        FileOutput::new(ctx.name, &cfg).map_err(|(key, msg)| ctx.invalid(Some(key), msg))?;
    Ok(Box::new(output))
}

/// Parses Heka's octal permission strings ("644", "0644").
fn parse_perm(text: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(text, 8)
        .map_err(|_| format!("{text:?} is not an octal permission like \"644\""))?;
    if mode > 0o7777 {
        return Err(format!("{text:?} is not a permission (above 7777)"));
    }
    Ok(mode)
}

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
    last_write: Instant,
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
    fn rotate_if_due(&mut self, now: SystemTime) {
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

fn unix_secs(t: SystemTime) -> u64 {
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn config(path: PathBuf, extra: &str) -> FileOutputConfig {
        let text = format!("path = {:?}\n{extra}", path.display().to_string());
        toml::from_str(&text).expect("valid test config")
    }

    fn output(path: PathBuf, extra: &str) -> FileOutput {
        FileOutput::new("TestFileOutput", &config(path, extra)).expect("valid config")
    }

    fn send(out: &mut FileOutput, payload: &str) {
        out.send(&Message::default(), payload.as_bytes())
            .expect("send");
    }

    fn read(path: &std::path::Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn defaults_are_heka_s() {
        let cfg = config("/tmp/x".into(), "");
        assert_eq!(cfg.perm, "644");
        assert_eq!(cfg.folder_perm, "700");
        assert_eq!(cfg.flush_interval, 1000);
        assert_eq!(cfg.flush_count, 1);
        assert_eq!(cfg.flush_operator, "AND");
        assert_eq!(cfg.rotation_interval, 0);
    }

    #[test]
    fn bad_settings_name_their_key() {
        for (extra, key) in [
            ("perm = \"rw-r--r--\"", "perm"),
            ("perm = \"99\"", "perm"),
            ("folder_perm = \"17777\"", "folder_perm"),
            ("flush_operator = \"XOR\"", "flush_operator"),
            ("rotation_interval = 2", "rotation_interval"),
        ] {
            let err = FileOutput::new("f", &config("/tmp/x".into(), extra)).unwrap_err();
            assert_eq!(err.0, key, "{extra}: {}", err.1);
        }
        assert!(toml::from_str::<FileOutputConfig>("path = \"/x\"\nflush = 1").is_err());
        assert!(toml::from_str::<FileOutputConfig>("perm = \"644\"").is_err());
        assert_eq!(parse_perm("0640"), Ok(0o640));
    }

    #[test]
    fn building_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.log");
        let _out = output(path.clone(), "");
        assert!(!dir.path().join("sub").exists());
    }

    #[test]
    fn writes_create_dirs_and_file_with_their_perms() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/out.log");
        // Owner-only modes survive any usual umask.
        let mut out = output(path.clone(), "perm = \"600\"\nfolder_perm = \"700\"");
        send(&mut out, "one\n");
        out.flush().unwrap();
        assert_eq!(read(&path), "one\n");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
    }

    #[test]
    fn appends_to_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        std::fs::write(&path, "old\n").unwrap();
        let mut out = output(path.clone(), "flush_interval = 0");
        send(&mut out, "new\n");
        assert_eq!(read(&path), "old\nnew\n");
    }

    #[test]
    fn count_rule_alone_when_interval_is_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut out = output(path.clone(), "flush_interval = 0\nflush_count = 3");
        send(&mut out, "1\n");
        send(&mut out, "2\n");
        assert_eq!(read(&path), "", "held until 3 messages");
        assert_eq!(out.buffered(), (4, 2));
        send(&mut out, "3\n");
        assert_eq!(read(&path), "1\n2\n3\n");
        assert_eq!(out.buffered(), (0, 0));
    }

    #[test]
    fn and_needs_both_count_and_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        // An interval that cannot elapse during the test: the count alone is not
        // enough with AND.
        let mut out = output(path.clone(), "flush_interval = 3600000\nflush_count = 2");
        for line in ["1\n", "2\n", "3\n"] {
            send(&mut out, line);
        }
        assert_eq!(read(&path), "");
        // Once the interval has passed, the next message (count reached) writes.
        out.last_write = Instant::now() - Duration::from_secs(3601);
        send(&mut out, "4\n");
        assert_eq!(read(&path), "1\n2\n3\n4\n");
    }

    #[test]
    fn or_writes_on_count_or_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut out = output(
            path.clone(),
            "flush_interval = 3600000\nflush_count = 2\nflush_operator = \"OR\"",
        );
        send(&mut out, "1\n");
        assert_eq!(read(&path), "");
        send(&mut out, "2\n");
        assert_eq!(read(&path), "1\n2\n", "count reached");
        send(&mut out, "3\n");
        assert_eq!(read(&path), "1\n2\n");
        out.last_write = Instant::now() - Duration::from_secs(3601);
        out.timer_event(0).unwrap();
        assert_eq!(read(&path), "1\n2\n3\n", "interval elapsed on a tick");
    }

    #[test]
    fn tick_with_and_waits_for_the_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut out = output(path.clone(), "flush_interval = 10\nflush_count = 2");
        out.last_write = Instant::now() - Duration::from_secs(1);
        send(&mut out, "1\n");
        out.timer_event(0).unwrap();
        assert_eq!(read(&path), "", "count not reached");
        out.flush().unwrap();
        assert_eq!(read(&path), "1\n", "flush() writes regardless of the rules");
    }

    #[test]
    fn big_buffers_are_written_whatever_the_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut out = output(
            path.clone(),
            "flush_interval = 3600000\nflush_count = 1000000",
        );
        let chunk = "x".repeat(64 * 1024);
        for _ in 0..(MAX_BUFFERED / chunk.len()) {
            send(&mut out, &chunk);
        }
        assert_eq!(read(&path).len(), MAX_BUFFERED);
        assert_eq!(out.buffered(), (0, 0));
    }

    #[test]
    fn reopen_after_rename_starts_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let rotated = dir.path().join("out.log.1");
        let mut out = output(path.clone(), "");
        send(&mut out, "before\n");
        out.flush().unwrap();
        std::fs::rename(&path, &rotated).unwrap();
        // Buffered before the signal: belongs to the old file.
        send(&mut out, "buffered\n");
        out.reopen().unwrap();
        assert!(path.exists(), "reopen creates the new file at once");
        send(&mut out, "after\n");
        out.flush().unwrap();
        assert_eq!(read(&rotated), "before\nbuffered\n");
        assert_eq!(read(&path), "after\n");
    }

    #[test]
    fn first_open_failure_is_fatal() {
        let dir = tempfile::tempdir().unwrap();
        // A regular file where a directory is needed.
        std::fs::write(dir.path().join("file"), "").unwrap();
        let mut out = output(dir.path().join("file/out.log"), "flush_interval = 0");
        let err = out.send(&Message::default(), b"x").unwrap_err();
        assert!(matches!(err, OutputError::Fatal(_)), "{err:?}");
    }

    #[test]
    fn later_open_failure_is_retried_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        let path = sub.join("out.log");
        let mut out = output(path.clone(), "flush_interval = 0");
        send(&mut out, "1\n");
        // The directory vanishes and a file takes its place: reopen cannot succeed.
        std::fs::remove_dir_all(&sub).unwrap();
        std::fs::write(&sub, "").unwrap();
        assert!(matches!(out.reopen(), Err(OutputError::Retry { .. })));
        let err = out.send(&Message::default(), b"2\n").unwrap_err();
        assert!(matches!(err, OutputError::Retry { .. }), "{err:?}");
        assert_eq!(out.buffered(), (0, 0), "the failed message is not kept");
        // The path becomes writable again: the runner's retry succeeds, once.
        std::fs::remove_file(&sub).unwrap();
        send(&mut out, "2\n");
        assert_eq!(read(&path), "2\n");
    }

    #[test]
    fn rotation_switches_files_at_period_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = dir.path().join("%Y/%m/%d-%H.log");
        let mut out = output(pattern, "rotation_interval = 1\nflush_interval = 0");
        let now = SystemTime::now();
        let name = |t: SystemTime| {
            let mut s = String::new();
            let hour = unix_secs(t) / 3600 * 3600;
            TimeFormat::parse("%Y/%m/%d-%H.log")
                .unwrap()
                .format_into(hour as i64 * 1_000_000_000, &mut s);
            dir.path().join(s)
        };
        send(&mut out, "first\n");
        assert_eq!(read(&name(now)), "first\n");
        // An hour later (the clock is passed in rather than waited for).
        let later = now + Duration::from_secs(3600);
        out.rotate_if_due(later);
        send(&mut out, "second\n");
        assert_eq!(read(&name(now)), "first\n");
        assert_eq!(read(&name(later)), "second\n");
        // Not yet due again: stays on the same file.
        out.rotate_if_due(later);
        send(&mut out, "third\n");
        assert_eq!(read(&name(later)), "second\nthird\n");
    }

    #[test]
    fn rotation_pattern_is_checked() {
        let err = FileOutput::new("f", &config("/tmp/%Q.log".into(), "rotation_interval = 24"))
            .unwrap_err();
        assert_eq!(err.0, "path", "{}", err.1);
        // Without rotation the path is taken literally.
        assert!(FileOutput::new("f", &config("/tmp/%Q.log".into(), "")).is_ok());
    }
}

/// Through the registry and the config loader, as hekad builds it.
#[cfg(test)]
mod registry_tests {
    use crate::assemble::assemble;

    #[test]
    fn builds_from_hekad_toml_and_names_bad_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hekad.toml");
        let out = dir.path().join("out/all.log");
        let config = |extra: &str| {
            format!(
                "[all]\ntype = \"FileOutput\"\nmessage_matcher = \"TRUE\"\n\
                 encoder = \"ProtobufEncoder\"\npath = {:?}\n{extra}",
                out.display().to_string()
            )
        };
        std::fs::write(&path, config("flush_count = 10\n")).expect("write");
        let loaded = crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let assembled = assemble(&loaded).unwrap_or_else(|e| panic!("{e}"));
        let (_, _, options) = assembled
            .outputs
            .iter()
            .find(|(name, _, _)| name == "all")
            .expect("the output is built");
        assert!(
            options.use_framing,
            "ProtobufEncoder implies framing for FileOutput"
        );
        assert!(!out.exists(), "building creates nothing");

        std::fs::write(&path, config("flush_operator = \"XOR\"\n")).expect("write");
        let loaded = crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let err = assemble(&loaded).err().expect("rejected").to_string();
        assert!(err.contains("[all] flush_operator"), "{err}");
    }
}
