//! Output runner: one thread per output, owning its encoder instance, framing,
//! retries with back-off, flushing and acknowledgement.
//!
//! Acks of sent messages are held until the next successful `flush()` (called when
//! the queue runs empty, every [`FLUSH_EVERY`] messages, on the ticker and at
//! shutdown): an output that buffers (a file, a batch of HTTP requests) has only
//! delivered once it flushed, and an input must not move its journal before that.
//! For outputs without a flush of their own this is the same as "after send".
//!
//! A buffered output (`use_buffering`, see `crate::buffer`) reads from its disk queue
//! instead of the channel: a writer thread moves packs from the channel to disk and
//! acknowledges them there, and this runner sends what it reads, committing the queue
//! position at the same points where an unbuffered runner releases acks (after a
//! successful flush). At shutdown it delivers what is queued until the output asks to
//! retry or the drain deadline passes; the rest stays on disk for the next start.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, never, select, tick};
use heka_message::Message;
use rand::Rng;

use crate::ack::Ack;
use crate::buffer;
use crate::buffer::queue::{Cursor, QueueReader};
use crate::buffer::writer::WriterHandle;
use crate::context_impl::now_ns;
use crate::pack::{Acks, Pack};
use crate::pipeline::{OutputSpec, PipelineError};
use crate::plugin::{Encoder, Output, OutputError, PluginError};
use crate::router::{Batch, Inbox, Router};
use crate::settings::{OutputOptions, Settings};
use crate::stats::{PluginKind, PluginState, PluginStats};

use super::{
    Event, OutputControl, OutputHandle, Shared, panic_reason, spawn as spawn_thread,
    terminated_message,
};

/// Sent-but-unflushed messages after which the runner flushes even though its queue
/// is not empty, bounding both the acks held and how much a crash can replay.
pub(crate) const FLUSH_EVERY: usize = 1024;

/// Most messages handled in a row before control messages and the ticker are looked
/// at again.
const BURST: usize = 256;

pub(crate) fn spawn(
    spec: OutputSpec,
    queue: Receiver<Batch>,
    registered: Arc<AtomicBool>,
    encoder: Option<Box<dyn Encoder>>,
    settings: &Arc<Settings>,
    router: &Arc<Router>,
    shared: &Arc<Shared>,
) -> Result<OutputHandle, PipelineError> {
    let OutputSpec {
        name,
        plugin,
        options,
    } = spec;
    let name: Arc<str> = Arc::from(name);
    let stats = shared.registry.plugin(&name, PluginKind::Output);
    stats.set_state(PluginState::Running);
    let (control_tx, control_rx) = crossbeam_channel::unbounded();
    // A buffered output's channel feeds the buffer's writer thread, not the runner.
    let (queue, buffered) = match &options.buffering {
        Some(buffering) => {
            let dir = buffering.queue_dir(&name);
            let (writer, reader) = buffer::queue::open(&dir, buffering, settings.max_message_size)
                .map_err(|source| PipelineError::Buffer {
                    output: name.to_string(),
                    source,
                })?;
            let (notify_tx, notify_rx) = crossbeam_channel::bounded(1);
            let writer = buffer::writer::spawn(
                name.clone(),
                queue,
                writer,
                buffering.full_action,
                buffering.max_buffer_size,
                notify_tx.clone(),
                shared.clone(),
            )?;
            let buffered = Buffered {
                reader,
                notify_tx,
                notify_rx,
                writer: Some(writer),
                pending: None,
                gave_up: false,
                control: control_rx.clone(),
                drain_requested: false,
            };
            (None, Some(buffered))
        }
        None => (Some(queue), None),
    };
    let runner = OutputRunner {
        name: name.clone(),
        plugin,
        encoder,
        registered,
        options,
        settings: settings.clone(),
        router: router.clone(),
        shared: shared.clone(),
        encoded: Vec::new(),
        framed: Vec::new(),
        held: Vec::new(),
        sent_since_flush: 0,
        buffered,
        draining: false,
        stats,
    };
    let thread = spawn_thread(format!("output-{name}"), move || match queue {
        Some(queue) => runner.run(queue, control_rx),
        None => runner.run_buffered(control_rx),
    })?;
    Ok(OutputHandle {
        name,
        control: control_tx,
        thread,
    })
}

