//! From a loaded [`Config`] to a pipeline ready to start: every section's plugin is
//! built through the registry, and its common options become the pipeline's option
//! structs (templates resolved by name, matchers compiled, durations parsed).
//!
//! `hekad validate` runs this too, so plugin-specific keys and referenced files are
//! checked without starting anything (inputs bind their sockets only when they run).
//! As in loading, every problem is collected.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use heka_message::{HEADER_FRAMING_SIZE, MAX_HEADER_SIZE, Matcher};
use heka_pipeline::{
    DecoderFactory, EncoderFactory, Filter, FilterOptions, Input, InputOptions, Output,
    OutputOptions, Pipeline, PipelineBuilder, PipelineError, RetryOptions, Settings, SplitOptions,
    SplitterFactory,
};

use crate::config::{
    self, Common, Config, ConfigError, ConfigErrors, ErrorKind, Retries, RetriesConfig, Section,
};
use crate::plugins::{BuildContext, settings};
use crate::registry::{self, Ctor, Registration};

/// A splitter template with its section's options.
#[derive(Clone)]
struct SplitterTemplate {
    factory: SplitterFactory,
    options: SplitOptions,
}

/// Every plugin built and configured, not yet running.
pub struct Assembled {
    pub settings: Settings,
    pub inputs: Vec<(String, Box<dyn Input>, InputOptions)>,
    pub filters: Vec<(String, Box<dyn Filter>, FilterOptions)>,
    pub outputs: Vec<(String, Box<dyn Output>, OutputOptions)>,
}

impl Assembled {
    /// Starts every plugin (outputs first, inputs last).
    pub fn start(self) -> Result<Pipeline, PipelineError> {
        let mut builder = PipelineBuilder::new(self.settings);
        for (name, plugin, options) in self.outputs {
            builder.add_output(&name, plugin, options);
        }
        for (name, plugin, options) in self.filters {
            builder.add_filter(&name, plugin, options);
        }
        for (name, plugin, options) in self.inputs {
            builder.add_input(&name, plugin, options);
        }
        builder.start()
    }
}

/// Heka's MAX_RECORD_SIZE: a whole framed record of the largest message.
fn max_record_size(max_message_size: usize) -> usize {
    max_message_size + MAX_HEADER_SIZE + HEADER_FRAMING_SIZE
}

/// Loads the configuration at `path` and builds every plugin, collecting every
/// problem of both steps: plugins of sections the loader found fault with are still
/// built (their own keys checked) but not wired up. Problems come sorted by file and
/// line.
pub fn load_and_assemble(path: &Path) -> Result<(Config, Assembled), ConfigErrors> {
    let (config, mut errors) = config::load_all(path, &|name| std::env::var(name).ok());
    let Some(config) = config else {
        return Err(ConfigErrors(errors));
    };
    let faulty: HashSet<String> = errors
        .iter()
        .filter_map(|e| e.location.section.clone())
        .collect();
    let assembled = assemble_sections(&config, &faulty, &mut errors);
    if errors.is_empty() {
        return Ok((config, assembled));
    }
    // Stable sort: problems on the same line keep the order they were found in.
    errors.sort_by(|a, b| {
        (&a.location.file, a.location.line).cmp(&(&b.location.file, b.location.line))
    });
    Err(ConfigErrors(errors))
}

