//! [`InputContext`]: what a running input may do — stamp messages, make its splitter
//! and decoder, and turn records into routed messages — with the [`Input`] trait that
//! receives it, and [`InputBatch`], the messages of one read routed together.
//!
//! [`InputContext::deliver`] decodes and routes one message at once. An input that
//! reads many records at a time (a file chunk, a socket read) opens a batch per read
//! instead, and its drain loop is the one written here:
//!
//! ```ignore
//! let mut batch = ctx.batch();
//! batch.deliver_records(&mut split_runner, eof, decoder.as_deref_mut(), &ctx.headers(), None)?;
//! batch.route()?;
//! ```
//!
//! Each matching plugin then gets one hand-off per read instead of one per record.
//! A batch routes on its own every [`MAX_ROUTE_BATCH`] messages, so its memory is
//! bounded, and when it is dropped, so nothing is left behind when an input returns
//! early with `?` (routing errors are then ignored: the input is leaving anyway).

use std::cell::RefCell;
use std::sync::Arc;

use heka_message::{Message, Value};

use crate::ack::Ack;
use crate::clock::{new_uuid, now_ns, stamped_message};
use crate::pack::Pack;
use crate::plugin::{Decoder, PluginError};
use crate::router::{MAX_ROUTE_BATCH, Routed, Router};
use crate::settings::{InputOptions, Settings};
use crate::split::{Record, SplitRunner};
use crate::stats::{PluginKind, PluginStats, Registry, section_stats};
use crate::stop::StopSignal;

/// Heka caps the `decode_error` field of a routed decode failure at 500 bytes.
const MAX_DECODE_ERROR_LEN: usize = 500;

thread_local! {
    /// Decoder output buffer, reused so that decoding a record allocates no Vec.
    /// Thread-local (not a field) so an [`InputContext`] stays `Sync` and can be
    /// shared by an input's connection threads.
    static DECODED: RefCell<Vec<Message>> = const { RefCell::new(Vec::new()) };
}

/// Produces messages until asked to stop (Heka's inputs).
pub trait Input: Send {
    /// Runs on its own thread until `ctx.stop` is raised (then returns `Ok`) or until it
    /// cannot go on (`Err`, which stops hekad unless the input's `can_exit` is set).
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError>;
}

/// Handed to [`Input::run`]: the input's identity, the stop signal, and the way to
/// turn records into routed messages.
///
/// It is `Send + Sync + Clone`: an input serving several connections may hand a clone
/// (or a reference) to each connection's thread.
#[derive(Clone)]
pub struct InputContext {
    /// The input's section name (Heka: the plugin name; default Logger).
    pub name: String,
    /// hekad's hostname (`[hekad] hostname`), or the input's own `hostname` option.
    pub hostname: String,
    /// Raised when hekad stops; `run` must return soon after.
    pub stop: StopSignal,
    pub(crate) router: Arc<Router>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) options: InputOptions,
    /// The input's counters (sent messages, decode failures).
    pub(crate) stats: Arc<PluginStats>,
    /// The registry, for its decoder's stats entry.
    pub(crate) registry: Arc<Registry>,
}

/// The headers [`InputBatch::deliver_records`] gives the message of each record,
/// besides a fresh Uuid, hekad's Pid and a Timestamp read once per call (the records
/// were read at once).
#[derive(Debug, Clone, Copy)]
pub struct RecordHeaders<'a> {
    pub logger: &'a str,
    pub r#type: Option<&'a str>,
    pub hostname: &'a str,
}

/// Acknowledgement units for [`InputBatch::deliver_records`]: consecutive records
/// share one [`Ack`] until they hold [`AckUnits::unit_bytes`] bytes, so an input
/// keeps one checkpoint per unit instead of one per record (LogstreamerInput's
/// journal steps).
pub trait AckUnits {
    /// Bytes of records per unit: a unit ends with the record that reaches it.
    fn unit_bytes(&self) -> usize;

    /// The ack of a new unit, asked for when its first record is delivered.
    fn open(&mut self) -> Ack;

