//! [`WasmEncoderEngine`]: the wasm engine of Heka's SandboxEncoder (the `encoder`
//! world). The guest gets the message as protobuf; Heka's rule for what the output
//! is lives in the contract's [`SandboxEncoder`].

use std::path::Path;

use heka_message::Message;
use heka_pipeline::PluginResult;
use heka_pipeline::sandbox::{CallKind, EncoderEngine, SandboxEncoder, SandboxError};

use crate::bindings::encoder::Encoder as EncoderWorld;
use crate::instance::{Instance, forward_engine};
use crate::{LoadedComponent, SandboxConfig, SandboxEngine};

/// A SandboxEncoder over a wasm component.
pub type WasmEncoder = SandboxEncoder<WasmEncoderEngine>;

/// A started component of the `encoder` world.
pub struct WasmEncoderEngine {
    instance: Instance<EncoderWorld>,
    msg_bytes: Vec<u8>,
}

forward_engine!(WasmEncoderEngine);

/// Loads (through the engine's cache) and starts the component at `path`.
pub fn load_encoder(
    engine: &SandboxEngine,
    path: &Path,
    cfg: SandboxConfig,
) -> Result<WasmEncoder, SandboxError> {
    let loaded = engine.load(path)?;
    new_encoder(engine, &loaded, cfg)
}

/// Starts an already loaded component (encoders are instantiated per user).
pub fn new_encoder(
    engine: &SandboxEngine,
    loaded: &LoadedComponent,
    cfg: SandboxConfig,
) -> Result<WasmEncoder, SandboxError> {
    let preservation_file = cfg.spec.preservation_file.clone();
    let memory_limit = cfg.spec.limits.memory_limit;
    let instance = Instance::new(
        engine,
        loaded,
        cfg,
        |store, component, linker| EncoderWorld::instantiate(store, component, linker),
        |b, store| b.call_init(store),
    )?;
    let encoder = WasmEncoderEngine {
        instance,
        msg_bytes: Vec::new(),
    };
    SandboxEncoder::start(encoder, &loaded.path, preservation_file, memory_limit)
}

impl EncoderEngine for WasmEncoderEngine {
    fn encode(&mut self, msg: &Message) -> PluginResult<Option<Message>> {
        self.msg_bytes.clear();
        crate::wire::encode(msg, &mut self.msg_bytes);
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