struct OutputRunner {
    name: Arc<str>,
    plugin: Box<dyn Output>,
    encoder: Option<Box<dyn Encoder>>,
    registered: Arc<AtomicBool>,
    options: OutputOptions,
    settings: Arc<Settings>,
    router: Arc<Router>,
    shared: Arc<Shared>,
    encoded: Vec<u8>,
    framed: Vec<u8>,
    /// Acks of messages sent since the last successful flush.
    held: Vec<Ack>,
    /// Messages sent since the last successful flush ([`FLUSH_EVERY`] bounds them;
    /// `held` has one ack per unit, fewer than messages).
    sent_since_flush: usize,
    /// The disk queue side of a buffered output.
    buffered: Option<Buffered>,
    /// Shutdown drain under way (a buffered output then stops at the first retry).
    draining: bool,
    stats: Arc<PluginStats>,
}

/// A buffered output's reading side.
struct Buffered {
    reader: QueueReader,
    /// The writer pokes the runner after each batch; the runner pokes itself to come
    /// back to a backlog after looking at its controls.
    notify_tx: Sender<()>,
    notify_rx: Receiver<()>,
    writer: Option<WriterHandle>,
    /// Position past the last message sent or dropped, and how many since the last
    /// commit: committed after the next successful flush.
    pending: Option<(Cursor, u64)>,
    /// A read was abandoned (stopping): nothing more may be committed past it.
    gave_up: bool,
    /// The runner's control channel (also watched while waiting to retry).
    control: Receiver<OutputControl>,
    /// A drain request arrived while waiting to retry.
    drain_requested: bool,
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    /// Sent; delivered at the next successful flush.
    Sent,
    /// Dropped on purpose (skip, encoding failure, `Drop` outcome): done.
    Dropped,
    /// Given up because hekad is stopping: not delivered.
    Abandoned,
}

/// A fatal reason: the output is terminated.
type Fatal = String;

impl OutputRunner {
    fn run(mut self, queue: Receiver<Batch>, control: Receiver<OutputControl>) {
        let mut inbox = Inbox::new(queue);
        let queue = inbox.receiver().clone();
        let ticker = match self.options.ticker_interval {
            Some(interval) if !interval.is_zero() => tick(interval),
            _ => never(),
        };
        let immediate = self.shared.immediate.receiver().clone();
        let outcome: Result<(), Fatal> = loop {
            select! {
                recv(queue) -> received => {
                    let Ok(received) = received else { break Ok(()) };
                    inbox.push(received);
                    if let Err(err) = self.handle_burst(&mut inbox) {
                        break Err(err);
                    }
                }
                recv(ticker) -> _ => {
                    let plugin = &mut self.plugin;
                    let result = call(|| plugin.timer_event(now_ns()));
                    if let Err(err) = self.tolerate(result, "timer_event").and_then(|()| self.flush()) {
                        break Err(err);
                    }
                }
                recv(control) -> request => match request {
                    Ok(OutputControl::Reopen) => {
                        let plugin = &mut self.plugin;
                        let result = call(|| plugin.reopen());
                        if let Err(err) = self.tolerate(result, "reopen") {
                            break Err(err);
                        }
                    }
                    Ok(OutputControl::Drain) | Err(_) => break self.drain(&mut inbox),
                },
                recv(immediate) -> _ => {
                    // Keep what was already sent: a local flush is cheap and bounded.
                    break self.flush();
                }
            }
        };
        if outcome.is_err() {
            // Unregistered: later messages are no longer routed to this output.
            self.registered.store(false, Ordering::Release);
        }
        // Abandon what is queued now: the channel's buffer outlives the receiver.
        let abandoned = inbox.abandon_all();
        drop(queue);
        drop(inbox);
        if abandoned > 0 {
            tracing::warn!(output = %self.name, abandoned, "output stopped before delivering everything queued");
        }
        match outcome {
            Ok(()) => {
                self.stats.set_state(PluginState::Stopped);
                tracing::debug!(output = %self.name, "output stopped")
            }
            Err(reason) => self.terminated(reason),
        }
        // Sent but never flushed: abandoned.
        self.held.clear();
    }

