//! Filter runner: one thread per filter, waiting on its queue, its ticker, control
//! messages from the supervisor and the "stop at once" signal.
//!
//! Whatever is queued when the thread wakes is taken as one batch (up to
//! [`MAX_BATCH`]) and handed to `process_batch`, so a wasm filter crosses into its
//! guest once per batch. Injections are collected during the call and routed after
//! it, from this thread, with the loop count raised. The filter's `pending` counter
//! drops only once a batch's injections are routed: the supervisor reads it to know
//! when filters are quiescent at shutdown.
//!
//! A reload retires a filter it removes or replaces (`FilterControl::Retire`): once the
//! router no longer sends to it, the runner processes what is queued and either stops
//! as at shutdown or hands its state and held acks to its replacement, which starts
//! with them ([`spawn`]'s `held`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, never, select, tick};

use crate::clock::now_ns;
use crate::context::{Filter, FilterContext};
use crate::pack::Pack;
use crate::plugin::PluginError;
use crate::router::{Batch, Inbox, Router};
use crate::settings::Settings;
use crate::spec::{FilterSpec, PipelineError};
use crate::stats::{PluginKind, PluginState, PluginStats};

use super::{
    AliveGuard, Event, FilterControl, FilterHandle, Retired, Shared, panic_reason,
    spawn as spawn_thread, terminated_message,
};

/// Most messages handed to one `process_batch` call (the sandbox memory bound uses
/// it too, so it lives in `settings`).
const MAX_BATCH: usize = crate::settings::FILTER_BATCH;

/// Starts a filter on `queue`. `held`: acks a retired instance of it handed over
/// (released with this one's next injection or timer event, as its own).
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn(
    spec: FilterSpec,
    queue: Receiver<Batch>,
    pending: Arc<AtomicUsize>,
    registered: Arc<AtomicBool>,
    held: Vec<crate::ack::Ack>,
    settings: &Arc<Settings>,
    router: &Arc<Router>,
    shared: &Arc<Shared>,
) -> Result<FilterHandle, PipelineError> {
    let FilterSpec {
        name,
        mut plugin,
        options,
    } = spec;
    let name: Arc<str> = Arc::from(name);
    let (control_tx, control_rx) = crossbeam_channel::unbounded();
    let alive = Arc::new(AtomicBool::new(true));
    let stats = shared.registry.plugin(&name, PluginKind::Filter);
    stats.set_state(PluginState::Running);
    stats
        .sandbox_outputs()
        .set_max_names(settings.max_sandbox_outputs);
    plugin.attach_stats(&stats);
    let mut ctx = FilterContext::new(
        name.clone(),
        settings,
        Some(options.matcher.clone()),
        Some(shared.abort_routing.clone()),
    );
    ctx.adopt_held(held);
    let runner = FilterRunner {
        name: name.clone(),
        plugin,
        ctx,
        has_ticker: options.ticker_interval.is_some_and(|d| !d.is_zero()),
        options: options.clone(),
        pending: pending.clone(),
        registered,
        router: router.clone(),
        settings: settings.clone(),
        shared: shared.clone(),
        stats,
    };
    let guard = AliveGuard(alive.clone());
    let thread = spawn_thread(format!("filter-{name}"), move || {
        let _guard = guard;
        runner.run(queue, control_rx);
    })?;
    Ok(FilterHandle {
        name,
        control: control_tx,
        pending,
        alive,
        timer_event_on_shutdown: options.timer_event_on_shutdown,
        thread,
    })
}

struct FilterRunner {
    name: Arc<str>,
    plugin: Box<dyn Filter>,
    ctx: FilterContext,
    options: crate::settings::FilterOptions,
    has_ticker: bool,
    pending: Arc<AtomicUsize>,
    registered: Arc<AtomicBool>,
    router: Arc<Router>,
    settings: Arc<Settings>,
    shared: Arc<Shared>,
    stats: Arc<PluginStats>,
}

