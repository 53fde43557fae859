//! A [`PipelinedOutput`] through a real pipeline: the test plays the far end and
//! decides when and how each delivery ends, in any order. Acknowledgements (and a disk
//! buffer's cursor) must only move over the finished prefix: a message answered late,
//! or retried, holds back everything submitted after it, and a retry of one message
//! does not stop the others from being delivered.
//!
//! Waits are bounded polls or channel receives with a deadline; nothing asserts on
//! timing.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use heka_message::{Matcher, Message};
use heka_pipeline::{
    Ack, AckSink, BufferOptions, Delivery, ExitStatus, Input, InputContext, InputOptions, Outcomes,
    Output, OutputError, OutputOptions, PipelineBuilder, PipelinedOutput, PluginError,
    RetryOptions, Settings, SplitOptions, SplitResult, Splitter,
};

#[derive(Default)]
struct AckLog(Mutex<Vec<(u64, bool)>>);
impl AckSink for AckLog {
    fn completed(&self, id: u64, delivered: bool) {
        self.0.lock().unwrap().push((id, delivered));
    }
}
impl AckLog {
    fn get(&self) -> Vec<(u64, bool)> {
        self.0.lock().unwrap().clone()
    }
}

struct NoSplit;
impl Splitter for NoSplit {
    fn find_record(&mut self, _buf: &[u8], _eof: bool) -> SplitResult {
        SplitResult::NeedMore
    }
}

/// Routes the numbers the test sends it (payload = the number), each under its own ack.
struct FeedInput(Receiver<u64>, Arc<AckLog>);
impl Input for FeedInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        loop {
            select! {
                recv(self.0) -> n => match n {
                    Ok(n) => {
                        let mut msg = ctx.new_message();
                        msg.payload = Some(n.to_string().into_bytes());
                        ctx.deliver(msg, None, None, Some(Ack::new(n, self.1.clone())))?;
                    }
                    Err(_) => return Ok(()),
                },
                recv(ctx.stop.receiver()) -> _ => return Ok(()),
            }
        }
    }
}

/// Hands every delivery to the test, which reports its outcome (or, `auto`, reports
/// success at once). As NatsOutput, it holds what `submit` gives it until the burst
/// ends, so a runner that forgot `end_burst` would hang these tests; each burst's size
/// goes to `bursts`.
struct FarEnd {
    window: usize,
    auto: bool,
    held: Vec<Delivery>,
    to_test: Sender<(Delivery, Outcomes)>,
    bursts: Sender<usize>,
}
impl Output for FarEnd {
    fn send(&mut self, _msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        Err(OutputError::Fatal(
            "a pipelined output is never sent to".into(),
        ))
    }
    fn pipelined(&mut self) -> Option<&mut dyn PipelinedOutput> {
        Some(self)
    }
}
impl PipelinedOutput for FarEnd {
    fn max_in_flight(&self) -> usize {
        self.window
    }
    fn submit(&mut self, delivery: Delivery, _outcomes: &Outcomes) -> Result<(), OutputError> {
        self.held.push(delivery);
        Ok(())
    }
    fn end_burst(&mut self, outcomes: &Outcomes) -> Result<(), OutputError> {
        let _ = self.bursts.send(self.held.len());
        for delivery in self.held.drain(..) {
            if self.auto {
                outcomes.report(delivery.ticket, Ok(()));
            }
            let _ = self.to_test.send((delivery, outcomes.clone()));
        }
        Ok(())
    }
}

fn number(d: &Delivery) -> u64 {
    std::str::from_utf8(&d.payload).unwrap().parse().unwrap()
}

