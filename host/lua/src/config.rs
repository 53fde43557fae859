//! [`LuaConfig`]: what the Lua engine needs beyond the sandbox contract's
//! [`SandboxSpec`] (name, Heka's limits, `[<name>.config]`, `preserve_data`): where
//! `require` finds modules.

use std::path::PathBuf;

use heka_pipeline::sandbox::SandboxSpec;

/// One Lua sandbox's settings.
#[derive(Clone, Debug)]
pub struct LuaConfig {
    /// The contract's part: name, limits, config table, preservation file.
    pub spec: SandboxSpec,
    /// Where `require` looks for `<name>.lua` modules beyond the built-in ones.
    pub module_directory: Vec<PathBuf>,
}

impl LuaConfig {
    /// Heka's defaults for a plugin named `name`.
    pub fn new(name: impl Into<String>) -> LuaConfig {
        LuaConfig::from_spec(SandboxSpec::new(name))
    }

    /// Adds a `[<name>.config]` entry (builder style, for tests and glue code).
    pub fn with_config(
        mut self,
        key: &str,
        value: heka_pipeline::sandbox::ConfigValue,
    ) -> LuaConfig {
        self.spec.config.insert(key.to_owned(), value);
        self
    }

    /// No module directory around a spec.
    pub fn from_spec(spec: SandboxSpec) -> LuaConfig {
        LuaConfig {
            spec,
            module_directory: Vec::new(),
        }
    }
}
