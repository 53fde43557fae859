//! [`WasmEncoder`]: Heka's SandboxEncoder over a wasm component.
//!
//! Heka's contract: the output is the last `inject_payload` buffer or
//! `inject_message` bytes of the call; with neither, the protobuf encoding of the
//! message; a skip outcome means no output.

use std::path::Path;

use heka_message::Message;
use heka_pipeline::{Encoder, PluginResult};

use crate::bindings::encoder::Encoder as EncoderWorld;
use crate::host::Injection;
use crate::runner::{Runner, outcome_result};
use crate::{LoadedComponent, SandboxConfig, SandboxEngine, SandboxError};

/// A SandboxEncoder running a wasm component of the `encoder` world.
pub struct WasmEncoder {
    runner: Runner<EncoderWorld>,
    msg_bytes: Vec<u8>,
}

impl WasmEncoder {
    /// Loads (through the engine's cache) and starts the component at `path`.
    pub fn load(
        engine: &SandboxEngine,
        path: &Path,
        cfg: SandboxConfig,
    ) -> Result<WasmEncoder, SandboxError> {
        let loaded = engine.load(path)?;
        WasmEncoder::new(engine, &loaded, cfg)
    }

    /// Starts an already loaded component (encoders are instantiated per user).
    pub fn new(
        engine: &SandboxEngine,
        loaded: &LoadedComponent,
        cfg: SandboxConfig,
    ) -> Result<WasmEncoder, SandboxError> {
        let runner = Runner::new(
            engine,
            loaded,
            cfg,
            |store, component, linker| EncoderWorld::instantiate(store, component, linker),
            |b, store| b.call_init(store),
        )?;
        Ok(WasmEncoder {
            runner,
            msg_bytes: Vec::new(),
        })
    }
}

impl Encoder for WasmEncoder {
    fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) -> PluginResult {
        self.msg_bytes.clear();
        crate::wire::encode(msg, &mut self.msg_bytes);
        let bytes = std::mem::take(&mut self.msg_bytes);
        let result = self.runner.call(1, |b, store| b.call_encode(store, &bytes));
        self.msg_bytes = bytes;
        let outcome = result?;
        let last = self.runner.take_injections().pop();
        outcome_result(&mut self.runner, outcome)?;
        match last {
            // The output is usually a whole batch of lines (the seed's Slack bodies are
            // ~17 KB): when `out` is empty, hand it the guest's buffer instead of a copy.
            Some(Injection::Payload { payload, .. }) => give(out, payload.into_bytes()),
            Some(Injection::Message { bytes, .. }) => give(out, bytes),
            None => out.extend_from_slice(&self.msg_bytes),
        }
        Ok(())
    }
}

/// Appends `bytes` to `out`, moving the buffer when `out` is empty.
fn give(out: &mut Vec<u8>, bytes: Vec<u8>) {
    if out.is_empty() {
        *out = bytes;
    } else {
        out.extend_from_slice(&bytes);
    }
}
