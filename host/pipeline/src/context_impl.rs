//! The runner-side state behind [`crate::InputContext`] and [`crate::FilterContext`]:
//! message stamping, decoding and routing for inputs; injection limits and the
//! acknowledgement bookkeeping of filters.
//!
//! Filter acks follow one rule (issue 7): a filter holds the acks of every message it
//! has seen since its last injection; the next injection carries them (a clone to each
//! message injected by the same call), so an input record counts as delivered only once
//! what the filter made of it is delivered. A call that injects nothing keeps holding,
//! except a timer event (or, for a filter without a ticker, a whole batch) that injects
//! nothing: then the filter has consumed those messages for good and their acks are
//! done. Failed messages' acks are done at once (dropped on purpose, counted, logged).

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use heka_message::{Matcher, Message, Value};
use rand::RngCore;

use crate::ack::Ack;
use crate::context::InjectError;
use crate::pack::{Acks, Pack};
use crate::plugin::{Decoder, PluginError};
use crate::router::{Routed, Router};
use crate::settings::{InputOptions, Settings};
use crate::split::SplitRunner;
use crate::stop::StopSignal;

/// Heka caps the `decode_error` field of a routed decode failure at 500 bytes.
const MAX_DECODE_ERROR_LEN: usize = 500;

/// A fresh random (v4) UUID. Uses the thread's fast RNG rather than a syscall per
/// message; uniqueness, not secrecy, is what a message id needs.
pub(crate) fn new_uuid() -> Vec<u8> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .as_uuid()
        .as_bytes()
        .to_vec()
}

/// Now, in ns since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A message with the headers Heka's pools give a fresh pack.
pub(crate) fn stamped_message(logger: &str, hostname: &str, pid: i32) -> Message {
    Message {
        uuid: new_uuid(),
        timestamp: now_ns(),
        logger: Some(logger.to_owned()),
        hostname: Some(hostname.to_owned()),
        pid: Some(pid),
        ..Default::default()
    }
}

thread_local! {
    /// Packs an input collects for routing as batches (`Some` while collecting).
    static COLLECTED: RefCell<Option<Vec<Pack>>> = const { RefCell::new(None) };
    /// Decoder output buffer, reused so that decoding a record allocates no Vec.
    /// Thread-local (not a field) so an [`crate::InputContext`] stays `Sync` and can be
    /// shared by an input's connection threads.
    static DECODED: RefCell<Vec<Message>> = const { RefCell::new(Vec::new()) };
}

/// What an input's context needs: routing, stamping and its decoding options.
#[derive(Clone)]
pub(crate) struct InputInner {
    pub(crate) router: Arc<Router>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) options: InputOptions,
    pub(crate) name: Arc<str>,
    pub(crate) stats: Arc<crate::stats::PluginStats>,
}

impl InputInner {
    pub(crate) fn new_message(&self, logger: &str, hostname: &str) -> Message {
        stamped_message(logger, hostname, self.settings.pid)
    }

    pub(crate) fn new_split_runner(&self) -> SplitRunner {
        SplitRunner::new((self.options.splitter)(), self.options.split.clone())
    }

    pub(crate) fn new_decoder(&self) -> Option<Box<dyn Decoder>> {
        let factory = self.options.decoder.as_ref()?;
        match factory() {
            Ok(decoder) => Some(decoder),
            Err(err) => {
                // The factory was tried once at config time; a later failure leaves
                // this stream undecoded rather than stopping the input.
                tracing::error!(input = %self.name, error = %err, "cannot create a decoder instance");
                None
            }
        }
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.settings.max_message_size
    }

