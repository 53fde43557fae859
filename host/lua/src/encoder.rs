//! [`LuaEncoderEngine`]: the Lua engine of Heka's SandboxEncoder. The message the
//! script wrote (`write_message` copies on write) goes back to the contract's
//! [`SandboxEncoder`], which applies Heka's "last output wins" rule.

use std::path::Path;

use heka_message::Message;
use heka_pipeline::PluginResult;
use heka_pipeline::sandbox::{CallKind, EncoderEngine, SandboxEncoder, SandboxError};

use crate::LuaConfig;
use crate::runtime::{Runtime, forward_engine};
use crate::state::{Kind, MsgPtr, Raw, Slot};

/// A SandboxEncoder over a Heka Lua script.
pub type LuaEncoder = SandboxEncoder<LuaEncoderEngine>;

/// A loaded encoder script.
pub struct LuaEncoderEngine {
    runtime: Runtime,
}

forward_engine!(LuaEncoderEngine);

/// Loads the script at `path` and runs its top level.
pub fn load_encoder(path: &Path, cfg: LuaConfig) -> Result<LuaEncoder, SandboxError> {
    let runtime = Runtime::load(path, &cfg, Kind::Encoder)?;
    SandboxEncoder::start(
        LuaEncoderEngine { runtime },
        &path.display().to_string(),
        &cfg.spec,
    )
}

impl EncoderEngine for LuaEncoderEngine {
    fn encode(&mut self, msg: &Message) -> PluginResult<Option<Message>> {
        self.runtime.begin(CallKind::Encode);
        let values = self.runtime.call::<(mlua::Value, mlua::Value)>(
            "process_message",
            (),
            Slot::Borrowed(MsgPtr::new(msg)),
            Raw::Encode,
        )?;
        let status = self.runtime.status(values);
        let written = self.runtime.state().msg.take_owned();
        self.runtime.outcome(status)?;
        Ok(written)
    }
}
