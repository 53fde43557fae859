//! The supervisor: waits for a shutdown request or a plugin failure, then stops
//! hekad in Heka's order and returns the [`ExitStatus`].
//!
//! Graceful shutdown, each phase bounded by `drain_timeout`:
//! 1. raise the inputs' stop signal and wait for every input thread to end (past the
//!    deadline, blocked sends are aborted so inputs stuck on a full queue return);
//! 2. wait until every live filter has processed everything sent to it (its `pending`
//!    count is zero: injections routed too), then give each filter with
//!    `timer_event_on_shutdown` its final timer event, wait for quiescence again and
//!    stop the filters (`Filter::shutdown` is called);
//! 3. tell outputs to drain: each delivers what is queued, flushes and stops; past the
//!    deadline they are told to give up and what is left is abandoned (and logged).
//!
//! Between start and shutdown it also applies live changes (a reload that restarts
//! only what changed, `reconfigure.rs`), one at a time, on this thread.
//!
//! Any wait also ends early when hekad is told to stop at once (second request).
//! A thread that does not end even then is left behind, logged, never waited on
//! forever: the process is about to exit anyway.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use crate::change::ApplyError;
use crate::router::Router;
use crate::settings::Settings;
use crate::spec::ExitStatus;

use super::{Event, FilterControl, FilterHandle, InputHandle, OutputControl, OutputHandle, Shared};

/// How often bounded waits look again.
const POLL: Duration = Duration::from_millis(2);

/// Once told to stop at once, no wait lasts longer than this: runners watch the
/// `immediate` signal, and one that does not answer by then is left behind.
const IMMEDIATE_GRACE: Duration = Duration::from_secs(1);

pub(crate) struct Supervisor {
    pub shared: Arc<Shared>,
    pub events: Receiver<Event>,
    pub drain_timeout: Duration,
    pub inputs: Vec<InputHandle>,
    pub filters: Vec<FilterHandle>,
    pub outputs: Vec<OutputHandle>,
    pub status: ExitStatus,
    /// For the plugins a live change starts.
    pub router: Arc<Router>,
    pub settings: Arc<Settings>,
    /// Something during a live change means hekad must stop: `Some(true)` a plugin
    /// failed (the supervisor starts the shutdown), `Some(false)` one was requested.
    pub stop_after: Option<bool>,
}

impl Supervisor {
    pub(crate) fn run(mut self) -> ExitStatus {
        // The loop also ends if every sender is gone (cannot happen while `shared` lives).
        while let Ok(event) = self.events.recv() {
            match event {
                Event::Shutdown => break,
                Event::Apply(change, reply) => {
                    let result = if self.shared.is_shutting_down() {
                        Err(ApplyError::Stopping)
                    } else {
                        tracing::info!(?change, "applying a live change");
                        self.apply(*change)
                    };
                    let _ = reply.send(result);
                    match self.stop_after {
                        Some(true) => {
                            self.shared.mark_shutting_down();
                            break;
                        }
                        Some(false) => break,
                        None => {}
                    }
                }
                event => {
                    if self.on_exit(event) {
                        self.shared.mark_shutting_down();
                        break;
                    }
                }
            }
        }
        self.shutdown();
        tracing::info!(status = ?self.status, "pipeline stopped");
        self.status
    }

    /// A plugin ended on its own. True when that must stop hekad.
    fn on_exit(&mut self, event: Event) -> bool {
        let Event::Exited {
            name,
            can_exit,
            error,
        } = event
        else {
            return false;
        };
        match error {
            None if can_exit => false,
            None => {
                tracing::info!(input = %name, "input with can_exit = false finished; shutting down");
                true
            }
            Some(_) if can_exit => false,
            Some(reason) => {
                if self.status == ExitStatus::Clean {
                    self.status = ExitStatus::PluginFailed(name.to_string(), reason);
                }
                true
            }
        }
    }

    /// Handles events that arrive while stopping or applying a change (failures
    /// still decide the status; a shutdown asked for during a change is noted).
    fn poll_events(&mut self, timeout: Duration) {
        if let Ok(event) = self.events.recv_timeout(timeout) {
            self.on_event(event);
        }
        while let Ok(event) = self.events.try_recv() {
            self.on_event(event);
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Shutdown => {
                self.stop_after.get_or_insert(false);
            }
            // One change at a time; none once stopping.
            Event::Apply(_, reply) => {
                let _ = reply.send(Err(ApplyError::Stopping));
            }
            event => {
                if self.on_exit(event) {
                    self.stop_after = Some(true);
                }
            }
        }
    }