    /// Handles `first` and whatever else is queued (up to [`BURST`]) without going
    /// back through `select!`, whose waker registration costs more than a message;
    /// flushes when the queue runs empty or [`FLUSH_EVERY`] acks are held.
    fn handle_burst(&mut self, inbox: &mut Inbox) -> Result<(), Fatal> {
        let stats = self.stats.clone();
        let _call = stats.call();
        let mut handled = 0;
        // Every pack received is handled before waiting again; more batches are taken
        // from the queue only up to BURST.
        while let Some(pack) = if handled < BURST {
            inbox.try_recv()
        } else {
            inbox.next_buffered()
        } {
            self.handle(pack)?;
            handled += 1;
            if self.sent_since_flush >= FLUSH_EVERY {
                self.flush()?;
            }
        }
        if inbox.is_empty() {
            self.flush()?;
        }
        Ok(())
    }

    /// Shutdown: deliver what is queued unless told to give up, then flush.
    fn drain(&mut self, inbox: &mut Inbox) -> Result<(), Fatal> {
        while !self.shared.abort_outputs.is_raised() {
            match inbox.try_recv() {
                Some(pack) => self.handle(pack)?,
                None => break,
            }
        }
        self.flush()
    }

    /// Encodes, frames and sends one routed message.
    fn handle(&mut self, pack: Pack) -> Result<(), Fatal> {
        let Pack { msg, acks, .. } = pack;
        self.send_message(&msg, acks).map(|_| ())
    }

