//! `heka-sandbox`: Heka's SandboxFilter / SandboxEncoder / SandboxDecoder with plugins
//! compiled to WebAssembly components, run by wasmtime.
//!
//! - `engine`: [`SandboxEngine`], one wasmtime engine per process (shared), the
//!   component cache (content hash, memory and disk) and the epoch ticker. Start here.
//! - `config`: [`SandboxConfig`], a plugin's limits and `[<name>.config]` table.
//! - `instance`: one instantiated plugin: its store, its limits and how every way a
//!   call can end maps to Heka's outcomes ([`heka_pipeline::PluginError`]).
//! - `host`: the host side of `guest-sdk/wit/heka.wit` (read-config, log,
//!   add-to-payload, inject-payload, inject-message).
//! - `wasi`: the locked-down WASI context, and the linker in which no import waits.
//! - `deadline`: each call's wall-clock cap and the shutdown cap (epoch callback).
//! - `filter`, `encoder`, `decoder`: the engines of the sandbox contract
//!   ([`heka_pipeline::sandbox`]): [`WasmFilter`], [`WasmEncoder`], [`WasmDecoder`]
//!   are the contract's generic plugins over them. Heka's rules (replay, injection
//!   shapes, limits' wording, `preserve_data`) live in the contract, not here.
//!
//! The contract is shaped by cost (measured: ~170 ns per export call, ~300 ns per
//! string-returning import): a filter receives what is queued as ONE `list<u8>` per
//! call, in a fixed-offset format (`heka_message::batch`, the format's one home, whose
//! version the guest exports and [`load_filter`] checks) in which headers
//! equal to the previous message's are not resent, and the guest SDK decodes it
//! inside the sandbox over one reused message, so reading a message never crosses the
//! boundary. Injections are gathered during the call and replayed into the
//! [`heka_pipeline::FilterContext`] afterwards in Heka's order (each carries the index
//! of the message that made it). `cargo bench -p heka-sandbox --bench aggregator`
//! measures it next to native Rust and the Lua shim.
//!
//! Limits (Heka's, per plugin): `memory_limit` (a resource limiter on linear memory),
//! `instruction_limit` (wasmtime fuel, see [`config::FUEL_PER_INSTRUCTION`]), a
//! wall-clock cap per call (epoch interruption) and `output_limit` (bytes per
//! injection / output buffer). Exceeding one, a trap, or a panic terminates the plugin:
//! the call returns `PluginError::Fatal(reason)` and every later call returns it too.
//! Nothing a guest does panics the host.
//!
//! `preserve_data` (filters): with a preservation file set
//! (`SandboxConfig::preservation_file`), the guest's
//! `restore-state` export gets the file's bytes right after `init`, and its
//! `save-state` export is written there at a clean shutdown (`Filter::shutdown`, which
//! the pipeline does not call after a fatal error; a terminated runner saves nothing
//! either). The bytes are the plugin's own format.

mod bindings;
pub mod config;
mod deadline;
mod decoder;
mod encoder;
pub mod engine;
mod filter;
mod host;
mod instance;
mod wasi;

pub use config::SandboxConfig;
pub use deadline::SHUTDOWN_CALL_LIMIT;
pub use decoder::{WasmDecoder, WasmDecoderEngine, load_decoder, new_decoder};
pub use encoder::{WasmEncoder, WasmEncoderEngine, load_encoder, new_encoder};
pub use engine::{CacheStats, LoadedComponent, SandboxEngine};
pub use filter::{WasmFilter, WasmFilterEngine, load_filter, new_filter};
/// The contract's types, re-exported for users of this crate.
pub use heka_pipeline::sandbox::{ConfigValue, SandboxError, SandboxLimits, SandboxSpec};
