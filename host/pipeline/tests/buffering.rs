//! Disk buffering (`use_buffering`) end to end, through a real pipeline with queue
//! files in temp dirs: an outage followed by recovery delivers everything in order with
//! bounded memory, a slow buffered output does not hold up a second one, the three
//! `full_action`s, and a restart delivering what the previous run left on disk.
//!
//! Waits are bounded polls; nothing asserts on timing (a feeder paces its messages
//! with sleeps, which is load generation, not waiting). The 60 s outage variant is
//! `#[ignore]`d: `cargo test -p heka-pipeline --test buffering -- --ignored --nocapture`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, select};
use heka_message::{Matcher, Message};
use heka_pipeline::{
    Ack, AckSink, BufferOptions, ExitStatus, FullAction, Input, InputContext, InputOptions, Output,
    OutputError, OutputOptions, PipelineBuilder, PluginError, RetryOptions, Settings, SplitOptions,
    SplitResult, Splitter,
};

// ---- helpers ---------------------------------------------------------------------

fn settings() -> Settings {
    Settings {
        hostname: "test-host".into(),
        pid: 4242,
        ..Settings::default()
    }
}

/// Polls `cond` for up to `secs` seconds.
fn eventually_within(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn eventually(what: &str, cond: impl FnMut() -> bool) {
    eventually_within(20, what, cond)
}

struct NoSplit;
impl Splitter for NoSplit {
    fn find_record(&mut self, _buf: &[u8], _eof: bool) -> SplitResult {
        SplitResult::NeedMore
    }
}

fn input_options() -> InputOptions {
    InputOptions::new(
        Arc::new(|| Box::new(NoSplit) as Box<dyn Splitter>),
        SplitOptions {
            max_record_size: 65536,
            keep_truncated: false,
            deliver_incomplete_final: false,
            min_buffer_size: 8192,
        },
    )
}

/// Counts acknowledgement verdicts.
#[derive(Default)]
struct AckCount {
    delivered: AtomicU64,
    abandoned: AtomicU64,
}
impl AckSink for AckCount {
    fn completed(&self, _id: u64, delivered: bool) {
        if delivered {
            self.delivered.fetch_add(1, Ordering::AcqRel);
        } else {
            self.abandoned.fetch_add(1, Ordering::AcqRel);
        }
    }
}
impl AckCount {
    fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Acquire)
    }
    fn abandoned(&self) -> u64 {
        self.abandoned.load(Ordering::Acquire)
    }
}

/// Routes numbered messages the test feeds it (payload = the number, padded).
struct FeedInput(Receiver<u64>, Arc<AckCount>);
impl Input for FeedInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        loop {
            select! {
                recv(self.0) -> item => match item {
                    Ok(n) => {
                        let mut msg = ctx.new_message();
                        msg.r#type = Some("seq".into());
                        msg.payload = Some(format!("{n:010} {}", "p".repeat(180)).into());
                        let ack = Ack::new(n, self.1.clone());
                        ctx.deliver(msg, None, None, Some(ack))?;
                    }
                    Err(_) => return Ok(()),
                },
                recv(ctx.stop.receiver()) -> _ => return Ok(()),
            }
        }
    }
}

/// A feeder with a small bounded channel: if the pipeline stalled, the feeder would
/// block too (so nothing piles up in the test itself).
fn feed_input(acks: &Arc<AckCount>) -> (Sender<u64>, Box<dyn Input>) {
    let (tx, rx) = crossbeam_channel::bounded(64);
    (tx, Box::new(FeedInput(rx, acks.clone())))
}

fn number(msg: &Message) -> u64 {
    msg.payload()
        .get(..10)
        .and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())
        .expect("numbered payload")
}

/// What an output received, in order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<u64>>>);
impl Received {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn get(&self) -> Vec<u64> {
        self.0.lock().unwrap().clone()
    }
}

