//! The request workers of an HttpOutput with `workers > 1`: that many threads, each
//! sending one request at a time over its own keep-alive connection (the agent's pool
//! keeps one idle connection per worker), taking deliveries from one bounded queue
//! and reporting each outcome to the output runner, which keeps them in order.
//!
//! Why threads and blocking ureq rather than an async client on tokio: the runner
//! allows a handful of requests in flight (Fluent Bit's `workers`),
//! which a thread each serves at the same CPU cost per request as an event loop (one
//! wake-up on each side either way), and it keeps one HTTP stack: the TLS settings
//! (`[x.tls]`), the timeout, the response classification and its tests stay ureq's
//! and are shared with `workers = 1`. An event loop pays off at hundreds of
//! connections, which one webhook does not want.
//!
//! Memory: the queue holds at most the runner's window (`max_in_flight`) deliveries,
//! each a shared reference to a payload the runner holds anyway.

use std::sync::Arc;

use crossbeam_channel::Sender;
use heka_pipeline::{Delivery, Outcomes, OutputError};

use super::output::Client;

/// The running workers; dropping it closes the queue and the threads end once their
/// current request does.
pub(super) struct Pool {
    queue: Sender<Delivery>,
}

impl Pool {
    /// Starts `workers` threads reporting to `outcomes`.
    pub(super) fn start(
        client: &Arc<Client>,
        workers: usize,
        outcomes: &Outcomes,
    ) -> Result<Pool, OutputError> {
        // Bounded by the runner's window anyway; the bound only makes it explicit.
        let (tx, rx) = crossbeam_channel::bounded::<Delivery>(workers * 4);
        for i in 0..workers {
            let rx = rx.clone();
            let client = client.clone();
            let outcomes = outcomes.clone();
            std::thread::Builder::new()
                .name(format!("http-{}-{i}", client.name()))
                .spawn(move || {
                    let mut snippet = Vec::new();
                    for delivery in rx {
                        let result = client.deliver(&delivery.payload, &mut snippet);
                        outcomes.report(delivery.ticket, result);
                    }
                })
                .map_err(|e| OutputError::Fatal(format!("cannot start a request worker: {e}")))?;
        }
        Ok(Pool { queue: tx })
    }

    /// Queues one delivery for the next free worker.
    pub(super) fn submit(&self, delivery: Delivery) -> Result<(), OutputError> {
        self.queue
            .send(delivery)
            .map_err(|_| OutputError::Fatal("the request workers are gone".into()))
    }
}
