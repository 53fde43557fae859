//! Regression test (found by the e2e crash trials, `tests/tests/e2e/trials/`): an
//! output that delivered message A and then keeps failing on message B must not keep
//! A's acknowledgement — and with it the input's journal — until B finally goes
//! through. Before the fix the runner flushed (releasing acks) only when its queue ran
//! empty, so a SIGKILL during an outage replayed lines delivered seconds earlier.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};
use heka_message::{Matcher, Message};
use heka_pipeline::{
    Ack, AckSink, ExitStatus, Input, InputContext, InputOptions, Output, OutputError,
    OutputOptions, PipelineBuilder, PluginError, RetryOptions, Settings, SplitOptions, SplitResult,
    Splitter,
};

#[derive(Default)]
struct AckLog(Mutex<Vec<(u64, bool)>>);
impl AckSink for AckLog {
    fn completed(&self, id: u64, delivered: bool) {
        self.0.lock().unwrap().push((id, delivered));
    }
}

struct NoSplit;
impl Splitter for NoSplit {
    fn find_record(&mut self, _buf: &[u8], _eof: bool) -> SplitResult {
        SplitResult::NeedMore
    }
}

/// Delivers what the test sends it, until stopped.
struct ChannelInput(Receiver<(String, Ack)>);
impl Input for ChannelInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        loop {
            select! {
                recv(self.0) -> item => match item {
                    Ok((payload, ack)) => {
                        let mut msg = ctx.new_message();
                        msg.payload = Some(payload.into());
                        ctx.deliver(msg, None, None, Some(ack))?;
                    }
                    Err(_) => return Ok(()),
                },
                recv(ctx.stop.receiver()) -> _ => return Ok(()),
            }
        }
    }
}

/// Takes "a" once the test lets it (so "b" is queued behind it), then refuses "b"
/// until `b_ok` is set.
struct StuckOnB {
    gate: Receiver<()>,
    b_ok: Arc<AtomicBool>,
}
impl Output for StuckOnB {
    fn send(&mut self, msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        if msg.payload() == b"a" {
            let _ = self.gate.recv();
            return Ok(());
        }
        if self.b_ok.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(OutputError::Retry {
                reason: "503".into(),
                after: None,
            })
        }
    }
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_delivered_message_is_acknowledged_while_the_next_one_is_retried() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let (gate_tx, gate_rx) = crossbeam_channel::bounded(0);
    let b_ok = Arc::new(AtomicBool::new(false));
    let mut options = OutputOptions::new(Matcher::parse("TRUE").unwrap());
    options.retries = RetryOptions {
        delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_jitter: Duration::from_millis(1),
        max_retries: -1,
    };
    let mut b = PipelineBuilder::new(Settings::default());
    b.add_input(
        "in",
        Box::new(ChannelInput(rx)),
        InputOptions::new(Arc::new(|| Box::new(NoSplit)), SplitOptions::default()),
    )
    .add_output(
        "stuck",
        Box::new(StuckOnB {
            gate: gate_rx,
            b_ok: b_ok.clone(),
        }),
        options,
    );
    let pipeline = b.start().unwrap();
    let acks = Arc::new(AckLog::default());
    tx.send(("a".into(), Ack::new(1, acks.clone()))).unwrap();
    tx.send(("b".into(), Ack::new(2, acks.clone()))).unwrap();
    // Both are routed (the output is held in send("a")), so "b" is queued behind "a".
    std::thread::sleep(Duration::from_millis(200));
    gate_tx.send(()).unwrap();
    eventually("a acknowledged while b is still failing", || {
        acks.0.lock().unwrap().contains(&(1, true))
    });
    assert!(!acks.0.lock().unwrap().iter().any(|&(id, _)| id == 2));
    b_ok.store(true, Ordering::Relaxed);
    eventually("b acknowledged", || acks.0.lock().unwrap().len() == 2);
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), ExitStatus::Clean);
}
