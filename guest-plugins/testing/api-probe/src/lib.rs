//! Test guest: a filter exercising every host API function, driven by the Payload
//! of the message it is given (see `process_message`). Used by heka-sandbox's tests.

use heka_sdk::{ConfigValue, Error, Filter, Level, Message, Result, Value};

struct Probe;

fn describe(v: Option<ConfigValue>) -> String {
    match v {
        None => "none".into(),
        Some(ConfigValue::Text(s)) => format!("text:{s}"),
        Some(ConfigValue::Integer(i)) => format!("int:{i}"),
        Some(ConfigValue::Float(f)) => format!("float:{f}"),
        Some(ConfigValue::Bool(b)) => format!("bool:{b}"),
    }
}

impl Filter for Probe {
    fn new() -> Result<Self> {
        if heka_sdk::read_config("fail_init").and_then(|v| v.as_bool()) == Some(true) {
            return Err("init refused by config".into());
        }
        Ok(Probe)
    }

    fn process_message(&mut self, msg: &Message) -> Result {
        match msg.payload() {
            b"fail" => Err("asked to fail".into()),
            b"fatal" => Err(Error::fatal("asked to die")),
            b"parse" => {
                // `?` on a foreign error type.
                let n: i32 = "not a number".parse()?;
                Err(Error::failed(format!("unreachable {n}")))
            }
            b"config" => {
                for k in ["s", "i", "f", "b", "missing"] {
                    heka_sdk::add_to_payload(format!(
                        "{k}={};",
                        describe(heka_sdk::read_config(k))
                    ))?;
                }
                heka_sdk::inject_payload("txt", "config", "")
            }
            b"log" => {
                heka_sdk::log(Level::Info, "hello from the guest");
                Ok(())
            }
            b"payload" => {
                heka_sdk::add_to_payload("a")?;
                heka_sdk::add_to_payload("b")?;
                heka_sdk::inject_payload("txt", "name", "c")?;
                // An empty buffer injects nothing.
                heka_sdk::inject_payload("txt", "empty", "")
            }
            b"inject" => {
                let mut m = Message {
                    r#type: Some("custom".into()),
                    payload: Some("injected".into()),
                    severity: Some(3),
                    ..Default::default()
                };
                m.add_field("x", Value::Integer(1), "count");
                heka_sdk::inject_message(&m)
            }
            b"read" => {
                let mut out = Message {
                    r#type: Some("probe.read".into()),
                    ..Default::default()
                };
                for var in [
                    "Type",
                    "Logger",
                    "Payload",
                    "EnvVersion",
                    "Hostname",
                    "Uuid",
                    "Timestamp",
                    "Severity",
                    "Pid",
                ] {
                    if let Some(v) = heka_sdk::read_message(var) {
                        out.add_field(var, v, "");
                    }
                }
                if let Some(Value::Bytes(raw)) = heka_sdk::read_message("raw") {
                    out.add_field("raw_len", Value::Integer(raw.len() as i64), "");
                }
                for (fi, ai) in [(0, 0), (0, 1), (1, 0), (5, 0)] {
                    if let Some(v) = heka_sdk::read_message_at("Fields[f]", fi, ai) {
                        out.add_field(format!("f_{fi}_{ai}"), v, "");
                    }
                }
                heka_sdk::inject_message(&out)
            }
            _ => Ok(()),
        }
    }

    fn timer_event(&mut self, ns: i64) -> Result {
        heka_sdk::inject_payload("txt", "tick", ns.to_string())
    }
}

heka_sdk::export_filter!(Probe);