impl FilterRunner {
    fn run(mut self, queue: Receiver<Batch>, control: Receiver<FilterControl>) {
        let mut inbox = Inbox::new(queue);
        let queue = inbox.receiver().clone();
        let ticker = match self.options.ticker_interval {
            Some(interval) if !interval.is_zero() => tick(interval),
            _ => never(),
        };
        let immediate = self.shared.immediate.receiver().clone();
        let mut ticking = true;
        let mut batch: Vec<Pack> = Vec::with_capacity(MAX_BATCH);
        // Retired with a hand-over: `shutdown` is not called (the state lives on).
        let mut handed_over = false;
        let outcome: Result<(), PluginError> = loop {
            select! {
                recv(queue) -> received => {
                    // The router holds a sender for as long as the pipeline lives.
                    let Ok(received) = received else { break Ok(()) };
                    inbox.push(received);
                    // Up to MAX_BATCH per call, until nothing received is left here.
                    let mut result = Ok(());
                    while result.is_ok() && inbox.has_buffered() {
                        while batch.len() < MAX_BATCH {
                            match inbox.try_recv() {
                                Some(pack) => batch.push(pack),
                                None => break,
                            }
                        }
                        result = self.process(&mut batch);
                    }
                    if let Err(err) = result {
                        break Err(err);
                    }
                }
                recv(ticker) -> _ => {
                    if ticking && let Err(err) = self.timer() {
                        break Err(err);
                    }
                }
                recv(control) -> request => match request {
                    Ok(FilterControl::FinalTimer(reply)) => {
                        // The last timer event: later ticks would only repeat it.
                        ticking = false;
                        let result = if self.options.timer_event_on_shutdown { self.timer() } else { Ok(()) };
                        let _ = reply.send(());
                        if let Err(err) = result {
                            break Err(err);
                        }
                    }
                    Ok(FilterControl::Retire { hand_over, reply }) => {
                        match self.retire(&mut inbox, &mut batch, hand_over) {
                            Ok(retired) => {
                                handed_over = hand_over;
                                let _ = reply.send(retired);
                                break Ok(());
                            }
                            Err(err) => break Err(err),
                        }
                    }
                    Ok(FilterControl::Stop) | Err(_) => break Ok(()),
                },
                recv(immediate) -> _ => break Ok(()),
            }
        };
        if outcome.is_err() {
            // Unregistered: later messages are no longer routed to this filter.
            self.registered.store(false, Ordering::Release);
        }
        // Later sends fail at once once the queue is dropped; what it holds is
        // abandoned here (a channel keeps its buffer while senders live).
        let abandoned = inbox.abandon_all() + batch.len();
        drop(queue);
        drop(inbox);
        drop(batch);
        // `pending` is left as is: the supervisor ignores filters that are not alive.
        self.ctx.abandon_held();
        if abandoned > 0 {
            tracing::warn!(filter = %self.name, abandoned, "filter stopped with messages queued");
        }
        match outcome {
            Ok(()) if handed_over => {
                self.stats.set_state(PluginState::Stopped);
                tracing::debug!(filter = %self.name, "filter retired; its state was handed over");
            }
            Ok(()) => {
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.plugin.shutdown())) {
                    tracing::error!(filter = %self.name, error = %panic_reason(panic), "filter shutdown failed");
                }
                self.stats.set_state(PluginState::Stopped);
                tracing::debug!(filter = %self.name, failures = self.ctx.failures(), "filter stopped");
            }
            Err(err) => self.terminated(err),
        }
    }

    /// Reload: processes everything queued (nothing more is routed here), then hands
    /// the state and held acks over, or runs the final timer event when configured.
    fn retire(
        &mut self,
        inbox: &mut Inbox,
        batch: &mut Vec<Pack>,
        hand_over: bool,
    ) -> Result<Retired, PluginError> {
        while let Some(pack) = inbox.try_recv() {
            batch.push(pack);
            if batch.len() >= MAX_BATCH {
                self.process(batch)?;
            }
        }
        if !batch.is_empty() {
            self.process(batch)?;
        }
        if !hand_over {
            if self.options.timer_event_on_shutdown {
                self.timer()?;
            }
            return Ok(Retired::default());
        }
        let plugin = &mut self.plugin;
        let state = catch_unwind(AssertUnwindSafe(|| plugin.hand_over())).unwrap_or_else(|p| {
            tracing::error!(filter = %self.name, error = %panic_reason(p), "hand_over failed");
            None
        });
        Ok(Retired {
            state,
            held: self.ctx.take_held(),
        })
    }

    /// Processes one batch, routes its injections, then counts it as no longer pending.
    fn process(&mut self, batch: &mut Vec<Pack>) -> Result<(), PluginError> {
        self.ctx.start_batch(batch);
        self.stats.received_messages.add(batch.len() as u64);
        let failures = self.ctx.failures();
        let plugin = &mut self.plugin;
        let ctx = &mut self.ctx;
        let call = self.stats.call();
        let result = catch_unwind(AssertUnwindSafe(|| plugin.process_batch(batch, ctx)))
            .unwrap_or_else(|p| Err(panic_reason(p)));
        drop(call);
        self.stats
            .processing_errors
            .add(self.ctx.failures().saturating_sub(failures));
        let count = batch.len();
        batch.clear();
        let result = match result {
            Ok(()) | Err(PluginError::Skip) => {
                self.ctx.end_batch(self.has_ticker);
                self.route_injected();
                Ok(())
            }
            // The contract: an error from process_batch as a whole is fatal.
            Err(PluginError::Failed(reason) | PluginError::Fatal(reason)) => {
                Err(PluginError::Fatal(reason))
            }
        };
        self.pending.fetch_sub(count, Ordering::AcqRel);
        result
    }

    fn timer(&mut self) -> Result<(), PluginError> {
        self.ctx.start_timer();
        self.stats.timer_events.inc();
        let plugin = &mut self.plugin;
        let ctx = &mut self.ctx;
        let call = self.stats.call();
        let result = catch_unwind(AssertUnwindSafe(|| plugin.timer_event(now_ns(), ctx)))
            .unwrap_or_else(|p| Err(panic_reason(p)));
        drop(call);
        match result {
            Ok(()) | Err(PluginError::Skip) => {}
            Err(PluginError::Failed(reason)) => {
                tracing::warn!(filter = %self.name, error = %reason, "timer_event failed");
            }
            Err(fatal @ PluginError::Fatal(_)) => return Err(fatal),
        }
        self.ctx.end_timer();
        self.route_injected();
        Ok(())
    }

    /// Routes what the last call injected, as one batch per matching plugin (a batch
    /// of messages processed together may inject several).
    fn route_injected(&mut self) {
        let mut packs: Vec<Pack> = self.ctx.take_injected_packs().collect();
        self.stats.sent_messages.add(packs.len() as u64);
        match packs.len() {
            0 => {}
            1 => {
                if let Some(pack) = packs.pop() {
                    self.router.route(pack);
                }
            }
            _ => {
                self.router.route_batch(&mut packs);
            }
        }
    }

    /// The filter is terminated: say so with a message, and tell the supervisor
    /// (which stops hekad unless `can_exit`).
    fn terminated(&mut self, err: PluginError) {
        let reason = match err {
            PluginError::Fatal(reason) | PluginError::Failed(reason) => reason,
            PluginError::Skip => "skipped".to_owned(),
        };
        tracing::error!(filter = %self.name, error = %reason, can_exit = self.options.can_exit, "filter terminated");
        self.shared.registry.terminated(&self.stats, &reason);
        let msg = terminated_message(&self.settings, &self.name, &reason, self.options.is_sandbox);
        self.router.route(Pack::new(msg, None));
        self.shared.report(Event::Exited {
            name: self.name.clone(),
            can_exit: self.options.can_exit,
            error: Some(reason),
        });
    }
}
