//! Output runner: one thread per output, owning its encoder instance, framing,
//! retries with back-off, flushing and acknowledgement. One loop serves every output:
//!
//! - `source`: where messages come from, the router's channel or (`use_buffering`)
//!   the disk queue that `disk_writer` fills from that channel;
//! - `send`: encode, frame (or, for a ProtobufEncoder output of the disk queue, take
//!   the record as it is), submit, and what each outcome means (retry with back-off
//!   or `Retry-After`, drop, fatal);
//! - `window`: the messages taken and not yet released, kept in order. An output
//!   driven through `Output::send` has a window of one (Heka's behaviour); a
//!   [`crate::PipelinedOutput`] keeps up to its `max_in_flight` messages out at once,
//!   and their outcomes may come back in any order.
//!
//! Acks of delivered messages are released in order and held until the next
//! successful `flush()` (called whenever the loop is about to wait with something
//! unflushed, every [`FLUSH_EVERY`] messages, on the ticker and at shutdown): an
//! output that buffers (a file) has only delivered once it flushed, and an input must
//! not move its journal before that. A buffered output commits its queue position at
//! the same points. Flushing before every wait also means that while one message is
//! being retried, what was delivered before it is acknowledged (found by the e2e
//! trials: a crash during an outage otherwise replayed lines delivered seconds before).
//! One exception: while the oldest message of a pipelined output's window is in
//! flight, its outcome will wake the loop soon, so the flush waits for it, at most
//! [`FLUSH_INTERVAL`] after the last flush (and [`FLUSH_EVERY`] messages). Without it
//! a busy pipelined output flushed, and committed its disk buffer's position, once per
//! outcome (`hekad-bench nats` measured 1.4k lines/s, mostly that).
//!
//! A pipelined output gets what is queued in bursts: the loop submits what it can
//! (up to [`BURST`]), then calls `PipelinedOutput::end_burst`, so an output that
//! packs messages (NATS) sees them together; outcomes that came in meanwhile are all
//! handled before the next burst.
//!
//! At shutdown (`Drain`) an unbuffered output delivers what is queued until
//! `abort_outputs`; a buffered one until the output asks to retry (what is left stays
//! on disk for the next start) or the deadline passes.

mod disk_writer;
mod send;
mod source;
mod window;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, never, select, tick};

use crate::ack::Ack;
use crate::clock::now_ns;
use crate::output_error::OutputError;
use crate::pack::Pack;
use crate::pipelined::{Outcome, Outcomes};
use crate::plugin::{Encoder, Output};
use crate::router::{Batch, Router};
use crate::settings::{OutputOptions, Settings};
use crate::spec::{OutputSpec, PipelineError};
use crate::stats::{PluginKind, PluginState, PluginStats};
use crate::stop::StopSignal;

use super::{
    Event, OutputControl, OutputHandle, Shared, spawn as spawn_thread, terminated_message,
};
use send::call;
use source::Source;
use window::Window;

/// Messages released but not flushed after which the runner flushes even though it
/// has more to do, bounding both the acks held and how much a crash can replay.
pub(crate) const FLUSH_EVERY: usize = 1024;

/// Longest a pipelined output's flush waits for the outcome of the oldest message in
/// flight (see the module doc).
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Most messages taken in a row before control messages and the ticker are looked
/// at again.
const BURST: usize = 256;

