//! [`FilterContext`]: what a filter may do during a call (inject, report a failed
//! message), the [`Filter`] trait that receives it, and the state behind it: the
//! injection limits and the acknowledgement bookkeeping.
//!
//! Injections are checked as Heka's sandbox did (per-call count, loop depth,
//! circular matches; see [`InjectError`]) and queued; the filter runner routes them
//! after the call.
//!
//! Filter acks follow one rule (issue 7): a filter holds the acks of every message it
//! has seen since its last injection; the next injection carries them (a clone to each
//! message injected by the same call), so an input record counts as delivered only once
//! what the filter made of it is delivered. A call that injects nothing keeps holding,
//! except a timer event (or, for a filter without a ticker, a whole batch) that injects
//! nothing: then the filter has consumed those messages for good and their acks are
//! done. Failed messages' acks are done at once (dropped on purpose, counted, logged).

use std::sync::Arc;

use heka_message::{Matcher, Message};

use crate::ack::Ack;
use crate::clock::stamped_message;
use crate::limit::{CallKind, InjectCounter, LimitExceeded};
use crate::pack::{Acks, Pack};
use crate::plugin::{PluginError, PluginResult};
use crate::settings::Settings;
use crate::stats::PluginStats;
use crate::stop::StopSignal;

/// Why a filter's injection was refused (Heka raises these inside the sandbox).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// More injections in one call than `max_process_inject` / `max_timer_inject`
    /// (the sandbox contract's rule and wording).
    #[error(transparent)]
    TooMany(LimitExceeded),
    /// The message is already `max_message_loops` injections deep.
    #[error("exceeded MaxMsgLoops ({limit})")]
    TooManyLoops { limit: usize },
    /// The injected message matches the filter's own `message_matcher`.
    #[error("creates a circular reference (matches this filter's message_matcher)")]
    Circular,
    /// hekad is shutting down and the message cannot be routed any more.
    #[error("aborted")]
    Aborted,
}

/// Consumes routed messages and may inject new ones (Heka's filters).
pub trait Filter: Send {
    /// Called once per message matched by the filter's `message_matcher`.
    fn process_message(&mut self, msg: &Message, ctx: &mut FilterContext) -> PluginResult;

    /// Called every `ticker_interval` seconds (and once more at shutdown when
    /// `timer_event_on_shutdown` is set) with the current time in ns.
    fn timer_event(&mut self, _now_ns: i64, _ctx: &mut FilterContext) -> PluginResult {
        Ok(())
    }

    /// Processes what was queued, in order. The default calls `process_message` for
    /// each; sandboxes override it to cross into the guest once per batch. Per-message
    /// `Failed` outcomes are reported with [`FilterContext::message_failed`]; an `Err`
    /// is fatal for the plugin. Before each message's work, implementations call
    /// [`FilterContext::begin_message`] with its index so injections are attributed.
    fn process_batch(&mut self, batch: &[Pack], ctx: &mut FilterContext) -> PluginResult {
        for (i, pack) in batch.iter().enumerate() {
            ctx.begin_message(i);
            match self.process_message(&pack.msg, ctx) {
                Ok(()) | Err(PluginError::Skip) => {}
                Err(PluginError::Failed(reason)) => ctx.message_failed(i, reason),
                Err(fatal @ PluginError::Fatal(_)) => return Err(fatal),
            }
        }
        Ok(())
    }

    /// Called once when the filter stops cleanly (after the final timer event), e.g.
    /// to preserve state. Not called after a fatal error.
    fn shutdown(&mut self) {}

    /// A reload replaces this filter by a changed version of itself (same name and
    /// type): the state to hand over, asked for after its last message, instead of
    /// [`Filter::shutdown`]. `None`: nothing to hand over (native filters, a terminated
    /// sandbox). Sandboxes give their `preserve_data` state (and also write their
    /// `preserve_data` file when that is on).
    fn hand_over(&mut self) -> Option<Vec<u8>> {
        None
    }

    /// The replacing instance takes over [`Filter::hand_over`]'s state before its first
    /// call. `Err`: it could not (the reload reports why; the filter runs on with the
    /// state it started with).
    fn take_over(&mut self, _state: &[u8]) -> Result<(), String> {
        Err("this filter cannot take over state".into())
    }

    /// Called once by the runner before the first call with the plugin's stats;
    /// sandboxes keep them to report their gauges after each call.
    fn attach_stats(&mut self, _stats: &Arc<PluginStats>) {}
}

