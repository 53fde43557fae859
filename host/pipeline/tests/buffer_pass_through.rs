//! A buffered output (`use_buffering`) whose encoder writes Heka protobuf
//! (`Encoder::writes_heka_protobuf`, the ProtobufEncoder) is handed the disk buffer's
//! records as they are, without the encoder being called: byte for byte what the
//! encoder and the framing make of the message the output is given, framed or not.
//! An encoder that does not say so, and records an earlier run left in the buffer,
//! still go through `encode`.
//!
//! Waits are bounded polls; nothing asserts on timing.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use heka_message::{Matcher, Message, Value};
use heka_pipeline::{
    Ack, AckSink, BufferOptions, Encoder, ExitStatus, Input, InputContext, InputOptions, Output,
    OutputError, OutputOptions, PipelineBuilder, PluginError, PluginResult, RetryOptions, Settings,
    SplitOptions, SplitResult, Splitter,
};

const MAX: usize = heka_message::DEFAULT_MAX_MESSAGE_SIZE;

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

struct NoSplit;
impl Splitter for NoSplit {
    fn find_record(&mut self, _buf: &[u8], _eof: bool) -> SplitResult {
        SplitResult::NeedMore
    }
}

/// Counts acknowledged messages (a buffered output acknowledges what it queued).
#[derive(Default)]
struct Acked(AtomicUsize);
impl AckSink for Acked {
    fn completed(&self, _id: u64, delivered: bool) {
        if delivered {
            self.0.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// Routes message `n` for each number fed: a type, a payload and fields of several
/// kinds, so that the encoding is not trivial.
struct FeedInput(Receiver<u64>, Arc<Acked>);
impl Input for FeedInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        loop {
            select! {
                recv(self.0) -> n => match n {
                    Ok(n) => {
                        let mut msg = ctx.new_message();
                        msg.r#type = Some("pass".into());
                        msg.severity = Some(n as i32 % 8);
                        msg.payload = Some(format!("line {n} {}", "x".repeat(n as usize % 50)).into());
                        msg.add_field("n", Value::Integer(n as i64), "count");
                        msg.add_field("ratio", Value::Double(n as f64 / 3.0), "");
                        msg.add_field("tag", Value::String(format!("t{n}").into_bytes()), "");
                        msg.add_field("ok", Value::Bool(n % 2 == 0), "");
                        ctx.deliver(msg, None, None, Some(Ack::new(n, self.1.clone())))?;
                    }
                    Err(_) => return Ok(()),
                },
                recv(ctx.stop.receiver()) -> _ => return Ok(()),
            }
        }
    }
}

/// Heka protobuf, counting its calls; `protobuf` is what it says of itself.
struct Counted {
    protobuf: bool,
    calls: Arc<AtomicUsize>,
}
impl Encoder for Counted {
    fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) -> PluginResult {
        self.calls.fetch_add(1, Ordering::AcqRel);
        heka_message::encode_message(msg, out);
        Ok(())
    }
    fn writes_heka_protobuf(&self) -> bool {
        self.protobuf
    }
}

/// What an output was given: the message and the bytes.
type Sent = Arc<Mutex<Vec<(Message, Vec<u8>)>>>;

/// Keeps what it is sent; while `refuse` it asks for every message again.
struct Capture {
    sent: Sent,
    refuse: bool,
}
impl Output for Capture {
    fn send(&mut self, msg: &Message, payload: &[u8]) -> Result<(), OutputError> {
        if self.refuse {
            return Err(OutputError::Retry {
                reason: "refused".into(),
                after: None,
            });
        }
        self.sent
            .lock()
            .unwrap()
            .push((msg.clone(), payload.to_vec()));
        Ok(())
    }
}

struct Run {
    feed: Sender<u64>,
    acked: Arc<Acked>,
    sent: Sent,
    calls: Arc<AtomicUsize>,
    pipeline: heka_pipeline::Pipeline,
}

