//! Test guest: a filter that floods its output buffer. The host's output_limit must
//! stop it, even though this guest ignores the errors it is given.

use heka_sdk::{Filter, Message, Result};

struct Flood;

impl Filter for Flood {
    fn new() -> Result<Self> {
        Ok(Flood)
    }
    fn process_message(&mut self, _msg: &Message) -> Result {
        let chunk = "x".repeat(1024);
        for _ in 0..1_000 {
            // Deliberately ignoring the error: the host must not rely on the guest.
            let _ = heka_sdk::add_to_payload(&chunk);
        }
        Ok(())
    }
}

heka_sdk::export_filter!(Flood);