    /// Encodes, frames and sends one message, retrying as the output asks.
    fn send_message(&mut self, msg: &Message, acks: Acks) -> Result<Handled, Fatal> {
        self.stats.received_messages.inc();
        let mut payload: &[u8] = match &mut self.encoder {
            Some(encoder) => {
                self.encoded.clear();
                let encoded = &mut self.encoded;
                match call(|| encoder.encode(msg, encoded)) {
                    Ok(()) => &self.encoded,
                    Err(PluginError::Skip) => {
                        self.stats.discarded_intentional.inc();
                        done(acks);
                        return Ok(Handled::Dropped);
                    }
                    Err(PluginError::Failed(reason)) => {
                        tracing::warn!(output = %self.name, error = %reason, "encoding failed; message dropped");
                        self.stats.processing_errors.inc();
                        done(acks);
                        return Ok(Handled::Dropped);
                    }
                    Err(PluginError::Fatal(reason)) => return Err(format!("encoder: {reason}")),
                }
            }
            None => msg.payload().as_bytes(),
        };
        if self.options.use_framing {
            self.framed.clear();
            if let Err(err) = heka_message::frame_message(
                payload,
                self.settings.max_message_size,
                &mut self.framed,
            ) {
                tracing::warn!(output = %self.name, error = %err, "cannot frame message; dropped");
                self.stats.discarded_unintentional.inc();
                done(acks);
                return Ok(Handled::Dropped);
            }
            payload = &self.framed;
        }

        let retries = self.options.retries;
        let mut delay = retries.delay;
        let mut attempts: i64 = 0;
        loop {
            let plugin = &mut self.plugin;
            match call(|| plugin.send(msg, payload)) {
                Ok(()) => {
                    crate::ack::hold(&mut self.held, acks);
                    self.sent_since_flush += 1;
                    self.stats.sent_messages.inc();
                    self.stats.sent_bytes.add(payload.len() as u64);
                    if attempts > 0 {
                        self.stats.backoff_ns.set(0);
                    }
                    return Ok(Handled::Sent);
                }
                Err(OutputError::Drop(reason)) => {
                    tracing::warn!(output = %self.name, error = %reason, "output dropped a message");
                    self.stats.discarded_unintentional.inc();
                    done(acks);
                    return Ok(Handled::Dropped);
                }
                Err(OutputError::Fatal(reason)) => return Err(reason),
                Err(OutputError::Retry { reason, after }) => {
                    if self.draining && self.buffered.is_some() {
                        // Stopping, and the output is not taking messages: what is
                        // left waits on disk for the next start.
                        tracing::info!(output = %self.name, error = %reason, "output not accepting messages at shutdown; the rest stays in the disk buffer");
                        return Ok(Handled::Abandoned);
                    }
                    if retries.max_retries >= 0 && attempts >= retries.max_retries {
                        return Err(format!("giving up after {attempts} retries: {reason}"));
                    }
                    attempts += 1;
                    let wait = after.unwrap_or_else(|| delay + jitter(retries.max_jitter));
                    delay = (delay * 2).min(retries.max_delay);
                    tracing::warn!(output = %self.name, error = %reason, attempt = attempts, wait_ms = wait.as_millis() as u64, "send failed; retrying");
                    self.stats.record_retry(wait, &reason);
                    if self.sent_since_flush > 0 {
                        // What was sent before this message is delivered once flushed:
                        // its acks (and the inputs' journals) must not wait for as long
                        // as this one keeps failing (found by the e2e trials: a crash
                        // during an outage replayed lines delivered seconds earlier).
                        flush_sent(
                            &mut self.plugin,
                            &mut self.held,
                            &mut self.sent_since_flush,
                            self.buffered.as_mut(),
                            &self.name,
                        )?;
                    }
                    let give_up = if let Some(buffered) = &mut self.buffered {
                        wait_or_drain(&mut self.plugin, buffered, &self.shared, &self.name, wait)
                    } else {
                        self.shared.abort_outputs.wait_timeout(wait)
                    };
                    if give_up {
                        // Shutdown gave up on this output: the message is abandoned.
                        drop(acks);
                        return Ok(Handled::Abandoned);
                    }
                }
            }
        }
    }

    /// Flushes; on success every held ack is delivered.
    fn flush(&mut self) -> Result<(), Fatal> {
        flush_sent(
            &mut self.plugin,
            &mut self.held,
            &mut self.sent_since_flush,
            self.buffered.as_mut(),
            &self.name,
        )
    }

