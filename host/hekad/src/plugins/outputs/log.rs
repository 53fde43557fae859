//! `LogOutput`: writes each encoded message (or Payload) to stdout, one per line
//! (Heka's LogOutput).
//!
//! A newline is added when the payload does not end with one. Lines are collected in
//! memory and written to stdout at `flush()` (the runner calls it when its queue runs
//! empty and at shutdown) or when [`HIGH_WATER`] bytes are waiting, so a burst costs
//! one write instead of one per message.
//!
//! `log_flags` takes Go's `log` flags for a prefix: `Ldate` (1, `2009/01/23 `),
//! `Ltime` (2, `01:23:23 `), `Lmicroseconds` (4, `01:23:23.123123 `); other bits are
//! accepted and ignored. Times are UTC. Heka's Go default was 3 (date and time); ours
//! is 0 so that stdout carries exactly what the encoder produced (JSON stays JSON).
//!
//! ```toml
//! [LogOutput]
//! message_matcher = "TRUE"
//! encoder = "PayloadEncoder"
//! ```

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use heka_message::Message;
use heka_pipeline::{Output, OutputError};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;
use crate::timefmt::TimeFormat;

/// Buffered bytes that trigger a write before the next message is taken.
pub const HIGH_WATER: usize = 64 * 1024;

const LDATE: i64 = 1;
const LTIME: i64 = 2;
const LMICROSECONDS: i64 = 4;

/// `[x]` keys of a LogOutput.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogOutputConfig {
    /// Go `log` flags selecting a date/time prefix (0 = none).
    #[serde(default)]
    pub log_flags: i64,
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn heka_pipeline::Output>, ConfigError> {
    let cfg: LogOutputConfig = ctx.parse()?;
    Ok(Box::new(LogOutput::new(&cfg, Box::new(io::stdout()))))
}

/// The running output.
pub struct LogOutput {
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
    /// `Some` when `log_flags` asks for a prefix.
    prefix: Option<TimeFormat>,
    micros: bool,
    scratch: String,
}

impl LogOutput {
    /// A LogOutput writing to `out` (stdout in hekad, a buffer in tests).
    pub fn new(cfg: &LogOutputConfig, out: Box<dyn Write + Send>) -> LogOutput {
        let date = cfg.log_flags & LDATE != 0;
        let micros = cfg.log_flags & LMICROSECONDS != 0;
        let time = micros || cfg.log_flags & LTIME != 0;
        let format = match (date, time) {
            (true, true) => Some("%Y/%m/%d %T"),
            (true, false) => Some("%Y/%m/%d "),
            (false, true) => Some("%T"),
            (false, false) => None,
        };
        LogOutput {
            out,
            buf: Vec::with_capacity(HIGH_WATER),
            // Both formats are constants of this file and parse.
            prefix: format.and_then(|f| TimeFormat::parse(f).ok()),
            micros: time && micros,
            scratch: String::new(),
        }
    }

    fn push_prefix(&mut self) {
        let Some(format) = &self.prefix else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.scratch.clear();
        format.format_into(
            i64::try_from(now.as_nanos()).unwrap_or(i64::MAX),
            &mut self.scratch,
        );
        if self.micros {
            use std::fmt::Write as _;
            let _ = write!(self.scratch, ".{:06}", now.subsec_micros());
        }
        if !self.scratch.ends_with(' ') {
            self.scratch.push(' ');
        }
        self.buf.extend_from_slice(self.scratch.as_bytes());
    }

    /// Writes the buffer out. What was written leaves the buffer even on error, so a
    /// retry never repeats it; a closed stdout is fatal.
    fn write_out(&mut self) -> Result<(), OutputError> {
        let mut written = 0;
        let result = loop {
            if written == self.buf.len() {
                break self.out.flush();
            }
            match self.out.write(&self.buf[written..]) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..written);
        result.map_err(|e| {
            let reason = format!("cannot write to stdout: {e}");
            if e.kind() == io::ErrorKind::BrokenPipe {
                OutputError::Fatal(reason)
            } else {
                OutputError::Retry {
                    reason,
                    after: None,
                }
            }
        })
    }
}

