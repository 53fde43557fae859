//! One thread per plugin (inputs, filters, outputs) plus the supervisor that owns the
//! shutdown order. Filled in below.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::pipeline::{ExitStatus, FilterSpec, InputSpec, OutputSpec, PipelineError};
use crate::settings::Settings;

pub(crate) struct Shared {}

impl Shared {
    pub(crate) fn request_shutdown(&self) {
        todo!()
    }
    pub(crate) fn request_graceful(&self) {
        todo!()
    }
    pub(crate) fn reopen_outputs(&self) {
        todo!()
    }
    pub(crate) fn is_shutting_down(&self) -> bool {
        todo!()
    }
}

#[allow(clippy::type_complexity)]
pub(crate) fn start(
    _settings: Settings,
    _drain_timeout: Duration,
    _inputs: Vec<InputSpec>,
    _filters: Vec<FilterSpec>,
    _outputs: Vec<OutputSpec>,
) -> Result<(Arc<Shared>, JoinHandle<ExitStatus>), PipelineError> {
    todo!()
}
