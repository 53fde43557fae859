//! The runner's side of a NatsOutput: a [`PipelinedOutput`] whose `submit` keeps the
//! delivery and whose `end_burst` hands what it kept to the publisher
//! (`super::publisher`) on the output's own tokio thread, started at the first
//! submission. Handing a burst over at once is what lets the publisher pack a busy
//! output's messages into few NATS messages (one at a time, it published each alone
//! as soon as it came: 1.2 Heka messages per NATS message in `hekad-bench nats`).

use std::sync::Arc;
use std::thread::JoinHandle;

use heka_message::Message;
use heka_pipeline::{Delivery, Outcomes, Output, OutputError, PipelinedOutput};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::config::Settings;
use super::publisher;
use crate::plugins::nats::runtime;

/// A running NatsOutput.
pub struct NatsOutput {
    name: String,
    settings: Arc<Settings>,
    /// To the publisher; unbounded, but never holds more than the runner's window
    /// (`max_in_flight` deliveries).
    queue: Option<UnboundedSender<Vec<Delivery>>>,
    /// Submitted since the last hand-over (at most `max_batch`).
    burst: Vec<Delivery>,
    thread: Option<JoinHandle<()>>,
}

impl NatsOutput {
    pub fn new(name: &str, settings: Settings) -> NatsOutput {
        NatsOutput {
            name: name.to_owned(),
            settings: Arc::new(settings),
            queue: None,
            burst: Vec::new(),
            thread: None,
        }
    }

    /// Starts the publisher thread reporting to `outcomes`.
    fn start(
        &mut self,
        outcomes: &Outcomes,
    ) -> Result<UnboundedSender<Vec<Delivery>>, OutputError> {
        let rt = runtime()
            .map_err(|e| OutputError::Fatal(format!("cannot start a tokio runtime: {e}")))?;
        let (tx, rx) = unbounded_channel();
        let name = self.name.clone();
        let settings = self.settings.clone();
        let outcomes = outcomes.clone();
        let thread = std::thread::Builder::new()
            .name(format!("nats-{}", self.name))
            .spawn(move || rt.block_on(publisher::run(name, settings, rx, outcomes)))
            .map_err(|e| OutputError::Fatal(format!("cannot start the publisher: {e}")))?;
        self.thread = Some(thread);
        self.queue = Some(tx.clone());
        Ok(tx)
    }
}

impl Output for NatsOutput {
    fn send(&mut self, _msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        // The runner drives a pipelined output through `submit` only.
        Err(OutputError::Fatal(
            "NatsOutput takes deliveries through submit".into(),
        ))
    }

    fn pipelined(&mut self) -> Option<&mut dyn PipelinedOutput> {
        Some(self)
    }
}

impl PipelinedOutput for NatsOutput {
    fn max_in_flight(&self) -> usize {
        self.settings.max_in_flight
    }

    fn submit(&mut self, delivery: Delivery, outcomes: &Outcomes) -> Result<(), OutputError> {
        self.burst.push(delivery);
        // A full batch goes at once: the publisher works on it while the runner
        // encodes the next ones.
        if self.burst.len() >= self.settings.max_batch {
            self.end_burst(outcomes)?;
        }
        Ok(())
    }

    fn end_burst(&mut self, outcomes: &Outcomes) -> Result<(), OutputError> {
        if self.burst.is_empty() {
            return Ok(());
        }
        let queue = match &self.queue {
            Some(q) => q.clone(),
            None => self.start(outcomes)?,
        };
        let capacity = self.settings.max_batch.min(1024);
        let burst = std::mem::replace(&mut self.burst, Vec::with_capacity(capacity));
        queue
            .send(burst)
            .map_err(|_| OutputError::Fatal("the publisher has stopped".into()))
    }
}

impl Drop for NatsOutput {
    fn drop(&mut self) {
        // Closing the queue ends the publisher (what is in flight is abandoned: the
        // runner has given up on it already).
        self.queue = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