    /// Polls `done` until it holds or `timeout` passes (or hekad stops at once, in
    /// which case one more bounded look is given). True when `done` held.
    pub(super) fn wait_for(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> bool {
        let mut deadline = Instant::now() + timeout;
        let mut shortened = false;
        loop {
            if done(self) {
                return true;
            }
            let now = Instant::now();
            if !shortened && self.shared.immediate.is_raised() {
                deadline = deadline.min(now + IMMEDIATE_GRACE);
                shortened = true;
            }
            if now >= deadline {
                return false;
            }
            self.poll_events(POLL.min(deadline - now));
        }
    }

    /// Heka's shutdown order: inputs, then filters, then outputs.
    fn shutdown(&mut self) {
        self.stop_inputs();
        self.stop_filters();
        self.stop_outputs();
        self.poll_events(Duration::ZERO);
    }

    /// 1. Inputs.
    fn stop_inputs(&mut self) {
        let timeout = self.drain_timeout;
        self.shared.input_stop.raise();
        if !self.wait_for(timeout, |s| s.inputs.iter().all(|i| i.thread.is_finished())) {
            tracing::warn!("inputs did not stop in time; aborting blocked deliveries");
            self.shared.abort_routing.raise();
            if !self.wait_for(timeout, |s| s.inputs.iter().all(|i| i.thread.is_finished())) {
                for input in self.inputs.iter().filter(|i| !i.thread.is_finished()) {
                    tracing::error!(input = %input.name, "input ignores the stop signal; leaving it behind");
                }
            }
        }
        for input in std::mem::take(&mut self.inputs) {
            if input.thread.is_finished() {
                let _ = input.thread.join();
            }
        }
    }

    /// 2. Filters: drain, final timer events, drain again, stop.
    fn stop_filters(&mut self) {
        let timeout = self.drain_timeout;
        if !self.wait_for(timeout, filters_quiescent) {
            tracing::warn!("filters did not drain in time; aborting blocked deliveries");
            self.shared.abort_routing.raise();
        }
        self.final_timer_events();
        if !self.wait_for(timeout, filters_quiescent) {
            tracing::warn!("filters did not drain after their final timer events");
            self.shared.abort_routing.raise();
        }
        for filter in &self.filters {
            let _ = filter.control.send(FilterControl::Stop);
        }
        if !self.wait_for(timeout, |s| {
            s.filters.iter().all(|f| f.thread.is_finished())
        }) {
            for filter in self.filters.iter().filter(|f| !f.thread.is_finished()) {
                tracing::error!(filter = %filter.name, "filter does not stop; leaving it behind");
            }
        }
        for filter in std::mem::take(&mut self.filters) {
            if filter.thread.is_finished() {
                let _ = filter.thread.join();
            }
        }
    }

    /// The final timer events of the filters with `timer_event_on_shutdown`.
    fn final_timer_events(&mut self) {
        // One reply channel per filter: a filter that dies instead of replying must
        // not be waited for.
        let mut waiting = Vec::new();
        for (index, filter) in self.filters.iter().enumerate() {
            if !filter.timer_event_on_shutdown || !filter.alive.load(Ordering::Acquire) {
                continue;
            }
            let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
            if filter
                .control
                .send(FilterControl::FinalTimer(reply_tx))
                .is_ok()
            {
                waiting.push((index, reply_rx));
            }
        }
        let expected = waiting.len();
        self.wait_for(self.drain_timeout, |s| {
            waiting.retain(|(index, reply)| {
                reply.try_recv().is_err() && s.filters[*index].alive.load(Ordering::Acquire)
            });
            waiting.is_empty()
        });
        let replies = expected - waiting.len();
        if replies < expected {
            tracing::warn!(
                missing = expected - replies,
                "final timer events did not all complete in time"
            );
        }
    }

    /// 3. Outputs: deliver what is queued, flush, stop.
    fn stop_outputs(&mut self) {
        let timeout = self.drain_timeout;
        for output in &self.outputs {
            let _ = output.control.send(OutputControl::Drain);
        }
        if !self.wait_for(timeout, |s| {
            s.outputs.iter().all(|o| o.thread.is_finished())
        }) {
            tracing::warn!("outputs did not drain in time; abandoning what is still queued");
            self.shared.abort_outputs.raise();
            self.shared.abort_routing.raise();
            if !self.wait_for(timeout, |s| {
                s.outputs.iter().all(|o| o.thread.is_finished())
            }) {
                for output in self.outputs.iter().filter(|o| !o.thread.is_finished()) {
                    tracing::error!(output = %output.name, "output does not stop; leaving it behind");
                }
            }
        }
        for output in std::mem::take(&mut self.outputs) {
            if output.thread.is_finished() {
                let _ = output.thread.join();
            }
        }
    }
}

/// Every live filter has processed (and routed the injections of) all it was sent.
fn filters_quiescent(s: &Supervisor) -> bool {
    s.filters
        .iter()
        .all(|f| !f.alive.load(Ordering::Acquire) || f.pending.load(Ordering::Acquire) == 0)
}
