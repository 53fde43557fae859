//! `SandboxEncoder`: Heka's sandboxed encoder, running a WebAssembly component of the
//! `encoder` world (see `filters::sandbox_filter` for the keys; no timer options).
//! The component is compiled once; each user (output) gets its own instance.
//!
//! ```toml
//! [SlackEncoder]
//! type = "SandboxEncoder"
//! filename = "slack-encoder.wasm"
//! ```

use std::sync::Arc;

use heka_pipeline::{Encoder, EncoderFactory, PluginError};
use heka_sandbox::WasmEncoder;

use crate::config::ConfigError;
use crate::plugins::BuildContext;
use crate::plugins::filters::sandbox_filter::parse_sandbox;

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<EncoderFactory, ConfigError> {
    #[cfg(feature = "lua")]
    if crate::plugins::sandbox_lua::is_lua(ctx) {
        return crate::plugins::sandbox_lua::build_encoder(ctx);
    }
    let sb = parse_sandbox(ctx)?;
    if sb.timer_event_on_shutdown.is_some() {
        return Err(ctx.invalid(Some("timer_event_on_shutdown"), "not an encoder option"));
    }
    let loaded = sb
        .engine
        .load(&sb.path)
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    // Start one now so a broken component or config fails at start-up, not later.
    WasmEncoder::new(&sb.engine, &loaded, sb.config.clone())
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    let (engine, config) = (sb.engine, sb.config);
    Ok(Arc::new(move || {
        WasmEncoder::new(&engine, &loaded, config.clone())
            .map(|e| Box::new(e) as Box<dyn Encoder>)
            .map_err(|e| PluginError::Fatal(e.to_string()))
    }))
}
