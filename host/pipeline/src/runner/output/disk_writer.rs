//! The writer thread of a buffered output (`use_buffering`; the queue files are
//! `crate::buffer`'s, this is the runner side that fills them): takes packs from the output's bounded
//! channel (fed by the router), appends them to the disk queue in batches, fsyncs each
//! batch and only then acknowledges its messages (the queue now answers for them).
//!
//! Appending is fast whatever the output is doing, so the router is never held up by a
//! down or slow buffered output, except by design: with `full_action = "block"` and a
//! full buffer this thread stops taking packs, the channel fills up and the router's
//! send blocks, which blocks the inputs (bounded memory, as Heka's back-pressure).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, select};

use crate::ack::Ack;
use crate::buffer::FullAction;
use crate::buffer::queue::QueueWriter;
use crate::pack::Pack;
use crate::router::{Batch, Inbox};
use crate::runner::{Event, Shared};
use crate::spec::PipelineError;
use crate::stop::StopSignal;

/// Most packs written per fsync.
const MAX_BATCH: usize = 1024;

/// First and longest wait for room with `full_action = "block"` (Heka: 50 ms → 1 s).
const BLOCK_FIRST_WAIT: Duration = Duration::from_millis(50);
const BLOCK_MAX_WAIT: Duration = Duration::from_secs(1);

/// The running writer, as its output runner sees it.
pub(crate) struct WriterHandle {
    /// Raised by the output runner when it stops: write what is still in the
    /// channel, then end.
    pub finish: StopSignal,
    pub thread: JoinHandle<()>,
}

pub(crate) fn spawn(
    name: Arc<str>,
    queue: Receiver<Batch>,
    writer: QueueWriter,
    full_action: FullAction,
    max_buffer_size: u64,
    notify: Sender<()>,
    shared: Arc<Shared>,
) -> Result<WriterHandle, PipelineError> {
    let finish = StopSignal::new();
    let mut runner = BufferWriter {
        name: name.clone(),
        writer,
        full_action,
        max_buffer_size,
        notify,
        shared,
        finish: finish.clone(),
        acks: Vec::new(),
        dropped: 0,
        shutdown_reported: false,
    };
    let thread = std::thread::Builder::new()
        .name(format!("buffer-{name}"))
        .spawn(move || runner.run(queue))
        .map_err(|source| PipelineError::Spawn {
            name: format!("buffer-{name}"),
            source,
        })?;
    Ok(WriterHandle { finish, thread })
}

struct BufferWriter {
    name: Arc<str>,
    writer: QueueWriter,
    full_action: FullAction,
    max_buffer_size: u64,
    notify: Sender<()>,
    shared: Arc<Shared>,
    finish: StopSignal,
    /// Acks of the batch being written: done once it is fsynced.
    acks: Vec<Ack>,
    /// Messages dropped because the buffer was full (`full_action = "drop"`).
    dropped: u64,
    shutdown_reported: bool,
}

impl BufferWriter {
    fn run(&mut self, queue: Receiver<Batch>) {
        let mut inbox = Inbox::new(queue);
        let queue = inbox.receiver().clone();
        let immediate = self.shared.immediate.receiver().clone();
        let finish = self.finish.receiver().clone();
        loop {
            select! {
                recv(queue) -> received => {
                    let Ok(received) = received else { break };
                    inbox.push(received);
                    self.batch(&mut inbox);
                }
                recv(finish) -> _ => {
                    // The output is stopping: persist what the router already handed
                    // over (inputs and filters have stopped by now).
                    while !inbox.is_empty() {
                        self.batch(&mut inbox);
                    }
                    break;
                }
                recv(immediate) -> _ => break,
            }
        }
        let abandoned = inbox.abandon_all();
        if abandoned > 0 {
            tracing::warn!(output = %self.name, abandoned, "stopped before buffering everything routed to the output");
        }
        if self.dropped > 0 {
            tracing::warn!(output = %self.name, dropped = self.dropped, "messages dropped in total because the disk buffer was full");
        }
    }

    /// Appends `first` and whatever else is queued (up to [`MAX_BATCH`]), fsyncs once,
    /// then acknowledges them all.
    fn batch(&mut self, inbox: &mut Inbox) {
        let mut count = 0;
        // Everything received, and more from the queue up to MAX_BATCH.
        while let Some(pack) = if count < MAX_BATCH {
            inbox.try_recv()
        } else {
            inbox.next_buffered()
        } {
            self.append(pack);
            count += 1;
        }
        self.sync();
    }

    fn sync(&mut self) {
        match self.writer.sync() {
            Ok(()) => {
                for ack in self.acks.drain(..) {
                    ack.done();
                }
                // Wake the reader; a full notification channel means it is awake already.
                let _ = self.notify.try_send(());
            }
            Err(err) => {
                // Not acknowledged: the inputs keep these records and send them again.
                tracing::error!(output = %self.name, error = %err, abandoned = self.acks.len(), "cannot write to the disk buffer");
                self.acks.clear();
            }
        }
    }

    fn append(&mut self, pack: Pack) {
        let Pack { msg, acks, .. } = pack;
        if let Err(err) = self.writer.prepare(&msg) {
            tracing::warn!(output = %self.name, error = %err, "message cannot be buffered; dropped");
            acks.into_iter().for_each(Ack::done);
            return;
        }
        if !self.writer.has_room() && !self.make_room() {
            match self.full_action {
                FullAction::Drop => {
                    self.dropped += 1;
                    // Log the first and then every 1000th: a full buffer drops a lot.
                    if self.dropped % 1000 == 1 {
                        tracing::warn!(output = %self.name, max_buffer_size = self.max_buffer_size, dropped = self.dropped, "disk buffer full; message dropped (full_action = \"drop\")");
                    }
                    acks.into_iter().for_each(Ack::done);
                }
                FullAction::Shutdown => {
                    if !self.shutdown_reported {
                        self.shutdown_reported = true;
                        let reason = format!(
                            "disk buffer full (max_buffer_size = {} bytes) and full_action = \"shutdown\"",
                            self.max_buffer_size
                        );
                        tracing::error!(output = %self.name, "{reason}; stopping hekad");
                        self.shared.report(Event::Exited {
                            name: self.name.clone(),
                            can_exit: false,
                            error: Some(reason),
                        });
                    }
                    // Not acknowledged: the input sends it again after the restart.
                    drop(acks);
                }
                FullAction::Block => {
                    tracing::warn!(output = %self.name, "stopping while blocked on a full disk buffer; message abandoned");
                    drop(acks);
                }
            }
            return;
        }
        if let Err(err) = self.writer.push() {
            tracing::error!(output = %self.name, error = %err, "cannot write to the disk buffer; message abandoned");
            return;
        }
        self.acks.extend(acks);
    }

    /// `full_action = "block"`: writes out and acknowledges what is batched, then waits
    /// for the reader to make room, until hekad stops. False when it gave up (or the
    /// action is not `block`).
    fn make_room(&mut self) -> bool {
        if self.full_action != FullAction::Block {
            return false;
        }
        self.sync();
        tracing::debug!(output = %self.name, "disk buffer full; blocking the router");
        let mut wait = BLOCK_FIRST_WAIT;
        loop {
            if self.writer.wait_for_room(wait) {
                return true;
            }
            if self.finish.is_raised()
                || self.shared.immediate.is_raised()
                || self.shared.abort_routing.is_raised()
                || self.shared.abort_outputs.is_raised()
            {
                return false;
            }
            wait = (wait * 2).min(BLOCK_MAX_WAIT);
        }
    }
}
