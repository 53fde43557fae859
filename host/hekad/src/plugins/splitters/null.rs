//! `NullSplitter`: each read (a datagram, a chunk) is one record. No options; its
//! buffer starts at 64 KiB (set by its registry row).

use std::sync::Arc;

use heka_pipeline::SplitterFactory;
use heka_pipeline::splitters::NullSplitter;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// NullSplitter has no options of its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullSplitterConfig {}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<SplitterFactory, ConfigError> {
    let _: NullSplitterConfig = ctx.parse()?;
    Ok(Arc::new(|| Box::new(NullSplitter)))
}