impl Output for LogOutput {
    fn send(&mut self, _msg: &Message, payload: &[u8]) -> Result<(), OutputError> {
        // Written before this message is taken, so a failure leaves it out and the
        // runner's retry adds it exactly once.
        if self.buf.len() >= HIGH_WATER {
            self.write_out()?;
        }
        self.push_prefix();
        self.buf.extend_from_slice(payload);
        if payload.last() != Some(&b'\n') {
            self.buf.push(b'\n');
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.write_out()
    }
}

impl Drop for LogOutput {
    /// Last resort when dropped without a final flush.
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.write_out();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer tests can read back; `fail` makes every write fail with that kind.
    #[derive(Clone, Default)]
    struct Shared {
        bytes: Arc<Mutex<Vec<u8>>>,
        fail: Arc<Mutex<Option<io::ErrorKind>>>,
    }

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if let Some(kind) = *self.fail.lock().unwrap() {
                return Err(io::Error::from(kind));
            }
            self.bytes.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.bytes.lock().unwrap().clone()).unwrap()
        }
    }

    fn output(flags: i64) -> (LogOutput, Shared) {
        let shared = Shared::default();
        let out = LogOutput::new(
            &LogOutputConfig { log_flags: flags },
            Box::new(shared.clone()),
        );
        (out, shared)
    }

    #[test]
    fn lines_are_buffered_until_flush_with_newlines_added() {
        let (mut out, shared) = output(0);
        out.send(&Message::default(), b"one").unwrap();
        out.send(&Message::default(), b"two\n").unwrap();
        out.send(&Message::default(), b"").unwrap();
        assert_eq!(shared.text(), "", "nothing before flush");
        out.flush().unwrap();
        assert_eq!(shared.text(), "one\ntwo\n\n");
    }

    #[test]
    fn high_water_writes_before_taking_more() {
        let (mut out, shared) = output(0);
        let line = "y".repeat(1023);
        for _ in 0..(HIGH_WATER / 1024) {
            out.send(&Message::default(), line.as_bytes()).unwrap();
        }
        assert_eq!(shared.text(), "");
        out.send(&Message::default(), b"next").unwrap();
        assert_eq!(shared.text().len(), HIGH_WATER);
    }

    #[test]
    fn failures_are_retry_and_broken_pipe_is_fatal() {
        let (mut out, shared) = output(0);
        out.send(&Message::default(), b"a").unwrap();
        *shared.fail.lock().unwrap() = Some(io::ErrorKind::WouldBlock);
        assert!(matches!(out.flush(), Err(OutputError::Retry { .. })));
        *shared.fail.lock().unwrap() = Some(io::ErrorKind::BrokenPipe);
        assert!(matches!(out.flush(), Err(OutputError::Fatal(_))));
        *shared.fail.lock().unwrap() = None;
        out.flush().unwrap();
        assert_eq!(shared.text(), "a\n", "written once");
    }

    #[test]
    fn log_flags_prefix_date_and_time() {
        let (mut out, shared) = output(LDATE | LTIME | LMICROSECONDS);
        out.send(&Message::default(), b"msg").unwrap();
        out.flush().unwrap();
        let text = shared.text();
        // "2026/11/25 11:47:07.123456 msg\n"
        assert_eq!(
            text.len(),
            "2026/11/25 11:47:07.123456 msg\n".len(),
            "{text:?}"
        );
        assert_eq!(&text[4..5], "/");
        assert_eq!(&text[19..20], ".");
        assert!(text.ends_with(" msg\n"), "{text:?}");
        let (mut out, shared) = output(LTIME);
        out.send(&Message::default(), b"m").unwrap();
        out.flush().unwrap();
        assert_eq!(shared.text().len(), "11:47:07 m\n".len());
    }

    #[test]
    fn config_rejects_unknown_keys() {
        assert!(toml::from_str::<LogOutputConfig>("log_flags = 3").is_ok());
        assert!(toml::from_str::<LogOutputConfig>("prefix = 1").is_err());
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
        let config = |extra: &str| format!("[LogOutput]\nmessage_matcher = \"TRUE\"\n{extra}");
        std::fs::write(&path, config("log_flags = 0\n")).expect("write");
        let loaded = crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let assembled = assemble(&loaded).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            assembled
                .outputs
                .iter()
                .any(|(name, _, _)| name == "LogOutput")
        );

        std::fs::write(&path, config("log_flag = 3\n")).expect("write");
        let loaded = crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let err = assemble(&loaded).err().expect("rejected").to_string();
        assert!(err.contains("[LogOutput] log_flag"), "{err}");
    }
}
