//! `LogstreamerInput`: tails log files — one stream per `differentiator` value, each
//! a sequence of rotated files ordered by `priority` — with Heka's options, journals
//! and message fields (Logger = stream name, Type = "logfile", Hostname, Payload =
//! the record). File handling lives in `heka-tail`; this file turns records into
//! messages and journals into acknowledged positions.
//!
//! ```toml
//! [nginx]
//! type = "LogstreamerInput"
//! log_directory = "/var/log/nginx"
//! file_match = 'access\.log\.?(?P<Seq>\d*)(\.gz)?'
//! priority = ["^Seq"]
//! ```
//!
//! Journals: the records of a read (up to 256 KiB) are routed as one batch, and
//! acknowledged in units of about 8 KiB of records, each sharing one [`Ack`]; when a
//! unit is acknowledged its end position (file, offset past its last record, hash of the 500
//! bytes before) becomes the stream's journal position, in chunk order — a chunk
//! never moves the journal past an earlier one still in flight. Journals are saved
//! (atomically) every 500 records, within a second of the last change, and at stop.
//! How far "acknowledged" means delivered is the pipeline's business (issue 7).
//!
//! Memory: the streams share one read buffer of `READ_SIZE` (more only while a
//! record up to `max_record_size` needs it): a stream borrows it for its turn of
//! the tailer's round and gives it back, keeping only its partial record (a line
//! not finished yet, under `max_record_size`). So N tailed files cost one read
//! buffer plus N partial records, not N read buffers (1,000 files held 250 MiB of
//! buffers before; `tests::idle_streams_keep_only_their_partial_records`). The
//! journal book, in `book`, holds each stream's positions of the units still in
//! flight, which the pipeline's queues bound.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use heka_pipeline::{
    Ack, AckUnits, Decoder, Input, InputContext, PluginError, RecordHeaders, SplitRunner,
};
use heka_tail::journal::{HashWindow, Position};
use heka_tail::{Discovery, DiscoveryConfig, StreamId, TailOptions, TailSink, Tailer};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

mod book;
use book::JournalBook;

/// Bytes read from a file at a time (Heka read 8 KiB, the splitter's buffer): a
/// chunk of ~1,000 lines per read means one syscall, one ack and one wake-up of the
/// next thread per chunk instead of per few dozen lines. One buffer for all the
/// streams (see the module doc).
const READ_SIZE: usize = 256 * 1024;
/// Records acknowledged as one unit (one journal step): about Heka's 8 KiB buffer, so
/// that a crash replays at most that much of what was already delivered (see
/// docs/delivery.md), however large the reads are.
const ACK_UNIT_BYTES: usize = 8 * 1024;
/// How long one poll may wait for file events before the stop signal is checked.
const POLL_WAIT: Duration = Duration::from_millis(200);

/// `[x]` keys of a LogstreamerInput (Heka's names and defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogstreamerInputConfig {
    /// Root directory, scanned recursively.
    #[serde(default = "default_log_directory")]
    pub log_directory: String,
    /// Regex matched against paths relative to `log_directory` (`$` appended).
    pub file_match: String,
    /// Capture names ordering a stream's files oldest → newest (`^Name` descending).
    #[serde(default)]
    pub priority: Vec<String>,
    /// Stream name parts (capture names are replaced by their text); default the
    /// plugin name.
    #[serde(default)]
    pub differentiator: Vec<String>,
    /// Capture name → value → sort integer (`missing` for an unmatched group).
    #[serde(default)]
    pub translation: HashMap<String, HashMap<String, i64>>,
    /// Ignore files last modified longer ago (Go duration; "0" = no limit).
    #[serde(default = "default_oldest_duration")]
    pub oldest_duration: String,
    /// Where journals go (default `<base_dir>/logstreamer`).
    #[serde(default)]
    pub journal_directory: Option<String>,
    /// Full rescan period (Go duration).
    #[serde(default = "default_rescan_interval")]
    pub rescan_interval: String,
    /// Longest wait without file events before idle streams are rechecked.
    #[serde(default = "default_check_data_interval")]
    pub check_data_interval: String,
    /// Hostname of the messages (default `[hekad] hostname`).
    #[serde(default)]
    pub hostname: Option<String>,
    /// A new stream without journal starts at the end of its newest file.
    #[serde(default)]
    pub initial_tail: bool,
}

