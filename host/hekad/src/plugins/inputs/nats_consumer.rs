//! The tokio side of a NatsInput: the durable pull consumer (explicit acks), the
//! messages it pulls handed to the input's thread over a channel, and the verdicts
//! coming back from the pipeline's acknowledgement units turned into acks (delivered)
//! or naks (abandoned: redelivered at once).
//!
//! A consumer that cannot be opened (the stream does not exist yet, no JetStream
//! leader during an election) is tried again every second; a pull stream that ends is
//! opened again. Errors of a running pull (a missed heartbeat while a node fails) are
//! logged and the pull goes on, as the measurements of `shared/design/scaleout.md`
//! showed it recovers by itself.
//!
//! Memory: the channel holds at most `max_ack_pending` messages (JetStream delivers
//! no more unacknowledged ones), and the map of ackers as many entries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::{self, AckKind};
use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use futures_util::StreamExt;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

use crate::plugins::nats::{Connection, runtime};

/// The checked consumer keys of a NatsInput.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub stream: String,
    pub durable: String,
    /// Empty: every subject of the stream.
    pub filter_subject: String,
    pub deliver_new: bool,
    pub batch: usize,
    pub max_ack_pending: usize,
    pub ack_wait: Duration,
    pub max_deliver: i64,
}

/// One NATS message handed to the input's thread.
pub struct Received {
    /// Names the message in verdicts.
    pub id: u64,
    pub subject: String,
    pub payload: Bytes,
}

/// The running consumer thread; dropping it stops the thread (naking what was not
/// acknowledged) and waits for it.
pub struct Consumer {
    pub messages: Receiver<Received>,
    /// `(id, delivered)` of each message handed out.
    pub verdicts: UnboundedSender<(u64, bool)>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    failure: Arc<Mutex<String>>,
}

impl Consumer {
    /// Why the thread ended on its own.
    pub fn failure(&self) -> String {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the thread (same as dropping it).
    pub fn stop(self) {}
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the consumer thread of input `name`.
pub fn start(
    name: &str,
    connection: &Connection,
    settings: &ConsumerSettings,
) -> Result<Consumer, String> {
    let rt = runtime().map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let (msg_tx, messages) = crossbeam_channel::unbounded();
    let (verdicts, verdict_rx) = unbounded_channel();
    let (shutdown, shutdown_rx) = oneshot::channel();
    let failure = Arc::new(Mutex::new(String::from("the NATS consumer stopped")));
    let state = Loop {
        name: name.to_owned(),
        settings: settings.clone(),
        out: msg_tx,
        ackers: HashMap::new(),
        next_id: 0,
    };
    let (connection, fail) = (connection.clone(), failure.clone());
    let thread = std::thread::Builder::new()
        .name(format!("nats-{name}"))
        .spawn(move || rt.block_on(state.run(connection, verdict_rx, shutdown_rx, fail)))
        .map_err(|e| format!("cannot start the consumer thread: {e}"))?;
    Ok(Consumer {
        messages,
        verdicts,
        shutdown: Some(shutdown),
        thread: Some(thread),
        failure,
    })
}

struct Loop {
    name: String,
    settings: ConsumerSettings,
    out: Sender<Received>,
    ackers: HashMap<u64, Acker>,
    next_id: u64,
}

type Messages = pull::Stream;

async fn next_message(
    messages: &mut Option<Messages>,
) -> Option<Result<jetstream::Message, String>> {
    match messages {
        Some(m) => m.next().await.map(|r| r.map_err(|e| e.to_string())),
        None => std::future::pending().await,
    }
}

impl Loop {
    async fn run(
        mut self,
        connection: Connection,
        mut verdicts: UnboundedReceiver<(u64, bool)>,
        mut shutdown: oneshot::Receiver<()>,
        failure: Arc<Mutex<String>>,
    ) {
        let client = match connection.connect(&self.name).await {
            Ok(c) => c,
            Err(e) => {
                *failure.lock().unwrap_or_else(PoisonError::into_inner) = e;
                return;
            }
        };
        let js = jetstream::new(client.clone());
        let mut messages: Option<Messages> = None;
        let mut reopen = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some((id, delivered)) = verdicts.recv() => self.verdict(id, delivered).await,
                m = next_message(&mut messages) => match m {
                    Some(Ok(msg)) => {
                        if !self.hand_out(msg) {
                            break;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(input = %self.name, error = %e, "NATS pull");
                    }
                    None => messages = None,
                },
                _ = reopen.tick(), if messages.is_none() => match self.open(&js).await {
                    Ok(m) => messages = Some(m),
                    Err(e) => tracing::warn!(input = %self.name, error = %e, "cannot open the NATS consumer; retrying"),
                },
            }
        }
        // Verdicts already in, then the rest back to JetStream at once.
        while let Ok((id, delivered)) = verdicts.try_recv() {
            self.verdict(id, delivered).await;
        }
        for (_, acker) in self.ackers.drain() {
            let _ = acker.ack_with(AckKind::Nak(None)).await;
        }
        let _ = client.flush().await;
    }

    /// Opens (or creates) the durable consumer and its pull stream.
    async fn open(&self, js: &jetstream::Context) -> Result<Messages, String> {
        let s = &self.settings;
        let stream = js
            .get_stream(&s.stream)
            .await
            .map_err(|e| format!("stream {:?}: {e}", s.stream))?;
        let config = pull::Config {
            durable_name: Some(s.durable.clone()),
            filter_subject: s.filter_subject.clone(),
            deliver_policy: if s.deliver_new {
                DeliverPolicy::New
            } else {
                DeliverPolicy::All
            },
            ack_policy: AckPolicy::Explicit,
            ack_wait: s.ack_wait,
            max_ack_pending: i64::try_from(s.max_ack_pending).unwrap_or(i64::MAX),
            max_deliver: s.max_deliver,
            ..Default::default()
        };
        let consumer = stream
            .get_or_create_consumer(&s.durable, config)
            .await
            .map_err(|e| format!("consumer {:?}: {e}", s.durable))?;
        consumer
            .stream()
            .max_messages_per_batch(s.batch)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|e| format!("pull: {e}"))
    }

    /// Hands one message to the input's thread; false when that thread is gone.
    fn hand_out(&mut self, msg: jetstream::Message) -> bool {
        let (msg, acker) = msg.split();
        let id = self.next_id;
        self.next_id += 1;
        self.ackers.insert(id, acker);
        let received = Received {
            id,
            subject: msg.subject.to_string(),
            payload: msg.payload,
        };
        self.out.send(received).is_ok()
    }

    async fn verdict(&mut self, id: u64, delivered: bool) {
        let Some(acker) = self.ackers.remove(&id) else {
            return;
        };
        let kind = if delivered {
            AckKind::Ack
        } else {
            AckKind::Nak(None)
        };
        if let Err(e) = acker.ack_with(kind).await {
            // JetStream sends it again after ack_wait: a duplicate, nothing lost.
            tracing::warn!(input = %self.name, error = %e, "cannot acknowledge a NATS message");
        }
    }
}
