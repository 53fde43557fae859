//! The Lua side of `SandboxFilter` / `SandboxEncoder` / `SandboxDecoder`: a
//! `filename` ending in `.lua` runs the script with heka-lua (Heka's 0.10 Lua API,
//! issue 5); `.wasm` stays with heka-sandbox. Only built with the `lua` feature.
//!
//! Same keys as the wasm sandboxes (`filters::sandbox_filter::SandboxOptions`), read
//! the Lua way: `module_directory` (default `<share_dir>/lua_modules`, `;`-separated)
//! is where `require` finds `<name>.lua` modules; `preserve_data` saves the globals
//! to `<base_dir>/sandbox_preservation/<name>.data` at clean shutdown (filters);
//! `fuel_per_instruction` and `call_time_limit` are wasm-only and ignored.
//!
//! ```toml
//! [ExampleLogAggregator]
//! type = "SandboxFilter"
//! message_matcher = "Logger == 'ExampleLog'"
//! filename = "lua/log_aggregator.lua"
//! ticker_interval = 15
//! preserve_data = true
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use heka_lua::{ConfigValue, LuaConfig, LuaDecoder, LuaEncoder, LuaFilter};
use heka_pipeline::{Decoder, DecoderFactory, Encoder, EncoderFactory, PluginError};

use crate::config::ConfigError;
use crate::plugins::filters::sandbox_filter::SandboxOptions;
use crate::plugins::{BuildContext, BuiltFilter};

/// True when the section's `filename` names a Lua script.
pub fn is_lua(ctx: &BuildContext) -> bool {
    ctx.table
        .get("filename")
        .and_then(|v| v.as_str())
        .is_some_and(|f| Path::new(f).extension().is_some_and(|e| e == "lua"))
}

struct LuaSandbox {
    path: PathBuf,
    config: LuaConfig,
    preserve_data: bool,
    timer_event_on_shutdown: Option<bool>,
}

fn parse(ctx: &BuildContext) -> Result<LuaSandbox, ConfigError> {
    let opts: SandboxOptions = ctx.parse()?;
    if opts.script_type != "lua" {
        return Err(ctx.invalid(Some("script_type"), "only \"lua\" is supported"));
    }
    if opts.profile {
        tracing::warn!(
            plugin = ctx.name,
            "profile is not supported for Lua sandboxes; ignored"
        );
    }
    let mut config = LuaConfig::new(ctx.name);
    config.memory_limit = usize::try_from(opts.memory_limit).unwrap_or(usize::MAX);
    config.instruction_limit = opts.instruction_limit;
    config.output_limit = usize::try_from(opts.output_limit).unwrap_or(usize::MAX);
    config.module_directory = match &opts.module_directory {
        Some(dirs) => dirs
            .split(';')
            .filter(|d| !d.is_empty())
            .map(|d| ctx.share_path(d))
            .collect(),
        None => vec![ctx.share_path("lua_modules")],
    };
    for (key, value) in &opts.config {
        let v = match value {
            toml::Value::String(s) => ConfigValue::String(s.clone()),
            toml::Value::Integer(i) => ConfigValue::Int(*i),
            toml::Value::Float(f) => ConfigValue::Float(*f),
            toml::Value::Boolean(b) => ConfigValue::Bool(*b),
            toml::Value::Datetime(d) => ConfigValue::String(d.to_string()),
            // Heka: arrays and tables are not readable from a sandbox.
            toml::Value::Array(_) | toml::Value::Table(_) => continue,
        };
        config.config.insert(key.clone(), v);
    }
    Ok(LuaSandbox {
        path: ctx.share_path(&opts.filename),
        config,
        preserve_data: opts.preserve_data,
        timer_event_on_shutdown: opts.timer_event_on_shutdown,
    })
}

/// `SandboxFilter` with a `.lua` file.
pub fn build_filter(ctx: &BuildContext) -> Result<BuiltFilter, ConfigError> {
    let mut sb = parse(ctx)?;
    if sb.preserve_data {
        sb.config.preservation_file =
            Some(LuaConfig::preservation_file(&ctx.base_path(""), ctx.name));
    }
    let filter = LuaFilter::load(&sb.path, sb.config)
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    Ok(BuiltFilter {
        timer_event_on_shutdown: sb.timer_event_on_shutdown,
        ..filter.into()
    })
}

/// `SandboxEncoder` with a `.lua` file: one Lua state per user.
pub fn build_encoder(ctx: &BuildContext) -> Result<EncoderFactory, ConfigError> {
    let sb = parse(ctx)?;
    if sb.timer_event_on_shutdown.is_some() {
        return Err(ctx.invalid(Some("timer_event_on_shutdown"), "not an encoder option"));
    }
    // Start one now so a broken script fails at start-up, not later.
    LuaEncoder::load(&sb.path, sb.config.clone())
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    let (path, config) = (sb.path, sb.config);
    Ok(Arc::new(move || {
        LuaEncoder::load(&path, config.clone())
            .map(|e| Box::new(e) as Box<dyn Encoder>)
            .map_err(|e| PluginError::Fatal(e.to_string()))
    }))
}

