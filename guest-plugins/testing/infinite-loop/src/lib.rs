//! Test guest: a filter whose `process_message` never returns. The host must stop it
//! (instruction_limit via fuel, or the wall-clock cap via epoch interruption).

use heka_sdk::{Filter, Message, Result};

struct Spin;

impl Filter for Spin {
    fn new() -> Result<Self> {
        Ok(Spin)
    }
    fn process_message(&mut self, msg: &Message) -> Result {
        let mut n = msg.payload().len() as u64;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

heka_sdk::export_filter!(Spin);
