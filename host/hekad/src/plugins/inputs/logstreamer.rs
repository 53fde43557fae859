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

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use heka_pipeline::{
    Ack, AckSink, AckUnits, Decoder, Input, InputContext, PluginError, RecordHeaders, SplitRunner,
};
use heka_tail::journal::{self, HashWindow, Position};
use heka_tail::{Discovery, DiscoveryConfig, StreamId, TailOptions, TailSink, Tailer};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// Heka saves a journal after this many records.
const SAVE_EVERY: usize = 500;
/// ... or this long after its position changed.
const SAVE_AFTER: Duration = Duration::from_secs(1);
/// Bytes read from a file at a time (Heka read 8 KiB, the splitter's buffer): a
/// chunk of ~1,000 lines per read means one syscall, one ack and one wake-up of the
/// next thread per chunk instead of per few dozen lines.
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
            runner.set_read_size(READ_SIZE);
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
        let n = st.runner.read_from(reader)?;
        self.drain(stream, false)?;
        Ok(n)
    }

    fn end(&mut self, stream: StreamId) {
        // A trailing partial record goes out only with deliver_incomplete_final.
        let _ = self.drain(stream, true);
    }
}

/// Journal positions by stream, advanced by acknowledgements in chunk order. Shared
/// by the input and every unit's acknowledgement; dropped when the last of them is
/// gone, which is when it saves its journals for the last time.
struct JournalBook {
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
    fn new(dir: PathBuf) -> JournalBook {
        JournalBook {
            dir,
            inner: Mutex::default(),
        }
    }

    fn chunk(&self, id: u64, stream: &str, pos: Position, records: usize) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.owners.insert(id, stream.to_owned());
        let sb = inner.streams.entry(stream.to_owned()).or_default();
        sb.chunks.push_back((id, pos, records, None));
    }

    /// Saves the journals that changed: when `force`, or after `SAVE_EVERY` records
    /// or `SAVE_AFTER`.
    fn save_due(&self, force: bool) {
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

    fn pos(seek: u64) -> Position {
        Position {
            seek,
            file_name: "/f".into(),
            last_hash: String::new(),
        }
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let t: toml::Table = toml::from_str("file_match = 'a\\.log'").unwrap();
        let cfg: LogstreamerInputConfig = crate::config::from_table(&t).unwrap();
        assert_eq!(cfg.log_directory, "/var/log");
        assert_eq!(cfg.oldest_duration, "720h");
        assert_eq!(cfg.rescan_interval, "1m");
        let t: toml::Table = toml::from_str("file_match = 'x'\nbogus = 1").unwrap();
        assert!(crate::config::from_table::<LogstreamerInputConfig>(&t).is_err());
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
