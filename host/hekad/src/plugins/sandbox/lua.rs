//! The Lua engine's side of the sandbox plugins (hekad feature `lua`): one Lua state
//! per plugin, or per user for encoders and decoders. `module_directory` (default
//! `<share_dir>/lua_modules`, `;`-separated) is where `require` finds `<name>.lua`.

use heka_pipeline::{DecoderFactory, EncoderFactory, Filter};

use super::Parsed;
use crate::config::ConfigError;
use crate::plugins::BuildContext;

#[cfg(feature = "lua")]
fn config(ctx: &BuildContext, sb: Parsed) -> (std::path::PathBuf, heka_lua::LuaConfig) {
    let mut config = heka_lua::LuaConfig::from_spec(sb.spec);
    config.module_directory = match &sb.opts.module_directory {
        Some(dirs) => dirs
            .split(';')
            .filter(|d| !d.is_empty())
            .map(|d| ctx.share_path(d))
            .collect(),
        None => vec![ctx.share_path("lua_modules")],
    };
    (sb.path, config)
}

#[cfg(feature = "lua")]
pub(super) fn filter(ctx: &BuildContext, sb: Parsed) -> Result<Box<dyn Filter>, ConfigError> {
    let (path, config) = config(ctx, sb);
    let filter = heka_lua::load_filter(&path, config)
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    Ok(Box::new(filter))
}

#[cfg(feature = "lua")]
pub(super) fn encoder(ctx: &BuildContext, sb: Parsed) -> Result<EncoderFactory, ConfigError> {
    use heka_pipeline::{Encoder, PluginError};
    let (path, config) = config(ctx, sb);
    // Start one now so a broken script fails at start-up, not later.
    heka_lua::load_encoder(&path, config.clone())
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    Ok(std::sync::Arc::new(move || {
        heka_lua::load_encoder(&path, config.clone())
            .map(|e| Box::new(e) as Box<dyn Encoder>)
            .map_err(|e| PluginError::Fatal(e.to_string()))
    }))
}

#[cfg(feature = "lua")]
pub(super) fn decoder(ctx: &BuildContext, sb: Parsed) -> Result<DecoderFactory, ConfigError> {
    use heka_pipeline::{Decoder, PluginError};
    let (path, config) = config(ctx, sb);
    heka_lua::load_decoder(&path, config.clone())
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    Ok(std::sync::Arc::new(move || {
        heka_lua::load_decoder(&path, config.clone())
            .map(|d| Box::new(d) as Box<dyn Decoder>)
            .map_err(|e| PluginError::Fatal(e.to_string()))
    }))
}

/// Without the `lua` feature a `.lua` file is a clear error naming it.
#[cfg(not(feature = "lua"))]
fn unavailable(ctx: &BuildContext, sb: &Parsed) -> ConfigError {
    ctx.invalid(
        Some("filename"),
        format!(
            "{}: Lua sandboxes need hekad built with the `lua` feature",
            sb.path.display()
        ),
    )
}

#[cfg(not(feature = "lua"))]
pub(super) fn filter(ctx: &BuildContext, sb: Parsed) -> Result<Box<dyn Filter>, ConfigError> {
    Err(unavailable(ctx, &sb))
}

#[cfg(not(feature = "lua"))]
pub(super) fn encoder(ctx: &BuildContext, sb: Parsed) -> Result<EncoderFactory, ConfigError> {
    Err(unavailable(ctx, &sb))
}

#[cfg(not(feature = "lua"))]
pub(super) fn decoder(ctx: &BuildContext, sb: Parsed) -> Result<DecoderFactory, ConfigError> {
    Err(unavailable(ctx, &sb))
}
