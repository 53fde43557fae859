//! Live changes of a running pipeline ([`heka_pipeline::Change`], what a reload
//! applies): under steady load a filter is replaced and takes over its predecessor's
//! state, an output is removed with a drain and another added, while the input keeps
//! running. Every message is counted at the collecting output: none lost, none
//! duplicated, every ack completed as delivered. A filter holding acks (it injects on
//! its ticker) hands them to its replacement with its state (`replace.rs`); a change
//! that cannot start is refused or reported broken (`refusals.rs`). Waits are bounded
//! polls. The helpers below are the plugins both use.

mod refusals;
mod replace;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};
use heka_message::{Matcher, Message};
use heka_pipeline::{
    Ack, AckSink, Change, Filter, FilterContext, FilterOptions, Input, InputContext, InputOptions,
    Output, OutputError, OutputOptions, PipelineBuilder, PluginError, PluginResult, Settings,
    SplitOptions, SplitResult, Splitter,
};

fn matcher(expr: &str) -> Matcher {
    Matcher::parse(expr).expect("valid matcher")
}

/// Polls `cond` for up to 20 s.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
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

#[derive(Default)]
struct AckLog(Mutex<Vec<(u64, bool)>>);
impl AckSink for AckLog {
    fn completed(&self, id: u64, delivered: bool) {
        self.0.lock().unwrap().push((id, delivered));
    }
}

/// Delivers numbered messages (`Type = 'line'`, payload the number) from a channel,
/// each with its own ack; counts how often `run` was entered.
struct FeedInput {
    feed: Receiver<u64>,
    acks: Arc<AckLog>,
    runs: Arc<AtomicUsize>,
}
impl Input for FeedInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        loop {
            select! {
                recv(self.feed) -> n => match n {
                    Ok(n) => {
                        let mut msg = ctx.new_message();
                        msg.r#type = Some("line".into());
                        msg.payload = Some(n.to_string().into_bytes());
                        ctx.deliver(msg, None, None, Some(Ack::new(n, self.acks.clone())))?;
                    }
                    Err(_) => return Ok(()),
                },
                recv(ctx.stop.receiver()) -> _ => return Ok(()),
            }
        }
    }
}

/// Counts the lines it sees and injects `Type = 'count'`, payload `<version>:<n>:<count>`.
struct Counter {
    version: &'static str,
    count: u64,
}
impl Filter for Counter {
    fn process_message(&mut self, msg: &Message, ctx: &mut FilterContext) -> PluginResult {
        self.count += 1;
        let mut out = ctx.new_message();
        out.r#type = Some("count".into());
        let n = String::from_utf8_lossy(msg.payload()).into_owned();
        out.payload = Some(format!("{}:{n}:{}", self.version, self.count).into_bytes());
        ctx.inject(out)
            .map_err(|e| PluginError::Fatal(e.to_string()))
    }
    fn hand_over(&mut self) -> Option<Vec<u8>> {
        Some(self.count.to_le_bytes().to_vec())
    }
    fn take_over(&mut self, state: &[u8]) -> Result<(), String> {
        let bytes: [u8; 8] = state.try_into().map_err(|_| "bad state".to_owned())?;
        self.count = u64::from_le_bytes(bytes);
        Ok(())
    }
}

#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<String>>>);
impl Collected {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn payloads(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}
struct CollectOutput(Collected);
impl Output for CollectOutput {
    fn send(&mut self, msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        let payload = String::from_utf8_lossy(msg.payload()).into_owned();
        self.0.0.lock().unwrap().push(payload);
        Ok(())
    }
}

fn routed(expr: &str) -> FilterOptions {
    FilterOptions::new(matcher(expr))
}

fn output(expr: &str) -> (Collected, Box<dyn Output>, OutputOptions) {
    let got = Collected::default();
    let plugin = Box::new(CollectOutput(got.clone()));
    (got, plugin, OutputOptions::new(matcher(expr)))
}
