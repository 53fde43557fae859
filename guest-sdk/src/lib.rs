//! `heka-sdk`: write Heka sandbox plugins (filters, encoders, decoders) in Rust,
//! compiled to WebAssembly components that hekad-rs runs in its wasm sandbox.
//!
//! A plugin is a type implementing [`Filter`], [`Encoder`] or [`Decoder`], exported with
//! [`export_filter!`], [`export_encoder!`] or [`export_decoder!`]. Those macros hide the
//! bindings generated from `wit/heka.wit` (the contract with the host): the host hands
//! the guest its messages as bytes (a whole batch at a time for filters, in a
//! fixed-offset format that does not resend repeated headers; protobuf for encoders
//! and decoders), this crate decodes them inside the sandbox into one reused
//! [`Message`] (no allocation per message once warm) and calls your method once per
//! message, so
//! [`read_message`] and [`write_message`] never cross the sandbox boundary. What leaves
//! the sandbox ([`inject_payload`], [`inject_message`], [`add_to_payload`], [`log`]) and
//! the configuration ([`read_config`]) are host calls.
//!
//! # A complete plugin
//!
//! `cargo new --lib my-counter`, then in `Cargo.toml`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! heka-sdk = { path = "../guest-sdk" }
//! ```
//!
//! `src/lib.rs`:
//!
//! ```no_run
//! use heka_sdk::{Filter, Message, Result};
//!
//! /// Counts messages per Logger and reports the counts every ticker interval.
//! struct Counter {
//!     counts: std::collections::BTreeMap<String, u64>,
//!     payload_name: String,
//! }
//!
//! impl Filter for Counter {
//!     fn new() -> Result<Self> {
//!         // `[MyCounter.config] payload_name = "counts"` in hekad.toml.
//!         let payload_name = heka_sdk::read_config("payload_name")
//!             .and_then(|v| v.as_str().map(str::to_owned))
//!             .unwrap_or_default();
//!         Ok(Counter { counts: Default::default(), payload_name })
//!     }
//!
//!     fn process_message(&mut self, msg: &Message) -> Result {
//!         if msg.logger().is_empty() {
//!             // A `Failed` outcome: counted and logged by hekad, the plugin goes on.
//!             return Err("message without a Logger".into());
//!         }
//!         *self.counts.entry(msg.logger().to_owned()).or_default() += 1;
//!         Ok(())
//!     }
//!
//!     fn timer_event(&mut self, _ns: i64) -> Result {
//!         for (logger, n) in std::mem::take(&mut self.counts) {
//!             heka_sdk::add_to_payload(&format!("{logger}\t{n}\n"))?;
//!         }
//!         // Emits Type=heka.sandbox-output with the buffer as Payload.
//!         heka_sdk::inject_payload("tsv", &self.payload_name, "")?;
//!         Ok(())
//!     }
//! }
//!
//! heka_sdk::export_filter!(Counter);
//! ```
//!
//! `cargo build --release --target wasm32-wasip2` gives
//! `target/wasm32-wasip2/release/my_counter.wasm`; point a `SandboxFilter`'s `filename`
//! at it.
//!
//! # Outcomes
//!
//! Methods return [`Result`]. `Ok(())` is Heka's 0; an [`Error`] made by `?` from any
//! error (anything `Display`) or with [`Error::failed`] is Heka's negative return (the
//! message is counted as failed, the plugin lives on); [`Error::skip`] is an encoder's
//! -2 (no output); [`Error::fatal`] terminates the plugin. A panic terminates it too
//! (its message goes to hekad's log and into the termination reason). Errors from host
//! calls (an exceeded `output_limit`, a refused injection) are fatal, as in Heka.
//!
//! # Keeping state across restarts (`preserve_data`)
//!
//! A filter with `preserve_data = true` in hekad.toml keeps what
//! [`Filter::save_state`] returns at a clean shutdown (bytes in a format of your
//! choosing) and gets it back in [`Filter::restore_state`] right after [`Filter::new`]
//! at the next start. Nothing is saved after a fatal error. Both default to keeping
//! nothing.
//!
//! ```no_run
//! # use heka_sdk::{Filter, Message, Result};
//! struct Count(u64);
//! impl Filter for Count {
//!     fn new() -> Result<Self> {
//!         Ok(Count(0))
//!     }
//!     fn process_message(&mut self, _msg: &Message) -> Result {
//!         self.0 += 1;
//!         Ok(())
//!     }
//!     fn save_state(&self) -> Option<Vec<u8>> {
//!         Some(self.0.to_le_bytes().to_vec())
//!     }
//!     fn restore_state(&mut self, data: &[u8]) -> Result {
//!         let bytes: [u8; 8] = data.try_into().map_err(|_| "expected 8 bytes")?;
//!         self.0 = u64::from_le_bytes(bytes);
//!         Ok(())
//!     }
//! }
//! ```

