//! Heka's message variables, as `read_message`/`write_message` name them: the
//! header names, `raw`, `Fields[name]`, and the Uuid's text form. Written once here
//! and used by both sandbox APIs (the wasm guest SDK and the Lua shim), so that a
//! variable means the same thing in either engine.
//!
//! Reading is borrowed and allocation-free ([`read`] into a [`VarValue`]); each API
//! converts the value into its own type (a Lua string, an SDK `Value`). Writing is
//! addressed by [`Var`] too; the conversions of values (Lua numbers are doubles,
//! the SDK's are typed) stay with each API.

use crate::{FieldValue, Message};

/// A variable of `read_message`/`write_message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var<'a> {
    /// `Uuid`: 16 bytes, read as its 36-character text.
    Uuid,
    /// `Timestamp` (ns since the epoch).
    Timestamp,
    /// `Type`.
    Type,
    /// `Logger`.
    Logger,
    /// `Severity` (7 when unset).
    Severity,
    /// `Payload` (bytes).
    Payload,
    /// `EnvVersion`.
    EnvVersion,
    /// `Pid` (0 when unset).
    Pid,
    /// `Hostname`.
    Hostname,
    /// `raw`: the message's protobuf bytes (each API knows where they are).
    Raw,
    /// `Fields[name]`.
    Field(&'a [u8]),
}

impl<'a> Var<'a> {
    /// Parses a variable name; `None` for a name Heka does not know.
    pub fn parse(var: &'a [u8]) -> Option<Var<'a>> {
        Some(match var {
            b"Uuid" => Var::Uuid,
            b"Timestamp" => Var::Timestamp,
            b"Type" => Var::Type,
            b"Logger" => Var::Logger,
            b"Severity" => Var::Severity,
            b"Payload" => Var::Payload,
            b"EnvVersion" => Var::EnvVersion,
            b"Pid" => Var::Pid,
            b"Hostname" => Var::Hostname,
            b"raw" => Var::Raw,
            other => Var::Field(other.strip_prefix(b"Fields[")?.strip_suffix(b"]")?),
        })
    }

    /// The text header this variable names, in `m`, for writing; `None` for the
    /// other variables.
    pub fn text_header<'m>(&self, m: &'m mut Message) -> Option<&'m mut Option<String>> {
        match self {
            Var::Type => Some(&mut m.r#type),
            Var::Logger => Some(&mut m.logger),
            Var::EnvVersion => Some(&mut m.env_version),
            Var::Hostname => Some(&mut m.hostname),
            _ => None,
        }
    }
}

/// What a variable reads as, borrowed from the message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VarValue<'m> {
    /// A header's bytes: the text headers, the Uuid's text, the Payload.
    Bytes(&'m [u8]),
    /// Timestamp, Severity, Pid.
    Integer(i64),
    /// One value of a field.
    Field(FieldValue<'m>),
}

/// Reads `var` (`Fields[name][fi][ai]` for a field) from `m`; `None` when absent, for
/// `raw`, and for a Uuid that is not 16 bytes (Heka rendered those as "": each API
/// decides). `uuid` is the buffer the Uuid's text is written into.
pub fn read<'m>(
    m: &'m Message,
    var: Var<'_>,
    fi: usize,
    ai: usize,
    uuid: &'m mut [u8; 36],
) -> Option<VarValue<'m>> {
    Some(match var {
        Var::Type => VarValue::Bytes(m.type_().as_bytes()),
        Var::Logger => VarValue::Bytes(m.logger().as_bytes()),
        Var::Payload => VarValue::Bytes(m.payload()),
        Var::EnvVersion => VarValue::Bytes(m.env_version().as_bytes()),
        Var::Hostname => VarValue::Bytes(m.hostname().as_bytes()),
        Var::Uuid => VarValue::Bytes(m.uuid_str(uuid)?.as_bytes()),
        Var::Timestamp => VarValue::Integer(m.timestamp),
        Var::Severity => VarValue::Integer(m.severity().into()),
        Var::Pid => VarValue::Integer(m.pid().into()),
        Var::Raw => return None,
        Var::Field(name) => {
            let name = std::str::from_utf8(name).ok()?;
            VarValue::Field(m.field_value(name, fi, ai)?)
        }
    })
}

