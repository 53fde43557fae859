//! `SandboxDecoder`: Heka's sandboxed decoder, running a WebAssembly component of the
//! `decoder` world (see `filters::sandbox_filter` for the keys). The component is
//! compiled once; each user (input stream) gets its own instance.
//!
//! ```toml
//! [JsonDecoder]
//! type = "SandboxDecoder"
//! filename = "json-decoder.wasm"
//! ```

use std::sync::Arc;

use heka_pipeline::{Decoder, DecoderFactory, PluginError};
use heka_sandbox::WasmDecoder;

use crate::config::ConfigError;
use crate::plugins::BuildContext;
use crate::plugins::filters::sandbox_filter::parse_sandbox;

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<DecoderFactory, ConfigError> {
    #[cfg(feature = "lua")]
    if crate::plugins::sandbox_lua::is_lua(ctx) {
        return crate::plugins::sandbox_lua::build_decoder(ctx);
    }
    let sb = parse_sandbox(ctx)?;
    if sb.timer_event_on_shutdown.is_some() {
        return Err(ctx.invalid(Some("timer_event_on_shutdown"), "not a decoder option"));
    }
    let loaded = sb
        .engine
        .load(&sb.path)
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    // Start one now so a broken component or config fails at start-up, not later.
    WasmDecoder::new(&sb.engine, &loaded, sb.config.clone())
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    let (engine, config) = (sb.engine, sb.config);
    Ok(Arc::new(move || {
        WasmDecoder::new(&engine, &loaded, config.clone())
            .map(|d| Box::new(d) as Box<dyn Decoder>)
            .map_err(|e| PluginError::Fatal(e.to_string()))
    }))
}