extern crate self as heka_sdk;

use std::cell::{Cell, RefCell};
use std::fmt;

pub use heka_message::{Field, FieldValue, Message, Value, ValueType, json_text};

mod write;
pub use write::{IntoValue, write_message};

/// Generated bindings and the glue the export macros expand to. Not a public API.
#[doc(hidden)]
pub mod __private;

use __private::filter::heka::plugin::host;
use __private::filter::heka::plugin::types as wit;

/// Log levels for [`log`].
pub use wit::Level;

/// The result of a plugin method: `Ok(())` or an [`Error`] saying how it ended.
pub type Result<T = (), E = Error> = core::result::Result<T, E>;

/// How a plugin call ended when it did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Heka's negative return: the message failed, the plugin lives on.
    Failed,
    /// Heka's -2 in encoders: no output for this message.
    Skip,
    /// Heka's positive return: the plugin is terminated.
    Fatal,
}

/// A plugin error. `?` converts any `Display` error into a [`ErrorKind::Failed`] one.
///
/// It deliberately does not implement `Display` itself: that is what lets the blanket
/// `From<E: Display>` exist (as `anyhow::Error` does with `std::error::Error`).
pub struct Error {
    kind: ErrorKind,
    reason: String,
}

impl Error {
    /// A non-fatal failure of this message.
    pub fn failed(reason: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Failed,
            reason: reason.into(),
        }
    }
    /// Terminates the plugin with `reason`.
    pub fn fatal(reason: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Fatal,
            reason: reason.into(),
        }
    }
    /// An encoder's "no output for this message".
    pub fn skip() -> Error {
        Error {
            kind: ErrorKind::Skip,
            reason: String::new(),
        }
    }
    /// What kind of outcome this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The reason given.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.reason)
    }
}

impl<E: fmt::Display> From<E> for Error {
    fn from(e: E) -> Error {
        Error::failed(e.to_string())
    }
}

/// A Heka sandbox filter (`type = "SandboxFilter"`).
pub trait Filter: Sized + 'static {
    /// Builds the plugin when it is loaded; read the configuration here. An error
    /// stops the plugin from starting.
    fn new() -> Result<Self>;
    /// Called once per message matched by the filter's `message_matcher`, in order.
    fn process_message(&mut self, msg: &Message) -> Result;
    /// Called every `ticker_interval` seconds with the current time in ns.
    fn timer_event(&mut self, _ns: i64) -> Result {
        Ok(())
    }
    /// Heka's `preserve_data`: the state to keep across a restart, in a format of
    /// your choosing. hekad calls it once at a clean shutdown when the filter's
    /// `preserve_data = true` (not after a fatal error) and writes the bytes to
    /// `<base_dir>/sandbox_preservation/<name>.data`; `None` (the default) keeps
    /// nothing.
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }
    /// Heka's `preserve_data`: called right after [`Filter::new`] with the bytes
    /// [`Filter::save_state`] returned in the previous run, when there are some. An
    /// error stops the plugin from starting (hekad names the data file: delete it to
    /// start clean). The default ignores the data.
    fn restore_state(&mut self, _data: &[u8]) -> Result {
        Ok(())
    }
}