/// Asks to retry while `down` is set; records what it accepts. `sends` counts
/// attempts (to see that it was really tried during the outage).
struct FlakyOutput {
    down: Arc<AtomicBool>,
    got: Received,
    sends: Arc<AtomicU64>,
    /// Also ask to retry every n-th attempt (0 = never): intermittent failures.
    fail_every: u64,
}
impl Output for FlakyOutput {
    fn send(&mut self, msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        let attempt = self.sends.fetch_add(1, Ordering::Relaxed) + 1;
        if self.fail_every > 0 && attempt.is_multiple_of(self.fail_every) {
            return Err(OutputError::Retry {
                reason: "intermittent failure (test)".into(),
                after: Some(Duration::from_millis(1)),
            });
        }
        if self.down.load(Ordering::Acquire) {
            return Err(OutputError::Retry {
                reason: "receiver down (test)".into(),
                after: Some(Duration::from_millis(20)),
            });
        }
        self.got.0.lock().unwrap().push(number(msg));
        Ok(())
    }
}

struct Flaky {
    down: Arc<AtomicBool>,
    got: Received,
    sends: Arc<AtomicU64>,
}
fn flaky_output(down: bool) -> (Flaky, Box<dyn Output>) {
    let flaky = Flaky {
        down: Arc::new(AtomicBool::new(down)),
        got: Received::default(),
        sends: Arc::new(AtomicU64::new(0)),
    };
    let output = Box::new(FlakyOutput {
        down: flaky.down.clone(),
        got: flaky.got.clone(),
        sends: flaky.sends.clone(),
        fail_every: 0,
    });
    (flaky, output)
}

/// Answers each message after `delay` (a slow receiver), sooner once `release` is
/// dropped by the test.
struct SlowOutput {
    delay: Duration,
    release: Receiver<()>,
    got: Received,
}
impl Output for SlowOutput {
    fn send(&mut self, msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        match self.release.recv_timeout(self.delay) {
            Ok(()) | Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
        }
        self.got.0.lock().unwrap().push(number(msg));
        Ok(())
    }
}

fn fast_retries() -> RetryOptions {
    RetryOptions {
        delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_jitter: Duration::ZERO,
        max_retries: -1,
    }
}

fn buffered(base: &Path, tweak: impl FnOnce(&mut BufferOptions)) -> OutputOptions {
    let mut options = OutputOptions::new(Matcher::parse("Type == 'seq'").unwrap());
    options.retries = fast_retries();
    let mut buffering = BufferOptions::new(base);
    tweak(&mut buffering);
    options.buffering = Some(buffering);
    options
}

/// Bytes in the `.log` segments of a queue directory.
fn queue_bytes(base: &Path, output: &str) -> u64 {
    let dir = heka_pipeline::queue_dir(base, output);
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The process's resident set size in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn assert_in_order(got: &[u64], count: u64) {
    assert_eq!(got.len() as u64, count, "received count");
    for (i, n) in got.iter().enumerate() {
        assert_eq!(*n, i as u64, "message {i} out of order");
    }
}

// ---- outage ----------------------------------------------------------------------

/// Figures of one outage run.
struct OutageReport {
    messages: u64,
    rss_start_kib: u64,
    rss_max_kib: u64,
    queue_max_bytes: u64,
}

