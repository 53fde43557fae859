//! `ProtobufDecoder` (always registered, no options): the record's message bytes are a
//! Heka protobuf message, which replaces the message the input built.
//!
//! It needs a splitter that hands over message bytes (HekaFramingSplitter); with any
//! other splitter there are no bytes to decode and each record fails (counted, logged).
//! A still-framed record (starting with `0x1E`) is unframed first, so the decoder also
//! works behind a NullSplitter reading whole framed datagrams.

use std::sync::Arc;

use heka_message::Message;
use heka_message::{RECORD_SEPARATOR, Unframed, decode_message, unframe};
use heka_pipeline::{Decoder, DecoderFactory, PluginError, PluginResult};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// `[ProtobufDecoder]` has no options of its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtobufDecoderConfig {}

/// Decodes Heka protobuf message bytes.
#[derive(Debug, Clone)]
pub struct ProtobufDecoder {
    max_message_size: usize,
}

impl ProtobufDecoder {
    pub fn new(max_message_size: usize) -> ProtobufDecoder {
        ProtobufDecoder { max_message_size }
    }
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<DecoderFactory, ConfigError> {
    let _: ProtobufDecoderConfig = ctx.parse()?;
    let max = ctx.globals.max_message_size;
    Ok(Arc::new(move || {
        Ok(Box::new(ProtobufDecoder::new(max)) as Box<dyn Decoder>)
    }))
}

impl Decoder for ProtobufDecoder {
    fn decode(
        &mut self,
        _msg: Message,
        raw: Option<&[u8]>,
        out: &mut Vec<Message>,
    ) -> PluginResult {
        let Some(mut bytes) = raw else {
            return Err(PluginError::Failed(
                "no message bytes to decode (ProtobufDecoder needs a splitter with use_message_bytes, e.g. HekaFramingSplitter)".into(),
            ));
        };
        if bytes.first() == Some(&RECORD_SEPARATOR) {
            match unframe(bytes, self.max_message_size) {
                Unframed::Message { message, .. } => bytes = message,
                Unframed::NeedMore => {
                    return Err(PluginError::Failed("truncated framed record".into()));
                }
                Unframed::Invalid { error, .. } => {
                    return Err(PluginError::Failed(error.to_string()));
                }
            }
        }
        let msg = decode_message(bytes).map_err(|e| PluginError::Failed(e.to_string()))?;
        out.push(msg);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::{Value, encode_message, frame_message};

    fn sample() -> Message {
        let mut m = Message {
            uuid: vec![7; 16],
            timestamp: 42,
            r#type: Some("t".into()),
            payload: Some("hello".into()),
            ..Default::default()
        };
        m.add_field("n", Value::Integer(3), "");
        m
    }

    #[test]
    fn decodes_raw_and_framed_bytes() {
        let mut bytes = Vec::new();
        encode_message(&sample(), &mut bytes);
        let mut d = ProtobufDecoder::new(65536);
        let mut out = Vec::new();
        d.decode(Message::default(), Some(&bytes), &mut out)
            .unwrap();
        let mut framed = Vec::new();
        frame_message(&bytes, 65536, &mut framed).unwrap();
        d.decode(Message::default(), Some(&framed), &mut out)
            .unwrap();
        assert_eq!(out, vec![sample(), sample()]);
    }

    #[test]
    fn garbage_and_missing_bytes_fail_without_panic() {
        let mut d = ProtobufDecoder::new(65536);
        let mut out = Vec::new();
        assert!(matches!(
            d.decode(Message::default(), Some(b"\xff\xff\xff"), &mut out),
            Err(PluginError::Failed(_))
        ));
        assert!(matches!(
            d.decode(Message::default(), None, &mut out),
            Err(PluginError::Failed(_))
        ));
        assert!(out.is_empty());
    }
}
