//! Test guest: an encoder driven by the Payload: "skip" skips, "fail" fails, "msg"
//! injects a message, "none" produces nothing (the host then uses the protobuf of the
//! message), "twice" injects two payloads (the last one wins), anything else is
//! encoded as "enc:<payload>".

use heka_sdk::{Encoder, Error, Message, Result};

struct Probe;

impl Encoder for Probe {
    fn new() -> Result<Self> {
        Ok(Probe)
    }
    fn encode(&mut self, msg: &Message) -> Result {
        match msg.payload() {
            b"skip" => Err(Error::skip()),
            b"fail" => Err("asked to fail".into()),
            b"none" => Ok(()),
            b"msg" => heka_sdk::inject_message(&Message {
                payload: Some("as-message".into()),
                ..Default::default()
            }),
            b"twice" => {
                heka_sdk::inject_payload("txt", "", "first")?;
                heka_sdk::inject_payload("txt", "", "second")
            }
            p => {
                heka_sdk::add_to_payload("enc:")?;
                heka_sdk::inject_payload("txt", "", p)
            }
        }
    }
}

heka_sdk::export_encoder!(Probe);