/// A Heka sandbox encoder (`type = "SandboxEncoder"`).
///
/// The encoded output is what the last [`inject_payload`] (with the buffer built by
/// [`add_to_payload`]) or [`inject_message`] of the call produced; with neither, the
/// protobuf encoding of the message. Return [`Error::skip`] for no output.
pub trait Encoder: Sized + 'static {
    /// Builds the plugin when it is loaded; read the configuration here.
    fn new() -> Result<Self>;
    /// Encodes one message.
    fn encode(&mut self, msg: &Message) -> Result;
    /// `preserve_data`: as [`Filter::save_state`].
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }
    /// `preserve_data`: as [`Filter::restore_state`].
    fn restore_state(&mut self, _data: &[u8]) -> Result {
        Ok(())
    }
}

/// A Heka sandbox decoder (`type = "SandboxDecoder"`).
///
/// Change the message with [`write_message`] (copy on write: [`read_message`] then sees
/// the change; `msg` stays the original), or replace it by one or more messages with
/// [`inject_message`] (their unset headers are taken from the original, as in Heka).
pub trait Decoder: Sized + 'static {
    /// Builds the plugin when it is loaded; read the configuration here.
    fn new() -> Result<Self>;
    /// Decodes one message (the input's message, the record in its Payload).
    fn decode(&mut self, msg: &Message) -> Result;
    /// `preserve_data`: as [`Filter::save_state`].
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }
    /// `preserve_data`: as [`Filter::restore_state`].
    fn restore_state(&mut self, _data: &[u8]) -> Result {
        Ok(())
    }
}

/// A value of the plugin's `[<name>.config]` table.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl ConfigValue {
    /// The string, when the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ConfigValue::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The integer, when the value is one (a float with no fraction counts: TOML
    /// users write `10.0` for `10` sometimes, and Lua did not tell them apart).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ConfigValue::Integer(i) => Some(i),
            ConfigValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => None,
        }
    }
    /// The number as a float.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            ConfigValue::Integer(i) => Some(i as f64),
            ConfigValue::Float(f) => Some(f),
            _ => None,
        }
    }
    /// The boolean, when the value is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            ConfigValue::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// Heka's `read_config(key)`: a key of the plugin's `[<name>.config]` table.
pub fn read_config(key: &str) -> Option<ConfigValue> {
    Some(match host::read_config(key)? {
        wit::ConfigValue::Text(s) => ConfigValue::Text(s),
        wit::ConfigValue::Integer(i) => ConfigValue::Integer(i),
        wit::ConfigValue::Float(f) => ConfigValue::Float(f),
        wit::ConfigValue::Boolean(b) => ConfigValue::Bool(b),
    })
}

/// The integer option `key` of `[<name>.config]`, or `default` when it is absent or
/// not an integer (Heka's `read_config(key) or default`).
pub fn config_i64(key: &str, default: i64) -> i64 {
    read_config(key).and_then(|v| v.as_i64()).unwrap_or(default)
}

/// The text option `key` of `[<name>.config]`, or `default` when it is absent or not
/// text.
pub fn config_string(key: &str, default: &str) -> String {
    read_config(key)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| default.to_owned())
}

/// Writes `msg` to hekad's log, attributed to this plugin.
pub fn log(level: Level, msg: &str) {
    host::log(level, msg)
}

/// Heka's `add_to_payload`: appends to the output buffer that [`inject_payload`] emits.
/// Fails (fatally) past the plugin's `output_limit`.
pub fn add_to_payload(data: impl AsRef<[u8]>) -> Result {
    host::add_to_payload(data.as_ref()).map_err(Error::fatal)
}

/// Heka's `inject_payload(type, name, data)`: appends `data` to the output buffer and
/// emits the buffer as one `heka.sandbox-output` message with `Fields[payload_type]`
/// and `Fields[payload_name]` (an empty buffer emits nothing). In an encoder, the
/// buffer is the encoded output. `data` is bytes (`&str`, `String`, `&[u8]`, ...):
/// a payload need not be UTF-8. Filters may inject `max_process_inject` messages per
/// message and `max_timer_inject` per timer event (Heka's 1 and 10); past that the
/// call fails fatally with "exceeded InjectMessage count".
pub fn inject_payload(payload_type: &str, payload_name: &str, data: impl AsRef<[u8]>) -> Result {
    host::inject_payload(
        CURRENT_INDEX.get(),
        payload_type,
        payload_name,
        data.as_ref(),
    )
    .map_err(Error::fatal)
}

