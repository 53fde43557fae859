//! A case's byte stream: `data` / `data_file` inputs through the splitter section the
//! spec names, built by its registered constructor with the options hekad gives it,
//! in the pipeline's [`SplitRunner`] (the one every input uses). The stream lasts the
//! whole case; its end is the stream's final EOF (`deliver_incomplete_final`).

use heka_message::Message;
use heka_pipeline::SplitRunner;

use crate::config::{Config, ConfigError, ErrorKind};
use crate::plugins::BuildContext;
use crate::registry::{self, Ctor};

/// Bytes pushed at a time: the stream is read in pieces, as from a file, so records
/// straddling two pieces are exercised too and the buffer stays bounded by
/// `max_record_size`.
const PIECE: usize = 8 * 1024;

/// One record as the input hands it on: a message with the record as Payload, or,
/// for a splitter of whole framed messages (`use_message_bytes`), the record's bytes.
pub enum Record {
    Payload(Message),
    MessageBytes(Vec<u8>),
}

/// The splitter of a case.
pub struct Stream {
    runner: SplitRunner,
}

impl Stream {
    /// A fresh stream through section `name` (a splitter) of `config`.
    pub fn build(config: &Config, name: &str) -> Result<Stream, ConfigError> {
        let section = config
            .section(name)
            .ok_or_else(|| ConfigError::new(&config.path, ErrorKind::MissingKey).section(name))?;
        let ctx = BuildContext::new(config, section);
        let row = registry::lookup(&section.type_name).ok_or_else(|| {
            ctx.invalid(
                Some("type"),
                format!("unknown splitter type {:?}", section.type_name),
            )
        })?;
        let Ctor::Splitter(ctor) = row.ctor else {
            return Err(ctx.invalid(Some("type"), "not a splitter"));
        };
        let factory = ctor(&ctx)?;
        let options = crate::assemble::split_options(config, section, row);
        let mut runner = SplitRunner::new(factory(), options);
        runner.set_label(format!("[{name}]"));
        Ok(Stream { runner })
    }

    /// Pushes `data`; returns the records found (a trailing partial record waits for
    /// the next push, or for [`Stream::finish`]).
    pub fn push(&mut self, data: &[u8]) -> Vec<Record> {
        let mut out = Vec::new();
        for piece in data.chunks(PIECE) {
            self.runner.push(piece);
            self.drain(false, &mut out);
        }
        out
    }

    /// The stream's end: what the splitter still holds.
    pub fn finish(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        self.drain(true, &mut out);
        out
    }

    fn drain(&mut self, eof: bool, out: &mut Vec<Record>) {
        let message_bytes = self.runner.uses_message_bytes();
        loop {
            let record = if eof {
                self.runner.next_final_record()
            } else {
                self.runner.next_record()
            };
            let Some(record) = record else { break };
            out.push(if message_bytes {
                Record::MessageBytes(record.bytes.to_vec())
            } else {
                Record::Payload(Message {
                    payload: Some(record.payload()),
                    ..Default::default()
                })
            });
        }
    }
}
