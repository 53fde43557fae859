//! `DashboardOutput`: accepted for Heka compatibility and mapped to the ops listener.
//!
//! Heka's DashboardOutput wrote report files for a separately installed web UI and
//! bound 0.0.0.0 without authentication. hekad-rs serves its dashboard from the ops
//! listener instead (`heka-ops`), which reads the statistics registry directly. A
//! `[DashboardOutput]` section's `address` and `[headers]` configure that listener
//! (see `crate::ops`); `ticker_interval` is accepted (the dashboard refreshes every
//! second); `static_directory` is accepted with a warning, since the assets are now
//! embedded; `working_directory` is accepted. The plugin itself takes whatever its
//! matcher routes to it and drops it: the listener needs no messages.
//!
//! ```toml
//! [DashboardOutput]
//! address = "127.0.0.1:4352"
//! ticker_interval = 5
//! ```

use heka_message::Message;
use heka_pipeline::{Output, OutputError};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// `[x]` keys of a DashboardOutput (Heka's names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardOutputConfig {
    /// Where the dashboard listens: becomes the ops listener's address.
    #[serde(default)]
    pub address: Option<String>,
    /// Heka's directory of UI assets; they are embedded now (warned, unused).
    #[serde(default)]
    pub static_directory: Option<String>,
    /// Heka's report files directory; accepted.
    #[serde(default)]
    pub working_directory: Option<String>,
    /// Extra response headers.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Output>, ConfigError> {
    let cfg: DashboardOutputConfig = ctx.parse()?;
    if cfg.static_directory.is_some() {
        tracing::warn!(plugin = %ctx.name, "DashboardOutput: static_directory is ignored; the dashboard's assets are embedded");
    }
    Ok(Box::new(DashboardOutput))
}

/// Drops what it is sent (the ops listener reads the registry instead).
pub struct DashboardOutput;

impl Output for DashboardOutput {
    fn send(&mut self, _msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        Ok(())
    }
}
