//! The supervisor's side of a live change ([`crate::Change`]; the order and its
//! reasons are in `change.rs`). It runs on the supervisor's thread, which owns the
//! plugins' handles, so a change and a shutdown never interleave: a shutdown asked
//! for meanwhile starts once the change is done (each of its waits is bounded by the
//! drain timeout; a second request shortens them).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::change::{Applied, ApplyError, Change};
use crate::plugin::Encoder;
use crate::router::Route;
use crate::spec::{FilterSpec, OutputSpec};

use super::supervisor::Supervisor;
use super::{
    FilterControl, FilterHandle, FilterQueue, OutputControl, OutputHandle, Queues, Retired, filter,
    input, make_encoders, output,
};

/// A started filter waiting to be spawned: its spec, whether it takes the state of
/// the one it replaces, and its queue.
type NewFilter = (FilterSpec, bool, FilterQueue);
/// A new output waiting to be spawned, with its encoder and queue.
type NewOutput = (OutputSpec, Option<Box<dyn Encoder>>, OutputQueue);
type OutputQueue = (
    Receiver<crate::router::Batch>,
    Arc<std::sync::atomic::AtomicBool>,
);

/// The encoders of replacing outputs, made once the outputs they replace have drained
/// and dropped theirs (a sandbox encoder's `preserve_data` state saved), so they
/// restore that state.
fn remake_encoders(
    outputs: Vec<NewOutput>,
    registry: &crate::stats::Registry,
) -> Result<Vec<NewOutput>, crate::PipelineError> {
    let encoders = make_encoders(outputs.iter().map(|(spec, ..)| spec), registry)?;
    Ok(outputs
        .into_iter()
        .zip(encoders)
        .map(|((spec, _, queue), encoder)| (spec, encoder, queue))
        .collect())
}

/// The new plugins, with their queues, sorted by whether they replace a running one.
struct Prepared {
    /// The routes of every new queue.
    routes: Vec<Route>,
    added_filters: Vec<NewFilter>,
    replacing_filters: Vec<NewFilter>,
    added_outputs: Vec<NewOutput>,
    replacing_outputs: Vec<NewOutput>,
}

impl Supervisor {
    /// Applies `change` (see `change.rs` for the order).
    pub(super) fn apply(&mut self, change: Change) -> Result<Applied, ApplyError> {
        let began = Instant::now();
        let mut applied = Applied::default();
        let Change {
            remove,
            inputs,
            filters,
            outputs,
        } = change;
        let gone = |name: &str| remove.iter().any(|r| r == name);
        // 1. What can fail before anything is touched.
        let prepared = self
            .prepare(filters, outputs, &gone)
            .map_err(ApplyError::Refused)?;
        let (first_output, first_filter) = (self.outputs.len(), self.filters.len());
        if let Err(error) = self.spawn_outputs(prepared.added_outputs).and_then(|()| {
            self.spawn_filters(prepared.added_filters, &mut Vec::new(), &mut applied)
        }) {
            // Nothing routes to them: stop them at once.
            for filter in self.filters.drain(first_filter..) {
                let _ = filter.control.send(FilterControl::Stop);
            }
            for output in self.outputs.drain(first_output..) {
                output.abort.raise();
            }
            self.publish_output_controls();
            return Err(ApplyError::Refused(error));
        }
        // 2. Inputs that go.
        self.stop_removed_inputs(&gone, &mut applied);
        // 3. The table without the plugins that go, with the new queues.
        self.swap_table(&gone, prepared.routes, &mut applied);
        // 4. Outputs that go drain; their replacements start. Before the filters: a
        // retiring filter may have to inject into a replacement output.
        self.drain_outputs(&gone, &mut applied);
        let replacing = remake_encoders(prepared.replacing_outputs, &self.shared.registry)
            .map_err(ApplyError::Broken)?;
        self.spawn_outputs(replacing).map_err(ApplyError::Broken)?;
        // 5. Filters that go retire; their replacements start, then the inputs.
        let replacing = prepared.replacing_filters;
        let mut retired = self.retire_filters(&gone, &takes_of(&replacing), &mut applied);
        self.spawn_filters(replacing, &mut retired, &mut applied)
            .and_then(|()| {
                for spec in inputs {
                    let handle = input::spawn(spec, &self.settings, &self.router, &self.shared)?;
                    self.inputs.push(handle);
                }
                Ok(())
            })
            .map_err(ApplyError::Broken)?;
        self.publish_output_controls();
        applied.took = began.elapsed();
        Ok(applied)
    }

