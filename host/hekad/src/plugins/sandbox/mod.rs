//! `SandboxFilter`, `SandboxEncoder`, `SandboxDecoder`: Heka's sandboxed plugins. The
//! engine is picked by the file's extension: `.wasm` runs a WebAssembly component
//! (`wasm.rs`, heka-sandbox), `.lua` a Heka Lua script (`lua.rs`, heka-lua, hekad
//! feature `lua`). Both are engines of the one sandbox contract
//! ([`heka_pipeline::sandbox`]), so the keys below mean the same thing for both.
//!
//! Keys (reference §6.1): `filename` (relative → under `share_dir`), `script_type`
//! ("lua", the only value Heka had), `module_directory` (Lua: where `require` looks,
//! default `<share_dir>/lua_modules`, `;`-separated), `memory_limit` (8 MiB),
//! `instruction_limit` (1,000,000 per message), `output_limit` (63 KiB),
//! `preserve_data` (state saved to `<base_dir>/sandbox_preservation/<name>.data` at a
//! clean stop and restored at start), `profile` (accepted, not supported: a warning),
//! `timer_event_on_shutdown` (filters), and `[x.config]` (strings, bools, integers,
//! floats; arrays and tables are not readable, as in Heka). `[hekad]`'s
//! `max_process_inject` / `max_timer_inject` bound filters' injections. Ours, wasm
//! only: `fuel_per_instruction` (10) and `call_time_limit` (ms per call, 10000).
//!
//! ```toml
//! [ExampleLogAggregator]
//! type = "SandboxFilter"
//! message_matcher = "Logger == 'ExampleLog'"
//! filename = "log-aggregator.wasm"
//! ticker_interval = 15
//! can_exit = false
//! ```

mod lua;
mod wasm;

use std::path::{Path, PathBuf};

use heka_pipeline::sandbox::{ConfigValue, SandboxLimits, SandboxSpec};
use heka_pipeline::{DecoderFactory, EncoderFactory};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::{BuildContext, BuiltFilter};

/// The keys shared by SandboxFilter, SandboxEncoder and SandboxDecoder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxOptions {
    /// The component (`.wasm`) or script (`.lua`); relative names under `share_dir`.
    pub filename: String,
    /// Heka's only value, "lua"; kept so Heka configs load.
    #[serde(default = "default_script_type")]
    pub script_type: String,
    /// Lua: where `require` finds modules (`;`-separated).
    #[serde(default)]
    pub module_directory: Option<String>,
    #[serde(default = "default_memory_limit")]
    pub memory_limit: u64,
    #[serde(default = "default_instruction_limit")]
    pub instruction_limit: u64,
    #[serde(default = "default_output_limit")]
    pub output_limit: u64,
    #[serde(default)]
    pub preserve_data: bool,
    /// Heka's call timing; accepted with a warning.
    #[serde(default)]
    pub profile: bool,
    /// Wasm: fuel per Heka instruction.
    #[serde(default = "default_fuel")]
    pub fuel_per_instruction: u64,
    /// Wasm: wall-clock cap per call in ms (0 = none).
    #[serde(default = "default_call_time_limit")]
    pub call_time_limit: u64,
    /// Filters only (rejected for encoders and decoders).
    #[serde(default)]
    pub timer_event_on_shutdown: Option<bool>,
    /// `[x.config]`, read by the plugin with `read_config`.
    #[serde(default)]
    pub config: toml::Table,
}

fn default_script_type() -> String {
    "lua".into()
}
fn default_memory_limit() -> u64 {
    heka_pipeline::sandbox::DEFAULT_MEMORY_LIMIT as u64
}
fn default_instruction_limit() -> u64 {
    heka_pipeline::sandbox::DEFAULT_INSTRUCTION_LIMIT
}
fn default_output_limit() -> u64 {
    heka_pipeline::sandbox::DEFAULT_OUTPUT_LIMIT as u64
}
fn default_fuel() -> u64 {
    heka_sandbox::config::FUEL_PER_INSTRUCTION
}
fn default_call_time_limit() -> u64 {
    heka_sandbox::config::DEFAULT_CALL_TIME_LIMIT.as_millis() as u64
}

