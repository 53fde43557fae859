//! `NatsInput` (hekad-rs): reads a NATS JetStream stream through a durable pull
//! consumer with explicit acknowledgements, and acknowledges a NATS message only once
//! every Heka message in it has been delivered by this hekad's outputs (the end-to-end
//! acks of `docs/delivery.md`). An aggregator killed mid-batch has acknowledged
//! nothing it did not deliver, so JetStream redelivers the rest (after `ack_wait`)
//! to it or to another aggregator sharing the durable.
//!
//! ```toml
//! [FromNats]
//! type = "NatsInput"
//! servers = ["nats://n1:4222", "nats://n2:4222"]
//! stream = "HEKA"
//! durable = "aggregators"
//! ```
//!
//! As TcpInput: HekaFramingSplitter and ProtobufDecoder by default, so the framed
//! Heka messages a NatsOutput packs into one NATS message come out as they went in.
//! Each NATS message is one acknowledgement unit: it is acked when its last Heka
//! message is delivered (or dropped on purpose), and nak'ed (redelivered at once)
//! when one is abandoned. The ack policy is always `explicit`: `all` loses messages
//! when a consumer restarts within `ack_wait` (measured, `shared/design/scaleout.md`).
//!
//! Memory: at most `max_ack_pending` NATS messages are delivered to this consumer and
//! not yet acknowledged (JetStream stops sending beyond it), each at most the server's
//! `max_payload` (1 MiB by default); their Heka messages are in the pipeline's
//! bounded queues.
//!
//! Layout: this file (keys, the runner thread that splits, decodes and routes);
//! `nats_consumer` (the tokio thread: consumer, pulls, acks).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use heka_pipeline::{Ack, AckSink, AckUnits, Input, InputContext, PluginError, SplitRunner};
use serde::Deserialize;
use tokio::sync::mpsc::UnboundedSender;

use super::nats_consumer::{self, ConsumerSettings, Received};
use crate::config::{ConfigError, parse_duration};
use crate::plugins::BuildContext;

/// How long a clean stop waits for the outputs to deliver what was read.
const ACK_DRAIN: Duration = Duration::from_secs(5);
/// Most NATS messages routed as one batch.
const ROUTE_BATCH: usize = 64;

/// NatsInput's own keys (the connection keys are `crate::plugins::nats`'s).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsInputConfig {
    /// The stream to read (it must exist: NatsOutput's `create_stream` or the
    /// operator creates it).
    #[serde(default = "default_stream")]
    pub stream: String,
    /// The durable consumer's name; aggregators with the same one share the work.
    #[serde(default = "default_durable")]
    pub durable: String,
    /// Only subjects matching this (wildcards allowed); default all of the stream's.
    #[serde(default)]
    pub filter_subject: Option<String>,
    /// Where a new consumer starts: `all` or `new` (at its creation only).
    #[serde(default = "default_deliver_policy")]
    pub deliver_policy: String,
    /// NATS messages per pull request.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Most NATS messages delivered and not yet acknowledged.
    #[serde(default = "default_max_ack_pending")]
    pub max_ack_pending: usize,
    /// JetStream redelivers a message not acknowledged within this.
    #[serde(default = "default_ack_wait")]
    pub ack_wait: String,
    /// Deliveries of one message before JetStream gives up on it (-1: never).
    #[serde(default = "default_max_deliver")]
    pub max_deliver: i64,
}

fn default_stream() -> String {
    "HEKA".into()
}
fn default_durable() -> String {
    "hekad".into()
}
fn default_deliver_policy() -> String {
    "all".into()
}
fn default_batch() -> usize {
    64
}
fn default_max_ack_pending() -> usize {
    256
}
fn default_ack_wait() -> String {
    "30s".into()
}
fn default_max_deliver() -> i64 {
    -1
}

impl NatsInputConfig {
    fn settings(&self) -> Result<ConsumerSettings, (&'static str, String)> {
        let name_ok = |s: &str| !s.is_empty() && !s.contains(['.', ' ', '\t', '*', '>']);
        if !name_ok(&self.stream) {
            return Err(("stream", format!("{:?} is not a stream name", self.stream)));
        }
        if !name_ok(&self.durable) {
            return Err((
                "durable",
                format!("{:?} is not a consumer name", self.durable),
            ));
        }
        let deliver_new = match self.deliver_policy.as_str() {
            "all" => false,
            "new" => true,
            other => return Err(("deliver_policy", format!("{other:?}: expected all or new"))),
        };
        if self.batch == 0 {
            return Err(("batch", "must be at least 1".into()));
        }
        if self.max_ack_pending == 0 {
            return Err(("max_ack_pending", "must be at least 1".into()));
        }
        let ack_wait = parse_duration(&self.ack_wait).map_err(|m| ("ack_wait", m))?;
        if ack_wait < Duration::from_secs(1) {
            return Err(("ack_wait", "must be at least 1s".into()));
        }
        if self.max_deliver == 0 || self.max_deliver < -1 {
            return Err(("max_deliver", "must be -1 (no limit) or at least 1".into()));
        }
        Ok(ConsumerSettings {
            stream: self.stream.clone(),
            durable: self.durable.clone(),
            filter_subject: self.filter_subject.clone().unwrap_or_default(),
            deliver_new,
            batch: self.batch,
            max_ack_pending: self.max_ack_pending,
            ack_wait,
            max_deliver: self.max_deliver,
        })
    }
}

