//! The wasm engine's side of the sandbox plugins: a compiled component (cached under
//! `<base_dir>/sandbox_cache`, so restarts do not recompile) instantiated per plugin,
//! or per user for encoders and decoders.

use std::sync::Arc;
use std::time::Duration;

use heka_pipeline::{Decoder, DecoderFactory, Encoder, EncoderFactory, Filter, PluginError};
use heka_sandbox::{LoadedComponent, SandboxConfig, SandboxEngine};

use super::Parsed;
use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// The engine, the compiled component and the wasm settings of a section.
fn load(
    ctx: &BuildContext,
    sb: Parsed,
) -> Result<(SandboxEngine, LoadedComponent, SandboxConfig), ConfigError> {
    let engine = SandboxEngine::shared(Some(&ctx.base_path("sandbox_cache")))
        .map_err(|e| ctx.error(None, e.to_string()))?;
    let loaded = engine
        .load(&sb.path)
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    let mut config = SandboxConfig::from_spec(sb.spec);
    config.fuel_per_instruction = sb.opts.fuel_per_instruction;
    config.call_time_limit = Duration::from_millis(sb.opts.call_time_limit);
    Ok((engine, loaded, config))
}

pub(super) fn filter(ctx: &BuildContext, sb: Parsed) -> Result<Box<dyn Filter>, ConfigError> {
    let (engine, loaded, config) = load(ctx, sb)?;
    let filter = heka_sandbox::new_filter(&engine, &loaded, config)
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    Ok(Box::new(filter))
}

pub(super) fn encoder(ctx: &BuildContext, sb: Parsed) -> Result<EncoderFactory, ConfigError> {
    let (engine, loaded, config) = load(ctx, sb)?;
    // Start one now so a broken component or config fails at start-up, not later.
    heka_sandbox::new_encoder(&engine, &loaded, config.clone())
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    Ok(Arc::new(move || {
        heka_sandbox::new_encoder(&engine, &loaded, config.clone())
            .map(|e| Box::new(e) as Box<dyn Encoder>)
            .map_err(|e| PluginError::Fatal(e.to_string()))
    }))
}

pub(super) fn decoder(ctx: &BuildContext, sb: Parsed) -> Result<DecoderFactory, ConfigError> {
    let (engine, loaded, config) = load(ctx, sb)?;
    heka_sandbox::new_decoder(&engine, &loaded, config.clone())
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    Ok(Arc::new(move || {
        heka_sandbox::new_decoder(&engine, &loaded, config.clone())
            .map(|d| Box::new(d) as Box<dyn Decoder>)
            .map_err(|e| PluginError::Fatal(e.to_string()))
    }))
}