/// Handed to a filter for each call: injection, failure reporting and identity.
/// It holds the filter's injection limits, the current call, held acks and pending
/// injections.
pub struct FilterContext {
    name: Arc<str>,
    hostname: String,
    pid: i32,
    /// The filter's own matcher: an injection it matches would loop (Heka: circular).
    matcher: Option<Matcher>,
    max_loops: u8,
    /// Heka's injection count rule, from the sandbox contract.
    counter: InjectCounter,
    /// Raised when hekad stops at once: injections are refused as `Aborted`.
    abort: Option<StopSignal>,

    current_loops: u8,
    /// The current unit (message or timer call) injected at least once.
    unit_injected: bool,
    /// Some injection happened during the current batch.
    batch_injected: bool,
    /// Acks of messages seen since the last injection.
    held: Vec<Ack>,
    /// The current batch's acks (taken out of its packs), until the filter reaches them.
    batch_acks: Vec<Acks>,
    batch_loops: Vec<u8>,
    /// Injections waiting to be routed after the current call.
    injected: Vec<Pack>,
    failures: u64,
    /// Standalone contexts: the reasons of the failures, up to `KEPT_FAILURES`
    /// (`hekad test` shows them); `None` in hekad, where they are logged only.
    failure_reasons: Option<Vec<String>>,
}

/// The most failure reasons a standalone context keeps.
const KEPT_FAILURES: usize = 100;

impl FilterContext {
    /// The filter's section name (Heka forces Logger = this on sandbox injections).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// hekad's hostname (injected messages carry it).
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// A message with Heka's inject-pool defaults: fresh Uuid, Timestamp = now,
    /// Hostname = hekad's, Pid = hekad's, Logger = the filter's name.
    pub fn new_message(&self) -> Message {
        stamped_message(&self.name, &self.hostname, self.pid)
    }

    /// Queues a message for routing after the current call. Refused past
    /// `max_process_inject` per message (or `max_timer_inject` per timer event), when the
    /// current message is `max_message_loops` deep, or when the message would match
    /// the filter's own matcher.
    pub fn inject(&mut self, msg: Message) -> Result<(), InjectError> {
        if self.abort.as_ref().is_some_and(StopSignal::is_raised) {
            return Err(InjectError::Aborted);
        }
        if self.current_loops >= self.max_loops {
            return Err(InjectError::TooManyLoops {
                limit: self.max_loops as usize,
            });
        }
        if self.matcher.as_ref().is_some_and(|m| m.matches(&msg)) {
            return Err(InjectError::Circular);
        }
        self.counter.count(0).map_err(InjectError::TooMany)?;
        self.unit_injected = true;
        self.batch_injected = true;
        self.injected.push(Pack {
            msg: Arc::new(msg),
            loops: self.current_loops + 1,
            acks: self.held.iter().cloned().collect(),
            // An injected message is the filter's, signed by nobody.
            signer: None,
        });
        Ok(())
    }

    /// Marks the start of work on message `index` of the current batch.
    pub fn begin_message(&mut self, index: usize) {
        self.end_unit();
        self.counter.begin(CallKind::Process);
        self.current_loops = self.batch_loops.get(index).copied().unwrap_or(0);
        if let Some(acks) = self.batch_acks.get_mut(index) {
            crate::ack::hold(&mut self.held, acks.drain(..));
        }
    }

    /// Reports that message `index` of the current batch failed (Heka's negative
    /// return): it is counted and logged, the filter lives on.
    pub fn message_failed(&mut self, index: usize, reason: String) {
        self.failures += 1;
        tracing::warn!(filter = %self.name, index, error = %reason, "process_message failed; message dropped");
        if let Some(kept) = &mut self.failure_reasons
            && kept.len() < KEPT_FAILURES
        {
            kept.push(reason);
        }
        // Not reached yet by begin_message: done now. Already held: those acks go
        // with the next injection or timer, which also ends them; nothing is lost.
        if let Some(acks) = self.batch_acks.get_mut(index) {
            for ack in acks.drain(..) {
                ack.done();
            }
        }
    }

    /// A context outside any pipeline, for testing filters: injections are checked
    /// as in hekad (limits, loops, `matcher` for circular injections) and collected
    /// for [`FilterContext::take_injected`].
    pub fn standalone(name: &str, settings: &Settings, matcher: Option<Matcher>) -> FilterContext {
        let mut ctx = FilterContext::new(Arc::from(name), settings, matcher, None);
        ctx.failure_reasons = Some(Vec::new());
        ctx
    }

