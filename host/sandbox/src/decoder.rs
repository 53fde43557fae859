//! [`WasmDecoder`]: Heka's SandboxDecoder over a wasm component.
//!
//! Heka's contract (reference §9): without injections the message goes on as the
//! plugin wrote it (`write_message`, copy on write in the guest); with injections they
//! replace it, each inheriting the original's unset headers (Timestamp, Type,
//! Hostname, Logger, Severity, Pid; a fresh Uuid unless one was given). A failure
//! drops the record with `Failed parsing: <reason> payload: <payload>`.

use std::path::Path;

use heka_message::{Message, Value};
use heka_pipeline::{Decoder, PluginError, PluginResult};

use crate::bindings::decoder::Decoder as DecoderWorld;
use crate::host::Injection;
use crate::runner::{Runner, decode_injected, outcome_result};
use crate::{LoadedComponent, SandboxConfig, SandboxEngine, SandboxError};

/// A SandboxDecoder running a wasm component of the `decoder` world.
pub struct WasmDecoder {
    runner: Runner<DecoderWorld>,
    msg_bytes: Vec<u8>,
}

impl WasmDecoder {
    /// Loads (through the engine's cache) and starts the component at `path`.
    pub fn load(
        engine: &SandboxEngine,
        path: &Path,
        cfg: SandboxConfig,
    ) -> Result<WasmDecoder, SandboxError> {
        let loaded = engine.load(path)?;
        WasmDecoder::new(engine, &loaded, cfg)
    }

    /// Starts an already loaded component (decoders are instantiated per user).
    pub fn new(
        engine: &SandboxEngine,
        loaded: &LoadedComponent,
        cfg: SandboxConfig,
    ) -> Result<WasmDecoder, SandboxError> {
        let runner = Runner::new(
            engine,
            loaded,
            cfg,
            |store, component, linker| DecoderWorld::instantiate(store, component, linker),
            |b, store| b.call_init(store),
        )?;
        Ok(WasmDecoder {
            runner,
            msg_bytes: Vec::new(),
        })
    }
}

use heka_pipeline::inherit_headers as inherit;

impl Decoder for WasmDecoder {
    fn decode(&mut self, msg: Message, raw: Option<&[u8]>, out: &mut Vec<Message>) -> PluginResult {
        self.msg_bytes.clear();
        crate::wire::encode(&msg, &mut self.msg_bytes);
        let bytes = std::mem::take(&mut self.msg_bytes);
        let result = self
            .runner
            .call(1, |b, store| b.call_decode(store, &bytes, raw));
        self.msg_bytes = bytes;
        let decoded = result?;
        let injections = self.runner.take_injections();
        match outcome_result(&mut self.runner, decoded.outcome) {
            Ok(()) => {}
            Err(PluginError::Failed(reason)) => {
                return Err(PluginError::Failed(format!(
                    "Failed parsing: {reason} payload: {}",
                    msg.payload()
                )));
            }
            Err(e) => return Err(e),
        }
        if injections.is_empty() {
            match decoded.written {
                Some(w) => out.push(decode_injected(&w).map_err(|r| self.runner.terminate(r))?),
                None => out.push(msg),
            }
            return Ok(());
        }
        for inj in injections {
            let m = match inj {
                Injection::Message { bytes, .. } => {
                    decode_injected(&bytes).map_err(|r| self.runner.terminate(r))?
                }
                Injection::Payload {
                    payload_type,
                    payload_name,
                    payload,
                    ..
                } => {
                    let mut m = Message {
                        payload: Some(payload),
                        ..Default::default()
                    };
                    m.add_field(
                        "payload_type",
                        Value::String(payload_type),
                        "file-extension",
                    );
                    m.add_field("payload_name", Value::String(payload_name), "");
                    m
                }
            };
            out.push(inherit(m, &msg));
        }
        Ok(())
    }
}