/// `SandboxDecoder` with a `.lua` file: one Lua state per user.
pub fn build_decoder(ctx: &BuildContext) -> Result<DecoderFactory, ConfigError> {
    let sb = parse(ctx)?;
    if sb.timer_event_on_shutdown.is_some() {
        return Err(ctx.invalid(Some("timer_event_on_shutdown"), "not a decoder option"));
    }
    LuaDecoder::load(&sb.path, sb.config.clone())
        .map_err(|e| ctx.error(Some("filename"), e.to_string()))?;
    let (path, config) = (sb.path, sb.config);
    Ok(Arc::new(move || {
        LuaDecoder::load(&path, config.clone())
            .map(|d| Box::new(d) as Box<dyn Decoder>)
            .map_err(|e| PluginError::Fatal(e.to_string()))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use heka_pipeline::{FilterContext, Pack, Settings};

    /// Loads `body` as a config whose `share_dir` is the repository's `config/`.
    fn with_section<T>(body: &str, name: &str, f: impl FnOnce(&BuildContext) -> T) -> T {
        let share = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        with_section_in(&share, body, name, f)
    }

    fn with_section_in<T>(
        share: &Path,
        body: &str,
        name: &str,
        f: impl FnOnce(&BuildContext) -> T,
    ) -> T {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("hekad.toml");
        let text = format!(
            "[hekad]\nbase_dir = {:?}\nshare_dir = {:?}\n\n{body}",
            dir.path().display().to_string(),
            share.display().to_string()
        );
        std::fs::write(&file, text).expect("write config");
        let cfg = config::load(&file).unwrap_or_else(|e| panic!("config: {e}"));
        let section = cfg.section(name).expect("section");
        f(&BuildContext::new(&cfg, section))
    }

    #[test]
    fn seed_scripts_build_and_produce_the_slack_body() {
        let mut filter = with_section(
            "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"lua/log_aggregator.lua\"\nticker_interval = 1\n",
            "Agg",
            |ctx| {
                assert!(is_lua(ctx));
                build_filter(ctx)
            },
        )
        .expect("filter builds")
        .filter;
        let encoder = with_section(
            "[Slack]\ntype = \"SandboxEncoder\"\nfilename = \"lua/slack_encoder.lua\"\n",
            "Slack",
            build_encoder,
        )
        .expect("encoder builds");
        let settings = Settings::default();
        let mut ctx = FilterContext::standalone("Agg", &settings, None);
        let msg = heka_message::Message {
            uuid: vec![1; 16],
            payload: Some("disk full\n".into()),
            ..Default::default()
        };
        filter
            .process_batch(&[Pack::new(msg, None)], &mut ctx)
            .expect("process");
        ctx.begin_timer();
        filter.timer_event(0, &mut ctx).expect("timer");
        let out = ctx.take_injected();
        let mut body = Vec::new();
        encoder()
            .expect("instance")
            .encode(&out[0], &mut body)
            .expect("encode");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["text"], "disk full\n");
        assert_eq!(json["channel"], "#something");
    }

    #[test]
    fn lua_errors_name_the_section_and_script() {
        let err = with_section(
            "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"missing.lua\"\n",
            "Agg",
            build_filter,
        )
        .err()
        .expect("missing script refused");
        assert!(err.to_string().contains("missing.lua"), "{err}");
    }

    /// The seed pipeline's two stages, Lua scripts vs wasm guests, on the same input:
    /// the aggregated payloads are equal and so are the Slack JSON documents (the Lua
    /// one in lua-cjson's form: `\/` escapes, Lua's key order).
    #[test]
    fn lua_and_wasm_seed_plugins_agree() {
        let wasm_share = Path::new(heka_guest_build::PLUGINS_DIR);
        let lines = ["disk \"full\" on /var\n", "é ✓ \u{1}\n", "third\ttab\n"];
        let aggregate = |mut filter: Box<dyn heka_pipeline::Filter>| {
            let settings = Settings::default();
            let mut ctx = FilterContext::standalone("Agg", &settings, None);
            let packs: Vec<Pack> = lines
                .iter()
                .map(|l| {
                    Pack::new(
                        heka_message::Message {
                            uuid: vec![1; 16],
                            logger: Some("ExampleLog".into()),
                            payload: Some((*l).into()),
                            ..Default::default()
                        },
                        None,
                    )
                })
                .collect();
            filter.process_batch(&packs, &mut ctx).expect("process");
            ctx.begin_timer();
            filter.timer_event(0, &mut ctx).expect("timer");
            let mut out = ctx.take_injected();
            assert_eq!(out.len(), 1);
            out.remove(0)
        };
        let lua_msg = aggregate(
            with_section(
                "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"lua/log_aggregator.lua\"\n",
                "Agg",
                build_filter,
            )
            .expect("lua filter")
            .filter,
        );
        let wasm_msg = aggregate(
            with_section_in(
                wasm_share,
                "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"log-aggregator.wasm\"\n",
                "Agg",
                crate::plugins::filters::sandbox_filter::build,
            )
            .expect("wasm filter")
            .filter,
        );
        assert_eq!(lua_msg.payload(), wasm_msg.payload());
        assert_eq!(lua_msg.type_(), wasm_msg.type_());
        assert_eq!(lua_msg.fields, wasm_msg.fields);

        let encode = |factory: EncoderFactory| {
            let mut body = Vec::new();
            factory()
                .expect("instance")
                .encode(&lua_msg, &mut body)
                .expect("encode");
            body
        };
        let lua_body = encode(
            with_section(
                "[Slack]\ntype = \"SandboxEncoder\"\nfilename = \"lua/slack_encoder.lua\"\n",
                "Slack",
                build_encoder,
            )
            .expect("lua encoder"),
        );
        let wasm_body = encode(
            with_section_in(
                wasm_share,
                "[Slack]\ntype = \"SandboxEncoder\"\nfilename = \"slack-encoder.wasm\"\n",
                "Slack",
                crate::plugins::encoders::sandbox::build,
            )
            .expect("wasm encoder"),
        );
        let parse = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).expect("json");
        assert_eq!(parse(&lua_body), parse(&wasm_body));
        assert!(String::from_utf8_lossy(&lua_body).contains("on \\/var"));
    }
}
