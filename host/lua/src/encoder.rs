//! [`LuaEncoder`]: Heka's SandboxEncoder over a Lua script.
//!
//! Heka's contract: the output is the last `inject_payload` buffer or
//! `inject_message` protobuf of the call; with neither, the protobuf encoding of the
//! message as the script left it (`write_message` copies on write); `-2` means skip.

use std::path::Path;

use heka_message::Message;
use heka_pipeline::{Encoder, PluginResult};

use crate::runtime::{Injection, Kind, MsgPtr, Raw, Runtime, Slot};
use crate::{LuaConfig, LuaError};

/// A SandboxEncoder running a Heka Lua script.
pub struct LuaEncoder {
    runtime: Runtime,
}

impl LuaEncoder {
    /// Loads the script at `path` and runs its top level.
    pub fn load(path: &Path, cfg: LuaConfig) -> Result<LuaEncoder, LuaError> {
        // Encoders keep no preserved data in Heka.
        let cfg = LuaConfig {
            preservation_file: None,
            ..cfg
        };
        Ok(LuaEncoder {
            runtime: Runtime::load(path, &cfg, Kind::Encoder)?,
        })
    }
}

impl Encoder for LuaEncoder {
    fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) -> PluginResult {
        let values = self.runtime.call::<(mlua::Value, mlua::Value)>(
            "process_message",
            (),
            Slot::Borrowed(MsgPtr::new(msg)),
            Raw::Encode,
        )?;
        let status = self.runtime.status(values);
        let last = self.runtime.take_injections().pop();
        let written = self.runtime.state().msg.take_owned();
        self.runtime.outcome(status)?;
        match last {
            Some(Injection::Payload { payload, .. }) => out.extend_from_slice(payload.as_bytes()),
            Some(Injection::Message(m)) => heka_message::encode_message(&m, out),
            None => heka_message::encode_message(written.as_ref().unwrap_or(msg), out),
        }
        Ok(())
    }
}