    pub(crate) fn deliver(
        &self,
        msg: Message,
        raw: Option<&[u8]>,
        decoder: Option<&mut (dyn Decoder + 'static)>,
        ack: Option<Ack>,
    ) -> Result<(), PluginError> {
        match (decoder, raw) {
            (Some(decoder), _) => self.decode_and_route(msg, raw, decoder, ack),
            // Framed protobuf records with no decoder configured: the record *is* the
            // message (what ProtobufDecoder would do), the input's stamp is discarded.
            (None, Some(bytes)) => match heka_message::decode_message(bytes) {
                Ok(decoded) => self.route(Pack::new(decoded, ack)),
                Err(err) => self.decode_failed(msg, &err.to_string(), ack),
            },
            (None, None) => self.route(Pack::new(msg, ack)),
        }
    }

    fn decode_and_route(
        &self,
        msg: Message,
        raw: Option<&[u8]>,
        decoder: &mut (dyn Decoder + 'static),
        ack: Option<Ack>,
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
                    if let Err(err) = self.route(Pack::new(decoded, share)) {
                        outcome = Err(err);
                    }
                }
                outcome
            }
            Err(PluginError::Failed(reason)) => {
                out.clear();
                match original {
                    Some(original) => self.decode_failed(original, &reason, ack),
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
            Value::String(truncate(reason, MAX_DECODE_ERROR_LEN).to_owned()),
            "",
        );
        self.route(Pack::new(msg, ack))
    }

    fn route(&self, pack: Pack) -> Result<(), PluginError> {
        self.stats.sent_messages.inc();
        let collected = COLLECTED.with_borrow_mut(|c| match c {
            Some(packs) => {
                packs.push(pack);
                Ok(packs.len() >= crate::router::MAX_ROUTE_BATCH)
            }
            None => Err(pack),
        });
        match collected {
            Ok(true) => self.route_collected(true),
            Ok(false) => Ok(()),
            Err(pack) => self.routed(self.router.route(pack)),
        }
    }

    /// Starts collecting, on this thread, what [`Self::route`] is given, so that
    /// [`Self::route_collected`] routes it as batches.
    pub(crate) fn collect_routes(&self) {
        COLLECTED.with_borrow_mut(|c| {
            c.get_or_insert_with(|| Vec::with_capacity(crate::router::MAX_ROUTE_BATCH));
        });
    }

    /// Routes what was collected; `keep_collecting` leaves collection on.
    pub(crate) fn route_collected(&self, keep_collecting: bool) -> Result<(), PluginError> {
        let Some(mut packs) = COLLECTED.with_borrow_mut(Option::take) else {
            return Ok(());
        };
        let routed = self.router.route_batch(&mut packs);
        if keep_collecting {
            COLLECTED.with_borrow_mut(|c| *c = Some(packs));
        }
        self.routed(routed)
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

/// Which kind of call the filter is in (the injection limit differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Message,
    Timer,
}

/// A filter's injection limits, current call, held acks and pending injections.
pub(crate) struct FilterInner {
    name: Arc<str>,
    hostname: String,
    pid: i32,
    /// The filter's own matcher: an injection it matches would loop (Heka: circular).
    matcher: Option<Matcher>,
    max_loops: u8,
    max_process_inject: usize,
    max_timer_inject: usize,
    /// Raised when hekad stops at once: injections are refused as `Aborted`.
    abort: Option<StopSignal>,

    call: Call,
    current_loops: u8,
    injected_this_call: usize,
    /// The current unit (message or timer call) injected at least once.
    unit_injected: bool,
    /// Some injection happened during the current batch.
    batch_injected: bool,
    /// Acks of messages seen since the last injection.
    held: Vec<Ack>,
    /// The current batch's acks (taken out of its packs), until the filter reaches them.
    batch_acks: Vec<Acks>,
    batch_loops: Vec<u8>,
    /// Injections waiting to be routed after the current call.
    injected: Vec<Pack>,
    pub(crate) failures: u64,
}

impl FilterInner {
    pub(crate) fn new(
        name: Arc<str>,
        settings: &Settings,
        matcher: Option<Matcher>,
        abort: Option<StopSignal>,
    ) -> FilterInner {
        FilterInner {
            name,
            hostname: settings.hostname.clone(),
            pid: settings.pid,
            matcher,
            // Heka: 0 is treated as 1.
            max_loops: settings.max_message_loops.max(1),
            max_process_inject: settings.max_process_inject,
            max_timer_inject: settings.max_timer_inject,
            abort,
            call: Call::Message,
            current_loops: 0,
            injected_this_call: 0,
            unit_injected: false,
            batch_injected: false,
            held: Vec::new(),
            batch_acks: Vec::new(),
            batch_loops: Vec::new(),
            injected: Vec::new(),
            failures: 0,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn hostname(&self) -> &str {
        &self.hostname
    }

    pub(crate) fn new_message(&self) -> Message {
        stamped_message(&self.name, &self.hostname, self.pid)
    }

    pub(crate) fn inject(&mut self, msg: Message) -> Result<(), InjectError> {
        if self.abort.as_ref().is_some_and(StopSignal::is_raised) {
            return Err(InjectError::Aborted);
        }
        let limit = match self.call {
            Call::Message => self.max_process_inject,
            Call::Timer => self.max_timer_inject,
        };
        if self.injected_this_call >= limit {
            return Err(InjectError::TooMany { limit });
        }
        if self.current_loops >= self.max_loops {
            return Err(InjectError::TooManyLoops {
                limit: self.max_loops as usize,
            });
        }
        if self.matcher.as_ref().is_some_and(|m| m.matches(&msg)) {
            return Err(InjectError::Circular);
        }
        self.injected_this_call += 1;
        self.unit_injected = true;
        self.batch_injected = true;
        self.injected.push(Pack {
            msg: Arc::new(msg),
            loops: self.current_loops + 1,
            acks: self.held.iter().cloned().collect(),
        });
        Ok(())
    }

    pub(crate) fn begin_message(&mut self, index: usize) {
        self.end_unit();
        self.call = Call::Message;
        self.injected_this_call = 0;
        self.current_loops = self.batch_loops.get(index).copied().unwrap_or(0);
        if let Some(acks) = self.batch_acks.get_mut(index) {
            crate::ack::hold(&mut self.held, acks.drain(..));
        }
    }

    pub(crate) fn message_failed(&mut self, index: usize, reason: String) {
        self.failures += 1;
        tracing::warn!(filter = %self.name, index, error = %reason, "process_message failed; message dropped");
        // Not reached yet by begin_message: done now. Already held: those acks go
        // with the next injection or timer, which also ends them; nothing is lost.
        if let Some(acks) = self.batch_acks.get_mut(index) {
            for ack in acks.drain(..) {
                ack.done();
            }
        }
    }

    /// The unit (message or timer call) is over: if it injected, the injections now
    /// hold every held ack, so the filter's own shares are finished.
    fn end_unit(&mut self) {
        if self.unit_injected {
            self.release_held();
            self.unit_injected = false;
        }
    }

    fn release_held(&mut self) {
        for ack in self.held.drain(..) {
            ack.done();
        }
    }

    /// Runner: a batch is about to be processed; takes its acks and loop counts.
    pub(crate) fn start_batch(&mut self, batch: &mut [Pack]) {
        self.batch_acks.clear();
        self.batch_loops.clear();
        for pack in batch.iter_mut() {
            self.batch_acks.push(std::mem::take(&mut pack.acks));
            self.batch_loops.push(pack.loops);
        }
        self.call = Call::Message;
        self.injected_this_call = 0;
        self.unit_injected = false;
        self.batch_injected = false;
        self.current_loops = 0;
    }

    /// Runner: the batch was processed. Messages the filter never announced with
    /// `begin_message` count as seen. A filter without a ticker that injected nothing
    /// in the whole batch has consumed the batch for good.
    pub(crate) fn end_batch(&mut self, has_ticker: bool) {
        self.end_unit();
        for acks in self.batch_acks.iter_mut() {
            crate::ack::hold(&mut self.held, acks.drain(..));
        }
        self.batch_acks.clear();
        if !has_ticker && !self.batch_injected {
            self.release_held();
        }
    }

    /// Runner: a timer event is about to run.
    pub(crate) fn start_timer(&mut self) {
        self.end_unit();
        self.call = Call::Timer;
        self.injected_this_call = 0;
        self.unit_injected = false;
        // A timer's injections start a new chain (loop count 1).
        self.current_loops = 0;
    }

    /// Runner: the timer event returned. One that injected nothing ends the held acks.
    pub(crate) fn end_timer(&mut self) {
        if self.unit_injected {
            self.end_unit();
        } else {
            self.release_held();
        }
        self.call = Call::Message;
    }

    /// Runner: the injections of the last call, to be routed.
    pub(crate) fn take_injected(&mut self) -> std::vec::Drain<'_, Pack> {
        self.injected.drain(..)
    }

    /// The filter stops or dies: what it still holds is abandoned (its input records
    /// will be read again rather than lost).
    pub(crate) fn abandon_held(&mut self) {
        self.held.clear();
        self.batch_acks.clear();
        self.injected.clear();
    }

    /// How many acks the filter holds.
    #[cfg(test)]
    pub(crate) fn held_count(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::AckSink;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Record(Mutex<Vec<(u64, bool)>>);
    impl AckSink for Record {
        fn completed(&self, id: u64, delivered: bool) {
            self.0.lock().unwrap().push((id, delivered));
        }
    }

    fn settings() -> Settings {
        Settings {
            hostname: "h".into(),
            pid: 9,
            ..Settings::default()
        }
    }

    fn packs(sink: &Arc<Record>, ids: &[u64], loops: u8) -> Vec<Pack> {
        ids.iter()
            .map(|&id| {
                let mut p = Pack::new(Message::default(), Some(Ack::new(id, sink.clone())));
                p.loops = loops;
                p
            })
            .collect()
    }

    fn typed(t: &str) -> Message {
        Message {
            r#type: Some(t.into()),
            ..Default::default()
        }
    }

    #[test]
    fn stamps_fresh_messages() {
        let m = stamped_message("in", "host", 42);
        assert_eq!(m.uuid.len(), 16);
        assert_eq!(m.uuid[6] >> 4, 4, "version 4");
        assert_ne!(m.uuid, stamped_message("in", "host", 42).uuid);
        assert!(m.timestamp > 1_600_000_000_000_000_000);
        assert_eq!(m.logger.as_deref(), Some("in"));
        assert_eq!(m.hostname.as_deref(), Some("host"));
        assert_eq!(m.pid, Some(42));
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate(&"x".repeat(600), 500).len(), 500);
    }

    #[test]
    fn inject_limits_per_message_and_timer() {
        let mut f = FilterInner::new("f".into(), &settings(), None, None);
        let mut batch = packs(&Arc::new(Record::default()), &[1, 2], 0);
        f.start_batch(&mut batch);
        f.begin_message(0);
        assert_eq!(f.inject(typed("a")), Ok(()));
        assert_eq!(f.inject(typed("a")), Err(InjectError::TooMany { limit: 1 }));
        f.begin_message(1);
        assert_eq!(f.inject(typed("a")), Ok(()), "the limit is per message");
        f.end_batch(false);
        assert_eq!(f.take_injected().count(), 2);

        f.start_timer();
        for _ in 0..10 {
            assert_eq!(f.inject(typed("t")), Ok(()));
        }
        assert_eq!(
            f.inject(typed("t")),
            Err(InjectError::TooMany { limit: 10 })
        );
        f.end_timer();
        let loops: Vec<u8> = f.take_injected().map(|p| p.loops).collect();
        assert_eq!(loops, vec![1; 10]);
    }

    #[test]
    fn loop_limit_and_circular_injection_are_refused() {
        let matcher = Matcher::parse("Type == 'loop'").unwrap();
        let mut f = FilterInner::new("f".into(), &settings(), Some(matcher), None);
        let sink = Arc::new(Record::default());
        let mut batch = packs(&sink, &[1], 3);
        batch.extend(packs(&sink, &[2], 4));
        f.start_batch(&mut batch);
        f.begin_message(0);
        assert_eq!(f.inject(typed("loop")), Err(InjectError::Circular));
        assert_eq!(f.inject(typed("other")), Ok(()));
        f.begin_message(1);
        assert_eq!(
            f.inject(typed("other")),
            Err(InjectError::TooManyLoops { limit: 4 })
        );
        f.end_batch(true);
        let loops: Vec<u8> = f.take_injected().map(|p| p.loops).collect();
        assert_eq!(loops, vec![4]);

        let abort = StopSignal::new();
        let mut f = FilterInner::new("f".into(), &settings(), None, Some(abort.clone()));
        abort.raise();
        f.start_timer();
        assert_eq!(f.inject(typed("x")), Err(InjectError::Aborted));
    }

    #[test]
    fn held_acks_travel_with_the_next_injection() {
        let sink = Arc::new(Record::default());
        let mut f = FilterInner::new("f".into(), &settings(), None, None);
        let mut batch = packs(&sink, &[1, 2], 0);
        f.start_batch(&mut batch);
        f.begin_message(0);
        f.begin_message(1);
        f.end_batch(true);
        assert_eq!(
            f.held_count(),
            2,
            "a filter with a ticker holds what it saw"
        );
        assert!(sink.0.lock().unwrap().is_empty());

        f.start_timer();
        f.inject(typed("report")).unwrap();
        f.inject(typed("report2")).unwrap();
        f.end_timer();
        assert_eq!(f.held_count(), 0);
        let injected: Vec<Pack> = f.take_injected().collect();
        assert!(
            sink.0.lock().unwrap().is_empty(),
            "both injections hold units 1 and 2"
        );
        let mut injected = injected.into_iter();
        injected.next().unwrap().done();
        assert!(sink.0.lock().unwrap().is_empty());
        injected.next().unwrap().done();
        let mut got = sink.0.lock().unwrap().clone();
        got.sort();
        assert_eq!(got, vec![(1, true), (2, true)]);
    }

    #[test]
    fn quiet_timer_or_tickerless_batch_releases_and_failures_are_done() {
        let sink = Arc::new(Record::default());
        let mut f = FilterInner::new("f".into(), &settings(), None, None);
        let mut batch = packs(&sink, &[1, 2], 0);
        f.start_batch(&mut batch);
        f.begin_message(0);
        f.message_failed(1, "bad".into());
        assert_eq!(*sink.0.lock().unwrap(), vec![(2, true)]);
        f.end_batch(true);
        f.start_timer();
        f.end_timer();
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(1, true)));
        assert_eq!(f.failures, 1);

        let mut batch = packs(&sink, &[3], 0);
        f.start_batch(&mut batch);
        f.begin_message(0);
        f.end_batch(false);
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(3, true)));