/// How long the loop waits when nothing at all is due (it wakes on any channel).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

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
        mut plugin,
        options,
    } = spec;
    let name: Arc<str> = Arc::from(name);
    let stats = shared.registry.plugin(&name, PluginKind::Output);
    stats.set_state(PluginState::Running);
    let (control_tx, control_rx) = crossbeam_channel::unbounded();
    let source = Source::open(&name, queue, &options, settings, shared)?;
    let in_flight = plugin.pipelined().map(|p| p.max_in_flight().max(1));
    let (outcomes, outcome_rx) = Outcomes::channel();
    let abort = shared.abort_outputs.child();
    let runner = OutputRunner {
        abort: abort.clone(),
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
        outcomes,
        pipelined: in_flight.is_some(),
        unannounced: false,
        window: Window::new(in_flight.unwrap_or(1)),
        last_flush: Instant::now(),
        source,
        draining: false,
        stats,
        tally: Tally::default(),
    };
    let thread = spawn_thread(format!("output-{name}"), move || {
        runner.run(control_rx, outcome_rx)
    })?;
    Ok(OutputHandle {
        name,
        control: control_tx,
        abort,
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
    /// The encoder's output buffer (handed over as the payload).
    encoded: Vec<u8>,
    /// The framing buffer (handed over as the payload).
    framed: Vec<u8>,
    /// Where a pipelined output reports outcomes.
    outcomes: Outcomes,
    /// Submit through `PipelinedOutput::submit` rather than `Output::send`.
    pipelined: bool,
    /// Submitted since the last `PipelinedOutput::end_burst`.
    unannounced: bool,
    window: Window,
    /// When `flush` was last called.
    last_flush: Instant,
    source: Source,
    /// Shutdown drain under way.
    draining: bool,
    /// Raised with `abort_outputs`, or alone when a reload gives up on this output.
    abort: StopSignal,
    stats: Arc<PluginStats>,
    /// Counts not yet added to `stats` (see [`Tally`]).
    tally: Tally,
}

/// The per-message counters of one burst, added to the shared stats once per loop
/// turn (`OutputRunner::publish`) instead of three atomic additions per message; the
/// registry's readers see them at most one burst late.
#[derive(Default)]
struct Tally {
    received: u64,
    sent: u64,
    sent_bytes: u64,
}

/// A fatal reason: the output is terminated.
type Fatal = String;

impl OutputRunner {
    fn run(mut self, control: Receiver<OutputControl>, outcomes: Receiver<Outcome>) {
        let outcome = self
            .run_loop(&control, &outcomes)
            .and_then(|()| self.flush());
        self.publish();
        if outcome.is_err() {
            // Unregistered: later messages are no longer routed to this output.
            self.registered.store(false, Ordering::Release);
        }
        // A buffered output's writer persists what the router handed over; an
        // unbuffered output's channel is abandoned.
        self.source.close(&self.name);
        match outcome {
            Ok(()) => {
                self.stats.set_state(PluginState::Stopped);
                tracing::debug!(output = %self.name, "output stopped")
            }
            Err(reason) => self.terminated(reason),
        }
        // What is in the window and what was released but never flushed: abandoned.
        self.window = Window::new(1);
    }

    /// Takes messages, submits them, handles outcomes, timers and controls until the
    /// output is drained (`Ok`: the caller flushes), stopped or fails.
    fn run_loop(
        &mut self,
        control: &Receiver<OutputControl>,
        outcomes: &Receiver<Outcome>,
    ) -> Result<(), Fatal> {
        let ticker = match self.options.ticker_interval {
            Some(interval) if !interval.is_zero() => tick(interval),
            _ => never(),
        };
        let immediate = self.shared.immediate.receiver().clone();
        let abort = self.abort.receiver().clone();
        let mut channel = self.source.channel();
        let notify = self.source.notify();
        let (no_batch, no_poke) = (never::<Batch>(), never::<()>());
        loop {
            self.step()?;
            if self.draining && self.window.is_settled() && !self.source.has_ready() {
                return Ok(());
            }
            let room = self.window.has_room() && !self.source.gave_up();
            let ready = room && self.source.has_ready();
            if !ready && self.flush_due() {
                // About to wait: what was delivered so far is acknowledged first.
                self.flush()?;
            }
            let wait = if ready {
                Duration::ZERO
            } else {
                self.wait_time()
            };
            select! {
                recv(if room { &channel } else { &no_batch }) -> batch => match batch {
                    Ok(batch) => self.source.push(batch),
                    // Every sender is gone: nothing more can come.
                    Err(_) => {
                        channel = never();
                        self.start_draining();
                    }
                },
                recv(if room { &notify } else { &no_poke }) -> _ => self.source.poked(),
                recv(outcomes) -> outcome => {
                    if let Ok(outcome) = outcome {
                        self.on_outcomes(outcome, outcomes)?;
                    }
                }
                recv(ticker) -> _ => {
                    let plugin = &mut self.plugin;
                    let result = call(|| plugin.timer_event(now_ns()));
                    self.tolerate(result, "timer_event")?;
                    self.flush()?;
                }
                recv(control) -> request => match request {
                    Ok(OutputControl::Reopen) => {
                        let plugin = &mut self.plugin;
                        let result = call(|| plugin.reopen());
                        self.tolerate(result, "reopen")?;
                    }
                    Ok(OutputControl::Drain) | Err(_) => self.start_draining(),
                },
                // Shutdown gave up on this output: what is in flight and queued is
                // abandoned; keep what was already delivered.
                recv(abort) -> _ => return Ok(()),
                recv(immediate) -> _ => return Ok(()),
                default(wait) => {}
            }
        }
    }

    /// Submits what is due for a retry, then new messages while the window has room
    /// (up to [`BURST`]), releasing what finished.
    fn step(&mut self) -> Result<(), Fatal> {
        let stats = self.stats.clone();
        let _call = stats.call();
        self.resubmit_due()?;
        let mut taken = 0;
        while taken < BURST && self.window.has_room() {
            let Some(item) = self.source.next()? else {
                break;
            };
            self.submit_new(item)?;
            taken += 1;
            if self.window.unflushed() >= FLUSH_EVERY {
                self.flush()?;
            }
        }
        self.publish();
        self.end_burst()
    }

    /// Adds the burst's counts to the shared stats.
    fn publish(&mut self) {
        let tally = std::mem::take(&mut self.tally);
        if tally.received > 0 {
            self.stats.received_messages.add(tally.received);
        }
        if tally.sent > 0 {
            self.stats.sent_messages.add(tally.sent);
            self.stats.sent_bytes.add(tally.sent_bytes);
        }
    }

    /// Tells a pipelined output that the burst of submissions is over.
    fn end_burst(&mut self) -> Result<(), Fatal> {
        if !std::mem::take(&mut self.unannounced) {
            return Ok(());
        }
        let (plugin, outcomes) = (&mut self.plugin, &self.outcomes);
        match call(|| match plugin.pipelined() {
            Some(pipelined) => pipelined.end_burst(outcomes),
            None => Err(OutputError::Fatal("no longer pipelined".into())),
        }) {
            Ok(()) => Ok(()),
            Err(err) => Err(format!("end of a burst: {err}")),
        }
    }

    /// `first` and every other outcome already reported (a publish acknowledged
    /// reports all its messages at once), before anything else is looked at.
    fn on_outcomes(&mut self, first: Outcome, outcomes: &Receiver<Outcome>) -> Result<(), Fatal> {
        self.on_outcome(first.ticket, first.result)?;
        for _ in 1..self.window.len().max(1) {
            let Ok(Outcome { ticket, result }) = outcomes.try_recv() else {
                break;
            };
            self.on_outcome(ticket, result)?;
        }
        if self.window.unflushed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Whether to flush before waiting: something was released since the last flush,
    /// and no outcome is sure to wake the loop soon (see the module doc).
    fn flush_due(&self) -> bool {
        let unflushed = self.window.unflushed();
        unflushed > 0
            && (!self.window.front_in_flight()
                || unflushed >= FLUSH_EVERY
                || self.last_flush.elapsed() >= FLUSH_INTERVAL)
    }

    /// How long the loop may wait: until the next retry is due, or the deferred flush.
    fn wait_time(&self) -> Duration {
        let now = Instant::now();
        let retry = self.window.next_retry();
        // Only a deferred flush has a deadline; one that failed is retried before the
        // next wait or on the ticker, as before.
        let deferred = self.window.unflushed() > 0 && self.window.front_in_flight();
        let flush = deferred.then(|| self.last_flush + FLUSH_INTERVAL);
        retry
            .into_iter()
            .chain(flush)
            .min()
            .map_or(IDLE_WAIT, |at| at.saturating_duration_since(now))
    }

    /// Shutdown: no more messages will be routed here. A buffered output's writer
    /// persists what it was handed, and messages waiting to be retried are left on
    /// disk (a down output then does not hold up the shutdown for the whole drain
    /// deadline).
    fn start_draining(&mut self) {
        if self.draining {
            return;
        }
        self.draining = true;
        if self.source.is_buffered() {
            self.source.stop_writer(&self.name);
            if self.window.abandon_waiting() {
                tracing::info!(output = %self.name, "output not accepting messages at shutdown; the rest stays in the disk buffer");
                self.source.give_up();
            }
        }
    }

    /// Flushes; on success everything released so far is delivered: acks are done
    /// and a buffered output's queue position is committed.
    fn flush(&mut self) -> Result<(), Fatal> {
        // Counted before anything is acknowledged: whoever sees an ack sees the count.
        self.publish();
        self.last_flush = Instant::now();
        match call(|| self.plugin.flush()) {
            Ok(()) => self.finalize(),
            Err(OutputError::Retry { reason, .. }) => {
                // Keep the acks: the next flush (before a wait, ticker, shutdown) retries.
                tracing::warn!(output = %self.name, error = %reason, held = self.window.held(), "flush failed; will retry");
            }
            Err(OutputError::Drop(reason)) => {
                tracing::warn!(output = %self.name, error = %reason, dropped = self.window.held(), "flush dropped messages");
                self.finalize();
            }
            Err(OutputError::Fatal(reason)) => return Err(reason),
        }
        Ok(())
    }

    fn finalize(&mut self) {
        let released = self.window.take_released();
        released.acks.into_iter().for_each(Ack::done);
        if let Some((cursor, records)) = released.pending {
            self.source.commit(cursor, records);
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
