//! `heka-message`: Heka's message model and everything that reads or writes it without I/O.
//!
//! - [`Message`], [`Field`], [`Value`]: the model of Heka's `message.proto`
//!   (module `message`). Start reading there.
//! - `codec`: protobuf encode/decode (byte-compatible with Heka) and `max_message_size`:
//!   the one writer, prost's decoder for the host, the pooled reader for guests.
//! - [`batch`]: the filter-batch format handed to wasm filters, writer and reader.
//! - [`civil`]: UTC calendar dates of Timestamps (Lua's `os.time`, strftime, HTTP dates).
//! - `framing`: Heka's stream framing (`0x1E len Header 0x1F message`) both ways.
//! - `json`: the JSON form of a message used on the command line and in tests (feature `json`).
//! - [`json_text`]: JSON string literals from bytes (every JSON body we write, the guests' too).
//! - `matcher`: Heka's `message_matcher` language (feature `matcher`).
//! - [`var`]: Heka's message variables (`Type`, `Fields[x]`, Uuid text) for both sandbox APIs.
//! - `signing`: HMAC signatures of framed records, both ways (feature `signing`).
//!
//! ```
//! use heka_message::{Message, Value, decode_message, encode_message};
//!
//! let mut msg = Message { uuid: vec![0; 16], timestamp: 1, ..Default::default() };
//! msg.r#type = Some("nginx.access".into());
//! msg.add_field("status", Value::Integer(503), "");
//!
//! let mut bytes = Vec::new();
//! encode_message(&msg, &mut bytes);
//! let back = decode_message(&bytes).unwrap();
//!
//! # #[cfg(feature = "matcher")] {
//! let m = heka_message::Matcher::parse("Type == 'nginx.access' && Fields[status] >= 500").unwrap();
//! assert!(m.matches(&back));
//! # }
//! ```
//!
//! The crate builds for `wasm32-wasip2` too (the guest SDK decodes message batches
//! inside the sandbox with it), which is why it does no I/O and keeps `regex` optional.

pub mod batch;
pub mod civil;
mod codec;
mod framing;
#[cfg(feature = "json")]
mod json;
pub mod json_text;
#[cfg(feature = "matcher")]
mod matcher;
mod message;
#[cfg(feature = "signing")]
mod signing;
pub mod var;

pub use codec::{
    DEFAULT_MAX_MESSAGE_SIZE, DecodeError, ReadError, SizeError, Spare, check_message_size,
    decode_into, decode_message, encode_message, encoded_len,
};
pub use framing::{
    FramingError, HEADER_FRAMING_SIZE, MAX_HEADER_SIZE, RECORD_SEPARATOR, UNIT_SEPARATOR, Unframed,
    frame_message, frame_with_header, unframe,
};
#[cfg(feature = "json")]
pub use json::{JsonError, message_from_json, message_to_json};
#[cfg(feature = "matcher")]
pub use matcher::{Matcher, MatcherError, TextHeader};
pub use message::{Field, FieldValue, Header, HmacHashFunction, Message, Value, ValueType};
#[cfg(feature = "signing")]
pub use signing::{SignerKeys, SigningKey, VerifyError, hash_function};
