//! `heka-pipeline`: how a message travels through hekad-rs.
//!
//! - `plugin`: the traits of the plugins that transform data (Splitter, Decoder,
//!   Encoder, Output) and the one outcome type, [`PluginError`]. Start reading there.
//! - `pipelined`: [`PipelinedOutput`], the contract of outputs with several messages in
//!   flight (per-message outcomes, acknowledged in order by the runner).
//! - `pack`: [`Pack`], a shared message in flight with its loop count and acks.
//! - `ack`: [`Ack`], end-to-end delivery acknowledgement back to the input.
//! - `context`: the [`Input`] and [`Filter`] traits and what a running input or filter
//!   may do ([`InputContext`] and its [`InputBatch`], [`FilterContext`]).
//! - `clock`: the time and ids fresh messages are stamped with.
//! - `split`: [`SplitRunner`], the buffer that feeds a [`Splitter`] and tracks offsets.
//! - `splitters`: the built-in splitters (Token, Regex, HekaFraming, Null).
//! - `router`: matches each message against every filter's and output's matcher;
//!   `table`: its routing table, swapped live by a reload.
//! - `buffer`: disk buffering of outputs (`use_buffering`): queue files, at-least-once.
//! - `runner`: one thread per plugin with a bounded queue, tickers and shutdown order.
//! - `settings`: [`Settings`] and the per-plugin option sets.
//! - `pipeline`: [`PipelineBuilder`], [`Pipeline`]; `spec`: what they start from,
//!   [`PipelineError`], [`ExitStatus`]; `change`: [`Change`], a live change of a
//!   running pipeline (a reload restarting only what changed).
//! - `sandbox`: Heka's sandbox contract, once for every engine (limits, injections,
//!   `preserve_data`, the generic SandboxFilter/Encoder/Decoder).
//! - `sandbox_outputs`: each sandbox filter's latest `inject_payload` per name, kept
//!   beside its stats for the dashboard (bounded per filter).
//! - `stop`: [`StopSignal`].
//! - `stats`: [`Registry`], every plugin's counters and gauges, read out of band by
//!   the ops listener (`heka-ops`); `tap`: live-tail copies of routed messages.
//!
//! Plugins run on plain threads fed by bounded `crossbeam` channels (Heka's
//! `plugin_chansize`), not on an async runtime: sandbox calls and most outputs are
//! blocking, and a thread per plugin keeps one slow plugin from starving the others.

mod ack;
mod buffer;
mod change;
mod clock;
mod context;
mod limit;
mod output_error;
mod pack;
mod pipeline;
mod pipelined;
mod plugin;
mod route_index;
mod router;
mod runner;
pub mod sandbox;
mod settings;
mod spec;
pub mod split;
pub mod splitters;
pub mod stats;
pub use stats::sandbox_outputs;
mod stop;
mod table;
pub mod tap;

pub use ack::{Ack, AckSink};
pub use buffer::{BufferError, BufferOptions, DEFAULT_MAX_FILE_SIZE, FullAction, queue_dir};
/// The payload type of [`Delivery`], re-exported for output authors.
pub use bytes::Bytes;
pub use change::{Applied, ApplyError, Change};
pub use context::{
    AckUnits, Collected, Filter, FilterContext, InjectError, Input, InputBatch, InputContext,
    RecordHeaders,
};
pub use output_error::OutputError;
pub use pack::{Acks, Pack};
pub use pipeline::{Pipeline, PipelineBuilder, PipelineHandle};
pub use pipelined::{Delivery, Outcome, Outcomes, PipelinedOutput, Ticket};
pub use plugin::{
    Decoder, Encoder, Output, PluginError, PluginResult, SplitResult, Splitter, StatsSource,
};
pub use settings::{
    DecoderFactory, EncoderFactory, FILTER_BATCH, FilterOptions, InputOptions, OutputOptions,
    RetryOptions, Settings, SplitterFactory, system_hostname,
};
pub use spec::{ExitStatus, PipelineError};
pub use split::{Record, SplitOptions, SplitRunner};
pub use stats::{PluginKind, PluginStats, Registry};
pub use stop::StopSignal;
