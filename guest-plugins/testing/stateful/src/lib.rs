//! Test guest for `preserve_data`: a filter that counts messages and keeps the count
//! across restarts with [`Filter::save_state`] / [`Filter::restore_state`].
//!
//! The state is the count as decimal text. `timer_event` injects it (Payload
//! `count=<n>`, payload_name "count"). A message with Payload "fatal" terminates the
//! plugin (so a test can check that a terminated plugin saves nothing); saved data
//! that is not a count is refused, which fails the start.

use heka_sdk::{Error, Filter, Message, Result};

struct Stateful {
    count: u64,
}

impl Filter for Stateful {
    fn new() -> Result<Self> {
        Ok(Stateful { count: 0 })
    }

    fn process_message(&mut self, msg: &Message) -> Result {
        if msg.payload() == b"fatal" {
            return Err(Error::fatal("asked to die"));
        }
        self.count += 1;
        Ok(())
    }

    fn timer_event(&mut self, _ns: i64) -> Result {
        heka_sdk::inject_payload("txt", "count", format!("count={}", self.count))
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        Some(self.count.to_string().into_bytes())
    }

    fn restore_state(&mut self, data: &[u8]) -> Result {
        self.count = std::str::from_utf8(data)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                Error::fatal(format!("not a count: {:?}", String::from_utf8_lossy(data)))
            })?;
        Ok(())
    }
}

heka_sdk::export_filter!(Stateful);
