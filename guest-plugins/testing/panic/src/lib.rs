//! Test guest: a filter that panics on a message whose Payload is "panic" (and
//! processes others normally, injecting their Payload back).

use heka_sdk::{Filter, Message, Result};

struct Panicky;

impl Filter for Panicky {
    fn new() -> Result<Self> {
        Ok(Panicky)
    }
    fn process_message(&mut self, msg: &Message) -> Result {
        if msg.payload() == b"panic" {
            panic!("guest panicked on purpose");
        }
        heka_sdk::inject_payload("txt", "", msg.payload())
    }
}

heka_sdk::export_filter!(Panicky);
