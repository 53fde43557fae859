//! [`SandboxConfig`]: one sandbox's limits and its `[<name>.config]` table.
//!
//! Defaults are Heka's (reference §6.1). Two knobs are ours, because wasm is not Lua:
//! how much wasmtime fuel one of Heka's "instructions" is worth, and a wall-clock cap
//! per call (fuel counts work, not time spent in host calls).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::bindings::ConfigValue;

/// Heka's default `memory_limit`: 8 MiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 8 * 1024 * 1024;
/// Heka's default `instruction_limit`: 1,000,000 per call.
pub const DEFAULT_INSTRUCTION_LIMIT: u64 = 1_000_000;
/// Heka's default `output_limit`: 63 KiB.
pub const DEFAULT_OUTPUT_LIMIT: usize = 63 * 1024;

/// Fuel per Heka instruction. Heka counts Lua VM instructions; wasmtime charges about
/// one unit of fuel per wasm instruction, and one Lua instruction (a table access, a
/// string concatenation step) does the work of many wasm instructions. With 10, Heka's
/// default limit (1,000,000) is 10,000,000 fuel per message: the log aggregator spends
/// ~1,000 fuel on a 72-byte message (decoding included; measured in `tests/limits.rs`;
/// it was ~5,900 with a prost decode of protobuf batches), i.e. ~100 "instructions". A batch of N messages gets N times the budget, so the limit
/// stays per message as in Heka. Instantiation and `init` get a fixed start-up budget.
pub const FUEL_PER_INSTRUCTION: u64 = 10;

/// Default wall-clock cap for one call (a batch or a timer event). Generous: it is the
/// backstop against a guest blocked in a host call or burning fuel slowly, not a
/// scheduling quantum.
pub const DEFAULT_CALL_TIME_LIMIT: Duration = Duration::from_secs(10);

/// One sandbox's settings.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The plugin's section name (Logger of its injections, log attribution).
    pub name: String,
    /// Bytes of linear memory the guest may grow to.
    pub memory_limit: usize,
    /// Heka instructions per call and per message; 0 = unlimited (Heka's inputs/outputs).
    pub instruction_limit: u64,
    /// Fuel per instruction ([`FUEL_PER_INSTRUCTION`]).
    pub fuel_per_instruction: u64,
    /// Bytes per output buffer / injected message.
    pub output_limit: usize,
    /// Wall-clock cap per call; `Duration::ZERO` = none.
    pub call_time_limit: Duration,
    /// The `[<name>.config]` table as the guest reads it with `read_config`.
    pub config: HashMap<String, ConfigValue>,
    /// Filters' `preserve_data`: the data file (see [`SandboxConfig::preservation_file`]);
    /// `None` = off.
    pub preservation_file: Option<PathBuf>,
}

impl SandboxConfig {
    /// Heka's defaults for a plugin named `name`.
    pub fn new(name: impl Into<String>) -> SandboxConfig {
        SandboxConfig {
            name: name.into(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            instruction_limit: DEFAULT_INSTRUCTION_LIMIT,
            fuel_per_instruction: FUEL_PER_INSTRUCTION,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            call_time_limit: DEFAULT_CALL_TIME_LIMIT,
            config: HashMap::new(),
            preservation_file: None,
        }
    }

    /// Heka's data file for plugin `name`, the same as the Lua shim's:
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

    /// Adds a `[<name>.config]` entry (builder style, for tests and glue code).
    pub fn with_config(mut self, key: &str, value: ConfigValue) -> SandboxConfig {
        self.config.insert(key.to_owned(), value);
        self
    }

    /// Fuel for one call that processes `units` messages (≥ 1).
    pub(crate) fn fuel_for(&self, units: usize) -> u64 {
        if self.instruction_limit == 0 {
            return u64::MAX;
        }
        self.instruction_limit
            .saturating_mul(self.fuel_per_instruction.max(1))
            .saturating_mul(units.max(1) as u64)
    }
}