fn start(dir: &Path, protobuf: bool, framing: bool, refuse: bool) -> Run {
    let (feed, rx) = crossbeam_channel::unbounded();
    let acked = Arc::new(Acked::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let mut options = OutputOptions::new(Matcher::parse("TRUE").unwrap());
    let counted = calls.clone();
    options.encoder = Some(Arc::new(move || {
        Ok(Box::new(Counted {
            protobuf,
            calls: counted.clone(),
        }) as Box<dyn Encoder>)
    }));
    options.use_framing = framing;
    options.buffering = Some(BufferOptions::new(dir));
    options.retries = RetryOptions {
        delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
        max_jitter: Duration::ZERO,
        max_retries: -1,
    };
    let sent = Sent::default();
    let output = Capture {
        sent: sent.clone(),
        refuse,
    };
    let mut b = PipelineBuilder::new(Settings::default());
    b.add_input(
        "in",
        Box::new(FeedInput(rx, acked.clone())),
        InputOptions::new(Arc::new(|| Box::new(NoSplit)), SplitOptions::default()),
    )
    .add_output("out", Box::new(output), options);
    Run {
        feed,
        acked,
        sent,
        calls,
        pipeline: b.start().unwrap(),
    }
}

impl Run {
    fn feed(&self, numbers: std::ops::Range<u64>) {
        for n in numbers {
            self.feed.send(n).unwrap();
        }
    }

    /// Waits for `n` messages sent, stops, returns them.
    fn finish(self, n: usize) -> (Vec<(Message, Vec<u8>)>, usize) {
        eventually(&format!("{n} sent"), || {
            self.sent.lock().unwrap().len() >= n
        });
        self.pipeline.shutdown();
        assert_eq!(self.pipeline.wait(), ExitStatus::Clean);
        let sent = std::mem::take(&mut *self.sent.lock().unwrap());
        (sent, self.calls.load(Ordering::Acquire))
    }
}

/// What the encoder and the runner's framing make of `msg`.
fn encoded(msg: &Message, framing: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    heka_message::encode_message(msg, &mut bytes);
    if !framing {
        return bytes;
    }
    let mut framed = Vec::new();
    heka_message::frame_message(&bytes, MAX, &mut framed).unwrap();
    framed
}

/// Every payload is byte for byte the encoding of the message sent with it, and the
/// messages are 0..n in order.
fn assert_encodings(sent: &[(Message, Vec<u8>)], framing: bool, n: u64) {
    assert_eq!(sent.len() as u64, n);
    for (i, (msg, payload)) in sent.iter().enumerate() {
        assert!(msg.payload().starts_with(format!("line {i} ").as_bytes()));
        assert_eq!(payload, &encoded(msg, framing), "message {i}: {msg:?}");
    }
}

#[test]
fn a_protobuf_encoders_output_is_sent_the_records_bytes_without_encoding() {
    for framing in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let run = start(tmp.path(), true, framing, false);
        run.feed(0..200);
        let (sent, calls) = run.finish(200);
        assert_encodings(&sent, framing, 200);
        assert_eq!(calls, 0, "framing {framing}: the encoder was called");
    }
}

#[test]
fn an_encoder_that_does_not_write_heka_protobuf_is_called_for_every_message() {
    let tmp = tempfile::tempdir().unwrap();
    let run = start(tmp.path(), false, true, false);
    run.feed(0..50);
    let (sent, calls) = run.finish(50);
    assert_encodings(&sent, true, 50);
    assert_eq!(calls, 50);
}

#[test]
fn records_an_earlier_run_left_go_through_the_encoder() {
    let tmp = tempfile::tempdir().unwrap();
    // The first run's output refuses everything: its 30 records stay on disk.
    let run = start(tmp.path(), true, true, true);
    run.feed(0..30);
    eventually("30 queued", || run.acked.0.load(Ordering::Acquire) == 30);
    let (sent, _) = run.finish(0);
    assert!(sent.is_empty());
    // The next run encodes those (another build may have written them) and sends
    // the records it writes itself as they are.
    let run = start(tmp.path(), true, true, false);
    eventually("the earlier run's records sent", || {
        run.sent.lock().unwrap().len() >= 30
    });
    run.feed(30..50);
    let (sent, calls) = run.finish(50);
    assert_encodings(&sent, true, 50);
    assert_eq!(calls, 30);
}