    /// The unit `ack` ended after `records` records, all delivered; `runner` stands
    /// just past the last of them. The batch then releases the input's own share
    /// (`ack.done()`), so note the checkpoint here.
    fn closed(&mut self, ack: &Ack, records: usize, runner: &mut SplitRunner);
}

impl InputContext {
    /// A message with Heka's pack defaults for input messages: a fresh v4 Uuid,
    /// Timestamp = now, Logger = the input's name, Hostname = `self.hostname`, Pid.
    pub fn new_message(&self) -> Message {
        stamped_message(&self.name, &self.hostname, self.settings.pid)
    }

    /// The headers of [`InputContext::new_message`], for
    /// [`InputBatch::deliver_records`]: Logger = the input's name, Hostname =
    /// `self.hostname`, no Type.
    pub fn headers(&self) -> RecordHeaders<'_> {
        RecordHeaders {
            logger: &self.name,
            r#type: None,
            hostname: &self.hostname,
        }
    }

    /// A fresh instance of the input's configured splitter, wrapped in a runner
    /// (Heka creates one splitter per stream / connection).
    pub fn new_split_runner(&self) -> SplitRunner {
        SplitRunner::new((self.options.splitter)(), self.options.split.clone())
    }

    /// A fresh instance of the input's configured decoder, if it has one.
    pub fn new_decoder(&self) -> Option<Box<dyn Decoder>> {
        let factory = self.options.decoder.as_ref()?;
        match factory() {
            Ok(mut decoder) => {
                if let Some((name, type_name)) = &self.options.decoder_section {
                    decoder.attach_stats(&|| {
                        section_stats(&self.registry, name, type_name, PluginKind::Decoder)
                    });
                }
                Some(decoder)
            }
            Err(err) => {
                // The factory was tried once at config time; a later failure leaves
                // this stream undecoded rather than stopping the input.
                tracing::error!(input = %self.name, error = %err, "cannot create a decoder instance");
                None
            }
        }
    }

    /// `[hekad] max_message_size`.
    pub fn max_message_size(&self) -> usize {
        self.settings.max_message_size
    }

    /// Decodes (when `decoder` is given) and routes one record's message. `raw` is the
    /// record's bytes when the splitter uses message bytes. `ack` is released when
    /// every matching output has delivered (or when nothing matched).
    ///
    /// Decode failures are logged (and routed when `send_decode_failures`), never
    /// returned; `Err(Fatal)` only when the decoder is terminated, `Err(Failed)` when
    /// hekad is stopping and the message could not be routed.
    pub fn deliver(
        &self,
        msg: Message,
        raw: Option<&[u8]>,
        decoder: Option<&mut (dyn Decoder + 'static)>,
        ack: Option<Ack>,
    ) -> Result<(), PluginError> {
        self.deliver_to(msg, raw, decoder, (ack, None), None)
    }

    /// An empty batch: what is delivered into it is routed together (see the module
    /// doc).
    pub fn batch(&self) -> InputBatch<'_> {
        InputBatch {
            ctx: self,
            packs: Vec::new(),
        }
    }

    /// The message of a record: see [`RecordHeaders`].
    fn record_message(&self, timestamp: i64, headers: &RecordHeaders<'_>) -> Message {
        Message {
            uuid: new_uuid(),
            timestamp,
            r#type: headers.r#type.map(str::to_owned),
            logger: Some(headers.logger.to_owned()),
            hostname: Some(headers.hostname.to_owned()),
            pid: Some(self.settings.pid),
            ..Default::default()
        }
    }

    /// [`InputContext::deliver`], into `batch` when given (else routed at once); the
    /// packs carry `ack` and the record's verified signer.
    fn deliver_to(
        &self,
        msg: Message,
        raw: Option<&[u8]>,
        decoder: Option<&mut (dyn Decoder + 'static)>,
        (ack, signer): (Option<Ack>, Option<Arc<str>>),
        batch: Option<&mut Vec<Pack>>,
    ) -> Result<(), PluginError> {
        match (decoder, raw) {
            (Some(decoder), _) => self.decode_and_route(msg, raw, decoder, (ack, signer), batch),
            // Framed protobuf records with no decoder configured: the record *is* the
            // message (what ProtobufDecoder would do), the input's stamp is discarded.
            (None, Some(bytes)) => match heka_message::decode_message(bytes) {
                Ok(decoded) => self.route(Pack::signed(decoded, ack, signer), batch),
                Err(err) => self.decode_failed(msg, &err.to_string(), ack, batch),
            },
            (None, None) => self.route(Pack::signed(msg, ack, signer), batch),
        }
    }

    fn decode_and_route(
        &self,
        msg: Message,
        raw: Option<&[u8]>,
        decoder: &mut (dyn Decoder + 'static),
        (ack, signer): (Option<Ack>, Option<Arc<str>>),
        mut batch: Option<&mut Vec<Pack>>,
    ) -> Result<(), PluginError> {
        let mut out = DECODED.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
        out.clear();
        // The original is only needed again when failures are routed.
        let original = self.options.send_decode_failures.then(|| msg.clone());
        let result = decoder.decode(msg, raw, &mut out);
        let routed = match result {
            Ok(()) | Err(PluginError::Skip) => {
                let mut outcome = Ok(());
                let count = out.len();
                let mut ack = ack;
                if count == 0
                    && let Some(ack) = ack.take()
                {
                    // Decoders may drop a record on purpose.
                    ack.done();
                }
                for (i, decoded) in out.drain(..).enumerate() {
                    // Every decoded message holds the unit; the last one takes the
                    // input's own share.
                    let share = if i + 1 == count {
                        ack.take()
                    } else {
                        ack.clone()
                    };
                    let pack = Pack::signed(decoded, share, signer.clone());
                    if let Err(err) = self.route(pack, batch.as_deref_mut()) {
                        outcome = Err(err);
                    }
                }
                outcome
            }
            Err(PluginError::Failed(reason)) => {
                out.clear();
                match original {
                    Some(original) => self.decode_failed(original, &reason, ack, batch),
                    None => self.decode_failed_unrouted(&reason, ack),
                }
            }
            Err(PluginError::Fatal(reason)) => {
                out.clear();
                // `ack` is dropped: the record is abandoned with the decoder.
                Err(PluginError::Fatal(reason))
            }
        };
        DECODED.with(|cell| *cell.borrow_mut() = out);
        routed
    }

    fn decode_failed_unrouted(&self, reason: &str, ack: Option<Ack>) -> Result<(), PluginError> {
        self.stats.receiving_errors.inc();
        if self.options.log_decode_failures {
            tracing::warn!(input = %self.name, error = %reason, "decode failed; record dropped");
        }
        if let Some(ack) = ack {
            ack.done();
        }
        Ok(())
    }

    /// A record that did not decode: logged, and routed marked when asked to.
    fn decode_failed(
        &self,
        mut msg: Message,
        reason: &str,
        ack: Option<Ack>,
        batch: Option<&mut Vec<Pack>>,
    ) -> Result<(), PluginError> {
        if !self.options.send_decode_failures {
            return self.decode_failed_unrouted(reason, ack);
        }
        self.stats.receiving_errors.inc();
        if self.options.log_decode_failures {
            tracing::warn!(input = %self.name, error = %reason, "decode failed; routing the record marked as such");
        }
        msg.add_field("decode_failure", Value::Bool(true), "");
        msg.add_field(
            "decode_error",
            Value::String(truncate(reason, MAX_DECODE_ERROR_LEN).as_bytes().to_vec()),
            "",
        );
        self.route(Pack::new(msg, ack), batch)
    }

    /// Routes `pack` now, or keeps it in `batch` (which is routed when full).
    fn route(&self, pack: Pack, batch: Option<&mut Vec<Pack>>) -> Result<(), PluginError> {
        self.stats.sent_messages.inc();
        let Some(packs) = batch else {
            return self.routed(self.router.route(pack));
        };
        if packs.capacity() == 0 {
            // One allocation per batch, at its first message.
            packs.reserve_exact(MAX_ROUTE_BATCH);
        }
        packs.push(pack);
        if packs.len() >= MAX_ROUTE_BATCH {
            return self.routed(self.router.route_batch(packs));
        }
        Ok(())
    }

    fn routed(&self, routed: Routed) -> Result<(), PluginError> {
        match routed {
            Routed::Delivered => Ok(()),
            // A plugin that stopped on its own (can_exit) is not the input's problem.
            Routed::Lost if !self.router.abort_signal().is_raised() => Ok(()),
            Routed::Lost => Err(PluginError::Failed("aborted: hekad is stopping".to_owned())),
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes ending on a char boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Messages an input routes together: see the module doc. Made by
/// [`InputContext::batch`]; routes what it holds when dropped.
pub struct InputBatch<'c> {
    ctx: &'c InputContext,
    /// At most [`MAX_ROUTE_BATCH`]: routed when full.
    packs: Vec<Pack>,
}

impl InputBatch<'_> {
    /// [`InputContext::deliver`], routed with the rest of the batch.
    pub fn deliver(
        &mut self,
        msg: Message,
        raw: Option<&[u8]>,
        decoder: Option<&mut (dyn Decoder + 'static)>,
        ack: Option<Ack>,
    ) -> Result<(), PluginError> {
        self.ctx
            .deliver_to(msg, raw, decoder, (ack, None), Some(&mut self.packs))
    }

    /// Delivers every record `runner` holds complete (with `eof`, the stream has
    /// ended for good: see [`SplitRunner::next_final_record`]). Each record's message
    /// gets `headers` (see [`RecordHeaders`]) and, as Payload, the record's text — or,
    /// when the splitter uses message bytes, the record goes to the decoder as `raw`.
    /// With `units`, records are acknowledged in units (see [`AckUnits`]); without,
    /// they carry no ack. Returns how many records were delivered.
    ///
    /// Errors are [`InputContext::deliver`]'s; the records after the failing one stay
    /// in `runner`, and the unit then open is abandoned.
    pub fn deliver_records(
        &mut self,
        runner: &mut SplitRunner,
        eof: bool,
        mut decoder: Option<&mut (dyn Decoder + 'static)>,
        headers: &RecordHeaders<'_>,
        mut units: Option<&mut dyn AckUnits>,
    ) -> Result<usize, PluginError> {
        let message_bytes = runner.uses_message_bytes();
        let unit_bytes = units.as_ref().map_or(usize::MAX, |u| u.unit_bytes());
        // The unit now open: (ack, records, bytes of records).
        let mut unit: Option<(Ack, usize, usize)> = None;
        // One Timestamp for the records of one read, read at the first record.
        let mut now: Option<i64> = None;
        let mut delivered = 0;
        loop {
            let record = if eof {
                runner.next_final_record()
            } else {
                runner.next_record()
            };
            let Some(mut record) = record else { break };
            let signer = record.signer.take();
            let ack = match units.as_deref_mut() {
                Some(units) => {
                    let (ack, records, bytes) = unit.get_or_insert_with(|| (units.open(), 0, 0));
                    *records += 1;
                    *bytes += record.bytes.len();
                    Some(ack.clone())
                }
                None => None,
            };
            let timestamp = *now.get_or_insert_with(now_ns);
            let (msg, raw) = self.record_message(timestamp, headers, &record, message_bytes);
            let batch = Some(&mut self.packs);
            self.ctx
                .deliver_to(msg, raw, decoder.as_deref_mut(), (ack, signer), batch)?;
            delivered += 1;
            if unit
                .as_ref()
                .is_some_and(|(_, _, bytes)| *bytes >= unit_bytes)
            {
                close_unit(units.as_deref_mut(), unit.take(), runner);
            }
        }
        close_unit(units, unit, runner);
        Ok(delivered)
    }

    /// The message of `record`, and its bytes when they go to the decoder as `raw`.
    fn record_message<'r>(
        &self,
        timestamp: i64,
        headers: &RecordHeaders<'_>,
        record: &Record<'r>,
        message_bytes: bool,
    ) -> (Message, Option<&'r [u8]>) {
        let mut msg = self.ctx.record_message(timestamp, headers);
        if message_bytes {
            (msg, Some(record.bytes))
        } else {
            msg.payload = Some(record.payload());
            (msg, None)
        }
    }

    /// Routes what the batch holds. `Err(Failed)` when hekad is stopping and some
    /// message could not be routed (as [`InputContext::deliver`]).
    pub fn route(&mut self) -> Result<(), PluginError> {
        if self.packs.is_empty() {
            return Ok(());
        }
        self.ctx
            .routed(self.ctx.router.route_batch(&mut self.packs))
    }

    /// How many messages wait to be routed.
    pub fn len(&self) -> usize {
        self.packs.len()
    }

    /// Whether no message waits to be routed.
    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }
}

impl Drop for InputBatch<'_> {
    fn drop(&mut self) {
        // Nothing left behind; a routing error here means hekad is stopping and the
        // input is leaving anyway.
        let _ = self.route();
    }
}

/// Ends `unit` (if one is open): `units` notes it, then the input's share is done.
fn close_unit<U: AckUnits + ?Sized>(
    units: Option<&mut U>,
    unit: Option<(Ack, usize, usize)>,
    runner: &mut SplitRunner,
) {
    if let (Some(units), Some((ack, records, _))) = (units, unit) {
        units.closed(&ack, records, runner);
        ack.done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::test_support::{Record, settings};
    use crate::plugin::{SplitResult, Splitter};
    use crate::split::SplitOptions;
    use heka_message::FieldValue;

    fn typed(t: &str) -> Message {
        Message {
            r#type: Some(t.into()),
            ..Default::default()
        }
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate(&"x".repeat(600), 500).len(), 500);
    }

    struct NoSplit;
    impl Splitter for NoSplit {
        fn find_record(&mut self, _buf: &[u8], _eof: bool) -> SplitResult {
            SplitResult::NeedMore
        }
    }

    /// Splits the payload on ',' into messages; "bad" fails, "fatal" is fatal,
    /// "" yields nothing.
    struct CommaDecoder;
    impl Decoder for CommaDecoder {
        fn decode(
            &mut self,
            msg: Message,
            _raw: Option<&[u8]>,
            out: &mut Vec<Message>,
        ) -> crate::PluginResult {
            match msg.payload() {
                b"bad" => return Err(PluginError::Failed("not a comma list".into())),
                b"fatal" => return Err(PluginError::Fatal("decoder state lost".into())),
                b"" => return Ok(()),
                _ => {}
            }
            for part in msg.payload().split(|&b| b == b',') {
                let mut m = msg.clone();
                m.payload = Some(part.to_vec());
                out.push(m);
            }
            Ok(())
        }
    }

    fn input(send_failures: bool) -> (InputContext, crate::context::Collected) {
        let mut options = InputOptions::new(
            Arc::new(|| Box::new(NoSplit) as Box<dyn Splitter>),
            SplitOptions {
                max_record_size: 1024,
                keep_truncated: false,
                deliver_incomplete_final: false,
                min_buffer_size: 64,
            },
        );
        options.send_decode_failures = send_failures;
        options.decoder = Some(Arc::new(|| Ok(Box::new(CommaDecoder) as Box<dyn Decoder>)));
        options.hostname = Some("override".into());
        InputContext::collecting("in", settings(), options)
    }

    fn record(ctx: &InputContext, payload: &str) -> Message {
        let mut m = ctx.new_message();
        m.payload = Some(payload.into());
        m
    }

    #[test]
    fn deliver_decodes_into_several_messages_sharing_the_ack() {
        let (ctx, rx) = input(false);
        let sink = Arc::new(Record::default());
        let mut decoder = ctx.new_decoder().unwrap();
        let msg = record(&ctx, "a,b,c");
        assert_eq!(msg.logger(), "in");
        assert_eq!(msg.hostname(), "override");
        ctx.deliver(
            msg,
            None,
            Some(decoder.as_mut()),
            Some(Ack::new(1, sink.clone())),
        )
        .unwrap();
        let packs: Vec<Pack> = rx.try_iter().collect();
        let payloads: Vec<&[u8]> = packs.iter().map(|p| p.msg.payload()).collect();
        assert_eq!(payloads, vec![b"a", b"b", b"c"]);
        let mut packs = packs.into_iter();
        packs.next().unwrap().done();
        packs.next().unwrap().done();
        assert!(sink.0.lock().unwrap().is_empty());
        packs.next().unwrap().done();
        assert_eq!(*sink.0.lock().unwrap(), vec![(1, true)]);

        // Nothing decoded: done on purpose.
        ctx.deliver(
            record(&ctx, ""),
            None,
            Some(decoder.as_mut()),
            Some(Ack::new(2, sink.clone())),
        )
        .unwrap();
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(2, true)));
        assert_eq!(rx.len(), 0);
    }

    #[test]
    fn decode_failures_are_dropped_or_routed_marked() {
        let sink = Arc::new(Record::default());
        let (ctx, rx) = input(false);
        let mut decoder = ctx.new_decoder().unwrap();
        ctx.deliver(
            record(&ctx, "bad"),
            None,
            Some(decoder.as_mut()),
            Some(Ack::new(1, sink.clone())),
        )
        .unwrap();
        assert_eq!(rx.len(), 0);
        assert_eq!(*sink.0.lock().unwrap(), vec![(1, true)]);

        let (ctx, rx) = input(true);
        let mut decoder = ctx.new_decoder().unwrap();
        ctx.deliver(
            record(&ctx, "bad"),
            None,
            Some(decoder.as_mut()),
            Some(Ack::new(2, sink.clone())),
        )
        .unwrap();
        let pack = rx.try_recv().unwrap();
        assert_eq!(pack.msg.payload(), b"bad");
        assert_eq!(
            pack.msg.field_value("decode_failure", 0, 0),
            Some(FieldValue::Bool(true))
        );
        assert_eq!(
            pack.msg.field_value("decode_error", 0, 0),
            Some(FieldValue::String(b"not a comma list"))
        );

        let err = ctx.deliver(
            record(&ctx, "fatal"),
            None,
            Some(decoder.as_mut()),
            Some(Ack::new(3, sink.clone())),
        );
        assert_eq!(err, Err(PluginError::Fatal("decoder state lost".into())));
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(3, false)));
    }

    #[test]
    fn raw_framed_bytes_without_a_decoder_are_the_message() {
        let (ctx, rx) = input(true);
        let mut original = typed("from-the-wire");
        original.uuid = vec![7; 16];
        original.timestamp = 5;
        let mut bytes = Vec::new();
        heka_message::encode_message(&original, &mut bytes);
        ctx.deliver(ctx.new_message(), Some(&bytes), None, None)
            .unwrap();
        assert_eq!(*rx.try_recv().unwrap().msg, original);

        ctx.deliver(record(&ctx, "x"), Some(b"\xff\xff garbage"), None, None)
            .unwrap();
        let failed = rx.try_recv().unwrap();
        assert_eq!(failed.msg.payload(), b"x");
        assert_eq!(
            failed.msg.field_value("decode_failure", 0, 0),
            Some(FieldValue::Bool(true))
        );
    }

    // ---- batches ---------------------------------------------------------------

    /// Notes each closed unit: (ack id, records, runner offset).
    struct Units {
        sink: Arc<Record>,
        next: u64,
        closed: Vec<(u64, usize, u64)>,
    }

    impl AckUnits for Units {
        fn unit_bytes(&self) -> usize {
            10
        }
        fn open(&mut self) -> Ack {
            self.next += 1;
            Ack::new(self.next, self.sink.clone())
        }
        fn closed(&mut self, ack: &Ack, records: usize, runner: &mut SplitRunner) {
            self.closed.push((ack.id(), records, runner.offset()));
        }
    }

    fn lines() -> SplitRunner {
        SplitRunner::new(
            Box::new(crate::splitters::TokenSplitter::new(b'\n', 1)),
            SplitOptions::default(),
        )
    }

    #[test]
    fn deliver_records_routes_one_batch_acknowledged_in_units() {
        let (ctx, rx) = input(false);
        let sink = Arc::new(Record::default());
        let mut units = Units {
            sink: sink.clone(),
            next: 0,
            closed: Vec::new(),
        };
        let mut runner = lines();
        // 6-byte records: a unit of 10 bytes closes after every second record.
        runner.push(b"aaaaa\nbbbbb\nccccc\npartial");
        let headers = RecordHeaders {
            logger: "stream",
            r#type: Some("logfile"),
            hostname: "host",
        };
        let mut batch = ctx.batch();
        let n = batch
            .deliver_records(&mut runner, false, None, &headers, Some(&mut units))
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(batch.len(), 3);
        assert_eq!(rx.len(), 0, "nothing is routed before the batch is");
        assert_eq!(units.closed, vec![(1, 2, 12), (2, 1, 18)]);
        batch.route().unwrap();
        assert!(batch.is_empty());
        let packs: Vec<Pack> = rx.try_iter().collect();
        let payloads: Vec<&[u8]> = packs.iter().map(|p| p.msg.payload()).collect();
        assert_eq!(payloads, vec![&b"aaaaa\n"[..], b"bbbbb\n", b"ccccc\n"]);
        for p in &packs {
            assert_eq!(p.msg.logger(), "stream");
            assert_eq!(p.msg.r#type.as_deref(), Some("logfile"));
            assert_eq!(p.msg.hostname(), "host");
            assert_eq!(p.msg.pid, Some(9));
            assert_eq!(
                p.msg.timestamp, packs[0].msg.timestamp,
                "one clock read per call"
            );
        }
        assert_ne!(packs[0].msg.uuid, packs[1].msg.uuid);
        assert!(
            sink.0.lock().unwrap().is_empty(),
            "the routed copies hold the units"
        );
        for p in packs {
            p.done();
        }
        let mut got = sink.0.lock().unwrap().clone();
        got.sort();
        assert_eq!(got, vec![(1, true), (2, true)]);
        assert_eq!(runner.buffered(), b"partial".len());
    }

    #[test]
    fn a_batch_routes_when_full_and_when_dropped() {
        let (ctx, rx) = input(false);
        let mut batch = ctx.batch();
        for i in 0..MAX_ROUTE_BATCH + 3 {
            batch
                .deliver(record(&ctx, &i.to_string()), None, None, None)
                .unwrap();
        }
        assert_eq!(rx.len(), MAX_ROUTE_BATCH, "a full batch is routed at once");
        assert_eq!(batch.len(), 3);
        drop(batch);
        let payloads: Vec<Vec<u8>> = rx.try_iter().map(|p| p.msg.payload().to_owned()).collect();
        assert_eq!(
            payloads.len(),
            MAX_ROUTE_BATCH + 3,
            "dropping routes the rest"
        );
        assert_eq!(payloads.last().map(Vec::as_slice), Some(&b"258"[..]));
    }

    #[test]
    fn final_records_and_decoders_go_through_the_batch() {
        let (ctx, rx) = input(false);
        let mut decoder = ctx.new_decoder().unwrap();
        let mut runner = SplitRunner::new(
            Box::new(crate::splitters::TokenSplitter::new(b'\n', 1)),
            SplitOptions {
                deliver_incomplete_final: true,
                ..SplitOptions::default()
            },
        );
        runner.push(b"x,y\nz");
        let mut batch = ctx.batch();
        let n = batch
            .deliver_records(
                &mut runner,
                true,
                Some(decoder.as_mut()),
                &ctx.headers(),
                None,
            )
            .unwrap();
        assert_eq!(n, 2);
        batch.route().unwrap();
        let packs: Vec<Pack> = rx.try_iter().collect();
        let payloads: Vec<&[u8]> = packs.iter().map(|p| p.msg.payload()).collect();
        assert_eq!(payloads, vec![&b"x"[..], b"y\n", b"z"]);
        assert_eq!(packs[0].msg.logger(), "in");
        assert_eq!(packs[0].msg.hostname(), "override");
        assert_eq!(packs[0].msg.r#type, None);
    }
}
