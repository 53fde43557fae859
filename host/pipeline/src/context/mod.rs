//! What a running plugin may do: [`InputContext`] for inputs, [`FilterContext`] for
//! filters (native, wasm or Lua alike), each beside the plugin trait it is handed to
//! ([`Input`], [`Filter`]) and the state behind it.
//!
//! Contexts are structs handed to the plugin so new abilities never change a trait
//! signature. Their public methods are the contract other crates code against; the
//! `pub(crate)` ones are the runners' side.
//!
//! - `input`: [`InputContext`], [`InputBatch`] (the records of one read, routed
//!   together: the one drain loop every input uses), decoding and routing.
//! - `filter`: [`FilterContext`], injection limits and the filter's held acks.
//! - `collected`: [`InputContext::collecting`], a context outside any pipeline for
//!   testing inputs.

mod collected;
mod filter;
mod input;
#[cfg(test)]
mod test_support;

pub use collected::Collected;
pub use filter::{Filter, FilterContext, InjectError};
pub use input::{AckUnits, Input, InputBatch, InputContext, RecordHeaders};
