//! The publishing side of a NatsOutput, on its tokio runtime: takes the deliveries the
//! runner submits, packs consecutive ones into NATS messages ([`Batch`]), publishes
//! them to JetStream without waiting (many `PublishAckFuture`s in flight) and reports
//! every delivery's outcome when its PubAck (or its failure) comes.
//!
//! Batching is opportunistic: the runner hands over everything it had queued at once
//! (a burst, `PipelinedOutput::end_burst`), and a NATS message takes the deliveries
//! queued when it is built (up to `max_batch` messages and `max_batch_bytes`), so an
//! idle output sends each message at once, and a busy one packs more per publish,
//! which is what lets the broker's per-message cost stop being the bound. No timer
//! holds a message back waiting for company.
//!
//! Retries are the runner's: a failed publish or a late PubAck makes each delivery of
//! the batch a `Retry`, and the runner resubmits them after its back-off. The
//! `Nats-Msg-Id` names the content ([`message_id`]): a single Heka message's id is its
//! UUID; a batch's is its length and the SHA-1 of its UUIDs. So a batch resent as it
//! was is dropped by JetStream's duplicate window if the first attempt was in fact
//! stored, and a batch regrouped differently can never be mistaken for one that was
//! stored (it would only be stored twice: the duplicate bound of the module doc).

use std::collections::VecDeque;
use std::fmt::Write;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use heka_pipeline::{Delivery, Outcomes, OutputError, Ticket};
use sha1::{Digest, Sha1};
use tokio::sync::mpsc::UnboundedReceiver;

use super::config::Settings;

/// Consecutive deliveries for one subject, sent as one NATS message.
pub(super) struct Batch {
    pub subject: String,
    pub tickets: Vec<Ticket>,
    pub uuids: Vec<[u8; 16]>,
    parts: Vec<Bytes>,
    bytes: usize,
}

impl Batch {
    fn new(subject: String, first: Delivery) -> Batch {
        let mut batch = Batch {
            subject,
            tickets: Vec::new(),
            uuids: Vec::new(),
            parts: Vec::new(),
            bytes: 0,
        };
        batch.push(first);
        batch
    }

    /// Whether `d` (whose subject is `subject`) may join.
    fn fits(&self, settings: &Settings, subject: &str, d: &Delivery) -> bool {
        self.tickets.len() < settings.max_batch
            && self.bytes + d.payload.len() <= settings.max_batch_bytes
            && subject == self.subject
    }

    fn push(&mut self, d: Delivery) {
        self.tickets.push(d.ticket);
        // A UUID that is not 16 bytes (not Heka's) counts as zeros.
        self.uuids
            .push(d.msg.uuid.as_slice().try_into().unwrap_or([0; 16]));
        self.bytes += d.payload.len();
        self.parts.push(d.payload);
    }

    /// The bytes to publish: the payloads one after the other (a single delivery's
    /// payload is not copied).
    fn take_payload(&mut self) -> Bytes {
        if let [one] = self.parts.as_slice() {
            return one.clone();
        }
        let mut out = BytesMut::with_capacity(self.bytes);
        for p in self.parts.drain(..) {
            out.extend_from_slice(&p);
        }
        out.freeze()
    }
}

/// The `Nats-Msg-Id` of a batch: the UUID of a single message (as Heka prints it),
/// else `<count>-<sha1 of the UUIDs, hex>`.
pub(super) fn message_id(uuids: &[[u8; 16]]) -> String {
    if let [one] = uuids {
        let mut out = [0u8; 36];
        let msg = heka_message::Message {
            uuid: one.to_vec(),
            ..Default::default()
        };
        if let Some(s) = msg.uuid_str(&mut out) {
            return s.to_owned();
        }
    }
    let mut sha = Sha1::new();
    for u in uuids {
        sha.update(u);
    }
    let digest = sha.finalize();
    let mut id = format!("{}-", uuids.len());
    for b in digest {
        let _ = write!(id, "{b:02x}");
    }
    id
}

fn report_all(outcomes: &Outcomes, tickets: &[Ticket], result: &Result<(), OutputError>) {
    for &t in tickets {
        outcomes.report(t, result.clone());
    }
}

fn retry(reason: String) -> OutputError {
    OutputError::Retry {
        reason,
        after: None,
    }
}

/// The next batch from the front of `queued`: consecutive deliveries with one
/// subject, within `max_batch` and `max_batch_bytes` (a single larger one alone).
pub(super) fn next_batch(settings: &Settings, queued: &mut VecDeque<Delivery>) -> Option<Batch> {
    let first = queued.pop_front()?;
    let mut batch = Batch::new(settings.subject_of(&first.msg).into_owned(), first);
    while let Some(d) = queued.front() {
        if !batch.fits(settings, &settings.subject_of(&d.msg), d) {
            break;
        }
        if let Some(d) = queued.pop_front() {
            batch.push(d);
        }
    }
    Some(batch)
}

/// A PubAck on its way: the tickets of the batch and how its publish ended.
type Pending = Pin<Box<dyn Future<Output = (Vec<Ticket>, Result<(), OutputError>)> + Send>>;

