//! The daemon's side of the ops listener (`heka-ops`): its settings from `[hekad]`
//! (`ops_address`, `ops_token`, `ops_liveness_timeout`) or a Heka `[DashboardOutput]`
//! section (`address`, `[headers]`), the Heka type names the metrics are labelled
//! with, and starting it. A listener that cannot bind is logged and left out: the
//! pipeline matters more than its dashboard.
//!
//! Reload (`POST /api/v1/reload`, SIGHUP) is `crate::reload`.

use std::sync::Arc;

use heka_ops::{Hooks, OpsConfig, OpsServer};
use heka_pipeline::Registry;

use crate::config::Config;

/// The listener's settings, or None when `ops_address = ""` switches it off.
pub fn listener_config(config: &Config) -> Option<OpsConfig> {
    let globals = &config.globals;
    let mut address = globals.ops_address?;
    let mut headers = Vec::new();
    for section in config
        .sections
        .iter()
        .filter(|s| s.type_name == "DashboardOutput")
    {
        // Validated when the section was built; an unparsable address keeps the default.
        if let Some(a) = section.table.get("address").and_then(|v| v.as_str())
            && let Ok(a) = a.parse()
        {
            address = a;
        }
        if let Some(table) = section.table.get("headers").and_then(|v| v.as_table()) {
            for (k, v) in table {
                if let Some(v) = v.as_str() {
                    headers.push((k.clone(), v.to_owned()));
                }
            }
        }
    }
    let mut ops = OpsConfig::new(address);
    ops.token = globals.ops_token.clone();
    ops.liveness_timeout = globals.ops_liveness_timeout;
    ops.headers = headers;
    Some(ops)
}

/// Labels every plugin's statistics with its Heka type name.
pub fn record_type_names(config: &Config, registry: &Registry) {
    for section in &config.sections {
        if let Some(stats) = registry.find(&section.name) {
            stats.set_type_name(&section.type_name);
        }
    }
}

/// Starts the listener if configured; a failure to bind is logged, not fatal.
pub fn start(config: &Config, registry: Arc<Registry>, hooks: Hooks) -> Option<OpsServer> {
    record_type_names(config, &registry);
    let ops = listener_config(config)?;
    let address = ops.address;
    match OpsServer::start(ops, registry, hooks) {
        Ok(server) => Some(server),
        Err(error) => {
            tracing::error!(%address, %error, "ops listener not started; hekad runs without it");
            None
        }
    }
}
