//! [`LuaConfig`]: one Lua sandbox's limits, its `[<name>.config]` table and where its
//! preserved data lives.
//!
//! Defaults are Heka's (reference §6.1) and the same numbers heka-sandbox uses, so a
//! `SandboxFilter` section means the same thing whichever engine runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Heka's default `memory_limit`: 8 MiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 8 * 1024 * 1024;
/// Heka's default `instruction_limit`: 1,000,000 per call.
pub const DEFAULT_INSTRUCTION_LIMIT: u64 = 1_000_000;
/// Heka's default `output_limit`: 63 KiB.
pub const DEFAULT_OUTPUT_LIMIT: usize = 63 * 1024;

/// A `[<name>.config]` value as `read_config` returns it (Heka reads strings, bools,
/// int64 and float64; both numbers become Lua numbers).
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    String(String),
    Bool(bool),
    Int(i64),
    Float(f64),
}

/// One Lua sandbox's settings.
#[derive(Clone, Debug)]
pub struct LuaConfig {
    /// The plugin's section name (Logger of its injections, log attribution).
    pub name: String,
    /// Bytes the Lua allocator may hold; 0 = unlimited.
    pub memory_limit: usize,
    /// Lua VM instructions per call; 0 = unlimited (Heka's inputs/outputs).
    pub instruction_limit: u64,
    /// Bytes of the output buffer / of one injected message.
    pub output_limit: usize,
    /// Where `require` looks for `<name>.lua` modules beyond the built-in ones.
    pub module_directory: Vec<PathBuf>,
    /// `preserve_data`: the data file (see [`LuaConfig::preservation_file`]).
    pub preservation_file: Option<PathBuf>,
    /// The `[<name>.config]` table.
    pub config: HashMap<String, ConfigValue>,
}

impl LuaConfig {
    /// Heka's defaults for a plugin named `name`.
    pub fn new(name: impl Into<String>) -> LuaConfig {
        LuaConfig {
            name: name.into(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            instruction_limit: DEFAULT_INSTRUCTION_LIMIT,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            module_directory: Vec::new(),
            preservation_file: None,
            config: HashMap::new(),
        }
    }

    /// Adds a `[<name>.config]` entry (builder style, for tests and glue code).
    pub fn with_config(mut self, key: &str, value: ConfigValue) -> LuaConfig {
        self.config.insert(key.to_owned(), value);
        self
    }

    /// Heka's data file for plugin `name`:
    /// `<base_dir>/sandbox_preservation/<name with \W → _>.data`.
    pub fn preservation_file(base_dir: &Path, name: &str) -> PathBuf {
        let file: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        base_dir
            .join("sandbox_preservation")
            .join(format!("{file}.data"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preservation_file_replaces_non_word_characters() {
        let p = LuaConfig::preservation_file(Path::new("/b"), "my-filter.x 1");
        assert_eq!(p, Path::new("/b/sandbox_preservation/my_filter_x_1.data"));
    }
}