    /// The loop of a buffered output: like [`OutputRunner::run`], reading the disk
    /// queue when the writer says there is something new.
    fn run_buffered(mut self, control: Receiver<OutputControl>) {
        let Some(notify) = self.buffered.as_ref().map(|b| b.notify_rx.clone()) else {
            return;
        };
        let ticker = match self.options.ticker_interval {
            Some(interval) if !interval.is_zero() => tick(interval),
            _ => never(),
        };
        let immediate = self.shared.immediate.receiver().clone();
        // What an earlier run left queued goes first.
        self.poke();
        let outcome: Result<(), Fatal> = loop {
            select! {
                recv(notify) -> _ => {
                    match self.deliver_queued(BURST) {
                        Ok(_) if self.buffered.as_ref().is_some_and(|b| b.drain_requested) => {
                            break self.drain_buffered();
                        }
                        Ok(true) => self.poke(),
                        Ok(false) => {}
                        Err(err) => break Err(err),
                    }
                }
                recv(ticker) -> _ => {
                    let plugin = &mut self.plugin;
                    let result = call(|| plugin.timer_event(now_ns()));
                    if let Err(err) = self.tolerate(result, "timer_event").and_then(|()| self.flush()) {
                        break Err(err);
                    }
                }
                recv(control) -> request => match request {
                    Ok(OutputControl::Reopen) => {
                        let plugin = &mut self.plugin;
                        let result = call(|| plugin.reopen());
                        if let Err(err) = self.tolerate(result, "reopen") {
                            break Err(err);
                        }
                    }
                    Ok(OutputControl::Drain) | Err(_) => break self.drain_buffered(),
                },
                recv(immediate) -> _ => break self.flush(),
            }
        };
        if outcome.is_err() {
            self.registered.store(false, Ordering::Release);
        }
        // What the router already handed over is persisted for the next start.
        self.stop_writer();
        match outcome {
            Ok(()) => {
                self.stats.set_state(PluginState::Stopped);
                tracing::debug!(output = %self.name, "output stopped")
            }
            Err(reason) => self.terminated(reason),
        }
        if let Some(buffered) = &mut self.buffered {
            let left = buffered.reader.queued_bytes();
            if left > 0 {
                tracing::info!(output = %self.name, queued_bytes = left, "undelivered messages stay in the disk buffer");
            }
            buffered.reader.checkpoint();
        }
    }

    /// Wakes the buffered loop again (the notification channel holds one token).
    fn poke(&self) {
        if let Some(buffered) = &self.buffered {
            let _ = buffered.notify_tx.try_send(());
        }
    }

    /// Sends up to `limit` queued messages. True when more may be waiting.
    fn deliver_queued(&mut self, limit: usize) -> Result<bool, Fatal> {
        for _ in 0..limit {
            let Some(buffered) = &mut self.buffered else {
                return Ok(false);
            };
            if buffered.gave_up {
                return Ok(false);
            }
            let next = buffered
                .reader
                .next()
                .map_err(|e| format!("cannot read its disk buffer: {e}"))?;
            let Some((msg, cursor)) = next else {
                self.flush()?;
                return Ok(false);
            };
            let handled = self.send_message(&msg, Acks::new())?;
            let Some(buffered) = &mut self.buffered else {
                return Ok(false);
            };
            if handled == Handled::Abandoned {
                // Never commit past a message that was not delivered.
                buffered.gave_up = true;
                self.flush()?;
                return Ok(false);
            }
            let records = buffered.pending.map_or(0, |(_, n)| n) + 1;
            buffered.pending = Some((cursor, records));
            if records >= FLUSH_EVERY as u64 {
                self.flush()?;
            }
        }
        Ok(true)
    }

    /// Shutdown of a buffered output: persist what is in the channel, deliver what is
    /// queued unless the output asks to retry or time is up, flush.
    fn drain_buffered(&mut self) -> Result<(), Fatal> {
        self.draining = true;
        self.stop_writer();
        while !self.shared.abort_outputs.is_raised() {
            if !self.deliver_queued(BURST)? {
                break;
            }
        }
        self.flush()
    }

    /// Tells the writer thread to finish and waits for it (it only has to write out
    /// what is already in the channel; it watches the stop signals while blocked).
    fn stop_writer(&mut self) {
        if let Some(writer) = self.buffered.as_mut().and_then(|b| b.writer.take()) {
            writer.finish.raise();
            if writer.thread.join().is_err() {
                tracing::error!(output = %self.name, "the disk buffer's writer thread panicked");
            }
        }
    }

    /// timer_event / reopen outcomes: only `Fatal` ends the output.
    fn tolerate(&self, result: Result<(), OutputError>, what: &str) -> Result<(), Fatal> {
        match result {
            Ok(()) => Ok(()),
            Err(OutputError::Fatal(reason)) => Err(reason),
            Err(err) => {
                tracing::warn!(output = %self.name, error = %err, "{what} failed");
                Ok(())
            }
        }
    }

