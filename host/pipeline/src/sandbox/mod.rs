//! Heka's sandbox contract, written once for every engine (wasm, Lua, and any third).
//!
//! A sandboxed plugin is an *engine* (something that can run a guest's
//! `process_message`, `timer_event`, `encode` or `decode` within limits) wrapped by
//! one generic pipeline plugin per kind that applies Heka's rules around it:
//!
//! - [`SandboxSpec`] / [`SandboxLimits`]: a plugin's name, limits with Heka's
//!   defaults (`memory_limit`, `instruction_limit`, `output_limit`,
//!   `max_process_inject`, `max_timer_inject`), its `[<name>.config]` table of
//!   [`ConfigValue`]s and its `preserve_data` file. Start here.
//! - [`Emitted`]: what a guest hands the host during one call (`add_to_payload`,
//!   `inject_payload`, `inject_message`), counted and bounded AS IT ARRIVES, so the
//!   host's memory is never the guest's to fill (the bound is in `docs/sandbox.md`).
//! - [`Injection`]: an emitted message, and Heka's rules to turn it into a filter's
//!   injected message or a decoder's output (headers inherited from the original).
//! - [`preserve`]: `preserve_data` files, read with a bound and written atomically.
//! - [`FilterEngine`], [`EncoderEngine`], [`DecoderEngine`]: what an engine implements.
//! - [`SandboxFilter`], [`SandboxEncoder`], [`SandboxDecoder`]: the pipeline plugins,
//!   written once: batch replay in Heka's order, `Failed parsing` wording,
//!   `preserve_data` save/restore, the encoder's "last output wins".
//!
//! - [`InjectCounter`], [`CallKind`], [`LimitExceeded`]: re-exported from
//!   `crate::limit`, one level below, because the filter context (`crate::context`)
//!   applies the same count to every filter while the plugins here implement the
//!   context's `Filter`: with the rule below both, the imports point one way.
//!
//! Engines keep only engine code: how to call the guest, how their own limits are
//! metered (fuel, a Lua count hook), how their values convert at the edge.

mod decoder;
pub(crate) mod emitted;
mod encoder;
mod engine;
mod filter;
pub(crate) mod limits;
pub mod preserve;

pub use crate::limit::{CallKind, InjectCounter, LimitExceeded, MAX_DECODER_INJECT};
pub use decoder::SandboxDecoder;
pub use emitted::{Emitted, InjectedMessage, Injection};
pub use encoder::SandboxEncoder;
pub use engine::{DecoderEngine, EncoderEngine, Engine, FilterEngine, Outcomes};
pub use filter::{SANDBOX_OUTPUT_TYPE, SandboxFilter, add_payload_fields, into_filter_message};
pub use limits::{
    ConfigValue, DEFAULT_INSTRUCTION_LIMIT, DEFAULT_MAX_PROCESS_INJECT, DEFAULT_MAX_TIMER_INJECT,
    DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT, SandboxError, SandboxLimits, SandboxSpec,
    sanitize_name,
};
