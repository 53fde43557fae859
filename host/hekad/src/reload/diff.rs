//! What a reload changes: the running configuration and the new one compared plugin
//! by plugin, so only what changed restarts.
//!
//! A plugin (input, filter or output) is described by its [`Fingerprints`] entry: its
//! kind and type, every resolved option of its section (the common ones as parsed,
//! the plugin's own as written after `%ENV[]`), the same for the templates it uses
//! (an input's decoder and splitter, an output's encoder, named or the type's
//! default), and the content of the files they load ([`files`]: the sandbox
//! `filename`, wasm or Lua; a Lua sandbox's `module_directory`; TLS certificates and
//! keys; NATS credentials), so a changed script, module or certificate alone replaces
//! its plugin. Two entries that differ in anything replace the plugin. Not looked at:
//! files a plugin opens while it runs by a name in a message or in its own script
//! (a Lua `io.open` is refused by the sandbox anyway).
//!
//! `[hekad]` settings are read by every plugin (hostname, queue sizes, `share_dir`):
//! any change there besides the ops listener's own keys (read at start only) makes the
//! reload a full restart ([`Plan::full_restart`]).
//!
//! The fingerprints of the running configuration are taken when it starts (the files
//! it loaded then), not re-read at the reload.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::{Common, Config, PluginKind, Section};
use crate::registry;

mod files;

/// Every running plugin's description, and the `[hekad]` settings plugins see.
#[derive(Debug, Clone, Default)]
pub struct Fingerprints {
    plugins: BTreeMap<String, Plugin>,
    globals: String,
}

/// One plugin's description.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plugin {
    kind: PluginKind,
    type_name: String,
    /// A sandbox filter's engine, by its file's extension ("wasm", "lua").
    engine: Option<String>,
    /// Options of the plugin and its templates, and a hash of the files they load.
    text: String,
}

/// What a reload does, by plugin name (each list in name order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Running and unchanged: left alone.
    pub kept: Vec<String>,
    /// New names: started.
    pub added: Vec<String>,
    /// Gone from the configuration: stopped with a drain.
    pub removed: Vec<String>,
    /// Changed: stopped with a drain, then the new version started.
    pub replaced: Vec<String>,
    /// Replaced sandbox filters whose state the new version takes over (same name,
    /// type `SandboxFilter` in both, same engine).
    pub carried: Vec<String>,
    /// Why the change cannot be applied live (every plugin restarts).
    pub full_restart: Option<String>,
}

impl Fingerprints {
    /// The description of `config` as it is now (plugin files read now).
    pub fn of(config: &Config) -> Fingerprints {
        let mut plugins = BTreeMap::new();
        for section in &config.sections {
            if matches!(
                section.kind,
                PluginKind::Input | PluginKind::Filter | PluginKind::Output
            ) {
                plugins.insert(section.name.clone(), describe(config, section));
            }
        }
        let mut globals = config.globals.clone();
        // Read by the ops listener at start only, or by nothing that runs.
        globals.ops_address = None;
        globals.ops_token = None;
        globals.ops_liveness_timeout = Default::default();
        globals.pid_file = None;
        Fingerprints {
            plugins,
            globals: format!("{globals:?}"),
        }
    }

    /// What going from `self` (running) to `next` does.
    pub fn plan(&self, next: &Fingerprints) -> Plan {
        let mut plan = Plan::default();
        if self.globals != next.globals {
            plan.full_restart = Some("[hekad] settings changed".into());
        }
        for (name, new) in &next.plugins {
            match self.plugins.get(name) {
                None => plan.added.push(name.clone()),
                Some(old) if old == new => plan.kept.push(name.clone()),
                Some(old) => {
                    if old.kind != new.kind {
                        // A name moving between kinds: stop it, start it.
                        plan.removed.push(name.clone());
                        plan.added.push(name.clone());
                        continue;
                    }
                    if new.type_name == "SandboxFilter"
                        && old.type_name == new.type_name
                        && old.engine == new.engine
                    {
                        plan.carried.push(name.clone());
                    }
                    plan.replaced.push(name.clone());
                }
            }
        }
        plan.removed.extend(
            self.plugins
                .keys()
                .filter(|name| !next.plugins.contains_key(*name))
                .cloned(),
        );
        plan.removed.sort();
        plan
    }

    /// Names of the plugins described.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.plugins.keys().map(String::as_str)
    }
}

impl Plan {
    /// Nothing to stop or start.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.replaced.is_empty()
    }
}

/// The description of one input, filter or output section.
fn describe(config: &Config, section: &Section) -> Plugin {
    let mut text = String::new();
    write_section(config, section, &mut text);
    let reg = registry::lookup(&section.type_name);
    let templates: Vec<Option<&str>> = match &section.common {
        Common::Input(c) => vec![
            c.decoder.as_deref().or(reg.and_then(|r| r.decoder)),
            c.splitter.as_deref().or(reg.map(|r| r.splitter)),
        ],
        Common::Output(c) => vec![c.encoder.as_deref().or(reg.and_then(|r| r.encoder))],
        _ => Vec::new(),
    };
    for name in templates.into_iter().flatten() {
        text.push_str("\nuses ");
        text.push_str(name);
        if let Some(template) = config.section(name) {
            text.push(' ');
            write_section(config, template, &mut text);
        }
    }
    Plugin {
        kind: section.kind,
        type_name: section.type_name.clone(),
        engine: plugin_file(section).and_then(|f| {
            Path::new(f)
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
        }),
        text,
    }
}

/// A section's type, options and the files it loads, appended to `text`.
fn write_section(config: &Config, section: &Section, text: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(
        text,
        "type={} common={:?} table={:?}",
        section.type_name, section.common, section.table
    );
    files::write_loaded(&config.globals.share_dir, &section.table, text);
}

/// The plugin file a section loads (the sandbox key `filename`).
fn plugin_file(section: &Section) -> Option<&str> {
    section.table.get("filename").and_then(|v| v.as_str())
}

#[cfg(test)]
mod tests;
