//! [`WasmEncoderEngine`]: the wasm engine of Heka's SandboxEncoder (the `encoder`
//! world). The guest gets the message as protobuf; Heka's rule for what the output
//! is lives in the contract's [`SandboxEncoder`].

use heka_message::Message;
use heka_pipeline::PluginResult;
use heka_pipeline::sandbox::{CallKind, EncoderEngine, SandboxEncoder};

use crate::bindings::encoder::Encoder as EncoderWorld;
use crate::instance::{Instance, forward_engine, world_constructors};

/// A SandboxEncoder over a wasm component.
pub type WasmEncoder = SandboxEncoder<WasmEncoderEngine>;

/// A started component of the `encoder` world.
pub struct WasmEncoderEngine {
    instance: Instance<EncoderWorld>,
    msg_bytes: Vec<u8>,
}

forward_engine!(WasmEncoderEngine);

crate::instance::start_with_init!(EncoderWorld);

world_constructors!(
    load_encoder,
    new_encoder,
    WasmEncoder,
    EncoderWorld,
    SandboxEncoder::start,
    |instance| WasmEncoderEngine {
        instance,
        msg_bytes: Vec::new(),
    }
);

impl EncoderEngine for WasmEncoderEngine {
    fn encode(&mut self, msg: &Message) -> PluginResult<Option<Message>> {
        self.msg_bytes.clear();
        heka_message::encode_message(msg, &mut self.msg_bytes);
        let bytes = std::mem::take(&mut self.msg_bytes);
        let result = self
            .instance
            .call(CallKind::Encode, 1, |b, store| b.call_encode(store, &bytes));
        self.msg_bytes = bytes;
        let outcome = result?;
        // The encoder world has no `write_message` result: the output is an injection.
        self.instance.outcome(outcome).map(|()| None)
    }
}
