//! Output runner: one thread per output, owning its encoder instance, framing,
//! retries with back-off, flushing and acknowledgement.
//!
//! Acks of sent messages are held until the next successful `flush()` (called when
//! the queue runs empty, every [`FLUSH_EVERY`] messages, on the ticker and at
//! shutdown): an output that buffers (a file, a batch of HTTP requests) has only
//! delivered once it flushed, and an input must not move its journal before that.
//! For outputs without a flush of their own this is the same as "after send".

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, never, select, tick};
use rand::Rng;

use crate::ack::Ack;
use crate::context_impl::now_ns;
use crate::pack::Pack;
use crate::pipeline::{OutputSpec, PipelineError};
use crate::plugin::{Encoder, Output, OutputError, PluginError};
use crate::router::Router;
use crate::settings::{OutputOptions, Settings};

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
    queue: Receiver<Pack>,
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
    let (control_tx, control_rx) = crossbeam_channel::unbounded();
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
    };
    let thread = spawn_thread(format!("output-{name}"), move || {
        runner.run(queue, control_rx)
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
}

/// A fatal reason: the output is terminated.
type Fatal = String;

impl OutputRunner {
    fn run(mut self, queue: Receiver<Pack>, control: Receiver<OutputControl>) {
        let ticker = match self.options.ticker_interval {
            Some(interval) if !interval.is_zero() => tick(interval),
            _ => never(),
        };
        let immediate = self.shared.immediate.receiver().clone();
        let outcome: Result<(), Fatal> = loop {
            select! {
                recv(queue) -> pack => {
                    let Ok(pack) = pack else { break Ok(()) };
                    if let Err(err) = self.handle_burst(pack, &queue) {
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
                    Ok(OutputControl::Drain) | Err(_) => break self.drain(&queue),
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
        let abandoned = queue.try_iter().count();
        drop(queue);
        if abandoned > 0 {
            tracing::warn!(output = %self.name, abandoned, "output stopped before delivering everything queued");
        }
        match outcome {
            Ok(()) => tracing::debug!(output = %self.name, "output stopped"),
            Err(reason) => self.terminated(reason),
        }
        // Sent but never flushed: abandoned.
        self.held.clear();
    }

    /// Handles `first` and whatever else is queued (up to [`BURST`]) without going
    /// back through `select!`, whose waker registration costs more than a message;
    /// flushes when the queue runs empty or [`FLUSH_EVERY`] acks are held.
    fn handle_burst(&mut self, first: Pack, queue: &Receiver<Pack>) -> Result<(), Fatal> {
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(pack) = next.take() {
            self.handle(pack)?;
            handled += 1;
            if self.held.len() >= FLUSH_EVERY {
                self.flush()?;
            }
            if handled < BURST {
                next = queue.try_recv().ok();
            }
        }
        if queue.is_empty() {
            self.flush()?;
        }
        Ok(())
    }

    /// Shutdown: deliver what is queued unless told to give up, then flush.
    fn drain(&mut self, queue: &Receiver<Pack>) -> Result<(), Fatal> {
        while !self.shared.abort_outputs.is_raised() {
            match queue.try_recv() {
                Ok(pack) => self.handle(pack)?,
                Err(_) => break,
            }
        }
        self.flush()
    }

    /// Encodes, frames and sends one message, retrying as the output asks.
    fn handle(&mut self, pack: Pack) -> Result<(), Fatal> {
        let Pack { msg, acks, .. } = pack;
        let mut payload: &[u8] = match &mut self.encoder {
            Some(encoder) => {
                self.encoded.clear();
                let encoded = &mut self.encoded;
                match call(|| encoder.encode(&msg, encoded)) {
                    Ok(()) => &self.encoded,
                    Err(PluginError::Skip) => {
                        done(acks);
                        return Ok(());
                    }
                    Err(PluginError::Failed(reason)) => {
                        tracing::warn!(output = %self.name, error = %reason, "encoding failed; message dropped");
                        done(acks);
                        return Ok(());
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
                done(acks);
                return Ok(());
            }
            payload = &self.framed;
        }

        let retries = self.options.retries;
        let mut delay = retries.delay;
        let mut attempts: i64 = 0;
        loop {
            let plugin = &mut self.plugin;
            match call(|| plugin.send(&msg, payload)) {
                Ok(()) => {
                    self.held.extend(acks);
                    return Ok(());
                }
                Err(OutputError::Drop(reason)) => {
                    tracing::warn!(output = %self.name, error = %reason, "output dropped a message");
                    done(acks);
                    return Ok(());
                }
                Err(OutputError::Fatal(reason)) => return Err(reason),
                Err(OutputError::Retry { reason, after }) => {
                    if retries.max_retries >= 0 && attempts >= retries.max_retries {
                        return Err(format!("giving up after {attempts} retries: {reason}"));
                    }
                    attempts += 1;
                    let wait = after.unwrap_or_else(|| delay + jitter(retries.max_jitter));
                    delay = (delay * 2).min(retries.max_delay);
                    tracing::warn!(output = %self.name, error = %reason, attempt = attempts, wait_ms = wait.as_millis() as u64, "send failed; retrying");
                    if self.shared.abort_outputs.wait_timeout(wait) {
                        // Shutdown gave up on this output: the message is abandoned.
                        drop(acks);
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Flushes; on success every held ack is delivered.
    fn flush(&mut self) -> Result<(), Fatal> {
        let plugin = &mut self.plugin;
        match call(|| plugin.flush()) {
            Ok(()) => {
                done(self.held.drain(..));
                Ok(())
            }
            Err(OutputError::Retry { reason, .. }) => {
                // Keep the acks: the next flush (queue empty, ticker, shutdown) retries.
                tracing::warn!(output = %self.name, error = %reason, held = self.held.len(), "flush failed; will retry");
                Ok(())
            }
            Err(OutputError::Drop(reason)) => {
                tracing::warn!(output = %self.name, error = %reason, dropped = self.held.len(), "flush dropped messages");
                done(self.held.drain(..));
                Ok(())
            }
            Err(OutputError::Fatal(reason)) => Err(reason),
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
        let msg = terminated_message(&self.settings, &self.name, &reason, false);
        self.router.route(Pack::new(msg, None));
        self.shared.report(Event::Exited {
            name: self.name.clone(),
            can_exit: self.options.can_exit,
            error: Some(reason),
        });
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