fn default_log_directory() -> String {
    "/var/log".into()
}
fn default_oldest_duration() -> String {
    "720h".into()
}
fn default_rescan_interval() -> String {
    "1m".into()
}
fn default_check_data_interval() -> String {
    "250ms".into()
}

/// The runtime input.
#[derive(Debug)]
pub struct LogstreamerInput {
    discovery: DiscoveryConfig,
    tail: TailOptions,
    hostname: Option<String>,
}

impl LogstreamerInput {
    /// An input from already-resolved options (the registry path is [`build`]).
    pub fn new(
        discovery: DiscoveryConfig,
        tail: TailOptions,
        hostname: Option<String>,
    ) -> LogstreamerInput {
        LogstreamerInput {
            discovery,
            tail,
            hostname,
        }
    }
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let cfg: LogstreamerInputConfig = ctx.parse()?;
    let duration = |key: &str, value: &str| {
        heka_tail::duration::parse(value)
            .map_err(|reason| ctx.invalid(Some(key), format!("{value:?}: {reason}")))
    };
    let oldest = duration("oldest_duration", &cfg.oldest_duration)?;
    let rescan = duration("rescan_interval", &cfg.rescan_interval)?;
    let check = duration("check_data_interval", &cfg.check_data_interval)?;
    let discovery = DiscoveryConfig {
        log_directory: PathBuf::from(&cfg.log_directory),
        file_match: cfg.file_match.clone(),
        priority: cfg.priority.clone(),
        differentiator: cfg.differentiator.clone(),
        default_stream: ctx.name.to_owned(),
        translation: cfg.translation.clone(),
        oldest_duration: (!oldest.is_zero()).then_some(oldest),
    };
    // Check the regex and priorities now, so `hekad validate` reports them; the
    // directory itself may appear later, so it is only required at run time.
    if let Err(e) = regex::Regex::new(&cfg.file_match) {
        return Err(ctx.invalid(Some("file_match"), e.to_string()));
    }
    let journal_directory = match &cfg.journal_directory {
        Some(dir) => ctx.base_path(dir),
        None => ctx.base_path("logstreamer"),
    };
    Ok(Box::new(LogstreamerInput {
        discovery,
        tail: TailOptions {
            journal_directory,
            rescan_interval: rescan.max(Duration::from_millis(100)),
            initial_tail: cfg.initial_tail,
            idle_check: check.max(Duration::from_millis(10)),
            ..TailOptions::default()
        },
        hostname: cfg.hostname,
    }))
}

impl Input for LogstreamerInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        let ctx: &InputContext = ctx;
        let discovery =
            Discovery::new(&self.discovery).map_err(|e| PluginError::Fatal(e.to_string()))?;
        let mut tailer = Tailer::new(discovery, self.tail.clone())
            .map_err(|e| PluginError::Fatal(e.to_string()))?;
        let dir = self.tail.journal_directory.clone();
        let book = Arc::new(JournalBook::new(dir));
        let mut sink = Sink {
            ctx,
            hostname: self
                .hostname
                .clone()
                .unwrap_or_else(|| ctx.hostname.clone()),
            streams: HashMap::new(),
            book: book.clone(),
            next_ack: 0,
            failed: None,
            spare: Vec::new(),
        };
        let result = loop {
            if ctx.stop.is_raised() {
                break Ok(());
            }
            if let Err(e) = tailer.poll(&mut sink, POLL_WAIT) {
                if ctx.stop.is_raised() {
                    // Routing refused because hekad is stopping: not a failure.
                    break Ok(());
                }
                break Err(sink
                    .failed
                    .take()
                    .unwrap_or_else(|| PluginError::Fatal(e.to_string())));
            }
            book.save_due(false);
        };
        // Journals: what was acknowledged until now. Records still in flight (in
        // filters and outputs draining after the input stopped) move them later: the
        // book saves again when the last acknowledgement lets go of it (its `Drop`).
        drop(sink);
        book.save_due(true);
        result
    }
}

/// Per-stream reading state.
struct StreamState {
    name: String,
    runner: SplitRunner,
    decoder: Option<Box<dyn Decoder>>,
    file: PathBuf,
    window: HashWindow,
}

struct Sink<'a> {
    ctx: &'a InputContext,
    hostname: String,
    streams: HashMap<StreamId, StreamState>,
    book: Arc<JournalBook>,
    next_ack: u64,
    /// Why delivery failed (hekad stopping, decoder terminated).
    failed: Option<PluginError>,
    /// The read buffer, between two streams' turns (see the module doc).
    spare: Vec<u8>,
}