    /// The new plugins' encoders and queues (`gone`: the names that stop).
    fn prepare(
        &self,
        filters: Vec<(FilterSpec, bool)>,
        outputs: Vec<OutputSpec>,
        gone: &dyn Fn(&str) -> bool,
    ) -> Result<Prepared, crate::PipelineError> {
        let registry = &self.shared.registry;
        let encoders = make_encoders(&outputs, registry)?;
        let (filter_specs, takes): (Vec<FilterSpec>, Vec<bool>) = filters.into_iter().unzip();
        let queues = Queues::new(&self.settings, registry, &filter_specs, &outputs);
        let mut prepared = Prepared {
            routes: queues.routes,
            added_filters: Vec::new(),
            replacing_filters: Vec::new(),
            added_outputs: Vec::new(),
            replacing_outputs: Vec::new(),
        };
        for ((spec, take), queue) in filter_specs.into_iter().zip(takes).zip(queues.filters) {
            let list = if gone(spec.name.as_str()) {
                &mut prepared.replacing_filters
            } else {
                &mut prepared.added_filters
            };
            list.push((spec, take, queue));
        }
        for ((spec, encoder), queue) in outputs.into_iter().zip(encoders).zip(queues.outputs) {
            if gone(spec.name.as_str()) {
                // Made to see that it can be; made again once the output it replaces
                // has drained (`remake_encoders`). Dropped now, before that output
                // drops its own encoder, so a `preserve_data` file ends with the
                // state the old encoder saves, which the new one then restores.
                drop(encoder);
                prepared.replacing_outputs.push((spec, None, queue));
            } else {
                prepared.added_outputs.push((spec, encoder, queue));
            }
        }
        Ok(prepared)
    }

    /// Publishes the table without the plugins that go, plus `new_routes`, then waits
    /// (bounded) until no routing call uses the previous table.
    fn swap_table(
        &mut self,
        gone: &dyn Fn(&str) -> bool,
        new_routes: Vec<Route>,
        applied: &mut Applied,
    ) {
        let table = self.router.table();
        let mut routes: Vec<Route> = table
            .snapshot()
            .routes
            .iter()
            .filter(|r| !gone(&r.name))
            .cloned()
            .collect();
        routes.extend(new_routes);
        let old = table.swap(routes);
        if !self.wait_for(self.drain_timeout, |_| !old.in_use()) {
            applied.warnings.push(format!(
                "a routing call still used the old table after {:?}; what it sends to removed plugins is abandoned",
                self.drain_timeout
            ));
        }
    }

    fn spawn_outputs(&mut self, outputs: Vec<NewOutput>) -> Result<(), crate::PipelineError> {
        for (spec, encoder, (queue, registered)) in outputs {
            let handle = output::spawn(
                spec,
                queue,
                registered,
                encoder,
                &self.settings,
                &self.router,
                &self.shared,
            )?;
            self.outputs.push(handle);
        }
        self.publish_output_controls();
        Ok(())
    }

    /// Spawns `filters`; a replacement takes the state and acks its predecessor
    /// left in `retired` (by name).
    fn spawn_filters(
        &mut self,
        filters: Vec<NewFilter>,
        retired: &mut Vec<(Arc<str>, Retired)>,
        applied: &mut Applied,
    ) -> Result<(), crate::PipelineError> {
        for (mut spec, take, (queue, (pending, registered))) in filters {
            let left = retired
                .iter()
                .position(|(name, _)| **name == *spec.name)
                .map(|i| retired.swap_remove(i).1)
                .unwrap_or_default();
            match (take, &left.state) {
                (true, Some(state)) => match spec.plugin.take_over(state) {
                    Ok(()) => applied.carried.push(spec.name.clone()),
                    Err(reason) => applied.warnings.push(format!(
                        "{}: the new instance could not take over the state: {reason}",
                        spec.name
                    )),
                },
                (true, None) => applied.warnings.push(format!(
                    "{}: the old instance left no state to take over (terminated, or it keeps none)",
                    spec.name
                )),
                (false, _) => {}
            }
            let handle = filter::spawn(
                spec,
                queue,
                pending,
                registered,
                left.held,
                &self.settings,
                &self.router,
                &self.shared,
            )?;
            self.filters.push(handle);
        }
        Ok(())
    }