/// The index in `m.fields` of the `fi`-th field named `name` (Heka's field index), or
/// `None` when there are `fi` or fewer such fields.
pub fn field_position(m: &Message, name: &str, fi: usize) -> Option<usize> {
    m.fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name == name)
        .nth(fi)
        .map(|(i, _)| i)
}

/// Parses a Uuid's text: 32 hex digits, hyphens anywhere (Heka accepted the
/// canonical `8-4-4-4-12` form; so does every parser it used).
pub fn parse_uuid(text: &[u8]) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    let mut digits = text.iter().filter(|&&b| b != b'-');
    for byte in &mut out {
        let hi = (*digits.next()? as char).to_digit(16)?;
        let lo = (*digits.next()? as char).to_digit(16)?;
        *byte = (hi << 4 | lo) as u8;
    }
    digits.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    #[test]
    fn names_parse_as_heka_spells_them() {
        assert_eq!(Var::parse(b"Type"), Some(Var::Type));
        assert_eq!(Var::parse(b"raw"), Some(Var::Raw));
        assert_eq!(Var::parse(b"Fields[a b]"), Some(Var::Field(b"a b")));
        assert_eq!(Var::parse(b"Fields[]"), Some(Var::Field(b"")));
        for bad in [&b"type"[..], b"Fields[x", b"Field[x]", b""] {
            assert_eq!(Var::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reads_headers_fields_and_the_uuid_text() {
        let mut m = Message {
            uuid: (0..16).collect(),
            timestamp: 5,
            payload: Some(vec![0xff, 0]),
            ..Default::default()
        };
        m.add_field("n", Value::Integer(1), "");
        m.add_field("n", Value::Integer(2), "");
        let mut buf = [0; 36];
        assert_eq!(
            read(&m, Var::Uuid, 0, 0, &mut buf),
            Some(VarValue::Bytes(b"00010203-0405-0607-0809-0a0b0c0d0e0f"))
        );
        let mut buf = [0; 36];
        assert_eq!(
            read(&m, Var::Payload, 0, 0, &mut buf),
            Some(VarValue::Bytes(&[0xff, 0]))
        );
        let mut buf = [0; 36];
        assert_eq!(
            read(&m, Var::Severity, 0, 0, &mut buf),
            Some(VarValue::Integer(7))
        );
        let mut buf = [0; 36];
        assert_eq!(
            read(&m, Var::Field(b"n"), 1, 0, &mut buf),
            Some(VarValue::Field(FieldValue::Integer(2)))
        );
        let mut buf = [0; 36];
        assert_eq!(read(&m, Var::Field(b"n"), 2, 0, &mut buf), None);
        assert_eq!(field_position(&m, "n", 1), Some(1));
        assert_eq!(field_position(&m, "n", 2), None);
    }

    #[test]
    fn uuid_text_round_trips_and_bad_text_is_refused() {
        let m = Message {
            uuid: (100..116).collect(),
            ..Default::default()
        };
        let mut buf = [0; 36];
        let text = m.uuid_str(&mut buf).unwrap();
        assert_eq!(parse_uuid(text.as_bytes()).unwrap().to_vec(), m.uuid);
        assert_eq!(
            parse_uuid(b"000102030405060708090A0B0C0D0E0F").map(|u| u[10]),
            Some(10)
        );
        for bad in [
            &b"0001"[..],
            b"00010203-0405-0607-0809-0a0b0c0d0e0f00",
            b"zz",
        ] {
            assert_eq!(parse_uuid(bad), None);
        }
    }
}
