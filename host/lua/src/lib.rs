//! `heka-lua`: runs Heka 0.10's Lua sandbox scripts unchanged, as
//! [`heka_pipeline`] filters, encoders and decoders (issue 5).
//!
//! It is a compatibility shim, not a second sandbox design: the script sees Heka's
//! API (reference §9, the Heka 0.10 flavour, not lua_sandbox 1.x) and hekad sees the
//! same [`heka_pipeline::Filter`] / [`heka_pipeline::Encoder`] /
//! [`heka_pipeline::Decoder`] traits and the same outcome mapping as the wasm plugins
//! of `heka-sandbox` (failed / skip / fatal, limit reasons worded the same way).
//!
//! - `config`: [`LuaConfig`], a script's limits, `[<name>.config]` table and
//!   preservation file. Start here.
//! - `runtime`: one Lua 5.1 state (mlua, vendored): the locked-down environment,
//!   the limits (allocator cap, instruction count hook, output buffer cap) and how
//!   a call's end maps to Heka's outcomes.
//! - `api`: the functions scripts call (`read_message`, `inject_message`, ...).
//! - `cjson`: a lua-cjson compatible `cjson` module (encode/decode).
//! - `modules`: `require` of heka-lua-modules' `circular_buffer`, `struct`, ...
//! - `preserve`: `preserve_data`, global data saved as a Lua script and restored.
//! - `filter`, `encoder`, `decoder`: [`LuaFilter`], [`LuaEncoder`], [`LuaDecoder`].
//!
//! Scripts run one message per call (Lua cannot take a batch); the per-call cost is
//! small because the message is lent to the state by reference for the call, never
//! copied or re-encoded unless the script asks for `raw` or writes to it.

mod api;
mod cjson;
pub mod config;
mod decoder;
mod encoder;
mod filter;
mod modules;
mod preserve;
mod runtime;
mod tz;

pub use config::{ConfigValue, LuaConfig};
pub use decoder::LuaDecoder;
pub use encoder::LuaEncoder;
pub use filter::LuaFilter;

/// Why a Lua script could not be loaded or started.
#[derive(Debug, thiserror::Error)]
pub enum LuaError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The script does not compile; `message` is Lua's, naming the file and line.
    #[error("{path}: syntax error: {message}")]
    Syntax { path: String, message: String },
    /// The script's top level (or a `require`d module) raised an error.
    #[error("{path}: initialisation failed: {reason}")]
    Init { path: String, reason: String },
    /// The preserved data file could not be restored.
    #[error("{path}: cannot restore preserved data from {data}: {reason}")]
    Restore {
        path: String,
        data: String,
        reason: String,
    },
    #[error("lua state: {0}")]
    State(String),
}
