//! [`SandboxConfig`]: what the wasm engine needs beyond the sandbox contract's
//! [`SandboxSpec`] (name, Heka's limits, `[<name>.config]`, `preserve_data`).
//!
//! Two knobs are ours, because wasm is not Lua: how much wasmtime fuel one of Heka's
//! "instructions" is worth, and a wall-clock cap per call (fuel counts work, not time
//! spent in host calls).

use std::time::Duration;

use heka_pipeline::sandbox::SandboxSpec;

/// Fuel per Heka instruction. Heka counts Lua VM instructions; wasmtime charges about
/// one unit of fuel per wasm instruction, and one Lua instruction (a table access, a
/// string concatenation step) does the work of many wasm instructions. With 10, Heka's
/// default limit (1,000,000) is 10,000,000 fuel per message: the log aggregator spends
/// ~1,000 fuel on a 72-byte message (decoding included; measured in `tests/limits.rs`),
/// i.e. ~100 "instructions". A batch of N messages gets N times the budget, so the
/// limit stays per message as in Heka. Instantiation and `init` get a fixed start-up
/// budget.
pub const FUEL_PER_INSTRUCTION: u64 = 10;

/// Default wall-clock cap for one call (a batch or a timer event). Generous: it is the
/// backstop against a guest burning fuel slowly, not a scheduling quantum.
pub const DEFAULT_CALL_TIME_LIMIT: Duration = Duration::from_secs(10);

/// One wasm sandbox's settings.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The contract's part: name, limits, config table, preservation file.
    pub spec: SandboxSpec,
    /// Fuel per instruction ([`FUEL_PER_INSTRUCTION`]).
    pub fuel_per_instruction: u64,
    /// Wall-clock cap per call; `Duration::ZERO` = none.
    pub call_time_limit: Duration,
}

impl SandboxConfig {
    /// Heka's defaults for a plugin named `name`.
    pub fn new(name: impl Into<String>) -> SandboxConfig {
        SandboxConfig::from_spec(SandboxSpec::new(name))
    }

    /// The wasm defaults around a spec.
    pub fn from_spec(spec: SandboxSpec) -> SandboxConfig {
        SandboxConfig {
            spec,
            fuel_per_instruction: FUEL_PER_INSTRUCTION,
            call_time_limit: DEFAULT_CALL_TIME_LIMIT,
        }
    }

    /// Adds a `[<name>.config]` entry (builder style, for tests and glue code).
    pub fn with_config(
        mut self,
        key: &str,
        value: heka_pipeline::sandbox::ConfigValue,
    ) -> SandboxConfig {
        self.spec.config.insert(key.to_owned(), value);
        self
    }

    /// Fuel for one call that processes `units` messages (≥ 1).
    pub(crate) fn fuel_for(&self, units: usize) -> u64 {
        let limit = self.spec.limits.instruction_limit;
        if limit == 0 {
            return u64::MAX;
        }
        limit
            .saturating_mul(self.fuel_per_instruction.max(1))
            .saturating_mul(units.max(1) as u64)
    }
}