/// The output is down for `outage` while ~`rate` messages/s keep arriving; then it
/// recovers. Everything arrives, in order, and the inputs' acks completed during the
/// outage (the disk queue took the load instead of memory or the router).
fn outage(outage: Duration, rate: u64) -> OutageReport {
    let tmp = tempfile::tempdir().unwrap();
    let acks = Arc::new(AckCount::default());
    let (feed, input) = feed_input(&acks);
    let (flaky, output) = flaky_output(true);
    let mut builder = PipelineBuilder::new(settings());
    builder.add_input("feed", input, input_options());
    // Small segments, so that delivered ones are seen to be deleted.
    builder.add_output(
        "down-then-up",
        output,
        buffered(tmp.path(), |b| b.max_file_size = 1024 * 1024),
    );
    let pipeline = builder.start().unwrap();

    let rss_start_kib = rss_kib();
    let mut rss_max_kib = rss_start_kib;
    let mut queue_max_bytes = 0;
    let per_tick = (rate / 100).max(1);
    let started = Instant::now();
    let mut sent = 0u64;
    let mut next_sample = Instant::now();
    while started.elapsed() < outage {
        for _ in 0..per_tick {
            feed.send(sent).unwrap();
            sent += 1;
        }
        if Instant::now() >= next_sample {
            rss_max_kib = rss_max_kib.max(rss_kib());
            queue_max_bytes = queue_max_bytes.max(queue_bytes(tmp.path(), "down-then-up"));
            next_sample += Duration::from_millis(500);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Still down: every message was acknowledged by the queue, nothing delivered yet.
    eventually("the queue acknowledges everything", || {
        acks.delivered() == sent
    });
    rss_max_kib = rss_max_kib.max(rss_kib());
    queue_max_bytes = queue_max_bytes.max(queue_bytes(tmp.path(), "down-then-up"));
    assert_eq!(flaky.got.len(), 0);
    assert!(
        flaky.sends.load(Ordering::Relaxed) > 0,
        "the output was tried"
    );
    assert_eq!(acks.abandoned(), 0);

    flaky.down.store(false, Ordering::Release);
    eventually_within(120, "delivery after recovery", || {
        flaky.got.len() as u64 >= sent
    });
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), ExitStatus::Clean);
    assert_in_order(&flaky.got.get(), sent);
    // Delivered segments are removed.
    assert!(queue_bytes(tmp.path(), "down-then-up") < queue_max_bytes);
    OutageReport {
        messages: sent,
        rss_start_kib,
        rss_max_kib,
        queue_max_bytes,
    }
}

fn print_report(what: &str, outage: Duration, r: &OutageReport) {
    println!(
        "{what}: outage {:?}, {} messages, RSS start {} KiB, max {} KiB (+{} KiB), queue max {} bytes on disk",
        outage,
        r.messages,
        r.rss_start_kib,
        r.rss_max_kib,
        r.rss_max_kib.saturating_sub(r.rss_start_kib),
        r.queue_max_bytes
    );
}

#[test]
fn output_down_then_up_delivers_everything_in_order() {
    let secs = std::env::var("HEKA_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(secs);
    let report = outage(duration, 2000);
    print_report("short outage", duration, &report);
    assert!(report.queue_max_bytes > 0);
}

#[test]
#[ignore = "60 s outage; run with --ignored --nocapture to see the figures"]
fn output_down_60s_memory_stays_bounded() {
    let duration = Duration::from_secs(60);
    let report = outage(duration, 5000);
    print_report("60 s outage", duration, &report);
    // ~300k messages of ~300 bytes (~90 MB) went through the disk queue; memory did
    // not grow with them.
    let growth = report.rss_max_kib.saturating_sub(report.rss_start_kib);
    assert!(
        growth * 1024 < report.queue_max_bytes / 4,
        "RSS grew {growth} KiB while {} bytes were queued",
        report.queue_max_bytes
    );
}

// ---- slow output -----------------------------------------------------------------

/// A buffered output answering after 2 s per message does not slow a second output:
/// the fast one gets everything while the slow one has barely started.
#[test]
fn slow_output_does_not_slow_a_second_output() {
    const COUNT: u64 = 2000;
    let tmp = tempfile::tempdir().unwrap();
    let acks = Arc::new(AckCount::default());
    let (feed, input) = feed_input(&acks);
    let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(0);
    let slow_got = Received::default();
    let slow = Box::new(SlowOutput {
        delay: Duration::from_secs(2),
        release: release_rx,
        got: slow_got.clone(),
    });
    let (fast, fast_output) = flaky_output(false);
    let mut builder = PipelineBuilder::new(settings());
    builder.add_input("feed", input, input_options());
    builder.add_output("slow", slow, buffered(tmp.path(), |_| {}));
    let mut fast_options = OutputOptions::new(Matcher::parse("Type == 'seq'").unwrap());
    fast_options.retries = fast_retries();
    builder.add_output("fast", fast_output, fast_options);
    let pipeline = builder.start().unwrap();

    for n in 0..COUNT {
        feed.send(n).unwrap();
    }
    eventually("the fast output gets everything", || {
        fast.got.len() as u64 == COUNT
    });
    let slow_so_far = slow_got.len();
    println!("fast output: {COUNT} received; slow output meanwhile: {slow_so_far}");
    assert!(
        (slow_so_far as u64) < COUNT / 2,
        "the slow output has a backlog"
    );
    // The slow receiver speeds up: it catches up, in order, from its disk queue.
    drop(release_tx);
    eventually("the slow output catches up", || {
        slow_got.len() as u64 == COUNT
    });
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), ExitStatus::Clean);
    assert_in_order(&fast.got.get(), COUNT);
    assert_in_order(&slow_got.get(), COUNT);
    assert_eq!(acks.delivered(), COUNT);
}