/// Which plugin kind a section builds (decides the keys it may use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Filter,
    Encoder,
    Decoder,
}

/// A parsed sandbox section, engine-neutral.
struct Parsed {
    path: PathBuf,
    opts: SandboxOptions,
    spec: SandboxSpec,
}

/// Parses the common keys into the contract's [`SandboxSpec`].
fn parse(ctx: &BuildContext, kind: Kind) -> Result<Parsed, ConfigError> {
    let opts: SandboxOptions = ctx.parse()?;
    if kind != Kind::Filter && opts.timer_event_on_shutdown.is_some() {
        return Err(ctx.invalid(Some("timer_event_on_shutdown"), "a filter option only"));
    }
    if opts.script_type != "lua" {
        return Err(ctx.invalid(
            Some("script_type"),
            "only \"lua\" is supported (Heka's only value)",
        ));
    }
    if opts.profile {
        tracing::warn!(plugin = ctx.name, "profile is not supported yet; ignored");
    }
    let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    let mut spec = SandboxSpec::new(ctx.name);
    spec.limits = SandboxLimits {
        memory_limit: to_usize(opts.memory_limit),
        instruction_limit: opts.instruction_limit,
        output_limit: to_usize(opts.output_limit),
        max_process_inject: ctx.globals.max_process_inject,
        max_timer_inject: ctx.globals.max_timer_inject,
    };
    for (key, value) in &opts.config {
        let v = match value {
            toml::Value::String(s) => ConfigValue::String(s.clone()),
            toml::Value::Integer(i) => ConfigValue::Integer(*i),
            toml::Value::Float(f) => ConfigValue::Float(*f),
            toml::Value::Boolean(b) => ConfigValue::Boolean(*b),
            toml::Value::Datetime(d) => ConfigValue::String(d.to_string()),
            // Heka: arrays and tables are not readable from a sandbox.
            toml::Value::Array(_) | toml::Value::Table(_) => continue,
        };
        spec.config.insert(key.clone(), v);
    }
    if opts.preserve_data {
        spec.preservation_file = Some(SandboxSpec::preservation_file(&ctx.base_path(""), ctx.name));
    }
    Ok(Parsed {
        path: ctx.share_path(&opts.filename),
        opts,
        spec,
    })
}

/// True when the section's file is a Lua script (else it must be a wasm component).
fn is_lua(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "lua")
}

/// Refuses a file that is neither a `.wasm` component nor a `.lua` script.
fn check_extension(ctx: &BuildContext, path: &Path) -> Result<(), ConfigError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("wasm" | "lua") => Ok(()),
        _ => Err(ctx.invalid(
            Some("filename"),
            format!(
                "{}: a sandbox must be a .wasm component or a .lua script",
                path.display()
            ),
        )),
    }
}

/// Registry constructor: `SandboxFilter`.
pub fn filter(ctx: &BuildContext) -> Result<BuiltFilter, ConfigError> {
    let sb = parse(ctx, Kind::Filter)?;
    check_extension(ctx, &sb.path)?;
    let timer_event_on_shutdown = sb.opts.timer_event_on_shutdown;
    let filter = if is_lua(&sb.path) {
        lua::filter(ctx, sb)?
    } else {
        wasm::filter(ctx, sb)?
    };
    Ok(BuiltFilter {
        filter,
        timer_event_on_shutdown,
    })
}

/// Registry constructor: `SandboxEncoder` (one instance per user).
pub fn encoder(ctx: &BuildContext) -> Result<EncoderFactory, ConfigError> {
    let sb = parse(ctx, Kind::Encoder)?;
    check_extension(ctx, &sb.path)?;
    if is_lua(&sb.path) {
        lua::encoder(ctx, sb)
    } else {
        wasm::encoder(ctx, sb)
    }
}

/// Registry constructor: `SandboxDecoder` (one instance per input stream).
pub fn decoder(ctx: &BuildContext) -> Result<DecoderFactory, ConfigError> {
    let sb = parse(ctx, Kind::Decoder)?;
    check_extension(ctx, &sb.path)?;
    if is_lua(&sb.path) {
        lua::decoder(ctx, sb)
    } else {
        wasm::decoder(ctx, sb)
    }
}

#[cfg(test)]
mod tests;
