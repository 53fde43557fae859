//! A real pipeline of small native plugins (defined here) with the ops listener on
//! 127.0.0.1:0, and a plain HTTP client. Waits are bounded polls.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use heka_message::{Matcher, Message};
use heka_ops::{Hooks, OpsConfig, OpsServer};
use heka_pipeline::{
    Filter, FilterContext, FilterOptions, Input, InputContext, InputOptions, Output, OutputError,
    OutputOptions, Pipeline, PipelineBuilder, PluginError, PluginResult, RetryOptions, Settings,
    SplitOptions, SplitResult, Splitter,
};

pub fn matcher(expr: &str) -> Matcher {
    Matcher::parse(expr).expect("valid matcher")
}

pub fn typed(type_: &str) -> Message {
    Message {
        r#type: Some(type_.into()),
        payload: Some(format!("a {type_} message").into()),
        ..Default::default()
    }
}

/// Polls `cond` for up to 20 s.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
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

/// Delivers what the test sends.
struct ChannelInput(Receiver<Message>);
impl Input for ChannelInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        loop {
            select! {
                recv(self.0) -> item => match item {
                    Ok(msg) => {
                        let mut stamped = ctx.new_message();
                        stamped.r#type = msg.r#type;
                        stamped.payload = msg.payload;
                        ctx.deliver(stamped, None, None, None)?;
                    }
                    Err(_) => return Ok(()),
                },
                recv(ctx.stop.receiver()) -> _ => return Ok(()),
            }
        }
    }
}

/// Passes messages; blocks on a `block` message until released; dies on `die`.
pub struct TestFilter {
    pub release: Receiver<()>,
}
impl Filter for TestFilter {
    fn process_message(&mut self, msg: &Message, _ctx: &mut FilterContext) -> PluginResult {
        match msg.r#type.as_deref() {
            Some("block") => {
                let _ = self.release.recv_timeout(Duration::from_secs(60));
                Ok(())
            }
            Some("die") => Err(PluginError::Fatal("process_message returned 1".into())),
            Some("fail") => Err(PluginError::Failed("bad message".into())),
            _ => Ok(()),
        }
    }
}

/// Counts deliveries; asks to retry while `down`.
pub struct TestOutput {
    pub delivered: Arc<AtomicU64>,
    pub down: Arc<AtomicBool>,
}
impl Output for TestOutput {
    fn send(&mut self, _msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        if self.down.load(Ordering::Relaxed) {
            return Err(OutputError::Retry {
                reason: "sink unreachable".into(),
                after: Some(Duration::from_millis(20)),
            });
        }
        self.delivered.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The pipeline `in` → filters `pass` (Type != 'die') and `dier` (Type == 'die',
/// can_exit) → output `out`, with the listener in front.
pub struct Harness {
    pub feed: Sender<Message>,
    pub release: Sender<()>,
    pub delivered: Arc<AtomicU64>,
    pub down: Arc<AtomicBool>,
    pub pipeline: Option<Pipeline>,
    pub server: Option<OpsServer>,
    pub base: String,
    pub agent: ureq::Agent,
    /// The registry the listener reads (tests may put figures in directly).
    pub registry: Arc<heka_pipeline::Registry>,
}

impl Harness {
    pub fn start(configure: impl FnOnce(&mut OpsConfig)) -> Harness {
        let (feed, rx) = crossbeam_channel::unbounded();
        let (release, release_rx) = crossbeam_channel::unbounded();
        let delivered = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let mut b = PipelineBuilder::new(Settings {
            hostname: "test-host".into(),
            ..Settings::default()
        });
        let registry = b.registry();
        b.add_input("in", Box::new(ChannelInput(rx)), input_options());
        let mut pass = FilterOptions::new(matcher("Type != 'die'"));
        pass.can_exit = true;
        b.add_filter(
            "pass",
            Box::new(TestFilter {
                release: release_rx.clone(),
            }),
            pass,
        );
        let mut dier = FilterOptions::new(matcher("Type == 'die'"));
        dier.can_exit = true;
        b.add_filter(
            "dier",
            Box::new(TestFilter {
                release: release_rx,
            }),
            dier,
        );
        let mut out = OutputOptions::new(matcher("Type != 'die'"));
        out.retries = RetryOptions {
            delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            max_jitter: Duration::from_millis(1),
            max_retries: -1,
        };
        b.add_output(
            "out",
            Box::new(TestOutput {
                delivered: delivered.clone(),
                down: down.clone(),
            }),
            out,
        );
        for (name, kind, type_name) in [
            ("in", heka_pipeline::PluginKind::Input, "ChannelInput"),
            ("pass", heka_pipeline::PluginKind::Filter, "TestFilter"),
            ("dier", heka_pipeline::PluginKind::Filter, "TestFilter"),
            ("out", heka_pipeline::PluginKind::Output, "TestOutput"),
        ] {
            registry.plugin(name, kind).set_type_name(type_name);
        }
        let pipeline = b.start().expect("pipeline starts");
        let mut config = OpsConfig::new("127.0.0.1:0".parse().unwrap());
        configure(&mut config);
        let server =
            OpsServer::start(config, registry.clone(), Hooks::default()).expect("listener");
        let base = format!("http://127.0.0.1:{}", server.local_addr().port());
        Harness {
            feed,
            release,
            delivered,
            down,
            pipeline: Some(pipeline),
            server: Some(server),
            base,
            agent: agent(),
            registry,
        }
    }

    /// GET: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut resp = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().expect("body"))
    }

    /// GET a JSON body.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// Sends `n` messages of `type_` and waits until the output delivered them.
    pub fn send(&self, type_: &str, n: u64) {
        let before = self.delivered.load(Ordering::Relaxed);
        for _ in 0..n {
            self.feed.send(typed(type_)).unwrap();
        }
        eventually("deliveries", || {
            self.delivered.load(Ordering::Relaxed) >= before + n
        });
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        for _ in 0..4 {
            let _ = self.release.send(());
        }
        if let Some(p) = self.pipeline.take() {
            self.down.store(false, Ordering::Relaxed);
            p.shutdown();
            p.wait();
        }
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

/// A client that returns 4xx/5xx as responses, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}
