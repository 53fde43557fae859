//! `NatsOutput` (hekad-rs): publishes messages to a NATS JetStream stream, each
//! acknowledged by JetStream (PubAck) before it counts as delivered, so with the disk
//! buffer (`use_buffering`, on by default) the buffer's cursor only passes messages
//! the stream has stored.
//!
//! ```toml
//! [ToNats]
//! type = "NatsOutput"
//! message_matcher = "TRUE"
//! servers = ["nats://n1:4222", "nats://n2:4222"]
//! subject = "heka.logs"
//! stream = "HEKA"
//! ```
//!
//! As TcpOutput: ProtobufEncoder with Heka's stream framing by default, so a NATS
//! message holds one or more framed Heka messages and a NatsInput (whose default
//! splitter is HekaFramingSplitter) reads them back. Publishes are pipelined (the
//! runner keeps up to `max_in_flight` messages out, `heka_pipeline::PipelinedOutput`)
//! and consecutive messages are packed into one NATS message (`max_batch`,
//! `max_batch_bytes`) when they queue up.
//!
//! Duplicates: a batch is published with a `Nats-Msg-Id` naming its content
//! (`publisher::message_id`), so JetStream's duplicate window drops a resend of what
//! it stored. What it cannot drop is a message stored under one id and resent under
//! another: after a crash of this hekad (what was published after the buffer's last
//! committed cursor is read again and batched anew), or when a timed-out batch is
//! retried in another grouping. Both are bounded by the window, `max_in_flight`
//! messages per failure.
//!
//! Memory: the runner's window, at most `max_in_flight` encoded messages (each at most
//! `max_message_size` plus framing), shared with the batches built from them (a batch
//! of several copies its payloads once, up to `max_batch_bytes`).
//!
//! Layout: `config` (keys, checks, subjects), `output` (the runner's side),
//! `publisher` (batches, publishes and PubAcks on the tokio thread).

mod config;
mod output;
mod publisher;
#[cfg(test)]
mod tests;

pub use config::{NatsOutputConfig, Settings, SubjectField};
pub use output::NatsOutput;

use crate::config::ConfigError;
use crate::plugins::BuildContext;
use crate::plugins::nats::ConnectionConfig;

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn heka_pipeline::Output>, ConfigError> {
    let (conn, own): (ConnectionConfig, NatsOutputConfig) = crate::plugins::nats::parse(ctx)?;
    let invalid = |(key, msg): (&str, String)| ctx.invalid(Some(key), msg);
    let connection = conn.settings().map_err(invalid)?;
    let settings = own.settings(connection).map_err(invalid)?;
    Ok(Box::new(NatsOutput::new(ctx.name, settings)))
}
