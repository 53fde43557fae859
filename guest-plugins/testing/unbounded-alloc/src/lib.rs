//! Test guest: a filter that allocates without bound on every message. The host's
//! memory_limit must stop it.

use heka_sdk::{Filter, Message, Result};

struct Hog(Vec<Vec<u8>>);

impl Filter for Hog {
    fn new() -> Result<Self> {
        Ok(Hog(Vec::new()))
    }
    fn process_message(&mut self, _msg: &Message) -> Result {
        loop {
            // Touch the memory so nothing is optimised away.
            let mut chunk = vec![0u8; 1 << 20];
            chunk[0] = 1;
            self.0.push(std::hint::black_box(chunk));
        }
    }
}

heka_sdk::export_filter!(Hog);
