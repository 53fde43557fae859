//! [`LuaDecoder`]: Heka's SandboxDecoder over a Lua script.
//!
//! Heka's contract (reference §9): without injections the message goes on as the
//! script wrote it (`write_message`); with injections they replace it, each
//! inheriting the original's unset headers (Timestamp, Type, Hostname, Logger,
//! Severity, Pid; a fresh Uuid unless one was given). A failure drops the record with
//! `Failed parsing: <reason> payload: <payload>`. With `[x.config] tz`, injected
//! messages' Timestamp (and a `timegenerated` double field) are wall times in that
//! zone (see `crate::tz`).

use std::path::Path;

use heka_message::{Message, Value};
use heka_pipeline::{Decoder, PluginError, PluginResult};

use crate::runtime::{Injection, Kind, Raw, Runtime, Slot};
use crate::tz::Zone;
use crate::{ConfigValue, LuaConfig, LuaError};

/// A SandboxDecoder running a Heka Lua script.
pub struct LuaDecoder {
    runtime: Runtime,
    tz: Zone,
}

impl LuaDecoder {
    /// Loads the script at `path` and runs its top level.
    pub fn load(path: &Path, cfg: LuaConfig) -> Result<LuaDecoder, LuaError> {
        let tz = match cfg.config.get("tz") {
            Some(ConfigValue::String(name)) => Zone::load(name),
            Some(_) => Err("tz must be a string".to_owned()),
            None => Ok(Zone::utc()),
        }
        .map_err(|reason| LuaError::Init {
            path: path.display().to_string(),
            reason: format!("config tz: {reason}"),
        })?;
        let cfg = LuaConfig {
            preservation_file: None,
            ..cfg
        };
        Ok(LuaDecoder {
            runtime: Runtime::load(path, &cfg, Kind::Decoder)?,
            tz,
        })
    }
}

use heka_pipeline::inherit_headers as inherit;

impl Decoder for LuaDecoder {
    fn decode(&mut self, msg: Message, raw: Option<&[u8]>, out: &mut Vec<Message>) -> PluginResult {
        let raw = match raw {
            Some(bytes) => Raw::Given(bytes),
            None => Raw::Absent,
        };
        let values = self.runtime.call::<(mlua::Value, mlua::Value)>(
            "process_message",
            (),
            Slot::Owned(Box::new(msg)),
            raw,
        )?;
        let status = self.runtime.status(values);
        let injections = self.runtime.take_injections();
        let msg = self.runtime.state().msg.take_owned().unwrap_or_default();
        match self.runtime.outcome(status) {
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
            out.push(msg);
            return Ok(());
        }
        for inj in injections {
            let m = match inj {
                Injection::Message(m) if !self.tz.is_utc() => in_zone(m, &self.tz),
                Injection::Message(m) => m,
                Injection::Payload {
                    payload_type,
                    payload_name,
                    payload,
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

/// Heka's `convert_tz` on an injected message: a set Timestamp and the first value
/// of a `timegenerated` double field.
fn in_zone(mut m: Message, tz: &Zone) -> Message {
    if m.timestamp != 0 {
        m.timestamp = tz.convert(m.timestamp);
    }
    if let Some(f) = m.fields.iter_mut().find(|f| f.name == "timegenerated")
        && let Some(d) = f.value_double.first_mut()
    {
        *d = tz.convert(*d as i64) as f64;
    }
    m
}
