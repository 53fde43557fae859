//! From a loaded [`Config`] to a pipeline ready to start, in **one** pass that resolves
//! and checks everything the loader could not: registered types (with "did you mean"),
//! the always-present plugins, templates and the references to them (`splitter`,
//! `decoder`, `encoder`), matchers, retries and buffering; every plugin is built
//! through the registry on the way. Every problem is collected, never only the first.
//!
//! The layers: `config` parses and locates (it knows no plugin type), `registry` is the
//! table of types, this module joins them. `hekad validate` runs this too, so
//! plugin-specific keys and referenced files are checked without starting anything
//! (inputs bind their sockets only when they run).
//!
//! One rule keeps errors from echoing: a reference to a section that exists with the
//! right kind but could not be built (its own error is already reported) is not
//! reported again as "not defined". `options.rs` turns common options into the
//! pipeline's option structs.

mod options;
#[cfg(test)]
mod tests;

/// A splitter section's `SplitOptions` (also `hekad test`'s streams).
pub(crate) use options::split as split_options;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use heka_pipeline::{
    DecoderFactory, EncoderFactory, Filter, FilterOptions, Input, InputOptions, Output,
    OutputOptions, Pipeline, PipelineBuilder, PipelineError, Registry, Settings, SplitOptions,
    SplitterFactory,
};

use crate::config::{
    self, Common, Config, ConfigError, ConfigErrors, ErrorKind, PluginKind, Section, closest,
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
    /// The pipeline settings derived from `[hekad]`.
    pub settings: Settings,
    /// Inputs with their options, in load order.
    pub inputs: Vec<(String, Box<dyn Input>, InputOptions)>,
    /// Filters with their options, in load order.
    pub filters: Vec<(String, Box<dyn Filter>, FilterOptions)>,
    /// Outputs with their options, in load order.
    pub outputs: Vec<(String, Box<dyn Output>, OutputOptions)>,
}

impl Assembled {
    /// Starts every plugin (outputs first, inputs last).
    pub fn start(self) -> Result<Pipeline, PipelineError> {
        self.start_in(Arc::new(Registry::new()))
    }

    /// Starts every plugin, reporting into `registry` (the ops listener's, kept
    /// across reloads).
    pub fn start_in(self, registry: Arc<Registry>) -> Result<Pipeline, PipelineError> {
        let mut builder = PipelineBuilder::new(self.settings);
        builder.with_registry(registry);
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

    /// Whether a plugin of this name runs in it (input, filter or output, or a
    /// decoder or encoder one of them uses: their stats carry over a reload too).
    pub fn has_plugin(&self, name: &str) -> bool {
        let is = |section: &Option<(String, String)>| section.as_ref().is_some_and(|s| s.0 == name);
        self.inputs
            .iter()
            .any(|(n, _, o)| n == name || is(&o.decoder_section))
            || self.filters.iter().any(|(n, ..)| n == name)
            || self
                .outputs
                .iter()
                .any(|(n, _, o)| n == name || is(&o.encoder_section))
    }
}

/// Loads the configuration at `path` (process environment for `%ENV[]`) and builds
/// every plugin, collecting every problem of both layers, sorted by file and line.
pub fn load_and_assemble(path: &Path) -> Result<(Config, Assembled), ConfigErrors> {
    load_and_assemble_with_env(path, &|name| std::env::var(name).ok())
}

/// [`load_and_assemble`] with an explicit environment (tests).
pub fn load_and_assemble_with_env(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Assembled), ConfigErrors> {
    let (config, errors) = config::load_all(path, lookup);
    let Some(config) = config else {
        return Err(ConfigErrors(errors));
    };
    let assembled = assemble_with(&config, errors)?;
    Ok((config, assembled))
}

/// Builds every plugin of a loaded `config`.
pub fn assemble(config: &Config) -> Result<Assembled, ConfigErrors> {
    assemble_with(config, Vec::new())
}

/// The pass, starting from the loader's own problems.
fn assemble_with(config: &Config, mut errors: Vec<ConfigError>) -> Result<Assembled, ConfigErrors> {
    suggest_types(&mut errors);
    let defaults = default_sections(config);
    let mut sections: Vec<&Section> = config.sections.iter().chain(&defaults).collect();
    // Heka's load order (decoders, encoders, splitters, inputs, filters, outputs):
    // templates exist before their users.
    sections.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let mut pass = Pass {
        config,
        sections: &sections,
        errors,
        splitters: HashMap::new(),
        decoders: HashMap::new(),
        encoders: HashMap::new(),
        out: Assembled {
            settings: settings(&config.globals),
            inputs: Vec::new(),
            filters: Vec::new(),
            outputs: Vec::new(),
        },
    };
    for &section in pass.sections {
        pass.section(section);
    }
    let (out, mut errors) = (pass.out, pass.errors);
    if errors.is_empty() {
        return Ok(out);
    }
    // Stable sort: problems on the same line keep the order they were found in.
    errors.sort_by(|a, b| {
        (&a.location.file, a.location.line).cmp(&(&b.location.file, b.location.line))
    });
    Err(ConfigErrors(errors))
}

/// The loader reports a type without a kind suffix as [`ErrorKind::NoKind`]; when a
/// registered type is close ("TcpInptu"), say so instead.
fn suggest_types(errors: &mut [ConfigError]) {
    for e in errors {
        if let ErrorKind::NoKind(type_name) = &*e.kind {
            let suggestions = closest(type_name, registry::names());
            if !suggestions.is_empty() {
                let type_name = type_name.clone();
                *e.kind = ErrorKind::UnknownType {
                    type_name,
                    suggestions,
                };
            }
        }
    }
}

/// A section for every always-present type (ProtobufDecoder, ProtobufEncoder, the
/// stock splitters) the configuration does not define itself.
fn default_sections(config: &Config) -> Vec<Section> {
    registry::REGISTRY
        .iter()
        .filter(|r| r.always_present && config.section(r.name).is_none())
        .map(|r| Section {
            name: r.name.to_owned(),
            type_name: r.name.to_owned(),
            kind: r.kind(),
            table: toml::Table::new(),
            common: Common::default_for(r.kind()),
            source: None,
            key_sources: BTreeMap::new(),
        })
        .collect()
}

/// The state of the one pass: what is built so far and every problem found.
struct Pass<'a> {
    config: &'a Config,
    /// The configuration's sections plus the defaults, in load order.
    sections: &'a [&'a Section],
    errors: Vec<ConfigError>,
    splitters: HashMap<&'a str, SplitterTemplate>,
    decoders: HashMap<&'a str, (DecoderFactory, &'a str)>,
    /// Encoder templates with their type name (for `use_framing`'s default).
    encoders: HashMap<&'a str, (EncoderFactory, &'a str)>,
    out: Assembled,
}