/// The publisher's state on its tokio thread.
struct Publisher {
    settings: Arc<Settings>,
    js: async_nats::jetstream::Context,
    outcomes: Outcomes,
    /// The stream was found (or created) once.
    stream_ok: bool,
    /// Publishes awaiting their PubAck.
    pending: FuturesUnordered<Pending>,
    /// Deliveries handed over and not yet published.
    queued: VecDeque<Delivery>,
}

/// Runs until `rx` is closed (the output is dropped) and every PubAck came.
pub(super) async fn run(
    name: String,
    settings: Arc<Settings>,
    mut rx: UnboundedReceiver<Vec<Delivery>>,
    outcomes: Outcomes,
) {
    let client = match settings.connection.connect(&name).await {
        Ok(c) => c,
        Err(e) => {
            // Refused credentials (a server that is down is retried in the background).
            let e = OutputError::Fatal(e);
            while let Some(burst) = rx.recv().await {
                burst
                    .iter()
                    .for_each(|d| outcomes.report(d.ticket, Err(e.clone())));
            }
            return;
        }
    };
    // Publishes in flight are bounded by the runner's window already (each carries at
    // least one delivery). async-nats keeps a publish's permit until its PubAck or its
    // own timeout even after our future gave up, so its limit is set above the window
    // and never waits: an exhausted limit is an immediate error (a retry), not a
    // publisher blocked while nothing polls the PubAcks that would free it.
    let js = async_nats::jetstream::ContextBuilder::new()
        .timeout(settings.ack_timeout)
        .ack_timeout(settings.ack_timeout)
        .max_ack_inflight(settings.max_in_flight.saturating_mul(2))
        .backpressure_on_inflight(false)
        .build(client);
    let mut publisher = Publisher {
        settings,
        js,
        outcomes,
        stream_ok: false,
        pending: FuturesUnordered::new(),
        queued: VecDeque::new(),
    };
    publisher.serve(rx).await;
}

impl Publisher {
    /// Takes bursts, publishes them and reports PubAcks until `rx` is closed and
    /// nothing is in flight.
    async fn serve(&mut self, mut rx: UnboundedReceiver<Vec<Delivery>>) {
        let mut open = true;
        while open || !self.pending.is_empty() {
            tokio::select! {
                burst = rx.recv(), if open => match burst {
                    None => open = false,
                    Some(burst) => self.queued.extend(burst),
                },
                Some((tickets, result)) = self.pending.next(), if !self.pending.is_empty() => {
                    report_all(&self.outcomes, &tickets, &result);
                }
            }
            // Whatever else was handed over meanwhile joins the batches.
            while let Ok(burst) = rx.try_recv() {
                self.queued.extend(burst);
            }
            while let Some(batch) = next_batch(&self.settings, &mut self.queued) {
                self.publish(batch).await;
            }
        }
    }

    /// Publishes one batch without waiting for its PubAck (or reports it failed).
    async fn publish(&mut self, mut batch: Batch) {
        if !self.stream_ok {
            if let Err(e) = ensure_stream(&self.js, &self.settings).await {
                report_all(&self.outcomes, &batch.tickets, &Err(retry(e)));
                return;
            }
            self.stream_ok = true;
        }
        let id = message_id(&batch.uuids);
        let msg = async_nats::jetstream::message::PublishMessage::build()
            .payload(batch.take_payload())
            .message_id(id);
        match self.js.send_publish(batch.subject, msg).await {
            Ok(ack) => {
                let tickets = batch.tickets;
                self.pending.push(Box::pin(async move {
                    let result = match ack.await {
                        Ok(_) => Ok(()),
                        Err(e) => Err(retry(format!("no PubAck: {e}"))),
                    };
                    (tickets, result)
                }));
            }
            Err(e) => {
                let result = Err(retry(format!("publish failed: {e}")));
                report_all(&self.outcomes, &batch.tickets, &result);
            }
        }
    }
}

/// Checks that the stream exists (or creates it with `create_stream`).
async fn ensure_stream(
    js: &async_nats::jetstream::Context,
    settings: &Settings,
) -> Result<(), String> {
    use async_nats::jetstream::stream;
    if settings.create_stream {
        let subject = &settings.subject;
        js.get_or_create_stream(stream::Config {
            name: settings.stream.clone(),
            subjects: vec![subject.clone(), format!("{subject}.>")],
            storage: stream::StorageType::File,
            num_replicas: settings.replicas,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot create stream {:?}: {e}", settings.stream))?;
    } else {
        js.get_stream(&settings.stream)
            .await
            .map_err(|e| format!("stream {:?}: {e}", settings.stream))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_name_the_content() {
        let a = [1u8; 16];
        let b = [2u8; 16];
        assert_eq!(message_id(&[a]), "01010101-0101-0101-0101-010101010101");
        assert_eq!(message_id(&[a, b]), message_id(&[a, b]));
        assert_ne!(message_id(&[a, b]), message_id(&[b, a]));
        assert_ne!(message_id(&[a, b]), message_id(&[a, b, b]));
        assert!(message_id(&[a, b]).starts_with("2-"));
        assert_eq!(message_id(&[a, b]).len(), 2 + 40);
    }
}
