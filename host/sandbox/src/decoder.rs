//! [`WasmDecoderEngine`]: the wasm engine of Heka's SandboxDecoder (the `decoder`
//! world). The guest gets the message as protobuf (and the raw record when the
//! splitter uses message bytes) and hands back what it wrote; Heka's rules for
//! injections and failures live in the contract's [`SandboxDecoder`].

use heka_message::Message;
use heka_pipeline::PluginResult;
use heka_pipeline::sandbox::{CallKind, DecoderEngine, Engine, SandboxDecoder};

use crate::bindings::decoder::Decoder as DecoderWorld;
use crate::instance::{Instance, forward_engine, world_constructors};

/// A SandboxDecoder over a wasm component.
pub type WasmDecoder = SandboxDecoder<WasmDecoderEngine>;

/// A started component of the `decoder` world.
pub struct WasmDecoderEngine {
    instance: Instance<DecoderWorld>,
    msg_bytes: Vec<u8>,
}

forward_engine!(WasmDecoderEngine);

crate::instance::start_with_init!(DecoderWorld);

world_constructors!(
    load_decoder,
    new_decoder,
    WasmDecoder,
    DecoderWorld,
    SandboxDecoder::start,
    |instance| WasmDecoderEngine {
        instance,
        msg_bytes: Vec::new(),
    }
);

impl DecoderEngine for WasmDecoderEngine {
    fn decode(&mut self, msg: &mut Message, raw: Option<&[u8]>) -> PluginResult {
        self.msg_bytes.clear();
        heka_message::encode_message(msg, &mut self.msg_bytes);
        let bytes = std::mem::take(&mut self.msg_bytes);
        let result = self.instance.call(CallKind::Decode, 1, |b, store| {
            b.call_decode(store, &bytes, raw)
        });
        self.msg_bytes = bytes;
        let decoded = result?;
        self.instance.outcome(decoded.outcome)?;
        if let Some(written) = decoded.written {
            *msg = heka_message::decode_message(&written).map_err(|e| {
                self.terminate(format!("write_message: protobuf unmarshal failed: {e}"))
            })?;
        }
        Ok(())
    }
}