// ---- full_action -----------------------------------------------------------------

const SMALL_BUFFER: u64 = 8 * 1024;

#[test]
fn full_action_drop_discards_new_messages_and_acks_them() {
    const COUNT: u64 = 300;
    let tmp = tempfile::tempdir().unwrap();
    let acks = Arc::new(AckCount::default());
    let (feed, input) = feed_input(&acks);
    let (flaky, output) = flaky_output(true);
    let mut builder = PipelineBuilder::new(settings());
    builder.add_input("feed", input, input_options());
    builder.add_output(
        "dropping",
        output,
        buffered(tmp.path(), |b| {
            b.max_buffer_size = SMALL_BUFFER;
            b.full_action = FullAction::Drop;
        }),
    );
    let pipeline = builder.start().unwrap();
    for n in 0..COUNT {
        feed.send(n).unwrap();
    }
    // Dropped on purpose counts as done: every ack completes, none abandoned.
    eventually("every message acknowledged", || acks.delivered() == COUNT);
    assert_eq!(acks.abandoned(), 0);
    assert!(queue_bytes(tmp.path(), "dropping") <= SMALL_BUFFER);

    flaky.down.store(false, Ordering::Release);
    eventually("what fit is delivered", || {
        flaky.got.len() > 0 && queue_bytes(tmp.path(), "dropping") < SMALL_BUFFER
    });
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), ExitStatus::Clean);
    let got = flaky.got.get();
    println!(
        "full_action = drop: {} of {COUNT} kept in an {SMALL_BUFFER}-byte buffer",
        got.len()
    );
    assert!(got.len() < COUNT as usize / 2, "most were dropped");
    // The ones kept are the first ones, in order.
    assert_in_order(&got, got.len() as u64);
}

#[test]
fn full_action_block_pushes_back_to_the_input_until_there_is_room() {
    // More than the buffered output's channel (1024) and the feeder's (64) hold.
    const COUNT: u64 = 3000;
    let tmp = tempfile::tempdir().unwrap();
    let acks = Arc::new(AckCount::default());
    let (feed, input) = feed_input(&acks);
    let (flaky, output) = flaky_output(true);
    let mut builder = PipelineBuilder::new(settings());
    builder.add_input("feed", input, input_options());
    builder.add_output(
        "blocking",
        output,
        buffered(tmp.path(), |b| {
            b.max_buffer_size = SMALL_BUFFER;
            b.full_action = FullAction::Block;
        }),
    );
    let pipeline = builder.start().unwrap();
    let feeder = std::thread::spawn(move || {
        for n in 0..COUNT {
            feed.send(n).unwrap();
        }
        feed
    });
    // The buffer fills, the writer stops taking messages, the output's channel fills,
    // the input blocks in deliver, and the feeder's own channel fills up: pushed back.
    eventually("the feeder is blocked", || {
        feeder_is_blocked(&feeder, &acks)
    });
    let stalled_at = acks.delivered();
    assert!(stalled_at < COUNT, "acknowledged {stalled_at}");
    assert!(queue_bytes(tmp.path(), "blocking") <= SMALL_BUFFER);
    assert_eq!(flaky.got.len(), 0);

    flaky.down.store(false, Ordering::Release);
    let feed = feeder.join().unwrap();
    eventually("everything delivered", || flaky.got.len() as u64 == COUNT);
    drop(feed);
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), ExitStatus::Clean);
    println!(
        "full_action = block: stalled at {stalled_at} acknowledged, then all {COUNT} delivered"
    );
    assert_in_order(&flaky.got.get(), COUNT);
    assert_eq!(acks.delivered(), COUNT);
}