    fn terminated(&mut self, reason: Fatal) {
        tracing::error!(output = %self.name, error = %reason, can_exit = self.options.can_exit, "output terminated");
        self.shared.registry.terminated(&self.stats, &reason);
        let msg = terminated_message(&self.settings, &self.name, &reason, false);
        self.router.route(Pack::new(msg, None));
        self.shared.report(Event::Exited {
            name: self.name.clone(),
            can_exit: self.options.can_exit,
            error: Some(reason),
        });
    }
}

/// [`OutputRunner::flush`] on the fields it needs, so that it can also run while the
/// payload being retried still borrows the runner's buffers.
fn flush_sent(
    plugin: &mut Box<dyn Output>,
    held: &mut Vec<Ack>,
    sent_since_flush: &mut usize,
    buffered: Option<&mut Buffered>,
    name: &str,
) -> Result<(), Fatal> {
    match call(|| plugin.flush()) {
        Ok(()) => {
            done(held.drain(..));
            *sent_since_flush = 0;
            commit_pending(buffered);
            Ok(())
        }
        Err(OutputError::Retry { reason, .. }) => {
            // Keep the acks: the next flush (queue empty, ticker, shutdown) retries.
            tracing::warn!(output = %name, error = %reason, held = held.len(), "flush failed; will retry");
            Ok(())
        }
        Err(OutputError::Drop(reason)) => {
            tracing::warn!(output = %name, error = %reason, dropped = held.len(), "flush dropped messages");
            done(held.drain(..));
            *sent_since_flush = 0;
            commit_pending(buffered);
            Ok(())
        }
        Err(OutputError::Fatal(reason)) => Err(reason),
    }
}

/// A buffered output: everything sent so far is delivered, move the queue on.
fn commit_pending(buffered: Option<&mut Buffered>) {
    if let Some(buffered) = buffered
        && let Some((cursor, records)) = buffered.pending.take()
    {
        buffered.reader.commit(cursor, records);
    }
}

/// A buffered output's retry wait: also ends when told to drain, since what it
/// holds is safe on disk (a down output then does not hold up the shutdown for
/// the whole drain deadline). True = stop retrying.
fn wait_or_drain(
    plugin: &mut Box<dyn Output>,
    buffered: &mut Buffered,
    shared: &Shared,
    name: &str,
    wait: Duration,
) -> bool {
    let control = buffered.control.clone();
    let abort = shared.abort_outputs.receiver().clone();
    let deadline = std::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        select! {
            recv(abort) -> _ => return true,
            recv(control) -> request => match request {
                Ok(OutputControl::Reopen) => {
                    if let Err(err) = call(|| plugin.reopen()) {
                        tracing::warn!(output = %name, error = %err, "reopen failed");
                    }
                }
                Ok(OutputControl::Drain) | Err(_) => {
                    buffered.drain_requested = true;
                    return true;
                }
            },
            default(left) => return false,
        }
    }
}

fn done(acks: impl IntoIterator<Item = Ack>) {
    for ack in acks {
        ack.done();
    }
}

/// A random delay in `[0, max)`.
fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_nanos(rand::rng().random_range(0..max.as_nanos().min(u64::MAX as u128) as u64))
}

/// Calls into the plugin; a panic is a fatal error of the plugin.
fn call<T, E: From<PanicError>>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let reason = match panic_reason(p) {
            PluginError::Fatal(reason) | PluginError::Failed(reason) => reason,
            PluginError::Skip => "panicked".to_owned(),
        };
        Err(E::from(PanicError(reason)))
    })
}

/// A panic inside a plugin call, converted to the call's error type as fatal.
struct PanicError(String);

impl From<PanicError> for PluginError {
    fn from(p: PanicError) -> PluginError {
        PluginError::Fatal(p.0)
    }
}

impl From<PanicError> for OutputError {
    fn from(p: PanicError) -> OutputError {
        OutputError::Fatal(p.0)
    }
}
