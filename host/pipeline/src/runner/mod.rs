//! One thread per plugin (`input`, `filter`, `output`) plus the `supervisor` that
//! decides when hekad stops and runs the shutdown order.
//!
//! Threads talk through channels only: packs flow through the bounded plugin queues
//! (via the router), plugin exits are reported to the supervisor as [`Event`]s, and the
//! supervisor steers filters and outputs with control messages. Four one-shot signals
//! make every wait interruptible:
//! - `input_stop`: inputs return from `run` (first phase of a shutdown);
//! - `abort_routing`: blocked sends into full queues give up (a phase overran its
//!   deadline, or a second shutdown request);
//! - `abort_outputs`: outputs stop retrying and abandon what is queued;
//! - `immediate`: every runner stops at once (second shutdown request).

mod filter;
mod input;
mod output;
mod reconfigure;
mod supervisor;

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use heka_message::{Message, Value};

use crate::clock::stamped_message;
use crate::plugin::PluginError;
use crate::router::{Batch, Route, Router};
use crate::settings::Settings;
use crate::spec::{ExitStatus, FilterSpec, InputSpec, OutputSpec, PipelineError};
use crate::stats::{PluginKind, Registry, section_stats};
use crate::stop::StopSignal;

/// What the supervisor hears.
#[derive(Debug)]
pub(crate) enum Event {
    /// Someone asked for a (graceful) shutdown.
    Shutdown,
    /// A plugin stopped on its own: `error` None = an input's `run` returned `Ok`.
    Exited {
        name: Arc<str>,
        can_exit: bool,
        error: Option<String>,
    },
    /// Apply a live change (a reload) and answer.
    Apply(
        Box<crate::change::Change>,
        Sender<Result<crate::change::Applied, crate::change::ApplyError>>,
    ),
}

/// Control messages for filters.
pub(crate) enum FilterControl {
    /// Shutdown: run the final timer event if configured, route its injections, then
    /// reply (the queue is empty when this is sent).
    FinalTimer(Sender<()>),
    /// Stop now; what is still queued is abandoned.
    Stop,
    /// Reload: nothing more is routed here. Process what is queued, then either hand
    /// the state and the held acks over (`hand_over`, for the instance replacing this
    /// one) or stop as at shutdown (final timer event when configured, `shutdown`);
    /// reply, and end.
    Retire {
        hand_over: bool,
        reply: Sender<Retired>,
    },
}

/// What a retired filter leaves its replacement.
#[derive(Default)]
pub(crate) struct Retired {
    /// [`crate::Filter::hand_over`]'s state.
    pub state: Option<Vec<u8>>,
    /// Acks of messages whose effect lives on in that state (not yet injected from).
    pub held: Vec<crate::ack::Ack>,
}

/// Control messages for outputs.
pub(crate) enum OutputControl {
    /// SIGHUP.
    Reopen,
    /// Shutdown: deliver what is queued (until `abort_outputs`), flush, stop.
    Drain,
}

/// The signals and channels shared by the pipeline handle, the supervisor and runners.
pub(crate) struct Shared {
    requests: AtomicUsize,
    events: Sender<Event>,
    pub(crate) input_stop: StopSignal,
    pub(crate) abort_routing: StopSignal,
    pub(crate) abort_outputs: StopSignal,
    pub(crate) immediate: StopSignal,
    pub(crate) output_controls: Mutex<Vec<Sender<OutputControl>>>,
    /// Where runners report their counters (read by the ops listener).
    pub(crate) registry: Arc<Registry>,
}

impl Shared {
    /// First request: graceful shutdown. Any later one: stop at once.
    pub(crate) fn request_shutdown(&self) {
        self.registry.set_stopping();
        if self.requests.fetch_add(1, Ordering::AcqRel) == 0 {
            tracing::info!("shutdown requested");
            let _ = self.events.send(Event::Shutdown);
        } else {
            self.stop_immediately();
        }
    }

    /// A graceful shutdown unless one is already under way.
    pub(crate) fn request_graceful(&self) {
        if self.requests.load(Ordering::Acquire) == 0 {
            self.request_shutdown();
        }
    }

