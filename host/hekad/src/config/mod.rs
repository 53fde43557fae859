//! Loading `hekad.toml` (reference §2): parsing and locating, nothing more.
//!
//! [`load`] reads a file or a directory of `*.toml` files (merged in name order, later
//! keys win), substitutes `%ENV[NAME]`, parses `[hekad]` into [`Globals`] and every
//! other table into a [`Section`]: name, type (default: the section name), kind (from
//! the type's suffix), common options of that kind ([`Common`]) and the remaining keys
//! for the plugin's own strict config struct. Every problem found is returned, each
//! naming file, line, section and key ([`ConfigError`]).
//!
//! This layer knows no plugin type: whether a type is registered, what a `decoder`
//! names and whether a matcher parses are checked by `crate::assemble`, which sits
//! above both this module and the registry. So loading builds no plugin: the loader's
//! tests and its fuzzer (`tests/fuzz_config.rs`) exercise it alone.
//!
//! Start with [`load`]; `load.rs` does the reading.

mod common;
mod de;
mod env;
mod error;
mod globals;
mod load;
mod suggest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use common::{
    BufferingConfig, Common, InputCommon, Retries, RetriesConfig, RoutedCommon, SplitterCommon,
    common_keys,
};
pub use de::{KeyError, from_table};
pub use error::{ConfigError, ConfigErrors, ErrorKind, Location};
pub use globals::{Globals, GlobalsConfig};
pub use load::{find_line, line_of};
pub use suggest::closest;

/// A Go duration option (`"250ms"`, `"1m30s"`), parsed by the workspace's one parser
/// ([`heka_tail::duration::parse`]); the error names the value and the reason.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    heka_tail::duration::parse(s).map_err(|reason| format!("invalid duration {s:?}: {reason}"))
}

/// A plugin's category, from the suffix of its type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    // Declared in Heka's load order: decoders, encoders, splitters, inputs, filters, outputs.
    Decoder,
    Encoder,
    Splitter,
    Input,
    Filter,
    Output,
}

impl PluginKind {
    /// The kind named by a type's suffix (`TcpInput` -> Input).
    pub fn from_type_name(type_name: &str) -> Option<PluginKind> {
        const SUFFIXES: [(&str, PluginKind); 6] = [
            ("Input", PluginKind::Input),
            ("Splitter", PluginKind::Splitter),
            ("Decoder", PluginKind::Decoder),
            ("Filter", PluginKind::Filter),
            ("Encoder", PluginKind::Encoder),
            ("Output", PluginKind::Output),
        ];
        SUFFIXES
            .iter()
            .find(|(suffix, _)| type_name.ends_with(suffix))
            .map(|&(_, k)| k)
    }

    /// Lower-case name for messages ("decoder"): the pipeline's spelling, which the
    /// metrics and the dashboard use too.
    pub fn as_str(self) -> &'static str {
        heka_pipeline::PluginKind::from(self).as_str()
    }
}

/// The same kinds; this one is ordered as Heka loads sections, the pipeline's as a
/// message flows (the dashboard's order).
impl From<PluginKind> for heka_pipeline::PluginKind {
    fn from(kind: PluginKind) -> heka_pipeline::PluginKind {
        match kind {
            PluginKind::Input => heka_pipeline::PluginKind::Input,
            PluginKind::Splitter => heka_pipeline::PluginKind::Splitter,
            PluginKind::Decoder => heka_pipeline::PluginKind::Decoder,
            PluginKind::Filter => heka_pipeline::PluginKind::Filter,
            PluginKind::Encoder => heka_pipeline::PluginKind::Encoder,
            PluginKind::Output => heka_pipeline::PluginKind::Output,
        }
    }
}

/// One configuration file as read (after `%ENV[]` substitution).
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

/// One plugin instance.
#[derive(Debug, Clone)]
pub struct Section {
    /// Section name = plugin name.
    pub name: String,
    /// Registered type name (`type`, default: the section name).
    pub type_name: String,
    pub kind: PluginKind,
    /// The plugin's own keys (`type` and the common keys removed).
    pub table: toml::Table,
    /// The common options of the kind.
    pub common: Common,
    /// Index into [`Config::sources`] of the last file defining the section; `None`
    /// for the default-registered plugins that have no section.
    pub source: Option<usize>,
    /// Which source each top-level key's winning definition came from.
    pub key_sources: BTreeMap<String, usize>,
}

