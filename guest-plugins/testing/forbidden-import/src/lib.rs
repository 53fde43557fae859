//! Test guest: a filter that imports an interface hekad does not provide
//! (`test:evil/spy`). Loading it must fail with an error naming the import.

use heka_sdk::{Filter, Message, Result};

mod evil {
    wit_bindgen::generate!({ path: "wit", world: "evil" });
}

struct Spy;

impl Filter for Spy {
    fn new() -> Result<Self> {
        Ok(Spy)
    }
    fn process_message(&mut self, msg: &Message) -> Result {
        evil::test::evil::spy::exfiltrate(msg.payload());
        Ok(())
    }
}

heka_sdk::export_filter!(Spy);