    /// The supervisor starts a shutdown itself (a plugin failed): later requests are
    /// "second signals".
    pub(crate) fn mark_shutting_down(&self) {
        self.registry.set_stopping();
        self.requests.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn stop_immediately(&self) {
        tracing::warn!("stopping at once; queued messages are abandoned");
        self.input_stop.raise();
        self.abort_routing.raise();
        self.abort_outputs.raise();
        self.immediate.raise();
    }

    pub(crate) fn reopen_outputs(&self) {
        if let Ok(controls) = self.output_controls.lock() {
            for control in controls.iter() {
                let _ = control.send(OutputControl::Reopen);
            }
        }
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.requests.load(Ordering::Acquire) > 0
    }

    pub(crate) fn report(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

/// A filter as the supervisor sees it.
pub(crate) struct FilterHandle {
    pub name: Arc<str>,
    pub control: Sender<FilterControl>,
    pub pending: Arc<AtomicUsize>,
    pub alive: Arc<AtomicBool>,
    pub timer_event_on_shutdown: bool,
    pub thread: JoinHandle<()>,
}

/// An output as the supervisor sees it.
pub(crate) struct OutputHandle {
    pub name: Arc<str>,
    pub control: Sender<OutputControl>,
    /// This output's child of `abort_outputs` (a reload gives up on one output alone).
    pub abort: StopSignal,
    pub thread: JoinHandle<()>,
}

/// An input as the supervisor sees it.
pub(crate) struct InputHandle {
    pub name: Arc<str>,
    /// This input's child of `input_stop` (a reload stops one input alone).
    pub stop: StopSignal,
    pub thread: JoinHandle<()>,
}

/// Sets `alive` to false when the runner's thread ends, however it ends.
pub(crate) struct AliveGuard(pub Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The message Heka routes when a plugin is terminated.
pub(crate) fn terminated_message(
    settings: &Settings,
    name: &str,
    reason: &str,
    sandbox: bool,
) -> Message {
    let mut msg = stamped_message("hekad", &settings.hostname, settings.pid);
    msg.r#type = Some(
        if sandbox {
            "heka.sandbox-terminated"
        } else {
            "heka.terminated"
        }
        .to_owned(),
    );
    msg.payload = Some(format!("{name} terminated. Error: {reason}").into_bytes());
    msg.add_field("plugin", Value::String(name.as_bytes().to_vec()), "");
    msg
}

/// Turns a panic inside a plugin call into a fatal outcome for that plugin.
pub(crate) fn panic_reason(panic: Box<dyn Any + Send>) -> PluginError {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    PluginError::Fatal(format!("panicked: {text}"))
}

fn spawn(
    name: String,
    body: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, PipelineError> {
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(body)
        .map_err(|source| PipelineError::Spawn { name, source })
}

/// Builds the routing table, spawns outputs, filters, the supervisor, then inputs.
pub(crate) fn start(
    settings: Settings,
    drain_timeout: Duration,
    registry: Arc<Registry>,
    inputs: Vec<InputSpec>,
    filters: Vec<FilterSpec>,
    outputs: Vec<OutputSpec>,
) -> Result<(Arc<Shared>, JoinHandle<ExitStatus>), PipelineError> {
    let settings = Arc::new(settings);
    let encoders = make_encoders(&outputs, &registry)?;
    let (events_tx, events_rx) = crossbeam_channel::unbounded();
    let shared = Arc::new(Shared {
        requests: AtomicUsize::new(0),
        events: events_tx,
        input_stop: StopSignal::new(),
        abort_routing: StopSignal::new(),
        abort_outputs: StopSignal::new(),
        immediate: StopSignal::new(),
        output_controls: Mutex::new(Vec::new()),
        registry: registry.clone(),
    });
    let queues = Queues::new(&settings, &registry, &filters, &outputs);
    let router = Arc::new(
        Router::new(queues.routes, shared.abort_routing.clone()).with_registry(registry.clone()),
    );

    let mut started = Started::default();
    let result = (|| {
        for ((spec, (queue, registered)), encoder) in
            outputs.into_iter().zip(queues.outputs).zip(encoders)
        {
            started.outputs.push(output::spawn(
                spec, queue, registered, encoder, &settings, &router, &shared,
            )?);
        }
        if let Ok(mut controls) = shared.output_controls.lock() {
            controls.extend(started.outputs.iter().map(|o| o.control.clone()));
        }
        for (spec, (queue, (pending, registered))) in filters.into_iter().zip(queues.filters) {
            started.filters.push(filter::spawn(
                spec,
                queue,
                pending,
                registered,
                Vec::new(),
                &settings,
                &router,
                &shared,
            )?);
        }
        for spec in inputs {
            started
                .inputs
                .push(input::spawn(spec, &settings, &router, &shared)?);
        }
        Ok::<_, PipelineError>(())
    })();
    if let Err(err) = result {
        // Nothing produced yet matters: stop whatever did start, at once.
        shared.stop_immediately();
        for filter in &started.filters {
            let _ = filter.control.send(FilterControl::Stop);
        }
        return Err(err);
    }
    registry.set_started(true);
    let supervisor = spawn_supervisor(
        &shared,
        events_rx,
        drain_timeout,
        started,
        (router, settings),
    )?;
    Ok((shared, supervisor))
}

/// Each output's encoder instance, given its section's stats (sandbox gauges). A
/// template that cannot make one is a start-up error.
fn make_encoders<'a>(
    outputs: impl IntoIterator<Item = &'a OutputSpec>,
    registry: &Registry,
) -> Result<Vec<Option<Box<dyn crate::plugin::Encoder>>>, PipelineError> {
    let mut encoders = Vec::new();
    for spec in outputs {
        let encoder = match &spec.options.encoder {
            Some(factory) => {
                let mut encoder = factory().map_err(|error| PipelineError::Encoder {
                    output: spec.name.clone(),
                    error,
                })?;
                if let Some((name, type_name)) = &spec.options.encoder_section {
                    encoder.attach_stats(&|| {
                        section_stats(registry, name, type_name, PluginKind::Encoder)
                    });
                }
                Some(encoder)
            }
            None => None,
        };
        encoders.push(encoder);
    }
    Ok(encoders)
}

/// The routing table and the receiving ends of its bounded queues.
struct Queues {
    routes: Vec<Route>,
    /// Per filter: its queue, its pending count and its registered flag.
    filters: Vec<FilterQueue>,
    /// Per output: its queue and its registered flag.
    outputs: Vec<(Receiver<Batch>, Arc<AtomicBool>)>,
}

impl Queues {
    fn new(
        settings: &Settings,
        registry: &Registry,
        filters: &[FilterSpec],
        outputs: &[OutputSpec],
    ) -> Queues {
        let capacity = settings.plugin_chansize.max(1);
        let mut queues = Queues {
            routes: Vec::with_capacity(filters.len() + outputs.len()),
            filters: Vec::with_capacity(filters.len()),
            outputs: Vec::with_capacity(outputs.len()),
        };
        for spec in filters {
            let (tx, rx) = crossbeam_channel::bounded(capacity);
            queue_probe(registry, &spec.name, PluginKind::Filter, &tx);
            let pending = Arc::new(AtomicUsize::new(0));
            let route = Route::new(
                &spec.name,
                &spec.options.matcher,
                &spec.options.message_signer,
                tx,
                Some(pending.clone()),
            );
            queues
                .filters
                .push((rx, (pending, route.registered.clone())));
            queues.routes.push(route);
        }
        for spec in outputs {
            // A buffered output's channel feeds its disk writer, which fsyncs once per
            // batch of what is queued: a deeper channel lets the router keep going during
            // an fsync and makes the batches (and so the fsyncs) fewer. Still bounded.
            let capacity = if spec.options.buffering.is_some() {
                capacity.max(crate::buffer::WRITER_CHANNEL_CAPACITY)
            } else {
                capacity
            };
            let (tx, rx) = crossbeam_channel::bounded(capacity);
            queue_probe(registry, &spec.name, PluginKind::Output, &tx);
            let route = Route::new(
                &spec.name,
                &spec.options.matcher,
                &spec.options.message_signer,
                tx,
                None,
            );
            queues.outputs.push((rx, route.registered.clone()));
            queues.routes.push(route);
        }
        queues
    }
}

/// Lets the ops listener read a plugin queue's fill (in batches) without touching
/// the plugin: a clone of the router's sender reads the shared channel's length.
fn queue_probe(registry: &Registry, name: &str, kind: PluginKind, tx: &Sender<Batch>) {
    let tx = tx.clone();
    let capacity = tx.capacity().unwrap_or(0);
    registry
        .plugin(name, kind)
        .set_queue_probe(Box::new(move || (tx.len(), capacity)));
}

/// The receiving side of a filter's route: its queue, its pending count and its
/// registered flag.
type FilterQueue = (Receiver<Batch>, (Arc<AtomicUsize>, Arc<AtomicBool>));

/// The supervisor's thread, which owns the plugins' handles from now on.
fn spawn_supervisor(
    shared: &Arc<Shared>,
    events: Receiver<Event>,
    drain_timeout: Duration,
    started: Started,
    (router, settings): (Arc<Router>, Arc<Settings>),
) -> Result<JoinHandle<ExitStatus>, PipelineError> {
    let supervisor_shared = shared.clone();
    std::thread::Builder::new()
        .name("supervisor".to_owned())
        .spawn(move || {
            supervisor::Supervisor {
                shared: supervisor_shared,
                events,
                drain_timeout,
                inputs: started.inputs,
                filters: started.filters,
                outputs: started.outputs,
                status: ExitStatus::Clean,
                router,
                settings,
                stop_after: None,
            }
            .run()
        })
        .map_err(|source| {
            shared.stop_immediately();
            PipelineError::Spawn {
                name: "supervisor".to_owned(),
                source,
            }
        })
}

#[derive(Default)]
struct Started {
    inputs: Vec<InputHandle>,
    filters: Vec<FilterHandle>,
    outputs: Vec<OutputHandle>,
}
