//! What a pipeline starts from and how it ends: the plugin specs
//! [`crate::PipelineBuilder`] collects and the runners start, [`PipelineError`] and
//! [`ExitStatus`]. A floor below both `pipeline` (the public handle) and `runner`
//! (the threads), so neither has to import the other's types.

use crate::context::{Filter, Input};
use crate::plugin::{Output, PluginError};
use crate::settings::{FilterOptions, InputOptions, OutputOptions};

/// How the pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// Shut down on request (or because an input with `can_exit = false` ended
    /// without error): exit code 0.
    Clean,
    /// A plugin with `can_exit = false` was terminated: (plugin name, reason).
    /// hekad still shut the rest down gracefully; exit code 1.
    PluginFailed(String, String),
}

impl ExitStatus {
    /// The process exit code Heka uses for this status.
    pub fn code(&self) -> i32 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::PluginFailed(..) => 1,
        }
    }
}

/// Why a pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Two plugins share a name (section names are unique per kind in TOML, but
    /// an input and an output could still collide).
    #[error("duplicate plugin name `{name}`")]
    DuplicateName { name: String },
    /// An output's encoder template could not make an instance.
    #[error("output `{output}`: cannot create its encoder: {error}")]
    Encoder { output: String, error: PluginError },
    /// An output's disk buffer could not be opened.
    #[error("output `{output}`: {source}")]
    Buffer {
        output: String,
        #[source]
        source: crate::buffer::BufferError,
    },
    /// The OS refused a thread.
    #[error("cannot spawn the thread of `{name}`: {source}")]
    Spawn {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

/// A plugin as the builder (or a live [`crate::Change`]) collected it: its name, the
/// plugin and its runner options. One shape for the three kinds, so collecting a
/// plugin is written once.
pub(crate) struct Spec<P: ?Sized, O> {
    pub name: String,
    pub plugin: Box<P>,
    pub options: O,
}

impl<P: ?Sized, O> Spec<P, O> {
    pub(crate) fn new(name: &str, plugin: Box<P>, options: O) -> Self {
        Spec {
            name: name.to_owned(),
            plugin,
            options,
        }
    }
}

/// An input as the builder collected it.
pub(crate) type InputSpec = Spec<dyn Input, InputOptions>;
/// A filter as the builder collected it.
pub(crate) type FilterSpec = Spec<dyn Filter, FilterOptions>;
/// An output as the builder collected it.
pub(crate) type OutputSpec = Spec<dyn Output, OutputOptions>;