/// Builds every plugin of `config`.
pub fn assemble(config: &Config) -> Result<Assembled, ConfigErrors> {
    let mut errors = Vec::new();
    let assembled = assemble_sections(config, &HashSet::new(), &mut errors);
    if errors.is_empty() {
        Ok(assembled)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Builds every plugin; for sections in `faulty` only the plugin itself (its own
/// keys), since their common options or references are already known to be wrong.
/// A template whose constructor fails joins `faulty`, so its users do not report it
/// once more as "not defined".
fn assemble_sections(
    config: &Config,
    faulty: &HashSet<String>,
    errors: &mut Vec<ConfigError>,
) -> Assembled {
    let mut faulty = faulty.clone();
    let mut splitters: HashMap<&str, SplitterTemplate> = HashMap::new();
    let mut decoders: HashMap<&str, DecoderFactory> = HashMap::new();
    let mut encoders: HashMap<&str, (EncoderFactory, &str)> = HashMap::new();
    let mut out = Assembled {
        settings: settings(&config.globals),
        inputs: Vec::new(),
        filters: Vec::new(),
        outputs: Vec::new(),
    };
    // Sections come in Heka's load order (decoders, encoders, splitters, inputs,
    // filters, outputs), so templates exist before their users.
    for section in &config.sections {
        let Some(reg) = registry::lookup(&section.type_name) else {
            continue; // reported by the loader
        };
        let ctx = BuildContext::new(config, section);
        if faulty.contains(&section.name) || refers_to(section, reg, &faulty) {
            let checked = match reg.ctor {
                Ctor::Splitter(ctor) => ctor(&ctx).map(drop),
                Ctor::Decoder(ctor) => ctor(&ctx).map(drop),
                Ctor::Encoder(ctor) => ctor(&ctx).map(drop),
                Ctor::Input(ctor) => ctor(&ctx).map(drop),
                Ctor::Filter(ctor) => ctor(&ctx).map(drop),
                Ctor::Output(ctor) => ctor(&ctx).map(drop),
            };
            if let Err(e) = checked {
                errors.push(e);
            }
            continue;
        }
        let result = match reg.ctor {
            Ctor::Splitter(ctor) => ctor(&ctx).map(|factory| {
                let options = split_options(config, section, reg);
                splitters.insert(&section.name, SplitterTemplate { factory, options });
            }),
            Ctor::Decoder(ctor) => ctor(&ctx).map(|f| {
                decoders.insert(&section.name, f);
            }),
            Ctor::Encoder(ctor) => ctor(&ctx).map(|f| {
                encoders.insert(&section.name, (f, section.type_name.as_str()));
            }),
            Ctor::Input(ctor) => ctor(&ctx).and_then(|plugin| {
                let options = input_options(config, section, reg, &splitters, &decoders)?;
                out.inputs.push((section.name.clone(), plugin, options));
                Ok(())
            }),
            Ctor::Filter(ctor) => ctor(&ctx).and_then(|plugin| {
                let options = filter_options(config, section, reg, &ctx)?;
                out.filters.push((section.name.clone(), plugin, options));
                Ok(())
            }),
            Ctor::Output(ctor) => ctor(&ctx).and_then(|plugin| {
                let options = output_options(config, section, reg, &encoders)?;
                out.outputs.push((section.name.clone(), plugin, options));
                Ok(())
            }),
        };
        if let Err(e) = result {
            errors.push(e);
            faulty.insert(section.name.clone());
        }
    }
    out
}

/// Whether `section` uses a template named in `names` (explicitly or by default).
fn refers_to(section: &Section, reg: &Registration, names: &HashSet<String>) -> bool {
    let used: Vec<&str> = match &section.common {
        Common::Input(c) => [
            c.splitter.as_deref().or(Some(reg.splitter)),
            c.decoder.as_deref().or(reg.decoder),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Common::Output(c) => c.encoder.as_deref().into_iter().collect(),
        _ => Vec::new(),
    };
    used.iter().any(|n| names.contains(*n))
}

fn split_options(config: &Config, section: &Section, reg: &Registration) -> SplitOptions {
    let mut options = SplitOptions {
        max_record_size: max_record_size(config.globals.max_message_size),
        min_buffer_size: reg.min_buffer_size,
        ..SplitOptions::default()
    };
    if let Common::Splitter(c) = &section.common {
        options.keep_truncated = c.keep_truncated;
        options.deliver_incomplete_final = c.deliver_incomplete_final;
        if let Some(n) = c.min_buffer_size {
            options.min_buffer_size = (n as usize).clamp(1, options.max_record_size);
        }
        if c.use_message_bytes.is_some() {
            tracing::debug!(splitter = %section.name, "use_message_bytes is decided by the splitter type");
        }
    }
    options
}

fn input_options(
    config: &Config,
    section: &Section,
    reg: &Registration,
    splitters: &HashMap<&str, SplitterTemplate>,
    decoders: &HashMap<&str, DecoderFactory>,
) -> Result<InputOptions, ConfigError> {
    let Common::Input(c) = &section.common else {
        return Err(config.error_at(section, None, ErrorKind::Plugin("not an input".into())));
    };
    let splitter_name = c.splitter.as_deref().unwrap_or(reg.splitter);
    let key = c.splitter.as_ref().map(|_| "splitter");
    let template = splitters.get(splitter_name).ok_or_else(|| {
        config.error_at(
            section,
            key,
            ErrorKind::MissingReference {
                kind: "splitter",
                name: splitter_name.to_owned(),
                suggestions: Vec::new(),
            },
        )
    })?;
    let decoder = match c.decoder.as_deref().or(reg.decoder) {
        None => None,
        Some(name) => Some(decoders.get(name).cloned().ok_or_else(|| {
            config.error_at(
                section,
                c.decoder.as_ref().map(|_| "decoder"),
                ErrorKind::MissingReference {
                    kind: "decoder",
                    name: name.to_owned(),
                    suggestions: Vec::new(),
                },
            )
        })?),
    };
    let mut options = InputOptions::new(template.factory.clone(), template.options.clone());
    options.decoder = decoder;
    options.can_exit = c.can_exit;
    options.send_decode_failures = c.send_decode_failures;
    options.log_decode_failures = c.log_decode_failures;
    Ok(options)
}

fn matcher(
    config: &Config,
    section: &Section,
    expression: Option<&str>,
) -> Result<Matcher, ConfigError> {
    // Heka: no message_matcher = the plugin gets nothing.
    let expression = expression.unwrap_or("FALSE");
    Matcher::parse(expression).map_err(|e| {
        config.error_at(
            section,
            Some("message_matcher"),
            ErrorKind::BadMatcher {
                expression: e.expression,
                offset: e.offset,
                expected: e.expected,
                found: e.found,
            },
        )
    })
}

fn retries(
    config: &Config,
    section: &Section,
    r: &RetriesConfig,
) -> Result<RetryOptions, ConfigError> {
    let Retries {
        delay,
        max_delay,
        max_jitter,
        max_retries,
    } = r
        .parse()
        .map_err(|(key, msg)| config.error_at(section, Some(key), ErrorKind::InvalidValue(msg)))?;
    Ok(RetryOptions {
        delay,
        max_delay,
        max_jitter,
        max_retries,
    })
}

fn ticker(seconds: Option<u64>, reg: &Registration) -> Option<Duration> {
    let s = seconds.unwrap_or(reg.ticker_interval);
    (s > 0).then(|| Duration::from_secs(s))
}

fn filter_options(
    config: &Config,
    section: &Section,
    reg: &Registration,
    ctx: &BuildContext,
) -> Result<FilterOptions, ConfigError> {
    let Common::Filter(c) = &section.common else {
        return Err(config.error_at(section, None, ErrorKind::Plugin("not a filter".into())));
    };
    warn_unsupported(section, c.message_signer.as_deref(), c.use_buffering);
    let mut options = FilterOptions::new(matcher(config, section, c.message_matcher.as_deref())?);
    options.ticker_interval = ticker(c.ticker_interval, reg);
    options.can_exit = c.can_exit.unwrap_or(reg.sandbox);
    options.is_sandbox = reg.sandbox;
    options.timer_event_on_shutdown = ctx.timer_event_on_shutdown().unwrap_or(false);
    Ok(options)
}

fn output_options(
    config: &Config,
    section: &Section,
    reg: &Registration,
    encoders: &HashMap<&str, (EncoderFactory, &str)>,
) -> Result<OutputOptions, ConfigError> {
    let Common::Output(c) = &section.common else {
        return Err(config.error_at(section, None, ErrorKind::Plugin("not an output".into())));
    };
    // Outputs support use_buffering (the disk queue); filters do not yet.
    warn_unsupported(section, c.message_signer.as_deref(), None);
    let mut options = OutputOptions::new(matcher(config, section, c.message_matcher.as_deref())?);
    let mut encoder_type = None;
    if let Some(name) = c.encoder.as_deref() {
        let (factory, type_name) = encoders.get(name).ok_or_else(|| {
            config.error_at(
                section,
                Some("encoder"),
                ErrorKind::MissingReference {
                    kind: "encoder",
                    name: name.to_owned(),
                    suggestions: Vec::new(),
                },
            )
        })?;
        options.encoder = Some(factory.clone());
        encoder_type = Some(*type_name);
    } else if reg.requires_encoder {
        return Err(config.error_at(
            section,
            Some("encoder"),
            ErrorKind::MissingEncoder(reg.name.to_owned()),
        ));
    }
    options.use_framing = c
        .use_framing
        .unwrap_or(reg.frames_protobuf && encoder_type == Some("ProtobufEncoder"));
    options.ticker_interval = ticker(c.ticker_interval, reg);
    options.can_exit = c.can_exit.unwrap_or(reg.sandbox);
    options.retries = retries(config, section, &c.retries)?;
    if c.use_buffering == Some(true) {
        let buffering = c.buffering.clone().unwrap_or_default();
        let max_message_size = config.globals.max_message_size;
        options.buffering = Some(
            buffering
                .options(&config.globals.base_dir, max_message_size)
                .map_err(|(key, msg)| {
                    config.error_at(section, Some(key), ErrorKind::InvalidValue(msg))
                })?,
        );
    }
    Ok(options)
}

fn warn_unsupported(section: &Section, signer: Option<&str>, use_buffering: Option<bool>) {
    if signer.is_some() {
        tracing::warn!(plugin = %section.name, "message_signer is not supported yet; ignored");
    }
    if use_buffering == Some(true) {
        tracing::warn!(plugin = %section.name, "use_buffering (disk queue) is not supported yet; ignored");
    }
}