impl<'a> Pass<'a> {
    /// Builds one section's plugin and resolves its options; wires it up only when
    /// both succeed, and reports the problems of both otherwise.
    fn section(&mut self, section: &'a Section) {
        let Some(reg) = self.registration(section) else {
            return;
        };
        let ctx = BuildContext::new(self.config, section);
        let name = section.name.as_str();
        match reg.ctor {
            Ctor::Splitter(ctor) => {
                if let Some(factory) = self.keep(ctor(&ctx)) {
                    let options = options::split(self.config, section, reg);
                    self.splitters
                        .insert(name, SplitterTemplate { factory, options });
                }
            }
            Ctor::Decoder(ctor) => {
                if let Some(factory) = self.keep(ctor(&ctx)) {
                    self.decoders
                        .insert(name, (factory, section.type_name.as_str()));
                }
            }
            Ctor::Encoder(ctor) => {
                if let Some(factory) = self.keep(ctor(&ctx)) {
                    self.encoders
                        .insert(name, (factory, section.type_name.as_str()));
                }
            }
            Ctor::Input(ctor) => {
                let plugin = self.keep(ctor(&ctx));
                let options = self.input_options(section, reg);
                if let (Some(plugin), Some(options)) = (plugin, options) {
                    self.out.inputs.push((name.to_owned(), plugin, options));
                }
            }
            Ctor::Filter(ctor) => {
                let built = self.keep(ctor(&ctx));
                let options = self.filter_options(section, reg);
                if let (Some(built), Some(mut options)) = (built, options) {
                    if let Some(on) = built.timer_event_on_shutdown {
                        options.timer_event_on_shutdown = on;
                    }
                    self.out
                        .filters
                        .push((name.to_owned(), built.filter, options));
                }
            }
            Ctor::Output(ctor) => {
                let plugin = self.keep(ctor(&ctx));
                let options = self.output_options(section, reg);
                if let (Some(plugin), Some(options)) = (plugin, options) {
                    self.out.outputs.push((name.to_owned(), plugin, options));
                }
            }
        }
    }

    /// The registered type of `section`, or an "unknown plugin type" problem.
    fn registration(&mut self, section: &Section) -> Option<&'static Registration> {
        let reg = registry::lookup(&section.type_name);
        if reg.is_none() {
            let key = section.key_sources.contains_key("type").then_some("type");
            self.report(
                section,
                key,
                ErrorKind::UnknownType {
                    type_name: section.type_name.clone(),
                    suggestions: closest(&section.type_name, registry::names()),
                },
            );
        }
        reg
    }

    /// The value, or `None` with its problem recorded.
    fn keep<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.errors.push(e)).ok()
    }

    /// Records a problem at `key` of `section`.
    fn report(&mut self, section: &Section, key: Option<&str>, kind: ErrorKind) {
        let e = self.config.error_at(section, key, kind);
        self.errors.push(e);
    }

    /// The template `key` names (`named`, else the type's `default`), which must be a
    /// section of `kind`. `Some(None)`: it names nothing. `None`: a problem, reported
    /// here, or the template's own failure, reported when it was built.
    fn reference<T>(
        &mut self,
        section: &Section,
        key: &'static str,
        (named, default): (Option<&str>, Option<&str>),
        kind: PluginKind,
        built: impl Fn(&Self, &str) -> Option<T>,
    ) -> Option<Option<T>> {
        let Some(name) = named.or(default) else {
            return Some(None);
        };
        let problem = match self.sections.iter().find(|s| s.name == name) {
            Some(target) if target.kind == kind => return built(self, name).map(Some),
            Some(target) => ErrorKind::WrongKind {
                name: name.to_owned(),
                expected: kind.as_str(),
                actual: target.kind.as_str(),
            },
            None => {
                let candidates = self
                    .sections
                    .iter()
                    .filter(|s| s.kind == kind)
                    .map(|s| s.name.as_str());
                ErrorKind::MissingReference {
                    kind: kind.as_str(),
                    name: name.to_owned(),
                    suggestions: closest(name, candidates),
                }
            }
        };
        self.report(section, Some(key), problem);
        None
    }
}
