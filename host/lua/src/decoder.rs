//! [`LuaDecoderEngine`]: the Lua engine of Heka's SandboxDecoder. The script gets the
//! input's message to read and write in place; Heka's rules for injections, failures
//! and `preserve_data` are the contract's [`SandboxDecoder`].
//!
//! With `[x.config] tz` (an IANA zone), the Timestamp of each message the script
//! injects (and a `timegenerated` double field) is read as wall time in that zone, as
//! Heka's Lua decoders did (see `crate::tz`; applied in `inject_message`).

use std::path::Path;

use heka_message::Message;
use heka_pipeline::PluginResult;
use heka_pipeline::sandbox::{CallKind, ConfigValue, DecoderEngine, SandboxDecoder, SandboxError};

use crate::LuaConfig;
use crate::runtime::{Runtime, forward_engine};
use crate::state::{Kind, Raw, Slot};
use crate::tz::Zone;

/// A SandboxDecoder over a Heka Lua script.
pub type LuaDecoder = SandboxDecoder<LuaDecoderEngine>;

/// A loaded decoder script.
pub struct LuaDecoderEngine {
    runtime: Runtime,
}

forward_engine!(LuaDecoderEngine);

/// Loads the script at `path`, runs its top level and restores preserved data.
pub fn load_decoder(path: &Path, cfg: LuaConfig) -> Result<LuaDecoder, SandboxError> {
    let tz = match cfg.spec.config.get("tz") {
        Some(ConfigValue::String(name)) => Zone::load(name).map(Some),
        Some(_) => Err("tz must be a string".to_owned()),
        None => Ok(None),
    }
    .map_err(|reason| SandboxError::Init {
        path: path.display().to_string(),
        reason: format!("config tz: {reason}"),
    })?;
    let runtime = Runtime::load(path, &cfg, Kind::Decoder)?;
    runtime.state().tz = tz.filter(|z| !z.is_utc());
    SandboxDecoder::start(
        LuaDecoderEngine { runtime },
        &path.display().to_string(),
        &cfg.spec,
    )
}

impl DecoderEngine for LuaDecoderEngine {
    fn decode(&mut self, msg: &mut Message, raw: Option<&[u8]>) -> PluginResult {
        let raw = match raw {
            Some(bytes) => Raw::Given(bytes),
            None => Raw::Absent,
        };
        self.runtime.begin(CallKind::Decode);
        let result = self.runtime.call::<(mlua::Value, mlua::Value)>(
            "process_message",
            (),
            Slot::Owned(Box::new(std::mem::take(msg))),
            raw,
        );
        if let Some(written) = self.runtime.state().msg.take_owned() {
            *msg = written;
        }
        let status = self.runtime.status(result?);
        self.runtime.outcome(status)
    }
}
