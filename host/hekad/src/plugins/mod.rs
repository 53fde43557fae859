//! The plugins hekad ships, one per file under `inputs/`, `splitters/`, `decoders/`,
//! `filters/`, `encoders/` and `outputs/`, and [`BuildContext`], what every
//! constructor gets.
//!
//! A plugin file holds its serde config struct (`deny_unknown_fields`, Heka's
//! defaults), its runtime struct, a `build(&BuildContext)` function and its unit tests.
//! It is made reachable by one row in `crate::registry`. A constructor returns what it
//! builds: the plugin (a filter also the options it decides itself, [`BuiltFilter`]);
//! nothing is handed back through the context.

pub mod decoders;
#[cfg(test)]
mod doc_examples;
pub mod encoders;
pub mod filters;
pub mod inputs;
pub mod nats;
pub mod net;
pub mod outputs;
pub mod sandbox;
pub mod splitters;
pub mod tls;

use std::path::{Path, PathBuf};

use heka_pipeline::{Filter, Settings};
use serde::de::DeserializeOwned;

use crate::config::{Common, Config, ConfigError, ErrorKind, Globals, Section, from_table};

/// What a plugin constructor gets: its identity, its own keys, the globals, and ways
/// to report errors that name file, line, section and key.
pub struct BuildContext<'a> {
    /// Section name = plugin name.
    pub name: &'a str,
    /// The registered type name.
    pub type_name: &'a str,
    /// The plugin's own keys (`type` and the kind's common keys removed).
    pub table: &'a toml::Table,
    /// The `[hekad]` section.
    pub globals: &'a Globals,
    /// The file the section was read from.
    pub file: &'a Path,
    config: &'a Config,
    section: &'a Section,
}

impl<'a> BuildContext<'a> {
    /// The context for building `section` of `config`.
    pub fn new(config: &'a Config, section: &'a Section) -> BuildContext<'a> {
        BuildContext {
            name: &section.name,
            type_name: &section.type_name,
            table: &section.table,
            globals: &config.globals,
            file: config.file_of(section, None),
            config,
            section,
        }
    }

    /// Parses the plugin's own keys into its config struct (which should use
    /// `#[serde(deny_unknown_fields)]`); errors name the key and its line.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        from_table(self.table).map_err(|e| self.error_kind(e.key.as_deref(), e.kind))
    }

    /// Parses the section's `[<name>.config]` table (the sandbox plugins' place for
    /// plugin options, also used by their native twins) into `T`, its default when the
    /// section has none. The section itself may hold no other key of its own. Errors
    /// name `config.<key>`.
    pub fn parse_config<T: DeserializeOwned + Default>(&self) -> Result<T, ConfigError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WithConfig {
            #[serde(default)]
            config: Option<toml::Table>,
        }
        let section: WithConfig = self.parse()?;
        match section.config {
            None => Ok(T::default()),
            Some(t) => from_table(&t).map_err(|e| {
                let key = format!("config.{}", e.key.as_deref().unwrap_or_default());
                self.error_kind(Some(key.trim_end_matches('.')), e.kind)
            }),
        }
    }

    /// `p` resolved against `[hekad] share_dir` unless absolute.
    pub fn share_path(&self, p: &str) -> PathBuf {
        self.globals.share_dir.join(p)
    }

    /// `p` resolved against `[hekad] base_dir` unless absolute.
    pub fn base_path(&self, p: &str) -> PathBuf {
        self.globals.base_dir.join(p)
    }

    /// An "invalid value" error at `key` (or at the section when `None`).
    pub fn invalid(&self, key: Option<&str>, message: impl Into<String>) -> ConfigError {
        self.error_kind(key, ErrorKind::InvalidValue(message.into()))
    }

    /// A plugin-specific error at `key` (or at the section when `None`).
    pub fn error(&self, key: Option<&str>, message: impl Into<String>) -> ConfigError {
        self.error_kind(key, ErrorKind::Plugin(message.into()))
    }

    /// An error of any kind at `key` (or at the section when `None`).
    pub fn error_kind(&self, key: Option<&str>, kind: ErrorKind) -> ConfigError {
        self.config.error_at(self.section, key, kind)
    }

    /// The common options of the section's kind.
    pub fn common(&self) -> &Common {
        &self.section.common
    }

    /// The pipeline settings derived from `[hekad]`.
    pub fn settings(&self) -> Settings {
        settings(self.globals)
    }
}

/// What a filter constructor returns: the filter, and the pipeline options it decides
/// from its own keys (the assembler merges them into `FilterOptions`).
pub struct BuiltFilter {
    /// The filter.
    pub filter: Box<dyn Filter>,
    /// Sandbox filters' own `timer_event_on_shutdown` (`None`: the pipeline's default,
    /// no final timer event).
    pub timer_event_on_shutdown: Option<bool>,
}

impl<F: Filter + 'static> From<F> for BuiltFilter {
    /// A filter with no options of its own.
    fn from(filter: F) -> BuiltFilter {
        BuiltFilter {
            filter: Box::new(filter),
            timer_event_on_shutdown: None,
        }
    }
}

/// The pipeline settings derived from `[hekad]`.
pub fn settings(globals: &Globals) -> Settings {
    Settings {
        hostname: globals.hostname.clone(),
        pid: std::process::id() as i32,
        plugin_chansize: globals.plugin_chansize,
        max_message_loops: globals.max_message_loops,
        max_process_inject: globals.max_process_inject,
        max_timer_inject: globals.max_timer_inject,
        max_message_size: globals.max_message_size,
        max_sandbox_outputs: globals.max_sandbox_outputs,
    }
}