/// A loaded configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The path given on the command line.
    pub path: PathBuf,
    pub globals: Globals,
    /// Plugin sections in Heka's load order (decoders, encoders, splitters, inputs,
    /// filters, outputs; by name within a kind), as written: the always-present
    /// plugins are added by `crate::assemble`.
    pub sections: Vec<Section>,
    pub sources: Vec<Source>,
}

impl Config {
    /// The section named `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The file a section (or one of its keys) was read from; the config path for
    /// default-registered plugins.
    pub fn file_of(&self, section: &Section, key: Option<&str>) -> &Path {
        self.source_of(section, key)
            .map_or(self.path.as_path(), |s| s.path.as_path())
    }

    fn source_of(&self, section: &Section, key: Option<&str>) -> Option<&Source> {
        let top = key.and_then(|k| k.split('.').next());
        let index = top
            .and_then(|k| section.key_sources.get(k).copied())
            .or(section.source)?;
        self.sources.get(index)
    }

    /// An error located at `key` of `section` (its line looked up in the file's text),
    /// or at the section's header when `key` is `None`.
    pub fn error_at(&self, section: &Section, key: Option<&str>, kind: ErrorKind) -> ConfigError {
        let source = self.source_of(section, key);
        let line = source.and_then(|s| find_line(&s.text, Some(&section.name), key));
        let mut e = ConfigError::new(self.file_of(section, key), kind)
            .section(section.name.clone())
            .line(line);
        if let Some(k) = key {
            e = e.key(k);
        }
        e
    }
}

/// Loads the configuration at `path` (a file or a directory), using the process
/// environment for `%ENV[]`. Types and references are not checked here
/// (`crate::assemble` does).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with_env(path, &env::process_env)
}

/// [`load`] with an explicit environment (tests).
pub fn load_with_env(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    match load_all(path, lookup) {
        (Some(config), errors) if errors.is_empty() => Ok(config),
        (_, errors) => Err(ConfigErrors(errors)),
    }
}

/// Loads what can be loaded and returns it with every problem found, so that callers
/// (`hekad validate`, start-up) can go on checking the plugins of the sound sections.
/// The config is `None` only when the path itself cannot be read.
pub fn load_all(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> (Option<Config>, Vec<ConfigError>) {
    let files = match load::config_files(path) {
        Ok(f) => f,
        Err(e) => return (None, vec![e]),
    };
    let mut errors = Vec::new();
    let (sources, merged) = load::read_all(&files, lookup, &mut errors);
    let config = from_merged(path, sources, merged, &mut errors);
    (Some(config), errors)
}

/// One TOML document, already parsed, as a configuration of its own: `hekad test`
/// reads a spec's `[hekad]` and plugin sections this way, so a problem in them is
/// reported by the same rules, located in the spec (`path`, `text`). No `%ENV[]`
/// substitution (a spec is a test fixture, not a deployment).
pub fn from_document(path: &Path, text: &str, doc: toml::Table) -> (Config, Vec<ConfigError>) {
    let sources = vec![Source {
        path: path.to_path_buf(),
        text: text.to_owned(),
    }];
    let mut errors = Vec::new();
    let mut merged = BTreeMap::new();
    for (name, value) in doc {
        let toml::Value::Table(table) = value else {
            errors.push(
                ConfigError::new(path, ErrorKind::NotASection)
                    .line(find_line(text, None, Some(&name)))
                    .key(name),
            );
            continue;
        };
        let key_sources = table.keys().map(|k| (k.clone(), 0)).collect();
        let entry = load::Merged {
            table,
            key_sources,
            source: 0,
        };
        merged.insert(name, entry);
    }
    let config = from_merged(path, sources, merged, &mut errors);
    (config, errors)
}

/// `[hekad]` and the sections of the merged tables, in Heka's load order.
fn from_merged(
    path: &Path,
    sources: Vec<Source>,
    mut merged: BTreeMap<String, load::Merged>,
    errors: &mut Vec<ConfigError>,
) -> Config {
    let globals = load::globals(&mut merged, &sources, errors);
    let mut sections = load::sections(merged, &sources, errors);
    sections.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Config {
        path: path.to_path_buf(),
        globals,
        sections,
        sources,
    }
}

#[cfg(test)]
pub(crate) mod tests;