fn next(rx: &Receiver<(Delivery, Outcomes)>) -> (Delivery, Outcomes) {
    rx.recv_timeout(Duration::from_secs(20))
        .expect("a delivery within 20 s")
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn retry(after: Duration) -> Result<(), OutputError> {
    Err(OutputError::Retry {
        reason: "503".into(),
        after: Some(after),
    })
}

struct Run {
    feed: Sender<u64>,
    deliveries: Receiver<(Delivery, Outcomes)>,
    bursts: Receiver<usize>,
    pipeline: heka_pipeline::Pipeline,
}

fn start(window: usize, auto: bool, acks: &Arc<AckLog>, buffer: Option<&Path>) -> Run {
    let (feed, rx) = crossbeam_channel::unbounded();
    let (to_test, deliveries) = crossbeam_channel::unbounded();
    let (bursts_tx, bursts) = crossbeam_channel::unbounded();
    let mut options = OutputOptions::new(Matcher::parse("TRUE").unwrap());
    options.retries = RetryOptions {
        delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
        max_jitter: Duration::ZERO,
        max_retries: -1,
    };
    options.buffering = buffer.map(BufferOptions::new);
    let mut b = PipelineBuilder::new(Settings::default());
    b.add_input(
        "in",
        Box::new(FeedInput(rx, acks.clone())),
        InputOptions::new(Arc::new(|| Box::new(NoSplit)), SplitOptions::default()),
    )
    .add_output(
        "far",
        Box::new(FarEnd {
            window,
            auto,
            held: Vec::new(),
            to_test,
            bursts: bursts_tx,
        }),
        options,
    );
    Run {
        feed,
        deliveries,
        bursts,
        pipeline: b.start().unwrap(),
    }
}

#[test]
fn acks_are_released_in_order_whatever_order_the_outcomes_come_in() {
    let acks = Arc::new(AckLog::default());
    let run = start(3, false, &acks, None);
    for n in 1..=3 {
        run.feed.send(n).unwrap();
    }
    let sent: Vec<_> = (0..3).map(|_| next(&run.deliveries)).collect();
    assert_eq!(
        sent.iter().map(|(d, _)| number(d)).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let (first, outcomes) = (&sent[0].0, &sent[0].1);
    // The far end answers 3 and 2 first, and asks 1 to be sent again.
    outcomes.report(sent[2].0.ticket, Ok(()));
    outcomes.report(sent[1].0.ticket, Ok(()));
    outcomes.report(first.ticket, retry(Duration::from_millis(1)));
    // Outcomes are handled in the order reported: once 1 comes again, the runner has
    // seen 2 and 3 delivered, and must still hold their acks behind 1.
    let (again, outcomes) = next(&run.deliveries);
    assert_eq!((number(&again), again.ticket), (1, first.ticket));
    assert_eq!(
        acks.get(),
        [],
        "nothing acknowledged past the undelivered 1"
    );
    outcomes.report(again.ticket, Ok(()));
    eventually("1, 2 and 3 acknowledged", || acks.get().len() == 3);
    assert_eq!(acks.get(), [(1, true), (2, true), (3, true)]);

    // More go out; one dropped on purpose counts as done, in its turn.
    run.feed.send(4).unwrap();
    run.feed.send(5).unwrap();
    let (d4, outcomes) = next(&run.deliveries);
    let (d5, _) = next(&run.deliveries);
    outcomes.report(d5.ticket, Ok(()));
    outcomes.report(d4.ticket, Err(OutputError::Drop("400".into())));
    eventually("4 and 5 acknowledged", || acks.get().len() == 5);
    assert_eq!(acks.get()[3..], [(4, true), (5, true)]);
    run.pipeline.shutdown();
    assert_eq!(run.pipeline.wait(), ExitStatus::Clean);
}

#[test]
fn one_message_retried_while_the_next_ones_are_delivered() {
    let acks = Arc::new(AckLog::default());
    let run = start(4, false, &acks, None);
    run.feed.send(1).unwrap();
    let (d1, outcomes) = next(&run.deliveries);
    outcomes.report(d1.ticket, retry(Duration::from_millis(50)));
    for n in 2..=4 {
        run.feed.send(n).unwrap();
    }
    // 2..4 and the second attempt of 1 all go out (in whatever order the wait
    // allows); the far end answers each at once.
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let (d, outcomes) = next(&run.deliveries);
        seen.push(number(&d));
        outcomes.report(d.ticket, Ok(()));
    }
    seen.sort_unstable();
    assert_eq!(seen, [1, 2, 3, 4]);
    eventually("all acknowledged", || acks.get().len() == 4);
    assert_eq!(acks.get(), [(1, true), (2, true), (3, true), (4, true)]);
    run.pipeline.shutdown();
    assert_eq!(run.pipeline.wait(), ExitStatus::Clean);
}

#[test]
fn a_disk_buffer_resumes_at_the_first_undelivered_message() {
    let tmp = tempfile::tempdir().unwrap();
    let acks = Arc::new(AckLog::default());
    {
        let run = start(3, false, &acks, Some(tmp.path()));
        for n in 1..=3 {
            run.feed.send(n).unwrap();
        }
        // On disk = acknowledged to the input.
        eventually("buffered", || acks.get().len() == 3);
        let sent: Vec<_> = (0..3).map(|_| next(&run.deliveries)).collect();
        let outcomes = &sent[0].1;
        outcomes.report(sent[1].0.ticket, Ok(()));
        outcomes.report(sent[2].0.ticket, Ok(()));
        outcomes.report(sent[0].0.ticket, retry(Duration::from_secs(3600)));
        // Stopping: 1 stays on disk, and so does everything after it.
        run.pipeline.shutdown();
        assert_eq!(run.pipeline.wait(), ExitStatus::Clean);
    }
    {
        let run = start(3, true, &acks, Some(tmp.path()));
        let again: Vec<u64> = (0..3).map(|_| number(&next(&run.deliveries).0)).collect();
        assert_eq!(again, [1, 2, 3], "1 is not lost (2 and 3 come again)");
        run.pipeline.shutdown();
        assert_eq!(run.pipeline.wait(), ExitStatus::Clean);
    }
    {
        let run = start(3, true, &acks, Some(tmp.path()));
        run.pipeline.shutdown();
        assert_eq!(run.pipeline.wait(), ExitStatus::Clean);
        assert!(
            run.deliveries.try_recv().is_err(),
            "nothing delivered twice"
        );
    }
}

#[test]
fn what_is_queued_is_handed_over_in_one_burst() {
    let tmp = tempfile::tempdir().unwrap();
    let acks = Arc::new(AckLog::default());
    let run = start(8, false, &acks, Some(tmp.path()));
    for n in 1..=24 {
        run.feed.send(n).unwrap();
    }
    // All 24 on disk; the first 8 went out (in one or more bursts).
    eventually("buffered", || acks.get().len() == 24);
    let first: Vec<_> = (0..8).map(|_| next(&run.deliveries)).collect();
    let bursts: usize = (0..).map_while(|_| run.bursts.try_recv().ok()).sum();
    assert_eq!(bursts, 8);
    // The far end answers 2..8, then 1: the whole window is released at once, and
    // the next 8, queued on disk, go out together.
    for (d, outcomes) in first.iter().skip(1).chain(first.iter().take(1)) {
        outcomes.report(d.ticket, Ok(()));
    }
    let second: Vec<_> = (0..8).map(|_| next(&run.deliveries)).collect();
    let numbers: Vec<u64> = second.iter().map(|(d, _)| number(d)).collect();
    assert_eq!(numbers, (9..=16).collect::<Vec<_>>());
    assert_eq!(run.bursts.recv_timeout(Duration::from_secs(20)), Ok(8));
    // The rest, so that the stop does not wait for them.
    for (d, outcomes) in &second {
        outcomes.report(d.ticket, Ok(()));
    }
    for _ in 0..8 {
        let (d, outcomes) = next(&run.deliveries);
        outcomes.report(d.ticket, Ok(()));
    }
    run.pipeline.shutdown();
    assert_eq!(run.pipeline.wait(), ExitStatus::Clean);
}
