//! [`Change`]: a live change of a running pipeline (a reload that restarts only what
//! changed), applied by [`crate::PipelineHandle::apply`]; what it did ([`Applied`]) or
//! why not ([`ApplyError`]).
//!
//! The caller says which plugins stop ([`Change::remove`]) and which start; a name
//! both removed and started is a replacement. Everything else keeps running
//! untouched: same thread, same queue, same connections, same state. The order the
//! supervisor applies it in (`runner/reconfigure.rs`):
//!
//! 1. what can fail without touching anything: the new outputs' encoders (a
//!    replacing output's is dropped again and made anew in step 4, after its
//!    predecessor dropped its own: `preserve_data` state carries over), then the
//!    added outputs and filters (new names) start on queues nothing routes to yet;
//! 2. the inputs that go stop (their messages already routed are delivered);
//! 3. the routing table is swapped: removed plugins leave it, new queues join it,
//!    and the supervisor waits until no routing call uses the old table any more;
//! 4. the outputs that go drain (deliver what is queued, flush), then their
//!    replacements start — before the filters retire, since a retiring filter may
//!    inject into a replacement output;
//! 5. the filters that go process what is queued, then stop as at shutdown, or hand
//!    their state and held acks to their replacement; the replacements start (with the
//!    state handed over), then the inputs.
//!
//! A failure in step 1 leaves the pipeline as it was ([`ApplyError::Refused`]); a
//! failure later leaves it part-way ([`ApplyError::Broken`]): the caller should
//! restart it from a known configuration.

use std::time::Duration;

use crate::context::{Filter, Input};
use crate::plugin::Output;
use crate::settings::{FilterOptions, InputOptions, OutputOptions};
use crate::spec::{FilterSpec, InputSpec, OutputSpec, PipelineError};

/// Plugins to stop and to start in a running pipeline.
#[derive(Default)]
pub struct Change {
    pub(crate) remove: Vec<String>,
    pub(crate) inputs: Vec<InputSpec>,
    /// With whether the filter of the same name hands its state over.
    pub(crate) filters: Vec<(FilterSpec, bool)>,
    pub(crate) outputs: Vec<OutputSpec>,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("remove", &self.remove)
            .field(
                "inputs",
                &self.inputs.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field(
                "filters",
                &self.filters.iter().map(|s| &s.0.name).collect::<Vec<_>>(),
            )
            .field(
                "outputs",
                &self.outputs.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

// The `add_*` methods mirror `PipelineBuilder::add_*` on purpose: a live change
// starts plugins with the same arguments a fresh pipeline does, so that a reload and a
// start read alike; both collect them through the one `Spec::new`.
impl Change {
    /// Changes nothing yet.
    pub fn new() -> Change {
        Change::default()
    }

    /// Stops the running plugin `name` (input, filter or output), with a drain.
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.remove.push(name.to_owned());
        self
    }

    /// Starts an input (after the routing table holds the new queues).
    pub fn add_input(
        &mut self,
        name: &str,
        plugin: Box<dyn Input>,
        options: InputOptions,
    ) -> &mut Self {
        self.inputs.push(InputSpec::new(name, plugin, options));
        self
    }

    /// Starts a filter. `take_state`: it replaces the running filter of the same name
    /// (also [`Change::remove`]d), whose state it takes over
    /// ([`Filter::hand_over`] → [`Filter::take_over`]) with the acks it held.
    pub fn add_filter(
        &mut self,
        name: &str,
        plugin: Box<dyn Filter>,
        options: FilterOptions,
        take_state: bool,
    ) -> &mut Self {
        self.filters
            .push((FilterSpec::new(name, plugin, options), take_state));
        self
    }

    /// Starts an output.
    pub fn add_output(
        &mut self,
        name: &str,
        plugin: Box<dyn Output>,
        options: OutputOptions,
    ) -> &mut Self {
        self.outputs.push(OutputSpec::new(name, plugin, options));
        self
    }

    /// Nothing to stop or start.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty()
            && self.inputs.is_empty()
            && self.filters.is_empty()
            && self.outputs.is_empty()
    }
}

/// What a live change did besides what was asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Replaced filters whose new instance took over the old one's state.
    pub carried: Vec<String>,
    /// What went less well without stopping the change: a state that could not be
    /// taken over, a plugin that did not stop within the drain timeout.
    pub warnings: Vec<String>,
    /// How long the whole change took.
    pub took: Duration,
}

/// Why a live change was not (fully) applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The pipeline is stopping (or stopped): nothing was changed.
    #[error("the pipeline is stopping")]
    Stopping,
    /// Something failed before anything was touched: the pipeline runs as before.
    #[error("{0}")]
    Refused(PipelineError),
    /// Something failed part-way: some plugins were stopped and their replacements
    /// may not run. The pipeline should be restarted from a known configuration.
    #[error("{0} (the change was applied in part)")]
    Broken(PipelineError),
}
