//! `heka-lua`: runs Heka 0.10's Lua sandbox scripts unchanged, as
//! [`heka_pipeline`] filters, encoders and decoders (issue 5).
//!
//! It is a compatibility shim, not a second sandbox design: the script sees Heka's
//! API (reference §9, the Heka 0.10 flavour, not lua_sandbox 1.x) and hekad sees the
//! same [`heka_pipeline::Filter`] / [`heka_pipeline::Encoder`] /
//! [`heka_pipeline::Decoder`] traits and the same outcome mapping as the wasm plugins
//! of `heka-sandbox`: this crate is the Lua *engine* of the sandbox contract
//! ([`heka_pipeline::sandbox`]), which holds Heka's rules (limits and their wording,
//! injection shapes and counts, decoder replay, `preserve_data` files) once for both.
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
//! - `filter`, `encoder`, `decoder`: the engines; [`LuaFilter`], [`LuaEncoder`],
//!   [`LuaDecoder`] are the contract's generic plugins over them.
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
mod state;
mod tz;

pub use config::LuaConfig;
pub use decoder::{LuaDecoder, LuaDecoderEngine, load_decoder};
pub use encoder::{LuaEncoder, LuaEncoderEngine, load_encoder};
pub use filter::{LuaFilter, LuaFilterEngine, load_filter};
/// The contract's types, re-exported for users of this crate.
pub use heka_pipeline::sandbox::{ConfigValue, SandboxError, SandboxLimits, SandboxSpec};