/// A configured NatsInput.
pub struct NatsInput {
    connection: crate::plugins::nats::Connection,
    settings: ConsumerSettings,
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let (conn, own): (crate::plugins::nats::ConnectionConfig, NatsInputConfig) =
        crate::plugins::nats::parse(ctx)?;
    let invalid = |(key, msg): (&str, String)| ctx.invalid(Some(key), msg);
    Ok(Box::new(NatsInput {
        connection: conn.settings().map_err(invalid)?,
        settings: own.settings().map_err(invalid)?,
    }))
}

/// Where acknowledgement units end: their verdicts go to the tokio thread.
struct Sink {
    verdicts: UnboundedSender<(u64, bool)>,
    /// Units handed to the pipeline and not yet completed.
    outstanding: AtomicUsize,
}

impl AckSink for Sink {
    fn completed(&self, id: u64, delivered: bool) {
        self.outstanding.fetch_sub(1, Ordering::AcqRel);
        let _ = self.verdicts.send((id, delivered));
    }
}

/// The one unit of one NATS message.
struct MessageUnit<'s> {
    sink: &'s Arc<Sink>,
    id: u64,
    opened: bool,
}

impl AckUnits for MessageUnit<'_> {
    fn unit_bytes(&self) -> usize {
        usize::MAX
    }

    fn open(&mut self) -> Ack {
        self.opened = true;
        self.sink.outstanding.fetch_add(1, Ordering::AcqRel);
        Ack::new(self.id, self.sink.clone())
    }

    fn closed(&mut self, _ack: &Ack, _records: usize, _runner: &mut SplitRunner) {}
}

impl Input for NatsInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        let consumer = nats_consumer::start(&ctx.name, &self.connection, &self.settings)
            .map_err(PluginError::Failed)?;
        let sink = Arc::new(Sink {
            verdicts: consumer.verdicts.clone(),
            outstanding: AtomicUsize::new(0),
        });
        let mut runner = ctx.new_split_runner();
        runner.set_label(format!("{}:{}", ctx.name, self.settings.stream));
        let mut decoder = ctx.new_decoder();
        let result = loop {
            if ctx.stop.is_raised() {
                break Ok(());
            }
            let first = match consumer.messages.recv_timeout(Duration::from_millis(100)) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    break Err(PluginError::Failed(consumer.failure()));
                }
            };
            let mut batch = ctx.batch();
            let mut next = Some(first);
            let mut taken = 0;
            while let Some(m) = next.take() {
                deliver(
                    ctx,
                    &mut batch,
                    &mut runner,
                    decoder.as_deref_mut(),
                    &sink,
                    m,
                )?;
                taken += 1;
                if taken < ROUTE_BATCH {
                    next = consumer.messages.try_recv().ok();
                }
            }
            batch.route()?;
        };
        // Give the consumer what the outputs confirm soon, so that a clean stop does
        // not make JetStream send those messages again.
        let deadline = Instant::now() + ACK_DRAIN;
        while sink.outstanding.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        consumer.stop();
        result
    }
}

/// Splits, decodes and batches the Heka messages of one NATS message under one unit.
fn deliver(
    ctx: &InputContext,
    batch: &mut heka_pipeline::InputBatch<'_>,
    runner: &mut SplitRunner,
    decoder: Option<&mut (dyn heka_pipeline::Decoder + 'static)>,
    sink: &Arc<Sink>,
    m: Received,
) -> Result<(), PluginError> {
    runner.push(&m.payload);
    let mut unit = MessageUnit {
        sink,
        id: m.id,
        opened: false,
    };
    let headers = ctx.headers();
    batch.deliver_records(runner, true, decoder, &headers, Some(&mut unit))?;
    if runner.buffered() > 0 {
        tracing::warn!(input = %ctx.name, subject = %m.subject, bytes = runner.buffered(), "NATS message ends with an incomplete record; dropped");
    }
    runner.reset(0);
    if !unit.opened {
        // Nothing in it to deliver (garbage, or records that failed their checks):
        // consumed, so acknowledged, or JetStream would send it forever.
        let _ = sink.verdicts.send((m.id, true));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> &'static str {
        let cfg: NatsInputConfig =
            crate::config::from_table(&toml::from_str(text).unwrap()).unwrap();
        cfg.settings().unwrap_err().0
    }

    #[test]
    fn keys_are_checked_and_named() {
        assert_eq!(key("stream = \"a.b\""), "stream");
        assert_eq!(key("durable = \"\""), "durable");
        assert_eq!(key("deliver_policy = \"last\""), "deliver_policy");
        assert_eq!(key("batch = 0"), "batch");
        assert_eq!(key("max_ack_pending = 0"), "max_ack_pending");
        assert_eq!(key("ack_wait = \"10ms\""), "ack_wait");
        assert_eq!(key("max_deliver = 0"), "max_deliver");
        let cfg: NatsInputConfig = crate::config::from_table(&toml::Table::new()).unwrap();
        assert!(cfg.settings().is_ok());
    }
}