/// Heka's `inject_message`: emits a new message. A Uuid that is not 16 bytes is
/// replaced by a fresh one and a zero Timestamp by the current time. In filters, Type
/// gets the prefix `heka.sandbox.` and Logger/Hostname are forced, as in Heka.
pub fn inject_message(msg: &Message) -> Result {
    let mut bytes = Vec::new();
    heka_message::encode_message(msg, &mut bytes);
    host::inject_message(CURRENT_INDEX.get(), &bytes).map_err(Error::fatal)
}

/// Heka's `read_message(var)`: `read_message_at(var, 0, 0)`.
pub fn read_message(var: &str) -> Option<Value> {
    read_message_at(var, 0, 0)
}

/// Heka's `read_message(var, field_index, array_index)` on the current message (as
/// written so far, in a decoder). `var` is one of `Type`, `Logger`, `Payload`,
/// `EnvVersion`, `Hostname`, `Uuid` (36-character string), `Timestamp`, `Severity`,
/// `Pid` (integers), `raw` (the protobuf bytes (in filters encoded on demand, so it
/// costs an encoding), or in a decoder the record's bytes when
/// the splitter uses message bytes) or `Fields[name]`. `None` when absent or outside
/// a plugin call.
pub fn read_message_at(var: &str, fi: usize, ai: usize) -> Option<Value> {
    if var == "raw" {
        return RAW
            .with_borrow(|raw| raw.as_ref().map(|r| Value::Bytes(r.clone())))
            .or_else(|| {
                // Filters: the batch does not carry protobuf; encode the message (the
                // bytes the host would have written: one writer, heka-message's).
                if IN_BATCH.get() {
                    let mut bytes = Vec::new();
                    CURRENT.with_borrow(|m| heka_message::encode_message(m, &mut bytes));
                    return Some(Value::Bytes(bytes));
                }
                // Encoders: the message's own protobuf bytes, as the host sent them.
                BATCH.with_borrow(|b| {
                    // An encoded message is never empty (uuid and timestamp are
                    // required), so an empty range means "no raw bytes".
                    let (start, end) = CURRENT_RANGE.get();
                    b.get(start..end)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::Bytes(s.to_vec()))
                })
            });
    }
    let read = |m: &Message| read_var(m, var, fi, ai);
    if let Some(v) = WRITTEN.with_borrow(|w| w.as_ref().map(read)) {
        return v;
    }
    CURRENT.with_borrow(read)
}

fn read_var(m: &Message, var: &str, fi: usize, ai: usize) -> Option<Value> {
    use heka_message::var::{self, Var, VarValue};
    let v = Var::parse(var.as_bytes())?;
    let mut uuid = [0u8; 36];
    Some(match var::read(m, v, fi, ai, &mut uuid) {
        Some(VarValue::Bytes(b)) => Value::String(b.to_vec()),
        Some(VarValue::Integer(i)) => Value::Integer(i),
        Some(VarValue::Field(f)) => f.to_owned_value(),
        // A Uuid that is not 16 bytes reads as "", as in Heka.
        None if v == Var::Uuid => Value::String(Vec::new()),
        None => return None,
    })
}

// The state of the call in progress. The guest is single-threaded; these are
// thread-locals only because that is how safe Rust spells "global, not Sync".
thread_local! {
    /// The message being processed (decoded from the batch, reused between messages).
    static CURRENT: RefCell<Message> = RefCell::new(Message::default());
    /// The bytes of the current call: a `process-batch` batch, an encoder's message
    /// (whose `raw` is a slice of it).
    static BATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// True during `process-batch`.
    static IN_BATCH: Cell<bool> = const { Cell::new(false) };
    /// Where the current message lies in `BATCH`.
    static CURRENT_RANGE: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// Decoders: the record's bytes when the splitter uses message bytes.
    static RAW: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    /// Decoders: the copy-on-write message `write_message` changed.
    static WRITTEN: RefCell<Option<Message>> = const { RefCell::new(None) };
    /// Buffers of earlier messages, reused when decoding the next one.
    static SPARE: RefCell<heka_message::Spare> = RefCell::new(heka_message::Spare::default());
    /// Index of the current message in the batch (what injections are attributed to).
    static CURRENT_INDEX: Cell<u32> = const { Cell::new(0) };
}