        let mut batch = packs(&sink, &[4], 0);
        f.start_batch(&mut batch);
        f.end_batch(true);
        f.abandon_held();
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(4, false)));
    }

    // ---- inputs: deliver ------------------------------------------------------

    use crate::context::InputContext;
    use crate::plugin::{SplitResult, Splitter};
    use crate::settings::InputOptions;
    use crate::split::SplitOptions;
    use heka_message::FieldValue;

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
                "bad" => return Err(PluginError::Failed("not a comma list".into())),
                "fatal" => return Err(PluginError::Fatal("decoder state lost".into())),
                "" => return Ok(()),
                _ => {}
            }
            for part in msg.payload().split(',') {
                let mut m = msg.clone();
                m.payload = Some(part.to_owned());
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
        let payloads: Vec<&str> = packs.iter().map(|p| p.msg.payload()).collect();
        assert_eq!(payloads, vec!["a", "b", "c"]);
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
        assert_eq!(pack.msg.payload(), "bad");
        assert_eq!(
            pack.msg.field_value("decode_failure", 0, 0),
            Some(FieldValue::Bool(true))
        );
        assert_eq!(
            pack.msg.field_value("decode_error", 0, 0),
            Some(FieldValue::String("not a comma list"))
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
        assert_eq!(failed.msg.payload(), "x");
        assert_eq!(
            failed.msg.field_value("decode_failure", 0, 0),
            Some(FieldValue::Bool(true))
        );
    }
}