    /// Standalone contexts: the reasons of the failures reported since the last call
    /// (the first 100).
    pub fn take_failure_reasons(&mut self) -> Vec<String> {
        self.failure_reasons
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Standalone contexts: the next injections belong to a timer event (the
    /// `max_timer_inject` limit applies). The runner does this itself in hekad.
    pub fn begin_timer(&mut self) {
        self.start_timer()
    }

    /// Standalone contexts: the messages injected so far, in order.
    pub fn take_injected(&mut self) -> Vec<Message> {
        self.injected
            .drain(..)
            .map(|p| Arc::unwrap_or_clone(p.msg))
            .collect()
    }

    /// How many messages were reported failed so far.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    // ---- the filter runner's side ------------------------------------------

    /// The context of filter `name`; `abort` makes injections fail as `Aborted`.
    pub(crate) fn new(
        name: Arc<str>,
        settings: &Settings,
        matcher: Option<Matcher>,
        abort: Option<StopSignal>,
    ) -> FilterContext {
        FilterContext {
            name,
            hostname: settings.hostname.clone(),
            pid: settings.pid,
            matcher,
            // Heka: 0 is treated as 1.
            max_loops: settings.max_message_loops.max(1),
            counter: InjectCounter::new(settings.max_process_inject, settings.max_timer_inject),
            abort,
            current_loops: 0,
            unit_injected: false,
            batch_injected: false,
            held: Vec::new(),
            batch_acks: Vec::new(),
            batch_loops: Vec::new(),
            injected: Vec::new(),
            failures: 0,
            failure_reasons: None,
        }
    }

    /// The unit (message or timer call) is over: if it injected, the injections now
    /// hold every held ack, so the filter's own shares are finished.
    fn end_unit(&mut self) {
        if self.unit_injected {
            self.release_held();
            self.unit_injected = false;
        }
    }

    fn release_held(&mut self) {
        for ack in self.held.drain(..) {
            ack.done();
        }
    }

    /// Runner: a batch is about to be processed; takes its acks and loop counts.
    pub(crate) fn start_batch(&mut self, batch: &mut [Pack]) {
        self.batch_acks.clear();
        self.batch_loops.clear();
        for pack in batch.iter_mut() {
            self.batch_acks.push(std::mem::take(&mut pack.acks));
            self.batch_loops.push(pack.loops);
        }
        self.counter.begin(CallKind::Process);
        self.unit_injected = false;
        self.batch_injected = false;
        self.current_loops = 0;
    }

    /// Runner: the batch was processed. Messages the filter never announced with
    /// `begin_message` count as seen. A filter without a ticker that injected nothing
    /// in the whole batch has consumed the batch for good.
    pub(crate) fn end_batch(&mut self, has_ticker: bool) {
        self.end_unit();
        for acks in self.batch_acks.iter_mut() {
            crate::ack::hold(&mut self.held, acks.drain(..));
        }
        self.batch_acks.clear();
        if !has_ticker && !self.batch_injected {
            self.release_held();
        }
    }

    /// Runner: a timer event is about to run.
    pub(crate) fn start_timer(&mut self) {
        self.end_unit();
        self.counter.begin(CallKind::Timer);
        self.unit_injected = false;
        // A timer's injections start a new chain (loop count 1).
        self.current_loops = 0;
    }

    /// Runner: the timer event returned. One that injected nothing ends the held acks.
    pub(crate) fn end_timer(&mut self) {
        if self.unit_injected {
            self.end_unit();
        } else {
            self.release_held();
        }
        self.counter.begin(CallKind::Process);
    }

    /// Runner: the injections of the last call, to be routed.
    pub(crate) fn take_injected_packs(&mut self) -> std::vec::Drain<'_, Pack> {
        self.injected.drain(..)
    }

    /// The filter stops or dies: what it still holds is abandoned (its input records
    /// will be read again rather than lost).
    pub(crate) fn abandon_held(&mut self) {
        self.held.clear();
        self.batch_acks.clear();
        self.injected.clear();
    }

    /// Reload: the acks held for the instance replacing this filter (their messages'
    /// effect is in the state handed over).
    pub(crate) fn take_held(&mut self) -> Vec<Ack> {
        std::mem::take(&mut self.held)
    }

    /// Reload: acks a retired instance handed over, held as this filter's own.
    pub(crate) fn adopt_held(&mut self, acks: Vec<Ack>) {
        crate::ack::hold(&mut self.held, acks);
    }

    /// How many acks the filter holds.
    #[cfg(test)]
    pub(crate) fn held_count(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::test_support::{Record, settings};

    fn packs(sink: &Arc<Record>, ids: &[u64], loops: u8) -> Vec<Pack> {
        ids.iter()
            .map(|&id| {
                let mut p = Pack::new(Message::default(), Some(Ack::new(id, sink.clone())));
                p.loops = loops;
                p
            })
            .collect()
    }

    fn typed(t: &str) -> Message {
        Message {
            r#type: Some(t.into()),
            ..Default::default()
        }
    }

    #[test]
    fn inject_limits_per_message_and_timer() {
        let mut f = FilterContext::new("f".into(), &settings(), None, None);
        let mut batch = packs(&Arc::new(Record::default()), &[1, 2], 0);
        f.start_batch(&mut batch);
        f.begin_message(0);
        assert_eq!(f.inject(typed("a")), Ok(()));
        assert_eq!(
            f.inject(typed("a")),
            Err(InjectError::TooMany(LimitExceeded::InjectCount {
                limit: 1,
                per: "process_message"
            }))
        );
        f.begin_message(1);
        assert_eq!(f.inject(typed("a")), Ok(()), "the limit is per message");
        f.end_batch(false);
        assert_eq!(f.take_injected_packs().count(), 2);

        f.start_timer();
        for _ in 0..10 {
            assert_eq!(f.inject(typed("t")), Ok(()));
        }
        assert_eq!(
            f.inject(typed("t")),
            Err(InjectError::TooMany(LimitExceeded::InjectCount {
                limit: 10,
                per: "timer_event"
            }))
        );
        f.end_timer();
        let loops: Vec<u8> = f.take_injected_packs().map(|p| p.loops).collect();
        assert_eq!(loops, vec![1; 10]);
    }

    #[test]
    fn loop_limit_and_circular_injection_are_refused() {
        let matcher = Matcher::parse("Type == 'loop'").unwrap();
        let mut f = FilterContext::new("f".into(), &settings(), Some(matcher), None);
        let sink = Arc::new(Record::default());
        let mut batch = packs(&sink, &[1], 3);
        batch.extend(packs(&sink, &[2], 4));
        f.start_batch(&mut batch);
        f.begin_message(0);
        assert_eq!(f.inject(typed("loop")), Err(InjectError::Circular));
        assert_eq!(f.inject(typed("other")), Ok(()));
        f.begin_message(1);
        assert_eq!(
            f.inject(typed("other")),
            Err(InjectError::TooManyLoops { limit: 4 })
        );
        f.end_batch(true);
        let loops: Vec<u8> = f.take_injected_packs().map(|p| p.loops).collect();
        assert_eq!(loops, vec![4]);

        let abort = StopSignal::new();
        let mut f = FilterContext::new("f".into(), &settings(), None, Some(abort.clone()));
        abort.raise();
        f.start_timer();
        assert_eq!(f.inject(typed("x")), Err(InjectError::Aborted));
    }

    #[test]
    fn held_acks_travel_with_the_next_injection() {
        let sink = Arc::new(Record::default());
        let mut f = FilterContext::new("f".into(), &settings(), None, None);
        let mut batch = packs(&sink, &[1, 2], 0);
        f.start_batch(&mut batch);
        f.begin_message(0);
        f.begin_message(1);
        f.end_batch(true);
        assert_eq!(
            f.held_count(),
            2,
            "a filter with a ticker holds what it saw"
        );
        assert!(sink.0.lock().unwrap().is_empty());

        f.start_timer();
        f.inject(typed("report")).unwrap();
        f.inject(typed("report2")).unwrap();
        f.end_timer();
        assert_eq!(f.held_count(), 0);
        let injected: Vec<Pack> = f.take_injected_packs().collect();
        assert!(
            sink.0.lock().unwrap().is_empty(),
            "both injections hold units 1 and 2"
        );
        let mut injected = injected.into_iter();
        injected.next().unwrap().done();
        assert!(sink.0.lock().unwrap().is_empty());
        injected.next().unwrap().done();
        let mut got = sink.0.lock().unwrap().clone();
        got.sort();
        assert_eq!(got, vec![(1, true), (2, true)]);
    }

    #[test]
    fn quiet_timer_or_tickerless_batch_releases_and_failures_are_done() {
        let sink = Arc::new(Record::default());
        let mut f = FilterContext::new("f".into(), &settings(), None, None);
        let mut batch = packs(&sink, &[1, 2], 0);
        f.start_batch(&mut batch);
        f.begin_message(0);
        f.message_failed(1, "bad".into());
        assert_eq!(*sink.0.lock().unwrap(), vec![(2, true)]);
        f.end_batch(true);
        f.start_timer();
        f.end_timer();
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(1, true)));
        assert_eq!(f.failures, 1);

        let mut batch = packs(&sink, &[3], 0);
        f.start_batch(&mut batch);
        f.begin_message(0);
        f.end_batch(false);
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(3, true)));

        let mut batch = packs(&sink, &[4], 0);
        f.start_batch(&mut batch);
        f.end_batch(true);
        f.abandon_held();
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(4, false)));
    }
}