    /// Stops the inputs that go and waits for them (bounded).
    fn stop_removed_inputs(&mut self, gone: &dyn Fn(&str) -> bool, applied: &mut Applied) {
        let (going, staying) = std::mem::take(&mut self.inputs)
            .into_iter()
            .partition::<Vec<_>, _>(|i| gone(&i.name));
        self.inputs = staying;
        going.iter().for_each(|i| i.stop.raise());
        self.wait_for(self.drain_timeout, |_| {
            going.iter().all(|i| i.thread.is_finished())
        });
        for input in going {
            if input.thread.is_finished() {
                let _ = input.thread.join();
            } else {
                applied.warnings.push(format!(
                    "input {} did not stop in time; left behind",
                    input.name
                ));
            }
        }
    }

    /// Drains the outputs that go (the table no longer names them) and waits for
    /// them (bounded; past the drain timeout what they hold is abandoned).
    fn drain_outputs(&mut self, gone: &dyn Fn(&str) -> bool, applied: &mut Applied) {
        let (outputs, staying) = std::mem::take(&mut self.outputs)
            .into_iter()
            .partition::<Vec<OutputHandle>, _>(|o| gone(&o.name));
        self.outputs = staying;
        for o in &outputs {
            let _ = o.control.send(OutputControl::Drain);
        }
        let done = |o: &[OutputHandle]| o.iter().all(|o| o.thread.is_finished());
        if !self.wait_for(self.drain_timeout, |_| done(&outputs)) {
            for o in outputs.iter().filter(|o| !o.thread.is_finished()) {
                applied.warnings.push(format!(
                    "output {} did not drain in time; what it held is abandoned",
                    o.name
                ));
                o.abort.raise();
            }
            self.wait_for(GIVE_UP_GRACE, |_| done(&outputs));
        }
        for o in outputs {
            join_or_warn(o.thread, &o.name, applied);
        }
    }

    /// Retires the filters that go (the table no longer names them); returns what
    /// they left for their replacements (`hand_over`: those whose state goes on).
    fn retire_filters(
        &mut self,
        gone: &dyn Fn(&str) -> bool,
        hand_over: &dyn Fn(&str) -> bool,
        applied: &mut Applied,
    ) -> Vec<(Arc<str>, Retired)> {
        let (filters, staying) = std::mem::take(&mut self.filters)
            .into_iter()
            .partition::<Vec<FilterHandle>, _>(|f| gone(&f.name));
        self.filters = staying;
        let mut replies: Vec<(Arc<str>, Receiver<Retired>)> = Vec::new();
        for f in &filters {
            let (reply, answer): (Sender<Retired>, _) = crossbeam_channel::bounded(1);
            let hand_over = hand_over(&f.name);
            if f.control
                .send(FilterControl::Retire { hand_over, reply })
                .is_ok()
            {
                replies.push((f.name.clone(), answer));
            }
        }
        let done = |f: &[FilterHandle]| f.iter().all(|f| f.thread.is_finished());
        if !self.wait_for(self.drain_timeout, |_| done(&filters)) {
            for f in filters.iter().filter(|f| !f.thread.is_finished()) {
                applied.warnings.push(format!(
                    "filter {} did not drain in time; what it held is abandoned",
                    f.name
                ));
                let _ = f.control.send(FilterControl::Stop);
            }
            self.wait_for(GIVE_UP_GRACE, |_| done(&filters));
        }
        let mut left = Vec::new();
        for (name, answer) in replies {
            if let Ok(retired) = answer.try_recv() {
                left.push((name, retired));
            }
        }
        for f in filters {
            join_or_warn(f.thread, &f.name, applied);
        }
        left
    }

    /// SIGHUP's reopen reaches the outputs running now.
    fn publish_output_controls(&self) {
        if let Ok(mut controls) = self.shared.output_controls.lock() {
            *controls = self.outputs.iter().map(|o| o.control.clone()).collect();
        }
    }
}

/// After giving up on a plugin, how long it has to notice.
const GIVE_UP_GRACE: Duration = Duration::from_secs(1);

/// Whether each replacing filter takes its predecessor's state, by name.
fn takes_of(replacing: &[NewFilter]) -> impl Fn(&str) -> bool + '_ {
    move |name| {
        replacing
            .iter()
            .any(|(spec, take, _)| *take && spec.name == name)
    }
}

fn join_or_warn(thread: std::thread::JoinHandle<()>, name: &str, applied: &mut Applied) {
    if thread.is_finished() {
        let _ = thread.join();
    } else {
        applied
            .warnings
            .push(format!("{name} does not stop; left behind"));
    }
}
