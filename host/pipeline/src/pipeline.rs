//! Assembling and running a pipeline: [`PipelineBuilder`] collects plugins with their
//! options, [`PipelineBuilder::start`] spawns one thread per plugin plus a supervisor,
//! and [`Pipeline`] is the running whole (wait, shutdown, reopen).
//!
//! The supervisor thread owns the shutdown order (inputs, then filters, then outputs,
//! as Heka) and decides the [`ExitStatus`]; see `runner/supervisor.rs`.

use std::collections::HashSet;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::change::{Applied, ApplyError, Change};
use crate::context::{Filter, Input};
use crate::plugin::Output;
use crate::runner::{self, Shared};
use crate::settings::{FilterOptions, InputOptions, OutputOptions, Settings};
use crate::spec::{ExitStatus, FilterSpec, InputSpec, OutputSpec, PipelineError};
use crate::stats::Registry;

/// Collects plugins, then starts them all at once (outputs first, inputs last, as
/// Heka, so nothing is produced before its consumers run).
pub struct PipelineBuilder {
    settings: Settings,
    drain_timeout: Duration,
    registry: Arc<Registry>,
    pub(crate) inputs: Vec<InputSpec>,
    pub(crate) filters: Vec<FilterSpec>,
    pub(crate) outputs: Vec<OutputSpec>,
}

impl PipelineBuilder {
    /// An empty pipeline with these global settings.
    pub fn new(settings: Settings) -> PipelineBuilder {
        PipelineBuilder {
            settings,
            drain_timeout: Duration::from_secs(10),
            registry: Arc::new(Registry::new()),
            inputs: Vec::new(),
            filters: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// How long each shutdown phase may take (inputs stopping, filters draining,
    /// outputs draining) before what is still queued is abandoned (default 10 s).
    pub fn drain_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.drain_timeout = timeout;
        self
    }

    /// The statistics registry the runners will report into (a fresh one unless
    /// [`PipelineBuilder::with_registry`] gave another).
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Reports into `registry` (the ops listener's), e.g. one kept across reloads.
    pub fn with_registry(&mut self, registry: Arc<Registry>) -> &mut Self {
        self.registry = registry;
        self
    }

    /// Adds an input (runs on its own thread).
    pub fn add_input(
        &mut self,
        name: &str,
        plugin: Box<dyn Input>,
        options: InputOptions,
    ) -> &mut Self {
        self.inputs.push(InputSpec::new(name, plugin, options));
        self
    }

    /// Adds a filter (its own thread and queue).
    pub fn add_filter(
        &mut self,
        name: &str,
        plugin: Box<dyn Filter>,
        options: FilterOptions,
    ) -> &mut Self {
        self.filters.push(FilterSpec::new(name, plugin, options));
        self
    }

    /// Adds an output (its own thread and queue).
    pub fn add_output(
        &mut self,
        name: &str,
        plugin: Box<dyn Output>,
        options: OutputOptions,
    ) -> &mut Self {
        self.outputs.push(OutputSpec::new(name, plugin, options));
        self
    }

    /// Starts every plugin. On error nothing keeps running.
    pub fn start(self) -> Result<Pipeline, PipelineError> {
        let mut seen = HashSet::new();
        let names = self
            .inputs
            .iter()
            .map(|s| &s.name)
            .chain(self.filters.iter().map(|s| &s.name))
            .chain(self.outputs.iter().map(|s| &s.name));
        for name in names {
            if !seen.insert(name.as_str()) {
                return Err(PipelineError::DuplicateName { name: name.clone() });
            }
        }
        let (shared, supervisor) = runner::start(
            self.settings,
            self.drain_timeout,
            self.registry,
            self.inputs,
            self.filters,
            self.outputs,
        )?;
        Ok(Pipeline {
            shared,
            supervisor: Some(supervisor),
        })
    }
}

/// A running pipeline.
pub struct Pipeline {
    shared: Arc<Shared>,
    supervisor: Option<JoinHandle<ExitStatus>>,
}

/// A cloneable handle for signal handlers: shut down, reopen outputs.
#[derive(Clone)]
pub struct PipelineHandle {
    shared: Arc<Shared>,
}

impl PipelineHandle {
    /// First call: graceful shutdown (inputs stop, queues drain, final timer events,
    /// outputs flush). Any later call: stop at once, abandoning what is queued.
    pub fn shutdown(&self) {
        self.shared.request_shutdown();
    }

    /// SIGHUP: asks every output to reopen its files.
    pub fn reopen_outputs(&self) {
        self.shared.reopen_outputs();
    }

    /// Applies a live change (a reload restarting only what changed; see
    /// [`Change`]) and waits until it is done. Changes are applied one at a time by
    /// the supervisor, never during a shutdown.
    pub fn apply(&self, change: Change) -> Result<Applied, ApplyError> {
        if self.shared.is_shutting_down() {
            return Err(ApplyError::Stopping);
        }
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.shared
            .report(crate::runner::Event::Apply(Box::new(change), reply));
        // No answer: the supervisor ended (the pipeline stopped) before reading it.
        answer.recv().unwrap_or(Err(ApplyError::Stopping))
    }

    /// True once a shutdown was requested or started on its own.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.is_shutting_down()
    }

    /// The statistics registry of this pipeline.
    pub fn registry(&self) -> Arc<Registry> {
        self.shared.registry.clone()
    }
}

impl Pipeline {
    /// A handle to trigger shutdown / reopen from another thread (signal handling).
    pub fn stop_handle(&self) -> PipelineHandle {
        PipelineHandle {
            shared: self.shared.clone(),
        }
    }

    /// Requests shutdown (see [`PipelineHandle::shutdown`]); returns at once, use
    /// [`Pipeline::wait`] to wait for the end.
    pub fn shutdown(&self) {
        self.shared.request_shutdown();
    }

    /// SIGHUP: asks every output to reopen its files.
    pub fn reopen_outputs(&self) {
        self.shared.reopen_outputs();
    }

    /// The statistics registry of this pipeline.
    pub fn registry(&self) -> Arc<Registry> {
        self.shared.registry.clone()
    }

    /// Blocks until every plugin has stopped and says how it ended.
    pub fn wait(mut self) -> ExitStatus {
        self.join()
    }

    fn join(&mut self) -> ExitStatus {
        match self.supervisor.take() {
            Some(handle) => handle.join().unwrap_or_else(|_| {
                ExitStatus::PluginFailed("hekad".to_owned(), "the supervisor panicked".to_owned())
            }),
            None => ExitStatus::Clean,
        }
    }
}

impl Drop for Pipeline {
    /// A pipeline dropped without [`Pipeline::wait`] shuts down gracefully first, so
    /// no plugin thread outlives it.
    fn drop(&mut self) {
        if self.supervisor.is_some() {
            self.shared.request_graceful();
            self.join();
        }
    }
}
