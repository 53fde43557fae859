//! `ProtobufEncoder` (always registered, no options): the message's Heka protobuf
//! bytes. Outputs add the stream framing when `use_framing` is set (FileOutput does
//! so by default with this encoder, as in Heka).
//!
//! It says so ([`Encoder::writes_heka_protobuf`]): a buffered output's runner then
//! sends the disk buffer's record, which holds those very bytes, instead of decoding
//! the record and encoding the message again.

use std::sync::Arc;

use heka_message::{Message, encode_message};
use heka_pipeline::{Encoder, EncoderFactory, PluginResult};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// `[ProtobufEncoder]` has no options of its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtobufEncoderConfig {}

/// Encodes messages as Heka protobuf.
#[derive(Debug, Clone, Default)]
pub struct ProtobufEncoder;

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<EncoderFactory, ConfigError> {
    let _: ProtobufEncoderConfig = ctx.parse()?;
    Ok(Arc::new(|| {
        Ok(Box::new(ProtobufEncoder) as Box<dyn Encoder>)
    }))
}

impl Encoder for ProtobufEncoder {
    fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) -> PluginResult {
        encode_message(msg, out);
        Ok(())
    }

    fn writes_heka_protobuf(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::decode_message;

    #[test]
    fn round_trips() {
        let m = Message {
            uuid: vec![1; 16],
            timestamp: 5,
            payload: Some("p".into()),
            ..Default::default()
        };
        let mut out = Vec::new();
        ProtobufEncoder.encode(&m, &mut out).unwrap();
        assert_eq!(decode_message(&out).unwrap(), m);
    }

    /// What `writes_heka_protobuf` promises the output runner, which then sends a disk
    /// buffer record's bytes in its place (`heka-pipeline`'s `buffer_pass_through`).
    #[test]
    fn writes_exactly_the_heka_protobuf_encoding() {
        let mut m = Message {
            uuid: vec![7; 16],
            timestamp: 1_700_000_000_000_000_000,
            r#type: Some("t".into()),
            logger: Some("Logs".into()),
            severity: Some(3),
            payload: Some("a line\n".into()),
            pid: Some(42),
            hostname: Some("h".into()),
            ..Default::default()
        };
        m.add_field("n", heka_message::Value::Integer(-5), "count");
        m.add_field("d", heka_message::Value::Double(0.5), "");
        let mut out = Vec::new();
        ProtobufEncoder.encode(&m, &mut out).unwrap();
        let mut expected = Vec::new();
        encode_message(&m, &mut expected);
        assert!(ProtobufEncoder.writes_heka_protobuf());
        assert_eq!(out, expected);
    }
}
