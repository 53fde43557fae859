//! The plugin traits every plugin kind implements, native, wasm or Lua alike: here
//! the ones that transform data (Splitter, Decoder, Encoder, Output) and the outcome
//! types; [`crate::Input`] and [`crate::Filter`], the two handed a context, live
//! beside their contexts in `context/`.
//!
//! They are narrow and synchronous where the work is pure (Splitter, Decoder, Filter,
//! Encoder); the runners own queues, timers, retries and acknowledgement, so a plugin
//! only transforms. Optional abilities are default methods. Contexts are structs passed
//! in so that new fields never break a signature.
//!
//! Outcomes map one way everywhere ([`PluginError`]): `Failed` (Heka's negative return:
//! counted, the message dropped, the plugin lives), `Skip` (an encoder's -2: no output),
//! `Fatal` (positive return, trap, exceeded limit: the plugin is terminated).

use std::sync::Arc;

use heka_message::Message;

use crate::output_error::OutputError;
use crate::pipelined::PipelinedOutput;
use crate::stats::PluginStats;

/// How a decoder or encoder gets its section's stats: the entry is made on the first
/// call, so one that reports nothing (a native plugin) adds no row to the dashboard.
pub type StatsSource<'a> = &'a dyn Fn() -> Arc<PluginStats>;

/// How a plugin call ended when it did not simply succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// Non-fatal failure: the message is dropped and counted, the plugin lives on.
    #[error("failed: {0}")]
    Failed(String),
    /// Encoders only (Heka's -2): no output for this message, not an error.
    #[error("skipped")]
    Skip,
    /// The plugin is terminated (trap, exceeded limit, positive return code, ...).
    #[error("fatal: {0}")]
    Fatal(String),
}

/// The result of a plugin call.
pub type PluginResult<T = ()> = Result<T, PluginError>;

/// What a [`Splitter`] found at the start of the buffer it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitResult {
    /// `buf[start..end]` is one record; the runner drops `consumed` bytes (≥ `end`).
    Record {
        start: usize,
        end: usize,
        consumed: usize,
    },
    /// Drop `n` bytes that hold no record (resynchronisation, discarded delimiters).
    Skip(usize),
    /// No complete record yet: wait for more bytes (or for EOF).
    NeedMore,
}

/// Splits a byte stream into records (Heka's `Splitter.FindRecord`).
///
/// One instance per stream (per file stream, per connection): splitters may keep state.
pub trait Splitter: Send {
    /// Looks for the next record at the start of `buf`. `eof` says no more bytes will
    /// come for now; splitters never emit a partial record because of it (the runner
    /// decides what `deliver_incomplete_final` means).
    fn find_record(&mut self, buf: &[u8], eof: bool) -> SplitResult;

    /// True when records are whole Heka-framed messages whose bytes are the message
    /// itself (`use_message_bytes`), rather than text for the `Payload`.
    fn uses_message_bytes(&self) -> bool {
        false
    }

    /// The verified signer of the record the last `find_record` returned (Heka's
    /// `pack.Signer`, for `message_signer`): only a splitter that checks signatures
    /// (HekaFramingSplitter) has one.
    fn signer(&self) -> Option<Arc<str>> {
        None
    }
}

/// Turns one record into zero or more messages (Heka's `Decoder.Decode`).
pub trait Decoder: Send {
    /// `msg` is the message the input built for the record (Payload = the record, Type,
    /// Logger, Hostname set by the input). `raw` is the record's bytes when the splitter
    /// uses message bytes (framed protobuf), else `None`. Decoded messages are pushed
    /// onto `out` (an empty `out` with `Ok` drops the record on purpose).
    fn decode(&mut self, msg: Message, raw: Option<&[u8]>, out: &mut Vec<Message>) -> PluginResult;

    /// Called once after the decoder is made (sandbox decoders take their stats for
    /// the memory, output and budget gauges). Every instance of a section shares them.
    fn attach_stats(&mut self, _stats: StatsSource<'_>) {}
}

/// Serialises a message for an output (Heka's encoders).
pub trait Encoder: Send {
    /// Appends the encoded form of `msg` to `out` (which the caller cleared).
    /// `Err(PluginError::Skip)` means "no output for this message".
    fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) -> PluginResult;

    /// True when `encode` appends exactly `heka_message::encode_message(msg)` and
    /// nothing else, for every message (the ProtobufEncoder). The output runner then
    /// hands its output the bytes of a disk buffer record, which are that encoding,
    /// instead of calling `encode` on the message decoded from them.
    fn writes_heka_protobuf(&self) -> bool {
        false
    }

    /// Called once after the encoder is made (see [`Decoder::attach_stats`]).
    fn attach_stats(&mut self, _stats: StatsSource<'_>) {}
}

/// Delivers encoded messages somewhere (Heka's outputs).
///
/// Outputs run on their own thread and may block; the runner owns the queue, the
/// encoder, framing, retries with backoff, and acknowledgement.
pub trait Output: Send {
    /// Delivers one message. `payload` is the encoder's output (framed when
    /// `use_framing`); with no encoder configured it is the message's Payload.
    fn send(&mut self, msg: &Message, payload: &[u8]) -> Result<(), OutputError>;

    /// Makes what was sent durable/visible (called when the queue runs empty, on the
    /// ticker and at shutdown).
    fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    /// Called every `ticker_interval` seconds when one is configured.
    fn timer_event(&mut self, _now_ns: i64) -> Result<(), OutputError> {
        Ok(())
    }

    /// SIGHUP: reopen files and similar (Heka's FileOutput behaviour).
    fn reopen(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    /// An output that keeps several messages in flight returns its pipelined side
    /// (see [`PipelinedOutput`]); the runner then calls it instead of [`Output::send`].
    /// Called once, when the runner starts, and again for each submission.
    fn pipelined(&mut self) -> Option<&mut dyn PipelinedOutput> {
        None
    }
}