impl Sink<'_> {
    /// Hands out the complete records of `stream` as messages, routed as one batch,
    /// acknowledged in units of about [`ACK_UNIT_BYTES`] (one journal step each).
    fn drain(&mut self, stream: StreamId, last: bool) -> io::Result<()> {
        let Some(st) = self.streams.get_mut(&stream) else {
            return Ok(());
        };
        let StreamState {
            name,
            runner,
            decoder,
            file,
            window,
        } = st;
        let headers = RecordHeaders {
            logger: name,
            r#type: Some("logfile"),
            hostname: &self.hostname,
        };
        let mut units = JournalUnits {
            book: &self.book,
            next_ack: &mut self.next_ack,
            name,
            file,
            window,
        };
        let mut batch = self.ctx.batch();
        let delivered = batch
            .deliver_records(
                runner,
                last,
                decoder.as_deref_mut(),
                &headers,
                Some(&mut units),
            )
            .and_then(|_| batch.route());
        if let Err(e) = delivered {
            self.failed = Some(e.clone());
            return Err(io::Error::other(e.to_string()));
        }
        // Bytes consumed after the last record (skipped, empty) still move the hash.
        window.feed(runner.take_consumed());
        Ok(())
    }
}

/// The acknowledgement units of one stream's read: each becomes a journal chunk.
struct JournalUnits<'s> {
    book: &'s Arc<JournalBook>,
    next_ack: &'s mut u64,
    name: &'s str,
    file: &'s Path,
    window: &'s mut HashWindow,
}

impl AckUnits for JournalUnits<'_> {
    fn unit_bytes(&self) -> usize {
        ACK_UNIT_BYTES
    }

    fn open(&mut self) -> Ack {
        *self.next_ack += 1;
        Ack::new(*self.next_ack, self.book.clone())
    }

    /// Records the position after the unit's last record as the unit's end.
    fn closed(&mut self, ack: &Ack, records: usize, runner: &mut SplitRunner) {
        self.window.feed(runner.take_consumed());
        self.book.chunk(
            ack.id(),
            self.name,
            Position {
                seek: runner.offset(),
                file_name: self.file.to_path_buf(),
                last_hash: self.window.hash_hex(),
            },
            records,
        );
    }
}

impl TailSink for Sink<'_> {
    fn begin(&mut self, stream: StreamId, name: &str, file: &Path, offset: u64, before: &[u8]) {
        let ctx = self.ctx;
        let st = self.streams.entry(stream).or_insert_with(|| {
            let mut runner = ctx.new_split_runner();
            runner.set_label(name);
            StreamState {
                name: name.to_owned(),
                runner,
                decoder: ctx.new_decoder(),
                file: PathBuf::new(),
                window: HashWindow::new(),
            }
        });
        st.runner.reset(offset);
        st.runner.set_label(format!("{name} ({})", file.display()));
        st.file = file.to_path_buf();
        st.window = HashWindow::from_bytes(before);
    }

    fn moved(&mut self, stream: StreamId, file: &Path) {
        if let Some(st) = self.streams.get_mut(&stream) {
            st.file = file.to_path_buf();
            st.runner
                .set_label(format!("{} ({})", st.name, file.display()));
        }
    }

    fn read(&mut self, stream: StreamId, reader: &mut dyn Read) -> io::Result<usize> {
        let Some(st) = self.streams.get_mut(&stream) else {
            return Ok(0);
        };
        // Borrow the shared read buffer for this turn (`turn_over` takes it back).
        let spare = std::mem::take(&mut self.spare);
        self.spare = st.runner.adopt_buffer(spare);
        st.runner.set_read_size(READ_SIZE);
        let n = st.runner.read_from(reader)?;
        self.drain(stream, false)?;
        Ok(n)
    }

    fn end(&mut self, stream: StreamId) {
        // A trailing partial record goes out only with deliver_incomplete_final.
        let _ = self.drain(stream, true);
    }

    fn turn_over(&mut self, stream: StreamId) {
        let Some(st) = self.streams.get_mut(&stream) else {
            return;
        };
        let buf = st.runner.release_buffer();
        if buf.len() > self.spare.len() {
            self.spare = buf;
        }
    }
}

#[cfg(test)]
mod tests;