/// The feeder thread has not finished and acknowledgements stopped moving for a
/// while (sampled twice 200 ms apart: a state check, not a timing assertion).
fn feeder_is_blocked(feeder: &std::thread::JoinHandle<Sender<u64>>, acks: &AckCount) -> bool {
    let before = acks.delivered();
    std::thread::sleep(Duration::from_millis(200));
    !feeder.is_finished() && acks.delivered() == before && before > 0
}

#[test]
fn full_action_shutdown_stops_hekad() {
    let tmp = tempfile::tempdir().unwrap();
    let acks = Arc::new(AckCount::default());
    let (feed, input) = feed_input(&acks);
    let (_flaky, output) = flaky_output(true);
    let mut builder = PipelineBuilder::new(settings());
    builder.drain_timeout(Duration::from_secs(2));
    builder.add_input("feed", input, input_options());
    builder.add_output(
        "stopper",
        output,
        buffered(tmp.path(), |b| {
            b.max_buffer_size = SMALL_BUFFER;
        }),
    );
    let pipeline = builder.start().unwrap();
    let feeder = std::thread::spawn(move || {
        // Stops when the input is gone (hekad shut down).
        let mut n = 0;
        while n < 100_000 && feed.send_timeout(n, Duration::from_secs(5)).is_ok() {
            n += 1;
        }
    });
    match pipeline.wait() {
        ExitStatus::PluginFailed(name, reason) => {
            assert_eq!(name, "stopper");
            assert!(reason.contains("disk buffer full"), "{reason}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    feeder.join().unwrap();
    assert!(queue_bytes(tmp.path(), "stopper") <= SMALL_BUFFER);
}

// ---- restart ---------------------------------------------------------------------

/// What a run leaves queued (its output down) is delivered by the next run, in order,
/// before anything new, and not again by the run after.
#[test]
fn queue_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let acks = Arc::new(AckCount::default());
    {
        let (feed, input) = feed_input(&acks);
        let (flaky, output) = flaky_output(true);
        let mut builder = PipelineBuilder::new(settings());
        builder.add_input("feed", input, input_options());
        builder.add_output("out", output, buffered(tmp.path(), |_| {}));
        let pipeline = builder.start().unwrap();
        for n in 0..50 {
            feed.send(n).unwrap();
        }
        eventually("queued", || acks.delivered() == 50);
        pipeline.shutdown();
        assert_eq!(pipeline.wait(), ExitStatus::Clean);
        assert_eq!(flaky.got.len(), 0);
    }
    {
        let (feed, input) = feed_input(&acks);
        let (flaky, output) = flaky_output(false);
        let mut builder = PipelineBuilder::new(settings());
        builder.add_input("feed", input, input_options());
        builder.add_output("out", output, buffered(tmp.path(), |_| {}));
        let pipeline = builder.start().unwrap();
        for n in 50..60 {
            feed.send(n).unwrap();
        }
        eventually("delivered after the restart", || flaky.got.len() == 60);
        pipeline.shutdown();
        assert_eq!(pipeline.wait(), ExitStatus::Clean);
        assert_in_order(&flaky.got.get(), 60);
    }
    {
        let (_feed, input) = feed_input(&acks);
        let (flaky, output) = flaky_output(false);
        let mut builder = PipelineBuilder::new(settings());
        builder.add_input("feed", input, input_options());
        builder.add_output("out", output, buffered(tmp.path(), |_| {}));
        let pipeline = builder.start().unwrap();
        pipeline.shutdown();
        assert_eq!(pipeline.wait(), ExitStatus::Clean);
        assert_eq!(flaky.got.len(), 0, "nothing delivered twice");
    }
}

#[test]
fn an_unusable_queue_directory_is_a_start_error() {
    let tmp = tempfile::tempdir().unwrap();
    // base_dir is a file: output_queue/ cannot be created under it.
    let base = tmp.path().join("not-a-dir");
    std::fs::write(&base, "x").unwrap();
    let (_flaky, output) = flaky_output(false);
    let mut builder = PipelineBuilder::new(settings());
    builder.add_output("out", output, buffered(&base, |_| {}));
    match builder.start() {
        Err(err @ heka_pipeline::PipelineError::Buffer { .. }) => {
            let text = err.to_string();
            assert!(text.contains("out") && text.contains("not-a-dir"), "{text}");
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("started with an unusable queue directory"),
    }
}

/// Figures only: messages per second through a buffered output that is up (write,
/// fsync per batch, read back, decode, send), against the same output unbuffered.
#[test]
#[ignore = "throughput figures; run with --ignored --nocapture (ideally --release)"]
fn buffered_throughput() {
    const COUNT: u64 = 100_000;
    for use_buffering in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let acks = Arc::new(AckCount::default());
        let (feed, input) = feed_input(&acks);
        let (flaky, output) = flaky_output(false);
        let mut builder = PipelineBuilder::new(settings());
        builder.add_input("feed", input, input_options());
        let options = if use_buffering {
            buffered(tmp.path(), |_| {})
        } else {
            OutputOptions::new(Matcher::parse("Type == 'seq'").unwrap())
        };
        builder.add_output("out", output, options);
        let pipeline = builder.start().unwrap();
        let started = Instant::now();
        for n in 0..COUNT {
            feed.send(n).unwrap();
        }
        eventually_within(300, "all delivered", || flaky.got.len() as u64 == COUNT);
        let elapsed = started.elapsed();
        pipeline.shutdown();
        assert_eq!(pipeline.wait(), ExitStatus::Clean);
        println!(
            "use_buffering = {use_buffering}: {COUNT} messages in {elapsed:?} = {:.0} msg/s",
            COUNT as f64 / elapsed.as_secs_f64()
        );
    }
}

/// Every third attempt fails (Retry): each failed message is sent again from the
/// queue, the order is kept and nothing is duplicated or lost.
#[test]
fn intermittent_failures_keep_order_without_loss() {
    const COUNT: u64 = 1000;
    let tmp = tempfile::tempdir().unwrap();
    let acks = Arc::new(AckCount::default());
    let (feed, input) = feed_input(&acks);
    let got = Received::default();
    let sends = Arc::new(AtomicU64::new(0));
    let output = Box::new(FlakyOutput {
        down: Arc::new(AtomicBool::new(false)),
        got: got.clone(),
        sends: sends.clone(),
        fail_every: 3,
    });
    let mut builder = PipelineBuilder::new(settings());
    builder.add_input("feed", input, input_options());
    builder.add_output("flaky", output, buffered(tmp.path(), |_| {}));
    let pipeline = builder.start().unwrap();
    for n in 0..COUNT {
        feed.send(n).unwrap();
    }
    eventually("everything delivered", || got.len() as u64 == COUNT);
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), ExitStatus::Clean);
    assert_in_order(&got.get(), COUNT);
    assert!(sends.load(Ordering::Relaxed) >= COUNT + COUNT / 2 - 1);
}
